@testable import Gossip
import Testing

/// The protocol in the deterministic simulator: seeded randomness, virtual time, injected faults.
@Suite struct MembershipSimulationTests {
    static let all10 = (0..<10).map(Simulator.name)

    @Test(arguments: [GossipConfiguration.lanFast, .memberlistLAN])
    func joinsConverge(configuration: GossipConfiguration) {
        var simulator = Simulator(nodes: 10, configuration: configuration, seed: 1)
        simulator.joinAll()
        let took = simulator.run(until: { $0.converged(alive: Self.all10) }, limit: .seconds(10))
        #expect(took != nil, "10 members did not all see each other alive within 10 s")
    }

    @Test func crashIsDetectedByEveryLiveMember() throws {
        var simulator = Simulator(nodes: 10, configuration: .lanFast, seed: 2)
        simulator.joinAll()
        _ = simulator.run(until: { $0.converged(alive: Self.all10) }, limit: .seconds(10))
        simulator.run(for: .seconds(2))
        simulator.crash("node-3")
        let result = simulator.run(until: { $0.everyone(sees: "node-3", as: .dead) }, limit: .seconds(10))
        let took = try #require(result)
        #expect(took < .seconds(2), "lan-fast took \(took) to mark a crashed member dead everywhere")
        // Nobody else was declared dead on the way.
        #expect(simulator.events.filter { $0.member.status == .dead && $0.member.name != "node-3" }.isEmpty)
    }

    /// The target at 10 nodes: 10% random loss for 10 simulated minutes, no member declared dead.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func noFalseDeathUnderTenPercentLossForTenMinutes(seed: UInt64) {
        var simulator = Simulator(nodes: 10, configuration: .lanFast, seed: seed)
        simulator.joinAll()
        _ = simulator.run(until: { $0.converged(alive: Self.all10) }, limit: .seconds(10))
        simulator.loss = 0.10
        simulator.run(for: .seconds(600))
        let deaths = simulator.events.filter { $0.member.status == .dead }
        #expect(deaths.isEmpty, "false deaths under 10% loss: \(deaths.prefix(3).map { "\($0.observer) saw \($0.member)" })")
        #expect(simulator.events.contains { $0.member.status == .suspect }, "the loss did cause suspicions, all refuted")
    }

    @Test func gracefulLeaveIsSeenAtOnce() throws {
        var simulator = Simulator(nodes: 10, configuration: .lanFast, seed: 4)
        simulator.joinAll()
        _ = simulator.run(until: { $0.converged(alive: Self.all10) }, limit: .seconds(10))
        simulator.leave("node-5")
        let result = simulator.run(until: { $0.everyone(except: ["node-5"], sees: "node-5", as: .left) }, limit: .seconds(5))
        let took = try #require(result)
        #expect(took <= .milliseconds(10), "leave took \(took)")
        #expect(simulator.events.filter { $0.member.name == "node-5" && $0.member.status == .suspect }.isEmpty)
    }

    @Test func restartedMemberRejoinsWithAHigherIncarnation() throws {
        var simulator = Simulator(nodes: 5, configuration: .lanFast, seed: 5)
        simulator.joinAll()
        let five = (0..<5).map(Simulator.name)
        _ = simulator.run(until: { $0.converged(alive: five) }, limit: .seconds(10))
        simulator.crash("node-2")
        let step1 = simulator.run(until: { $0.everyone(sees: "node-2", as: .dead) }, limit: .seconds(10))
        #expect(step1 != nil)
        simulator.restart("node-2")
        let step2 = simulator.run(until: { $0.converged(alive: five) }, limit: .seconds(10))
        #expect(step2 != nil, "the restarted member is not seen alive")
        #expect((simulator.nodes["node-2"]?.me.incarnation ?? 0) > 0)
    }

    @Test func partitionAndHeal() throws {
        var simulator = Simulator(nodes: 6, configuration: .lanFast, seed: 6)
        simulator.joinAll()
        let six = (0..<6).map(Simulator.name)
        _ = simulator.run(until: { $0.converged(alive: six) }, limit: .seconds(10))
        simulator.partition = (Set(six.prefix(3)), Set(six.suffix(3)))
        let step3 = simulator.run(until: { $0.status(of: "node-5", seenBy: "node-0") == .dead }, limit: .seconds(10))
        #expect(step3 != nil)
        simulator.partition = nil
        // Push-pull also picks members believed dead: each side learns it was declared dead, refutes, merges.
        let healed = simulator.run(until: { $0.converged(alive: six) }, limit: .seconds(30))
        #expect(healed != nil, "the two sides did not merge after the partition healed")
    }

    @Test func suspectRefutesWhenItLearnsOfTheSuspicion() {
        var node = Membership(me: Member(name: "a", address: "a"), configuration: .lanFast, random: SplitMix64(seed: 1), now: .zero)
        var actions: [Membership<SplitMix64>.Action] = []
        node.apply(MemberUpdate(Member(name: "a", address: "a", incarnation: 0, status: .suspect)), from: "b", now: .zero, into: &actions)
        #expect(node.me.incarnation == 1 && node.me.status == .alive)
        #expect(node.awareness == 1)
    }

    @Test func suspicionTimeoutShrinksWithConfirmations() {
        var node = Membership(me: Member(name: "a", address: "a"), configuration: .memberlistLAN, random: SplitMix64(seed: 1), now: .zero)
        var actions: [Membership<SplitMix64>.Action] = []
        for index in 0..<9 { node.apply(MemberUpdate(Member(name: "n\(index)", address: "n\(index)")), from: "n\(index)", now: .zero, into: &actions) }
        // n = 10: minimum 4 × log10(10) × 1 s = 4 s, maximum 6× = 24 s (memberlist's LAN numbers).
        #expect(node.suspicionTimeout(confirmations: 1) == .seconds(24))
        #expect(node.suspicionTimeout(confirmations: 4) == .seconds(4))
        let two = node.suspicionTimeout(confirmations: 2)
        #expect(two < .seconds(24) && two > .seconds(4))
    }
}
