/// Decides, for every IP a Service shows in its status, which node announces it and on which interfaces, and
/// why every other node does not. Every speaker runs this on the same inputs (the API objects and the live
/// gossip members) and so reaches the same answer without talking to the others; `explain` prints it.
///
/// The rules are MetalLB's Layer 2 rules:
/// - an IP is announced only if an `L2Advertisement` selects its pool (by name, by pool selector, or by
///   selecting every pool when it names none) and one of its Services (by `serviceSelectors`, or every Service
///   when it has none), and at least one Service on the IP has a ready endpoint;
/// - a Service that an advertisement selects by `serviceSelectors` cannot share its IP (MetalLB refuses it
///   too): an IP with such a Service carrying `metallb.io/allow-shared-ip` is announced by nobody, and said so;
/// - a node is a candidate when its speaker is a live member, it does not carry
///   `node.kubernetes.io/exclude-from-external-load-balancers`, its network is not `NetworkUnavailable`, it is
///   not tainted `node.kubernetes.io/out-of-service`, one of those advertisements selects it, and, for a
///   Service with `externalTrafficPolicy: Local`, it runs a ready endpoint of that Service, and not every one
///   of the interfaces it would announce on has lost its carrier (its speaker says so in its gossip metadata:
///   a node that cannot send must not keep the IP, Cilium #35507);
/// - the candidates are ordered by their preference score (the weights of the advertisements'
///   `preferredNodeSelectors` that match the node, summed over the advertisements that select it), highest
///   first, and within one score by `ElectionRanking` for the IP — for a dual-stack Service, for its first IP,
///   as MetalLB does, so both of its IPs have the same owner; the first is the owner. A preferred node that
///   comes back takes the IP back; with no preferred node available any candidate announces.
public enum AnnouncementPlanner {
    public static let excludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers"
    /// The taint of a node an operator declared dead (Kubernetes' non-graceful node shutdown): its pods are
    /// gone or going, so it announces nothing, whatever the taint's effect.
    public static let outOfServiceTaint = "node.kubernetes.io/out-of-service"

    public static func plan(_ inputs: AnnouncementInputs) -> [IPAddress: IPAnnouncement] {
        var servicesByIP: [IPAddress: [AnnouncedService]] = [:]
        for service in inputs.services {
            for ip in Set(service.ips) { servicesByIP[ip, default: []].append(service) }
        }
        var plan: [IPAddress: IPAnnouncement] = [:]
        for (ip, services) in servicesByIP {
            plan[ip] = decide(ip, services: services.sorted { $0.service < $1.service }, inputs)
        }
        return plan
    }

    static func decide(_ ip: IPAddress, services: [AnnouncedService], _ inputs: AnnouncementInputs) -> IPAnnouncement {
        var decision = IPAnnouncement(ip: ip, services: services.map(\.service))
        guard let pool = pool(of: ip, services: services, inputs) else {
            decision.withheld = .noPool
            return decision
        }
        decision.pool = pool.name
        let forPool = inputs.advertisements.filter { $0.selects(pool: pool.name, labels: pool.labels) }
        guard !forPool.isEmpty else {
            decision.withheld = .noAdvertisement(pool: pool.name)
            return decision
        }
        let advertisements = forPool.filter { advertisement in
            services.contains { advertisement.selects(serviceLabels: $0.labels) }
        }
        guard !advertisements.isEmpty else {
            decision.withheld = .noAdvertisementForServices(pool: pool.name, advertisements: forPool.map(\.name))
            return decision
        }
        for service in services where service.sharingKey != nil {
            if let selecting = advertisements.first(where: {
                !$0.serviceSelectors.isEmpty && $0.selects(serviceLabels: service.labels)
            }) {
                decision.withheld = .sharedIPSelectedByService(service: service.service, advertisement: selecting.name)
                return decision
            }
        }
        let serving = services.filter { !$0.readyEndpointNodes.isEmpty }
        guard !serving.isEmpty else {
            decision.withheld = .noReadyEndpoint
            return decision
        }
        let nodes = Set(inputs.nodes.keys).union(inputs.members).sorted()
        var candidates: [String] = []
        for node in nodes {
            if let reason = exclusion(of: node, advertisements: advertisements, serving: serving, inputs) {
                decision.excluded[node] = reason
            } else {
                candidates.append(node)
            }
        }
        decision.scores = scores(of: nodes, advertisements: advertisements, inputs)
        decision.rankedBy = rankingAddress(of: ip, services: services)
        decision.ranking = rank(candidates, for: decision.rankedBy, scores: decision.scores)
        guard let owner = decision.ranking.first else {
            decision.withheld = .noCandidate
            return decision
        }
        decision.owner = owner
        decision.interfaces = interfaces(of: owner, advertisements: advertisements, inputs)
        return decision
    }

