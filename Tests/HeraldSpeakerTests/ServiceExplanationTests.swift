import Gossip
import HeraldConfig
import HeraldCore
import HeraldSpeaker
import KubeAPI
import KubeAPITesting
import Testing

/// `explain`'s text from API objects and a membership, without a cluster (the lab test runs the command).
@Suite struct ServiceExplanationTests {
    static let ip = "192.0.2.10"

    static func service(_ name: String, local: Bool = false, ip: String? = ip, type: String = "LoadBalancer") -> KubernetesService {
        var spec = KubernetesService.Spec(type: type, ports: [.init(port: 80)])
        spec.externalTrafficPolicy = local ? "Local" : "Cluster"
        return KubernetesService(metadata: ObjectMeta(name: name, namespace: "default"), spec: spec,
                                 status: .init(loadBalancer: .init(ingress: ip.map { [.init(ip: $0)] } ?? [])))
    }

    static func slice(_ service: String, on nodes: [String]) -> EndpointSlice {
        EndpointSlice(metadata: ObjectMeta(name: "\(service)-1", namespace: "default", labels: ["kubernetes.io/service-name": service]),
                      addressType: "IPv4",
                      endpoints: nodes.enumerated().map { .init(addresses: ["198.51.100.\($0.offset + 10)"], conditions: .init(ready: true), nodeName: $0.element) })
    }

    static func node(_ name: String, _ labels: [String: String] = [:]) -> Node {
        Node(metadata: ObjectMeta(name: name, labels: labels.merging(["kubernetes.io/hostname": name]) { a, _ in a }))
    }

    static func membership(_ live: [String], dead: [String] = []) -> MembershipDocument {
        MembershipDocument(node: live[0], members: live.map { Member(name: $0, address: "192.0.2.1:7946") }
            + dead.map { Member(name: $0, address: "192.0.2.2:7946", status: .dead) })
    }

    static func explain(_ object: KubernetesService, services: [KubernetesService]? = nil, slices: [EndpointSlice],
                        advertisements: [L2Advertisement] = [L2Advertisement(metadata: ObjectMeta(name: "all", namespace: "herald-system"))],
                        nodes: [Node], membership: MembershipDocument, statuses: [ServiceL2Status] = []) -> String {
        let pool = IPAddressPool(metadata: ObjectMeta(name: "web", namespace: "herald-system"), spec: .init(addresses: ["192.0.2.0/28"]))
        let view = SpeakerView(services: services ?? [object], endpointSlices: slices, pools: [pool], advertisements: advertisements,
                               nodes: nodes, members: membership.liveNames, loadBalancerClass: nil)
        return ServiceExplanation(service: object, view: view, statuses: statuses, membership: membership,
                                  membershipSource: "http://192.0.2.1:7472/membership", loadBalancerClass: nil).text
    }

    @Test func namesTheOwnerTheRankingAndWhyEachOtherNodeIsNot() throws {
        let shop = Self.service("shop", local: true)
        let nodes = [Self.node("node-a"), Self.node("node-b"), Self.node("node-c"), Self.node("node-d"),
                     Self.node("node-e", [AnnouncementPlanner.excludeLabel: ""])]
        let endpoints = ["node-a", "node-b", "node-d", "node-e"]
        let ranking = ElectionRanking.rank(["node-a", "node-b"], for: try IPAddress(parsing: Self.ip))
        let status = ServiceL2Status(metadata: ObjectMeta(name: "l2-1", namespace: "herald-system"),
                                     status: .init(node: ranking[0], serviceName: "shop", serviceNamespace: "default", interfaces: ["eth0"]))
        let text = Self.explain(shop, slices: [Self.slice("shop", on: endpoints)], nodes: nodes,
                                membership: Self.membership(["node-a", "node-b", "node-c", "node-e"], dead: ["node-d"]), statuses: [status])
        #expect(text.contains("Service default/shop (LoadBalancer, externalTrafficPolicy: Local)"), "\(text)")
        #expect(text.contains("node-d dead"), "\(text)")
        #expect(text.contains("  pool:             web"), "\(text)")
        #expect(text.contains("  L2Advertisements: all (every node; every interface)"), "\(text)")
        #expect(text.contains("  owner:            \(ranking[0]) (every interface)"), "\(text)")
        #expect(text.contains("  ServiceL2Status:  \(ranking[0]) (eth0)"), "\(text)")
        #expect(text.contains("    1. \(ranking[0])"), "\(text)")
        #expect(text.contains("    2. \(ranking[1])") && text.contains("ranks below \(ranking[0])"), "\(text)")
        #expect(text.contains("node-c") && text.contains("no ready endpoint of default/shop (externalTrafficPolicy: Local)"), "\(text)")
        #expect(text.contains("node-d                  its speaker is not a live member"), "\(text)")
        #expect(text.contains("node-e                  labelled \(AnnouncementPlanner.excludeLabel)"), "\(text)")
        #expect(!text.contains("note:"), "the status agrees with the plan: \(text)")
    }

