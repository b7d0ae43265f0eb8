/// The free values of an address block as sorted, disjoint, non-adjacent runs.
///
/// Taking the lowest free value, taking a given value and giving one back cost O(log n) to find the run plus a
/// move within one chunk of at most `chunkCapacity` runs — never a walk over the addresses. A fresh /16 or a
/// fresh /64 is one run; runs only multiply when addresses are released out of order.
struct FreeAddressSet: Sendable {
    private var chunks: [[ClosedRange<UInt128>]]
    /// How many values are free, for capacity gauges.
    private(set) var freeCount: AddressCount
    private static let chunkCapacity = 512

    init(_ run: ClosedRange<UInt128>?) {
        chunks = run.map { [[$0]] } ?? []
        freeCount = run.map { AddressCount(first: $0.lowerBound, last: $0.upperBound) } ?? .zero
    }

    var isEmpty: Bool { chunks.isEmpty }

    /// The lowest free value.
    var first: UInt128? { chunks.first?.first?.lowerBound }

    /// Every run, lowest first.
    var runs: [ClosedRange<UInt128>] { chunks.flatMap { $0 } }

    func contains(_ value: UInt128) -> Bool {
        guard let (chunk, index) = locate(value) else { return false }
        return chunks[chunk][index].contains(value)
    }

    /// Marks `value` as taken; `false` when it was not free.
    @discardableResult
    mutating func remove(_ value: UInt128) -> Bool {
        guard let (chunk, index) = locate(value), chunks[chunk][index].contains(value) else { return false }
        let run = chunks[chunk][index]
        freeCount = freeCount - AddressCount(1)
        switch (run.lowerBound == value, run.upperBound == value) {
        case (true, true):
            chunks[chunk].remove(at: index)
            if chunks[chunk].isEmpty { chunks.remove(at: chunk) }
        case (true, false):
            chunks[chunk][index] = (value + 1)...run.upperBound
        case (false, true):
            chunks[chunk][index] = run.lowerBound...(value - 1)
        case (false, false):
            chunks[chunk][index] = run.lowerBound...(value - 1)
            chunks[chunk].insert((value + 1)...run.upperBound, at: index + 1)
            splitIfFull(chunk)
        }
        return true
    }

    /// Marks `value` as free again, merging it with the runs beside it; `false` when it was free already.
    @discardableResult
    mutating func insert(_ value: UInt128) -> Bool {
        if contains(value) { return false }
        freeCount += AddressCount(1)
        // The run ending just below and the run starting just above, if any, absorb the value.
        let below =
            value > 0 ? locate(value - 1).flatMap { chunks[$0.0][$0.1].upperBound == value - 1 ? $0 : nil } : nil
        let above =
            value < .max ? locate(value + 1).flatMap { chunks[$0.0][$0.1].lowerBound == value + 1 ? $0 : nil } : nil
        switch (below, above) {
        case let (.some(low), .some(high)):
            let merged = chunks[low.0][low.1].lowerBound...chunks[high.0][high.1].upperBound
            chunks[low.0][low.1] = merged
            chunks[high.0].remove(at: high.1)
            if chunks[high.0].isEmpty { chunks.remove(at: high.0) }
        case let (.some(low), nil):
            chunks[low.0][low.1] = chunks[low.0][low.1].lowerBound...value
        case let (nil, .some(high)):
            chunks[high.0][high.1] = value...chunks[high.0][high.1].upperBound
        case (nil, nil):
            guard !chunks.isEmpty else { chunks = [[value...value]]; return true }
            // The chunk whose runs start at or below the value, else the first chunk.
            let chunk = chunkIndex(for: value) ?? 0
            let index = chunks[chunk].partitionPoint { $0.lowerBound > value }
            chunks[chunk].insert(value...value, at: index)
            splitIfFull(chunk)
        }
        return true
    }

    /// The chunk and index of the last run starting at or below `value`, if any.
    private func locate(_ value: UInt128) -> (Int, Int)? {
        guard let chunk = chunkIndex(for: value) else { return nil }
        let index = chunks[chunk].partitionPoint { $0.lowerBound > value } - 1
        return index >= 0 ? (chunk, index) : nil
    }

    /// The last chunk whose first run starts at or below `value`.
    private func chunkIndex(for value: UInt128) -> Int? {
        let index = chunks.partitionPoint { $0[0].lowerBound > value } - 1
        return index >= 0 ? index : nil
    }

    private mutating func splitIfFull(_ chunk: Int) {
        guard chunks[chunk].count > Self.chunkCapacity else { return }
        let half = chunks[chunk].count / 2
        let upper = Array(chunks[chunk][half...])
        chunks[chunk].removeSubrange(half...)
        chunks.insert(upper, at: chunk + 1)
    }
}

extension FreeAddressSet: Equatable {
    /// Equal when the same values are free, however the runs are chunked.
    static func == (lhs: FreeAddressSet, rhs: FreeAddressSet) -> Bool { lhs.runs == rhs.runs }
}

extension Array {
    /// The first index whose element satisfies `belongsToUpperPart`, for an array already partitioned by it
    /// (all elements that fail it come first). Binary search.
    func partitionPoint(where belongsToUpperPart: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if belongsToUpperPart(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
