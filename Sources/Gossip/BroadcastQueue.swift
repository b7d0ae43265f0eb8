/// Updates waiting to be piggybacked, one per member (a newer update replaces an older one), each sent a
/// bounded number of times, fewest-sent first (SWIM's infection-style dissemination).
struct BroadcastQueue: Sendable {
    private var entries: [String: (update: MemberUpdate, transmits: Int, order: UInt64)] = [:]
    private var counter: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    mutating func enqueue(_ update: MemberUpdate) {
        counter += 1
        entries[update.member.name] = (update, 0, counter)
    }

    /// Up to `limit` updates, fewest transmissions first (newest first among equals); an update sent
    /// `maxTransmits` times is dropped. `first` goes in front whatever its count (Lifeguard's buddy system).
    mutating func take(limit: Int, maxTransmits: Int, first: String? = nil) -> [MemberUpdate] {
        var names = entries.keys.sorted { a, b in
            let (x, y) = (entries[a]!, entries[b]!)
            return x.transmits == y.transmits ? x.order > y.order : x.transmits < y.transmits
        }
        if let first, let index = names.firstIndex(of: first) { names.insert(names.remove(at: index), at: 0) }
        var taken: [MemberUpdate] = []
        for name in names.prefix(limit) {
            var entry = entries[name]!
            taken.append(entry.update)
            entry.transmits += 1
            entries[name] = entry.transmits >= maxTransmits ? nil : entry
        }
        return taken
    }
}
