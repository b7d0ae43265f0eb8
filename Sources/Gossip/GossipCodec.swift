/// The wire format of gossip messages: versioned, compact, every length checked.
///
/// `HG` · version (1) · type · sender name · sender address · body. Strings are a UInt16 length and UTF-8
/// bytes, integers big-endian; counts and lengths are capped, so a hostile datagram cannot make the decoder
/// allocate much. Decoding is total: bad bytes throw a `GossipCodecError`, never trap. Encryption wraps
/// these bytes (AES-256-GCM, with the version in the associated data) in the transport.
public enum GossipCodec {
    public static let version: UInt8 = 1
    static let magic: [UInt8] = [0x48, 0x47]  // "HG"

    static let maxNameLength = 253, maxAddressLength = 262, maxMetadataValueLength = 1024
    static let maxUpdates = 64, maxMembers = 4096, maxMetadataEntries = 32

    enum MessageType: UInt8 { case ping = 1, pingRequest = 2, ack = 3, nack = 4, state = 5, gossip = 6 }

    public static func encode(_ envelope: Envelope) -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes(magic)
        writer.integer(version)
        switch envelope.message {
        case .ping: writer.integer(MessageType.ping.rawValue)
        case .pingRequest: writer.integer(MessageType.pingRequest.rawValue)
        case .ack: writer.integer(MessageType.ack.rawValue)
        case .nack: writer.integer(MessageType.nack.rawValue)
        case .state: writer.integer(MessageType.state.rawValue)
        case .gossip: writer.integer(MessageType.gossip.rawValue)
        }
        writer.string(envelope.from)
        writer.string(envelope.fromAddress)
        switch envelope.message {
        case .ping(let sequence, let target, let updates):
            writer.integer(sequence); writer.string(target); writer.updates(updates)
        case .pingRequest(let sequence, let target, let targetAddress, let updates):
            writer.integer(sequence); writer.string(target); writer.string(targetAddress); writer.updates(updates)
        case .ack(let sequence, let updates), .nack(let sequence, let updates):
            writer.integer(sequence); writer.updates(updates)
        case .gossip(let updates):
            writer.updates(updates)
        case .state(let members, let reply):
            writer.integer(UInt8(reply ? 1 : 0))
            writer.integer(UInt16(members.count))
            for member in members { writer.member(member) }
        }
        return writer.output
    }

    public static func decode(_ bytes: some Collection<UInt8>) throws(GossipCodecError) -> Envelope {
        var reader = ByteReader(Array(bytes))
        guard try reader.bytes(2) == magic else { throw GossipCodecError(.badMagic, "not a Herald gossip message") }
        let version: UInt8 = try reader.integer()
        guard version == Self.version else {
            throw GossipCodecError(.unsupportedVersion, "version \(version); this speaker speaks \(Self.version)")
        }
        let rawType: UInt8 = try reader.integer()
        guard let type = MessageType(rawValue: rawType) else {
            throw GossipCodecError(.invalidValue, "message type \(rawType)")
        }
        let from = try reader.string(max: maxNameLength, "sender name")
        let fromAddress = try reader.string(max: maxAddressLength, "sender address")
        let message: GossipMessage
        switch type {
        case .ping:
            let sequence: UInt32 = try reader.integer()
            message = .ping(
                sequence: sequence, target: try reader.string(max: maxNameLength, "target"),
                updates: try reader.updates())
        case .pingRequest:
            let sequence: UInt32 = try reader.integer()
            let target = try reader.string(max: maxNameLength, "target")
            let address = try reader.string(max: maxAddressLength, "target address")
            message = .pingRequest(
                sequence: sequence, target: target, targetAddress: address, updates: try reader.updates())
        case .ack:
            let sequence: UInt32 = try reader.integer()
            message = .ack(sequence: sequence, updates: try reader.updates())
        case .nack:
            let sequence: UInt32 = try reader.integer()
            message = .nack(sequence: sequence, updates: try reader.updates())
        case .gossip:
            message = .gossip(updates: try reader.updates())
        case .state:
            let reply: UInt8 = try reader.integer()
            guard reply <= 1 else { throw GossipCodecError(.invalidValue, "reply flag \(reply)") }
            let count: UInt16 = try reader.integer()
            guard Int(count) <= maxMembers else {
                throw GossipCodecError(.tooLarge, "\(count) members, at most \(maxMembers)")
            }
            var members: [Member] = []
            for _ in 0..<count { members.append(try reader.member()) }
            message = .state(members: members, reply: reply == 1)
        }
        guard reader.remaining == 0 else {
            throw GossipCodecError(.trailingBytes, "\(reader.remaining) bytes after the message")
        }
        return Envelope(from: from, fromAddress: fromAddress, message: message)
    }
}

