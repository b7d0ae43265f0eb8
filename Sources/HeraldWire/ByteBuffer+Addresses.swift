public import HeraldCore
public import NIOCore

/// Reading and writing addresses in network order. Reads return `nil` and move nothing when too few bytes
/// remain, as NIO's `readInteger` does.
extension ByteBuffer {
    public mutating func readMACAddress() -> MACAddress? {
        guard let (high, low) = readMultipleIntegers(as: (UInt16, UInt32).self) else { return nil }
        return MACAddress(rawValue: UInt64(high) << 32 | UInt64(low))
    }

    public mutating func readIPv4Address() -> IPv4Address? {
        readInteger(as: UInt32.self).map(IPv4Address.init(rawValue:))
    }

    public mutating func readIPv6Address() -> IPv6Address? {
        guard let (high, low) = readMultipleIntegers(as: (UInt64, UInt64).self) else { return nil }
        return IPv6Address(rawValue: UInt128(high) << 64 | UInt128(low))
    }

    @discardableResult
    public mutating func writeMACAddress(_ address: MACAddress) -> Int {
        writeMultipleIntegers(
            UInt16(truncatingIfNeeded: address.rawValue >> 32), UInt32(truncatingIfNeeded: address.rawValue))
    }

    @discardableResult
    public mutating func writeIPv4Address(_ address: IPv4Address) -> Int { writeInteger(address.rawValue) }

    @discardableResult
    public mutating func writeIPv6Address(_ address: IPv6Address) -> Int {
        writeMultipleIntegers(
            UInt64(truncatingIfNeeded: address.rawValue >> 64), UInt64(truncatingIfNeeded: address.rawValue))
    }
}
