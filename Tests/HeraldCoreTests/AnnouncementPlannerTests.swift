import HeraldCore
import PropertyBased
import SeededRandom
import Testing

/// MetalLB's Layer 2 rules, one row each, and the promises every speaker relies on to agree without talking.
@Suite struct AnnouncementPlannerTests {
    typealias F = Fixtures

    static let web = F.pools(PoolSpec(name: "web", addresses: ["192.0.2.0/28", "2001:db8::/124"]),
                             PoolSpec(name: "quiet", addresses: ["198.51.100.0/28"]))
    static let nodes: [String: NodeDescription] = [
        "node-a": ["zone": "a"], "node-b": ["zone": "b"], "node-c": ["zone": "a"], "node-d": ["zone": "b"],
    ]
    static let everyone: Set<String> = ["node-a", "node-b", "node-c", "node-d"]

    static func inputs(services: [AnnouncedService], advertisements: [L2AdvertisementRule] = [L2AdvertisementRule(name: "all", pools: ["web"])],
                       nodes: [String: NodeDescription] = nodes, members: Set<String> = everyone) -> AnnouncementInputs {
        AnnouncementInputs(services: services, pools: web.map { PoolDescription(pool: $0, labels: ["tier": $0.name]) },
                           advertisements: advertisements, nodes: nodes, members: members)
    }

    static func service(_ name: String, _ ips: [String], policy: TrafficPolicy = .cluster, endpoints: Set<String> = ["node-a"]) -> AnnouncedService {
        AnnouncedService(service: ServiceKey(namespace: "default", name: name), ips: ips.map(F.ip), trafficPolicy: policy,
                         readyEndpointNodes: endpoints)
    }

    static func decision(_ inputs: AnnouncementInputs, _ ip: String) throws -> IPAnnouncement {
        try #require(AnnouncementPlanner.plan(inputs)[F.ip(ip)])
    }

    @Test func theOwnerIsTheFirstOfTheRankingAmongEveryQualifiedNode() throws {
        let plan = try Self.decision(Self.inputs(services: [Self.service("s", ["192.0.2.10"])]), "192.0.2.10")
        #expect(plan.ranking == ElectionRanking.rank(Self.everyone, for: F.ip("192.0.2.10")))
        #expect(plan.owner == plan.ranking.first)
        #expect(plan.pool == "web")
        #expect(plan.interfaces == nil)
        #expect(plan.excluded.isEmpty && plan.withheld == nil)
    }

    @Test func withheldWithoutAdvertisementPoolOrEndpoint() throws {
        let noAdvertisement = try Self.decision(Self.inputs(services: [Self.service("s", ["198.51.100.3"])]), "198.51.100.3")
        #expect(noAdvertisement.withheld == .noAdvertisement(pool: "quiet") && noAdvertisement.owner == nil)
        let noPool = try Self.decision(Self.inputs(services: [Self.service("s", ["203.0.113.1"])]), "203.0.113.1")
        #expect(noPool.withheld == .noPool)
        let noEndpoint = try Self.decision(Self.inputs(services: [Self.service("s", ["192.0.2.1"], endpoints: [])]), "192.0.2.1")
        #expect(noEndpoint.withheld == .noReadyEndpoint)
    }

    @Test func anAdvertisementNamingNoPoolSelectsEveryPoolAndSelectorsMatchLabels() throws {
        let all = Self.inputs(services: [Self.service("s", ["198.51.100.3"])], advertisements: [L2AdvertisementRule(name: "every")])
        #expect(try Self.decision(all, "198.51.100.3").owner != nil)
        let bySelector = Self.inputs(services: [Self.service("s", ["198.51.100.3"])],
                                     advertisements: [L2AdvertisementRule(name: "sel", poolSelectors: [LabelSelector(matchLabels: ["tier": "quiet"])])])
        #expect(try Self.decision(bySelector, "198.51.100.3").owner != nil)
    }

