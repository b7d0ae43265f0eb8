import ElapsedTime
import Gossip
import HeraldCore
import HeraldSpeaker
import HeraldTestSupport
import KubeAPI
import KubeAPITesting
import L2Announcer
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import SpeakerCore
import Synchronization
import Testing

/// A membership the test sets by hand; each speaker gets a view of its own, as each has its own GossipNode.
actor ScriptedMembership {
    private var names: Set<String>
    private var views: [View] = []
    /// Which node each speaker MAC belongs to (gossip metadata in the real thing).
    var macs: [MACAddress: String] = [:]

    func setMACs(_ macs: [MACAddress: String]) { self.macs = macs }

    /// Members that left gracefully.
    var departed: Set<String> = []

    func setDeparted(_ names: Set<String>) { departed = names }

    /// What each speaker told the others of its MACs (`publish(macs:links:)`), in order.
    var published: [[MACAddress]] = []
    /// What each speaker told the others of its links, in order.
    var publishedLinks: [NodeLinks] = []
    /// The links each member says it has (gossip metadata in the real thing).
    var links: [String: NodeLinks] = [:]

    func record(published macs: [MACAddress], links: NodeLinks) {
        published.append(macs)
        publishedLinks.append(links)
    }

    /// Sets what members say of their links, as gossip would bring it, and tells the views.
    func setLinks(_ links: [String: NodeLinks]) {
        self.links = links
        for view in views { view.continuation.yield(Member(name: "any", address: "192.0.2.250:7946")) }
    }

    init(_ names: Set<String>) { self.names = names }

    func liveNames() -> Set<String> { names }

    nonisolated func view() -> View { View(membership: self) }

    func register(_ view: View) { views.append(view) }

    func set(_ names: Set<String>) {
        self.names = names
        for view in views { view.continuation.yield(Member(name: "any", address: "192.0.2.250:7946")) }
    }

    struct View: MembershipView {
        let membership: ScriptedMembership
        let changes: AsyncStream<Member>
        let continuation: AsyncStream<Member>.Continuation

        init(membership: ScriptedMembership) {
            self.membership = membership
            (changes, continuation) = AsyncStream.makeStream(of: Member.self)
        }

        func liveNames() async -> Set<String> { await membership.liveNames() }

        func macs() async -> [MACAddress: String] { await membership.macs }

        func departedNames() async -> Set<String> { await membership.departed }

        func links() async -> [String: NodeLinks] { await membership.links }

        func publish(macs: [MACAddress], links: NodeLinks) async {
            await membership.record(published: macs, links: links)
        }
    }
}

/// Remembers what it was told to announce; `claim` plays another MAC's frame arriving.
actor RecordingAnnouncer: AddressAnnouncer {
    private(set) var current: [IPAddress: Set<String>?] = [:]
    private(set) var applications = 0
    private(set) var reannounced: [IPAddress] = []
    nonisolated let claims: AsyncStream<ForeignClaim>
    private nonisolated let claimed: AsyncStream<ForeignClaim>.Continuation
    nonisolated let interfaceChanges: AsyncStream<[String]>
    private nonisolated let interfacesChanged: AsyncStream<[String]>.Continuation
    private nonisolated let names = Mutex(["eth0"])
    private nonisolated let carrierless = Mutex(Set<String>())

    init() {
        (claims, claimed) = AsyncStream.makeStream(of: ForeignClaim.self)
        (interfaceChanges, interfacesChanged) = AsyncStream.makeStream(of: [String].self)
    }

    /// Plays an interface coming or going on the node.
    nonisolated func setInterfaces(_ new: [String]) {
        names.withLock { $0 = new }
        interfacesChanged.yield(new)
    }

    /// Plays a carrier lost (false) or back (true) on an interface.
    nonisolated func setCarrier(_ interface: String, _ present: Bool) {
        carrierless.withLock { if present { $0.remove(interface) } else { $0.insert(interface) } }
        interfacesChanged.yield(interfaceNames)
    }

    nonisolated var links: NodeLinks {
        NodeLinks(interfaces: Set(interfaceNames), withoutCarrier: carrierless.withLock { $0 })
    }

    nonisolated func claim(_ ip: IPAddress, by mac: MACAddress) { claimed.yield(ForeignClaim(ip: ip, mac: mac, interface: "eth0")) }

    func reannounce(_ ip: IPAddress) { reannounced.append(ip) }

    nonisolated var interfaceNames: [String] { names.withLock { $0 } }

    /// One made-up MAC per interface (02:00:5e:00:53:NN, the documentation range).
    nonisolated var macs: [MACAddress] {
        interfaceNames.indices.compactMap { try? MACAddress(parsing: "02:00:5e:00:53:\($0 < 16 ? "0" : "")\(String($0, radix: 16))") }
    }

    private(set) var watched: Set<IPAddress> = []

    func watch(_ ips: Set<IPAddress>) { watched = ips }

    func apply(_ desired: [IPAddress: Set<String>?]) -> [IPAddress: String] {
        current = desired
        applications += 1
        return [:]
    }
}