    /// The address whose `ElectionRanking` orders `ip`'s candidates: the first IP of its first Service (by
    /// key). That is `ip` itself for a single-stack Service; for a dual-stack one it is the primary family's IP
    /// for both, as in MetalLB ("using the first IP should work for both single and dual stack"), so the two
    /// IPs stay on one node and a cluster moving from MetalLB keeps both where they were.
    static func rankingAddress(of ip: IPAddress, services: [AnnouncedService]) -> IPAddress {
        services.first?.ips.first ?? ip
    }

    /// `nodes` by preference score, highest first, then by `ElectionRanking` for `ip`: the same order on every
    /// node. Scores absent count as 0.
    public static func rank(_ nodes: some Collection<String>, for ip: IPAddress, scores: [String: Int]) -> [String] {
        let ranked = ElectionRanking.rank(nodes, for: ip)
        guard !scores.isEmpty else { return ranked }
        let position = Dictionary(ranked.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return ranked.sorted { a, b in
            let (scoreA, scoreB) = (scores[a] ?? 0, scores[b] ?? 0)
            return scoreA != scoreB ? scoreA > scoreB : position[a]! < position[b]!
        }
    }

    /// Each node's preference score: for every advertisement that selects the node, the weights of its
    /// `preferredNodeSelectors` whose preference matches the node, added up. Empty when no advertisement has
    /// preferences (every score 0: the ranking alone decides). Nodes the cluster does not know are left out.
    static func scores(
        of nodes: [String], advertisements: [L2AdvertisementRule], _ inputs: AnnouncementInputs
    ) -> [String: Int] {
        guard advertisements.contains(where: { !$0.preferredNodes.isEmpty }) else { return [:] }
        var scores: [String: Int] = [:]
        for node in nodes {
            guard let labels = inputs.nodes[node]?.labels else { continue }
            var score = 0
            for advertisement in advertisements where advertisement.selects(nodeLabels: labels) {
                for preferred in advertisement.preferredNodes where preferred.preference.matches(labels) {
                    score += preferred.weight
                }
            }
            scores[node] = score
        }
        return scores
    }

    /// The pool the controller wrote into the annotation, else the one whose ranges hold the IP.
    static func pool(of ip: IPAddress, services: [AnnouncedService], _ inputs: AnnouncementInputs) -> PoolDescription? {
        PoolDescription.owning(ip, services: services, pools: inputs.pools)
    }

    static func exclusion(
        of node: String, advertisements: [L2AdvertisementRule], serving: [AnnouncedService],
        _ inputs: AnnouncementInputs
    ) -> NodeExclusion? {
        guard inputs.members.contains(node) else { return .notAMember }
        guard let description = inputs.nodes[node] else { return .unknownNode }
        let labels = description.labels
        if labels[excludeLabel] != nil { return .excludedByLabel }
        if description.networkUnavailable { return .networkUnavailable }
        if description.outOfService { return .outOfService }
        guard advertisements.contains(where: { $0.selects(nodeLabels: labels) }) else {
            return .notSelected(advertisements: advertisements.map(\.name).sorted())
        }
        if let local = serving.first(where: { $0.trafficPolicy == .local && !$0.readyEndpointNodes.contains(node) }) {
            return .noLocalEndpoint(service: local.service)
        }
        if let links = inputs.links[node] {
            let allowed = interfaces(of: node, advertisements: advertisements, inputs)
            let usable = allowed.map { $0.intersection(links.interfaces) } ?? links.interfaces
            // Only when it has some of them: an advertisement naming interfaces the node lacks is reported by
            // that node's speaker (AnnounceFailed), as before.
            if !usable.isEmpty && usable.isSubset(of: links.withoutCarrier) { return .noCarrier(usable.sorted()) }
        }
        return nil
    }

    /// The owner's interfaces: those of the advertisements that select it; nil (every interface) when one of
    /// them names none.
    static func interfaces(
        of node: String, advertisements: [L2AdvertisementRule], _ inputs: AnnouncementInputs
    ) -> Set<String>? {
        let labels = inputs.nodes[node]?.labels ?? [:]
        var names: Set<String> = []
        for advertisement in advertisements where advertisement.selects(nodeLabels: labels) {
            if advertisement.interfaces.isEmpty { return nil }
            names.formUnion(advertisement.interfaces)
        }
        return names
    }
}

/// Everything the planner reads: Services with their IPs and endpoints, pools, L2Advertisements, Nodes and
/// the live gossip members (node names) with the links each says it has.
public struct AnnouncementInputs: Hashable, Sendable {
    public var services: [AnnouncedService]
    public var pools: [PoolDescription]
    public var advertisements: [L2AdvertisementRule]
    public var nodes: [String: NodeDescription]
    public var members: Set<String>
    /// The interfaces each member answers on and which of them have no carrier, from its gossip metadata. A
    /// member absent here (a speaker that does not say) is taken to have carrier everywhere.
    public var links: [String: NodeLinks]

