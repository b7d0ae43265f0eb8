public import HeraldCore

/// Every decision of `herald-speaker` on one node, as a pure state machine in the shape of `Gossip.Membership`:
/// events in (the API objects and members now, a foreign claim seen on the wire, an interface change, a
/// shutdown, a deadline), with `now` as a parameter, and actions out (announce exactly this set, announce again,
/// post an Event, publish statuses, …). No I/O, no clock, no tasks: `SpeakerReconciler` feeds it and performs
/// what it returns, in order, and wakes it at `nextDeadline`.
///
/// - Nothing is announced before every cache is listed and the membership has settled (another member seen,
///   or `joinGrace` passed since the listing): a starting speaker that saw only itself would claim every IP.
/// - Every IP's owner is `AnnouncementPlanner`'s, the same answer on every node; this node announces the IPs
///   it owns and has not yielded.
/// - Conflicts on the wire (another MAC claims an IP this node announces): a live speaker's claim means one of
///   the two views is behind, so the machine plans again rather than fight; a speaker that left gracefully is
///   handing over, no conflict; otherwise `ConflictResolution` decides between the two nodes: the first-ranked
///   keeps the IP and announces it again (once per `defenceInterval` at most), the other yields it until
///   the claimant has been silent for `yieldHold`. A MAC no speaker owns loses.
/// - Shutdown is make-before-break: gossip has left already (the others are taking over), so the node keeps
///   answering each IP until another speaker's claim of it is seen, or for `handoverDelay` at most.
public struct SpeakerStateMachine: Sendable {
    public struct Options: Sendable {
        public var nodeName: String
        /// How long to wait for another member before announcing as the only one.
        public var joinGrace: Duration
        /// How long a leaving node keeps answering, at most, after its successor was told.
        public var handoverDelay: Duration
        /// How long an IP stays yielded to a higher-ranked node claiming it, after its last claim.
        public var yieldHold: Duration
        /// The shortest time between two defences of one IP: a claimant that does not yield must not start an
        /// announcement storm.
        public var defenceInterval: Duration

        public init(
            nodeName: String, joinGrace: Duration = .seconds(3), handoverDelay: Duration = .seconds(1),
            yieldHold: Duration = .seconds(3), defenceInterval: Duration = .seconds(1)
        ) {
            self.nodeName = nodeName
            self.joinGrace = joinGrace
            self.handoverDelay = handoverDelay
            self.yieldHold = yieldHold
            self.defenceInterval = defenceInterval
        }
    }

    public enum Phase: Hashable, Sendable {
        /// Not every cache is listed yet.
        case listing
        /// Listed, and no other member seen yet: announcing nothing until one is, or until `graceEnds`.
        case joining(graceEnds: Duration)
        /// Announcing what the plan gives this node.
        case serving
        /// Shutdown asked: answering what is not handed over yet, until `until` at most.
        case handingOver(until: Duration)
        /// Announcing nothing, statuses withdrawn; nothing changes any more.
        case stopped
    }

    /// The API objects as the planner needs them (members left out: they come with `Members`).
    public struct Configuration: Hashable, Sendable {
        public var inputs: AnnouncementInputs
        /// One line per object left out of planning, naming it and the field at fault.
        public var problems: [String]
        /// Every Service in the cache (status objects of the others are removed).
        public var services: Set<ServiceKey>

        public init(inputs: AnnouncementInputs, problems: [String] = [], services: Set<ServiceKey> = []) {
            self.inputs = inputs
            self.problems = problems
            self.services = services
        }
    }

    /// What gossip says of the other speakers.
    public struct Members: Hashable, Sendable {
        /// Alive or suspected (a suspect still answers until it is declared dead).
        public var live: Set<String>
        /// Which node each speaker MAC belongs to, dead members included (the other side of a partition).
        public var macs: [MACAddress: String]
        /// Members that left gracefully: they answer until they hear their successors.
        public var departed: Set<String>
        /// The interfaces each member answers on and which have no carrier (this node's own included).
        public var links: [String: NodeLinks]

