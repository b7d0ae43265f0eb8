import ElapsedTime
import Foundation
public import Logging

/// Leader election on a `coordination.k8s.io/v1` Lease, as client-go does it: the holder renews the Lease every
/// `retryPeriod`; another candidate takes it over once it has not seen it renewed for `leaseDuration` (measured
/// on its own clock, so clock skew between nodes does not matter); a leader that cannot renew within
/// `renewDeadline` steps down; a leader that shuts down releases the Lease so a successor takes over at once.
public actor LeaderElector {
    public struct Timing: Sendable {
        public var leaseDuration: Duration
        public var renewDeadline: Duration
        public var retryPeriod: Duration

        public init(
            leaseDuration: Duration = .seconds(15), renewDeadline: Duration = .seconds(10),
            retryPeriod: Duration = .seconds(2)
        ) {
            self.leaseDuration = leaseDuration
            self.renewDeadline = renewDeadline
            self.retryPeriod = retryPeriod
        }
    }

    /// true when this candidate became the leader, false when it stopped being it.
    public nonisolated let leadership: AsyncStream<Bool>
    private let continuation: AsyncStream<Bool>.Continuation
    private let client: any KubeClient
    private let namespace: String
    private let name: String
    public nonisolated let identity: String
    private let timing: Timing
    private let logger: Logger
    public private(set) var isLeader = false
    private var observed: Lease.Spec?
    private var observedAt = ContinuousClock.now
    private var lastRenewal = ContinuousClock.now

    public init(
        client: any KubeClient, namespace: String, name: String, identity: String, timing: Timing = Timing(),
        logger: Logger
    ) {
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.timing = timing
        self.logger = logger
        (leadership, continuation) = AsyncStream.makeStream(of: Bool.self)
    }

    /// Campaigns and renews until cancelled, then releases the Lease if held.
    public func run() async {
        while !Task.isCancelled {
            // A leader's attempt must end by its renew deadline: a request hanging on a dead connection must not
            // keep it leading past the moment another candidate may take the Lease over.
            let limit =
                isLeader
                ? max(timing.renewDeadline - (ContinuousClock.now - lastRenewal), .milliseconds(1))
                : timing.leaseDuration
            let acquired = await withTimeLimit(limit) { await self.tryAcquireOrRenew() } ?? false
            let now = ContinuousClock.now
            if acquired {
                lastRenewal = now
                if !isLeader { setLeader(true) }
            } else if isLeader && now - lastRenewal > timing.renewDeadline {
                logger.warning(
                    "could not renew the lease in time; stepping down", metadata: ["lease": "\(namespace)/\(name)"])
                setLeader(false)
            }
            try? await Task.sleep(for: timing.retryPeriod)
        }
        // The task is cancelled by now, and a cancelled task's HTTP requests fail at once: release from a task
        // of its own so the Lease really is given up.
        await Task { await self.release() }.value
        continuation.finish()
    }

    private func setLeader(_ leading: Bool) {
        isLeader = leading
        logger.notice(
            leading ? "became the leader" : "lost the leadership",
            metadata: ["lease": "\(namespace)/\(name)", "identity": "\(identity)"])
        continuation.yield(leading)
    }

    private func tryAcquireOrRenew() async -> Bool {
        let now = Timestamps.microTime()
        let seconds = Int(timing.leaseDuration.components.seconds)
        let lease: Lease
        do {
            lease = try await client.get(Lease.self, namespace: namespace, name: name)
        } catch let error where error.code == .notFound {
            let fresh = Lease(
                metadata: ObjectMeta(name: name, namespace: namespace),
                spec: Lease.Spec(
                    holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now,
                    leaseTransitions: 0))
            do {
                _ = try await client.create(fresh)
                observe(fresh.spec)
                return true
            } catch {
                return false
            }
        } catch {
            logger.debug("lease read failed", metadata: ["error": "\(error)"])
            return false
        }
        let spec = lease.spec ?? Lease.Spec()
        if spec != observed { observe(spec) }
        let holder = spec.holderIdentity ?? ""
        let expired = ContinuousClock.now - observedAt > .seconds(spec.leaseDurationSeconds ?? seconds)
        if !holder.isEmpty && holder != identity && !expired { return false }
        var updated = lease
        var newSpec = spec
        if holder != identity {
            newSpec.acquireTime = now
            newSpec.leaseTransitions = (spec.leaseTransitions ?? 0) + 1
        }
        newSpec.holderIdentity = identity
        newSpec.leaseDurationSeconds = seconds
        newSpec.renewTime = now
        updated.spec = newSpec
        do {
            _ = try await client.replace(updated)  // carries the resourceVersion read: a racing candidate gets Conflict
            observe(newSpec)
            return true
        } catch {
            logger.debug("lease update failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    private func observe(_ spec: Lease.Spec?) {
        observed = spec
        observedAt = .now
    }

    /// Gives the Lease up (holder cleared, 1 s duration) so the next candidate need not wait for it to expire.
    private func release() async {
        guard isLeader else { return }
        setLeader(false)
        guard var lease = try? await client.get(Lease.self, namespace: namespace, name: name),
            lease.spec?.holderIdentity == identity
        else { return }
        lease.spec?.holderIdentity = ""
        lease.spec?.leaseDurationSeconds = 1
        lease.spec?.renewTime = Timestamps.microTime()
        _ = try? await client.replace(lease)
    }
}