    @Test func nodeSelectorsLabelsAndMembershipExcludeWithReasons() throws {
        var nodes = Self.nodes
        nodes["node-d"]?.labels[AnnouncementPlanner.excludeLabel] = ""
        let inputs = Self.inputs(services: [Self.service("s", ["192.0.2.10"])],
                                 advertisements: [L2AdvertisementRule(name: "zone-b", pools: ["web"], nodeSelectors: [LabelSelector(matchLabels: ["zone": "b"])]),
                                                  L2AdvertisementRule(name: "node-c", pools: ["web"], nodeSelectors: [LabelSelector(matchLabels: ["zone": "a"])],
                                                                      interfaces: ["eth1"])],
                                 nodes: nodes, members: ["node-b", "node-c", "node-d", "ghost"])
        let plan = try Self.decision(inputs, "192.0.2.10")
        #expect(Set(plan.ranking) == ["node-b", "node-c"])
        #expect(plan.excluded == ["node-a": .notAMember, "node-d": .excludedByLabel, "ghost": .unknownNode])
        let narrow = Self.inputs(services: [Self.service("s", ["192.0.2.10"])],
                                 advertisements: [L2AdvertisementRule(name: "zone-b", pools: ["web"], nodeSelectors: [LabelSelector(matchLabels: ["zone": "b"])])])
        #expect(try Self.decision(narrow, "192.0.2.10").excluded["node-a"] == .notSelected(advertisements: ["zone-b"]))
    }

    /// MetalLB's `speakersForPool` skips a node whose network is unavailable; a node declared out of service
    /// (MetalLB #3116) is dead whatever its speaker says. Neither is a candidate, whatever selects it.
    @Test func networkUnavailableAndOutOfServiceNodesAreNoCandidates() throws {
        let ip = "192.0.2.10"
        let natural = try #require(Self.decision(Self.inputs(services: [Self.service("s", [ip])]), ip).owner)
        for (state, reason) in [
            (NodeDescription(networkUnavailable: true), NodeExclusion.networkUnavailable),
            (NodeDescription(outOfService: true), .outOfService),
        ] {
            var nodes = Self.nodes
            nodes[natural] = state
            let plan = try Self.decision(Self.inputs(services: [Self.service("s", [ip])], nodes: nodes), ip)
            #expect(plan.excluded == [natural: reason])
            #expect(plan.owner != nil && plan.owner != natural, "the next of the ranking takes it")
            #expect(plan.ranking == ElectionRanking.rank(Self.everyone.subtracting([natural]), for: F.ip(ip)))
        }
    }

    /// A node whose links for an IP all lack carrier is no candidate (Cilium #35507); a link with carrier
    /// among them, a node that does not say, or an advertisement naming only links it lacks keep it one.
    @Test func aNodeWithoutCarrierOnEveryLinkForAnIPIsNoCandidate() throws {
        let ip = "192.0.2.10"
        let natural = try #require(Self.decision(Self.inputs(services: [Self.service("s", [ip])]), ip).owner)
        let every = [L2AdvertisementRule(name: "all", pools: ["web"])]
        let onlyEth1 = [L2AdvertisementRule(name: "eth1", pools: ["web"], interfaces: ["eth1"])]
        let onlyEth9 = [L2AdvertisementRule(name: "eth9", pools: ["web"], interfaces: ["eth9"])]
        let rows: [(NodeLinks?, [L2AdvertisementRule], NodeExclusion?)] = [
            (nil, every, nil),
            (NodeLinks(interfaces: ["eth0"]), every, nil),
            (NodeLinks(interfaces: ["eth0"], withoutCarrier: ["eth0"]), every, .noCarrier(["eth0"])),
            (NodeLinks(interfaces: ["eth0", "eth1"], withoutCarrier: ["eth1"]), every, nil),
            (NodeLinks(interfaces: ["eth0", "eth1"], withoutCarrier: ["eth0", "eth1"]), every, .noCarrier(["eth0", "eth1"])),
            (NodeLinks(interfaces: ["eth0", "eth1"], withoutCarrier: ["eth1"]), onlyEth1, .noCarrier(["eth1"])),
            (NodeLinks(interfaces: ["eth0", "eth1"], withoutCarrier: ["eth0"]), onlyEth1, nil),
            (NodeLinks(interfaces: ["eth0"], withoutCarrier: ["eth0"]), onlyEth9, nil),
        ]
        for (links, advertisements, reason) in rows {
            var inputs = Self.inputs(services: [Self.service("s", [ip])], advertisements: advertisements)
            if let links { inputs.links = [natural: links] }
            let plan = try Self.decision(inputs, ip)
            #expect(plan.excluded[natural] == reason, "\(String(describing: links)) with \(advertisements.map(\.name))")
            #expect((plan.owner == natural) == (reason == nil), "the next of the ranking takes it, and only then")
        }
    }

