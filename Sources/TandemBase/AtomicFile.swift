import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Writes files so that a reader sees either the old content or the complete new content, never a
/// half-written file: the bytes go to a temporary file in the same directory, are flushed to disk,
/// and the temporary file is renamed over the destination.
public enum AtomicFile {
  /// Writes `bytes` to `path` atomically, creating parent directories as needed.
  public static func write(_ bytes: some Collection<UInt8>, to path: String) throws(FileWriteError)
  {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    do {
      try FileManager.default.createDirectory(
        atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw FileWriteError(path: path, reason: "cannot create directory \(directory): \(error)")
    }
    let temporary =
      directory + "/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw FileWriteError(
        path: path, reason: "cannot create \(temporary): \(String(cString: strerror(errno)))")
    }
    var failure: String?
    let contiguous = Array(bytes)
    contiguous.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          failure = "write failed: \(String(cString: strerror(errno)))"
          return
        }
        offset += n
      }
    }
    if failure == nil && fsync(fd) != 0 {
      failure = "fsync failed: \(String(cString: strerror(errno)))"
    }
    close(fd)
    if failure == nil && rename(temporary, path) != 0 {
      failure = "rename failed: \(String(cString: strerror(errno)))"
    }
    if let failure {
      unlink(temporary)
      throw FileWriteError(path: path, reason: failure)
    }
  }

  /// Writes a UTF-8 string atomically.
  public static func write(string: String, to path: String) throws(FileWriteError) {
    try write(Array(string.utf8), to: path)
  }
}

/// A file could not be written; names the file and the reason.
public struct FileWriteError: Error, CustomStringConvertible, Sendable {
  /// The destination path.
  public var path: String
  /// Why the write failed.
  public var reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  public var description: String { "cannot write \(path): \(reason)" }
}
