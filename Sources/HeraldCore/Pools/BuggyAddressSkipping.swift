/// Numbers the IPv4 addresses that do not end in .0 or .255 consecutively (254 per /24), so that a pool with
/// `avoidBuggyIPs` keeps its free addresses as a few runs of slots instead of a run broken at every /24.
enum BuggyAddressSkipping {
    static func slot(of value: UInt128) -> UInt128 {
        (value >> 8) * 254 + (value & 0xff) - 1
    }

    static func value(ofSlot slot: UInt128) -> UInt128 {
        (slot / 254) << 8 | (slot % 254 + 1)
    }

    /// The slots of the usable addresses in `range`, or `nil` when it holds none.
    static func slots(of range: IPRange) -> ClosedRange<UInt128>? {
        var low = range.first.value, high = range.last.value
        switch low & 0xff {
        case 0: low += 1
        case 255: low += 2
        default: break
        }
        switch high & 0xff {
        case 255: high -= 1
        case 0: guard high >= 2 else { return nil }; high -= 2
        default: break
        }
        guard low <= high, low <= UInt128(UInt32.max) else { return nil }
        return slot(of: low)...slot(of: high)
    }
}
