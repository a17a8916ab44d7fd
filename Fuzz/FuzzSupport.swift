// Shared helpers for the libFuzzer entry points in this directory (built by `Scripts/fuzz`, not
// by SwiftPM): an in-memory ByteSource and a way to run async code from the synchronous
// `LLVMFuzzerTestOneInput` callback.
import Dispatch
import RangeIO

/// The fuzz input as a ByteSource.
struct MemorySource: ByteSource {
  let bytes: [UInt8]
  let location: String
  let stats = IOStats()

  init(_ bytes: [UInt8], location: String = "fuzz-input") {
    self.bytes = bytes
    self.location = location
  }

  func size() async throws(RangeIOError) -> UInt64 { UInt64(bytes.count) }

  func read(_ ranges: [ByteRange]) async throws(RangeIOError) -> [[UInt8]] {
    var out: [[UInt8]] = []
    for r in ranges {
      guard r.offset <= UInt64(bytes.count), r.length <= UInt64(bytes.count) - r.offset else {
        throw RangeIOError(.outOfBounds, location: location, range: r, message: "past the end")
      }
      out.append(Array(bytes[Int(r.offset)..<Int(r.offset + r.length)]))
    }
    return out
  }
}

/// Runs `body` on the concurrency pool and blocks the calling (libFuzzer) thread until it ends.
func runBlocking(_ body: @escaping @Sendable () async -> Void) {
  let done = DispatchSemaphore(value: 0)
  Task {
    await body()
    done.signal()
  }
  done.wait()
}

/// Copies libFuzzer's input.
func input(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
  guard let data, size > 0 else { return [] }
  return Array(UnsafeBufferPointer(start: data, count: size))
}