/// Why bytes are not a gossip message.
public struct GossipCodecError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }
        public static let truncated = Code("truncated")
        public static let badMagic = Code("badMagic")
        public static let unsupportedVersion = Code("unsupportedVersion")
        public static let invalidValue = Code("invalidValue")
        public static let tooLarge = Code("tooLarge")
        public static let trailingBytes = Code("trailingBytes")
    }

    public var code: Code
    public var detail: String
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }
    public var description: String { "\(code): \(detail)" }
}

struct ByteWriter {
    var output: [UInt8] = []

    mutating func bytes(_ bytes: [UInt8]) { output += bytes }

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { output += $0 }
    }

    /// Strings longer than the format allows are cut (names and addresses come from configuration, which
    /// checks them; this keeps encoding total).
    mutating func string(_ text: String, max: Int = Int(UInt16.max)) {
        let bytes = Array(text.utf8.prefix(max))
        integer(UInt16(bytes.count))
        output += bytes
    }

    mutating func member(_ member: Member) {
        string(member.name); string(member.address)
        integer(member.incarnation); integer(member.status.rawValue)
        let entries = member.metadata.sorted { $0.key < $1.key }.prefix(GossipCodec.maxMetadataEntries)
        integer(UInt8(entries.count))
        for (key, value) in entries { string(key); string(value) }
    }

    mutating func updates(_ updates: [MemberUpdate]) {
        let capped = updates.prefix(GossipCodec.maxUpdates)
        integer(UInt8(capped.count))
        for update in capped {
            member(update.member)
            if let accuser = update.accuser { integer(UInt8(1)); string(accuser) } else { integer(UInt8(0)) }
        }
    }
}

struct ByteReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    mutating func bytes(_ count: Int) throws(GossipCodecError) -> [UInt8] {
        guard count <= remaining else {
            throw GossipCodecError(.truncated, "needs \(count) more bytes, \(remaining) left")
        }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    mutating func integer<T: FixedWidthInteger>() throws(GossipCodecError) -> T {
        let raw = try bytes(MemoryLayout<T>.size)
        return raw.reduce(T.zero) { $0 << 8 | T($1) }
    }

    mutating func string(max: Int, _ what: String) throws(GossipCodecError) -> String {
        let length: UInt16 = try integer()
        guard Int(length) <= max else {
            throw GossipCodecError(.tooLarge, "\(what) of \(length) bytes, at most \(max)")
        }
        let raw = try bytes(Int(length))
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw GossipCodecError(.invalidValue, "\(what) is not UTF-8")
        }
        return text
    }

    mutating func member() throws(GossipCodecError) -> Member {
        let name = try string(max: GossipCodec.maxNameLength, "member name")
        let address = try string(max: GossipCodec.maxAddressLength, "member address")
        let incarnation: UInt64 = try integer()
        let rawStatus: UInt8 = try integer()
        guard let status = MemberStatus(rawValue: rawStatus) else {
            throw GossipCodecError(.invalidValue, "member status \(rawStatus)")
        }
        let count: UInt8 = try integer()
        guard Int(count) <= GossipCodec.maxMetadataEntries else {
            throw GossipCodecError(.tooLarge, "\(count) metadata entries, at most \(GossipCodec.maxMetadataEntries)")
        }
        var metadata: [String: String] = [:]
        for _ in 0..<count {
            let key = try string(max: GossipCodec.maxNameLength, "metadata key")
            metadata[key] = try string(max: GossipCodec.maxMetadataValueLength, "metadata value")
        }
        return Member(name: name, address: address, incarnation: incarnation, status: status, metadata: metadata)
    }

    mutating func updates() throws(GossipCodecError) -> [MemberUpdate] {
        let count: UInt8 = try integer()
        guard Int(count) <= GossipCodec.maxUpdates else {
            throw GossipCodecError(.tooLarge, "\(count) updates, at most \(GossipCodec.maxUpdates)")
        }
        var updates: [MemberUpdate] = []
        for _ in 0..<count {
            let member = try member()
            let hasAccuser: UInt8 = try integer()
            guard hasAccuser <= 1 else { throw GossipCodecError(.invalidValue, "accuser flag \(hasAccuser)") }
            updates.append(
                MemberUpdate(
                    member, accuser: hasAccuser == 1 ? try string(max: GossipCodec.maxNameLength, "accuser") : nil))
        }
        return updates
    }
}
