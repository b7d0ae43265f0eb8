import NIOCore

/// BGP messages built by scapy 2.5's contrib.bgp (an encoder independent of Herald's), as hex. make-golden.py
/// beside this file prints them; each name says what the message holds, and the tests spell out its values.
enum GoldenMessages {
    static let hex: [String: String] = [
        "open": "ffffffffffffffffffffffffffffffff004b01045ba0005ac00002012e020601040001000102060104000200010202020002064104fa56ea01020c400a8078000101800002010002024600",
        "keepalive": "ffffffffffffffffffffffffffffffff001304",
        "ceaseShutdown": "ffffffffffffffffffffffffffffffff00210306020b6d61696e74656e616e6365",
        "holdTimeNotification": "ffffffffffffffffffffffffffffffff0015030206",
        "routeRefresh": "ffffffffffffffffffffffffffffffff00170500010001",
        "updateIPv4": "ffffffffffffffffffffffffffffffff005d020000003d400101004002060201fa56ea01400304c000020140050400000064c00804fc000064c02018fa56ea0100000001000000020000fc00000000070000000020cb00710a18cb0071",
        "updateIPv6": "ffffffffffffffffffffffffffffffff006a02000000534001010240020a02020000fc000000fc01800e3f0002012020010db8000000000000000000000001fe800000000000000000000000000001008020010db8005e000000000000000000104020010db8005e0000",
        "withdrawIPv4": "ffffffffffffffffffffffffffffffff001c02000520cb00710a0000",
        "withdrawIPv6": "ffffffffffffffffffffffffffffffff002e0200000017800f140002018020010db8005e00000000000000000010",
        "endOfRIBIPv4": "ffffffffffffffffffffffffffffffff00170200000000",
        "endOfRIBIPv6": "ffffffffffffffffffffffffffffffff001d0200000006800f03000201",
        "updateTwoOctet": "ffffffffffffffffffffffffffffffff0037020000001b4001010040020402015ba0400304c0000201c011060201fa56ea0120cb00710a",
        "openTwoOctet": "ffffffffffffffffffffffffffffffff00250104fc000003c0000202080206010400010001",
    ]

    static func bytes(_ name: String) -> [UInt8] {
        let text = hex[name]!
        var result: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            result.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    static func buffer(_ name: String) -> ByteBuffer { ByteBuffer(bytes: bytes(name)) }
}
