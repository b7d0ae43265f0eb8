/// Kubernetes' `spec.externalTrafficPolicy`.
public enum TrafficPolicy: String, Hashable, Sendable {
    case cluster = "Cluster"
    case local = "Local"
}

/// Kubernetes' `spec.ipFamilyPolicy`.
public enum IPFamilyPolicy: String, Hashable, Sendable {
    case singleStack = "SingleStack"
    case preferDualStack = "PreferDualStack"
    case requireDualStack = "RequireDualStack"
}

/// Everything about a Service that matters for choosing its external IPs.
public struct AllocationRequest: Hashable, Sendable {
    public var service: ServiceKey
    /// The Service's `metadata.labels`, for `serviceAllocation.serviceSelectors`.
    public var labels: [String: String]
    /// The labels of the Service's namespace, for `serviceAllocation.namespaceSelectors`.
    public var namespaceLabels: [String: String]
    /// From `metallb.io/loadBalancerIPs` or `spec.loadBalancerIP`: at most one per family.
    public var requestedIPs: [IPAddress]
    /// From `metallb.io/address-pool`.
    public var requestedPool: String?
    /// From `metallb.io/allow-shared-ip`; Services share an IP only when they carry the same key.
    public var sharingKey: String?
    public var ports: [ServicePort]
    public var trafficPolicy: TrafficPolicy
    /// `spec.selector`. Services with `externalTrafficPolicy: Local` share an IP only with the same selector,
    /// since the IP's traffic goes to one node, which must hold endpoints of every Service on it.
    public var selector: [String: String]
    public var ipFamilyPolicy: IPFamilyPolicy
    /// `spec.ipFamilies`, primary first. Empty means IPv4, or the families of the requested IPs.
    public var ipFamilies: [IPFamily]
    /// `metadata.creationTimestamp` in seconds: at a rebuild, the older of two conflicting Services keeps its IP.
    public var createdAt: Int64

    public init(
        service: ServiceKey, labels: [String: String] = [:], namespaceLabels: [String: String] = [:],
        requestedIPs: [IPAddress] = [], requestedPool: String? = nil, sharingKey: String? = nil,
        ports: [ServicePort] = [], trafficPolicy: TrafficPolicy = .cluster, selector: [String: String] = [:],
        ipFamilyPolicy: IPFamilyPolicy = .singleStack, ipFamilies: [IPFamily] = [], createdAt: Int64 = 0
    ) {
        self.service = service
        self.labels = labels
        self.namespaceLabels = namespaceLabels
        self.requestedIPs = requestedIPs
        self.requestedPool = requestedPool
        self.sharingKey = sharingKey
        self.ports = ports
        self.trafficPolicy = trafficPolicy
        self.selector = selector
        self.ipFamilyPolicy = ipFamilyPolicy
        self.ipFamilies = ipFamilies
        self.createdAt = createdAt
    }

    /// The families the Service wants, from `ipFamilyPolicy` and `ipFamilies`.
    var familyNeed: FamilyNeed {
        var families: [IPFamily] = []
        for family in ipFamilies where !families.contains(family) { families.append(family) }
        if families.isEmpty { families = requestedIPs.isEmpty ? [.v4] : requestedIPs.map(\.family).sorted() }
        let primary = families[0], secondary: IPFamily = primary == .v4 ? .v6 : .v4
        switch ipFamilyPolicy {
        case .singleStack: return .single(primary)
        case .preferDualStack: return families.count == 2 ? .preferBoth(primary, secondary) : .single(primary)
        case .requireDualStack: return .both(primary, secondary)
        }
    }

    /// What decides whether this Service may share an IP with another.
    var sharing: SharingIdentity {
        SharingIdentity(
            key: sharingKey.flatMap { $0.isEmpty ? nil : $0 },
            backend: trafficPolicy == .local ? LabelSelector(matchLabels: selector).description : nil)
    }
}

extension AllocationRequest {
    /// Reads the requested IPs from the `metallb.io/loadBalancerIPs` annotation (comma-separated, at most one per
    /// family) or the deprecated `spec.loadBalancerIP`, refusing both at once as MetalLB does.
    public static func parseRequestedIPs(
        annotation: String?, loadBalancerIP: String?
    ) throws(AllocationFailure) -> [IPAddress] {
        let annotation = annotation.flatMap { $0.isEmpty ? nil : $0 }
        let field = loadBalancerIP.flatMap { $0.isEmpty ? nil : $0 }
        func invalid(_ message: String) -> AllocationFailure { AllocationFailure(.invalidRequest, message) }
        if annotation != nil && field != nil {
            throw invalid("both metallb.io/loadBalancerIPs and spec.loadBalancerIP are set; keep only the annotation")
        }
        if let field {
            do throws(AddressParseError) { return [try IPAddress(parsing: field)] } catch {
                throw invalid("spec.loadBalancerIP: \(error)")
            }
        }
        guard let annotation else { return [] }
        var addresses: [IPAddress] = []
        for part in annotation.split(separator: ",", omittingEmptySubsequences: false) {
            let text = Array(part.utf8)[...].trimmingSpaces
            do throws(AddressParseError) {
                addresses.append(
                    try IPAddress.parse(text, input: String(decoding: text, as: UTF8.self), expected: "an IP address"))
            } catch {
                throw invalid("metallb.io/loadBalancerIPs: \(error)")
            }
        }
        guard addresses.count <= 2, Set(addresses.map(\.family)).count == addresses.count else {
            throw invalid(
                "metallb.io/loadBalancerIPs \"\(annotation)\" must hold at most one IPv4 and one IPv6 address")
        }
        return addresses
    }
}

/// The address families a Service needs, primary first.
enum FamilyNeed: Hashable, Sendable {
    /// One address of this family.
    case single(IPFamily)
    /// One of each, or nothing (`RequireDualStack`).
    case both(IPFamily, IPFamily)
    /// One of each if one pool can give both, else one of the primary family, else one of the secondary
    /// (`PreferDualStack` on a dual-stack cluster), as MetalLB chooses.
    case preferBoth(IPFamily, IPFamily)

    var families: [IPFamily] {
        switch self {
        case .single(let family): [family]
        case .both(let primary, let secondary), .preferBoth(let primary, let secondary): [primary, secondary]
        }
    }

    /// Whether a Service with this need may hold addresses of exactly these families.
    func accepts(_ held: [IPFamily]) -> Bool {
        switch self {
        case .single(let family): held == [family]
        case .both: Set(held) == Set(families) && held.count == 2
        case .preferBoth: !held.isEmpty && Set(held).count == held.count && held.allSatisfy(families.contains)
        }
    }

    /// Of the addresses a Service holds, those it may keep under this need: all of them when they fit, else the
    /// one of the needed family when a dual-stack Service became single-stack; empty when none fits.
    func keeping(_ held: [IPAddress]) -> [IPAddress] {
        if accepts(held.map(\.family)) { return held }
        let fitting = held.filter { families.contains($0.family) }
        return accepts(fitting.map(\.family)) ? fitting : []
    }

    /// Whether a pool with these families can serve this need.
    func canBeServed(by poolFamilies: Set<IPFamily>) -> Bool {
        switch self {
        case .single(let family): poolFamilies.contains(family)
        case .both: families.allSatisfy(poolFamilies.contains)
        case .preferBoth: families.contains(where: poolFamilies.contains)
        }
    }

    var summary: String {
        switch self {
        case .single(let family): "one \(family) address"
        case .both: "one IPv4 and one IPv6 address (RequireDualStack)"
        case .preferBoth: "IPv4 and IPv6 addresses, or one of them (PreferDualStack)"
        }
    }
}