    @Test func interfacesAreTheUnionOfTheOwnersAdvertisementsOrEveryInterface() throws {
        let two = [L2AdvertisementRule(name: "one", pools: ["web"], interfaces: ["eth0"]), L2AdvertisementRule(name: "two", interfaces: ["eth1"])]
        #expect(try Self.decision(Self.inputs(services: [Self.service("s", ["192.0.2.10"])], advertisements: two), "192.0.2.10").interfaces == ["eth0", "eth1"])
        let open = two + [L2AdvertisementRule(name: "open", pools: ["web"])]
        #expect(try Self.decision(Self.inputs(services: [Self.service("s", ["192.0.2.10"])], advertisements: open), "192.0.2.10").interfaces == nil)
    }

    @Test func localTrafficPolicyFollowsTheReadyEndpoints() throws {
        let local = Self.service("s", ["192.0.2.10"], policy: .local, endpoints: ["node-b", "node-d"])
        let plan = try Self.decision(Self.inputs(services: [local]), "192.0.2.10")
        #expect(Set(plan.ranking) == ["node-b", "node-d"])
        #expect(plan.excluded["node-a"] == .noLocalEndpoint(service: local.service))
    }

    @Test func servicesSharingAnIPElectOneOwnerAndOneWithoutEndpointsDoesNotWithholdIt() throws {
        let first = Self.service("a", ["192.0.2.5"]), second = Self.service("b", ["192.0.2.5", "2001:db8::5"], endpoints: [])
        let plan = AnnouncementPlanner.plan(Self.inputs(services: [second, first]))
        #expect(plan[F.ip("192.0.2.5")]?.services == [first.service, second.service])
        #expect(plan[F.ip("192.0.2.5")]?.owner != nil)
        #expect(plan[F.ip("2001:db8::5")]?.withheld == .noReadyEndpoint)
    }

    static func labelled(_ service: AnnouncedService, _ labels: [String: String], sharing: String? = nil) -> AnnouncedService {
        var service = service
        service.labels = labels
        service.sharingKey = sharing
        return service
    }

    @Test func serviceSelectorsChooseTheAdvertisementsOfAService() throws {
        let frontends = L2AdvertisementRule(name: "frontends", nodeSelectors: [LabelSelector(matchLabels: ["zone": "a"])],
                                            serviceSelectors: [LabelSelector(matchLabels: ["app": "shop"])])
        let web = Self.labelled(Self.service("shop", ["192.0.2.10"]), ["app": "shop"])
        let other = Self.labelled(Self.service("blog", ["192.0.2.11"]), ["app": "blog"])
        let plan = AnnouncementPlanner.plan(Self.inputs(services: [web, other], advertisements: [frontends]))
        // The shop's advertisement limits it to zone a; nothing advertises the blog.
        #expect(Set(try #require(plan[F.ip("192.0.2.10")]).ranking) == ["node-a", "node-c"])
        #expect(plan[F.ip("192.0.2.11")]?.withheld == .noAdvertisementForServices(pool: "web", advertisements: ["frontends"]))
        #expect(plan[F.ip("192.0.2.11")]?.owner == nil)
        // An advertisement without service selectors still serves every Service, alongside the selective one.
        let everyone = L2AdvertisementRule(name: "everyone", pools: ["web"])
        let both = AnnouncementPlanner.plan(Self.inputs(services: [web, other], advertisements: [frontends, everyone]))
        #expect(Set(try #require(both[F.ip("192.0.2.11")]).ranking) == Self.everyone)
        #expect(Set(try #require(both[F.ip("192.0.2.10")]).ranking) == Self.everyone)
    }

