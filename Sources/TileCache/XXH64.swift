/// XXH64 (xxHash, 64-bit), the per-entry data checksum: detects torn or bit-flipped entries at
/// several GB/s, so verifying every cache hit costs little next to decoding the tile.
enum XXH64 {
  private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
  private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
  private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
  private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
  private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

  /// The hash of `bytes` with `seed`.
  static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
    bytes.withUnsafeBytes { hash($0, seed: seed) }
  }

  static func hash(_ data: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
    let n = data.count
    var i = 0
    var h: UInt64
    @inline(__always) func word(_ at: Int) -> UInt64 {
      UInt64(littleEndian: data.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }
    @inline(__always) func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
      rotl(acc &+ input &* p2, 31) &* p1
    }
    @inline(__always) func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 {
      (acc ^ round(0, v)) &* p1 &+ p4
    }
    if n >= 32 {
      var v1 = seed &+ p1 &+ p2
      var v2 = seed &+ p2
      var v3 = seed
      var v4 = seed &- p1
      while i + 32 <= n {
        v1 = round(v1, word(i))
        v2 = round(v2, word(i + 8))
        v3 = round(v3, word(i + 16))
        v4 = round(v4, word(i + 24))
        i += 32
      }
      h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
      h = merge(h, v1)
      h = merge(h, v2)
      h = merge(h, v3)
      h = merge(h, v4)
    } else {
      h = seed &+ p5
    }
    h &+= UInt64(n)
    while i + 8 <= n {
      h ^= round(0, word(i))
      h = rotl(h, 27) &* p1 &+ p4
      i += 8
    }
    if i + 4 <= n {
      let w = UInt64(UInt32(littleEndian: data.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
      h ^= w &* p1
      h = rotl(h, 23) &* p2 &+ p3
      i += 4
    }
    while i < n {
      h ^= UInt64(data[i]) &* p5
      h = rotl(h, 11) &* p1
      i += 1
    }
    h ^= h >> 33
    h &*= p2
    h ^= h >> 29
    h &*= p3
    h ^= h >> 32
    return h
  }

  @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 {
    (x << r) | (x >> (64 - r))
  }
}
