/// An exact number of addresses. A single IPv6 range can hold 2^128 addresses, one more than `UInt128` holds, and
/// a pool can hold several such ranges, so counts are kept in 256 bits: exact for any sum of ranges Herald sees.
public struct AddressCount: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The count is `high * 2^128 + low`.
    public private(set) var high: UInt128
    public private(set) var low: UInt128

    public static let zero = AddressCount(0)

    public init(_ value: UInt128) { (high, low) = (0, value) }

    /// The number of addresses from `first` through `last`, both included (`last - first + 1`).
    public init(first: UInt128, last: UInt128) {
        precondition(first <= last, "a range's first value must not exceed its last")
        let span = last - first
        if span == .max { (high, low) = (1, 0) } else { (high, low) = (0, span + 1) }
    }

    /// The count as a `UInt128`, or `nil` when it does not fit.
    public var exactValue: UInt128? { high == 0 ? low : nil }

    /// The count as a floating-point number, for gauges.
    public var doubleValue: Double { Double(high) * 0x1p128 + Double(low) }

    public static func + (lhs: AddressCount, rhs: AddressCount) -> AddressCount {
        let (low, carry) = lhs.low.addingReportingOverflow(rhs.low)
        var result = AddressCount(low)
        result.high = lhs.high + rhs.high + (carry ? 1 : 0)
        return result
    }

    public static func += (lhs: inout AddressCount, rhs: AddressCount) { lhs = lhs + rhs }

    /// The difference; `rhs` must not exceed `lhs`.
    public static func - (lhs: AddressCount, rhs: AddressCount) -> AddressCount {
        precondition(rhs <= lhs, "address count would go below zero")
        let (low, borrow) = lhs.low.subtractingReportingOverflow(rhs.low)
        var result = AddressCount(low)
        result.high = lhs.high - rhs.high - (borrow ? 1 : 0)
        return result
    }

    public static func < (lhs: AddressCount, rhs: AddressCount) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    /// The exact decimal value, e.g. `18446744073709551616` for a /64.
    public var description: String {
        // Long division of the four 64-bit limbs by 10^19, the largest power of ten in a UInt64.
        var limbs: [UInt64] = [
            UInt64(truncatingIfNeeded: high >> 64), UInt64(truncatingIfNeeded: high),
            UInt64(truncatingIfNeeded: low >> 64), UInt64(truncatingIfNeeded: low),
        ]
        let divisor: UInt64 = 10_000_000_000_000_000_000
        var chunks: [UInt64] = []
        while limbs.contains(where: { $0 != 0 }) {
            var remainder: UInt64 = 0
            for index in limbs.indices {
                let (quotient, rest) = divisor.dividingFullWidth((remainder, limbs[index]))
                limbs[index] = quotient
                remainder = rest
            }
            chunks.append(remainder)
        }
        guard let last = chunks.popLast() else { return "0" }
        return String(last)
            + chunks.reversed().map { chunk in
                let digits = String(chunk)
                return String(repeating: "0", count: 19 - digits.count) + digits
            }.joined()
    }
}
