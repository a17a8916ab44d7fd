/// 64-bit FNV-1a: a fast, stable, non-cryptographic hash for telling runs, configs and weight
/// blocks apart (checkpoint identities, rank agreement, batch digests, jitter seeds).
public struct FNV1a64: Sendable, Hashable {
  public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  public init() {}

  /// The hash of `text`'s UTF-8 bytes.
  public static func hash(_ text: String) -> UInt64 {
    var h = FNV1a64()
    h.combine(text.utf8)
    return h.value
  }

  public mutating func combine(_ bytes: some Sequence<UInt8>) {
    var h = value
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    value = h
  }

  public mutating func combine(_ bytes: UnsafeRawBufferPointer) {
    var h = value
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    value = h
  }

  /// Mixes in the bytes of a trivial value (an integer, a float's bit pattern).
  public mutating func combine<T: BitwiseCopyable>(value v: T) {
    withUnsafeBytes(of: v) { combine($0) }
  }

  /// Lowercase hex, without padding (as stored in existing checkpoints).
  public var hex: String { String(value, radix: 16) }
}
