import AsyncHTTPClient
import Foundation
import HeraldTestSupport
import KubeAPI
import NIOCore
import NIOHTTP1
import Testing

/// `herald-controller` itself, started as an operator starts it, against the real kube-apiserver. In the same
/// serialized suite as the other real-apiserver tests: two controllers of one class must not run at once.
extension ControllerAPIServerTests {
    @Test(.enabled(if: heraldControllerBinary != nil, "build herald-controller first (swift build)"))
    func theExecutableAllocatesReleasesFollowsPoolEditsAndServesMetrics() async throws {
        try await scenario {
            try await pool("small", ["192.0.2.190/31"])
            for name in ["a", "b", "c"] { try await service(name) }
            let process = try BackgroundProcess([
                heraldControllerBinary!, "--kubeconfig", testKubeconfig!, "--namespace", poolNamespace,
                "--identity", "executable", "--metrics-bind-address", "127.0.0.1:0",
            ])
            do {
                try await exerciseTheExecutable(process)
            } catch {
                _ = try? await process.stop()
                throw ProcessFailure(error: error, log: process.logText)
            }
            #expect(try await process.stop() == 0, "herald-controller did not exit cleanly on SIGTERM:\n\(process.logText)")
            let lease = try await client.get(Lease.self, namespace: poolNamespace, name: "herald-controller")
            #expect(lease.spec?.holderIdentity == "", "the Lease was not released on SIGTERM: \(String(describing: lease.spec))")
        }
    }

    private func exerciseTheExecutable(_ process: BackgroundProcess) async throws {
        let port = try await waitFor("herald-controller to serve /metrics", limit: .seconds(20)) {
            let line = process.logText.split(separator: "\n").first { $0.contains("serving /metrics") }
            let port = line.flatMap { $0.firstMatch(of: /127\.0\.0\.1:(\d+)/) }.map { String($0.1) }
            return (port, process.isRunning ? "no such log line yet" : "exited:\n\(process.logText)")
        }
        // Exhaustion: two IPs, three Services.
        let first = Set(try await ingress("a") + ingress("b"))
        #expect(first == ["192.0.2.190", "192.0.2.191"])
        let exhausted = try await events(reason: "AllocationFailed", about: "c")
        #expect(exhausted.first?.message?.contains("no free address") == true, "\(exhausted.first?.message ?? "")")
        #expect(try await get(port, "/readyz") == (200, "ok\n"))
        let metrics = try await waitFor("the in-use gauge at 2", limit: .seconds(10)) {
            let text = try await self.get(port, "/metrics").1
            let value = Self.sample(text, #"herald_allocator_addresses_in_use{pool="small",family="IPv4"}"#)
            return (value == 2 ? text : nil, "in use: \(String(describing: value))")
        }
        #expect(Self.sample(metrics, #"herald_allocator_addresses_total{pool="small",family="IPv4"}"#) == 2)
        #expect(Self.sample(metrics, "herald_controller_leader") == 1)
        #expect((Self.sample(metrics, "herald_controller_allocation_failures_total") ?? 0) >= 1)

        // Type change away from LoadBalancer: a's IP is cleared and goes to c, which was waiting.
        let aIP = try await ingress("a")
        _ = try await client.mergePatch(KubernetesService.self, namespace: appNamespace, name: "a",
                                        patch: ["spec": ["type": "ClusterIP", "ports": [["port": 80]]]])
        _ = try await events(reason: "ClearAssignment", about: "a")
        _ = try await waitFor("a's status and annotation to be cleared", limit: .seconds(10)) {
            let a = try await client.get(KubernetesService.self, namespace: appNamespace, name: "a")
            let cleared = a.ingressIPs.isEmpty && a.metadata.annotations?["metallb.io/ip-allocated-from-pool"] == nil
            return (cleared ? true : nil, "status \(a.ingressIPs), annotations \(a.metadata.annotations ?? [:])")
        }
        #expect(try await ingress("c") == aIP)

        // Delete: b's IP goes to d, which was waiting for it.
        let bIP = try await ingress("b")
        try await service("d")
        _ = try await events(reason: "AllocationFailed", about: "d")
        try await client.delete(KubernetesService.self, namespace: appNamespace, name: "b")
        #expect(try await ingress("d") == bIP)

        // A pool edit that adds a range keeps every assignment and serves a new Service from the new range.
        _ = try await client.mergePatch(IPAddressPool.self, namespace: poolNamespace, name: "small",
                                        patch: ["spec": ["addresses": ["192.0.2.190/31", "192.0.2.200/32"]]])
        try await service("e")
        #expect(try await ingress("e") == ["192.0.2.200"])
        #expect(try await ingress("c") == aIP)
        #expect(try await ingress("d") == bIP)
    }

    /// One GET on the operations endpoint: status and body.
    private func get(_ port: String, _ path: String) async throws -> (Int, String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    /// The value of one sample in Prometheus text (`name{labels} value`).
    static func sample(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    var error: any Error
    var log: String
    var description: String { "\(error)\nherald-controller's log:\n\(log)" }
}
