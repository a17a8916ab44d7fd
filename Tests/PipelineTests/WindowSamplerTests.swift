import Testing

@testable import Pipeline

@Suite struct WindowSamplerTests {
  let regions: [(width: Int, height: Int)] = [(512, 512), (300, 200), (128, 128), (100, 500)]

  @Test func sameSeedSameOrderDifferentSeedDifferentOrder() {
    let a = WindowSampler(regions: regions, windowSize: 128, seed: 1)
    let b = WindowSampler(regions: regions, windowSize: 128, seed: 1)
    let c = WindowSampler(regions: regions, windowSize: 128, seed: 2)
    let pa = WindowSampler.EpochPlan(sampler: a, epoch: 0)
    let pb = WindowSampler.EpochPlan(sampler: b, epoch: 0)
    let pc = WindowSampler.EpochPlan(sampler: c, epoch: 0)
    let sa = (0..<pa.count).map { pa.sample(position: $0) }
    #expect(sa == (0..<pb.count).map { pb.sample(position: $0) })
    #expect(sa != (0..<pc.count).map { pc.sample(position: $0) })
  }

  @Test func epochCoversEveryTileSlotAndWindowsStayInside() {
    let s = WindowSampler(regions: regions, windowSize: 128, seed: 3)
    // 16 + 2 + 1 slots; the 100-px-wide region cannot hold a window.
    #expect(s.samplesPerEpoch == 19)
    #expect(s.excludedRegions == [3])
    let plan = WindowSampler.EpochPlan(sampler: s, epoch: 0)
    var perRegion = [Int: Int]()
    for i in 0..<plan.count {
      let w = plan.sample(position: i)
      perRegion[w.region, default: 0] += 1
      let (rw, rh) = regions[w.region]
      #expect(w.x >= 0 && w.y >= 0 && w.x + 128 <= rw && w.y + 128 <= rh)
    }
    #expect(perRegion == [0: 16, 1: 2, 2: 1])
  }

  @Test func epochsReshuffleAndAttemptsMoveTheWindow() {
    let s = WindowSampler(regions: regions, windowSize: 64, seed: 5)
    let e0 = WindowSampler.EpochPlan(sampler: s, epoch: 0)
    let e1 = WindowSampler.EpochPlan(sampler: s, epoch: 1)
    #expect(
      (0..<e0.count).map { e0.sample(position: $0).slot }
        != (0..<e1.count).map { e1.sample(position: $0).slot })
    let first = e0.sample(position: 0)
    let retry = e0.sample(position: 0, attempt: 1)
    #expect(first.region == retry.region && first.slot == retry.slot)
    #expect((first.x, first.y) != (retry.x, retry.y))
  }

  @Test(arguments: [2, 3, 4])
  func shardsAreDisjointEqualSizedAndCoverTheEpoch(worldSize: Int) {
    let samplers = (0..<worldSize).map {
      WindowSampler(regions: regions, windowSize: 64, seed: 9, rank: $0, worldSize: worldSize)
    }
    let counts = Set(samplers.map(\.samplesPerEpoch))
    #expect(counts.count == 1)
    var slots: [Int] = []
    for s in samplers {
      let plan = WindowSampler.EpochPlan(sampler: s, epoch: 2)
      slots += (0..<plan.count).map { plan.sample(position: $0).slot }
    }
    #expect(Set(slots).count == slots.count)
    let total = WindowSampler(regions: regions, windowSize: 64, seed: 9).samplesPerEpoch
    #expect(slots.count == total - total % worldSize)
  }

  @Test func cursorResumeIsAPureFunction() {
    let s = WindowSampler(regions: regions, windowSize: 128, seed: 11)
    let plan = WindowSampler.EpochPlan(sampler: s, epoch: 4)
    for position in [0, 5, plan.count - 1] {
      #expect(
        s.sample(at: SamplerCursor(epoch: 4, position: position)) == plan.sample(position: position)
      )
    }
  }
}
