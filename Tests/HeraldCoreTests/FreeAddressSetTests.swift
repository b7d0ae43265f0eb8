@testable import HeraldCore
import PropertyBased
import Testing

@Suite struct FreeAddressSetTests {
    @Test func takesTheLowestAndMerges() {
        var set = FreeAddressSet(10...20)
        #expect(set.first == 10)
        #expect(set.remove(10) && set.remove(15) && !set.remove(15) && !set.remove(9))
        #expect(set.runs == [11...14, 16...20])
        #expect(set.insert(15) && !set.insert(15))
        #expect(set.runs == [11...20])
        let reinserted = set.insert(10)
        #expect(reinserted)
        #expect(set.runs == [10...20] && set.freeCount.exactValue == 11)
        #expect(set.remove(20) && set.runs == [10...19])
    }

    @Test func extremesOfTheValueSpace() {
        var set = FreeAddressSet(UInt128.max - 1...UInt128.max)
        #expect(set.remove(.max) && set.runs == [UInt128.max - 1...UInt128.max - 1])
        #expect(set.insert(.max) && set.runs == [UInt128.max - 1...UInt128.max])
        var all = FreeAddressSet(0...UInt128.max)
        #expect(all.freeCount.exactValue == nil)
        #expect(all.remove(0) && all.freeCount.exactValue == .max)
        #expect(FreeAddressSet(nil).isEmpty)
    }

    /// Against a plain set over a small range, through random removals and insertions, including enough runs
    /// to split chunks.
    @Test func behavesLikeASet() async {
        let operations = Gen<Int>.int(in: 0...4095).array(of: 0...3000)
        await propertyCheck(count: 30, input: operations) { values in
            var set = FreeAddressSet(0...2047)
            var model = Set(0..<2048)
            for value in values {
                let target = value % 2048
                if value >= 2048 {
                    let inserted = set.insert(UInt128(target)), expected = model.insert(target).inserted
                    #expect(inserted == expected)
                } else {
                    let removed = set.remove(UInt128(target)), expected = model.remove(target) != nil
                    #expect(removed == expected)
                }
            }
            let lowest: UInt128? = model.min().map { UInt128($0) }
            #expect(set.first == lowest)
            #expect(set.freeCount.exactValue == UInt128(model.count))
            // Runs are sorted, disjoint and never adjacent.
            let runs = set.runs
            #expect(zip(runs, runs.dropFirst()).allSatisfy { $0.upperBound + 1 < $1.lowerBound })
            #expect(runs.flatMap { Array($0) }.map(Int.init) == model.sorted())
        }
    }
}