/// How many speakers have stopped, counted from their run tasks.
final class StoppedCount: Sendable {
    let count = Mutex(0)
}

/// The reconciler over the in-memory API with scripted membership: who announces, when, and what it says.
@Suite struct SpeakerReconcilerTests {
    static let ip = try! IPAddress(parsing: "192.0.2.10")
    static let nodes = ["node-a", "node-b", "node-c"]

    static func cluster(advertise: Bool = true, endpointsOn: [String] = ["node-a"], policy: String = "Cluster") async throws -> InMemoryKubeClient {
        let client = InMemoryKubeClient()
        _ = try await client.create(IPAddressPool(metadata: ObjectMeta(name: "web", namespace: "herald-system"), spec: .init(addresses: ["192.0.2.0/28"])))
        if advertise { _ = try await client.create(L2Advertisement(metadata: ObjectMeta(name: "all", namespace: "herald-system"))) }
        for node in nodes { _ = try await client.create(Node(metadata: ObjectMeta(name: node, labels: ["kubernetes.io/hostname": node]))) }
        var spec = KubernetesService.Spec(type: "LoadBalancer", ports: [.init(port: 80)])
        spec.externalTrafficPolicy = policy
        _ = try await client.create(KubernetesService(metadata: ObjectMeta(name: "shop", namespace: "default"), spec: spec,
                                                      status: .init(loadBalancer: .init(ingress: [.init(ip: ip.description)]))))
        let endpoints = endpointsOn.enumerated().map { index, node in
            EndpointSlice.Endpoint(addresses: ["198.51.100.\(index + 10)"], conditions: .init(ready: true), nodeName: node)
        }
        _ = try await client.create(EndpointSlice(metadata: ObjectMeta(name: "shop-1", namespace: "default", labels: ["kubernetes.io/service-name": "shop"]),
                                                  addressType: "IPv4", endpoints: endpoints))
        return client
    }

    struct Speaker {
        var name: String
        var reconciler: SpeakerReconciler
        var announcer: RecordingAnnouncer
    }

    /// - Parameter clock: the speakers' time; a manual clock moves only when the test says.
    static func speakers(_ client: InMemoryKubeClient, _ membership: ScriptedMembership, joinGrace: Duration = .seconds(30),
                         handoverDelay: Duration = .milliseconds(50), yieldHold: Duration = .seconds(5),
                         clock: ManualClock? = nil) async -> [Speaker] {
        var speakers: [Speaker] = []
        for name in nodes {
            var logger = Logger(label: "test.speaker.\(name)")
            logger.logLevel = .warning
            let announcer = RecordingAnnouncer()
            let view = membership.view()
            await membership.register(view)
            let reconciler = SpeakerReconciler(client: client, membership: view, announcer: announcer,
                                               options: .init(nodeName: name, joinGrace: joinGrace, handoverDelay: handoverDelay, yieldHold: yieldHold),
                                               logger: logger, clock: clock.map { ElapsedClock($0) } ?? .continuous)
            speakers.append(Speaker(name: name, reconciler: reconciler, announcer: announcer))
        }
        return speakers
    }

