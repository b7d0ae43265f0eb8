import HeraldCore
import SpeakerCore
import Testing

/// The speaker's rules over the pure machine, with time as a number: the listing gate and join grace, the
/// wire-conflict policy (defend, yield, hand-over) as tables, and the make-before-break shutdown.
@Suite struct SpeakerStateMachineTests {
    typealias Machine = SpeakerStateMachine
    static let ip = try! IPAddress(parsing: "192.0.2.10")
    static let nodes: Set<String> = ["node-a", "node-b", "node-c"]
    static let ranking = ElectionRanking.rank(nodes, for: ip)
    static let owner = ranking[0], second = ranking[1]
    static let service = ServiceKey(namespace: "default", name: "shop")
    static let options = Machine.Options(nodeName: owner, joinGrace: .seconds(3), handoverDelay: .seconds(1), yieldHold: .seconds(3))

    static let configuration: Machine.Configuration = {
        let pool = PoolValidator.validate([PoolSpec(name: "web", addresses: ["192.0.2.0/28"])]).pools
        let inputs = AnnouncementInputs(
            services: [AnnouncedService(service: service, ips: [ip], readyEndpointNodes: ["node-a"])],
            pools: pool.map { PoolDescription(pool: $0) }, advertisements: [L2AdvertisementRule(name: "all")],
            nodes: Dictionary(uniqueKeysWithValues: nodes.map { ($0, ["kubernetes.io/hostname": $0]) }))
        return Machine.Configuration(inputs: inputs, services: [service])
    }()

    /// Nodes gossip knows but thinks dead (the other side of a partition): one ranks before the owner for the
    /// IP, one after it. And MACs for each kind of claimant.
    static let far: (before: String, after: String) = {
        let names = (1...40).map { "far-\($0)" }
        return (names.first { ConflictResolution.resolve(ip: ip, node: owner, claimant: $0) == .yield }!,
                names.first { ConflictResolution.resolve(ip: ip, node: owner, claimant: $0) == .defend }!)
    }()
    static let mine = MACAddress(rawValue: 0x0200_0000_0001)!, secondMAC = MACAddress(rawValue: 0x0200_0000_0002)!
    static let beforeMAC = MACAddress(rawValue: 0x0200_0000_00b1)!, afterMAC = MACAddress(rawValue: 0x0200_0000_00a1)!
    static let stranger = MACAddress(rawValue: 0x0200_0000_00ff)!
    static let macs: [MACAddress: String] = [mine: owner, secondMAC: second, beforeMAC: far.before, afterMAC: far.after]
    static let members = Machine.Members(live: nodes, macs: macs)

    /// The machine and the time, as a driver would hold them.
    struct Driver {
        var machine = Machine(options: SpeakerStateMachineTests.options, interfaces: ["eth0"])
        var now = Duration.zero
        var actions: [Machine.Action] = []

        @discardableResult
        mutating func handle(_ event: Machine.Event) -> [Machine.Action] {
            let next = machine.handle(event, now: now)
            actions += next
            return next
        }

        /// Moves time on; the machine is woken if its deadline has come, as the driver's timer would.
        @discardableResult
        mutating func advance(_ duration: Duration) -> [Machine.Action] {
            now += duration
            guard let deadline = machine.nextDeadline, deadline <= now else { return [] }
            return handle(.deadlineReached)
        }

        @discardableResult
        mutating func claim(by mac: MACAddress, departed: Set<String> = []) -> [Machine.Action] {
            handle(.claimSeen(ForeignClaim(ip: SpeakerStateMachineTests.ip, mac: mac, interface: "eth0"), macs: SpeakerStateMachineTests.macs,
                              departed: departed))
        }

        /// Listed, every node live: the owner announces at once.
        static func serving() -> Driver {
            var driver = Driver()
            driver.handle(.observed(SpeakerStateMachineTests.configuration, SpeakerStateMachineTests.members))
            return driver
        }
    }

