import Foundation
import HeraldTestSupport
import KubeAPI
import Testing

/// Controller and speaker together against the real kube-apiserver: the controller gives the Service an IP,
/// `herald-speaker` (the executable, in its default mode) answers ARP for it on a veth whose other end is in a
/// client namespace, and a SIGTERM stops the answers. In the controllers' serialized suite, because a
/// controller of the same class running beside another would treat that one's Services as its own.
extension ControllerAPIServerTests {
    @Test(.needsRoot, .needsTools("arping", "ip"), .enabled(if: heraldSpeakerBinary != nil, "build herald-speaker first (swift build)"))
    func theSpeakerAnswersARPForTheIPTheControllerAssigned() async throws {
        let node = speakerNode
        let client = "hs-e2e-\(suffix.prefix(6))", speakerSide = "hse\(suffix.prefix(6))s", clientSide = "hse\(suffix.prefix(6))c"
        try await scenario {
            try await pool("web", ["192.0.2.210/32"])
            _ = try await self.client.create(L2Advertisement(metadata: ObjectMeta(name: "web", namespace: poolNamespace), spec: .init(ipAddressPools: ["web"])))
            _ = try await self.client.create(Node(metadata: ObjectMeta(name: node, labels: ["kubernetes.io/hostname": node])))
            try await service("shop")
            var endpoint = EndpointSlice.Endpoint(addresses: ["198.51.100.30"], conditions: .init(ready: true))
            endpoint.topology = ["kubernetes.io/hostname": node]  // v1beta1's place for the node
            _ = try await self.client.create(
                EndpointSlice(metadata: ObjectMeta(name: "shop-1", namespace: appNamespace, labels: ["kubernetes.io/service-name": "shop"]),
                              addressType: "IPv4", endpoints: [endpoint], apiVersion: "discovery.k8s.io/v1beta1"),
                type: EndpointSlice.v1beta1)
            try await running(controller()) {
                #expect(try await ingress("shop") == ["192.0.2.210"])
                try await NetworkNamespace.with(name: client) {
                    _ = try await Command.run(["ip", "link", "add", speakerSide, "type", "veth", "peer", "name", clientSide, "netns", client])
                    _ = try await Command.run(["ip", "link", "set", speakerSide, "up"])
                    _ = try await Command.run(["ip", "-n", client, "link", "set", clientSide, "up"])
                    _ = try await Command.run(["ip", "-n", client, "addr", "add", "192.0.2.2/24", "dev", clientSide])
                    let mac = try String(contentsOfFile: "/sys/class/net/\(speakerSide)/address", encoding: .utf8)
                        .trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
                    let speaker = try BackgroundProcess([
                        heraldSpeakerBinary!, "--kubeconfig", testKubeconfig!, "--node-name", node, "--namespace", poolNamespace,
                        "--gossip-bind", "127.0.0.1:0", "--insecure-gossip", "--interfaces", speakerSide, "--metrics-bind-address", "0",
                    ])
                    @Sendable func arping() async throws -> CommandResult {
                        try await Command.run(["ip", "netns", "exec", client, "arping", "-c", "1", "-w", "1", "-I", clientSide, "192.0.2.210"], check: false)
                    }
                    do {
                        // The lone speaker waits out its join grace (3 s) before it claims anything.
                        let answer = try await waitFor("the speaker to answer ARP for 192.0.2.210", limit: .seconds(20), interval: .milliseconds(200)) {
                            let result = try await arping()
                            return (result.output.contains("[\(mac)]") ? result.output : nil, speaker.isRunning ? result.output : "exited:\n\(speaker.logText)")
                        }
                        #expect(answer.contains("Unicast reply from 192.0.2.210"))
                        let events = try await events(reason: "nodeAssigned", about: "shop")
                        #expect(events.first?.message == "announcing 192.0.2.210 from node \"\(node)\" with protocol \"layer2\"")
                        #expect(try await speaker.stop() == 0, "herald-speaker did not exit cleanly on SIGTERM:\n\(speaker.logText)")
                        #expect(speaker.logText.contains("handing over"))
                        #expect(try await arping().output.contains("Received 0 response"), "still answered after the speaker stopped")
                    } catch {
                        _ = try? await speaker.stop()
                        throw ProcessFailure(error: error, log: speaker.logText)
                    }
                }
            }
        }
    }
}