    /// Runs every speaker while `body` runs, then shuts them down gracefully. On a manual clock, time moves on
    /// (a minute per look) until every speaker has stopped, so the hand-overs end whatever state `body` left.
    static func running(_ speakers: [Speaker], clock: ManualClock? = nil, _ body: () async throws -> Void) async throws {
        try await testGracefulShutdown { trigger in
            let stopped = StoppedCount()
            let runs = speakers.map { speaker in
                Task {
                    defer { stopped.count.withLock { $0 += 1 } }
                    try await speaker.reconciler.run()
                }
            }
            func stop() async throws {
                trigger.triggerGracefulShutdown()
                guard let clock else { return }
                _ = try await waitFor("every speaker to stop", limit: .seconds(10), interval: .milliseconds(5)) {
                    let count = stopped.count.withLock { $0 }
                    if count < speakers.count { clock.advance(by: .seconds(60)) }
                    return (count == speakers.count ? true : nil, "\(count) of \(speakers.count) stopped")
                }
            }
            do { try await body() } catch {
                try? await stop()
                for run in runs { try? await run.value }
                throw error
            }
            try await stop()
            for run in runs { try await run.value }
        }
    }

    static func announcers(of speakers: [Speaker], for ip: IPAddress = ip) async -> [String] {
        var names: [String] = []
        for speaker in speakers where await speaker.announcer.current[ip] != nil { names.append(speaker.name) }
        return names
    }

    static func waitForOwner(_ speakers: [Speaker], _ expected: [String], _ what: String) async throws {
        _ = try await waitFor(what, limit: .seconds(10), interval: .milliseconds(5)) {
            let now = await announcers(of: speakers)
            return (now == expected ? true : nil, "announcing: \(now)")
        }
    }

