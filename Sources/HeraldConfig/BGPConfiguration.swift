public import HeraldCore
public import KubeAPI

/// One BGPPeer as the speaker uses it: validated, durations in whole seconds, the password still to be read
/// when it lives in a Secret. Fields Herald cannot honour make the peer unusable (`vrf`, `interface`) and
/// are refused by name; `bfdProfile` is reported but the session runs without BFD.
public struct BGPPeerSettings: Hashable, Sendable {
    public enum PeerAS: Hashable, Sendable {
        case number(UInt32)
        case `internal`
        case external
    }

    public enum Password: Hashable, Sendable {
        case none
        case inline(String)
        /// `passwordSecret`: the key `password` of this Secret.
        case secret(namespace: String, name: String)
    }

    public var name: String
    public var localAS: UInt32
    public var peerAS: PeerAS
    public var peerAddress: IPAddress
    public var peerPort: Int
    public var sourceAddress: IPAddress?
    /// Seconds: 0, or 3 to 65535. MetalLB's default is 90.
    public var holdTime: UInt16
    public var keepaliveTime: UInt16?
    public var connectTime: UInt16?
    public var routerID: IPv4Address?
    public var nodeSelectors: [LabelSelector]
    public var password: Password
    public var bfdProfile: String?
    public var gracefulRestart: Bool
    public var ebgpMultiHop: Bool
    /// Only the session's own family, as MetalLB v0.16 does by default; `dualStackAddressFamily: true` (without
    /// the deprecated `disableMP: true`) offers both families on the session.
    public var singleFamily: Bool
    /// What is accepted but not done, one line each, for ConfigurationState and Events.
    public var warnings: [String]

    public var rule: BGPPeerRule { BGPPeerRule(name: name, nodeSelectors: nodeSelectors) }
}