        public init(
            live: Set<String> = [], macs: [MACAddress: String] = [:], departed: Set<String> = [],
            links: [String: NodeLinks] = [:]
        ) {
            self.live = live
            self.macs = macs
            self.departed = departed
            self.links = links
        }
    }

    public enum Event: Hashable, Sendable {
        /// Every cache is listed; the objects and the members now (the driver reads both on every change, so
        /// a plan never mixes a new half with an old one).
        case observed(Configuration, Members)
        /// Another MAC claims an IP this node announces or watches; `macs` and `departed` as gossip has them now.
        case claimSeen(ForeignClaim, macs: [MACAddress: String], departed: Set<String>)
        /// The announcer's interfaces now (one came or went).
        case interfacesChanged([String])
        /// The announcer applied the last set; these IPs could not be announced, and why.
        case applied(failures: [IPAddress: String])
        /// Graceful shutdown: gossip has left already.
        case shutdownAsked
        /// `nextDeadline` has come.
        case deadlineReached
    }

    public enum Action: Hashable, Sendable {
        /// Make the announced set exactly this (an IP → its interfaces; nil: every interface).
        case apply([IPAddress: Set<String>?])
        /// Announce this IP again on its interfaces, to win the neighbours back.
        case reannounce(IPAddress)
        /// Keep reporting claims of these IPs (and probing for them) without answering.
        case watch(Set<IPAddress>)
        /// A Kubernetes Event on each of these Services.
        case post(Notice)
        /// This node's `ServiceL2Status` objects: the interfaces each announced Service goes out on.
        case publishStatuses(Statuses)
        /// Remove every status object of this node (the last thing it publishes).
        case withdrawStatuses
        case log(LogLine)
        case count(Counter, by: Int)
        case record(Gauge, Int)
        /// A readiness check passes.
        case ready(ReadinessCheck)
        /// Every cache has been listed once: gossip may join.
        case listed
        /// Try again with fresh objects and members (a live speaker claims an IP: a view is behind).
        case observeAgain
        /// The machine is stopped: nothing follows.
        case stop
    }

    public struct Notice: Hashable, Sendable {
        public enum Kind: Hashable, Sendable { case normal, warning }
        public var kind: Kind
        public var reason: String
        public var message: String
        public var services: [ServiceKey]

        public init(kind: Kind, reason: String, message: String, services: [ServiceKey]) {
            self.kind = kind
            self.reason = reason
            self.message = message
            self.services = services
        }
    }

    public struct Statuses: Hashable, Sendable {
        /// Each Service of an announced IP, with the interfaces (sorted) its IPs are answered on.
        public var entries: [ServiceKey: [String]]
        /// The live members, whose status objects stay.
        public var liveNodes: Set<String>
        public var services: Set<ServiceKey>

        public init(entries: [ServiceKey: [String]], liveNodes: Set<String>, services: Set<ServiceKey>) {
            self.entries = entries
            self.liveNodes = liveNodes
            self.services = services
        }
    }

    public struct LogLine: Hashable, Sendable {
        public enum Level: Hashable, Sendable { case info, notice, warning, error }
        public var level: Level
        public var message: String
        public var metadata: [String: String]

        public init(level: Level, message: String, metadata: [String: String] = [:]) {
            self.level = level
            self.message = message
            self.metadata = metadata
        }
    }

    public enum Counter: String, Hashable, Sendable, CaseIterable {
        case gained, lost, announceFailures
        /// Conflicts, by how they ended.
        case yielded, defended, handedOver
    }

    public enum Gauge: Hashable, Sendable { case announced, invalidObjects }

    public enum ReadinessCheck: String, Hashable, Sendable { case caches, membership }

    struct Yield: Hashable, Sendable {
        var to: String
        var until: Duration
    }

