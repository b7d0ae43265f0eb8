import Foundation
import HeraldTestSupport
import KubeAPI
import KubeAPITesting
import Logging
import Testing

/// Lease leader election and Event aggregation, each run on the in-memory client and on the real apiserver.
enum CoordinationScenarios {
    static let timing = LeaderElector.Timing(leaseDuration: .seconds(2), renewDeadline: .milliseconds(1500), retryPeriod: .milliseconds(100))

    static func elector(_ client: any KubeClient, _ namespace: String, _ identity: String) -> LeaderElector {
        var logger = Logger(label: "test.elector.\(identity)")
        logger.logLevel = .warning
        return LeaderElector(client: client, namespace: namespace, name: "test-lease", identity: identity, timing: timing, logger: logger)
    }

    static func lease(_ client: any KubeClient, _ namespace: String) async throws -> Lease.Spec {
        try await client.get(Lease.self, namespace: namespace, name: "test-lease").spec ?? Lease.Spec()
    }

    /// A holder that died without releasing: a candidate waits out the lease duration, on its own clock, then
    /// takes over with one more transition.
    static func takeoverAfterExpiry(_ client: any KubeClient, namespace: String) async throws {
        let now = Timestamps.microTime()
        _ = try await client.create(Lease(metadata: ObjectMeta(name: "test-lease", namespace: namespace),
                                          spec: Lease.Spec(holderIdentity: "crashed", leaseDurationSeconds: 2, acquireTime: now,
                                                           renewTime: now, leaseTransitions: 3)))
        let candidate = elector(client, namespace, "candidate")
        let started = ContinuousClock.now
        let run = Task { await candidate.run() }
        var leadership = candidate.leadership.makeAsyncIterator()
        let first = await leadership.next()
        let waited = ContinuousClock.now - started
        #expect(first == true)
        #expect(waited >= .seconds(2), "took over after \(waited), before the lease expired")
        let spec = try await lease(client, namespace)
        #expect(spec.holderIdentity == "candidate")
        #expect(spec.leaseTransitions == 4)
        run.cancel()
        await run.value
        #expect(try await lease(client, namespace).holderIdentity == "", "not released on shutdown")
    }

    /// Two candidates: one leads; when it stops it releases, and the other leads well before the lease expires.
    static func releaseHandsOverAtOnce(_ client: any KubeClient, namespace: String) async throws {
        let a = elector(client, namespace, "a"), b = elector(client, namespace, "b")
        let runA = Task { await a.run() }
        var leadershipA = a.leadership.makeAsyncIterator()
        #expect(await leadershipA.next() == true)
        let runB = Task { await b.run() }
        _ = try await waitFor("b to see a's lease", limit: .seconds(5)) {
            let spec = try await lease(client, namespace)
            return (spec.holderIdentity == "a" ? true : nil, "holder \(spec.holderIdentity ?? "")")
        }
        #expect(await b.isLeader == false)
        var leadershipB = b.leadership.makeAsyncIterator()
        let stopped = ContinuousClock.now
        runA.cancel()
        await runA.value
        #expect(await leadershipB.next() == true)
        let handover = ContinuousClock.now - stopped
        #expect(handover < .seconds(2), "handover took \(handover): the release did not work")
        runB.cancel()
        await runB.value
    }

    /// The same Event twice about one object: one Event with count 2.
    static func repeatsAreAggregated(_ client: any KubeClient, namespace: String) async throws {
        let recorder = EventRecorder(client: client, component: "test", logger: Logger(label: "test.events"))
        let about = Event.ObjectReference(apiVersion: "v1", kind: "Service", namespace: namespace, name: "shop", uid: "u-1")
        await recorder.record(.warning, reason: "AllocationFailed", message: "no free address", about: about)
        await recorder.record(.warning, reason: "AllocationFailed", message: "no free address", about: about)
        await recorder.record(.normal, reason: "IPAllocated", message: "Assigned IP [\"192.0.2.1\"]", about: about)
        let events = try await client.list(Event.self, namespace: namespace).items.sorted { ($0.reason ?? "") < ($1.reason ?? "") }
        #expect(events.map(\.reason) == ["AllocationFailed", "IPAllocated"])
        #expect(events.map(\.count) == [2, 1])
        #expect(events.first?.involvedObject.name == "shop")
    }
}

@Suite struct CoordinationTests {
    @Test func takeoverAfterExpiry() async throws {
        try await CoordinationScenarios.takeoverAfterExpiry(InMemoryKubeClient(), namespace: "herald-system")
    }

    @Test func releaseHandsOverAtOnce() async throws {
        try await CoordinationScenarios.releaseHandsOverAtOnce(InMemoryKubeClient(), namespace: "herald-system")
    }

    @Test func repeatsAreAggregated() async throws {
        try await CoordinationScenarios.repeatsAreAggregated(InMemoryKubeClient(), namespace: "default")
    }
}

/// The same scenarios through the real kube-apiserver, each in a namespace of its own.
@Suite(.needsAPIServer) struct CoordinationAPIServerTests {
    func inNamespace(_ body: (HTTPKubeClient, String) async throws -> Void) async throws {
        let client = try HTTPKubeClient(config: KubeConfig.load(file: testKubeconfig!))
        let namespace = "coord-t-\(String(UInt32.random(in: 0 ... .max), radix: 36))"
        _ = try await client.create(Namespace(metadata: ObjectMeta(name: namespace)))
        do { try await body(client, namespace) } catch {
            try? await client.delete(Lease.self, namespace: namespace, name: "test-lease")
            await client.shutdown()
            throw error
        }
        try? await client.delete(Lease.self, namespace: namespace, name: "test-lease")
        await client.shutdown()
    }

    @Test func takeoverAfterExpiry() async throws {
        try await inNamespace { try await CoordinationScenarios.takeoverAfterExpiry($0, namespace: $1) }
    }

    @Test func releaseHandsOverAtOnce() async throws {
        try await inNamespace { try await CoordinationScenarios.releaseHandsOverAtOnce($0, namespace: $1) }
    }

    @Test func repeatsAreAggregated() async throws {
        try await inNamespace { try await CoordinationScenarios.repeatsAreAggregated($0, namespace: $1) }
    }
}
