@testable import Gossip

/// A small seeded generator, so every simulation is reproducible.
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// N in-process members on a virtual network with virtual time: messages are delayed, lost, duplicated and
/// reordered as configured, nodes crash and restart, partitions cut the network. Deterministic for a seed.
struct Simulator {
    typealias Node = Membership<SplitMix64>

    struct InFlight {
        let deliverAt: Duration
        let order: UInt64
        let to: String
        let envelope: Envelope
    }

    var nodes: [String: Node] = [:]
    var crashed: Set<String> = []
    var now: Duration = .zero
    var queue: [InFlight] = []
    var random: SplitMix64
    var configuration: GossipConfiguration
    var loss = 0.0
    var duplication = 0.0
    var delay: ClosedRange<Duration> = .microseconds(200)...(.microseconds(800))
    /// Node names that cannot reach each other across the partition.
    var partition: (Set<String>, Set<String>)?
    var step: Duration = .milliseconds(5)
    /// Every membership change seen, with who saw it and when.
    var events: [(at: Duration, observer: String, member: Member)] = []
    var messagesSent = 0
    private var order: UInt64 = 0

    init(nodes count: Int, configuration: GossipConfiguration, seed: UInt64) {
        random = SplitMix64(seed: seed)
        self.configuration = configuration
        for index in 0..<count { add(name: Self.name(index)) }
    }

    static func name(_ index: Int) -> String { "node-\(index)" }

    mutating func add(name: String, incarnation: UInt64 = 0) {
        let me = Member(name: name, address: name, incarnation: incarnation, metadata: ["node": name])
        nodes[name] = Node(me: me, configuration: configuration, random: SplitMix64(seed: random.next()), now: now)
    }

    /// Every node joins through node-0.
    mutating func joinAll() {
        for name in nodes.keys.sorted() where name != Self.name(0) {
            var node = nodes[name]!
            let actions = node.join(seeds: [Self.name(0)])
            nodes[name] = node
            perform(actions, from: name)
        }
    }

    mutating func run(for duration: Duration) {
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
    mutating func run(until condition: (Simulator) -> Bool, limit: Duration) -> Duration? {
        let start = now
        while now - start < limit {
            if condition(self) { return now - start }
            run(for: step)
        }
        return condition(self) ? now - start : nil
    }

    mutating func crash(_ name: String) {
        crashed.insert(name)
        queue.removeAll { $0.to == name }
    }

    mutating func restart(_ name: String) {
        crashed.remove(name)
        add(name: name)
        var node = nodes[name]!
        let actions = node.join(seeds: [Self.name(name == Self.name(0) ? 1 : 0)])
        nodes[name] = node
        perform(actions, from: name)
    }

    mutating func leave(_ name: String) {
        var node = nodes[name]!
        let actions = node.leave()
        nodes[name] = node
        perform(actions, from: name)
    }

    /// What `observer` believes of `member`.
    func status(of member: String, seenBy observer: String) -> MemberStatus? {
        nodes[observer]?.member(named: member)?.status
    }

    func everyone(except excluded: Set<String> = [], sees member: String, as status: MemberStatus) -> Bool {
        nodes.keys.filter { !excluded.contains($0) && !crashed.contains($0) && $0 != member }
            .allSatisfy { self.status(of: member, seenBy: $0) == status }
    }

    func converged(alive names: [String]) -> Bool {
        names.allSatisfy { observer in names.allSatisfy { status(of: $0, seenBy: observer) == .alive } }
    }

    private mutating func perform(_ actions: [Node.Action], from name: String) {
        let me = nodes[name]!.me
        for action in actions {
            switch action {
            case .changed(let member):
                events.append((now, name, member))
            case .send(let message, let to):
                messagesSent += 1
                if crashed.contains(name) { continue }
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
                                          envelope: Envelope(from: me.name, fromAddress: me.address, message: message)))
                }
            }
        }
    }

    private mutating func deliverDue() {
        let due = queue.filter { $0.deliverAt <= now }.sorted { ($0.deliverAt, $0.order) < ($1.deliverAt, $1.order) }
        queue.removeAll { $0.deliverAt <= now }
        for message in due where !crashed.contains(message.to) {
            guard var node = nodes[message.to] else { continue }
            let actions = node.receive(message.envelope, now: now)
            nodes[message.to] = node
            perform(actions, from: message.to)
        }
    }
}
