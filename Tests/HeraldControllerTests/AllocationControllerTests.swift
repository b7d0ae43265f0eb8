import HeraldConfig
import HeraldController
import HeraldCore
import HeraldTestSupport
import KubeAPI
import KubeAPITesting
import Logging
import MetricsTestKit
import OperationsEndpoint
import ReadinessChecks
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

/// The controller against the in-memory API (the same scenarios run against the real kube-apiserver in
/// ControllerAPIServerTests).
@Suite struct AllocationControllerTests {
    static func pool(_ name: String, _ addresses: [String], autoAssign: Bool? = nil) -> IPAddressPool {
        IPAddressPool(metadata: ObjectMeta(name: name, namespace: "herald-system"), spec: .init(addresses: addresses, autoAssign: autoAssign))
    }

    static func service(_ name: String, namespace: String = "default", annotations: [String: String]? = nil,
                        ingress: [String] = []) -> KubernetesService {
        var spec = KubernetesService.Spec(type: "LoadBalancer", ports: [.init(port: 80)])
        spec.selector = ["app": name]
        return KubernetesService(metadata: ObjectMeta(name: name, namespace: namespace, annotations: annotations), spec: spec,
                       status: ingress.isEmpty ? nil : .init(loadBalancer: .init(ingress: ingress.map { .init(ip: $0) })))
    }

    /// Runs the controller while `body` runs, then shuts it down gracefully.
    static func withController(_ client: InMemoryKubeClient, metrics: TestMetrics = TestMetrics(), readiness: Readiness = Readiness(),
                               _ body: () async throws -> Void) async throws {
        var logger = Logger(label: "test.controller")
        logger.logLevel = .warning
        let controller = AllocationController(client: client, options: .init(leaderElection: nil, identity: "test"), logger: logger,
                                              readiness: readiness, metricsFactory: metrics)
        try await testGracefulShutdown { trigger in
            let run = Task { try await controller.run() }
            defer { trigger.triggerGracefulShutdown() }
            try await body()
            trigger.triggerGracefulShutdown()
            try await run.value
        }
    }