    /// A member whose links all lack carrier says so in its metadata; `/membership` carries it and explain
    /// gives the reason.
    @Test func aNodeWithoutCarrierIsExplained() throws {
        let names = ["node-a", "node-b", "node-c"]
        let natural = ElectionRanking.rank(names, for: try IPAddress(parsing: Self.ip))[0]
        let members = names.map { name in
            Member(name: name, address: "192.0.2.1:7946",
                   metadata: SpeakerMetadata.entries(NodeLinks(interfaces: ["eth0"], withoutCarrier: name == natural ? ["eth0"] : [])))
        }
        let document = try MembershipDocument.decode(MembershipDocument(node: "node-a", members: members).json())
        #expect(document.links[natural] == NodeLinks(interfaces: ["eth0"], withoutCarrier: ["eth0"]))
        let text = Self.explain(Self.service("shop"), slices: [Self.slice("shop", on: ["node-a"])],
                                nodes: names.map { Self.node($0) }, membership: document)
        #expect(text.contains("\(natural)") && text.contains("no carrier on eth0"), "\(text)")
        #expect(!text.contains("owner:            \(natural)"), "\(text)")
    }

    /// A Node object's condition and taint, as the API has them, reach the plan and `explain`'s reasons.
    @Test func networkUnavailableAndOutOfServiceNodesAreExplained() throws {
        var unavailable = Self.node("node-b")
        unavailable.status = Node.Status(conditions: [
            .init(type: "Ready", status: "True"), .init(type: "NetworkUnavailable", status: "True"),
        ])
        var dead = Self.node("node-c")
        dead.spec = Node.Spec(taints: [.init(key: AnnouncementPlanner.outOfServiceTaint, value: "nodeshutdown", effect: "NoExecute")])
        var fine = Self.node("node-d")
        fine.status = Node.Status(conditions: [.init(type: "NetworkUnavailable", status: "False")])
        let text = Self.explain(Self.service("shop"), slices: [Self.slice("shop", on: ["node-a"])],
                                nodes: [Self.node("node-a"), unavailable, dead, fine],
                                membership: Self.membership(["node-a", "node-b", "node-c", "node-d"]))
        #expect(text.contains("node-b                  its NetworkUnavailable condition is True"), "\(text)")
        #expect(text.contains("node-c                  tainted \(AnnouncementPlanner.outOfServiceTaint)"), "\(text)")
        let ranking = ElectionRanking.rank(["node-a", "node-d"], for: try IPAddress(parsing: Self.ip))
        #expect(text.contains("  owner:            \(ranking[0])"), "\(text)")
    }

    /// serviceSelectors and preferredNodeSelectors, mapped from the API objects: the scores and the selection
    /// show in the text.
    @Test func showsPreferenceScoresAndServiceSelectors() throws {
        var shop = Self.service("shop")
        shop.metadata.labels = ["app": "shop"]
        let preferB = L2Advertisement(
            metadata: ObjectMeta(name: "prefer-b", namespace: "herald-system"),
            spec: .init(serviceSelectors: [LabelSelectorObject(matchLabels: ["app": "shop"])],
                        preferredNodeSelectors: [.init(weight: 40, preference: LabelSelectorObject(matchLabels: ["kubernetes.io/hostname": "node-b"]))]))
        let others = L2Advertisement(metadata: ObjectMeta(name: "others", namespace: "herald-system"),
                                     spec: .init(serviceSelectors: [LabelSelectorObject(matchLabels: ["app": "blog"])]))
        let nodes = [Self.node("node-a"), Self.node("node-b"), Self.node("node-c")]
        let text = Self.explain(shop, slices: [Self.slice("shop", on: ["node-a"])], advertisements: [preferB, others], nodes: nodes,
                                membership: Self.membership(["node-a", "node-b", "node-c"]))
        #expect(text.contains("prefer-b (every node; every interface; its serviceSelectors select this Service; 1 preferredNodeSelectors)"), "\(text)")
        #expect(text.contains("others (every node; every interface; its serviceSelectors do not select this Service)"), "\(text)")
        #expect(text.contains("  owner:            node-b (every interface)"), "\(text)")
        #expect(text.contains("by preference score (preferredNodeSelectors)"), "\(text)")
        #expect(text.contains("    1. node-b               score 40   owner"), "\(text)")
        #expect(text.contains("score 0    ranks below node-b"), "\(text)")
        // A bad weight leaves the advertisement out and says which field.
        var bad = preferB
        bad.spec?.preferredNodeSelectors?[0].weight = 0
        let view = SpeakerView(services: [shop], endpointSlices: [], pools: [], advertisements: [bad], nodes: nodes, members: [],
                               loadBalancerClass: nil)
        #expect(view.problems == ["L2Advertisement herald-system/prefer-b: spec.preferredNodeSelectors[0].weight: 0 is not within 1 and 100"])
    }

