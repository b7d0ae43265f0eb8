import ElapsedTime
import Gossip
import GossipNode
import HeraldTestSupport
import Logging
import ServiceLifecycleTestKit
import Testing

/// `GossipNode` itself, without sockets or wall time: members on an in-memory network and a manual clock,
/// so what happens at which time is the test's to say.
@Suite struct InMemoryGossipNodeTests {
    static let key = [UInt8](repeating: 0x5a, count: 32)

    static func node(_ name: String, on network: InMemoryGossipNetwork, seeds: [String] = [], clock: ManualClock,
                     key: [UInt8]? = key) throws -> GossipNode {
        let transport = network.transport(at: GossipAddress(host: "192.0.2.\(name.last!.asciiValue! - 96)", port: 7946))
        let options = GossipNode.Options(name: name, metadata: ["node": name], seeds: try seeds.map { try GossipAddress(parsing: $0) },
                                         keyring: try key.map { try Keyring(keys: [$0]) })
        var logger = Logger(label: "test.\(name)")
        logger.logLevel = .warning
        return GossipNode(options: options, transport: transport, logger: logger, clock: ElapsedClock(clock))
    }

    /// Moves the clock on in steps until `condition` holds: the members' timers run at each step, and the
    /// test never waits on wall time for them.
    static func advance(_ clock: ManualClock, by step: Duration = .milliseconds(25), upTo limit: Duration,
                        until condition: () async -> Bool) async -> Duration? {
        var elapsed = Duration.zero
        while elapsed <= limit {
            if await condition() { return elapsed }
            // Let the members' tasks take what the last step delivered before time moves again.
            for _ in 0..<50 { await Task.yield() }
            clock.advance(by: step)
            elapsed += step
        }
        return nil
    }

    @Test func membersJoinSealedAndALeaverIsDroppedAtOnce() async throws {
        let network = InMemoryGossipNetwork(), clock = ManualClock()
        let a = try Self.node("a", on: network, clock: clock)
        let b = try Self.node("b", on: network, seeds: ["192.0.2.1:7946"], clock: clock)
        let c = try Self.node("c", on: network, seeds: ["192.0.2.1:7946"], clock: clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await b.run() }
            try await testGracefulShutdown { trigger in
                let leaver = Task { try await c.run() }
                let joined = await Self.advance(clock, upTo: .seconds(5)) {
                    for node in [a, b, c] where await node.liveMembers.count != 3 { return false }
                    return true
                }
                #expect(joined != nil, "the three did not see each other within 5 s of gossip time")
                #expect(await a.members.first { $0.name == "c" }?.metadata["node"] == "c")
                // c shuts down gracefully: it tells the others, who drop it without suspecting it first.
                trigger.triggerGracefulShutdown()
                try await leaver.value
                let left = await Self.advance(clock, upTo: .milliseconds(100)) {
                    for node in [a, b] where await node.members.first(where: { $0.name == "c" })?.status != .left { return false }
                    return true
                }
                #expect(left != nil, "the leave was not heard at once")
            }
            group.cancelAll()
        }
    }

    @Test func aMemberWithTheWrongKeyIsNotLetIn() async throws {
        let network = InMemoryGossipNetwork(), clock = ManualClock()
        let a = try Self.node("a", on: network, clock: clock)
        let mallory = try Self.node("m", on: network, seeds: ["192.0.2.1:7946"], clock: clock, key: [UInt8](repeating: 1, count: 32))
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await mallory.run() }
            // Several join attempts (backoff 0.5 s, 1 s, 2 s) within 4 s: none gets in.
            _ = await Self.advance(clock, by: .milliseconds(100), upTo: .seconds(4)) { false }
            #expect(await a.members.map(\.name) == ["a"])
            #expect(await mallory.members.map(\.name) == ["m"])
            group.cancelAll()
        }
    }

    @Test func aCrashedMemberIsSuspectedThenDeclaredDead() async throws {
        let network = InMemoryGossipNetwork(), clock = ManualClock()
        let a = try Self.node("a", on: network, clock: clock)
        let b = try Self.node("b", on: network, seeds: ["192.0.2.1:7946"], clock: clock)
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await b.run() }
            let joined = await Self.advance(clock, upTo: .seconds(5)) { await a.liveMembers.count == 2 }
            #expect(joined != nil)
            // b's network goes: a must find it dead, as a crash looks from outside.
            network.isolate(GossipAddress(host: "192.0.2.2", port: 7946))
            let dead = await Self.advance(clock, upTo: .seconds(30)) {
                await a.members.first { $0.name == "b" }?.status == .dead
            }
            #expect(dead != nil, "b never declared dead")
            group.cancelAll()
        }
    }
}