    static func ingress(_ client: InMemoryKubeClient, _ name: String, namespace: String = "default", count: Int = 1) async throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let service = try await client.get(KubernetesService.self, namespace: namespace, name: name)
            if service.ingressIPs.count >= count { return service.ingressIPs }
            guard ContinuousClock.now < deadline else { return service.ingressIPs }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    static func events(_ client: InMemoryKubeClient, reason: String, until predicate: @escaping ([Event]) -> Bool = { !$0.isEmpty }) async throws -> [Event] {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let events = try await client.list(Event.self).items.filter { $0.reason == reason }
            if predicate(events) || ContinuousClock.now > deadline { return events }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func assignsWritesStatusAnnotationAndEvent() async throws {
        let client = InMemoryKubeClient()
        _ = try await client.create(Self.pool("web", ["192.0.2.10-192.0.2.12"]))
        _ = try await client.create(Self.service("a"))
        try await Self.withController(client) {
            #expect(try await Self.ingress(client, "a") == ["192.0.2.10"])
            let service = try await client.get(KubernetesService.self, namespace: "default", name: "a")
            #expect(service.metadata.annotations?["metallb.io/ip-allocated-from-pool"] == "web")
            let allocated = try await Self.events(client, reason: "IPAllocated")
            #expect(allocated.first?.involvedObject.name == "a")
            #expect(allocated.first?.message?.contains("192.0.2.10") == true)
        }
    }

    @Test func restartKeepsEveryIPAndAHeldIPIsNotGivenToAnother() async throws {
        let client = InMemoryKubeClient()
        _ = try await client.create(Self.pool("web", ["192.0.2.10-192.0.2.12"]))
        // As a previous controller (or MetalLB) left them: b holds .11 although .10 is free.
        var held = try await client.create(Self.service("b"))
        held = try await client.mergePatch(KubernetesService.self, namespace: "default", name: "b",
                                           patch: ["status": ["loadBalancer": ["ingress": [["ip": "192.0.2.11"]]]]], subresource: "status")
        #expect(held.ingressIPs == ["192.0.2.11"])
        _ = try await client.create(Self.service("c", annotations: ["metallb.io/loadBalancerIPs": "192.0.2.11"]))
        _ = try await client.create(Self.service("d"))
        try await Self.withController(client) {
            #expect(try await Self.ingress(client, "d") == ["192.0.2.10"])
            #expect(try await Self.ingress(client, "b") == ["192.0.2.11"])
            let failed = try await Self.events(client, reason: "AllocationFailed")
            #expect(failed.first?.involvedObject.name == "c")
            #expect(try await client.get(KubernetesService.self, namespace: "default", name: "c").ingressIPs.isEmpty)
        }
    }

    @Test func deleteReleasesAndTypeChangeClears() async throws {
        let client = InMemoryKubeClient()
        _ = try await client.create(Self.pool("tiny", ["192.0.2.20/32"]))
        _ = try await client.create(Self.service("first"))
        try await Self.withController(client) {
            #expect(try await Self.ingress(client, "first") == ["192.0.2.20"])
            _ = try await client.create(Self.service("second"))
            let exhausted = try await Self.events(client, reason: "AllocationFailed")
            #expect(exhausted.first?.involvedObject.name == "second")
            // Type change away from LoadBalancer: cleared, and the IP goes to the waiting Service at once.
            _ = try await client.mergePatch(KubernetesService.self, namespace: "default", name: "first", patch: ["spec": ["type": "ClusterIP"]])
            _ = try await Self.events(client, reason: "ClearAssignment")
            #expect(try await client.get(KubernetesService.self, namespace: "default", name: "first").ingressIPs.isEmpty)
            #expect(try await Self.ingress(client, "second") == ["192.0.2.20"])
            // Delete: the IP goes back, and a Service that was waiting for it gets it.
            _ = try await client.create(Self.service("third"))
            _ = try await Self.events(client, reason: "AllocationFailed") { $0.contains { $0.involvedObject.name == "third" } }
            try await client.delete(KubernetesService.self, namespace: "default", name: "second")
            #expect(try await Self.ingress(client, "third") == ["192.0.2.20"])
        }
    }

    /// `kubectl delete -k` takes the CRDs, and every pool with them, while the controller still runs; the
    /// reinstall brings a pool back. No pool at all is no configuration: no Service loses its IP, and when a
    /// pool exists again the controller rebuilds from the Services' status (b keeps .11 although .10 is free).
    @Test func withEveryPoolGoneServicesKeepTheirIPsAndAReturningPoolMovesNone() async throws {
        let client = InMemoryKubeClient()
        _ = try await client.create(Self.pool("web", ["192.0.2.10-192.0.2.12"]))
        _ = try await client.create(Self.service("a"))
        let metrics = TestMetrics()
        try await Self.withController(client, metrics: metrics) {
            #expect(try await Self.ingress(client, "a") == ["192.0.2.10"])
            _ = try await client.create(Self.service("b"))
            #expect(try await Self.ingress(client, "b") == ["192.0.2.11"])
            try await client.delete(IPAddressPool.self, namespace: "herald-system", name: "web")
            // Once the controller has let the pool go (its gauges go with it), a Service made finds no pool:
            // reported, and the others are left as they are.
            _ = try await waitFor("the pool's gauges to go", limit: .seconds(10)) {
                let gauge = try? metrics.expectGauge("herald_allocator_addresses_total", [("pool", "web"), ("family", "IPv4")])
                return (gauge == nil ? true : nil, "still there")
            }
            _ = try await client.create(Self.service("c"))
            let failed = try await Self.events(client, reason: "AllocationFailed") { $0.contains { $0.involvedObject.name == "c" } }
            #expect(failed.contains { $0.involvedObject.name == "c" })
            try await client.delete(KubernetesService.self, namespace: "default", name: "a")
            #expect(try await client.get(KubernetesService.self, namespace: "default", name: "b").ingressIPs == ["192.0.2.11"])
            _ = try await client.create(Self.pool("web", ["192.0.2.10-192.0.2.12"]))
            #expect(try await Self.ingress(client, "c") == ["192.0.2.10"])
            #expect(try await client.get(KubernetesService.self, namespace: "default", name: "b").ingressIPs == ["192.0.2.11"])
            #expect(try await client.list(Event.self).items.filter { $0.reason == "ClearAssignment" }.isEmpty)
        }
    }

    /// A CRD's deletion takes its pools one event at a time, and a multi-document apply brings them back the
    /// same way: the sets in between (B without A) must clear or move nothing. A pool that comes back invalid
    /// is no configuration either.
    @Test func poolsThatGoAndComeOneByOneMoveNoIP() async throws {
        let client = InMemoryKubeClient()
        _ = try await client.create(Self.pool("a", ["192.0.2.10-192.0.2.11"]))
        _ = try await client.create(Self.pool("b", ["192.0.2.20-192.0.2.21"]))
        _ = try await client.create(Self.service("one"))
        _ = try await client.create(Self.service("two", annotations: ["metallb.io/address-pool": "b"]))
        try await Self.withController(client) {
            #expect(try await Self.ingress(client, "one") == ["192.0.2.10"])
            #expect(try await Self.ingress(client, "two") == ["192.0.2.20"])
            try await client.delete(IPAddressPool.self, namespace: "herald-system", name: "a")
            try await client.delete(IPAddressPool.self, namespace: "herald-system", name: "b")
            // Back invalid first: still no configuration.
            _ = try await client.create(Self.pool("b", ["192.0.2.20/33"]))
            _ = try await Self.events(client, reason: "InvalidConfiguration")
            _ = try await client.mergePatch(IPAddressPool.self, namespace: "herald-system", name: "b",
                                            patch: ["spec": ["addresses": ["192.0.2.20-192.0.2.21"]]])
            _ = try await client.create(Self.pool("a", ["192.0.2.10-192.0.2.11"]))
            // A new Service is served once the pools have settled, from the lowest free address of a.
            _ = try await client.create(Self.service("three"))
            #expect(try await Self.ingress(client, "three") == ["192.0.2.11"])
            #expect(try await client.get(KubernetesService.self, namespace: "default", name: "one").ingressIPs == ["192.0.2.10"])
            #expect(try await client.get(KubernetesService.self, namespace: "default", name: "two").ingressIPs == ["192.0.2.20"])
            let events = try await client.list(Event.self).items
            #expect(!events.contains { $0.reason == "ClearAssignment" })
            #expect(!events.contains { $0.reason == "AllocationFailed" && ["one", "two"].contains($0.involvedObject.name) },
                    "a Service that keeps its IPs is no failure to report")
        }
    }

