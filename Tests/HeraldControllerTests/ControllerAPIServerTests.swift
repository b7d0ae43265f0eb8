import Foundation
import HeraldController
import HeraldTestSupport
import KubeAPI
import Logging
import MetricsTestKit
import Metrics
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

/// The controller against the real kube-apiserver of `scripts/dev-cluster` (Debian's v1.20 build with etcd).
/// Serialized: one controller at a time watches the whole cluster. Each test works in namespaces of its own
/// and deletes the objects it made (no controller-manager runs to delete namespaces' contents).
@Suite(.serialized, .needsAPIServer)
struct ControllerAPIServerTests {
    let client: HTTPKubeClient
    let suffix = String(UInt32.random(in: 0 ... .max), radix: 36)
    var poolNamespace: String { "herald-t-\(suffix)" }
    var appNamespace: String { "app-t-\(suffix)" }
    /// The Node object a speaker test makes (no kubelet makes one).
    var speakerNode: String { "e2e-\(suffix)" }

    init() async throws {
        client = try HTTPKubeClient(config: KubeConfig.load(file: testKubeconfig!))
        try await installHeraldCRDs()
        for namespace in [poolNamespace, appNamespace] {
            _ = try await client.create(Namespace(metadata: ObjectMeta(name: namespace)))
        }
    }

    /// Runs a scenario and always removes what it made.
    func scenario(_ body: () async throws -> Void) async throws {
        do { try await body() } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }

    func cleanUp() async {
        for service in (try? await client.list(KubernetesService.self, namespace: appNamespace).items) ?? [] {
            try? await client.delete(KubernetesService.self, namespace: appNamespace, name: service.metadata.name ?? "")
        }
        for pool in (try? await client.list(IPAddressPool.self, namespace: poolNamespace).items) ?? [] {
            try? await client.delete(IPAddressPool.self, namespace: poolNamespace, name: pool.metadata.name ?? "")
        }
        for advertisement in (try? await client.list(L2Advertisement.self, namespace: poolNamespace).items) ?? [] {
            try? await client.delete(L2Advertisement.self, namespace: poolNamespace, name: advertisement.metadata.name ?? "")
        }
        _ = try? await kubectl("delete", "endpointslices", "-n", appNamespace, "--all", check: false)
        try? await client.delete(Node.self, namespace: nil, name: speakerNode)
        try? await client.delete(Lease.self, namespace: poolNamespace, name: "herald-controller")
        await client.shutdown()
    }

    func controller(_ identity: String = "test", leaderElection: LeaderElector.Timing? = nil,
                    metrics: any MetricsFactory = MetricsSystem.factory) -> AllocationController {
        var logger = Logger(label: "test.controller.\(identity)")
        logger.logLevel = .warning
        return AllocationController(client: client, options: .init(namespace: poolNamespace, leaderElection: leaderElection, identity: identity),
                                    logger: logger, metricsFactory: metrics)
    }

    func pool(_ name: String, _ addresses: [String], autoAssign: Bool? = nil, avoidBuggyIPs: Bool? = nil,
              allocation: IPAddressPool.ServiceAllocationSpec? = nil) async throws {
        _ = try await client.create(IPAddressPool(metadata: ObjectMeta(name: name, namespace: poolNamespace),
                                                  spec: .init(addresses: addresses, autoAssign: autoAssign, avoidBuggyIPs: avoidBuggyIPs,
                                                              serviceAllocation: allocation)))
    }

    func service(_ name: String, annotations: [String: String]? = nil, port: Int = 80) async throws {
        var spec = KubernetesService.Spec(type: "LoadBalancer", ports: [.init(port: port)])
        spec.selector = ["app": name]
        _ = try await client.create(KubernetesService(metadata: ObjectMeta(name: name, namespace: appNamespace, annotations: annotations), spec: spec))
    }

    func ingress(_ name: String) async throws -> [String] {
        try await waitFor("\(name) to get an EXTERNAL-IP", limit: .seconds(10), interval: .milliseconds(20)) {
            let ips = try await client.get(KubernetesService.self, namespace: appNamespace, name: name).ingressIPs
            return (ips.isEmpty ? nil : ips, "no ingress yet")
        }
    }

