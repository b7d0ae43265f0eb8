public import Gossip
public import SeededRandom

/// N in-process members on a virtual network with virtual time: messages are delayed, lost, duplicated and
/// reordered as configured, nodes crash and restart, partitions cut the network. Deterministic for a seed.
/// Each member is the production `GossipDriver` (sealing, decoding, rejoining, pause detection) around its
/// `Membership`; only the network and the clock are simulated.
public struct Simulator: Sendable {
    public typealias Node = GossipDriver<SeededGenerator>

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
    public var random: SeededGenerator
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
    public var keyrings: [String: Keyring] = [:] {
        didSet { for name in nodes.keys { nodes[name]?.options.keyring = keyrings[name] } }
    }
    /// Datagrams a node dropped because they failed authentication or decoding, by receiving node.
    public var rejected: [String: Int] = [:]
    /// Bytes on the wire for everything sent: the encoded message, the AES-GCM envelope and IPv4 + UDP headers.
    public var bytesSent = 0
    private var order: UInt64 = 0

    public init(nodes count: Int, configuration: GossipConfiguration, seed: UInt64) {
        random = SeededGenerator(seed: seed)
        self.configuration = configuration
        for index in 0..<count { add(name: Self.name(index)) }
    }

    public static func name(_ index: Int) -> String { "node-\(index)" }

    public mutating func add(name: String, incarnation: UInt64 = 0) {
        let me = Member(name: name, address: name, incarnation: incarnation, metadata: ["node": name])
        nodes[name] = Node(
            me: me, configuration: configuration, options: .init(keyring: keyrings[name]),
            random: SeededGenerator(seed: random.next()), nonces: SeededGenerator(seed: random.next()), now: now)
    }

    /// Every node joins through node-0.
    public mutating func joinAll() {
        for name in nodes.keys.sorted() where name != Self.name(0) {
            var node = nodes[name]!
            let outputs = node.join(seeds: [Self.name(0)], now: now)
            nodes[name] = node
            perform(outputs, from: name)
        }
    }

    public mutating func run(for duration: Duration) {
        let end = now + duration
        while now < end {
            now += step
            deliverDue()
            for name in nodes.keys.sorted() where !crashed.contains(name) {
                var node = nodes[name]!
                let outputs = node.tick(now: now)
                nodes[name] = node
                perform(outputs, from: name)
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
        let outputs = node.join(seeds: [Self.name(name == Self.name(0) ? 1 : 0)], now: now)
        nodes[name] = node
        perform(outputs, from: name)
    }

    public mutating func leave(_ name: String) {
        var node = nodes[name]!
        let outputs = node.leave()
        nodes[name] = node
        perform(outputs, from: name)
    }

    /// What `observer` believes of `member`.
    public func status(of member: String, seenBy observer: String) -> MemberStatus? {
        nodes[observer]?.membership.member(named: member)?.status
    }

    public func everyone(except excluded: Set<String> = [], sees member: String, as status: MemberStatus) -> Bool {
        nodes.keys.filter { !excluded.contains($0) && !crashed.contains($0) && $0 != member }
            .allSatisfy { self.status(of: member, seenBy: $0) == status }
    }

    public func converged(alive names: [String]) -> Bool {
        names.allSatisfy { observer in names.allSatisfy { status(of: $0, seenBy: observer) == .alive } }
    }

    /// What a node's driver asked for: sends go on the virtual network, rejections are counted.
    public mutating func perform(_ outputs: [Node.Output], from name: String) {
        for output in outputs {
            switch output {
            case .changed(let member):
                events.append((now, name, member))
            case .rejected:
                rejected[name, default: 0] += 1
            case .paused, .rejoining:
                continue
            case .send(let bytes, let to, _):
                if crashed.contains(name) { continue }
                messagesSent += 1
                bytesSent += bytes.count + (keyrings[name] == nil ? Keyring.overhead : 0) + 28
                if let (left, right) = partition,
                    (left.contains(name) && right.contains(to)) || (right.contains(name) && left.contains(to))
                {
                    continue
                }
                if Double(random.next() % 1_000_000) / 1_000_000 < loss { continue }
                let copies = Double(random.next() % 1_000_000) / 1_000_000 < duplication ? 2 : 1
                for _ in 0..<copies {
                    let span = delay.upperBound - delay.lowerBound
                    let jitter = span * (Double(random.next() % 1000) / 1000)
                    order += 1
                    queue.append(
                        InFlight(deliverAt: now + delay.lowerBound + jitter, order: order, to: to, bytes: bytes))
                }
            }
        }
    }

    private mutating func deliverDue() {
        let due = queue.filter { $0.deliverAt <= now }.sorted { ($0.deliverAt, $0.order) < ($1.deliverAt, $1.order) }
        queue.removeAll { $0.deliverAt <= now }
        for message in due where !crashed.contains(message.to) {
            guard var node = nodes[message.to] else { continue }
            let outputs = node.receive(message.bytes, now: now)
            nodes[message.to] = node
            perform(outputs, from: message.to)
        }
    }

    /// Injects raw bytes as if they arrived from the network (an attacker's datagram).
    public mutating func inject(_ bytes: [UInt8], to name: String) {
        order += 1
        queue.append(InFlight(deliverAt: now, order: order, to: name, bytes: bytes))
    }
}