    @Test func metricsAndReadinessFollowTheWork() async throws {
        let client = InMemoryKubeClient()
        _ = try await client.create(Self.pool("web", ["192.0.2.50/31"]))
        _ = try await client.create(Self.pool("bad", ["not-a-range"]))
        for name in ["a", "b", "c"] { _ = try await client.create(Self.service(name)) }
        let metrics = TestMetrics(), readiness = Readiness()
        #expect(readiness.isReady == true)
        try await Self.withController(client, metrics: metrics, readiness: readiness) {
            _ = try await Self.events(client, reason: "AllocationFailed")
            #expect(try await Self.ingress(client, "b").count == 1)
            #expect(readiness.isReady)
            let web = [("pool", "web"), ("family", "IPv4")]
            _ = try await waitFor("the gauges to show 2 of 2 in use") {
                let inUse = try metrics.expectGauge("herald_allocator_addresses_in_use", web).lastValue
                return (inUse == 2 ? true : nil, "in use: \(String(describing: inUse))")
            }
            #expect(try metrics.expectGauge("herald_allocator_addresses_total", web).lastValue == 2)
            #expect(try metrics.expectCounter("herald_controller_allocations_total").totalValue == 2)
            #expect(try metrics.expectCounter("herald_controller_allocation_failures_total").totalValue == 1)
            #expect(try metrics.expectGauge("herald_controller_invalid_pools").lastValue == 1)
            #expect(try metrics.expectGauge("herald_controller_leader").lastValue == 1)
            _ = try await waitFor("two successful writes") {
                let writes = try metrics.expectCounter("herald_controller_writes_total", [("result", "success")]).totalValue
                return (writes >= 2 ? true : nil, "writes: \(writes)")
            }
        }
    }

