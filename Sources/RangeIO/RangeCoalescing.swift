/// Merging nearby byte ranges into fewer requests, and cutting the results back apart.
public enum RangeCoalescing {
  /// One request covering several requested ranges.
  public struct Group: Sendable, Equatable {
    /// The range actually fetched.
    public var merged: ByteRange
    /// Indices into the requested array of the ranges this group serves.
    public var members: [Int]
  }

  /// Groups `ranges` so that ranges whose gap is at most `gap` bytes share one request.
  /// Overlapping and duplicate ranges land in the same group. Bridging a gap (or joining a
  /// touching range) never makes a group longer than `maxLength`; overlaps always join. Empty ranges are not assigned to any group.
  /// Groups come out sorted by offset; every non-empty input index appears in exactly one group.
  public static func plan(
    _ ranges: [ByteRange], gap: UInt64, maxLength: UInt64 = .max
  ) -> [Group] {
    let order = ranges.indices.filter { ranges[$0].length > 0 }.sorted {
      ranges[$0].offset != ranges[$1].offset
        ? ranges[$0].offset < ranges[$1].offset : ranges[$0].end < ranges[$1].end
    }
    var groups: [Group] = []
    for index in order {
      let range = ranges[index]
      if var last = groups.last {
        let end = max(last.merged.end, range.end)
        let withinGap = range.offset <= last.merged.end || range.offset - last.merged.end <= gap
        // Overlapping ranges always join (their bytes are fetched anyway, and groups stay
        // disjoint); a gap is bridged only while the request stays under `maxLength`.
        if range.offset < last.merged.end || withinGap && end - last.merged.offset <= maxLength {
          last.merged = ByteRange(offset: last.merged.offset, length: end - last.merged.offset)
          last.members.append(index)
          groups[groups.count - 1] = last
          continue
        }
      }
      groups.append(Group(merged: range, members: [index]))
    }
    return groups
  }

  /// The bytes of `range` out of `bytes`, which hold `container`. `range` must lie inside it.
  ///
  /// The precondition stays: both callers (``HTTPSource``) pass validated input — fetched
  /// buffers checked by ``ByteReads/complete(_:for:location:)`` against the merged range that
  /// ``plan(_:gap:maxLength:)`` built around the member, and multipart parts whose length
  /// ``MultipartByteranges/parse(_:boundary:)`` checked, containing the range by a test — so a
  /// failure here is a bug in this module, not bad input.
  public static func slice(
    _ bytes: [UInt8], of container: ByteRange, range: ByteRange
  )
    -> [UInt8]
  {
    precondition(container.contains(range) && bytes.count == Int(container.length))
    // A range fetched on its own is the whole buffer: share it instead of copying.
    if range == container { return bytes }
    let start = Int(range.offset - container.offset)
    return Array(bytes[start..<start + Int(range.length)])
  }
}
