/// Decides what one node announces over BGP: for every IP a Service shows in its status, the prefix, the
/// peers it goes to and with which communities and LOCAL_PREF, or why this node announces nothing for it.
/// Unlike Layer 2 there is no single owner: every eligible node announces, and the routers spread traffic
/// over them (ECMP). So each speaker plans only for itself, from the API objects alone.
///
/// The rules are MetalLB's BGP rules:
/// - an IP is announced only if a `BGPAdvertisement` selects its pool (by name, by pool selector, or every
///   pool when it names none) and one of its Services (`serviceSelectors`, or every Service);
/// - the node must be selected by the advertisement's `nodeSelectors`, must not carry
///   `node.kubernetes.io/exclude-from-external-load-balancers`, and must not be tainted out-of-service;
/// - `externalTrafficPolicy: Cluster` needs a ready endpoint anywhere, `Local` one on this node, so a node
///   without one withdraws at once and the routers stop sending it traffic it would drop;
/// - the peers are those the advertisement names (`peers`; every peer when it names none) whose own
///   `nodeSelectors` select this node;
/// - the prefix is the IP masked to `aggregationLength` (IPv4, default 32) or `aggregationLengthV6` (default
///   128). Several advertisements, or several IPs of one aggregate, that reach the same peer with the same
///   prefix are merged: their communities are joined and the highest LOCAL_PREF wins (MetalLB's FRR mode
///   merges the same way; its native mode kept one of them).
public enum BGPAnnouncementPlanner {
    public static func plan(_ inputs: BGPPlanInputs) -> BGPPlan {
        var servicesByIP: [IPAddress: [AnnouncedService]] = [:]
        for service in inputs.services {
            for ip in Set(service.ips) { servicesByIP[ip, default: []].append(service) }
        }
        var plan = BGPPlan()
        for (ip, services) in servicesByIP {
            let decision = decide(ip, services: services.sorted { $0.service < $1.service }, inputs)
            plan.decisions[ip] = decision
            for route in decision.routes {
                plan.routes[route.peer, default: [:]][route.prefix, default: BGPRouteValue()].merge(route.value)
            }
        }
        return plan
    }

    static func decide(_ ip: IPAddress, services: [AnnouncedService], _ inputs: BGPPlanInputs) -> BGPIPDecision {
        var decision = BGPIPDecision(ip: ip, services: services.map(\.service))
        guard let pool = PoolDescription.owning(ip, services: services, pools: inputs.pools) else {
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
        let labels = inputs.node.labels
        if labels[AnnouncementPlanner.excludeLabel] != nil {
            decision.withheld = .node(.excludedByLabel)
            return decision
        }
        if inputs.node.outOfService {
            decision.withheld = .node(.outOfService)
            return decision
        }
        let selecting = advertisements.filter { $0.selects(nodeLabels: labels) }
        guard !selecting.isEmpty else {
            decision.withheld = .node(.notSelected(advertisements: advertisements.map(\.name).sorted()))
            return decision
        }
        let serving = services.filter { service in
            service.trafficPolicy == .local
                ? service.readyEndpointNodes.contains(inputs.nodeName) : !service.readyEndpointNodes.isEmpty
        }
        guard !serving.isEmpty else {
            if let local = services.first(where: { $0.trafficPolicy == .local && !$0.readyEndpointNodes.isEmpty }) {
                decision.withheld = .node(.noLocalEndpoint(service: local.service))
            } else {
                decision.withheld = .noReadyEndpoint
            }
            return decision
        }
        let nodePeers = Set(inputs.peers.filter { $0.selects(nodeLabels: labels) }.map(\.name))
        for advertisement in selecting {
            let peers = advertisement.peers.isEmpty ? nodePeers : nodePeers.intersection(advertisement.peers)
            let length = ip.family == .v4 ? advertisement.aggregationLength : advertisement.aggregationLengthV6
            let prefix = IPNetwork(containing: ip, prefixLength: min(max(length, 0), ip.family.bitWidth))
            let value = BGPRouteValue(
                communities: Set(advertisement.communities), localPreference: advertisement.localPreference)
            for peer in peers {
                if let index = decision.routes.firstIndex(where: { $0.peer == peer && $0.prefix == prefix }) {
                    decision.routes[index].value.merge(value)
                } else {
                    decision.routes.append(BGPPlannedRoute(peer: peer, prefix: prefix, value: value))
                }
            }
        }
        decision.routes.sort { ($0.peer, $0.prefix.description) < ($1.peer, $1.prefix.description) }
        if decision.routes.isEmpty {
            decision.withheld = .noPeer(advertisements: selecting.map(\.name).sorted())
        }
        return decision
    }
}

/// A community as configuration writes it: `ASN:VALUE` (RFC 1997) or `large:GLOBAL:LOCAL1:LOCAL2` (RFC 8092).
public enum BGPCommunityValue: Hashable, Comparable, Sendable, CustomStringConvertible {
    case standard(UInt32)
    case large(UInt32, UInt32, UInt32)