extension BGPPeer {
    /// The speaker's view of this peer; a field Herald cannot use throws, naming it.
    public func settings() throws(ResourceError) -> BGPPeerSettings {
        let path = "BGPPeer \(metadata.key)"
        guard let spec else { throw ResourceError("\(path): spec is missing") }
        if let vrf = spec.vrf, !vrf.isEmpty {
            throw ResourceError("\(path): spec.vrf: sessions in a VRF (\(vrf)) are not supported by Herald yet")
        }
        if let interface = spec.interface, !interface.isEmpty {
            throw ResourceError(
                "\(path): spec.interface: BGP unnumbered (\(interface)) is not supported by Herald yet; set peerAddress"
            )
        }
        guard let addressText = spec.peerAddress, !addressText.isEmpty else {
            throw ResourceError("\(path): spec.peerAddress is required")
        }
        guard let address = try? IPAddress(parsing: addressText) else {
            throw ResourceError("\(path): spec.peerAddress: \"\(addressText)\" is not an IP address")
        }
        let peerAS: BGPPeerSettings.PeerAS
        switch (spec.peerASN, spec.dynamicASN) {
        case (let asn?, nil) where asn != 0: peerAS = .number(asn)
        case (nil, "internal"), (0, "internal"): peerAS = .internal
        case (nil, "external"), (0, "external"): peerAS = .external
        case (let asn?, let mode?) where asn != 0:
            throw ResourceError("\(path): spec.peerASN (\(asn)) and spec.dynamicASN (\(mode)) exclude each other")
        case (_, let mode?):
            throw ResourceError("\(path): spec.dynamicASN: \"\(mode)\" is not internal or external")
        default:
            throw ResourceError("\(path): spec.peerASN or spec.dynamicASN is required")
        }
        var source: IPAddress?
        if let text = spec.sourceAddress, !text.isEmpty {
            guard let parsed = try? IPAddress(parsing: text), parsed.family == address.family else {
                throw ResourceError(
                    "\(path): spec.sourceAddress: \"\(text)\" is not an IP address of the peer address's family")
            }
            source = parsed
        }
        let port = spec.peerPort ?? 179
        guard (1...16384).contains(port) else {
            throw ResourceError("\(path): spec.peerPort: \(port) is not within 1 and 16384")
        }
        let hold = try Self.seconds(spec.holdTime, path: "\(path): spec.holdTime") ?? 90
        guard hold == 0 || hold >= 3 else {
            throw ResourceError("\(path): spec.holdTime: \(hold)s; BGP allows 0 or at least 3 seconds (RFC 4271)")
        }
        let keepalive = try Self.seconds(spec.keepaliveTime, path: "\(path): spec.keepaliveTime")
        if let keepalive, hold > 0, keepalive >= hold {
            throw ResourceError(
                "\(path): spec.keepaliveTime: \(keepalive)s must be shorter than the hold time (\(hold)s)")
        }
        let connect = try Self.seconds(spec.connectTime, path: "\(path): spec.connectTime")
        if let connect, connect < 1 { throw ResourceError("\(path): spec.connectTime: at least 1 second") }
        var routerID: IPv4Address?
        if let text = spec.routerID, !text.isEmpty {
            guard let parsed = try? IPv4Address(parsing: text) else {
                throw ResourceError("\(path): spec.routerID: \"\(text)\" is not an IPv4 address")
            }
            routerID = parsed
        }
        var password = BGPPeerSettings.Password.none
        if let text = spec.password, !text.isEmpty {
            password = .inline(text)
        }
        if let name = spec.passwordSecret?.name, !name.isEmpty {
            guard case .none = password else {
                throw ResourceError("\(path): spec.password and spec.passwordSecret exclude each other")
            }
            password = .secret(namespace: spec.passwordSecret?.namespace ?? metadata.namespace ?? "", name: name)
        }
        if case .inline(let text) = password, text.utf8.count > 80 {
            throw ResourceError("\(path): spec.password: \(text.utf8.count) bytes; TCP MD5 keys hold at most 80")
        }
        var warnings: [String] = []
        if let profile = spec.bfdProfile, !profile.isEmpty {
            warnings.append("\(path): spec.bfdProfile: BFD is not supported by Herald yet; the session runs without it")
        }
        return BGPPeerSettings(
            name: metadata.name ?? "", localAS: spec.myASN, peerAS: peerAS, peerAddress: address, peerPort: port,
            sourceAddress: source, holdTime: UInt16(hold), keepaliveTime: keepalive.map(UInt16.init),
            connectTime: connect.map(UInt16.init), routerID: routerID,
            nodeSelectors: try (spec.nodeSelectors ?? []).labelSelectors(path: "\(path): spec.nodeSelectors"),
            password: password, bfdProfile: spec.bfdProfile.flatMap { $0.isEmpty ? nil : $0 },
            gracefulRestart: spec.enableGracefulRestart ?? false, ebgpMultiHop: spec.ebgpMultiHop ?? false,
            singleFamily: spec.disableMP == true || spec.dualStackAddressFamily != true, warnings: warnings)
    }

    /// A Go duration (`metav1.Duration`: "90s", "1m30s", "500ms") in whole seconds, at most 65535.
    static func seconds(_ text: String?, path: String) throws(ResourceError) -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard let milliseconds = GoDuration.milliseconds(text) else {
            throw ResourceError("\(path): \"\(text)\" is not a duration such as 90s or 1m30s")
        }
        guard milliseconds % 1000 == 0 else {
            throw ResourceError("\(path): \"\(text)\" is not a whole number of seconds")
        }
        guard milliseconds / 1000 <= 65535 else { throw ResourceError("\(path): \"\(text)\" is longer than 65535s") }
        return milliseconds / 1000
    }
}

/// Go's `time.ParseDuration` for the units Kubernetes objects use: h, m, s, ms (and us, ns, which round down).
enum GoDuration {
    static func milliseconds(_ text: String) -> Int? {
        var rest = Substring(text)
        if rest == "0" { return 0 }
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "h": scale = 3_600_000
            case "m": scale = 60_000
            case "s": scale = 1000
            case "ms": scale = 1
            case "us", "µs": scale = 0.001
            case "ns": scale = 0.000_001
            default: return nil
            }
            total += value * scale
        }
        guard total < 1e12 else { return nil }
        return Int(total.rounded())
    }
}

