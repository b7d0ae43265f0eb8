public import BGPWire
public import HeraldCore

/// What one route carries besides its prefix, as the speaker's advertisements decide it.
public struct BGPRouteAttributes: Hashable, Sendable {
    public var communities: [BGPCommunity]
    public var largeCommunities: [BGPLargeCommunity]
    /// Sent to internal peers only (as MetalLB does); 100 when `nil`, since iBGP requires LOCAL_PREF.
    public var localPreference: UInt32?

    public init(
        communities: [BGPCommunity] = [], largeCommunities: [BGPLargeCommunity] = [], localPreference: UInt32? = nil
    ) {
        self.communities = Array(Set(communities)).sorted()
        self.largeCommunities = Array(Set(largeCommunities)).sorted()
        self.localPreference = localPreference
    }
}

/// The routes meant for one peer (`desired`) and those the peer has been told of (`advertised`, RFC 4271's
/// Adj-RIB-Out): UPDATEs are the difference. A reconnect starts from nothing, so it re-advertises everything;
/// a route refresh re-sends a family as it stands.
public struct BGPAdjRIBOut: Hashable, Sendable {
    public private(set) var desired: [IPNetwork: BGPRouteAttributes] = [:]
    public private(set) var advertised: [IPNetwork: BGPRouteAttributes] = [:]

    public init() {}

    mutating func setDesired(_ routes: [IPNetwork: BGPRouteAttributes]) { desired = routes }

    /// The peer forgot everything (the session closed).
    mutating func sessionLost() { advertised = [:] }

    /// UPDATEs that bring the peer from `advertised` to `desired` in the session's families: withdrawals first,
    /// then announcements grouped by attributes. Routes of a family the session cannot carry are not advertised.
    mutating func updates(for session: BGPNegotiated, localAS: UInt32) -> [BGPUpdate] {
        let target = desired.filter { Self.carries(session, $0.key.family) }
        var messages: [BGPUpdate] = []
        for family in IPFamily.allCases {
            let gone = advertised.keys.filter { $0.family == family && target[$0] == nil }.sorted(by: Self.order)
            messages += BGPUpdatePacker.withdrawals(gone, family: BGPAddressFamily(unicast: family))
        }
        let changed = target.filter { advertised[$0.key] != $0.value }
        messages += announcements(changed, session: session, localAS: localAS)
        advertised = target
        return messages
    }

    /// Every route of `family` the peer holds, announced again (after a ROUTE-REFRESH).
    func refresh(_ family: BGPAddressFamily, session: BGPNegotiated, localAS: UInt32) -> [BGPUpdate] {
        announcements(advertised.filter { $0.key.family == family.unicastFamily }, session: session, localAS: localAS)
    }

    /// Withdrawals of everything advertised (before a graceful shutdown); the peer then holds nothing.
    mutating func withdrawAll() -> [BGPUpdate] {
        var messages: [BGPUpdate] = []
        for family in IPFamily.allCases {
            let prefixes = advertised.keys.filter { $0.family == family }.sorted(by: Self.order)
            messages += BGPUpdatePacker.withdrawals(prefixes, family: BGPAddressFamily(unicast: family))
        }
        advertised = [:]
        return messages
    }

    static func carries(_ session: BGPNegotiated, _ family: IPFamily) -> Bool {
        session.families.contains(BGPAddressFamily(unicast: family)) && session.nextHops[family] != nil
    }

    private static func order(_ a: IPNetwork, _ b: IPNetwork) -> Bool {
        (a.address, a.prefixLength) < (b.address, b.prefixLength)
    }

    private func announcements(
        _ routes: [IPNetwork: BGPRouteAttributes], session: BGPNegotiated, localAS: UInt32
    ) -> [BGPUpdate] {
        var groups: [BGPRouteAttributes: [IPNetwork]] = [:]
        for (prefix, attributes) in routes { groups[attributes, default: []].append(prefix) }
        var messages: [BGPUpdate] = []
        // Families in order, then groups in a fixed order, so the same routes always give the same bytes.
        for family in IPFamily.allCases {
            guard let nextHop = session.nextHops[family] else { continue }
            let sorted = groups.compactMap { attributes, prefixes -> (BGPRouteAttributes, [IPNetwork])? in
                let ofFamily = prefixes.filter { $0.family == family }.sorted(by: Self.order)
                return ofFamily.isEmpty ? nil : (attributes, ofFamily)
            }.sorted { Self.order($0.1[0], $1.1[0]) }
            for (attributes, prefixes) in sorted {
                var path = BGPPathAttributes(
                    origin: .igp, localPreference: session.isInternal ? attributes.localPreference ?? 100 : nil,
                    communities: attributes.communities, largeCommunities: attributes.largeCommunities)
                path.setASPath(session.isInternal ? [] : [.sequence([localAS])], fourOctetAS: session.fourOctetAS)
                let hop: BGPNextHop =
                    switch nextHop {
                    case .v4(let address): .v4(address)
                    case .v6(let address): .v6(global: address, linkLocal: nil)
                    }
                messages += BGPUpdatePacker.announcements(
                    prefixes, family: BGPAddressFamily(unicast: family), nextHop: hop, attributes: path,
                    fourOctetAS: session.fourOctetAS)
            }
        }
        return messages
    }
}