    /// Parses MetalLB's two forms; `nil` for anything else (an alias must be resolved first).
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 4, parts[0] == "large" {
            guard let global = UInt32(parts[1]), let first = UInt32(parts[2]), let second = UInt32(parts[3]) else {
                return nil
            }
            self = .large(global, first, second)
        } else if parts.count == 2, let high = UInt16(parts[0]), let low = UInt16(parts[1]) {
            self = .standard(UInt32(high) << 16 | UInt32(low))
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .standard(let value): "\(value >> 16):\(value & 0xFFFF)"
        case .large(let global, let first, let second): "large:\(global):\(first):\(second)"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.description < rhs.description }
}

/// One BGPAdvertisement, as the planner reads it.
public struct BGPAdvertisementRule: Hashable, Sendable, AdvertisementSelection {
    public var name: String
    public var pools: [String]
    public var poolSelectors: [LabelSelector]
    public var nodeSelectors: [LabelSelector]
    public var serviceSelectors: [LabelSelector]
    /// BGPPeer names; empty: every peer.
    public var peers: [String]
    public var aggregationLength: Int
    public var aggregationLengthV6: Int
    /// Sent to internal peers only.
    public var localPreference: UInt32?
    public var communities: [BGPCommunityValue]

    public init(
        name: String, pools: [String] = [], poolSelectors: [LabelSelector] = [], nodeSelectors: [LabelSelector] = [],
        serviceSelectors: [LabelSelector] = [], peers: [String] = [], aggregationLength: Int = 32,
        aggregationLengthV6: Int = 128, localPreference: UInt32? = nil, communities: [BGPCommunityValue] = []
    ) {
        self.name = name
        self.pools = pools
        self.poolSelectors = poolSelectors
        self.nodeSelectors = nodeSelectors
        self.serviceSelectors = serviceSelectors
        self.peers = peers
        self.aggregationLength = aggregationLength
        self.aggregationLengthV6 = aggregationLengthV6
        self.localPreference = localPreference
        self.communities = communities
    }

}

/// One BGPPeer, as the planner reads it: its name and the nodes that peer with it.
public struct BGPPeerRule: Hashable, Sendable {
    public var name: String
    public var nodeSelectors: [LabelSelector]

    public init(name: String, nodeSelectors: [LabelSelector] = []) {
        self.name = name
        self.nodeSelectors = nodeSelectors
    }

    public func selects(nodeLabels: [String: String]) -> Bool {
        nodeSelectors.isEmpty || nodeSelectors.contains { $0.matches(nodeLabels) }
    }
}

/// What the BGP planner reads: this node, the Services with their IPs and endpoints, pools, advertisements and
/// peers.
public struct BGPPlanInputs: Hashable, Sendable {
    public var nodeName: String
    public var node: NodeDescription
    public var services: [AnnouncedService]
    public var pools: [PoolDescription]
    public var advertisements: [BGPAdvertisementRule]
    public var peers: [BGPPeerRule]

    public init(
        nodeName: String, node: NodeDescription, services: [AnnouncedService] = [], pools: [PoolDescription] = [],
        advertisements: [BGPAdvertisementRule] = [], peers: [BGPPeerRule] = []
    ) {
        self.nodeName = nodeName
        self.node = node
        self.services = services
        self.pools = pools
        self.advertisements = advertisements
        self.peers = peers
    }
}

/// The attributes of one planned route.
public struct BGPRouteValue: Hashable, Sendable {
    public var communities: Set<BGPCommunityValue>
    public var localPreference: UInt32?

    public init(communities: Set<BGPCommunityValue> = [], localPreference: UInt32? = nil) {
        self.communities = communities
        self.localPreference = localPreference
    }

    mutating func merge(_ other: BGPRouteValue) {
        communities.formUnion(other.communities)
        if let preference = other.localPreference { localPreference = max(localPreference ?? 0, preference) }
    }
}

/// One route this node sends one peer.
public struct BGPPlannedRoute: Hashable, Sendable {
    public var peer: String
    public var prefix: IPNetwork
    public var value: BGPRouteValue
}

/// Why this node announces an IP to no peer.
public enum BGPWithholding: Hashable, Sendable, CustomStringConvertible {
    case noPool
    case noAdvertisement(pool: String)
    case noAdvertisementForServices(pool: String, advertisements: [String])
    case noReadyEndpoint
    case node(NodeExclusion)
    /// Advertisements select the node, but no BGPPeer they name selects it.
    case noPeer(advertisements: [String])

    public var description: String {
        switch self {
        case .noPool: "no IPAddressPool holds the IP"
        case .noAdvertisement(let pool): "no BGPAdvertisement selects pool \(pool)"
        case .noAdvertisementForServices(let pool, let names):
            "the BGPAdvertisements of pool \(pool) (\(names.joined(separator: ", "))) select none of its Services"
        case .noReadyEndpoint: "no Service on the IP has a ready endpoint"
        case .node(let exclusion): "\(exclusion)"
        case .noPeer(let names):
            "no BGPPeer of the advertisements \(names.joined(separator: ", ")) selects this node"
        }
    }
}

/// The decision for one IP on this node.
public struct BGPIPDecision: Hashable, Sendable {
    public var ip: IPAddress
    public var services: [ServiceKey]
    public var pool: String?
    /// By peer, then prefix.
    public var routes: [BGPPlannedRoute] = []
    public var withheld: BGPWithholding?

    public init(ip: IPAddress, services: [ServiceKey]) {
        self.ip = ip
        self.services = services
    }

    public var peers: [String] { Array(Set(routes.map(\.peer))).sorted() }
}

/// One node's BGP plan: the routes for each peer (by BGPPeer name), and the decision for each IP.
public struct BGPPlan: Hashable, Sendable {
    public var routes: [String: [IPNetwork: BGPRouteValue]] = [:]
    public var decisions: [IPAddress: BGPIPDecision] = [:]

    public init() {}
}