extension Community {
    /// Its aliases (`name` → value); a value that is not `ASN:VALUE` or `large:…` throws, naming the entry.
    public func aliases() throws(ResourceError) -> [String: BGPCommunityValue] {
        var result: [String: BGPCommunityValue] = [:]
        for (index, entry) in (spec?.communities ?? []).enumerated() {
            let path = "Community \(metadata.key): spec.communities[\(index)]"
            guard let name = entry.name, !name.isEmpty else { throw ResourceError("\(path).name is required") }
            guard let text = entry.value, let value = BGPCommunityValue(parsing: text) else {
                throw ResourceError(
                    "\(path).value: \"\(entry.value ?? "")\" is not ASN:VALUE or large:GLOBAL:LOCAL1:LOCAL2")
            }
            result[name] = value
        }
        return result
    }
}

extension BGPAdvertisement {
    /// The planner's view; `aliases` resolves community names (from the Community objects). A bad field throws.
    public func rule(aliases: [String: BGPCommunityValue]) throws(ResourceError) -> BGPAdvertisementRule {
        let path = "BGPAdvertisement \(metadata.key)"
        let spec = self.spec ?? Spec()
        let length = spec.aggregationLength ?? 32, length6 = spec.aggregationLengthV6 ?? 128
        guard (0...32).contains(length) else {
            throw ResourceError("\(path): spec.aggregationLength: \(length) is not 0–32")
        }
        guard (0...128).contains(length6) else {
            throw ResourceError("\(path): spec.aggregationLengthV6: \(length6) is not 0–128")
        }
        var communities: [BGPCommunityValue] = []
        for (index, text) in (spec.communities ?? []).enumerated() {
            guard let value = BGPCommunityValue(parsing: text) ?? aliases[text] else {
                throw ResourceError(
                    "\(path): spec.communities[\(index)]: \"\(text)\" is neither ASN:VALUE, large:…, "
                        + "nor the name of an entry of a Community")
            }
            communities.append(value)
        }
        return BGPAdvertisementRule(
            name: metadata.name ?? "", pools: spec.ipAddressPools ?? [],
            poolSelectors: try (spec.ipAddressPoolSelectors ?? []).labelSelectors(
                path: "\(path): spec.ipAddressPoolSelectors"),
            nodeSelectors: try (spec.nodeSelectors ?? []).labelSelectors(path: "\(path): spec.nodeSelectors"),
            serviceSelectors: try (spec.serviceSelectors ?? []).labelSelectors(path: "\(path): spec.serviceSelectors"),
            peers: spec.peers ?? [], aggregationLength: length, aggregationLengthV6: length6,
            localPreference: spec.localPref, communities: communities)
    }
}

/// The BGP half of the speaker's view: the peers that select this node, and the planner's inputs, built from
/// the same Services, pools and Nodes as Layer 2. Objects that cannot be used are left out and reported.
public struct SpeakerBGPView: Sendable {
    /// The peers this node opens sessions to.
    public var peers: [BGPPeerSettings] = []
    public var inputs: BGPPlanInputs
    public var problems: [String] = []

    public init(
        nodeName: String, layerTwo: AnnouncementInputs, peers: some Collection<BGPPeer>,
        advertisements: some Collection<BGPAdvertisement>, communities: some Collection<Community>
    ) {
        let node = layerTwo.nodes[nodeName] ?? NodeDescription(labels: [:])
        inputs = BGPPlanInputs(nodeName: nodeName, node: node, services: layerTwo.services, pools: layerTwo.pools)
        var aliases: [String: BGPCommunityValue] = [:]
        for community in communities.sorted(by: { $0.key < $1.key }) {
            do { aliases.merge(try community.aliases()) { first, _ in first } } catch { problems.append("\(error)") }
        }
        for advertisement in advertisements.sorted(by: { $0.key < $1.key }) {
            do { inputs.advertisements.append(try advertisement.rule(aliases: aliases)) } catch {
                problems.append("\(error)")
            }
        }
        for peer in peers.sorted(by: { $0.key < $1.key }) {
            do {
                let settings = try peer.settings()
                inputs.peers.append(settings.rule)
                problems += settings.warnings
                if settings.rule.selects(nodeLabels: node.labels) { self.peers.append(settings) }
            } catch { problems.append("\(error)") }
        }
    }
}