    @Test func badInputIsReportedAndHarmsNothingElse() async throws {
        let client = InMemoryKubeClient()
        _ = try await client.create(Self.pool("good", ["192.0.2.30-192.0.2.31"]))
        _ = try await client.create(Self.pool("bad", ["192.0.2.300/24"]))
        _ = try await client.create(Self.service("not-an-ip", annotations: ["metallb.io/loadBalancerIPs": "not-an-ip"]))
        _ = try await client.create(Self.service("wrong-family", annotations: ["metallb.io/loadBalancerIPs": "2001:db8::5"]))
        _ = try await client.create(Self.service("fine"))
        try await Self.withController(client) {
            #expect(try await Self.ingress(client, "fine") == ["192.0.2.30"])
            let failures = try await Self.events(client, reason: "AllocationFailed") { $0.count >= 2 }
            #expect(Set(failures.compactMap(\.involvedObject.name)) == ["not-an-ip", "wrong-family"])
            #expect(failures.contains { $0.message?.contains("not-an-ip") == true })
            let invalid = try await Self.events(client, reason: "InvalidConfiguration")
            #expect(invalid.first?.involvedObject.name == "bad")
        }
    }

    @Test func apiserverOutageLosesNothing() async throws {
        let client = InMemoryKubeClient()
        _ = try await client.create(Self.pool("web", ["192.0.2.40-192.0.2.45"]))
        _ = try await client.create(Self.service("before"))
        try await Self.withController(client) {
            #expect(try await Self.ingress(client, "before") == ["192.0.2.40"])
            await client.setOutage(KubeError(.transport, "connection refused"))
            let deadline = ContinuousClock.now + .seconds(30)
            while await client.refusedRequests == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            await client.setOutage(nil)
            _ = try await client.create(Self.service("after"))
            #expect(try await Self.ingress(client, "after") == ["192.0.2.41"])
            #expect(try await Self.ingress(client, "before") == ["192.0.2.40"])
        }
    }
}

/// How a Service becomes an allocation request.
@Suite struct ServiceRequestTests {
    @Test(arguments: [
        (["2001:db8:ffff::10"], nil, [IPFamily.v6]),
        (["198.51.100.7"], nil, [.v4]),
        (["198.51.100.7"], ["IPv6"], [.v6]),
        (["None"], nil, []),
    ] as [([String], [String]?, [IPFamily])])
    func familiesComeFromIPFamiliesElseFromTheClusterIPs(clusterIPs: [String], ipFamilies: [String]?, expected: [IPFamily]) throws {
        var spec = KubernetesService.Spec(type: "LoadBalancer", ports: [.init(port: 80)])
        spec.clusterIPs = clusterIPs
        spec.ipFamilies = ipFamilies
        let service = KubernetesService(metadata: ObjectMeta(name: "s", namespace: "default"), spec: spec)
        #expect(try ServiceRequestBuilder().request(for: service, namespaceLabels: [:]).ipFamilies == expected)
    }

    @Test func deprecatedAnnotationsCountWhenTheNewOnesAreAbsent() throws {
        let service = KubernetesService(metadata: ObjectMeta(name: "s", namespace: "default", annotations: [
            "metallb.universe.tf/address-pool": "old", "metallb.io/allow-shared-ip": "new", "metallb.universe.tf/allow-shared-ip": "ignored",
        ]), spec: KubernetesService.Spec(type: "LoadBalancer"))
        let request = try ServiceRequestBuilder().request(for: service, namespaceLabels: [:])
        #expect(request.requestedPool == "old")
        #expect(request.sharingKey == "new")
    }

    @Test func classDecidesWhoServes() {
        var spec = KubernetesService.Spec(type: "LoadBalancer")
        let unclassed = KubernetesService(metadata: ObjectMeta(name: "s", namespace: "d"), spec: spec)
        spec.loadBalancerClass = "herald.io/lb"
        let classed = KubernetesService(metadata: ObjectMeta(name: "s", namespace: "d"), spec: spec)
        #expect(ServiceRequestBuilder().serves(unclassed) && !ServiceRequestBuilder().serves(classed))
        #expect(ServiceRequestBuilder(loadBalancerClass: "herald.io/lb").serves(classed))
        #expect(!ServiceRequestBuilder(loadBalancerClass: "herald.io/lb").serves(unclassed))
        #expect(!ServiceRequestBuilder().serves(KubernetesService(metadata: ObjectMeta(name: "c", namespace: "d"), spec: .init(type: "ClusterIP"))))
    }
}
