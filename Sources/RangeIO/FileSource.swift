#if canImport(Glibc)
  import Glibc
#endif

/// A local file read with `pread`; safe to share between threads.
public final class FileSource: ByteSource {
  public let location: String
  public let stats: IOStats
  private let descriptor: Int32
  private let fileSize: UInt64

  /// Opens `path` for reading. Fails with `.notFound`, `.forbidden` or `.io`.
  public init(path: String, stats: IOStats = IOStats()) throws(RangeIOError) {
    self.location = path
    self.stats = stats
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      let err = errno
      let code: RangeIOError.Code =
        err == ENOENT || err == ENOTDIR ? .notFound : (err == EACCES ? .forbidden : .io)
      throw RangeIOError(code, location: path, message: String(cString: strerror(err)))
    }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      let message = String(cString: strerror(errno))
      close(fd)
      throw RangeIOError(.io, location: path, message: message)
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      close(fd)
      throw RangeIOError(.io, location: path, message: "not a regular file")
    }
    descriptor = fd
    fileSize = UInt64(st.st_size)
  }

  deinit { close(descriptor) }

  public func size() async throws(RangeIOError) -> UInt64 { fileSize }

  public func read(_ ranges: [ByteRange]) async throws(RangeIOError) -> [[UInt8]] {
    try readSync(ranges)
  }

  /// Synchronous variant, for callers on worker threads.
  public func readSync(_ ranges: [ByteRange]) throws(RangeIOError) -> [[UInt8]] {
    var out: [[UInt8]] = []
    out.reserveCapacity(ranges.count)
    for range in ranges {
      // Compare without computing `end`, which would overflow for absurd offsets.
      guard range.offset <= fileSize, range.length <= fileSize - range.offset else {
        throw RangeIOError(
          .outOfBounds, location: location, range: range,
          message: "file is \(fileSize) bytes long")
      }
      var buffer = [UInt8](repeating: 0, count: Int(range.length))
      var done = 0
      var failure: Int32 = 0
      buffer.withUnsafeMutableBytes { raw in
        while done < raw.count {
          let n = pread(
            descriptor, raw.baseAddress! + done, raw.count - done, off_t(range.offset) + off_t(done)
          )
          if n < 0 {
            if errno == EINTR { continue }
            failure = errno
            return
          }
          if n == 0 { return }
          done += n
        }
      }
      if failure != 0 {
        throw RangeIOError(
          .io, location: location, range: range, message: String(cString: strerror(failure)))
      }
      guard done == buffer.count else {
        throw RangeIOError(
          .outOfBounds, location: location, range: range,
          message: "file ended after \(done) of \(range.length) bytes (truncated while reading?)")
      }
      stats.record(requests: 1, bytes: done)
      out.append(buffer)
    }
    return out
  }
}
