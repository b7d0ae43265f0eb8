public import BGPNode
import BGPSession
import BGPWire
import ElapsedTime
public import HeraldConfig
public import HeraldCore
public import Logging
public import Metrics
public import NIOCore

/// This node's BGP sessions: one `BGPPeer` per BGPPeer object that selects the node, kept equal to the
/// configuration (a changed peer is closed and opened again), each holding the routes the planner gives it.
/// Sessions and routes outlive the apiserver: `apply` is only called with complete caches.
public actor BGPAnnouncer {
    /// What one session is opened with: its settings, the password read from its Secret, and this node's
    /// addresses (router ID and next hops). A change of any closes and reopens the session.
    struct Wanted: Hashable {
        var settings: BGPPeerSettings
        var password: String?
        var node: NodeAddresses
    }

    /// This node's first InternalIP of each family, from its Node object.
    public struct NodeAddresses: Hashable, Sendable {
        public var v4: IPv4Address?
        public var v6: IPv6Address?

        public init(v4: IPv4Address? = nil, v6: IPv6Address? = nil) {
            self.v4 = v4
            self.v6 = v6
        }
    }

    private struct Running {
        var wanted: Wanted
        var peer: BGPPeer
        var watcher: Task<Void, Never>
        /// What the session was last given (a pass that changes nothing of it costs no diff there).
        var routes: [IPNetwork: BGPRouteValue]?
    }

    private let group: any EventLoopGroup
    private let logger: Logger
    private let onEvent: @Sendable (String, BGPPeerEvent) async -> Void
    private let factory: any MetricsFactory
    private var running: [String: Running] = [:]
    /// Why a selected peer has no session (no router ID, no password), by peer name.
    public private(set) var problems: [String: String] = [:]
    private var stopped = false

    public init(
        group: any EventLoopGroup, logger: Logger, metricsFactory: any MetricsFactory = MetricsSystem.factory,
        onEvent: @escaping @Sendable (String, BGPPeerEvent) async -> Void = { _, _ in }
    ) {
        self.group = group
        self.logger = logger
        self.factory = metricsFactory
        self.onEvent = onEvent
    }

    /// The sessions as they stand, by peer name.
    public var statuses: [String: BGPPeerStatus] {
        get async {
            var result: [String: BGPPeerStatus] = [:]
            for (name, entry) in running { result[name] = await entry.peer.status }
            return result
        }
    }

    /// Opens, keeps, reopens or closes sessions so there is one per peer in `peers`, and gives each its routes.
    public func apply(
        peers: [BGPPeerSettings], passwords: [String: String], node: NodeAddresses, plan: BGPPlan
    ) async {
        guard !stopped else { return }
        var wanted: [String: Wanted] = [:]
        problems = [:]
        for settings in peers {
            if case .secret(let namespace, let name) = settings.password, passwords[settings.name] == nil {
                problems[settings.name] = "the password Secret \(namespace)/\(name) or its key \"password\" is missing"
                continue
            }
            if settings.routerID == nil && node.v4 == nil {
                problems[settings.name] = "no routerID is set and the Node has no IPv4 InternalIP to use as one"
                continue
            }
            wanted[settings.name] = Wanted(settings: settings, password: passwords[settings.name], node: node)
        }
        for (name, entry) in running where wanted[name] != entry.wanted {
            logger.info("closing BGP session", metadata: ["peer": "\(name)"])
            await entry.peer.stop(message: wanted[name] == nil ? "peer deconfigured" : "configuration changed")
            entry.watcher.cancel()
            running[name] = nil
        }
        for (name, want) in wanted.sorted(by: { $0.key < $1.key }) where running[name] == nil {
            let peer = BGPPeer(
                endpoint: Self.endpoint(want), session: Self.session(want), group: group, logger: logger)
            let onEvent = onEvent
            let metrics = BGPPeerMetrics(peer: name, factory: factory)
            let watcher = Task {
                for await event in peer.events {
                    metrics.record(event)
                    await onEvent(name, event)
                }
            }
            running[name] = Running(wanted: want, peer: peer, watcher: watcher)
            await peer.start()
        }
        for (name, entry) in running {
            let routes = plan.routes[name] ?? [:]
            guard routes != entry.routes else { continue }
            running[name]?.routes = routes
            await entry.peer.setRoutes(Self.routes(routes))
        }
    }

    /// Withdraws every route from every peer and closes the sessions with a Cease (SIGTERM): the routers move
    /// the traffic to the other nodes before this one stops.
    public func stop(message: String) async {
        stopped = true
        await withTaskGroup(of: Void.self) { group in
            for entry in running.values {
                group.addTask { await entry.peer.stop(message: message) }
            }
        }
        for entry in running.values { entry.watcher.cancel() }
        running = [:]
    }

    static func routes(_ values: [IPNetwork: BGPRouteValue]) -> [IPNetwork: BGPRouteAttributes] {
        values.mapValues { value in
            var standard: [BGPCommunity] = []
            var large: [BGPLargeCommunity] = []
            for community in value.communities {
                switch community {
                case .standard(let raw): standard.append(BGPCommunity(rawValue: raw))
                case .large(let global, let first, let second): large.append(BGPLargeCommunity(global, first, second))
                }
            }
            return BGPRouteAttributes(
                communities: standard, largeCommunities: large, localPreference: value.localPreference)
        }
    }

    static func isInternal(_ settings: BGPPeerSettings) -> Bool {
        switch settings.peerAS {
        case .internal: true
        case .number(let asn): asn == settings.localAS
        case .external: false
        }
    }

    static func endpoint(_ want: Wanted) -> BGPPeerEndpoint {
        let settings = want.settings
        return BGPPeerEndpoint(
            name: settings.name, peerAddress: settings.peerAddress, peerPort: settings.peerPort,
            sourceAddress: settings.sourceAddress, password: want.password,
            timeToLive: isInternal(settings) || settings.ebgpMultiHop ? 255 : 1)
    }

    static func session(_ want: Wanted) -> BGPSessionConfiguration {
        let settings = want.settings
        let peerAS: BGPSessionConfiguration.PeerAS =
            switch settings.peerAS {
            case .number(let asn): .number(asn)
            case .internal: .internal
            case .external: .external
            }
        let family = settings.peerAddress.family
        var otherNextHops: [IPFamily: IPAddress] = [:]
        if let v4 = want.node.v4, family != .v4 { otherNextHops[.v4] = .v4(v4) }
        if let v6 = want.node.v6, family != .v6 { otherNextHops[.v6] = .v6(v6) }
        return BGPSessionConfiguration(
            localAS: settings.localAS, peerAS: peerAS, routerID: settings.routerID ?? want.node.v4!,
            holdTime: settings.holdTime, keepaliveTime: settings.keepaliveTime,
            connectRetryTime: .seconds(Int(settings.connectTime ?? 2)),
            families: settings.singleFamily ? [BGPAddressFamily(unicast: family)] : [.ipv4Unicast, .ipv6Unicast],
            gracefulRestart: settings.gracefulRestart, otherNextHops: otherNextHops)
    }
}

/// MetalLB's BGP session metrics, per peer: `metallb_bgp_session_up` and the transitions behind it.
struct BGPPeerMetrics: Sendable {
    let up: Gauge
    let established: Counter
    let down: Counter

    init(peer: String, factory: any MetricsFactory) {
        up = Gauge(label: "metallb_bgp_session_up", dimensions: [("peer", peer)], factory: factory)
        established = Counter(
            label: "herald_bgp_session_established_total", dimensions: [("peer", peer)], factory: factory)
        down = Counter(label: "herald_bgp_session_down_total", dimensions: [("peer", peer)], factory: factory)
        up.record(0)
    }

    func record(_ event: BGPPeerEvent) {
        switch event {
        case .established:
            up.record(1)
            established.increment()
        case .down:
            up.record(0)
            down.increment()
        }
    }
}
