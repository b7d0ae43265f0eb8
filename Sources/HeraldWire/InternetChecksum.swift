public import NIOCore

/// The ones'-complement sum of RFC 1071, as IPv4, ICMPv6, UDP and TCP use it.
public struct InternetChecksum: Sendable {
    private var sum: UInt64 = 0
    /// A byte left over from an odd-length chunk, waiting for its partner.
    private var pending: UInt8?

    public init() {}

    public mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            if let high = pending {
                sum += UInt64(high) << 8 | UInt64(byte)
                pending = nil
            } else {
                pending = byte
            }
        }
    }

    public mutating func add(_ buffer: ByteBuffer) { add(buffer.readableBytesView) }

    public mutating func add<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { add($0) }
    }

    /// The checksum to put in the header: the complement of the folded sum.
    public var value: UInt16 {
        var total = sum
        if let high = pending { total += UInt64(high) << 8 }
        while total >> 16 != 0 { total = (total & 0xffff) + (total >> 16) }
        return ~UInt16(total)
    }
}
