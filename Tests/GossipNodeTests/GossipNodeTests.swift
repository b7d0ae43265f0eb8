import Foundation
import Gossip
import GossipNode
import HeraldTestSupport
import Logging
import MetricsTestKit
import Testing

/// `GossipNode` over the SwiftNIO transport in one process, on loopback: join, sealing, and the counter of
/// packets that fail authentication.
@Suite struct GossipNodeTests {
    static let key = [UInt8](repeating: 0x5a, count: 32)

    /// A node on a free port of `host`; with `advertising`, the others reach it at that host and its port.
    static func node(_ name: String, key: [UInt8]?, seeds: [GossipAddress] = [], metrics: TestMetrics,
                     host: String = "127.0.0.1", advertising: String? = nil) async throws -> (GossipNode, NIOGossipTransport) {
        let transport = try await NIOGossipTransport(binding: GossipAddress(host: host, port: 0))
        let advertised = advertising.map { GossipAddress(host: $0, port: transport.localAddress.port) }
        let options = GossipNode.Options(name: name, advertiseAddress: advertised, metadata: ["node": name], seeds: seeds,
                                         keyring: try key.map { try Keyring(keys: [$0]) })
        var logger = Logger(label: "test.\(name)")
        logger.logLevel = .warning
        return (GossipNode(options: options, transport: transport, logger: logger, metricsFactory: metrics), transport)
    }

    /// NIO closes a datagram channel on most send errors (found in the lab: a firewall rule dropping gossip
    /// on output made sendmsg fail with EPERM, and the member stayed deaf on UDP after the rule was gone).
    /// The transport opens a new channel on the same port and carries on.
    @Test func aSendErrorDoesNotLeaveTheTransportDeaf() async throws {
        let sender = try await NIOGossipTransport(binding: GossipAddress(host: "127.0.0.1", port: 0))
        let receiver = try await NIOGossipTransport(binding: GossipAddress(host: "127.0.0.1", port: 0))
        // An IPv6 destination from an IPv4 socket: sendmsg fails (EAFNOSUPPORT), and NIO closes the channel.
        await #expect(throws: (any Error).self) { try await sender.send([1], to: GossipAddress(host: "::1", port: 9), stream: false) }
        let seen = SeenSource()
        let consumer = Task {
            for await packet in receiver.packets where packet.bytes == [42] { await seen.set(packet.source) }
        }
        let source = try await waitFor("a datagram through the reopened channel", limit: .seconds(10), interval: .milliseconds(20)) {
            try? await sender.send([42], to: receiver.localAddress, stream: false)
            return (await seen.source, "reopens \(sender.datagramReopens)")
        }
        consumer.cancel()
        #expect(sender.datagramReopens >= 1)
        #expect(source.hasSuffix(":\(sender.localAddress.port)"), "not sent from the gossip port: \(source)")
        await sender.close()
        await receiver.close()
    }

