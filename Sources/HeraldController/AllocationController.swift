import ElapsedTime
import HeraldConfig
import HeraldCore
public import KubeAPI
public import Logging
public import Metrics
public import ReadinessChecks
public import ServiceLifecycle

/// `herald-controller`'s work: gives `type: LoadBalancer` Services of Herald's class IPs from the
/// `IPAddressPool`s and writes them into `status.loadBalancer.ingress` (plus the
/// `metallb.io/ip-allocated-from-pool` annotation), and takes them back when Services go away or change.
///
/// Only the leader writes. On becoming the leader it first rebuilds the allocator from the IPs every Service
/// already carries, so a restart, a new leader or a takeover from MetalLB moves no IP; only then does it
/// assign. A pool edit keeps every assignment that is still valid. Bad pools and bad Services are reported
/// with Events and left out; everything else keeps working.
///
/// No valid `IPAddressPool` at all is no configuration, not an invalid one (MetalLB's controller, too, waits
/// for a configuration before it touches a Service, and keeps its last good one over a bad one): every
/// Service keeps the IPs its status shows and nothing new is assigned. That is what `kubectl delete -k` does
/// (the CRDs, and every pool with them, go while the controller still runs), and a reinstall: when valid
/// pools exist again the controller rebuilds from the Services' status, as at start, so no IP moves. A pool
/// change that removes a pool, or the first pools after none, takes effect after `poolQuiet` without another
/// pool change: pools go (a CRD's deletion) and come (a multi-document apply) one event at a time, and the
/// set in between would clear or move the IPs of the pools still to come or go.
public actor AllocationController: ServiceLifecycle.Service {
    public struct Options: Sendable {
        /// Where `IPAddressPool`s (and the leader Lease) live.
        public var namespace: String
        public var loadBalancerClass: String?
        /// nil: always lead (`--leader-elect=false`, one replica).
        public var leaderElection: LeaderElector.Timing?
        public var identity: String

        public init(
            namespace: String = "herald-system", loadBalancerClass: String? = nil,
            leaderElection: LeaderElector.Timing? = LeaderElector.Timing(), identity: String
        ) {
            self.namespace = namespace
            self.loadBalancerClass = loadBalancerClass
            self.leaderElection = leaderElection
            self.identity = identity
        }
    }

    enum Work: Sendable {
        case service(ServiceKey)
        case pools
        case namespace(String)
        case synced
        case leadership(Bool)
        /// Services whose last write failed (apiserver away, refused): try them again.
        case retry
        /// IPs went back to a pool: Services that failed to get one may get one now (exhaustion, then release).
        case released
        /// Every `resyncInterval`: reconcile every Service from the caches, as client-go's informers resync, so
        /// a change whose event was missed is still acted on.
        case resync
        /// `poolQuiet` after a held pool change: apply it, unless pools changed again in the meantime.
        case poolsSettled
    }

    private let client: any KubeClient
    private let options: Options
    private let builder: ServiceRequestBuilder
    private let logger: Logger
    private let events: EventRecorder
    /// The `controller` ConfigurationState: which pools are left out, and why.
    private let configurationState: ConfigurationStatePublisher
    private let services: Informer<KubernetesService>
    private let pools: Informer<IPAddressPool>
    private let namespaces: Informer<Namespace>
    private let work: AsyncStream<Work>
    private let workContinuation: AsyncStream<Work>.Continuation
    private var allocator = Allocator(pools: [])
    private var leading = false
    /// Bumped on every change of leadership: a write queued under an earlier leadership is not sent.
    private var leadershipTerm = 0
    private var ready = false
    /// No valid IPAddressPool exists: Services keep what they show (see the type's documentation).
    private var unconfigured = false
    /// The pools (namespace/name) the allocator was last given, valid or not.
    private var appliedPools: Set<String> = []
    /// A held pool change (see `poolQuiet`): when the last pool event came.
    private var poolChangeHeldSince: ContinuousClock.Instant?
    private var lastPoolEvent = ContinuousClock.now
    private let readiness: Readiness
    private var metrics: ControllerMetrics
    /// The write loop reports here when it has sent every queued write (at shutdown).
    private let writesDrained: AsyncStream<Void>
    private let writesDrainedContinuation: AsyncStream<Void>.Continuation
    /// How long a graceful shutdown waits for queued writes before giving up on them.
    static let drainLimit: Duration = .seconds(5)
    /// Pool problems already reported, so a resync does not repeat their Events.
    /// Per pool: the version of it whose problems were reported, and those problems.
    /// A `.released` is queued and not yet handled: further releases need not queue another.
    private var releaseQueued = false
    private var reportedPoolErrors: [String: (version: String, messages: Set<String>)] = [:]
    /// Services whose status could not be written; retried every `retryInterval`.
    private var pendingWrites: Set<ServiceKey> = []
    /// Per pool (name): the status last written, or being written, by this leader. A pool's status is
    /// written when its counts differ from this and from what the pool object shows.
    private var poolStatuses: [String: IPAddressPool.Status] = [:]
    /// One write to the API: nil when it was not sent (no longer the leader), else whether it succeeded.
    typealias Write = @Sendable () async -> Bool?
    private var writeQueue = StatusWriteQueue<Write>()
    private let writes: AsyncStream<StatusWriteQueue<Write>.Item>
    private let writeContinuation: AsyncStream<StatusWriteQueue<Write>.Item>.Continuation
    static let maxConcurrentWrites = 16
    /// The last failure reported per Service, with the Service's resourceVersion: a resync that fails the same
    /// unchanged Service again does not log or record it again.
    private var reportedFailures: [ServiceKey: String] = [:]
    static let retryInterval: Duration = .seconds(2)
    static let resyncInterval: Duration = .seconds(30)
    /// How long a pool change that removes pools (or ends "no configuration") waits for the next one.
    static let poolQuiet: Duration = .seconds(1)

    /// - Parameters:
    ///   - readiness: where the controller reports that its caches are filled (`/readyz`).
    ///   - metricsFactory: where its metrics go (see `ControllerMetrics`).
    public init(
        client: any KubeClient, options: Options, logger: Logger, readiness: Readiness = Readiness(),
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.client = client
        self.options = options
        self.logger = logger
        self.readiness = readiness
        readiness.fail(Self.cachesCheck, reason: "Services, IPAddressPools and Namespaces not listed yet")
        metrics = ControllerMetrics(factory: metricsFactory)
        (writesDrained, writesDrainedContinuation) = AsyncStream.makeStream(of: Void.self)
        builder = ServiceRequestBuilder(loadBalancerClass: options.loadBalancerClass)
        events = EventRecorder(client: client, component: "herald-controller", logger: logger)
        configurationState = ConfigurationStatePublisher(
            controllerIn: options.namespace, client: client, logger: logger)
        services = Informer(client: client, logger: logger)
        pools = Informer(client: client, namespace: options.namespace, logger: logger)
        namespaces = Informer(client: client, logger: logger)
        (work, workContinuation) = AsyncStream.makeStream(of: Work.self)
        (writes, writeContinuation) = AsyncStream.makeStream(of: StatusWriteQueue<Write>.Item.self)
    }

    static let cachesCheck = "caches"

    public var isLeader: Bool { leading }

    public func run() async throws {
        let elector = options.leaderElection.map {
            LeaderElector(
                client: client, namespace: options.namespace, name: "herald-controller", identity: options.identity,
                timing: $0, logger: logger)
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.services.run() }
            group.addTask { await self.pools.run() }
            group.addTask { await self.namespaces.run() }
            group.addTask { await self.events.run() }
            group.addTask { await self.configurationState.run() }
            group.addTask {
                await self.writeLoop()
                self.writesDrainedContinuation.finish()
            }
            group.addTask { await self.forward(self.services.events) { .service($0.serviceKey) } }
            group.addTask { await self.forwardPoolChanges() }
            group.addTask { await self.forward(self.namespaces.events) { .namespace($0.key) } }
            if let elector {
                group.addTask { await elector.run() }
                group.addTask {
                    for await leading in elector.leadership { self.workContinuation.yield(.leadership(leading)) }
                }
            } else {
                workContinuation.yield(.leadership(true))
            }
            group.addTask { await self.tick(every: Self.retryInterval, .retry) }
            group.addTask { await self.tick(every: Self.resyncInterval, .resync) }
            await cancelWhenGracefulShutdown {
                for await item in self.work {
                    await self.handle(item)
                    await self.publishPoolStatuses()
                }
            }
            // Shutting down: let the writes already queued finish (bounded), then stop every loop; the elector
            // releases its Lease on the way out, after the last write of this leader.
            writeContinuation.finish()
            _ = await withTimeLimit(Self.drainLimit) { for await _ in self.writesDrained {} }
            group.cancelAll()
        }
    }

    private nonisolated func tick(every interval: Duration, _ item: Work) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            workContinuation.yield(item)
        }
    }

    /// The pools' events as work, but not a change of the status alone: that is this controller's own write,
    /// and handling it would reconcile every Service for each count that moved.
    private nonisolated func forwardPoolChanges() async {
        for await event in pools.events {
            if case .updated(let old, let new) = event, old.spec == new.spec, old.metadata.labels == new.metadata.labels
            {
                continue
            }
            if case .synced = event { workContinuation.yield(.synced) } else { workContinuation.yield(.pools) }
        }
    }

    /// Turns an informer's events into work: what `make` says of the object, or `.synced`.
    private nonisolated func forward<R: KubeResource>(
        _ stream: AsyncStream<InformerEvent<R>>, _ make: @escaping @Sendable (R) -> Work
    ) async {
        for await event in stream {
            switch event {
            case .added(let object), .deleted(let object), .updated(_, let object):
                workContinuation.yield(make(object))
            case .synced: workContinuation.yield(.synced)
            }
        }
    }

    // MARK: Work

    private func handle(_ item: Work) async {
        defer {
            metrics.updatePools(from: leading && ready ? allocator : nil)
            metrics.pendingWrites.record(pendingWrites.count)
        }
        metrics.work(item)
        switch item {
        case .leadership(let now):
            leading = now
            leadershipTerm += 1
            metrics.leader.record(now ? 1 : 0)
            ready = false
            if !leading {
                // A follower writes nothing: what was waiting to be written is the next leader's to decide.
                writeQueue.dropWaiting()
                pendingWrites.removeAll()
            }
            poolStatuses.removeAll()
            if leading { await resyncIfReady() }
        case .synced:
            if !readiness.isReady, await cachesSynced() {
                readiness.pass(Self.cachesCheck)
            }
            if !ready { await resyncIfReady() } else { await reconcileAll() }
        case .pools:
            guard ready else { return }
            lastPoolEvent = .now
            if poolChangeHeldSince != nil { return }  // already waiting for the pools to settle
            let removed = !appliedPools.isSubset(of: Set(await pools.objects.keys))
            if removed || unconfigured {
                poolChangeHeldSince = .now
                scheduleSettled(after: Self.poolQuiet)
                return
            }
            await applyPoolChange()
        case .poolsSettled:
            guard ready, poolChangeHeldSince != nil else { return }
            let quietFor = ContinuousClock.now - lastPoolEvent
            if quietFor < Self.poolQuiet {
                scheduleSettled(after: Self.poolQuiet - quietFor)
                return
            }
            poolChangeHeldSince = nil
            await applyPoolChange()
        case .namespace(let name):
            guard ready else { return }
            for key in await services.objects.values.map(\.serviceKey).sorted() where key.namespace == name {
                await reconcile(key)
            }
        case .service(let key):
            guard ready else { return }
            await reconcile(key)
        case .released:
            releaseQueued = false
            guard ready else { return }
            for key in reportedFailures.keys.sorted() { await reconcile(key) }
        case .resync:
            guard ready else { return }
            let before = metrics.allocationsCount
            await reconcileAll()
            let caught = metrics.allocationsCount - before
            if caught > 0 {
                logger.warning(
                    "a periodic resync assigned Services that no event had brought", metadata: ["services": "\(caught)"]
                )
            }
        case .retry:
            guard ready, !pendingWrites.isEmpty else { return }
            let keys = pendingWrites.sorted()
            pendingWrites.removeAll()
            for key in keys { await reconcile(key) }
        }
    }

    private nonisolated func scheduleSettled(after delay: Duration) {
        Task { [workContinuation] in
            try? await Task.sleep(for: delay)
            workContinuation.yield(.poolsSettled)
        }
    }

    /// The pools as the cache has them now; after "no configuration", rebuilt from the Services' status as a
    /// start does.
    private func applyPoolChange() async {
        if unconfigured {
            await resyncIfReady()
        } else {
            await applyPools()
            await reconcileAll()
        }
    }

    /// Once leading and every cache is full: pools, then the IPs Services already hold, then everything else.
    private func resyncIfReady() async {
        guard leading, await cachesSynced() else { return }
        poolChangeHeldSince = nil
        allocator = Allocator(pools: [])
        await applyPools()
        let all = await services.objects
        var held: [Allocator.HeldAddresses] = []
        for service in all.values where builder.serves(service) && !service.ingressIPs.isEmpty {
            guard let request = try? builder.request(for: service, namespaceLabels: await namespaceLabels(service))
            else { continue }
            let ips = service.ingressIPs.compactMap { try? IPAddress(parsing: $0) }
            held.append(Allocator.HeldAddresses(request: request, ips: ips))
        }
        let failures = allocator.rebuild(from: held)
        logger.notice(
            "rebuilt assignments from Service status",
            metadata: [
                "kept": "\(allocator.assignments.count)", "conflicts": "\(failures.count)",
            ])
        ready = true
        await reconcileAll()
    }

    private func cachesSynced() async -> Bool {
        let (services, pools, namespaces) = (
            await self.services.hasSynced, await self.pools.hasSynced, await self.namespaces.hasSynced
        )
        return services && pools && namespaces
    }

    private func applyPools() async {
        let objects = await pools.objects.values.sorted { $0.key < $1.key }
        appliedPools = Set(objects.map(\.key))
        var specs: [PoolSpec] = []
        var byName: [String: IPAddressPool] = [:]
        var problems: [String] = []
        for object in objects {
            byName[object.metadata.name ?? ""] = object
            do { specs.append(try object.poolSpec()) } catch {
                reportPool(object, "\(error)")
                problems.append("\(error)")
            }
        }
        let current = Set(objects.map(\.key))
        reportedPoolErrors = reportedPoolErrors.filter { current.contains($0.key) }
        let result = PoolValidator.validate(specs)
        metrics.invalidPools.record(objects.count - result.pools.count)
        for error in result.errors {
            if let object = byName[error.pool] { reportPool(object, error.description) }
            problems.append("IPAddressPool \(options.namespace)/\(error.pool): \(error.detail)")
        }
        configurationState.post([
            ConfigurationState.Check(
                type: "poolReconcilerValid", problems: problems, validMessage: "every IPAddressPool is valid")
        ])
        for warning in result.warnings {
            logger.warning("pool warning", metadata: ["pool": "\(warning.pool)", "detail": "\(warning.detail)"])
        }
        if result.pools.isEmpty != unconfigured {
            unconfigured = result.pools.isEmpty
            if unconfigured {
                logger.warning(
                    """
                    no valid IPAddressPool: every Service keeps the IPs it shows, \
                    none is assigned until a valid pool exists
                    """,
                    metadata: ["namespace": "\(options.namespace)", "pools": "\(objects.count)"])
            } else {
                logger.notice("valid IPAddressPools again", metadata: ["pools": "\(result.pools.count)"])
            }
        }
        let dropped = allocator.updatePools(result.pools)
        for (service, failure) in dropped {
            logger.notice(
                "assignment no longer valid after a pool change",
                metadata: ["service": "\(service)", "reason": "\(failure)"])
        }
    }

    private func reportPool(_ pool: IPAddressPool, _ message: String) {
        let version = pool.metadata.resourceVersion ?? ""
        if reportedPoolErrors[pool.key]?.version != version { reportedPoolErrors[pool.key] = (version, []) }
        guard reportedPoolErrors[pool.key]!.messages.insert(message).inserted else { return }
        logger.error("invalid IPAddressPool left out", metadata: ["pool": "\(pool.key)", "error": "\(message)"])
        events.post(.warning, reason: "InvalidConfiguration", message: message, about: pool.reference)
    }

    private func reconcileAll() async {
        let keys = Set(await services.objects.values.map(\.serviceKey)).union(allocator.assignments.map(\.service))
        for key in keys.sorted() { await reconcile(key) }
    }

    private func namespaceLabels(_ service: KubernetesService) async -> [String: String] {
        await namespaces.object(forKey: service.metadata.namespace ?? "")?.metadata.labels ?? [:]
    }

    // MARK: One Service

    private func reconcile(_ key: ServiceKey) async {
        guard let service = await services.object(forKey: key.description) else {
            reportedFailures[key] = nil
            if let released = allocator.release(key) {
                logger.info("released", metadata: ["service": "\(key)", "ips": "\(released.ips)"])
                queueReleased()
            }
            return
        }
        // While a pool change settles (`poolQuiet`) the allocator still has the pools of before: what it would
        // assign could come from a pool on its way out. Every Service is reconciled once the pools settle.
        guard poolChangeHeldSince == nil else { return }
        guard builder.serves(service) else {
            // No longer ours (type or class changed): give the IPs back and clear what we wrote. The annotation
            // alone marks ours only if the Service is of our class: another implementation (MetalLB on its own
            // class) writes the same annotation on its Services.
            reportedFailures[key] = nil
            let ourClass = service.spec?.loadBalancerClass == builder.loadBalancerClass
            let annotated = service.metadata.annotations?[Annotations.allocatedFromPool] != nil
            let released = allocator.release(key) != nil
            if released { queueReleased() }
            if released || (annotated && ourClass) {
                clear(service, reason: "the Service is no longer a LoadBalancer of this class")
            }
            return
        }
        let request: AllocationRequest
        do {
            request = try builder.request(for: service, namespaceLabels: await namespaceLabels(service))
        } catch {
            fail(service, key, error)
            return
        }
        let assignment: Assignment
        let previous = allocator.assignment(for: key)
        do {
            assignment = try allocator.assign(request)
            if previous?.ips != assignment.ips { metrics.allocated() }
        } catch {
            fail(service, key, error)
            return
        }
        reportedFailures[key] = nil
        publish(assignment, on: service)
    }

    private func fail(_ service: KubernetesService, _ key: ServiceKey, _ failure: AllocationFailure) {
        let held = allocator.release(key)
        if held != nil { queueReleased() }
        // With no valid pool there is no configuration to judge the Service's IPs by: they stay, and a Service
        // that keeps its IPs is no failure to report (an uninstall would raise one per Service).
        if unconfigured, !service.ingressIPs.isEmpty { return }
        let identity = "\(service.metadata.resourceVersion ?? "")|\(failure.message)"
        if reportedFailures[key] != identity {
            reportedFailures[key] = identity
            metrics.allocationFailures.increment()
            logger.warning("allocation failed", metadata: ["service": "\(key)", "reason": "\(failure)"])
            events.post(
                .warning, reason: "AllocationFailed",
                message: "Failed to allocate IP for \"\(key)\": \(failure.message)",
                about: service.reference)
        }
        if held != nil || !service.ingressIPs.isEmpty { clear(service, reason: failure.message) }
    }

    // MARK: Writing

    /// Writes to the API go through here (`StatusWriteQueue`): up to `maxConcurrentWrites` at once (a burst of
    /// Services is not written one round trip after another), one at a time per Service and in order, and a
    /// newer write for a Service replaces one still waiting.
    /// - Parameter target: what the write makes the Service show; a second write for the same target while the
    ///   first is still queued or running is dropped (each write's own watch event would otherwise ask for it
    ///   again before the status it writes is seen).
    private func enqueueWrite(
        _ subject: WriteSubject, target: WriteTarget, _ send: @escaping @Sendable () async -> Bool
    ) {
        guard leading else { return }
        let term = leadershipTerm
        // Checked when the write's turn comes: leadership may have moved on while it waited.
        let write: Write = { [weak self] in
            guard let self, await self.isLeader(term: term) else { return nil }
            return await send()
        }
        let item = StatusWriteQueue.Item(subject: subject, term: term, target: target, write: write)
        if let start = writeQueue.enqueue(item) { writeContinuation.yield(start) }
    }

    /// Writes each valid pool's counts to its status subresource where they changed: the leader only, once
    /// its caches are full; a pool that already shows its counts is not written.
    private func publishPoolStatuses() async {
        guard leading, ready else { return }
        let objects = await pools.objects.values
        var byName: [String: IPAddressPool] = [:]
        for object in objects { byName[object.metadata.name ?? ""] = object }
        var counted: Set<String> = []
        for pool in allocator.pools {
            guard let statistics = allocator.statistics(of: pool.name), let object = byName[pool.name] else { continue }
            counted.insert(pool.name)
            let status = IPAddressPool.Status(statistics)
            if object.status == status || poolStatuses[pool.name] == status {
                poolStatuses[pool.name] = status
                continue
            }
            poolStatuses[pool.name] = status
            let (client, logger, namespace, name) = (self.client, self.logger, options.namespace, pool.name)
            enqueueWrite(.pool(name), target: .poolStatus(status)) {
                let patch: JSONValue = [
                    "status": [
                        "assignedIPv4": .number(Double(status.assignedIPv4)),
                        "assignedIPv6": .number(Double(status.assignedIPv6)),
                        "availableIPv4": .number(Double(status.availableIPv4)),
                        "availableIPv6": .number(Double(status.availableIPv6)),
                    ]
                ]
                do throws(KubeError) {
                    _ = try await client.mergePatch(
                        IPAddressPool.self, namespace: namespace, name: name, patch: patch, subresource: "status")
                    return true
                } catch let error where error.code == .notFound {
                    return true  // deleted meanwhile
                } catch {
                    logger.warning(
                        "could not write the pool's status; retrying",
                        metadata: ["pool": "\(name)", "error": "\(error)"])
                    return false
                }
            }
        }
        poolStatuses = poolStatuses.filter { counted.contains($0.key) }
    }

    private func queueReleased() {
        guard !releaseQueued else { return }
        releaseQueued = true
        workContinuation.yield(.released)
    }

    private func isLeader(term: Int) -> Bool { leading && leadershipTerm == term }

    /// - Parameter succeeded: nil when the write was not sent (no longer the leader).
    private func finishedWrite(_ subject: WriteSubject, succeeded: Bool?) {
        switch succeeded {
        case true?: metrics.writesSucceeded.increment()
        case false?:
            metrics.writesFailed.increment()
            switch subject {
            case .service(let service): pendingWrites.insert(service)
            case .pool(let name): poolStatuses[name] = nil  // written again after the next work item
            }
        case nil: break
        }
        if let next = writeQueue.finished(subject) { writeContinuation.yield(next) }
    }

    private nonisolated func writeLoop() async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await item in writes {
                if running >= Self.maxConcurrentWrites {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask {
                    let succeeded = await item.write()
                    await self.finishedWrite(item.subject, succeeded: succeeded)
                }
            }
        }
    }

    /// Writes the assignment where it differs from what the Service shows.
    private func publish(_ assignment: Assignment, on service: KubernetesService) {
        let ips = assignment.ips.map(\.description)
        let needsAnnotation = service.metadata.annotations?[Annotations.allocatedFromPool] != assignment.pool
        let needsStatus = service.ingressIPs != ips
        guard needsAnnotation || needsStatus else { return }
        let (client, events, logger) = (self.client, self.events, self.logger)
        let namespace = service.metadata.namespace, name = service.metadata.name ?? "", reference = service.reference
        enqueueWrite(.service(service.serviceKey), target: .assigned(pool: assignment.pool, ips: ips)) {
            do throws(KubeError) {
                if needsAnnotation {
                    _ = try await client.mergePatch(
                        KubernetesService.self, namespace: namespace, name: name,
                        patch: ["metadata": ["annotations": [Annotations.allocatedFromPool: .string(assignment.pool)]]])
                }
                if needsStatus {
                    let ingress = JSONValue.array(ips.map { ["ip": .string($0)] })
                    _ = try await client.mergePatch(
                        KubernetesService.self, namespace: namespace, name: name,
                        patch: ["status": ["loadBalancer": ["ingress": ingress]]], subresource: "status")
                    logger.info(
                        "assigned",
                        metadata: ["service": "\(assignment.service)", "ips": "\(ips)", "pool": "\(assignment.pool)"])
                    await events.record(
                        .normal, reason: "IPAllocated", message: "Assigned IP \(ips) from pool \"\(assignment.pool)\"",
                        about: reference)
                }
                return true
            } catch let error where error.code == .notFound {
                return true  // deleted meanwhile: the informer's delete event releases it
            } catch {
                // The apiserver went away or refused: the allocation stays in memory and the write is retried.
                logger.warning(
                    "could not write the assignment; retrying",
                    metadata: ["service": "\(assignment.service)", "error": "\(error)"])
                return false
            }
        }
    }

    private func clear(_ service: KubernetesService, reason: String) {
        let (client, events, logger) = (self.client, self.events, self.logger)
        let namespace = service.metadata.namespace, name = service.metadata.name ?? "", reference = service.reference
        let hasStatus = !service.ingressIPs.isEmpty,
            hasAnnotation = service.metadata.annotations?[Annotations.allocatedFromPool] != nil
        let key = service.serviceKey
        enqueueWrite(.service(key), target: .cleared) {
            do throws(KubeError) {
                if hasStatus {
                    _ = try await client.mergePatch(
                        KubernetesService.self, namespace: namespace, name: name,
                        patch: ["status": ["loadBalancer": ["ingress": nil]]], subresource: "status")
                }
                if hasAnnotation {
                    _ = try await client.mergePatch(
                        KubernetesService.self, namespace: namespace, name: name,
                        patch: ["metadata": ["annotations": [Annotations.allocatedFromPool: nil]]])
                }
                await events.record(
                    .normal, reason: "ClearAssignment", message: "Cleared the IP assignment: \(reason)",
                    about: reference)
                return true
            } catch let error where error.code == .notFound {
                return true
            } catch {
                logger.warning(
                    "could not clear the assignment; retrying", metadata: ["service": "\(key)", "error": "\(error)"])
                return false
            }
        }
    }
}
