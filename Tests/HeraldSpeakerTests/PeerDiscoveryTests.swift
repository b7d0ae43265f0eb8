import GossipNode
import HeraldSpeaker
import HeraldTestSupport
import KubeAPI
import KubeAPITesting
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

/// Speakers find each other through their pods: the seeds follow the pods as they come, move and go.
@Suite struct PeerDiscoveryTests {
    static let labels = ["app.kubernetes.io/name": "herald", "app.kubernetes.io/component": "speaker"]

    static func pod(_ name: String, node: String, ip: String?, phase: String = "Running", labels: [String: String] = labels) -> Pod {
        Pod(metadata: ObjectMeta(name: name, namespace: "herald-system", labels: labels), spec: .init(nodeName: node),
            status: .init(phase: phase, podIP: ip))
    }

    @Test func seedsAreTheOtherRunningSpeakerPodsWithAnIP() {
        let pods = [
            Self.pod("speaker-a", node: "node-a", ip: "192.0.2.1"), Self.pod("speaker-b", node: "node-b", ip: "192.0.2.2"),
            Self.pod("speaker-c", node: "node-c", ip: nil), Self.pod("speaker-d", node: "node-d", ip: "192.0.2.4", phase: "Pending"),
            Self.pod("controller", node: "node-e", ip: "192.0.2.5", labels: ["app.kubernetes.io/name": "herald"]),
            Self.pod("speaker-f", node: "node-f", ip: "192.0.2.16"),
        ]
        let seeds = PeerDiscovery.seeds(from: pods, labels: Self.labels, excluding: "node-a", port: 7946)
        #expect(seeds.map(\.description) == ["192.0.2.16:7946", "192.0.2.2:7946"])
    }

    actor Recorder {
        var last: [String] = []
        func record(_ seeds: [GossipAddress]) { last = seeds.map(\.description) }
    }

    @Test func followsThePodsThroughTheAPI() async throws {
        let client = InMemoryKubeClient()
        _ = try await client.create(Self.pod("speaker-a", node: "node-a", ip: "192.0.2.1"))
        _ = try await client.create(Self.pod("speaker-b", node: "node-b", ip: "192.0.2.2"))
        let recorder = Recorder()
        var logger = Logger(label: "test.peers")
        logger.logLevel = .warning
        let discovery = PeerDiscovery(client: client, namespace: "herald-system", labels: Self.labels, nodeName: "node-a", port: 7946,
                                      logger: logger) { await recorder.record($0) }
        func expectSeeds(_ expected: [String], _ what: String) async throws {
            _ = try await waitFor(what) {
                let last = await recorder.last
                return (last == expected ? true : nil, "\(last)")
            }
        }
        try await testGracefulShutdown { trigger in
            let run = Task { try await discovery.run() }
            try await expectSeeds(["192.0.2.2:7946"], "the other speaker as the seed")
            _ = try await client.create(Self.pod("speaker-c", node: "node-c", ip: "192.0.2.3"))
            try await expectSeeds(["192.0.2.2:7946", "192.0.2.3:7946"], "a new speaker to be added")
            try await client.delete(Pod.self, namespace: "herald-system", name: "speaker-b")
            try await expectSeeds(["192.0.2.3:7946"], "a deleted speaker to be dropped")
            trigger.triggerGracefulShutdown()
            try await run.value
        }
    }
}