    func events(reason: String, about name: String) async throws -> [Event] {
        try await waitFor("a \(reason) Event about \(name)", limit: .seconds(10), interval: .milliseconds(50)) {
            let events = try await client.list(Event.self, namespace: appNamespace).items
                .filter { $0.reason == reason && $0.involvedObject.name == name }
            return (events.isEmpty ? nil : events, "none yet")
        }
    }

    /// Runs one controller while `body` runs, then shuts it down gracefully.
    func running(_ controller: AllocationController, _ body: () async throws -> Void) async throws {
        try await testGracefulShutdown { trigger in
            let run = Task { try await controller.run() }
            do { try await body() } catch {
                trigger.triggerGracefulShutdown()
                try? await run.value
                throw error
            }
            trigger.triggerGracefulShutdown()
            try await run.value
        }
    }

    @Test func externalIPEndToEndAsKubectlShowsIt() async throws {
        try await scenario {
            try await pool("web", ["192.0.2.100-192.0.2.101"])
            try await service("shop")
            try await running(controller()) {
                #expect(try await ingress("shop") == ["192.0.2.100"])
                let table = try await kubectl("get", "svc", "-n", appNamespace, "shop").output
                #expect(table.contains("192.0.2.100"), "kubectl get svc shows no EXTERNAL-IP:\n\(table)")
                let annotated = try await client.get(KubernetesService.self, namespace: appNamespace, name: "shop")
                #expect(annotated.metadata.annotations?["metallb.io/ip-allocated-from-pool"] == "web")
                _ = try await events(reason: "IPAllocated", about: "shop")
            }
        }
    }

    @Test func restartMovesNoIP() async throws {
        try await scenario {
            try await pool("web", ["192.0.2.110-192.0.2.115"])
            for name in ["one", "two", "three"] { try await service(name) }
            var before: [String: [String]] = [:]
            try await running(controller()) {
                for name in ["one", "two", "three"] { before[name] = try await ingress(name) }
            }
            // Free the lowest address so that a naive allocator would hand it out again.
            try await client.delete(KubernetesService.self, namespace: appNamespace, name: "one")
            try await service("four")
            let kept = before
            try await running(controller()) {
                let four = try await ingress("four"), two = try await ingress("two"), three = try await ingress("three")
                #expect(four == kept["one"])
                #expect(two == kept["two"])
                #expect(three == kept["three"])
            }
        }
    }

    @Test func badInputGetsAnEventAndOthersAreServed() async throws {
        try await scenario {
            try await pool("web", ["192.0.2.120/31"])
            try await service("bad", annotations: ["metallb.io/loadBalancerIPs": "not-an-ip"])
            try await service("v6", annotations: ["metallb.io/loadBalancerIPs": "2001:db8::99"])
            try await service("good")
            try await running(controller()) {
                #expect(try await ingress("good") == ["192.0.2.120"])
                let bad = try await events(reason: "AllocationFailed", about: "bad")
                #expect(bad.first?.message?.contains("not-an-ip") == true)
                _ = try await events(reason: "AllocationFailed", about: "v6")
            }
        }
    }

    /// The controller's ConfigurationState says which pool it left out and why, and turns Valid once the pool
    /// is fixed, as `kubectl get configurationstates` shows it.
    @Test func theControllersConfigurationStateNamesABadPool() async throws {
        try await scenario {
            try await pool("web", ["192.0.2.124/31"])
            try await pool("broken", ["192.0.2.300/31"])
            func state(_ result: String) async throws -> ConfigurationState {
                try await waitFor("ConfigurationState controller \(result)", limit: .seconds(10), interval: .milliseconds(50)) {
                    let state = try? await client.get(ConfigurationState.self, namespace: poolNamespace, name: "controller")
                    return (state?.status?.result == result ? state : nil, "\(String(describing: state?.status))")
                }
            }
            try await running(controller()) {
                let invalid = try await state("Invalid")
                #expect(invalid.metadata.labels?[ConfigurationState.componentTypeLabel] == "controller")
                #expect(invalid.status?.errorSummary?.contains("broken") == true, "\(String(describing: invalid.status))")
                let condition = try #require(invalid.status?.conditions?.first)
                #expect(condition.type == "poolReconcilerValid" && condition.status == "False" && condition.reason == "ConfigurationError")
                try await client.delete(IPAddressPool.self, namespace: poolNamespace, name: "broken")
                let valid = try await state("Valid")
                #expect(valid.status?.errorSummary == nil)
                #expect(valid.status?.conditions?.first?.status == "True")
                let listed = try await kubectl("get", "configurationstates", "-n", poolNamespace).output
                #expect(listed.contains("controller") && listed.contains("Valid"), "\(listed)")
            }
            try? await client.delete(ConfigurationState.self, namespace: poolNamespace, name: "controller")
        }
    }

