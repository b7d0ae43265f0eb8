import HeraldCore
import HeraldWire
import NIOCore

/// Frames built by scapy 2.5 (an independent encoder), as hex: see each name for what it holds.
/// A = 02:00:00:00:00:01 (the asker, 192.0.2.1 / 2001:db8::1), B = 02:00:00:00:00:02 (the owner of
/// 192.0.2.10 / 2001:db8::10).
enum Frames {
    static let golden: [String: String] = [
        "arpRequest": "ffffffffffff02000000000108060001080006040001020000000001c0000201000000000000c000020a",
        "arpReply": "02000000000102000000000208060001080006040002020000000002c000020a020000000001c0000201",
        "gratuitousRequest": "ffffffffffff02000000000208060001080006040001020000000002c000020a000000000000c000020a",
        "gratuitousReply": "ffffffffffff02000000000208060001080006040002020000000002c000020affffffffffffc000020a",
        "taggedARPRequest": "ffffffffffff0200000000018100606408060001080006040001020000000001c0000201000000000000c000020a",
        "multicastSolicitation": "3333ff00001002000000000186dd6000000000203aff20010db8000000000000000000000001ff0200000000000000000001ff00001087001c0b0000000020010db80000000000000000000000100101020000000001",
        "unicastProbe": "02000000000202000000000186dd6000000000183aff20010db800000000000000000000000120010db80000000000000000000000108700ef600000000020010db8000000000000000000000010",
        "dadProbe": "3333ff00001002000000000186dd6000000000183aff00000000000000000000000000000000ff0200000000000000000001ff00001087004ccf0000000020010db8000000000000000000000010",
        "solicitedAdvertisement": "02000000000102000000000286dd6000000000203aff20010db800000000000000000000001020010db800000000000000000000000188008a556000000020010db80000000000000000000000100201020000000002",
        "unsolicitedAdvertisement": "33330000000102000000000286dd6000000000203afffe800000000000000000000000000002ff020000000000000000000000000001880028522000000020010db80000000000000000000000100201020000000002",
    ]

    static func bytes(_ name: String) -> [UInt8] { hex(golden[name]!) }
    static func buffer(_ name: String) -> ByteBuffer { ByteBuffer(bytes: bytes(name)) }

    static func hex(_ text: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            result.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    static let a = MACAddress(rawValue: 0x0200_0000_0001)!
    static let b = MACAddress(rawValue: 0x0200_0000_0002)!
    static let askerIP = IPv4Address(192, 0, 2, 1)
    static let ownedIP = IPv4Address(192, 0, 2, 10)
    static let askerIPv6 = try! IPv6Address(parsing: "2001:db8::1")
    static let ownedIPv6 = try! IPv6Address(parsing: "2001:db8::10")

    static func encoded(_ frame: EthernetFrame) -> [UInt8] {
        var buffer = ByteBuffer()
        frame.encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }
}
