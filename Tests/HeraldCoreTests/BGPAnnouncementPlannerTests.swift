import HeraldCore
import Testing

/// MetalLB's BGP rules, one row each: every eligible node announces, to the peers that select it.
@Suite struct BGPAnnouncementPlannerTests {
    typealias F = Fixtures

    static let pools = F.pools(PoolSpec(name: "web", addresses: ["192.0.2.0/28", "2001:db8::/124"]),
                               PoolSpec(name: "quiet", addresses: ["198.51.100.0/28"]))
    static let peers = [BGPPeerRule(name: "tor-a", nodeSelectors: [LabelSelector(matchLabels: ["zone": "a"])]),
                        BGPPeerRule(name: "tor-b", nodeSelectors: [LabelSelector(matchLabels: ["zone": "b"])]),
                        BGPPeerRule(name: "core")]

    static func inputs(node: String = "node-a", labels: [String: String] = ["zone": "a"],
                       services: [AnnouncedService],
                       advertisements: [BGPAdvertisementRule] = [BGPAdvertisementRule(name: "all", pools: ["web"])])
        -> BGPPlanInputs {
        BGPPlanInputs(nodeName: node, node: NodeDescription(labels: labels), services: services,
                      pools: pools.map { PoolDescription(pool: $0, labels: ["tier": $0.name]) },
                      advertisements: advertisements, peers: peers)
    }

    static func service(_ name: String, _ ips: [String], policy: TrafficPolicy = .cluster,
                        endpoints: Set<String> = ["node-b"]) -> AnnouncedService {
        AnnouncedService(service: ServiceKey(namespace: "default", name: name), ips: ips.map(F.ip), trafficPolicy: policy,
                         readyEndpointNodes: endpoints)
    }

    @Test func everySelectedPeerGetsAHostRoute() throws {
        let plan = BGPAnnouncementPlanner.plan(Self.inputs(services: [Self.service("s", ["192.0.2.10", "2001:db8::a"])]))
        #expect(Set(plan.routes.keys) == ["tor-a", "core"], "tor-b selects zone b only")
        #expect(plan.routes["tor-a"]?.keys.map(\.description).sorted() == ["192.0.2.10/32", "2001:db8::a/128"])
        let decision = try #require(plan.decisions[F.ip("192.0.2.10")])
        #expect(decision.withheld == nil && decision.peers == ["core", "tor-a"] && decision.pool == "web")
    }

    @Test func externalTrafficPolicyLocalNeedsAnEndpointHere() throws {
        let elsewhere = BGPAnnouncementPlanner.plan(
            Self.inputs(services: [Self.service("s", ["192.0.2.10"], policy: .local, endpoints: ["node-b"])]))
        #expect(elsewhere.routes.isEmpty)
        #expect(elsewhere.decisions[F.ip("192.0.2.10")]?.withheld
                == .node(.noLocalEndpoint(service: ServiceKey(namespace: "default", name: "s"))))
        let here = BGPAnnouncementPlanner.plan(
            Self.inputs(services: [Self.service("s", ["192.0.2.10"], policy: .local, endpoints: ["node-a"])]))
        #expect(here.routes["core"]?.count == 1)
        let none = BGPAnnouncementPlanner.plan(Self.inputs(services: [Self.service("s", ["192.0.2.10"], endpoints: [])]))
        #expect(none.decisions[F.ip("192.0.2.10")]?.withheld == .noReadyEndpoint && none.routes.isEmpty)
    }

    @Test func advertisementPeersNodesAndServicesSelect() throws {
        let named = BGPAdvertisementRule(name: "core-only", pools: ["web"], peers: ["core"])
        #expect(Set(BGPAnnouncementPlanner.plan(Self.inputs(services: [Self.service("s", ["192.0.2.10"])],
                                                            advertisements: [named])).routes.keys) == ["core"])
        let zoneB = BGPAdvertisementRule(name: "zone-b", nodeSelectors: [LabelSelector(matchLabels: ["zone": "b"])])
        let notHere = BGPAnnouncementPlanner.plan(Self.inputs(services: [Self.service("s", ["192.0.2.10"])],
                                                             advertisements: [zoneB]))
        #expect(notHere.decisions[F.ip("192.0.2.10")]?.withheld == .node(.notSelected(advertisements: ["zone-b"])))
        let nobody = BGPAdvertisementRule(name: "tor-b", peers: ["tor-b"])
        #expect(BGPAnnouncementPlanner.plan(Self.inputs(services: [Self.service("s", ["192.0.2.10"])],
                                                        advertisements: [nobody])).decisions[F.ip("192.0.2.10")]?.withheld
                == .noPeer(advertisements: ["tor-b"]))
        let quietOnly = BGPAnnouncementPlanner.plan(Self.inputs(services: [Self.service("s", ["192.0.2.10"])],
                                                               advertisements: [BGPAdvertisementRule(name: "q", pools: ["quiet"])]))
        #expect(quietOnly.decisions[F.ip("192.0.2.10")]?.withheld == .noAdvertisement(pool: "web"))
        let excluded = BGPAnnouncementPlanner.plan(Self.inputs(labels: ["zone": "a", AnnouncementPlanner.excludeLabel: ""],
                                                              services: [Self.service("s", ["192.0.2.10"])]))
        #expect(excluded.decisions[F.ip("192.0.2.10")]?.withheld == .node(.excludedByLabel))
    }

    @Test func aggregationAndMergedAttributes() throws {
        let aggregate = BGPAdvertisementRule(name: "agg", pools: ["web"], aggregationLength: 28, aggregationLengthV6: 120,
                                             localPreference: 100, communities: [.standard(0xFC00_0001)])
        let tagged = BGPAdvertisementRule(name: "tag", pools: ["web"], aggregationLength: 28, localPreference: 300,
                                          communities: [.large(64512, 1, 2)])
        let plan = BGPAnnouncementPlanner.plan(Self.inputs(
            services: [Self.service("a", ["192.0.2.10"]), Self.service("b", ["192.0.2.11", "2001:db8::b"])],
            advertisements: [aggregate, tagged]))
        let routes = try #require(plan.routes["core"])
        #expect(routes.keys.map(\.description).sorted() == ["192.0.2.0/28", "2001:db8::/120", "2001:db8::b/128"])
        let merged = try #require(routes[try IPNetwork(parsing: "192.0.2.0/28")])
        #expect(merged.communities == [.standard(0xFC00_0001), .large(64512, 1, 2)] && merged.localPreference == 300)
    }

    @Test func communitiesParseMetalLBsForms() {
        #expect(BGPCommunityValue(parsing: "64512:100") == .standard(64512 << 16 | 100))
        #expect(BGPCommunityValue(parsing: "large:4200000001:1:2") == .large(4_200_000_001, 1, 2))
        #expect(BGPCommunityValue(parsing: "65536:1") == nil && BGPCommunityValue(parsing: "no-export") == nil)
        #expect(BGPCommunityValue(parsing: "large:1:2") == nil && BGPCommunityValue(parsing: "1:2:3") == nil)
        #expect(BGPCommunityValue.standard(64512 << 16 | 100).description == "64512:100")
    }
}
