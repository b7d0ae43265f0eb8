/// What an `IPAddressPool` (`metallb.io/v1beta1`) says, before validation. Field names and defaults are MetalLB's.
public struct PoolSpec: Hashable, Sendable {
    /// `metadata.name`.
    public var name: String
    /// `spec.addresses`: CIDRs (`192.0.2.0/28`) and ranges (`192.0.2.10-192.0.2.20`), IPv4 and IPv6.
    public var addresses: [String]
    /// `spec.autoAssign`: whether Services that ask for no pool get addresses from this one. Default true.
    public var autoAssign: Bool
    /// `spec.avoidBuggyIPs`: skip IPv4 addresses ending in .0 and .255. Default false.
    public var avoidBuggyIPs: Bool
    /// `spec.serviceAllocation`: which Services the pool serves, and with what priority.
    public var serviceAllocation: ServiceAllocation?
    /// `metadata.creationTimestamp` in seconds since the epoch. When two pools overlap, the older one is kept.
    public var createdAt: Int64

    public init(
        name: String, addresses: [String], autoAssign: Bool = true, avoidBuggyIPs: Bool = false,
        serviceAllocation: ServiceAllocation? = nil, createdAt: Int64 = 0
    ) {
        self.name = name
        self.addresses = addresses
        self.autoAssign = autoAssign
        self.avoidBuggyIPs = avoidBuggyIPs
        self.serviceAllocation = serviceAllocation
        self.createdAt = createdAt
    }
}

/// `spec.serviceAllocation` of an `IPAddressPool`: the pool serves only Services these select, and is tried before
/// pools without a `serviceAllocation`.
public struct ServiceAllocation: Hashable, Sendable {
    /// Lower is tried first; 0 (unset) comes after every positive priority.
    public var priority: Int
    /// Namespaces the pool serves by name.
    public var namespaces: [String]
    /// Namespaces the pool serves by their labels.
    public var namespaceSelectors: [LabelSelector]
    /// Services the pool serves by their labels; with none, every Service in an allowed namespace.
    public var serviceSelectors: [LabelSelector]

    public init(
        priority: Int = 0, namespaces: [String] = [], namespaceSelectors: [LabelSelector] = [],
        serviceSelectors: [LabelSelector] = []
    ) {
        self.priority = priority
        self.namespaces = namespaces
        self.namespaceSelectors = namespaceSelectors
        self.serviceSelectors = serviceSelectors
    }

    /// Whether a Service in `namespace` (with those namespace labels) and with `serviceLabels` may use the pool.
    /// Namespaces named and namespaces selected add up; with neither, every namespace is allowed.
    public func allows(namespace: String, namespaceLabels: [String: String], serviceLabels: [String: String]) -> Bool {
        let restrictsNamespaces = !namespaces.isEmpty || !namespaceSelectors.isEmpty
        if restrictsNamespaces && !namespaces.contains(namespace)
            && !namespaceSelectors.contains(where: { $0.matches(namespaceLabels) })
        {
            return false
        }
        return serviceSelectors.isEmpty || serviceSelectors.contains { $0.matches(serviceLabels) }
    }
}