    public init(
        services: [AnnouncedService] = [], pools: [PoolDescription] = [], advertisements: [L2AdvertisementRule] = [],
        nodes: [String: NodeDescription] = [:], members: Set<String> = [], links: [String: NodeLinks] = [:]
    ) {
        self.services = services
        self.pools = pools
        self.advertisements = advertisements
        self.nodes = nodes
        self.members = members
        self.links = links
    }
}

/// A speaker's interfaces as it tells the others: those it answers on, and those of them whose link has no
/// carrier (frames sent there reach nobody).
public struct NodeLinks: Hashable, Sendable {
    public var interfaces: Set<String>
    public var withoutCarrier: Set<String>

    public init(interfaces: Set<String>, withoutCarrier: Set<String> = []) {
        self.interfaces = interfaces
        self.withoutCarrier = withoutCarrier.intersection(interfaces)
    }
}

/// A Node as the planner sees it: its labels (for `nodeSelectors` and the exclusion label) and the two
/// states that make it no candidate whatever selects it. A dictionary literal is its labels.
public struct NodeDescription: Hashable, Sendable, ExpressibleByDictionaryLiteral {
    public var labels: [String: String]
    /// Its `NetworkUnavailable` condition is `True`: the node's network is not set up (MetalLB skips it too).
    public var networkUnavailable: Bool
    /// Tainted `node.kubernetes.io/out-of-service` (MetalLB #3116).
    public var outOfService: Bool

    public init(labels: [String: String] = [:], networkUnavailable: Bool = false, outOfService: Bool = false) {
        self.labels = labels
        self.networkUnavailable = networkUnavailable
        self.outOfService = outOfService
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(labels: Dictionary(elements, uniquingKeysWith: { $1 }))
    }
}

/// A LoadBalancer Service as the speakers see it: the IPs in its status and where its ready endpoints run.
public struct AnnouncedService: Hashable, Sendable {
    public var service: ServiceKey
    public var ips: [IPAddress]
    /// `metallb.io/ip-allocated-from-pool`, if the controller wrote it.
    public var pool: String?
    public var trafficPolicy: TrafficPolicy
    /// Nodes running at least one ready endpoint of the Service.
    public var readyEndpointNodes: Set<String>
    /// The Service's labels (for `serviceSelectors`).
    public var labels: [String: String]
    /// `metallb.io/allow-shared-ip`, nil when the Service does not share its IP.
    public var sharingKey: String?