    static func applies(_ actions: [Machine.Action]) -> [[IPAddress: Set<String>?]] {
        actions.compactMap { if case .apply(let set) = $0 { set } else { nil } }
    }

    static func notices(_ actions: [Machine.Action]) -> [Machine.Notice] {
        actions.compactMap { if case .post(let notice) = $0 { notice } else { nil } }
    }

    static func counts(_ actions: [Machine.Action]) -> [Machine.Counter: Int] {
        actions.reduce(into: [:]) { if case .count(let counter, let amount) = $1 { $0[counter, default: 0] += amount } }
    }

    static let announcesIP: [IPAddress: Set<String>?] = [ip: nil]

    // MARK: Listing and join grace

    @Test func nothingIsAnnouncedBeforeTheListingAndAnotherMemberOrTheJoinGrace() {
        var alone = Driver()
        #expect(alone.machine.nextDeadline == nil && alone.machine.phase == .listing)
        let listed = alone.handle(.observed(Self.configuration, Machine.Members(live: [Self.owner])))
        #expect(listed == [.ready(.caches), .listed])
        #expect(alone.machine.phase == .joining(graceEnds: .seconds(3)) && alone.machine.nextDeadline == .seconds(3))
        #expect(Self.applies(alone.advance(.milliseconds(2999))).isEmpty)
        let graceOver = alone.advance(.milliseconds(1))
        #expect(graceOver.contains(.ready(.membership)))
        #expect(Self.applies(graceOver) == [Self.announcesIP])
        #expect(alone.machine.phase == .serving && alone.machine.nextDeadline == nil)

        // Another member seen during the grace settles it at once.
        var joined = Driver()
        joined.handle(.observed(Self.configuration, Machine.Members(live: [Self.owner])))
        joined.now = .seconds(1)
        let seen = joined.handle(.observed(Self.configuration, Self.members))
        #expect(Self.applies(seen) == [Self.announcesIP] && joined.machine.phase == .serving)
        #expect(Self.notices(seen).map(\.reason) == ["nodeAssigned"])
    }

    // MARK: Conflicts on the wire

    enum Outcome: Equatable {
        case defended(message: String)
        case yielded(message: String)
        case planAgain
        case nothing
    }

    /// Who claims the IP the owner announces, and what the owner does: MetalLB's drop-reason tables in spirit.
    @Test(arguments: [
        ("a MAC no speaker owns", stranger, Set<String>(), Outcome.defended(
            message: "192.0.2.10 is also announced by a host that runs no Herald speaker (MAC \(stranger)): node \"\(owner)\" keeps it and announces it again")),
        ("a partitioned node that ranks after the owner", afterMAC, [], .defended(
            message: "192.0.2.10 is also announced by node \"\(far.after)\" (MAC \(afterMAC)): node \"\(owner)\" ranks first and keeps it and announces it again")),
        ("a partitioned node that ranks first", beforeMAC, [], .yielded(
            message: "192.0.2.10 is also announced by node \"\(far.before)\" (MAC \(beforeMAC)), which ranks first: node \"\(owner)\" stops announcing it")),
        ("a live speaker (one view is behind)", secondMAC, [], .planAgain),
        ("a speaker that left gracefully (handing over)", beforeMAC, [far.before], .nothing),
        ("another interface of this node", mine, [], .nothing),
    ] as [(String, MACAddress, Set<String>, Outcome)])
    func aClaimIsResolvedByWhoMakesIt(_ who: String, _ mac: MACAddress, _ departed: Set<String>, _ expected: Outcome) {
        var driver = Driver.serving()
        let actions = driver.claim(by: mac, departed: departed)
        let outcome: Outcome
        if actions.contains(.reannounce(Self.ip)) {
            outcome = .defended(message: Self.notices(actions).first?.message ?? "")
            #expect(Self.counts(actions) == [.defended: 1], "\(who)")
            #expect(Self.applies(actions).isEmpty && driver.machine.announced == Self.announcesIP, "\(who)")
        } else if actions.contains(.watch([Self.ip])) {
            outcome = .yielded(message: Self.notices(actions).first?.message ?? "")
            #expect(Self.counts(actions)[.yielded] == 1, "\(who)")
            #expect(Self.applies(actions) == [[:]] && driver.machine.yieldedIPs == [Self.ip: Self.far.before], "\(who)")
        } else if actions == [.observeAgain] {
            outcome = .planAgain
        } else {
            #expect(actions.isEmpty, "\(who): \(actions)")
            outcome = .nothing
        }
        #expect(outcome == expected, "\(who)")
        #expect(Self.notices(actions).allSatisfy { $0.reason == "IPConflict" && $0.kind == .warning && $0.services == [Self.service] })
    }