    @Test func aServiceSelectedByServiceSelectorsCannotShareItsIP() throws {
        let selective = L2AdvertisementRule(name: "frontends", serviceSelectors: [LabelSelector(matchLabels: ["app": "shop"])])
        let tcp = Self.labelled(Self.service("shop-tcp", ["192.0.2.12"]), ["app": "shop"], sharing: "shop")
        let udp = Self.labelled(Self.service("shop-udp", ["192.0.2.12"]), ["app": "shop"], sharing: "shop")
        let refused = try Self.decision(Self.inputs(services: [tcp, udp], advertisements: [selective]), "192.0.2.12")
        #expect(refused.withheld == .sharedIPSelectedByService(service: tcp.service, advertisement: "frontends"))
        #expect(refused.owner == nil && refused.ranking.isEmpty)
        #expect("\(refused.withheld!)".contains("cannot share its IP"))
        // Sharing is fine when no advertisement selects the Services by serviceSelectors.
        let plain = try Self.decision(Self.inputs(services: [tcp, udp]), "192.0.2.12")
        #expect(plain.owner != nil && plain.withheld == nil)
    }

    @Test func preferredNodesWinByScoreAndTheRankingBreaksTies() throws {
        let ip = F.ip("192.0.2.10")
        let zoneB = WeightedNodeSelector(weight: 50, preference: LabelSelector(matchLabels: ["zone": "b"]))
        let nodeD = WeightedNodeSelector(weight: 10, preference: LabelSelector(matchLabels: ["kubernetes.io/hostname": "node-d"]))
        var nodes = Self.nodes
        for name in nodes.keys { nodes[name]?.labels["kubernetes.io/hostname"] = name }
        let preferring = L2AdvertisementRule(name: "prefer", preferredNodes: [zoneB, nodeD])
        let service = Self.service("s", ["192.0.2.10"])
        let plan = try Self.decision(Self.inputs(services: [service], advertisements: [preferring], nodes: nodes), "192.0.2.10")
        #expect(plan.scores == ["node-a": 0, "node-b": 50, "node-c": 0, "node-d": 60])
        let zoneA = ElectionRanking.rank(["node-a", "node-c"], for: ip)
        #expect(plan.ranking == ["node-d", "node-b"] + zoneA)
        #expect(plan.owner == "node-d")
        // The preferred node gone: the next score; all preferred gone: any eligible node; back: it takes over.
        var without = Self.inputs(services: [service], advertisements: [preferring], nodes: nodes)
        without.members = ["node-a", "node-b", "node-c"]
        #expect(try Self.decision(without, "192.0.2.10").owner == "node-b")
        without.members = ["node-a", "node-c"]
        #expect(try Self.decision(without, "192.0.2.10").owner == zoneA.first)
        without.members = Self.everyone
        #expect(try Self.decision(without, "192.0.2.10").owner == "node-d")
        // Weights add up over the advertisements that select the node; a node an advertisement does not select
        // scores nothing from it.
        let zoneAOnly = L2AdvertisementRule(name: "a-only", nodeSelectors: [LabelSelector(matchLabels: ["zone": "a"])],
                                            preferredNodes: [WeightedNodeSelector(weight: 100, preference: LabelSelector(matchLabels: ["zone": "b"])),
                                                             WeightedNodeSelector(weight: 20, preference: LabelSelector(matchLabels: ["zone": "a"]))])
        let summed = try Self.decision(Self.inputs(services: [service], advertisements: [preferring, zoneAOnly], nodes: nodes), "192.0.2.10")
        #expect(summed.scores == ["node-a": 20, "node-b": 50, "node-c": 20, "node-d": 60])
        // Equal scores: the plain ranking.
        let flat = L2AdvertisementRule(name: "flat", preferredNodes: [WeightedNodeSelector(weight: 5, preference: LabelSelector())])
        let tied = try Self.decision(Self.inputs(services: [service], advertisements: [flat], nodes: nodes), "192.0.2.10")
        #expect(tied.ranking == ElectionRanking.rank(Self.everyone, for: ip))
        #expect(Set(tied.scores.values) == [5])
    }