    public init(
        service: ServiceKey, ips: [IPAddress], pool: String? = nil, trafficPolicy: TrafficPolicy = .cluster,
        readyEndpointNodes: Set<String>, labels: [String: String] = [:], sharingKey: String? = nil
    ) {
        self.service = service
        self.ips = ips
        self.pool = pool
        self.trafficPolicy = trafficPolicy
        self.readyEndpointNodes = readyEndpointNodes
        self.labels = labels
        self.sharingKey = sharingKey
    }
}

/// A pool and its labels (for `ipAddressPoolSelectors`).
public struct PoolDescription: Hashable, Sendable {
    public var pool: AddressPool
    public var labels: [String: String]
    public var name: String { pool.name }

    public init(pool: AddressPool, labels: [String: String] = [:]) {
        self.pool = pool
        self.labels = labels
    }

    /// The pool of `ip`: the one the controller wrote into a Service's annotation, else the first by name whose
    /// ranges hold it.
    static func owning(_ ip: IPAddress, services: [AnnouncedService], pools: [PoolDescription]) -> PoolDescription? {
        for service in services {
            if let name = service.pool, let pool = pools.first(where: { $0.name == name }), pool.pool.contains(ip) {
                return pool
            }
        }
        return pools.sorted { $0.name < $1.name }.first { $0.pool.contains(ip) }
    }
}

/// One `L2Advertisement`'s selection.
public struct L2AdvertisementRule: Hashable, Sendable, AdvertisementSelection {
    public var name: String
    public var pools: [String]
    public var poolSelectors: [LabelSelector]
    public var nodeSelectors: [LabelSelector]
    /// Empty: every interface.
    public var interfaces: [String]
    /// Empty: every Service.
    public var serviceSelectors: [LabelSelector]
    /// `preferredNodeSelectors`: soft preferences among the nodes `nodeSelectors` allows.
    public var preferredNodes: [WeightedNodeSelector]

    public init(
        name: String, pools: [String] = [], poolSelectors: [LabelSelector] = [], nodeSelectors: [LabelSelector] = [],
        interfaces: [String] = [], serviceSelectors: [LabelSelector] = [], preferredNodes: [WeightedNodeSelector] = []
    ) {
        self.name = name
        self.pools = pools
        self.poolSelectors = poolSelectors
        self.nodeSelectors = nodeSelectors
        self.interfaces = interfaces
        self.serviceSelectors = serviceSelectors
        self.preferredNodes = preferredNodes
    }

}

/// MetalLB's selection rules, shared by L2Advertisement and BGPAdvertisement: which pools, Services and
/// nodes an advertisement applies to.
public protocol AdvertisementSelection {
    var pools: [String] { get }
    var poolSelectors: [LabelSelector] { get }
    var nodeSelectors: [LabelSelector] { get }
    var serviceSelectors: [LabelSelector] { get }
}

extension AdvertisementSelection {
    /// An advertisement without service selectors applies to every Service.
    public func selects(serviceLabels: [String: String]) -> Bool {
        serviceSelectors.isEmpty || serviceSelectors.contains { $0.matches(serviceLabels) }
    }

    /// An advertisement that names no pool and no pool selector selects every pool.
    public func selects(pool: String, labels: [String: String]) -> Bool {
        if pools.isEmpty && poolSelectors.isEmpty { return true }
        return pools.contains(pool) || poolSelectors.contains { $0.matches(labels) }
    }