    @Test func twoReplicasOneLeaderAndTakeover() async throws {
        try await scenario {
            try await pool("web", ["192.0.2.130-192.0.2.139"])
            let timing = LeaderElector.Timing(leaseDuration: .seconds(3), renewDeadline: .seconds(2), retryPeriod: .milliseconds(200))
            let first = controller("replica-a", leaderElection: timing)
            let second = controller("replica-b", leaderElection: timing)
            try await testGracefulShutdown { stopSecond in
                let secondRun = Task { try await second.run() }
                try await running(first) {
                    try await service("x")
                    _ = try await ingress("x")
                    let leaders = [await first.isLeader, await second.isLeader].filter { $0 }
                    #expect(leaders.count == 1)
                }
                // The first replica (whichever led) is gone and released its Lease: the other one serves.
                try await service("y")
                #expect(try await ingress("y").count == 1)
                stopSecond.triggerGracefulShutdown()
                try await secondRun.value
            }
        }
    }

    /// The leader writes each pool's counts to its status subresource, as MetalLB does, and keeps them current
    /// as Services come and go; what `kubectl get ipaddresspools -o yaml` shows.
    /// Waits for pool `name`'s status to be `wanted`.
    func poolStatus(_ name: String, _ wanted: IPAddressPool.Status) async throws {
        _ = try await waitFor("pool \(name) to show \(wanted)", limit: .seconds(10), interval: .milliseconds(50)) {
            let shown = try await client.get(IPAddressPool.self, namespace: poolNamespace, name: name).status
            return (shown == wanted ? true : nil, "\(String(describing: shown))")
        }
    }