    public let options: Options
    public private(set) var phase: Phase = .listing
    /// Every IP's decision, as this node last made it.
    public private(set) var plan: [IPAddress: IPAnnouncement] = [:]
    /// What this node was last told to announce.
    public private(set) var announced: [IPAddress: Set<String>?] = [:]
    private var configuration = Configuration(inputs: AnnouncementInputs())
    private var members = Members()
    /// The live members at the last plan, this node included.
    private var planned: Set<String> = []
    private var interfaces: [String]
    /// The interfaces changed since the last apply: the next applies even an unchanged set.
    private var interfacesChanged = false
    /// The IPs that could not be announced at the last apply (each reported once).
    private var failed: [IPAddress: String] = [:]
    private var reportedProblems: Set<String> = []
    /// IPs yielded to a higher-ranked claimant, until the claimant has been silent for the hold.
    private var yielded: [IPAddress: Yield] = [:]
    private var lastDefence: [IPAddress: Duration] = [:]
    /// When another live speaker last claimed each announced IP: at shutdown, those are handed over already.
    private var claimedByLiveSpeaker: [IPAddress: Duration] = [:]

    /// - Parameter interfaces: the announcer's interfaces now (what "every interface" means in the statuses).
    public init(options: Options, interfaces: [String]) {
        self.options = options
        self.interfaces = interfaces
    }

    /// The IPs yielded, and to whom.
    public var yieldedIPs: [IPAddress: String] { yielded.mapValues(\.to) }

    /// When `deadlineReached` is due next: the join grace's end, the hand-over's end, or the earliest yield's.
    public var nextDeadline: Duration? {
        switch phase {
        case .listing, .stopped: nil
        case .joining(let graceEnds): graceEnds
        case .handingOver(let until): until
        case .serving: yielded.values.map(\.until).min()
        }
    }