    /// An advertisement without node selectors selects every node.
    public func selects(nodeLabels: [String: String]) -> Bool {
        nodeSelectors.isEmpty || nodeSelectors.contains { $0.matches(nodeLabels) }
    }
}

/// One `preferredNodeSelectors` entry: a node that `preference` matches scores `weight`.
public struct WeightedNodeSelector: Hashable, Sendable {
    /// 1–100, as MetalLB's schema allows.
    public var weight: Int
    public var preference: LabelSelector

    public init(weight: Int, preference: LabelSelector) {
        self.weight = weight
        self.preference = preference
    }
}

/// The decision for one IP.
public struct IPAnnouncement: Hashable, Sendable {
    public var ip: IPAddress
    public var services: [ServiceKey]
    public var pool: String?
    /// Candidates from the owner down.
    public var ranking: [String] = []
    /// Each known node's preference score (`preferredNodeSelectors`), candidate or not; empty when no
    /// advertisement for the IP has preferences.
    public var scores: [String: Int] = [:]
    /// The address whose `ElectionRanking` ordered the candidates: `ip`, or the first IP of its dual-stack
    /// Service. A conflict over `ip` is resolved by the same ranking.
    public var rankedBy: IPAddress
    public var owner: String?
    /// The owner's interfaces; nil: every interface.
    public var interfaces: Set<String>?
    /// Why each node that is not a candidate is not.
    public var excluded: [String: NodeExclusion] = [:]
    /// Why nobody announces the IP, when nobody does.
    public var withheld: Withheld?

    public init(ip: IPAddress, services: [ServiceKey]) {
        self.ip = ip
        self.rankedBy = ip
        self.services = services
    }

    public enum Withheld: Hashable, Sendable, CustomStringConvertible {
        case noPool
        case noAdvertisement(pool: String)
        /// Advertisements select the pool, but by `serviceSelectors` none of the IP's Services.
        case noAdvertisementForServices(pool: String, advertisements: [String])
        /// A Service on the IP shares it and an advertisement selects it by `serviceSelectors`.
        case sharedIPSelectedByService(service: ServiceKey, advertisement: String)
        case noReadyEndpoint
        case noCandidate

        public var description: String {
            switch self {
            case .noPool: "no IPAddressPool holds the IP"
            case .noAdvertisement(let pool): "no L2Advertisement selects pool \"\(pool)\""
            case .noAdvertisementForServices(let pool, let names):
                "the L2Advertisements of pool \"\(pool)\" (\(names.sorted().joined(separator: ", "))) "
                    + "select none of its Services by their serviceSelectors"
            case .sharedIPSelectedByService(let service, let advertisement):
                "\(service) shares its IP (metallb.io/allow-shared-ip) and L2Advertisement \"\(advertisement)\" "
                    + "selects it by serviceSelectors: a Service selected by serviceSelectors cannot share its IP"
            case .noReadyEndpoint: "no Service on the IP has a ready endpoint"
            case .noCandidate: "no node qualifies"
            }
        }
    }
}

/// Why a node may not announce an IP.
public enum NodeExclusion: Hashable, Sendable, CustomStringConvertible {
    case notAMember
    case unknownNode
    case excludedByLabel
    case networkUnavailable
    case outOfService
    case notSelected(advertisements: [String])
    case noLocalEndpoint(service: ServiceKey)
    /// Every interface it would announce the IP on has lost its carrier (sorted names).
    case noCarrier([String])

    public var description: String {
        switch self {
        case .notAMember: "its speaker is not a live member"
        case .unknownNode: "no Node object has its name"
        case .excludedByLabel: "labelled \(AnnouncementPlanner.excludeLabel)"
        case .networkUnavailable: "its NetworkUnavailable condition is True"
        case .outOfService: "tainted \(AnnouncementPlanner.outOfServiceTaint)"
        case .notSelected(let names): "not selected by the nodeSelectors of \(names.joined(separator: ", "))"
        case .noLocalEndpoint(let service): "no ready endpoint of \(service) (externalTrafficPolicy: Local)"
        case .noCarrier(let names):
            "no carrier on \(names.joined(separator: ", ")), where it would announce (it yields until carrier returns)"
        }
    }
}
