import Foundation
import TandemBase

#if canImport(Glibc)
  import Glibc
#endif

/// A file written in pieces to a hidden temporary file next to its destination and renamed over
/// it by ``finish(header:)``; ``abandon()`` (or deinit without finish) deletes the temporary.
/// An interrupted writer never leaves a partial file at the destination.
final class StreamingFile {
  /// The destination.
  let path: String
  /// Where the bytes go until ``finish(header:)``.
  let temporary: String
  private var fd: Int32
  private(set) var bytesWritten = 0

  /// Creates the temporary file (and the destination's directory).
  init(path: String) throws(FileWriteError) {
    self.path = path
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw FileWriteError(path: path, reason: "cannot create directory \(directory): \(error)")
    }
    temporary =
      directory + "/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw FileWriteError(
        path: path, reason: "cannot create \(temporary): \(String(cString: strerror(errno)))")
    }
  }

  deinit { abandon() }

  /// Appends bytes.
  func append(_ bytes: UnsafeRawBufferPointer) throws(FileWriteError) {
    try write(bytes, at: nil)
    bytesWritten += bytes.count
  }

  /// Appends bytes.
  func append(_ bytes: [UInt8]) throws(FileWriteError) {
    var failure: FileWriteError?
    bytes.withUnsafeBytes { raw in
      do throws(FileWriteError) { try append(raw) } catch { failure = error }
    }
    if let failure { throw failure }
  }

  private func write(_ bytes: UnsafeRawBufferPointer, at offset: Int?) throws(FileWriteError) {
    guard fd >= 0 else { throw FileWriteError(path: path, reason: "already closed") }
    var done = 0
    while done < bytes.count {
      let n =
        offset.map { pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t($0 + done)) }
        ?? Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
      if n < 0 {
        if errno == EINTR { continue }
        throw FileWriteError(
          path: path, reason: "write to \(temporary) failed: \(String(cString: strerror(errno)))")
      }
      done += n
    }
  }

  /// Overwrites the start of the file with `header` (if given), flushes, and renames the
  /// temporary over the destination.
  func finish(header: [UInt8]? = nil) throws(FileWriteError) {
    if let header {
      var failure: FileWriteError?
      header.withUnsafeBytes { raw in
        do throws(FileWriteError) { try write(raw, at: 0) } catch { failure = error }
      }
      if let failure { throw failure }
    }
    guard fsync(fd) == 0 else {
      throw FileWriteError(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))")
    }
    close(fd)
    fd = -1
    guard rename(temporary, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temporary)
      throw FileWriteError(path: path, reason: "rename failed: \(reason)")
    }
  }

  /// Closes and deletes the temporary file (no-op after ``finish(header:)``).
  func abandon() {
    guard fd >= 0 else { return }
    close(fd)
    fd = -1
    unlink(temporary)
  }
}

/// Writes a float32 `[rows, columns]` `.npy` row block by row block: the header is written with a
/// row count of 0 and a fixed length, and patched with the real count when the file is finished.
final class NPYRowWriter {
  /// Header bytes (a multiple of 64, enough for any row count up to 20 digits).
  static let headerLength = 128
  let columns: Int
  private(set) var rows = 0
  private let file: StreamingFile

  init(path: String, columns: Int) throws(FileWriteError) {
    precondition(columns > 0)
    self.columns = columns
    file = try StreamingFile(path: path)
    try file.append(Self.header(rows: 0, columns: columns))
  }

  /// The destination path.
  var path: String { file.path }

  /// The NPY 1.0 header for `[rows, columns]` float32, padded with spaces to `headerLength`.
  static func header(rows: Int, columns: Int) -> [UInt8] {
    var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(columns)), }"
    let padding = headerLength - 10 - dict.utf8.count - 1
    precondition(padding >= 0, "NPY header too long")
    dict += String(repeating: " ", count: padding) + "\n"
    let length = UInt16(dict.utf8.count)
    return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(length & 0xFF), UInt8(length >> 8)]
      + Array(dict.utf8)
  }

  /// Appends whole rows (`values.count` must be a multiple of `columns`), little-endian.
  func append(_ values: UnsafeBufferPointer<Float>) throws(FileWriteError) {
    precondition(values.count % columns == 0)
    #if _endian(big)
      let swapped = values.map { $0.bitPattern.littleEndian }
      var failure: FileWriteError?
      swapped.withUnsafeBytes { raw in
        do throws(FileWriteError) { try file.append(raw) } catch { failure = error }
      }
      if let failure { throw failure }
    #else
      try file.append(UnsafeRawBufferPointer(values))
    #endif
    rows += values.count / columns
  }

  /// Patches the row count and renames the file into place.
  func finish() throws(FileWriteError) {
    try file.finish(header: Self.header(rows: rows, columns: columns))
  }

  /// Deletes the temporary file.
  func abandon() { file.abandon() }
}
