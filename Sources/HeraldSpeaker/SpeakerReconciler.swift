import BGPNode
import BGPSession
public import ElapsedTime
import HeraldConfig
public import HeraldCore
public import KubeAPI
public import L2Announcer
public import Logging
public import Metrics
public import NIOCore
import NIOPosix
public import ReadinessChecks
public import ServiceLifecycle
public import SpeakerCore

/// `herald-speaker`'s work on one node: the thin driver of `SpeakerStateMachine`, where every decision is made.
/// Informers, gossip and the responders feed it events; it performs the actions the machine returns, one at
/// a time and in order (an older announced set can never land after a newer one), and wakes the machine at
/// its next deadline.
///
/// - While the apiserver is away the caches keep their last state: membership changes still move IPs, and
///   nothing is withdrawn because a watch broke.
/// - The executable joins gossip only once the caches are filled (`untilListed`): a member is handed the IPs
///   it ranks first for at once, and a speaker restarted while the apiserver is away could not answer them.
/// - Graceful shutdown: the executable stops gossip first (the member leaves, the successors take over); the
///   machine then hands each IP over (make-before-break) and this node's status objects go last, bounded, so
///   an absent apiserver cannot hold up the exit.
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

        public init(
            nodeName: String, namespace: String = "herald-system", loadBalancerClass: String? = nil,
            joinGrace: Duration = .seconds(3), handoverDelay: Duration = .seconds(1),
            yieldHold: Duration = .seconds(3)
        ) {
            self.nodeName = nodeName
            self.namespace = namespace
            self.loadBalancerClass = loadBalancerClass
            self.joinGrace = joinGrace
            self.handoverDelay = handoverDelay
            self.yieldHold = yieldHold
        }

        var machine: SpeakerStateMachine.Options {
            .init(nodeName: nodeName, joinGrace: joinGrace, handoverDelay: handoverDelay, yieldHold: yieldHold)
        }
    }

    private let client: any KubeClient
    private let membership: any MembershipView
    private let announcer: any AddressAnnouncer
    private let options: Options
    private let clock: ElapsedClock
    private let logger: Logger
    private let readiness: Readiness
    private let events: EventRecorder
    /// This speaker's `speaker-NODE` ConfigurationState: what of the configuration it left out.
    private let configurationState: ConfigurationStatePublisher
    private let metrics: SpeakerMetrics
    private let statuses: ServiceStatusPublisher<ServiceL2Status>
    /// This node's ServiceBGPStatus objects: the peers each Service goes to from here.
    private let bgpStatuses: ServiceStatusPublisher<ServiceBGPStatus>
    private let services: Informer<KubernetesService>
    private let pools: Informer<IPAddressPool>
    private let advertisements: Informer<L2Advertisement>
    private let nodes: Informer<Node>
    /// BGP mode's objects. They do not hold up Layer 2: a speaker without them (or without the right to read
    /// them) still plans and announces in Layer 2.
    private let bgpPeers: Informer<KubeAPI.BGPPeer>
    private let bgpAdvertisements: Informer<BGPAdvertisement>
    private let communities: Informer<Community>
    private let bgp: BGPAnnouncer
    /// `passwordSecret` passwords by Secret (namespace/name), read once per Secret.
    private var secretPasswords: [String: String] = [:]
    /// Made in `run`, once the server's EndpointSlice version is known.
    private var slices: Informer<EndpointSlice>?
    private var machine: SpeakerStateMachine
    /// An API object or a member changed: the next pass reads them all (bursts coalesce into one pass).
    private let changed: AsyncStream<Void>
    private let changedContinuation: AsyncStream<Void>.Continuation
    /// The machine's actions, performed by one task in order.
    private let actions: AsyncStream<SpeakerStateMachine.Action>
    private let actionsContinuation: AsyncStream<SpeakerStateMachine.Action>.Continuation
    /// The one pending wake-up, and for when.
    private var timer: (deadline: Duration, task: Task<Void, Never>)?
    private var listed = false
    private var listedWaiters: [AsyncStream<Void>.Continuation] = []

    static let cachesCheck = "caches"
    static let membershipCheck = "membership"

    public init(
        client: any KubeClient, membership: any MembershipView, announcer: any AddressAnnouncer, options: Options,
        logger: Logger, readiness: Readiness = Readiness(), metricsFactory: any MetricsFactory = MetricsSystem.factory,
        clock: ElapsedClock = .continuous, bgpGroup: (any EventLoopGroup)? = nil
    ) {
        self.client = client
        self.membership = membership
        self.announcer = announcer
        self.options = options
        self.clock = clock
        var logger = logger
        logger[metadataKey: "node"] = "\(options.nodeName)"
        self.logger = logger
        self.readiness = readiness
        readiness.fail(
            Self.cachesCheck, reason: "Services, EndpointSlices, Nodes, pools and L2Advertisements not listed yet")
        readiness.fail(Self.membershipCheck, reason: "no other speaker seen yet")
        metrics = SpeakerMetrics(factory: metricsFactory)
        events = EventRecorder(client: client, component: "herald-speaker", logger: logger)
        configurationState = ConfigurationStatePublisher(
            speakerOn: options.nodeName, in: options.namespace, client: client, logger: logger)
        statuses = ServiceStatusPublisher(
            client: client, namespace: options.namespace, nodeName: options.nodeName, logger: logger)
        bgpStatuses = ServiceStatusPublisher(
            client: client, namespace: options.namespace, nodeName: options.nodeName, logger: logger)
        services = Informer(client: client, logger: logger)
        pools = Informer(client: client, namespace: options.namespace, logger: logger)
        advertisements = Informer(client: client, namespace: options.namespace, logger: logger)
        nodes = Informer(client: client, logger: logger)
        bgpPeers = Informer(client: client, namespace: options.namespace, logger: logger)
        bgpAdvertisements = Informer(client: client, namespace: options.namespace, logger: logger)
        communities = Informer(client: client, namespace: options.namespace, logger: logger)
        machine = SpeakerStateMachine(options: options.machine, interfaces: announcer.interfaceNames)
        (changed, changedContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let events = events, changedContinuation = changedContinuation
        bgp = BGPAnnouncer(
            group: bgpGroup ?? MultiThreadedEventLoopGroup.singleton, logger: logger, metricsFactory: metricsFactory
        ) { name, event in
            Self.post(event, peer: name, events: events, namespace: options.namespace, node: options.nodeName)
            // A session came up or went down: the next pass writes the ServiceBGPStatus objects again.
            changedContinuation.yield()
        }
        (actions, actionsContinuation) = AsyncStream.makeStream(of: SpeakerStateMachine.Action.self)
    }

    /// Every IP's decision, as this node last made it (for tests and `explain`).
    public var currentPlan: [IPAddress: IPAnnouncement] { machine.plan }
    /// The IPs this node answers for, with their interfaces (nil: every interface), as last applied.
    public var announcedIPs: [IPAddress: Set<String>?] { machine.announced }
    /// Stopping, and still answering until the successors are heard.
    public var isHandingOver: Bool {
        if case .handingOver = machine.phase { true } else { false }
    }
    public var phase: SpeakerStateMachine.Phase { machine.phase }
    /// When the machine is woken next (a join grace, a yield's hold or a hand-over ends), on `clock`'s time.
    public var nextDeadline: Duration? { machine.nextDeadline }

    public func run() async throws {
        let slices = Informer<EndpointSlice>(client: client, type: await endpointSliceType(), logger: logger)
        self.slices = slices
        await withDiscardingTaskGroup { group in
            group.addTask { await self.events.run() }
            group.addTask { await self.configurationState.run() }
            group.addTask { await self.statuses.run() }
            group.addTask { await self.bgpStatuses.run() }
            group.addTask { await self.watch(self.services) }
            group.addTask { await self.watch(self.pools) }
            group.addTask { await self.watch(self.advertisements) }
            group.addTask { await self.watch(self.nodes) }
            group.addTask { await self.watch(slices) }
            group.addTask { await self.watch(self.bgpPeers) }
            group.addTask { await self.watch(self.bgpAdvertisements) }
            group.addTask { await self.watch(self.communities) }
            group.addTask {
                for await _ in self.membership.changes { self.changedContinuation.yield() }
            }
            group.addTask {
                for await claim in self.announcer.claims { await self.seen(claim) }
            }
            group.addTask {
                for await names in self.announcer.interfaceChanges { await self.interfacesChanged(names) }
            }
            let performer = Task { for await action in self.actions { await self.perform(action) } }
            await cancelWhenGracefulShutdown {
                for await _ in self.changed { await self.pass() }
            }
            // BGP first: the routers move this node's traffic to the others while Layer 2 hands over.
            await bgp.stop(message: "herald-speaker on \(options.nodeName) is stopping")
            await bgpStatuses.publish([:], liveNodes: [], services: nil)
            let bgpStatuses = self.bgpStatuses
            _ = await withTimeLimit(.seconds(2)) { _ = await bgpStatuses.converge() }
            feed(.shutdownAsked)
            // Every action up to `stop` is performed, the last status withdrawal included.
            await performer.value
            timer?.task.cancel()
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
                if type == EndpointSlice.v1beta1 {
                    logger.notice("the server has no discovery.k8s.io/v1; reading EndpointSlices as v1beta1")
                }
                return type
            } catch {
                logger.warning(
                    "cannot ask the server which EndpointSlice version it serves; retrying",
                    metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                let wait = delay
                await cancelWhenGracefulShutdown { try? await Task.sleep(for: wait) }
                delay = min(delay * 2, .seconds(8))
            }
        }
        return EndpointSlice.type
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

    // MARK: Events in

    /// Reads every cache and the members, once every cache is listed, and gives the machine both together.
    private func pass() async {
        guard let slices else { return }
        guard await services.hasSynced, await pools.hasSynced, await advertisements.hasSynced, await nodes.hasSynced,
            await slices.hasSynced
        else { return }
        let members = SpeakerStateMachine.Members(
            live: await membership.liveNames(), macs: await membership.macs(),
            departed: await membership.departedNames(), links: await membership.links())
        let services = await services.objects.values
        let view = SpeakerView(
            services: services, endpointSlices: await slices.objects.values,
            pools: await pools.objects.values, advertisements: await advertisements.objects.values,
            nodes: await nodes.objects.values, members: [], loadBalancerClass: options.loadBalancerClass)
        let configuration = SpeakerStateMachine.Configuration(
            inputs: view.inputs, problems: view.problems,
            services: Set(services.map(\.serviceKey)))
        feed(.observed(configuration, members))
        let bgpProblems = await passBGP(view, services: configuration.services, liveNodes: members.live)
        if let uid = await nodes.object(forKey: options.nodeName)?.metadata.uid {
            await configurationState.setOwner(
                OwnerReference(apiVersion: "v1", kind: "Node", name: options.nodeName, uid: uid))
        }
        configurationState.post(Self.checks(problems: view.problems + bgpProblems, plan: machine.plan))
    }

    /// Plans BGP from the same view and hands each session its routes; returns what it left out. Does nothing
    /// until the BGP objects are listed.
    private func passBGP(_ view: SpeakerView, services: Set<ServiceKey>, liveNodes: Set<String>) async -> [String] {
        guard await bgpPeers.hasSynced, await bgpAdvertisements.hasSynced, await communities.hasSynced else {
            return []
        }
        let bgpView = SpeakerBGPView(
            nodeName: options.nodeName, layerTwo: view.inputs, peers: await bgpPeers.objects.values,
            advertisements: await bgpAdvertisements.objects.values, communities: await communities.objects.values)
        var passwords: [String: String] = [:]
        for settings in bgpView.peers {
            switch settings.password {
            case .inline(let text): passwords[settings.name] = text
            case .secret(let namespace, let name):
                if let password = await secretPassword(namespace: namespace, name: name) {
                    passwords[settings.name] = password
                }
            case .none: break
            }
        }
        let node = await nodes.object(forKey: options.nodeName)
        let plan = BGPAnnouncementPlanner.plan(bgpView.inputs)
        await bgp.apply(peers: bgpView.peers, passwords: passwords, node: Self.addresses(of: node), plan: plan)
        let established = Set(await bgp.statuses.filter { $0.value.state == .established }.keys)
        await bgpStatuses.publish(
            Self.bgpStatusEntries(plan, established: established), liveNodes: liveNodes,
            services: services)
        let sessionProblems = await bgp.problems.sorted { $0.key < $1.key }.map { "BGPPeer \($0.key): \($0.value)" }
        return bgpView.problems + sessionProblems
    }

    /// Per Service this node announces over BGP, the peers it goes to over an established session.
    static func bgpStatusEntries(_ plan: BGPPlan, established: Set<String>) -> [ServiceKey: [String]] {
        var entries: [ServiceKey: Set<String>] = [:]
        for decision in plan.decisions.values {
            let peers = Set(decision.peers).intersection(established)
            guard !peers.isEmpty else { continue }
            for service in decision.services { entries[service, default: []].formUnion(peers) }
        }
        return entries.mapValues { $0.sorted() }
    }

    /// The key `password` of a `kubernetes.io/basic-auth` Secret, read once (a changed Secret is read again
    /// when the speaker restarts).
    private func secretPassword(namespace: String, name: String) async -> String? {
        let key = "\(namespace)/\(name)"
        if let cached = secretPasswords[key] { return cached }
        do {
            let secret = try await client.get(Secret.self, namespace: namespace, name: name)
            guard let password = secret.value("password") else { return nil }
            secretPasswords[key] = password
            return password
        } catch {
            logger.warning("cannot read a BGP password Secret", metadata: ["secret": "\(key)", "error": "\(error)"])
            return nil
        }
    }

    /// This node's first InternalIP of each family (router ID and next hops).
    static func addresses(of node: Node?) -> BGPAnnouncer.NodeAddresses {
        var result = BGPAnnouncer.NodeAddresses()
        for address in node?.status?.addresses ?? [] where address.type == "InternalIP" {
            switch try? IPAddress(parsing: address.address) {
            case .v4(let v4): if result.v4 == nil { result.v4 = v4 }
            case .v6(let v6): if result.v6 == nil { result.v6 = v6 }
            case nil: break
            }
        }
        return result
    }

    /// An Event on the BGPPeer when its session on this node comes up or goes down.
    static func post(_ event: BGPPeerEvent, peer: String, events: EventRecorder, namespace: String, node: String) {
        let reference = Event.ObjectReference(
            apiVersion: "metallb.io/v1beta2", kind: "BGPPeer", namespace: namespace, name: peer)
        switch event {
        case .established(let negotiated):
            events.post(
                .normal, reason: "SessionEstablished",
                message: "BGP session from \(node) established (AS \(negotiated.peerAS), hold time "
                    + "\(negotiated.holdTime)s)", about: reference)
        case .down(let down):
            events.post(
                .warning, reason: "SessionDown", message: "BGP session from \(node) down: \(down.reason)",
                about: reference)
        }
    }

    /// What the speaker's ConfigurationState reports: the objects left out and the IPs the configuration
    /// forbids announcing (`configReconcilerValid`); Nodes are always read whole (`nodeReconcilerValid`).
    static func checks(problems: [String], plan: [IPAddress: IPAnnouncement]) -> [ConfigurationState.Check] {
        var config = problems
        for (ip, decision) in plan.sorted(by: { $0.key < $1.key }) {
            if case .sharedIPSelectedByService = decision.withheld { config.append("\(ip): \(decision.withheld!)") }
        }
        return [
            ConfigurationState.Check(
                type: "configReconcilerValid", problems: config,
                validMessage: "every IPAddressPool and L2Advertisement is valid"),
            ConfigurationState.Check(
                type: "nodeReconcilerValid", problems: [], validMessage: "the Node objects are valid"),
        ]
    }

    private func seen(_ claim: ForeignClaim) async {
        let macs = await membership.macs(), departed = await membership.departedNames()
        feed(.claimSeen(claim, macs: macs, departed: departed))
    }

    /// An interface came or went, or a carrier was lost or came back (the announcer has given a new responder
    /// its share already).
    private func interfacesChanged(_ names: [String]) async {
        feed(.interfacesChanged(names))
        // The others must know the new MACs as this node's, or its answers would look like a stranger's, and
        // which links lack carrier, so that they take over what this node can no longer send for.
        await membership.publish(macs: announcer.macs, links: announcer.links)
        // This node plans with its own links too, from the metadata just set.
        changedContinuation.yield()
    }

    private func deadlineReached() {
        timer = nil
        feed(.deadlineReached)
    }

    /// The machine decides at once (no suspension between the event and the queueing of its actions, so
    /// actions stay in the order of their events); then the wake-up follows its next deadline.
    private func feed(_ event: SpeakerStateMachine.Event) {
        for action in machine.handle(event, now: clock.now()) { actionsContinuation.yield(action) }
        let deadline = machine.nextDeadline
        guard deadline != timer?.deadline else { return }
        timer?.task.cancel()
        timer = deadline.map { deadline in
            (
                deadline,
                Task { [clock] in
                    guard (try? await clock.sleep(until: deadline)) != nil else { return }
                    self.deadlineReached()
                }
            )
        }
    }

    // MARK: Actions out

    private func perform(_ action: SpeakerStateMachine.Action) async {
        switch action {
        case .apply(let desired):
            let failures = await announcer.apply(desired)
            feed(.applied(failures: failures))
        case .reannounce(let ip): await announcer.reannounce(ip)
        case .watch(let ips): await announcer.watch(ips)
        case .post(let notice):
            for key in notice.services {
                guard let object = await services.object(forKey: key.description) else { continue }
                events.post(
                    notice.kind == .warning ? .warning : .normal, reason: notice.reason, message: notice.message,
                    about: object.reference)
            }
        case .publishStatuses(let update):
            await statuses.publish(update.entries, liveNodes: update.liveNodes, services: update.services)
        case .withdrawStatuses:
            // This node's status objects go with it (bounded: an absent apiserver must not hold up the exit; the
            // successors delete them then, as they would a crashed node's).
            await statuses.publish([:], liveNodes: [], services: nil)
            let statuses = self.statuses
            _ = await withTimeLimit(.seconds(2)) { _ = await statuses.converge() }
        case .log(let line):
            let metadata = line.metadata.mapValues { Logger.MetadataValue.string($0) }
            logger.log(level: line.level.logLevel, "\(line.message)", metadata: metadata)
        case .count(let counter, let amount): metrics.counter(counter).increment(by: amount)
        case .record(.announced, let value): metrics.announced.record(value)
        case .record(.invalidObjects, let value): metrics.invalidObjects.record(value)
        case .ready(.caches): readiness.pass(Self.cachesCheck)
        case .ready(.membership): readiness.pass(Self.membershipCheck)
        case .listed:
            listed = true
            for waiter in listedWaiters { waiter.finish() }
            listedWaiters = []
        case .observeAgain: changedContinuation.yield()
        case .stop: actionsContinuation.finish()
        }
    }
}

extension SpeakerStateMachine.LogLine.Level {
    var logLevel: Logger.Level {
        switch self {
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        }
    }
}