    @Test func thePoolStatusCountsAssignedAndAvailableAddresses() async throws {
        try await scenario {
            try await pool("web", ["192.0.2.150-192.0.2.153", "2001:db8::100/126"])
            func status(_ wanted: IPAddressPool.Status) async throws { try await poolStatus("web", wanted) }
            try await running(controller()) {
                try await service("x")
                try await service("y")
                _ = try await ingress("x")
                _ = try await ingress("y")
                try await status(.init(assignedIPv4: 2, assignedIPv6: 0, availableIPv4: 2, availableIPv6: 4))
                try await client.delete(KubernetesService.self, namespace: appNamespace, name: "y")
                try await status(.init(assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 3, availableIPv6: 4))
                // Someone else's write is corrected by the next change.
                _ = try await kubectl("patch", "ipaddresspools", "web", "-n", poolNamespace, "--subresource=status", "--type=merge",
                                      "-p", #"{"status": {"assignedIPv4": 99}}"#)
                try await service("z")
                try await status(.init(assignedIPv4: 2, assignedIPv6: 0, availableIPv4: 2, availableIPv6: 4))
            }
            let json = try await kubectl("get", "ipaddresspools", "web", "-n", poolNamespace, "-o", "jsonpath={.status}").output
            #expect(json.contains("\"assignedIPv4\":2") && json.contains("\"availableIPv6\":4"), "\(json)")
        }
    }

    /// A replica that does not hold the Lease writes nothing, the pool status included, however the pool's
    /// Services change (MetalLB: only the leader's controller writes status); once it holds the Lease it
    /// writes the counts.
    @Test func aFollowerNeverWritesThePoolStatus() async throws {
        try await scenario {
            try await pool("web", ["192.0.2.150-192.0.2.153"])
            // Another replica leads, for an hour.
            _ = try await client.create(Lease(metadata: ObjectMeta(name: "herald-controller", namespace: poolNamespace),
                                              spec: .init(holderIdentity: "replica-elsewhere", leaseDurationSeconds: 3600,
                                                          renewTime: Timestamps.microTime())))
            // What the leader wrote (every count: the schema requires them): a follower leaves it as it is.
            _ = try await kubectl("patch", "ipaddresspools", "web", "-n", poolNamespace, "--subresource=status", "--type=merge", "-p",
                                  #"{"status": {"assignedIPv4": 99, "assignedIPv6": 0, "availableIPv4": 0, "availableIPv6": 0}}"#)
            let metrics = TestMetrics()
            let timing = LeaderElector.Timing(leaseDuration: .seconds(3), renewDeadline: .seconds(2), retryPeriod: .milliseconds(200))
            try await running(controller("replica-a", leaderElection: timing, metrics: metrics)) {
                try await service("x")
                try await service("y")
                _ = try await waitFor("the follower to have handled both Services", limit: .seconds(10)) {
                    let handled = (try? metrics.expectCounter("herald_controller_work_total", [("kind", "service")]).totalValue) ?? 0
                    return (handled >= 2 ? true : nil, "\(handled) handled")
                }
                let shown = try await client.get(IPAddressPool.self, namespace: poolNamespace, name: "web").status
                #expect(shown?.assignedIPv4 == 99, "a follower wrote the pool status: \(String(describing: shown))")
                for name in ["x", "y"] {
                    let ips = try await client.get(KubernetesService.self, namespace: appNamespace, name: name).ingressIPs
                    #expect(ips.isEmpty, "a follower allocated \(ips) to \(name)")
                }
                let writes = (try? metrics.expectCounter("herald_controller_writes_total", [("result", "success")]).totalValue) ?? 0
                #expect(writes == 0)
                // The other replica releases the Lease: this one leads and writes the counts.
                var lease = try await client.get(Lease.self, namespace: poolNamespace, name: "herald-controller")
                lease.spec?.holderIdentity = ""
                _ = try await client.replace(lease)
                try await poolStatus("web", .init(assignedIPv4: 2, assignedIPv6: 0, availableIPv4: 2, availableIPv6: 0))
            }
        }
    }

    /// A replica whose Lease another holder took stops publishing the pool gauges (they would go stale: it
    /// no longer reconciles), and publishes them again once it leads and has rebuilt its state.
    @Test func aReplicaThatLosesTheLeaseStopsPublishingPoolGauges() async throws {
        try await scenario {
            try await pool("web", ["192.0.2.140-192.0.2.143"])
            let timing = LeaderElector.Timing(leaseDuration: .seconds(3), renewDeadline: .seconds(2), retryPeriod: .milliseconds(200))
            let metrics = TestMetrics()
            let web: [(String, String)] = [("pool", "web"), ("family", "IPv4")]
            try await running(controller("replica-a", leaderElection: timing, metrics: metrics)) {
                try await service("x")
                _ = try await ingress("x")
                _ = try await waitFor("the leader's pool gauge") {
                    let inUse = try? metrics.expectGauge("herald_allocator_addresses_in_use", web).lastValue
                    return (inUse == 1 ? true : nil, "\(String(describing: inUse))")
                }
                // Another replica holds the Lease now (as after this one was cut off from the apiserver).
                var lease = try await client.get(Lease.self, namespace: poolNamespace, name: "herald-controller")
                lease.spec?.holderIdentity = "replica-elsewhere"
                lease.spec?.renewTime = Timestamps.microTime()
                _ = try await client.replace(lease)
                _ = try await waitFor("the follower to drop its pool gauges", limit: .seconds(10)) {
                    let leader = try? metrics.expectGauge("herald_controller_leader").lastValue
                    let inUse = try? metrics.expectGauge("herald_allocator_addresses_in_use", web).lastValue
                    return (leader == 0 && inUse == nil ? true : nil, "leader \(String(describing: leader)), in use \(String(describing: inUse))")
                }
                // The intruder never renews: the Lease expires, this replica leads again and publishes again.
                _ = try await waitFor("the gauges back with the lead", limit: .seconds(15)) {
                    let inUse = try? metrics.expectGauge("herald_allocator_addresses_in_use", web).lastValue
                    return (inUse == 1 ? true : nil, "\(String(describing: inUse))")
                }
            }
        }
    }

    /// MetalLB's allocation rules through the real API: requested IPs and pools (current and deprecated
    /// annotations), `autoAssign: false`, `avoidBuggyIPs`, a namespace-restricted priority pool, sharing with
    /// and without a port collision.
    @Test func metallbAllocationCases() async throws {
        try await scenario {
            try await pool("general", ["192.0.2.150-192.0.2.155"])
            try await pool("manual", ["192.0.2.160/31"], autoAssign: false)
            try await pool("buggy", ["203.0.113.0/30"], autoAssign: false, avoidBuggyIPs: true)
            try await pool("team", ["192.0.2.170/32"], allocation: .init(priority: 1, namespaces: [appNamespace]))
            try await service("ip", annotations: ["metallb.io/loadBalancerIPs": "192.0.2.152"])
            try await service("dep-ip", annotations: ["metallb.universe.tf/loadBalancerIPs": "192.0.2.153"])
            try await service("pool", annotations: ["metallb.io/address-pool": "manual"])
            try await service("dep-pool", annotations: ["metallb.universe.tf/address-pool": "buggy"])
            try await service("plain")
            try await service("plain2")
            try await service("share-a", annotations: ["metallb.io/loadBalancerIPs": "192.0.2.155", "metallb.io/allow-shared-ip": "k1"], port: 80)
            try await service("share-b", annotations: ["metallb.io/loadBalancerIPs": "192.0.2.155", "metallb.io/allow-shared-ip": "k1"], port: 443)
            try await service("share-c", annotations: ["metallb.io/loadBalancerIPs": "192.0.2.155", "metallb.io/allow-shared-ip": "k1"], port: 80)
            try await running(controller()) {
                let expected = [
                    "ip": "192.0.2.152", "dep-ip": "192.0.2.153", "pool": "192.0.2.160", "dep-pool": "203.0.113.1",
                    "plain": "192.0.2.170", "plain2": "192.0.2.150", "share-a": "192.0.2.155", "share-b": "192.0.2.155",
                ]
                for (name, ip) in expected.sorted(by: { $0.key < $1.key }) {
                    let got = try await ingress(name)
                    #expect(got == [ip], "\(name) got \(got), expected \(ip)")
                }
                let collision = try await events(reason: "AllocationFailed", about: "share-c")
                #expect(collision.first?.message?.contains("80") == true, "\(collision.first?.message ?? "")")
            }
        }
    }

    /// The apiserver stops and comes back while the controller runs: no crash, no IP lost or moved, and
    /// what happens after the return is served (the informers resume their watches).
    @Test func apiserverRestartLosesNothing() async throws {
        try await scenario {
            try await pool("web", ["192.0.2.180-192.0.2.185"])
            try await service("before")
            try await running(controller()) {
                #expect(try await ingress("before") == ["192.0.2.180"])
                _ = try await Command.run([packageRoot.appendingPathComponent("scripts/dev-cluster").path, "stop-apiserver"])
                _ = try await waitFor("the apiserver to refuse", limit: .seconds(10)) {
                    let refused = (try? await kubectl("get", "ns", check: false).succeeded) == false
                    return (refused ? true : nil, "still answering")
                }
                _ = try await Command.run([packageRoot.appendingPathComponent("scripts/dev-cluster").path, "start-apiserver"], limit: .seconds(90))
                try await service("after")
                #expect(try await ingress("after") == ["192.0.2.181"])
                #expect(try await ingress("before") == ["192.0.2.180"])
            }
        }
    }

    @Test func customResourcesSurviveTheServer() async throws {
        try await scenario {
            // The unpatched Debian build dies on the first custom resource it encodes (DESIGN.md §7): a cached
            // binary built without the reflect2 fix fails here.
            try await pool("probe", ["192.0.2.140/32"])
            let listed = try await client.list(IPAddressPool.self, namespace: poolNamespace).items
            #expect(listed.map(\.metadata.name) == ["probe"])
            #expect(try await kubectl("get", "ipaddresspools", "-n", poolNamespace).output.contains("probe"))
        }
    }
}