    public mutating func handle(_ event: Event, now: Duration) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .observed(let configuration, let members): observe(configuration, members, now: now, into: &actions)
        case .claimSeen(let claim, let macs, let departed):
            members.macs = macs
            members.departed = departed
            handle(claim, now: now, into: &actions)
        case .interfacesChanged(let names):
            interfaces = names
            interfacesChanged = true
            if phase == .serving { replan(now: now, into: &actions) }
        case .applied(let failures): record(failures, into: &actions)
        case .shutdownAsked: shutDown(now: now, into: &actions)
        case .deadlineReached: deadline(now: now, into: &actions)
        }
        return actions
    }

    // MARK: Planning

    private mutating func observe(
        _ configuration: Configuration, _ members: Members, now: Duration, into actions: inout [Action]
    ) {
        self.configuration = configuration
        self.members = members
        switch phase {
        case .listing:
            actions += [.ready(.caches), .listed]
            phase = .joining(graceEnds: now + options.joinGrace)
            if members.live.subtracting([options.nodeName]).isEmpty { return }
            settle(now: now, into: &actions)
        case .joining:
            if members.live.subtracting([options.nodeName]).isEmpty { return }
            settle(now: now, into: &actions)
        case .serving: replan(now: now, into: &actions)
        case .handingOver, .stopped: return
        }
    }

    private mutating func settle(now: Duration, into actions: inout [Action]) {
        phase = .serving
        actions.append(.ready(.membership))
        replan(now: now, into: &actions)
    }

    private mutating func replan(now: Duration, into actions: inout [Action]) {
        // This node counts itself live while it runs: after a leave the others drop it, but it keeps answering
        // until its successor took over (make-before-break).
        let live = members.live.union([options.nodeName])
        planned = live
        report(configuration.problems, into: &actions)
        var inputs = configuration.inputs
        inputs.members = live
        inputs.links = members.links
        let next = AnnouncementPlanner.plan(inputs)
        recordOwnerChanges(from: plan, to: next, into: &actions)
        recordRefusals(from: plan, to: next, live: live, into: &actions)
        plan = next
        // A yield is for a claimant the membership cannot see (the other side of a partition). Once it is a live
        // member again, the plan decides; a claimant that stays dead to the membership gets only the hold: the
        // probes it stops answering end the yield.
        let stillYielded = yielded.filter { $0.value.until > now && !live.contains($0.value.to) }
        if stillYielded.count != yielded.count {
            for (ip, yield) in yielded.sorted(by: { $0.key < $1.key }) where stillYielded[ip] == nil {
                let why = live.contains(yield.to) ? "is a live member again: the plan decides" : "stopped answering"
                actions.append(
                    .log(
                        .init(
                            level: .notice, message: "the node it was yielded to \(why)",
                            metadata: ["ip": "\(ip)", "node": yield.to])))
            }
            yielded = stillYielded
            actions.append(.watch(Set(yielded.keys)))
        }
        var desired: [IPAddress: Set<String>?] = [:]
        for (ip, decision) in next where decision.owner == options.nodeName && yielded[ip] == nil {
            desired[ip] = decision.interfaces
        }
        apply(desired, into: &actions)
    }

    /// Makes `desired` what the node announces (the driver performs the applies in order, so the last one
    /// asked for is the one that holds), and publishes the statuses that follow from it.
    private mutating func apply(_ desired: [IPAddress: Set<String>?], into actions: inout [Action]) {
        let force = interfacesChanged
        interfacesChanged = false
        guard desired != announced || force else { return }
        let gained = Set(desired.keys).subtracting(announced.keys), lost = Set(announced.keys).subtracting(desired.keys)
        for ip in lost.sorted() {
            actions.append(
                .log(
                    .init(
                        level: .notice, message: "ownership lost", metadata: ["ip": "\(ip)", "reason": lossReason(ip)]))
            )
        }
        for ip in gained.sorted() {
            let services = "\(plan[ip]?.services.map(\.description) ?? [])"
            actions.append(
                .log(
                    .init(level: .notice, message: "ownership gained", metadata: ["ip": "\(ip)", "services": services]))
            )
        }
        if !gained.isEmpty { actions.append(.count(.gained, by: gained.count)) }
        if !lost.isEmpty { actions.append(.count(.lost, by: lost.count)) }
        actions.append(.apply(desired))
        announced = desired
        lastDefence = lastDefence.filter { desired[$0.key] != nil }
        claimedByLiveSpeaker = claimedByLiveSpeaker.filter { desired[$0.key] != nil }
        actions.append(.record(.announced, desired.count))
        if phase != .stopped { actions.append(.publishStatuses(statuses)) }
    }

    /// Each Service of an announced IP, with the interfaces its IPs are answered on.
    private var statuses: Statuses {
        var entries: [ServiceKey: Set<String>] = [:]
        let present = Set(interfaces)
        for (ip, allowed) in announced {
            // The interfaces it is answered on: an L2Advertisement may name some this node does not have.
            let names = allowed?.intersection(present) ?? present
            for service in plan[ip]?.services ?? [] { entries[service, default: []].formUnion(names) }
        }
        return Statuses(
            entries: entries.mapValues { $0.sorted() }, liveNodes: planned, services: configuration.services)
    }

    /// Once per IP that newly cannot be announced: a log line, and the Services' Events say why nobody answers.
    private mutating func record(_ failures: [IPAddress: String], into actions: inout [Action]) {
        if !failures.isEmpty { actions.append(.count(.announceFailures, by: failures.count)) }
        for (ip, why) in failures.sorted(by: { $0.key < $1.key }) where failed[ip] == nil {
            actions.append(
                .log(.init(level: .error, message: "cannot announce", metadata: ["ip": "\(ip)", "error": why])))
            let message = "node \"\(options.nodeName)\" owns \(ip) but cannot announce it: \(why)"
            actions.append(
                .post(
                    .init(
                        kind: .warning, reason: "AnnounceFailed", message: message, services: plan[ip]?.services ?? []))
            )
        }
        failed = failures
    }

    private func lossReason(_ ip: IPAddress) -> String {
        switch phase {
        case .handingOver, .stopped: return "this speaker is stopping"
        default: break
        }
        if let yield = yielded[ip] { return "node \"\(yield.to)\" announces it too and ranks first" }
        guard let decision = plan[ip] else { return "no Service shows the IP any more" }
        if let withheld = decision.withheld { return withheld.description }
        if let exclusion = decision.excluded[options.nodeName] { return exclusion.description }
        return "\(decision.owner ?? "another node") ranks first"
    }

    /// The new owner tells each Service of the IP, once: `announcing 192.0.2.10 from node "b" with protocol
    /// "layer2" (was node "a": its speaker is not a live member)`.
    private func recordOwnerChanges(
        from old: [IPAddress: IPAnnouncement], to new: [IPAddress: IPAnnouncement],
        into actions: inout [Action]
    ) {
        let me = options.nodeName
        for (ip, decision) in new.sorted(by: { $0.key < $1.key }) where decision.owner == me && old[ip]?.owner != me {
            var message = "announcing \(ip) from node \"\(me)\" with protocol \"layer2\""
            if let previous = old[ip]?.owner {
                let why = decision.excluded[previous].map(\.description) ?? "\(me) now ranks first"
                message += " (was node \"\(previous)\": \(why))"
            }
            actions.append(
                .post(.init(kind: .normal, reason: "nodeAssigned", message: message, services: decision.services)))
        }
    }

    /// An IP the configuration forbids announcing (a Service selected by `serviceSelectors` that shares its
    /// IP) gets a Warning Event on its Services when that starts, from one node only: the first of the live
    /// members in the IP's ranking, so N speakers do not post N copies.
    private func recordRefusals(
        from old: [IPAddress: IPAnnouncement], to new: [IPAddress: IPAnnouncement], live: Set<String>,
        into actions: inout [Action]
    ) {
        for (ip, decision) in new.sorted(by: { $0.key < $1.key }) {
            guard case .sharedIPSelectedByService = decision.withheld, old[ip]?.withheld != decision.withheld,
                ElectionRanking.rank(live, for: decision.rankedBy).first == options.nodeName
            else { continue }
            let message = "\(ip) is not announced: \(decision.withheld!)"
            actions.append(
                .log(.init(level: .error, message: "IP not announced", metadata: ["ip": "\(ip)", "reason": message])))
            actions.append(
                .post(.init(kind: .warning, reason: "AnnounceRefused", message: message, services: decision.services)))
        }
    }

    private mutating func report(_ problems: [String], into actions: inout [Action]) {
        actions.append(.record(.invalidObjects, problems.count))
        let current = Set(problems)
        for problem in current.subtracting(reportedProblems).sorted() {
            actions.append(.log(.init(level: .error, message: "configuration left out", metadata: ["error": problem])))
        }
        reportedProblems = current
    }

    // MARK: Conflicts on the wire

    private mutating func handle(_ claim: ForeignClaim, now: Duration, into actions: inout [Action]) {
        let claimant = members.macs[claim.mac]
        if let yield = yielded[claim.ip] {
            // Yielded, and the node it went to still answers (this node's probe, or its announcements).
            if claimant == yield.to { yielded[claim.ip]?.until = now + options.yieldHold }
            return
        }
        guard announced[claim.ip] != nil, claimant != options.nodeName else { return }
        let metadata = [
            "ip": "\(claim.ip)", "mac": "\(claim.mac)", "interface": claim.interface, "claimant": claimant ?? "none",
        ]
        switch phase {
        case .handingOver:
            // Leaving, and a successor is heard: stop answering this IP now rather than at the end of the delay.
            // Only another speaker counts: a stranger's claim is no successor.
            guard claimant != nil else { return }
            actions.append(
                .log(.init(level: .notice, message: "successor announced; stopped answering", metadata: metadata)))
            actions.append(.count(.handedOver, by: 1))
            apply(announced.filter { $0.key != claim.ip }, into: &actions)
            if announced.isEmpty { finish(handedOver: true, into: &actions) }
            return
        case .serving: break
        case .listing, .joining, .stopped: return
        }
        if let claimant, members.departed.contains(claimant) {
            // A speaker that left gracefully still answers until it hears this node's announcement: hand-over,
            // not a conflict (yielding to it would leave the IP unanswered once it stops).
            return
        }
        if let claimant, planned.contains(claimant) {
            // Another live speaker announces it: one of the two views is behind (a restart, a leave, endpoints
            // moving), and gossip brings them together in milliseconds. Plan again rather than fight; if this
            // node is stopping, the IP is handed over already.
            claimedByLiveSpeaker[claim.ip] = now
            actions.append(.observeAgain)
            return
        }
        let who = claimant.map { "node \"\($0)\"" } ?? "a host that runs no Herald speaker"
        let services = plan[claim.ip]?.services ?? []
        let scores = plan[claim.ip]?.scores ?? [:]
        let rankedBy = plan[claim.ip]?.rankedBy
        switch ConflictResolution.resolve(
            ip: claim.ip, node: options.nodeName, claimant: claimant, scores: scores, rankedBy: rankedBy)
        {
        case .ignore:
            return
        case .yield:
            // Only a node the membership cannot see gets here (the other side of a partition that healed).
            guard let claimant else { return }
            yielded[claim.ip] = Yield(to: claimant, until: now + options.yieldHold)
            actions += conflict(
                .yielded, "another node announces this IP and ranks first; yielding it", metadata,
                "\(claim.ip) is also announced by \(who) (MAC \(claim.mac)), which ranks first: "
                    + "node \"\(options.nodeName)\" stops announcing it", on: services)
            actions.append(.watch(Set(yielded.keys)))
            replan(now: now, into: &actions)
        case .defend:
            if let last = lastDefence[claim.ip], now - last < options.defenceInterval { return }
            lastDefence[claim.ip] = now
            let keeps = claimant == nil ? "keeps it" : "ranks first and keeps it"
            actions += conflict(
                .defended, "another MAC announces this IP; announcing it again", metadata,
                "\(claim.ip) is also announced by \(who) (MAC \(claim.mac)): node \"\(options.nodeName)\" "
                    + "\(keeps) and announces it again", on: services)
            actions.append(.reannounce(claim.ip))
        }
    }

    /// What every resolved conflict does: a warning in the log, the counter of how it ended, an `IPConflict`
    /// Event on the IP's Services.
    private func conflict(
        _ counter: Counter, _ log: String, _ metadata: [String: String], _ event: String,
        on services: [ServiceKey]
    ) -> [Action] {
        [
            .log(.init(level: .warning, message: log, metadata: metadata)), .count(counter, by: 1),
            .post(.init(kind: .warning, reason: "IPConflict", message: event, services: services)),
        ]
    }

    // MARK: Time and shutdown

    private mutating func deadline(now: Duration, into actions: inout [Action]) {
        switch phase {
        case .joining(let graceEnds) where now >= graceEnds:
            actions.append(
                .log(
                    .init(
                        level: .notice,
                        message: "no other speaker answered within the join grace; announcing as the only member",
                        metadata: [:])))
            settle(now: now, into: &actions)
        case .handingOver(let until) where now >= until:
            finish(handedOver: false, into: &actions)
        case .serving where yielded.values.contains(where: { $0.until <= now }):
            replan(now: now, into: &actions)
        default:
            return
        }
    }

    private mutating func shutDown(now: Duration, into actions: inout [Action]) {
        switch phase {
        case .handingOver, .stopped: return
        case .listing, .joining, .serving: break
        }
        yielded = [:]
        guard !announced.isEmpty else { return finish(handedOver: false, into: &actions) }
        phase = .handingOver(until: now + options.handoverDelay)
        actions.append(
            .log(
                .init(
                    level: .notice, message: "handing over",
                    metadata: ["ips": "\(announced.count)", "delay": "\(options.handoverDelay)"])))
        // Successors heard in the moment between leaving gossip and this hand-over: already taken over.
        let recent = now - options.handoverDelay
        let heard = Set(claimedByLiveSpeaker.filter { $0.value > recent && announced[$0.key] != nil }.keys)
        guard !heard.isEmpty else { return }
        actions.append(.count(.handedOver, by: heard.count))
        apply(announced.filter { !heard.contains($0.key) }, into: &actions)
        if announced.isEmpty { finish(handedOver: false, into: &actions) }
    }

    /// Withdraws everything: announcements, then this node's status objects. Nothing follows.
    private mutating func finish(handedOver: Bool, into actions: inout [Action]) {
        if handedOver {
            actions.append(
                .log(.init(level: .notice, message: "every successor announced; handed over", metadata: [:])))
        }
        // Stopped first: the last apply publishes no statuses, and its log lines say why the IPs go.
        phase = .stopped
        apply([:], into: &actions)
        actions += [.withdrawStatuses, .stop]
    }
}
