public import HeraldCore
public import KubeAPI
import L2Announcer
public import Logging
public import Metrics
public import OperationsEndpoint
public import ServiceLifecycle

/// `herald-speaker`'s work on one node: from the API objects and the live gossip members, plan every IP's
/// owner (`AnnouncementPlanner`, the same answer on every node) and make this node answer for exactly the IPs
/// it owns.
///
/// - Nothing is announced before every cache is filled and the membership has settled (another member seen,
///   or `joinGrace` passed since the caches were filled): a starting speaker that saw only itself would claim
///   every IP. The executable joins gossip only once the caches are filled (`untilListed`): a member is handed
///   the IPs it ranks first for at once, and a speaker restarted while the apiserver is away could not
///   answer for them.
/// - While the apiserver is away the caches keep their last state: membership changes still move IPs, and
///   nothing is withdrawn because a watch broke.
/// - Graceful shutdown is make-before-break: the executable stops gossip first (the member leaves, the
///   successor takes over), and this node keeps answering each IP until its successor's announcement is seen
///   on the wire, or for `handoverDelay` at most.
/// - Conflicts on the wire: when another MAC claims an IP this node announces (two owners after a partition
///   heals), the node the election ranks first between the two keeps it and announces again; the other
///   yields it, keeps probing for it, and takes it back once the other has not answered for `yieldHold`. A
///   MAC no speaker owns loses. Each conflict is logged, counted and reported as an `IPConflict` Event on the IP's Services.
/// - The new owner of an IP records a `nodeAssigned` Event on each of its Services, naming the previous owner
///   and why it lost the IP, and keeps a `ServiceL2Status` per Service it announces (`ServiceStatusPublisher`).
public actor SpeakerReconciler: ServiceLifecycle.Service {
    public struct Options: Sendable {
        public var nodeName: String
        /// Where `IPAddressPool`s and `L2Advertisement`s live.
        public var namespace: String
        public var loadBalancerClass: String?
        /// How long to wait for another member before announcing as the only one.
        public var joinGrace: Duration
        /// How long a leaving node keeps answering, at most, after its successor was told.
        public var handoverDelay: Duration
        /// How long an IP stays yielded to a higher-ranked node claiming it, after its last claim (the
        /// yielding node probes for it every `--conflict-probe-interval`, and each answer is a claim).
        public var yieldHold: Duration

        public init(nodeName: String, namespace: String = "herald-system", loadBalancerClass: String? = nil,
                    joinGrace: Duration = .seconds(3), handoverDelay: Duration = .seconds(1), yieldHold: Duration = .seconds(3)) {
            self.nodeName = nodeName
            self.namespace = namespace
            self.loadBalancerClass = loadBalancerClass
            self.joinGrace = joinGrace
            self.handoverDelay = handoverDelay
            self.yieldHold = yieldHold
        }
    }

    private let client: any KubeClient
    private let membership: any MembershipView
    private let announcer: any AddressAnnouncer
    private let options: Options
    private let logger: Logger
    private let readiness: Readiness
    private let events: EventRecorder
    private var metrics: SpeakerMetrics
    private let services: Informer<KubernetesService>
    private let pools: Informer<IPAddressPool>
    private let advertisements: Informer<L2Advertisement>
    private let nodes: Informer<Node>
    /// Made in `run`, once the server's EndpointSlice version is known.
    private var slices: Informer<EndpointSlice>?
    private let changed: AsyncStream<Void>
    private let changedContinuation: AsyncStream<Void>.Continuation
    private var settled = false
    /// Every cache has been listed once; `untilListed` callers wait for it.
    private var listed = false
    private var listedWaiters: [AsyncStream<Void>.Continuation] = []
    private var plan: [IPAddress: IPAnnouncement] = [:]
    private var announced: [IPAddress: Set<String>?] = [:]
    /// The IPs the announcer could not announce at the last apply, and why (each reported once).
    private var failed: [IPAddress: String] = [:]
    /// The apply under way; the next waits for it.
    private var applying: Task<Void, Never>?
    /// The announcer's interfaces changed since the last apply.
    private var announcerInterfacesChanged = false
    private var reportedProblems: Set<String> = []
    private var stopping = false
    /// Set while handing over: claims then end the hand-over of their IP early.
    private var handoverFinished: AsyncStream<Void>.Continuation?
    /// IPs yielded to a higher-ranked claimant, until when.
    private var yielded: [IPAddress: (to: String, until: ContinuousClock.Instant)] = [:]
    private var lastDefence: [IPAddress: ContinuousClock.Instant] = [:]
    /// When another live speaker last claimed each announced IP: at shutdown, those are handed over already.
    private var claimedByLiveSpeaker: [IPAddress: ContinuousClock.Instant] = [:]
    /// The one pending re-plan for when the earliest yield's hold ends.
    private var yieldCheck: Task<Void, Never>?
    /// Set once this node's last status pass is queued: nothing is published after it.
    private var statusesClosed = false
    /// Which node each speaker MAC belongs to; kept when a member goes, for partitions.
    private var speakerMACs: [MACAddress: String] = [:]
    private let statuses: ServiceStatusPublisher
    /// The live members at the last plan (whose status objects stay).
    private var liveMembers: Set<String> = []

    static let cachesCheck = "caches"
    static let membershipCheck = "membership"

    public init(client: any KubeClient, membership: any MembershipView, announcer: any AddressAnnouncer, options: Options,
                logger: Logger, readiness: Readiness = Readiness(), metricsFactory: any MetricsFactory = MetricsSystem.factory) {
        self.client = client
        self.membership = membership
        self.announcer = announcer
        self.options = options
        var logger = logger
        logger[metadataKey: "node"] = "\(options.nodeName)"
        self.logger = logger
        self.readiness = readiness
        readiness.fail(Self.cachesCheck, reason: "Services, EndpointSlices, Nodes, pools and L2Advertisements not listed yet")
        readiness.fail(Self.membershipCheck, reason: "no other speaker seen yet")
        metrics = SpeakerMetrics(factory: metricsFactory)
        events = EventRecorder(client: client, component: "herald-speaker", logger: logger)
        statuses = ServiceStatusPublisher(client: client, namespace: options.namespace, nodeName: options.nodeName, logger: logger)
        services = Informer(client: client, logger: logger)
        pools = Informer(client: client, namespace: options.namespace, logger: logger)
        advertisements = Informer(client: client, namespace: options.namespace, logger: logger)
        nodes = Informer(client: client, logger: logger)
        (changed, changedContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Every IP's decision, as this node last made it (for tests and `explain`).
    public var currentPlan: [IPAddress: IPAnnouncement] { plan }
    /// The IPs this node answers for, with their interfaces (nil: every interface).
    public var announcedIPs: [IPAddress: Set<String>?] { announced }
    /// Stopping, and still answering until the successors are heard.
    public var isHandingOver: Bool { handoverFinished != nil }

    public func run() async throws {
        let slices = Informer<EndpointSlice>(client: client, type: await endpointSliceType(), logger: logger)
        self.slices = slices
        await withDiscardingTaskGroup { group in
            group.addTask { await self.events.run() }
            group.addTask { await self.statuses.run() }
            group.addTask { await self.watch(self.services) }
            group.addTask { await self.watch(self.pools) }
            group.addTask { await self.watch(self.advertisements) }
            group.addTask { await self.watch(self.nodes) }
            group.addTask { await self.watch(slices) }
            group.addTask {
                for await _ in self.membership.changes { self.changedContinuation.yield() }
            }
            group.addTask {
                for await claim in self.announcer.claims { await self.handle(claim) }
            }
            group.addTask {
                for await _ in self.announcer.interfaceChanges { await self.interfacesChanged() }
            }
            group.addTask {
                await self.untilListed()
                try? await Task.sleep(for: self.options.joinGrace)
                await self.joinGraceEnded()
            }
            await cancelWhenGracefulShutdown {
                for await _ in self.changed { await self.reconcile() }
            }
            // Make-before-break: gossip has already left (the executable stops it first), so the successors are
            // taking over; keep answering each IP until its successor is heard, or for the delay at most.
            stopping = true
            yieldCheck?.cancel()
            if !announced.isEmpty {
                logger.notice("handing over", metadata: ["ips": "\(announced.count)", "delay": "\(options.handoverDelay)"])
                await waitForSuccessors()
            }
            await apply([:])
            // This node's status objects go with it (bounded: an absent apiserver must not hold up the exit;
            // the successors delete them then, as they would a crashed node's).
            statusesClosed = true
            await statuses.publish([:], liveNodes: [], services: nil)
            let statuses = self.statuses
            await firstToFinish(.seconds(2)) { _ = await statuses.converge() }
            group.cancelAll()
        }
    }

    private nonisolated func watch<R: KubeResource>(_ informer: Informer<R>) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await informer.run() }
            for await _ in informer.events { changedContinuation.yield() }
        }
    }

    /// discovery.k8s.io/v1 where the server has it (1.21+), else v1beta1 (the local 1.20 server). Asked until the
    /// server answers: a speaker started while the apiserver is away must not settle on a version the server
    /// lacks, or its EndpointSlice cache would never fill and it would never serve.
    private func endpointSliceType() async -> ResourceType {
        var delay = Duration.milliseconds(250)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let type = try await client.endpointSliceType()
                if type == EndpointSlice.v1beta1 { logger.notice("the server has no discovery.k8s.io/v1; reading EndpointSlices as v1beta1") }
                return type
            } catch {
                logger.warning("cannot ask the server which EndpointSlice version it serves; retrying",
                               metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                let wait = delay
                await cancelWhenGracefulShutdown { try? await Task.sleep(for: wait) }
                delay = min(delay * 2, .seconds(8))
            }
        }
        return EndpointSlice.type
    }

    private func waitForSuccessors() async {
        // Successors heard in the moment between leaving gossip and this hand-over: already taken over.
        let recent = ContinuousClock.now - options.handoverDelay
        let heard = Set(claimedByLiveSpeaker.filter { $0.value > recent && announced[$0.key] != nil }.keys)
        if !heard.isEmpty {
            metrics.conflicts["handed_over"]?.increment(by: heard.count)
            await apply(announced.filter { !heard.contains($0.key) })
            if announced.isEmpty { return }
        }
        let (finished, continuation) = AsyncStream.makeStream(of: Void.self)
        handoverFinished = continuation
        await wait(for: finished, upTo: options.handoverDelay)
        handoverFinished = nil
        if announced.isEmpty { logger.notice("every successor announced; handed over") }
    }

    /// Returns once every cache has been listed (at once if it has), or when the calling task is cancelled.
    public nonisolated func untilListed() async {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        await waitForListing(continuation)
        for await _ in stream {}
    }

    private func waitForListing(_ continuation: AsyncStream<Void>.Continuation) {
        if listed { continuation.finish() } else { listedWaiters.append(continuation) }
    }

    private func joinGraceEnded() {
        if !settled { logger.notice("no other speaker answered within the join grace; announcing as the only member") }
        changedContinuation.yield()
        settled = true
    }

    // MARK: Planning

    private func reconcile() async {
        guard let slices else { return }
        guard await services.hasSynced, await pools.hasSynced, await advertisements.hasSynced, await nodes.hasSynced,
              await slices.hasSynced else { return }
        readiness.pass(Self.cachesCheck)
        if !listed {
            listed = true
            for waiter in listedWaiters { waiter.finish() }
            listedWaiters = []
        }
        // This node counts itself live while it runs: after a leave the others drop it, but it keeps answering
        // until its successor took over (make-before-break).
        let members = await membership.liveNames().union([options.nodeName])
        liveMembers = members
        speakerMACs = await membership.macs()
        if members.count > 1 { settled = true }
        guard settled else { return }
        readiness.pass(Self.membershipCheck)
        let view = SpeakerView(services: await services.objects.values, endpointSlices: await slices.objects.values,
                               pools: await pools.objects.values, advertisements: await advertisements.objects.values,
                               nodes: await nodes.objects.values, members: members, loadBalancerClass: options.loadBalancerClass)
        report(view.problems)
        let next = AnnouncementPlanner.plan(view.inputs)
        await recordOwnerChanges(from: plan, to: next)
        plan = next
        let now = ContinuousClock.now
        // A yield is for a claimant the membership cannot see (the other side of a partition). Once it is a
        // live member again, the plan decides; and a claimant that stays dead to the membership gets only the
        // hold: the probes it stops answering end the yield.
        let stillYielded = yielded.filter { $0.value.until > now && !members.contains($0.value.to) }
        if stillYielded.count != yielded.count {
            for (ip, yield) in yielded.sorted(by: { $0.key < $1.key }) where stillYielded[ip] == nil {
                let why = members.contains(yield.to) ? "is a live member again: the plan decides" : "stopped answering"
                logger.notice("the node it was yielded to \(why)", metadata: ["ip": "\(ip)", "node": "\(yield.to)"])
            }
            yielded = stillYielded
            await announcer.watch(Set(yielded.keys))
        }
        scheduleYieldCheck()
        var desired: [IPAddress: Set<String>?] = [:]
        for (ip, decision) in next where decision.owner == options.nodeName && yielded[ip] == nil { desired[ip] = decision.interfaces }
        await apply(desired)
    }

    /// What `statuses` should show: each Service of an announced IP, with the interfaces its IPs go out on.
    private func publishStatuses() async {
        guard !statusesClosed else { return }
        var entries: [ServiceKey: Set<String>] = [:]
        let present = Set(announcer.interfaceNames)
        for (ip, interfaces) in announced {
            // The interfaces it is answered on: an L2Advertisement may name some this node does not have.
            let names = interfaces?.intersection(present) ?? present
            for service in plan[ip]?.services ?? [] { entries[service, default: []].formUnion(names) }
        }
        await statuses.publish(entries.mapValues { $0.sorted() }, liveNodes: liveMembers,
                               services: Set(await services.objects.values.map(\.serviceKey)))
    }

    // MARK: Conflicts on the wire

    private func handle(_ claim: ForeignClaim) async {
        if speakerMACs[claim.mac] == nil { speakerMACs = await membership.macs() }
        let claimant = speakerMACs[claim.mac]
        if let yield = yielded[claim.ip] {
            // Yielded, and the node it went to still answers (this node's probe, or its announcements).
            if claimant == yield.to { yielded[claim.ip]?.until = ContinuousClock.now + options.yieldHold }
            return
        }
        guard announced[claim.ip] != nil, claimant != options.nodeName else { return }
        let metadata: Logger.Metadata = ["ip": "\(claim.ip)", "mac": "\(claim.mac)", "interface": "\(claim.interface)",
                                         "claimant": "\(claimant ?? "none")"]
        if let handoverFinished {
            // Leaving, and a successor is heard: stop answering this IP now rather than at the end of the delay.
            // Only another speaker counts: a stranger's claim is no successor.
            guard claimant != nil else { return }
            logger.notice("successor announced; stopped answering", metadata: metadata)
            metrics.conflicts["handed_over"]?.increment()
            await apply(announced.filter { $0.key != claim.ip })
            if announced.isEmpty { handoverFinished.yield() }
            return
        }
        let now = ContinuousClock.now
        if let claimant, await membership.departedNames().contains(claimant) {
            // A speaker that left gracefully still answers until it hears this node's announcement: hand-over,
            // not a conflict (yielding to it would leave the IP unanswered once it stops).
            return
        }
        if let claimant, liveMembers.contains(claimant) {
            // Another live speaker announces it: one of the two views is behind (a restart, a leave, endpoints
            // moving), and gossip brings them together in milliseconds. Plan again rather than fight; if this
            // node is stopping, the IP is handed over already.
            claimedByLiveSpeaker[claim.ip] = now
            changedContinuation.yield()
            return
        }
        let who = claimant.map { "node \"\($0)\"" } ?? "a host that runs no Herald speaker"
        switch ConflictResolution.resolve(ip: claim.ip, node: options.nodeName, claimant: claimant) {
        case .ignore:
            return
        case .yield:
            // Only a node the membership cannot see gets here (the other side of a partition that healed).
            yielded[claim.ip] = (to: claimant!, until: now + options.yieldHold)
            logger.warning("another node announces this IP and ranks first; yielding it", metadata: metadata)
            metrics.conflicts["yielded"]?.increment()
            await recordConflict(claim, message: "\(claim.ip) is also announced by \(who) (MAC \(claim.mac)), which ranks first: node \"\(options.nodeName)\" stops announcing it")
            await announcer.watch(Set(yielded.keys))
            changedContinuation.yield()
        case .defend:
            // At most once a second per IP: a claimant that does not yield must not start an announcement storm.
            if let last = lastDefence[claim.ip], now - last < .seconds(1) { return }
            lastDefence[claim.ip] = now
            logger.warning("another MAC announces this IP; announcing it again", metadata: metadata)
            metrics.conflicts["defended"]?.increment()
            await recordConflict(claim, message: "\(claim.ip) is also announced by \(who) (MAC \(claim.mac)): node \"\(options.nodeName)\" \(claimant == nil ? "keeps it" : "ranks first and keeps it") and announces it again")
            await announcer.reannounce(claim.ip)
        }
    }

    /// One pending re-plan, for when the earliest yield's hold ends (claims push the holds back; the re-plan
    /// then schedules the next).
    private func scheduleYieldCheck() {
        guard yieldCheck == nil, !stopping, let earliest = yielded.values.map(\.until).min() else { return }
        yieldCheck = Task {
            try? await Task.sleep(until: earliest + .milliseconds(10))
            self.yieldCheckDue()
        }
    }

    private func yieldCheckDue() {
        yieldCheck = nil
        changedContinuation.yield()
    }

    private func recordConflict(_ claim: ForeignClaim, message: String) async {
        await post(.warning, reason: "IPConflict", message: message, on: plan[claim.ip]?.services ?? [])
    }

    /// An Event on each of `keys` that the cache still holds.
    private func post(_ kind: EventRecorder.Kind, reason: String, message: String, on keys: [ServiceKey]) async {
        for key in keys {
            guard let object = await services.object(forKey: key.description) else { continue }
            events.post(kind, reason: reason, message: message, about: object.reference)
        }
    }

    /// Makes `desired` what the node announces, after any apply under way: applies run in the order they were
    /// asked for, so an older set can never land on the announcer after a newer one (each awaits the
    /// announcer, and the actor runs other work meanwhile).
    private func apply(_ desired: [IPAddress: Set<String>?]) async {
        let previous = applying
        let task = Task {
            await previous?.value
            await self.applyNow(desired)
        }
        applying = task
        await task.value
    }

    private func applyNow(_ desired: [IPAddress: Set<String>?]) async {
        let interfacesChanged = announcerInterfacesChanged
        announcerInterfacesChanged = false
        guard desired != announced || interfacesChanged else { return }
        let gained = Set(desired.keys).subtracting(announced.keys), lost = Set(announced.keys).subtracting(desired.keys)
        for ip in lost.sorted() {
            logger.notice("ownership lost", metadata: ["ip": "\(ip)", "reason": "\(lossReason(ip))"])
        }
        for ip in gained.sorted() {
            logger.notice("ownership gained", metadata: ["ip": "\(ip)", "services": "\(plan[ip]?.services.map(\.description) ?? [])"])
        }
        metrics.gained.increment(by: gained.count)
        metrics.lost.increment(by: lost.count)
        await record(failures: await announcer.apply(desired))
        announced = desired
        lastDefence = lastDefence.filter { desired[$0.key] != nil }
        claimedByLiveSpeaker = claimedByLiveSpeaker.filter { desired[$0.key] != nil }
        metrics.announced.record(desired.count)
        await publishStatuses()
    }

    /// Once per IP that newly cannot be announced: a log line, and the Services' Events say why nobody answers.
    private func record(failures: [IPAddress: String]) async {
        metrics.announceFailures.increment(by: failures.count)
        for (ip, why) in failures.sorted(by: { $0.key < $1.key }) where failed[ip] == nil {
            logger.error("cannot announce", metadata: ["ip": "\(ip)", "error": "\(why)"])
            await post(.warning, reason: "AnnounceFailed", message: "node \"\(options.nodeName)\" owns \(ip) but cannot announce it: \(why)",
                       on: plan[ip]?.services ?? [])
        }
        failed = failures
    }

    /// An interface came or went (the announcer has given a new responder its share already): the next pass
    /// applies even an unchanged set, so what could not be announced is looked at again and the statuses
    /// list the interfaces. Through the pass loop, not an apply of its own, which could carry an older set.
    private func interfacesChanged() async {
        announcerInterfacesChanged = true
        changedContinuation.yield()
        // The others must know the new MACs as this node's, or its answers would look like a stranger's.
        await membership.publish(macs: announcer.macs)
    }

    private func lossReason(_ ip: IPAddress) -> String {
        if stopping { return "this speaker is stopping" }
        if let yield = yielded[ip] { return "node \"\(yield.to)\" announces it too and ranks first" }
        guard let decision = plan[ip] else { return "no Service shows the IP any more" }
        if let withheld = decision.withheld { return withheld.description }
        if let exclusion = decision.excluded[options.nodeName] { return exclusion.description }
        return "\(decision.owner ?? "another node") ranks first"
    }

    /// The new owner tells each Service of the IP, once: `announcing 192.0.2.10 from node "b" with protocol
    /// "layer2" (was node "a": its speaker is not a live member)`.
    private func recordOwnerChanges(from old: [IPAddress: IPAnnouncement], to new: [IPAddress: IPAnnouncement]) async {
        for (ip, decision) in new.sorted(by: { $0.key < $1.key }) where decision.owner == options.nodeName && old[ip]?.owner != options.nodeName {
            var message = "announcing \(ip) from node \"\(options.nodeName)\" with protocol \"layer2\""
            if let previous = old[ip]?.owner {
                let why = decision.excluded[previous].map(\.description) ?? "\(options.nodeName) now ranks first"
                message += " (was node \"\(previous)\": \(why))"
            }
            await post(.normal, reason: "nodeAssigned", message: message, on: decision.services)
        }
    }

    private func report(_ problems: [String]) {
        metrics.invalidObjects.record(problems.count)
        let current = Set(problems)
        for problem in current.subtracting(reportedProblems).sorted() {
            logger.error("configuration left out", metadata: ["error": "\(problem)"])
        }
        reportedProblems = current
    }
}