    @Test func exactlyTheRankedOwnerAnnouncesAndAnotherTakesOverWhenItLeaves() async throws {
        let client = try await Self.cluster()
        let membership = ScriptedMembership(Set(Self.nodes))
        let speakers = await Self.speakers(client, membership)
        let ranking = ElectionRanking.rank(Self.nodes, for: Self.ip)
        try await Self.running(speakers) {
            try await Self.waitForOwner(speakers, [ranking[0]], "the first-ranked node to announce")
            await membership.set(Set(Self.nodes).subtracting([ranking[0]]))
            try await Self.waitForOwner(speakers, [ranking[0], ranking[1]].sorted(), "the successor to announce while the leaver keeps answering")
            let events = try await waitFor("a nodeAssigned Event", limit: .seconds(10)) {
                let events = try await client.list(Event.self, namespace: "default").items.filter { $0.reason == "nodeAssigned" }
                return (events.contains { $0.message?.contains("was node \"\(ranking[0])\"") == true } ? events : nil, "\(events.map(\.message))")
            }
            let handover = try #require(events.first { $0.message?.contains("was node") == true })
            #expect(handover.message == "announcing 192.0.2.10 from node \"\(ranking[1])\" with protocol \"layer2\" (was node \"\(ranking[0])\": its speaker is not a live member)")
            #expect(handover.involvedObject.name == "shop")
        }
        for speaker in speakers { #expect(await speaker.announcer.current.isEmpty, "\(speaker.name) still announces after shutdown") }
    }

    /// Nodes the speakers know from gossip but think dead (the other side of a partition), named so that one
    /// ranks before the owner for the IP and one after it.
    static func partitioned(around owner: String) -> (before: String, after: String) {
        let names = (1...40).map { "far-\($0)" }
        let before = names.first { ConflictResolution.resolve(ip: ip, node: owner, claimant: $0) == .yield }!
        let after = names.first { ConflictResolution.resolve(ip: ip, node: owner, claimant: $0) == .defend }!
        return (before, after)
    }

    @Test func aConflictIsResolvedByRankAndAStrangerLoses() async throws {
        let client = try await Self.cluster()
        let membership = ScriptedMembership(Set(Self.nodes))
        let clock = ManualClock()
        let speakers = await Self.speakers(client, membership, yieldHold: .seconds(1), clock: clock)
        let ranking = ElectionRanking.rank(Self.nodes, for: Self.ip)
        let owner = speakers.first { $0.name == ranking[0] }!
        let (before, after) = Self.partitioned(around: owner.name)
        let beforeMAC = MACAddress(rawValue: 0x0200_0000_00b1)!, afterMAC = MACAddress(rawValue: 0x0200_0000_00a1)!
        let stranger = MACAddress(rawValue: 0x0200_0000_00ff)!
        await membership.setMACs([beforeMAC: before, afterMAC: after])
        try await Self.running(speakers, clock: clock) {
            try await Self.waitForOwner(speakers, [owner.name], "the owner to announce")
            // A lower-ranked node claims it: the owner keeps it and announces again, once a second at most.
            owner.announcer.claim(Self.ip, by: afterMAC)
            owner.announcer.claim(Self.ip, by: afterMAC)
            _ = try await waitFor("the owner to announce again", limit: .seconds(5), interval: .milliseconds(5)) {
                let again = await owner.announcer.reannounced
                return (again == [Self.ip] ? true : nil, "\(again)")
            }
            // A MAC no speaker has: the owner keeps it too (after the once-a-second limit).
            clock.advance(by: .seconds(1))
            _ = try await waitFor("the owner to defend against a stranger", limit: .seconds(5), interval: .milliseconds(50)) {
                owner.announcer.claim(Self.ip, by: stranger)
                let again = await owner.announcer.reannounced
                return (again.count == 2 ? true : nil, "\(again)")
            }
            #expect(await Self.announcers(of: speakers) == [owner.name])
            // The same node, had it left gracefully (a drain: it answers until it hears the successor), is no
            // conflict at all: nothing is yielded.
            await membership.setDeparted([before])
            owner.announcer.claim(Self.ip, by: beforeMAC)
            // Claims are handled in order: once a later one (a defence, after the once-a-second limit) is
            // handled, so was the departed node's.
            clock.advance(by: .seconds(1))
            _ = try await waitFor("the departed node's claim handled", limit: .seconds(5), interval: .milliseconds(50)) {
                owner.announcer.claim(Self.ip, by: afterMAC)
                let again = await owner.announcer.reannounced
                return (again.count == 3 ? true : nil, "\(again)")
            }
            #expect(await Self.announcers(of: speakers) == [owner.name], "yielded to a node that left")
            await membership.setDeparted([])
            // A higher-ranked node (dead to this side) claims it: the owner yields it, then takes it back once
            // the claims stop for the hold.
            owner.announcer.claim(Self.ip, by: beforeMAC)
            try await Self.waitForOwner(speakers, [], "the owner to yield")
            #expect(await owner.announcer.watched == [Self.ip], "the yielded IP is not watched")
            // While the other keeps answering the probes, the IP stays yielded past the hold (1 s); then it stops,
            // and the hold runs out.
            for _ in 0..<4 {
                clock.advance(by: .milliseconds(400))
                owner.announcer.claim(Self.ip, by: beforeMAC)
                // Each claim pushes the hold to a time of its own: this one is handled once the deadline shows it.
                let hold = clock.now.offset + .seconds(1)
                _ = try await waitFor("the claim to push the hold back", limit: .seconds(5), interval: .milliseconds(5)) {
                    let next = await owner.reconciler.nextDeadline
                    return (next == hold ? true : nil, "next deadline \(next.map { "\($0)" } ?? "none")")
                }
                #expect(await Self.announcers(of: speakers).isEmpty, "taken back while the other still answered")
            }
            clock.advance(by: .seconds(1))
            try await Self.waitForOwner(speakers, [owner.name], "the owner to take it back after the hold")
            #expect(await owner.announcer.watched.isEmpty)
            let events = try await waitFor("IPConflict Events", limit: .seconds(10)) {
                let events = try await client.list(Event.self, namespace: "default").items.filter { $0.reason == "IPConflict" }
                return (events.count >= 3 ? events : nil, "\(events.map(\.message))")
            }
            #expect(events.allSatisfy { $0.type == "Warning" })
            #expect(events.contains { $0.message == "192.0.2.10 is also announced by node \"\(before)\" (MAC \(beforeMAC)), which ranks first: node \"\(owner.name)\" stops announcing it" })
            #expect(events.contains { $0.message == "192.0.2.10 is also announced by a host that runs no Herald speaker (MAC \(stranger)): node \"\(owner.name)\" keeps it and announces it again" })
        }
    }

    @Test func aLeavingOwnerStopsAsSoonAsItsSuccessorIsHeard() async throws {
        let client = try await Self.cluster()
        let membership = ScriptedMembership(Set(Self.nodes))
        let speakers = await Self.speakers(client, membership, handoverDelay: .seconds(60))
        let ranking = ElectionRanking.rank(Self.nodes, for: Self.ip)
        let owner = speakers.first { $0.name == ranking[0] }!
        let successorMAC = MACAddress(rawValue: 0x0200_0000_0002)!
        await membership.setMACs([successorMAC: ranking[1]])
        try await testGracefulShutdown { trigger in
            let run = Task { try await owner.reconciler.run() }
            _ = try await waitFor("the owner to announce", limit: .seconds(10), interval: .milliseconds(5)) {
                (await owner.announcer.current[Self.ip] != nil ? true : nil, "not yet")
            }
            trigger.triggerGracefulShutdown()
            // Still answering, for up to a minute, until the successor's announcement arrives.
            _ = try await waitFor("the hand-over to start", limit: .seconds(10), interval: .milliseconds(5)) {
                (await owner.reconciler.isHandingOver ? true : nil, "not yet")
            }
            #expect(await owner.announcer.current[Self.ip] != nil, "stopped before the successor was heard")
            // A stranger's claim is no successor; the next-ranked speaker's is.
            owner.announcer.claim(Self.ip, by: MACAddress(rawValue: 0x0200_0000_00ff)!)
            owner.announcer.claim(Self.ip, by: successorMAC)
            _ = try await waitFor("the hand-over to end", limit: .seconds(10), interval: .milliseconds(5)) {
                (await owner.announcer.current.isEmpty ? true : nil, "still announcing")
            }
            try await run.value
        }
    }

    static func statuses(_ client: InMemoryKubeClient) async throws -> [String] {
        try await client.list(ServiceL2Status.self, namespace: "herald-system").items
            .map { "\($0.status?.node ?? "-") \($0.status?.serviceNamespace ?? "-")/\($0.status?.serviceName ?? "-") \($0.status?.interfaces?.compactMap(\.name) ?? [])" }
            .sorted()
    }

    @Test func theAnnouncingNodePublishesAServiceL2StatusAndADeadNodesIsRemoved() async throws {
        let client = try await Self.cluster()
        // Left by a node that crashed: no live member has that name.
        _ = try await client.create(ServiceL2Status(metadata: ObjectMeta(name: "l2-left-over", namespace: "herald-system", labels: [
            ServiceL2Status.nodeLabel: "node-gone", ServiceL2Status.serviceNameLabel: "shop", ServiceL2Status.serviceNamespaceLabel: "default",
        ])))
        let membership = ScriptedMembership(Set(Self.nodes))
        let speakers = await Self.speakers(client, membership)
        let ranking = ElectionRanking.rank(Self.nodes, for: Self.ip)
        try await Self.running(speakers) {
            _ = try await waitFor("the owner's ServiceL2Status, and the dead node's gone", limit: .seconds(10), interval: .milliseconds(20)) {
                let now = try await Self.statuses(client)
                return (now == ["\(ranking[0]) default/shop [\"eth0\"]"] ? true : nil, "\(now)")
            }
            let object = try #require(try await client.list(ServiceL2Status.self, namespace: "herald-system").items.first)
            #expect(object.metadata.labels?[ServiceL2Status.nodeLabel] == ranking[0])
            // No owner reference: the Service is in another namespace, and the garbage collector would delete it.
            #expect(object.metadata.ownerReferences == nil)
            await membership.set(Set(Self.nodes).subtracting([ranking[0]]))
            _ = try await waitFor("the successor's ServiceL2Status", limit: .seconds(10), interval: .milliseconds(20)) {
                let now = try await Self.statuses(client)
                return (now.contains("\(ranking[1]) default/shop [\"eth0\"]") ? true : nil, "\(now)")
            }
        }
        // Stopped gracefully, each node removed its own.
        #expect(try await Self.statuses(client).isEmpty)
    }

    /// An interface that appears on the owner (the announcer starts a responder on it) shows in the
    /// ServiceL2Status without any change to the API objects.
    @Test func aNewInterfaceOnTheOwnerShowsInTheStatus() async throws {
        let client = try await Self.cluster()
        let membership = ScriptedMembership(Set(Self.nodes))
        let speakers = await Self.speakers(client, membership)
        let owner = try #require(speakers.first { $0.name == ElectionRanking.rank(Self.nodes, for: Self.ip)[0] })
        try await Self.running(speakers) {
            _ = try await waitFor("the owner's ServiceL2Status on eth0", limit: .seconds(10), interval: .milliseconds(20)) {
                let now = try await Self.statuses(client)
                return (now == ["\(owner.name) default/shop [\"eth0\"]"] ? true : nil, "\(now)")
            }
            owner.announcer.setInterfaces(["eth0", "eth1"])
            _ = try await waitFor("the status to list eth1 too", limit: .seconds(10), interval: .milliseconds(20)) {
                let now = try await Self.statuses(client)
                return (now == ["\(owner.name) default/shop [\"eth0\", \"eth1\"]"] ? true : nil, "\(now)")
            }
            // And the others are told the new interface's MAC is this speaker's.
            let published = await membership.published
            #expect(published.last?.count == 2, "\(published)")
        }
    }

    /// A carrier lost on the owner's only link is told to the others, and the IP goes to the next of the
    /// ranking until the carrier is back (Cilium #35507's "an owner that cannot send keeps the IP").
    @Test func anOwnerWhoseLinkLosesCarrierTellsTheOthersAndYieldsUntilItReturns() async throws {
        let client = try await Self.cluster()
        let membership = ScriptedMembership(Set(Self.nodes))
        let speakers = await Self.speakers(client, membership)
        let ranking = ElectionRanking.rank(Self.nodes, for: Self.ip)
        let owner = try #require(speakers.first { $0.name == ranking[0] })
        try await Self.running(speakers) {
            try await Self.waitForOwner(speakers, [ranking[0]], "the first of the ranking to announce")
            owner.announcer.setCarrier("eth0", false)
            let told = try await waitFor("the owner to publish eth0 without carrier", limit: .seconds(10), interval: .milliseconds(20)) {
                let links = await membership.publishedLinks.last
                return (links?.withoutCarrier == ["eth0"] ? links : nil, "\(String(describing: links))")
            }
            // Gossip brings the owner's metadata to every speaker.
            await membership.setLinks([owner.name: told])
            try await Self.waitForOwner(speakers, [ranking[1]], "the next of the ranking to take the IP")
            let excluded = await speakers[1].reconciler.currentPlan[Self.ip]?.excluded[owner.name]
            #expect(excluded == .noCarrier(["eth0"]))
            owner.announcer.setCarrier("eth0", true)
            let back = try await waitFor("the owner to publish its carrier back", limit: .seconds(10), interval: .milliseconds(20)) {
                let links = await membership.publishedLinks.last
                return (links?.withoutCarrier == [] ? links : nil, "\(String(describing: links))")
            }
            await membership.setLinks([owner.name: back])
            try await Self.waitForOwner(speakers, [ranking[0]], "the IP back on the first of the ranking")
        }
    }

    @Test func aPoolWithoutAnL2AdvertisementIsNotAnnouncedUntilOneSelectsIt() async throws {
        let client = try await Self.cluster(advertise: false)
        let membership = ScriptedMembership(Set(Self.nodes))
        let speakers = await Self.speakers(client, membership)
        try await Self.running(speakers) {
            _ = try await waitFor("every speaker to plan the IP as withheld", limit: .seconds(10)) {
                var withheld = 0
                for speaker in speakers where await speaker.reconciler.currentPlan[Self.ip]?.withheld == .noAdvertisement(pool: "web") { withheld += 1 }
                return (withheld == 3 ? true : nil, "\(withheld) of 3")
            }
            #expect(await Self.announcers(of: speakers).isEmpty)
            _ = try await client.create(L2Advertisement(metadata: ObjectMeta(name: "web", namespace: "herald-system"), spec: .init(ipAddressPools: ["web"])))
            try await Self.waitForOwner(speakers, [ElectionRanking.rank(Self.nodes, for: Self.ip)[0]], "the owner to announce once advertised")
        }
    }

    @Test func localTrafficPolicyFollowsTheEndpoints() async throws {
        let ranking = ElectionRanking.rank(Self.nodes, for: Self.ip)
        // Endpoints only on the two lower-ranked nodes: the higher of them owns.
        let client = try await Self.cluster(endpointsOn: [ranking[1], ranking[2]], policy: "Local")
        let speakers = await Self.speakers(client, ScriptedMembership(Set(Self.nodes)))
        try await Self.running(speakers) {
            try await Self.waitForOwner(speakers, [ranking[1]], "the best node with an endpoint to announce")
            _ = try await client.replace(EndpointSlice(metadata: ObjectMeta(name: "shop-1", namespace: "default", labels: ["kubernetes.io/service-name": "shop"]),
                                                       addressType: "IPv4", endpoints: [.init(addresses: ["198.51.100.20"], conditions: .init(ready: true), nodeName: ranking[2])]))
            try await Self.waitForOwner(speakers, [ranking[2]], "the owner to follow the endpoint")
        }
    }

    @Test func aStartingSpeakerAloneWaitsForTheJoinGraceAndAnAPIOutageWithdrawsNothing() async throws {
        let client = try await Self.cluster()
        let membership = ScriptedMembership(["node-a"])
        let clock = ManualClock()
        let speakers = Array(await Self.speakers(client, membership, joinGrace: .milliseconds(300), clock: clock).prefix(1))
        try await Self.running(speakers, clock: clock) {
            let reconciler = speakers[0].reconciler
            _ = try await waitFor("the lone speaker to list and wait for others", limit: .seconds(10)) {
                let phase = await reconciler.phase
                return (phase == .joining(graceEnds: .milliseconds(300)) ? true : nil, "\(phase)")
            }
            #expect(await reconciler.announcedIPs.isEmpty, "announced before the join grace ended")
            clock.advance(by: .milliseconds(300))
            _ = try await waitFor("the lone speaker to announce after the join grace", limit: .seconds(10)) {
                let announced = await reconciler.announcedIPs[Self.ip] != nil
                return (announced ? true : nil, "not yet")
            }
            await client.setOutage(KubeError(.transport, "connection refused"))
            await membership.set(["node-a"])  // a membership event during the outage replans from the caches
            _ = try await waitFor("a refused request", limit: .seconds(10)) {
                let refused = await client.refusedRequests
                return (refused > 0 ? true : nil, "none yet")
            }
            #expect(await reconciler.announcedIPs[Self.ip] != nil, "withdrawn during an apiserver outage")
            await client.setOutage(nil)
        }
    }
}