    @Test func aClaimOfAnIPThisNodeDoesNotAnnounceIsNoConflict() {
        var driver = Driver()
        driver.handle(.observed(Self.configuration, Machine.Members(live: [Self.owner])))
        #expect(driver.claim(by: Self.stranger).isEmpty, "joining: nothing announced yet")
        var second = Driver(machine: Machine(options: .init(nodeName: Self.second), interfaces: ["eth0"]))
        second.handle(.observed(Self.configuration, Self.members))
        #expect(second.machine.announced.isEmpty)
        #expect(second.claim(by: Self.stranger).isEmpty)
    }

    @Test func aDefenceIsRepeatedOnceADefenceIntervalAtMost() {
        var driver = Driver.serving()
        var reannounced = 0
        for step in 0..<25 {
            if driver.claim(by: Self.stranger).contains(.reannounce(Self.ip)) { reannounced += 1 }
            if step < 24 { driver.advance(.milliseconds(100)) }
        }
        // Claims every 100 ms for 2.4 s: defences at 0, 1 and 2 s.
        #expect(reannounced == 3)
    }

    @Test func aYieldLastsWhileTheClaimantAnswersAndEndsAHoldAfterItStops() {
        var driver = Driver.serving()
        driver.claim(by: Self.beforeMAC)
        #expect(driver.machine.announced.isEmpty && driver.machine.nextDeadline == .seconds(3))
        // It answers the probes: every claim pushes the hold back.
        for _ in 0..<4 {
            #expect(Self.applies(driver.advance(.seconds(2))).isEmpty, "taken back while the other still answered")
            #expect(driver.claim(by: Self.beforeMAC).isEmpty)
        }
        #expect(driver.machine.nextDeadline == driver.now + .seconds(3))
        #expect(driver.advance(.milliseconds(2999)).isEmpty)
        let back = driver.advance(.milliseconds(1))
        #expect(Self.applies(back) == [Self.announcesIP] && back.contains(.watch([])))
        #expect(back.contains(.log(.init(level: .notice, message: "the node it was yielded to stopped answering",
                                         metadata: ["ip": "192.0.2.10", "node": Self.far.before]))))
        #expect(driver.machine.yieldedIPs.isEmpty && driver.machine.nextDeadline == nil)
    }

    @Test func aYieldEndsWhenTheClaimantIsALiveMemberAgainAndThePlanDecides() {
        var driver = Driver.serving()
        driver.claim(by: Self.beforeMAC)
        var healed = Self.members
        healed.live.insert(Self.far.before)
        let actions = driver.handle(.observed(Self.configuration, healed))
        #expect(actions.contains(.watch([])) && driver.machine.yieldedIPs.isEmpty)
        #expect(actions.contains(.log(.init(level: .notice, message: "the node it was yielded to is a live member again: the plan decides",
                                            metadata: ["ip": "192.0.2.10", "node": Self.far.before]))))
        // The plan decides: the healed node has no Node object here, so this node owns and announces the IP again.
        #expect(driver.machine.plan[Self.ip]?.excluded[Self.far.before] == .unknownNode)
        #expect(driver.machine.announced == Self.announcesIP)
    }

    // MARK: Make-before-break shutdown

    enum HandOver: Equatable {
        case stopsAtOnce
        case whenTheSuccessorIsHeard
        case atTheDelay
    }

    /// How the hand-over of an announced IP ends, by what is heard on the wire.
    @Test(arguments: [
        ("nothing announced", false, [MACAddress](), HandOver.stopsAtOnce),
        ("a live speaker claimed it just before the shutdown", true, [secondMAC], .stopsAtOnce),
        ("the successor announces during the hand-over", true, [stranger, secondMAC], .whenTheSuccessorIsHeard),
        ("only a stranger claims it", true, [stranger], .atTheDelay),
        ("nobody claims it", true, [], .atTheDelay),
    ] as [(String, Bool, [MACAddress], HandOver)])
    func theHandOverEndsWhenTheSuccessorIsHeardOrAtTheDelay(_ what: String, _ announcing: Bool, _ claims: [MACAddress],
                                                            _ expected: HandOver) {
        var driver = announcing ? Driver.serving() : Driver()
        if !announcing { driver.handle(.observed(Self.configuration, Machine.Members(live: [Self.owner]))) }
        let early = what.contains("before the shutdown")
        if early { driver.claim(by: Self.secondMAC) }
        driver.advance(.milliseconds(100))
        var actions = driver.handle(.shutdownAsked)
        var outcome: HandOver?
        if actions.contains(.stop) { outcome = .stopsAtOnce }
        if outcome == nil {
            #expect(driver.machine.phase == .handingOver(until: .milliseconds(1100)), "\(what)")
            #expect(driver.machine.announced == Self.announcesIP, "\(what): stopped before the successor was heard")
            for mac in claims where !early {
                driver.advance(.milliseconds(10))
                actions = driver.claim(by: mac)
                if actions.contains(.stop) { outcome = .whenTheSuccessorIsHeard }
            }
        }
        if outcome == nil {
            #expect(driver.advance(.milliseconds(500)).isEmpty, "\(what)")
            actions = driver.advance(.seconds(1))
            if actions.contains(.stop) { outcome = .atTheDelay }
        }
        #expect(outcome == expected, "\(what)")
        #expect(driver.machine.phase == .stopped && driver.machine.announced.isEmpty && driver.machine.nextDeadline == nil)
        #expect(Array(actions.suffix(2)) == [.withdrawStatuses, .stop], "\(what): the statuses go last")
        let handedOver = Self.counts(driver.actions)[.handedOver] ?? 0
        #expect(handedOver == (expected == .atTheDelay || !announcing ? 0 : 1), "\(what)")
        if announcing, expected == .atTheDelay {
            #expect(actions.contains(.log(.init(level: .notice, message: "ownership lost",
                                                metadata: ["ip": "192.0.2.10", "reason": "this speaker is stopping"]))))
        }
        // Stopped: nothing changes any more.
        #expect(driver.handle(.observed(Self.configuration, Self.members)).isEmpty)
        #expect(driver.claim(by: Self.stranger).isEmpty && driver.handle(.shutdownAsked).isEmpty)
    }

    // MARK: Statuses, Events, failures

    @Test func anInterfaceChangeAppliesAgainAndTheStatusesListIt() {
        var driver = Driver.serving()
        let before = driver.actions.compactMap { if case .publishStatuses(let s) = $0 { s } else { nil } }
        #expect(before.last?.entries == [Self.service: ["eth0"]] && before.last?.liveNodes == Self.nodes)
        let actions = driver.handle(.interfacesChanged(["eth0", "eth1"]))
        #expect(Self.applies(actions) == [Self.announcesIP], "the same set, applied again for the new responder")
        let after = actions.compactMap { if case .publishStatuses(let s) = $0 { s } else { nil } }
        #expect(after == [.init(entries: [Self.service: ["eth0", "eth1"]], liveNodes: Self.nodes, services: [Self.service])])
        #expect(driver.handle(.observed(Self.configuration, Self.members)).filter { Self.applies([$0]).count > 0 }.isEmpty,
                "nothing changed: no apply")
    }

    @Test func anIPThatCannotBeAnnouncedIsReportedOnce() {
        var driver = Driver.serving()
        let first = driver.handle(.applied(failures: [Self.ip: "no interface"]))
        #expect(Self.notices(first) == [.init(kind: .warning, reason: "AnnounceFailed",
                                              message: "node \"\(Self.owner)\" owns 192.0.2.10 but cannot announce it: no interface",
                                              services: [Self.service])])
        #expect(Self.notices(driver.handle(.applied(failures: [Self.ip: "no interface"]))).isEmpty)
        #expect(Self.counts(driver.actions)[.announceFailures] == 2)
    }

    @Test func theNewOwnerNamesThePreviousOneAndWhyItLostTheIP() {
        var driver = Driver(machine: Machine(options: .init(nodeName: Self.second), interfaces: ["eth0"]))
        driver.handle(.observed(Self.configuration, Self.members))
        #expect(driver.machine.announced.isEmpty)
        let actions = driver.handle(.observed(Self.configuration, Machine.Members(live: Self.nodes.subtracting([Self.owner]))))
        #expect(Self.applies(actions) == [Self.announcesIP])
        #expect(Self.notices(actions).map(\.message) == [
            "announcing 192.0.2.10 from node \"\(Self.second)\" with protocol \"layer2\" (was node \"\(Self.owner)\": its speaker is not a live member)",
        ])
        // And the old owner, told it is no longer a member, still answers: it counts itself live (make-before-break).
        var old = Driver.serving()
        #expect(Self.applies(old.handle(.observed(Self.configuration, Machine.Members(live: Self.nodes.subtracting([Self.owner]))))).isEmpty)
    }

    @Test func aBadObjectIsReportedOnceAndTheRestIsPlanned() {
        var driver = Driver()
        var configuration = Self.configuration
        configuration.problems = ["IPAddressPool herald-system/bad: spec.addresses[0]: not an address"]
        driver.handle(.observed(configuration, Self.members))
        let errors = driver.actions.filter {
            if case .log(let line) = $0 { line.level == .error } else { false }
        }
        #expect(errors.count == 1 && driver.machine.announced == Self.announcesIP)
        #expect(driver.actions.contains(.record(.invalidObjects, 1)))
        driver.handle(.observed(configuration, Self.members))
        #expect(driver.actions.filter { if case .log(let line) = $0 { line.level == .error } else { false } }.count == 1)
    }

    /// A shared IP that an advertisement selects by serviceSelectors: announced by nobody, one Warning Event from
    /// one node only (the first live member in the IP's ranking), again only after the configuration changed.
    @Test func aSharedIPSelectedByServiceSelectorsIsRefusedWithOneEvent() {
        var configuration = Self.configuration
        configuration.inputs.advertisements = [
            L2AdvertisementRule(name: "shop", serviceSelectors: [LabelSelector(matchLabels: ["app": "shop"])])
        ]
        configuration.inputs.services[0].labels = ["app": "shop"]
        configuration.inputs.services[0].sharingKey = "shop"
        var posted: [String: [Machine.Notice]] = [:]
        for node in Self.nodes {
            var driver = Driver(machine: Machine(options: .init(nodeName: node), interfaces: ["eth0"]))
            driver.handle(.observed(Self.configuration, Self.members))
            let refused = driver.handle(.observed(configuration, Self.members))
            posted[node] = Self.notices(refused).filter { $0.reason == "AnnounceRefused" }
            #expect(driver.machine.announced.isEmpty, "\(node) announces a refused IP")
            #expect(Self.notices(driver.handle(.observed(configuration, Self.members))).isEmpty, "posted twice")
        }
        #expect(posted.values.map(\.count).sorted() == [0, 0, 1])
        let notice = posted[Self.owner]?.first
        #expect(notice?.kind == .warning && notice?.services == [Self.service])
        #expect(notice?.message.contains("cannot share its IP") == true)
    }
}