    @Test func saysWhyNobodyAnnouncesAndWhenTheStatusDisagrees() throws {
        let shop = Self.service("shop")
        let nodes = [Self.node("node-a"), Self.node("node-b")]
        let membership = Self.membership(["node-a", "node-b"])
        let none = Self.explain(shop, slices: [Self.slice("shop", on: [])], nodes: nodes, membership: membership)
        #expect(none.contains("announced by:     nobody: no Service on the IP has a ready endpoint"), "\(none)")
        let unadvertised = Self.explain(shop, slices: [Self.slice("shop", on: ["node-a"])], advertisements: [], nodes: nodes, membership: membership)
        #expect(unadvertised.contains("nobody: no L2Advertisement selects pool \"web\""), "\(unadvertised)")

        let ranking = ElectionRanking.rank(["node-a", "node-b"], for: try IPAddress(parsing: Self.ip))
        let stale = ServiceL2Status(metadata: ObjectMeta(name: "l2-2", namespace: "herald-system"),
                                    status: .init(node: ranking[1], serviceName: "shop", serviceNamespace: "default", interfaces: []))
        let disagreeing = Self.explain(shop, slices: [Self.slice("shop", on: ["node-a"])], nodes: nodes, membership: membership, statuses: [stale])
        #expect(disagreeing.contains("note: the status names another node than the plan"), "\(disagreeing)")

        let other = Self.service("other")
        let shared = Self.explain(shop, services: [shop, other], slices: [Self.slice("shop", on: ["node-a"])], nodes: nodes, membership: membership)
        #expect(shared.contains("  shared with:      default/other"), "\(shared)")
    }

    @Test func aServiceWithoutAnIPOrNotHeraldsSaysSo() {
        let membership = Self.membership(["node-a"])
        let pending = Self.explain(Self.service("shop", ip: nil), slices: [], nodes: [Self.node("node-a")], membership: membership)
        #expect(pending.contains("No EXTERNAL-IP yet"), "\(pending)")
        let clusterIP = Self.explain(Self.service("shop", type: "ClusterIP"), slices: [], nodes: [Self.node("node-a")], membership: membership)
        #expect(clusterIP.contains("Not Herald's"), "\(clusterIP)")
    }

    /// The library half of `explain`: the objects listed from the API, the same text as from the objects.
    @Test func theExplainerListsTheAPIAndNamesAMissingService() async throws {
        let client = InMemoryKubeClient()
        let object = Self.service("shop")
        _ = try await client.create(object)
        _ = try await client.create(Self.slice("shop", on: ["node-a"]))
        for name in ["node-a", "node-b"] { _ = try await client.create(Self.node(name)) }
        _ = try await client.create(IPAddressPool(metadata: ObjectMeta(name: "web", namespace: "herald-system"),
                                                  spec: .init(addresses: ["192.0.2.0/28"])))
        _ = try await client.create(L2Advertisement(metadata: ObjectMeta(name: "all", namespace: "herald-system")))
        let membership = Self.membership(["node-a", "node-b"])
        let explainer = ServiceExplainer(client: client, namespace: "herald-system", loadBalancerClass: nil)
        let text = try await explainer.explain(ServiceKey(namespace: "default", name: "shop"), membership: membership,
                                               membershipSource: "http://192.0.2.1:7472/membership")
        #expect(text == Self.explain(object, slices: [Self.slice("shop", on: ["node-a"])], nodes: [Self.node("node-a"), Self.node("node-b")],
                                     membership: membership))
        await #expect(throws: ServiceExplainer.Failure.self) {
            _ = try await explainer.explain(ServiceKey(namespace: "default", name: "gone"), membership: membership, membershipSource: "-")
        }
    }
}
