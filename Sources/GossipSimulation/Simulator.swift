public import Gossip

/// A small seeded generator, so every simulation is reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// N in-process members on a virtual network with virtual time: messages are delayed, lost, duplicated and
/// reordered as configured, nodes crash and restart, partitions cut the network. Deterministic for a seed.
public struct Simulator: Sendable {
    public typealias Node = Membership<SplitMix64>

    struct InFlight: Sendable {
        let deliverAt: Duration
        let order: UInt64
        let to: String
        /// The datagram as the transport would send it: encoded, and sealed when the sender has a keyring.
        let bytes: [UInt8]
    }

    public var nodes: [String: Node] = [:]
    public var crashed: Set<String> = []
    public var now: Duration = .zero
    var queue: [InFlight] = []
    public var random: SplitMix64
    public var configuration: GossipConfiguration
    public var loss = 0.0
    public var duplication = 0.0
    public var delay: ClosedRange<Duration> = .microseconds(200)...(.microseconds(800))
    /// Node names that cannot reach each other across the partition.
    public var partition: (Set<String>, Set<String>)?
    public var step: Duration = .milliseconds(5)
    /// Every membership change seen, with who saw it and when.
    public var events: [(at: Duration, observer: String, member: Member)] = []
    public var messagesSent = 0
    /// Per-node keyrings: with one, a node seals what it sends and accepts only what its keys open, as the
    /// real transport does. Without, it sends and accepts plaintext.
    public var keyrings: [String: Keyring] = [:]
    /// Datagrams a node dropped because they failed authentication or decoding, by receiving node.
    public var rejected: [String: Int] = [:]
    /// Bytes on the wire for everything sent: the encoded message, the AES-GCM envelope and IPv4 + UDP headers.
    public var bytesSent = 0
    private var order: UInt64 = 0

    public init(nodes count: Int, configuration: GossipConfiguration, seed: UInt64) {
        random = SplitMix64(seed: seed)
        self.configuration = configuration
        for index in 0..<count { add(name: Self.name(index)) }
    }

    public static func name(_ index: Int) -> String { "node-\(index)" }

    public mutating func add(name: String, incarnation: UInt64 = 0) {
        let me = Member(name: name, address: name, incarnation: incarnation, metadata: ["node": name])
        nodes[name] = Node(me: me, configuration: configuration, random: SplitMix64(seed: random.next()), now: now)
    }

    /// Every node joins through node-0.
    public mutating func joinAll() {
        for name in nodes.keys.sorted() where name != Self.name(0) {
            var node = nodes[name]!
            let actions = node.join(seeds: [Self.name(0)])
            nodes[name] = node
            perform(actions, from: name)
        }
    }

    public mutating func run(for duration: Duration) {
        let end = now + duration
        while now < end {
            now += step
            deliverDue()
            for name in nodes.keys.sorted() where !crashed.contains(name) {
                var node = nodes[name]!
                let actions = node.tick(now: now)
                nodes[name] = node
                perform(actions, from: name)
            }
        }
    }

    /// Runs until `condition` holds or `limit` passes; returns the virtual time it took, or nil.
    public mutating func run(until condition: (Simulator) -> Bool, limit: Duration) -> Duration? {
        let start = now
        while now - start < limit {
            if condition(self) { return now - start }
            run(for: step)
        }
        return condition(self) ? now - start : nil
    }

    public mutating func crash(_ name: String) {
        crashed.insert(name)
        queue.removeAll { $0.to == name }
    }

    public mutating func restart(_ name: String) {
        crashed.remove(name)
        add(name: name)
        var node = nodes[name]!
        let actions = node.join(seeds: [Self.name(name == Self.name(0) ? 1 : 0)])
        nodes[name] = node
        perform(actions, from: name)
    }

    public mutating func leave(_ name: String) {
        var node = nodes[name]!
        let actions = node.leave()
        nodes[name] = node
        perform(actions, from: name)
    }

    /// What `observer` believes of `member`.
    public func status(of member: String, seenBy observer: String) -> MemberStatus? {
        nodes[observer]?.member(named: member)?.status
    }

    public func everyone(except excluded: Set<String> = [], sees member: String, as status: MemberStatus) -> Bool {
        nodes.keys.filter { !excluded.contains($0) && !crashed.contains($0) && $0 != member }
            .allSatisfy { self.status(of: member, seenBy: $0) == status }
    }

    public func converged(alive names: [String]) -> Bool {
        names.allSatisfy { observer in names.allSatisfy { status(of: $0, seenBy: observer) == .alive } }
    }

    public mutating func perform(_ actions: [Node.Action], from name: String) {
        let me = nodes[name]!.me
        for action in actions {
            switch action {
            case .changed(let member):
                events.append((now, name, member))
            case .send(let message, let to):
                if crashed.contains(name) { continue }
                messagesSent += 1
                let envelope = Envelope(from: me.name, fromAddress: me.address, message: message)
                var bytes = GossipCodec.encode(envelope)
                if let keyring = keyrings[name] {
                    let nonce = (0..<12).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    bytes = (try? keyring.seal(bytes, nonce: nonce)) ?? []
                }
                bytesSent += bytes.count + (keyrings[name] == nil ? Keyring.overhead : 0) + 28
                if let (left, right) = partition, (left.contains(name) && right.contains(to)) || (right.contains(name) && left.contains(to)) {
                    continue
                }
                if Double(random.next() % 1_000_000) / 1_000_000 < loss { continue }
                let copies = Double(random.next() % 1_000_000) / 1_000_000 < duplication ? 2 : 1
                for _ in 0..<copies {
                    let span = delay.upperBound - delay.lowerBound
                    let jitter = span * (Double(random.next() % 1000) / 1000)
                    order += 1
                    queue.append(InFlight(deliverAt: now + delay.lowerBound + jitter, order: order, to: to,
                                          bytes: bytes))
                }
            }
        }
    }

    private mutating func deliverDue() {
        let due = queue.filter { $0.deliverAt <= now }.sorted { ($0.deliverAt, $0.order) < ($1.deliverAt, $1.order) }
        queue.removeAll { $0.deliverAt <= now }
        for message in due where !crashed.contains(message.to) {
            guard var node = nodes[message.to] else { continue }
            guard let envelope = open(message.bytes, at: message.to) else {
                rejected[message.to, default: 0] += 1
                continue
            }
            let actions = node.receive(envelope, now: now)
            nodes[message.to] = node
            perform(actions, from: message.to)
        }
    }

    private func open(_ bytes: [UInt8], at name: String) -> Envelope? {
        var plaintext = bytes
        if let keyring = keyrings[name] {
            guard let opened = try? keyring.open(bytes) else { return nil }
            plaintext = opened
        }
        return try? GossipCodec.decode(plaintext)
    }

    /// Injects raw bytes as if they arrived from the network (an attacker's datagram).
    public mutating func inject(_ bytes: [UInt8], to name: String) {
        order += 1
        queue.append(InFlight(deliverAt: now, order: order, to: name, bytes: bytes))
    }
}
