/// A pool with the free addresses of each of its blocks.
struct PoolState: Sendable, Equatable {
    let pool: AddressPool
    /// One set per entry of `pool.blocks`, same order. Values are slots (see `slot(of:)`).
    private(set) var free: [FreeAddressSet]

    init(_ pool: AddressPool) {
        self.pool = pool
        free = pool.blocks.map { block in FreeAddressSet(Self.slots(of: block, avoidingBuggyIPs: pool.avoidBuggyIPs)) }
    }

    private var skipsBuggyIPs: Bool { pool.avoidBuggyIPs }

    /// The slots a block's addresses occupy: the address values themselves, or, with `avoidBuggyIPs` on IPv4,
    /// consecutive numbers for the addresses that do not end in .0 or .255.
    static func slots(of block: AddressBlock, avoidingBuggyIPs: Bool) -> ClosedRange<UInt128>? {
        guard avoidingBuggyIPs, block.family == .v4 else { return block.range.first.value...block.range.last.value }
        return BuggyAddressSkipping.slots(of: block.range)
    }

    private func slot(of address: IPAddress) -> UInt128 {
        skipsBuggyIPs && address.family == .v4 ? BuggyAddressSkipping.slot(of: address.value) : address.value
    }

    private func address(ofSlot slot: UInt128, family: IPFamily) -> IPAddress {
        let value = skipsBuggyIPs && family == .v4 ? BuggyAddressSkipping.value(ofSlot: slot) : slot
        return IPAddress(family: family, value: value)!
    }

    /// The index of the block holding `address`, when the pool may give it out.
    func blockIndex(of address: IPAddress) -> Int? {
        guard pool.contains(address) else { return nil }
        return pool.blocks.firstIndex { $0.range.contains(address) }
    }

    /// The lowest free address of block `index`.
    func lowestFree(inBlock index: Int) -> IPAddress? {
        free[index].first.map { address(ofSlot: $0, family: pool.blocks[index].family) }
    }

    func isFree(_ address: IPAddress) -> Bool {
        guard let index = blockIndex(of: address) else { return false }
        return free[index].contains(slot(of: address))
    }

    /// Marks an address taken. It must be free.
    mutating func take(_ address: IPAddress) {
        let index = blockIndex(of: address)!
        let removed = free[index].remove(slot(of: address))
        precondition(removed, "took an address that was not free")
    }

    /// Marks an address free again. It must be taken.
    mutating func giveBack(_ address: IPAddress) {
        let index = blockIndex(of: address)!
        let inserted = free[index].insert(slot(of: address))
        precondition(inserted, "gave back an address that was free")
    }

    /// How many addresses of `family` are free.
    func freeCount(of family: IPFamily) -> AddressCount {
        zip(pool.blocks, free).filter { $0.0.family == family }.reduce(.zero) { $0 + $1.1.freeCount }
    }
}
