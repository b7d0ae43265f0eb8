@testable import Gossip
import Testing

@Suite struct GossipCodecTests {
    static let member = Member(name: "node-a", address: "192.0.2.1:7946", incarnation: 7, status: .suspect,
                               metadata: ["node": "node-a", "zone": "rack-1"])
    static let updates = [MemberUpdate(member, accuser: "node-b"), MemberUpdate(Member(name: "node-c", address: "[2001:db8::3]:7946"))]
    static let envelopes: [Envelope] = [
        Envelope(from: "node-b", fromAddress: "192.0.2.2:7946", message: .ping(sequence: 42, target: "node-a", updates: updates)),
        Envelope(from: "node-b", fromAddress: "192.0.2.2:7946", message: .pingRequest(sequence: 1, target: "node-a", targetAddress: "192.0.2.1:7946", updates: [])),
        Envelope(from: "node-a", fromAddress: "192.0.2.1:7946", message: .ack(sequence: .max, updates: updates)),
        Envelope(from: "node-a", fromAddress: "192.0.2.1:7946", message: .nack(sequence: 0, updates: [])),
        Envelope(from: "node-a", fromAddress: "192.0.2.1:7946", message: .gossip(updates: updates)),
        Envelope(from: "node-a", fromAddress: "192.0.2.1:7946", message: .state(members: [member, Member(name: "x", address: "y", status: .left)], reply: true)),
    ]

    @Test(arguments: envelopes)
    func roundTrip(envelope: Envelope) throws {
        let bytes = GossipCodec.encode(envelope)
        #expect(bytes.prefix(3) == [0x48, 0x47, 1])
        #expect(try GossipCodec.decode(bytes) == envelope)
    }

    /// Every truncation throws, whatever the message.
    @Test(arguments: envelopes)
    func everyTruncationThrows(envelope: Envelope) {
        let bytes = GossipCodec.encode(envelope)
        for length in 0..<bytes.count {
            #expect(throws: GossipCodecError.self) { try GossipCodec.decode(bytes.prefix(length)) }
        }
    }

    @Test func refusals() {
        let bytes = GossipCodec.encode(Self.envelopes[0])
        var version = bytes; version[2] = 2
        #expect(throws: GossipCodecError(.unsupportedVersion, "version 2; this speaker speaks 1")) { try GossipCodec.decode(version) }
        var magic = bytes; magic[0] = 0
        #expect(throws: GossipCodecError(.badMagic, "not a Herald gossip message")) { try GossipCodec.decode(magic) }
        var type = bytes; type[3] = 9
        #expect(throws: GossipCodecError(.invalidValue, "message type 9")) { try GossipCodec.decode(type) }
        #expect(throws: GossipCodecError(.trailingBytes, "1 bytes after the message")) { try GossipCodec.decode(bytes + [0]) }
        // A huge claimed member count is refused before anything is allocated for it.
        var state = GossipCodec.encode(Envelope(from: "a", fromAddress: "b", message: .state(members: [], reply: false)))
        state[state.count - 2] = 0xff; state[state.count - 1] = 0xff
        #expect(throws: GossipCodecError(.tooLarge, "65535 members, at most 4096")) { try GossipCodec.decode(state) }
        // A status byte outside the four states.
        var status = GossipCodec.encode(Envelope(from: "a", fromAddress: "b", message: .state(members: [Member(name: "m", address: "n")], reply: false)))
        let statusOffset = status.count - 2  // … incarnation (8) · status · metadata count
        status[statusOffset] = 9
        #expect(throws: GossipCodecError(.invalidValue, "member status 9")) { try GossipCodec.decode(status) }
    }
}

/// The committed fuzz seeds are valid messages, so the fuzzer starts from the real format.
@Test func fuzzSeedsDecode() throws {
    let directory = #filePath.split(separator: "/").dropLast(2).joined(separator: "/")
    for name in ["ping", "ping-request", "ack", "nack", "state"] {
        let path = "/\(directory)/Fuzz/corpus/fuzz-gossip-codec/\(name)"
        let bytes = try #require(readFile(path), "\(path) is missing")
        #expect(throws: Never.self) { try GossipCodec.decode(bytes) }
    }
}

#if canImport(Glibc)
import Glibc
#endif

func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[..<count]
    }
    return bytes
}