    @Test func twoNodesJoinOverSealedUDPAndTCP() async throws {
        let metrics = TestMetrics()
        let (a, transportA) = try await Self.node("node-a", key: Self.key, metrics: metrics)
        let (b, _) = try await Self.node("node-b", key: Self.key, seeds: [transportA.localAddress], metrics: metrics)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await b.run() }
            defer { group.cancelAll() }
            var changes = b.changes.makeAsyncIterator()
            let first = await changes.next()
            #expect(first?.name == "node-a" && first?.status == .alive)
            #expect(first?.metadata["node"] == "node-a")
            _ = try await waitFor("node-a to see node-b alive") {
                let members = await a.liveMembers.map(\.name)
                return (members == ["node-a", "node-b"] ? true : nil, "\(members)")
            }
            // Joining went over TCP (full state); probing then runs on UDP datagrams.
            _ = try await waitFor("probes over UDP") {
                let udp = (try? metrics.expectCounter("herald_gossip_packets_received_total", [("transport", "udp")]).totalValue) ?? 0
                return (udp >= 4 ? true : nil, "udp packets: \(udp)")
            }
        }
        #expect(try metrics.expectCounter("herald_gossip_authentication_failures_total").totalValue == 0)
        #expect(try metrics.expectCounter("herald_gossip_packets_received_total", [("transport", "tcp")]).totalValue > 0)
    }

    /// The speaker's default bind on an IPv6-primary node: `[::]` when it is reached at an IPv6 address
    /// (an IPv4 socket would never hear its peers), `0.0.0.0` otherwise.
    @Test func theDefaultBindFollowsTheAdvertisedFamily() {
        #expect(GossipAddress.wildcard(reachedAt: GossipAddress(host: "2001:db8::7", port: 7946), port: 7946).description == "[::]:7946")
        #expect(GossipAddress.wildcard(reachedAt: GossipAddress(host: "192.0.2.7", port: 7946), port: 7946).description == "0.0.0.0:7946")
        #expect(GossipAddress.wildcard(reachedAt: nil, port: 7000).description == "0.0.0.0:7000")
    }

    /// Two members bound to `[::]` and reached at ::1 join and probe each other: gossip works on a node whose
    /// only address is IPv6.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/net/if_inet6"), "no IPv6 on this machine"))
    func twoNodesJoinOverIPv6() async throws {
        let metrics = TestMetrics()
        let (a, transportA) = try await Self.node("node-a", key: Self.key, metrics: metrics, host: "::", advertising: "::1")
        let seed = GossipAddress(host: "::1", port: transportA.localAddress.port)
        let (b, _) = try await Self.node("node-b", key: Self.key, seeds: [seed], metrics: metrics, host: "::", advertising: "::1")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await b.run() }
            defer { group.cancelAll() }
            _ = try await waitFor("each to see the other alive over IPv6") {
                let seenByA = await a.liveMembers.map(\.name), seenByB = await b.liveMembers.map(\.name)
                return (seenByA.count == 2 && seenByB.count == 2 ? true : nil, "\(seenByA) \(seenByB)")
            }
            _ = try await waitFor("probes over UDP") {
                let udp = (try? metrics.expectCounter("herald_gossip_packets_received_total", [("transport", "udp")]).totalValue) ?? 0
                return (udp >= 4 ? true : nil, "udp packets: \(udp)")
            }
        }
    }

    @Test func packetsSealedWithAnotherKeyAreDroppedAndCounted() async throws {
        let metricsA = TestMetrics(), metricsB = TestMetrics()
        let (a, transportA) = try await Self.node("node-a", key: Self.key, metrics: metricsA)
        let (b, _) = try await Self.node("node-b", key: [UInt8](repeating: 0x11, count: 32), seeds: [transportA.localAddress], metrics: metricsB)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await b.run() }
            defer { group.cancelAll() }
            _ = try await waitFor("node-a to drop node-b's join") {
                let failures = (try? metricsA.expectCounter("herald_gossip_authentication_failures_total").totalValue) ?? 0
                return (failures >= 1 ? true : nil, "failures: \(failures)")
            }
            #expect(await a.members.map(\.name) == ["node-a"])
            #expect(await b.members.map(\.name) == ["node-b"])
        }
    }

    @Test func plaintextIsRefusedByASealedNode() async throws {
        let metricsA = TestMetrics(), metricsB = TestMetrics()
        let (a, transportA) = try await Self.node("node-a", key: Self.key, metrics: metricsA)
        let (b, _) = try await Self.node("node-b", key: nil, seeds: [transportA.localAddress], metrics: metricsB)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await b.run() }
            defer { group.cancelAll() }
            _ = try await waitFor("node-a to drop node-b's plaintext join") {
                let failures = (try? metricsA.expectCounter("herald_gossip_authentication_failures_total").totalValue) ?? 0
                return (failures >= 1 ? true : nil, "failures: \(failures)")
            }
            #expect(await a.members.map(\.name) == ["node-a"])
        }
    }

    /// Peer discovery sets the seeds after start: a member that was alone joins through them at once.
    @Test func seedsSetAfterStartAreJoinedThrough() async throws {
        let metrics = TestMetrics()
        let (a, transportA) = try await Self.node("node-a", key: Self.key, metrics: metrics)
        let (b, _) = try await Self.node("node-b", key: Self.key, metrics: metrics)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await b.run() }
            defer { group.cancelAll() }
            #expect(await b.liveMembers.map(\.name) == ["node-b"])
            await b.setSeeds([transportA.localAddress])
            _ = try await waitFor("node-b to join node-a through the new seed") {
                let members = await b.liveMembers.map(\.name).sorted()
                return (members == ["node-a", "node-b"] ? true : nil, "\(members)")
            }
        }
    }

    @Test(arguments: ["192.0.2.1:7946", "[2001:db8::1]:7946", "0.0.0.0:0"])
    func addressesParse(text: String) throws {
        #expect(try GossipAddress(parsing: text).description == text)
    }

    @Test(arguments: ["node-a:7946", "192.0.2.1", "192.0.2.1:70000", "2001:db8::1:7946", "[2001:db8::1]7946", "256.0.0.1:1", ":7946"])
    func badAddressesAreRefused(text: String) {
        #expect(throws: GossipAddressError.self) { try GossipAddress(parsing: text) }
    }
}

actor SeenSource {
    var source: String?
    func set(_ source: String) { self.source = source }
}