    /// Random clusters: the answer does not depend on the order of the inputs; the owner is always a qualified
    /// live member; losing a member that owns nothing moves no IP (a speaker restart elsewhere changes nothing).
    /// MetalLB ranks a Service's nodes by its first IP: both IPs of a dual-stack Service have one owner, the
    /// one the IPv4 address elects, even where the IPv6 address alone would elect another; a conflict over the
    /// IPv6 address is resolved by the same ranking.
    @Test func aDualStackServiceIsRankedByItsFirstIPSoOneNodeOwnsBoth() throws {
        let v4 = "192.0.2.10"
        let v6 = try #require((0..<16).map { "2001:db8::\(String($0, radix: 16))" }.first {
            ElectionRanking.rank(Self.everyone, for: F.ip($0)).first != ElectionRanking.rank(Self.everyone, for: F.ip(v4)).first
        }, "every IPv6 address of the pool elects the IPv4 address's owner")
        let inputs = Self.inputs(services: [Self.service("dual", [v4, v6])])
        let first = try Self.decision(inputs, v4), second = try Self.decision(inputs, v6)
        #expect(first.owner == ElectionRanking.rank(Self.everyone, for: F.ip(v4)).first)
        #expect(second.owner == first.owner && second.ranking == first.ranking)
        #expect(second.rankedBy == F.ip(v4) && first.rankedBy == F.ip(v4))
        let owner = try #require(first.owner), runnerUp = first.ranking[1]
        #expect(ConflictResolution.resolve(ip: F.ip(v6), node: runnerUp, claimant: owner, rankedBy: second.rankedBy) == .yield)
        #expect(ConflictResolution.resolve(ip: F.ip(v6), node: owner, claimant: runnerUp, rankedBy: second.rankedBy) == .defend)
        // Single-stack: each IP by itself.
        let single = try Self.decision(Self.inputs(services: [Self.service("v6", [v6])]), v6)
        #expect(single.rankedBy == F.ip(v6) && single.owner == ElectionRanking.rank(Self.everyone, for: F.ip(v6)).first)
    }

    @Test func agreementAndStability() async {
        let gen = Gen<UInt64>.uint64().array(of: 1...12)
        await propertyCheck(count: 200, input: gen, Gen<UInt64>.uint64()) { seeds, shuffleSeed in
            let nodeNames = (0..<6).map { "node-\($0)" }
            var services: [AnnouncedService] = []
            for (index, seed) in seeds.enumerated() {
                let ip = "192.0.2.\(seed % 14 + 1)"
                let endpoints = Set(nodeNames.enumerated().filter { (seed >> (8 + $0.offset)) & 1 == 1 }.map(\.element))
                services.append(AnnouncedService(service: ServiceKey(namespace: "ns", name: "s\(index)"), ips: [F.ip(ip)],
                                                 trafficPolicy: (seed >> 4) & 1 == 1 ? .local : .cluster, readyEndpointNodes: endpoints))
            }
            let members = Set(nodeNames.enumerated().filter { (shuffleSeed >> $0.offset) & 3 != 0 }.map(\.element))
            let nodes = Dictionary(uniqueKeysWithValues: nodeNames.map { ($0, NodeDescription(labels: ["zone": "z\($0.count)"])) })
            let inputs = AnnouncementInputs(services: services, pools: Self.web.map { PoolDescription(pool: $0) },
                                            advertisements: [L2AdvertisementRule(name: "all")], nodes: nodes, members: members)
            let plan = AnnouncementPlanner.plan(inputs)
            var shuffled = inputs
            var generator = SeededGenerator(seed: shuffleSeed)
            shuffled.services.shuffle(using: &generator)
            #expect(AnnouncementPlanner.plan(shuffled) == plan)
            for decision in plan.values {
                guard let owner = decision.owner else { continue }
                #expect(members.contains(owner) && decision.excluded[owner] == nil)
                for service in services where service.ips.contains(decision.ip) && service.trafficPolicy == .local && !service.readyEndpointNodes.isEmpty {
                    #expect(service.readyEndpointNodes.contains(owner))
                }
            }
            let owners = Set(plan.values.compactMap(\.owner))
            guard let idle = members.sorted().first(where: { !owners.contains($0) }) else { return }
            var fewer = inputs
            fewer.members.remove(idle)
            let after = AnnouncementPlanner.plan(fewer)
            #expect(after.mapValues(\.owner) == plan.mapValues(\.owner), "removing \(idle), which owned nothing, moved an IP")
        }
    }
}
