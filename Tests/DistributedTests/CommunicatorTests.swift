import Collective
import Testing

@Suite struct SingleProcessCommunicatorTests {
  @Test func collectivesAreTheIdentity() throws {
    let c = SingleProcessCommunicator()
    #expect(c.rank == 0 && c.worldSize == 1 && !c.isDistributed)
    var values: [Float] = [1, 2, 3]
    try c.allreduceSum(&values, count: 3, label: "t")
    #expect(values == [1, 2, 3])
    #expect(try c.allgather([4, 5], label: "t") == [[4, 5]])
    var out = [Float](repeating: 0, count: 3)
    try values.withUnsafeBufferPointer { src in
      try c.allgather(src.baseAddress!, counts: [3], into: &out, label: "t")
    }
    #expect(out == values)
    #expect(try c.broadcast([9, 8], root: 0, label: "t") == [9, 8])
  }
}
