import HeraldCore
import HeraldWire
import NIOCore

/// NLRI prefixes as BGP packs them (RFC 4271 §4.3): a length in bits, then only the bytes that hold them.
extension ByteBuffer {
    /// Reads one prefix of `family`. `nil` (nothing read) when the bytes are short or the length is longer
    /// than the family's addresses. Bits past the length are ignored, as RFC 4271 says.
    mutating func readBGPPrefix(family: IPFamily) -> IPNetwork? {
        guard let length = getInteger(at: readerIndex, as: UInt8.self), Int(length) <= family.bitWidth else {
            return nil
        }
        let byteCount = (Int(length) + 7) / 8
        guard let bytes = getBytes(at: readerIndex + 1, length: byteCount) else { return nil }
        moveReaderIndex(forwardBy: 1 + byteCount)
        var value: UInt128 = 0
        for byte in bytes { value = value << 8 | UInt128(byte) }
        value <<= UInt128(family.bitWidth - 8 * byteCount)
        return IPNetwork(containing: IPAddress(family: family, value: value)!, prefixLength: Int(length))
    }

    mutating func writeBGPPrefix(_ network: IPNetwork) {
        writeInteger(UInt8(network.prefixLength))
        let byteCount = (network.prefixLength + 7) / 8
        let width = network.family.bitWidth
        for index in 0..<byteCount {
            writeInteger(UInt8(truncatingIfNeeded: network.address.value >> UInt128(width - 8 * (index + 1))))
        }
    }

    /// Reads prefixes of `family` to the end of the buffer; `nil` if one is malformed.
    mutating func readBGPPrefixes(family: IPFamily) -> [IPNetwork]? {
        var prefixes: [IPNetwork] = []
        while readableBytes > 0 {
            guard let prefix = readBGPPrefix(family: family) else { return nil }
            prefixes.append(prefix)
        }
        return prefixes
    }
}

extension IPNetwork {
    /// The bytes this prefix takes in NLRI.
    var encodedBGPLength: Int { 1 + (prefixLength + 7) / 8 }
}
