public import HeraldCore
public import KubeAPI

// MetalLB's objects as Herald's model: the one place where a Kubernetes resource becomes a HeraldCore value.
// KubeAPI knows the resources' shape on the wire; HeraldCore knows pools, selectors and Services as values;
// this module maps one to the other and names the field at fault when it cannot.

extension KubernetesService {
    /// The allocator's and planner's name for this Service.
    public var serviceKey: ServiceKey { ServiceKey(namespace: metadata.namespace ?? "", name: metadata.name ?? "") }
}

extension IPAddressPool {
    /// HeraldCore's model of this pool; selector errors name the field
    /// (`spec.serviceAllocation.namespaceSelectors[0]…`).
    /// Address errors are found by `PoolValidator`, which sees all pools together.
    public func poolSpec() throws(ResourceError) -> PoolSpec {
        let path = "IPAddressPool \(metadata.key)"
        var allocation: ServiceAllocation?
        if let given = spec.serviceAllocation {
            allocation = ServiceAllocation(
                priority: given.priority ?? 0, namespaces: given.namespaces ?? [],
                namespaceSelectors: try (given.namespaceSelectors ?? []).labelSelectors(
                    path: "\(path): spec.serviceAllocation.namespaceSelectors"),
                serviceSelectors: try (given.serviceSelectors ?? []).labelSelectors(
                    path: "\(path): spec.serviceAllocation.serviceSelectors"))
        }
        return PoolSpec(
            name: metadata.name ?? "", addresses: spec.addresses, autoAssign: spec.autoAssign ?? true,
            avoidBuggyIPs: spec.avoidBuggyIPs ?? false, serviceAllocation: allocation,
            createdAt: metadata.creationTimestamp.flatMap(Timestamps.seconds) ?? 0)
    }
}

extension L2Advertisement {
    /// The planner's view; a bad selector names its field.
    public func rule() throws(ResourceError) -> L2AdvertisementRule {
        let path = "L2Advertisement \(metadata.key)"
        let spec = self.spec ?? Spec()
        return L2AdvertisementRule(
            name: metadata.name ?? "", pools: spec.ipAddressPools ?? [],
            poolSelectors: try (spec.ipAddressPoolSelectors ?? []).labelSelectors(
                path: "\(path): spec.ipAddressPoolSelectors"),
            nodeSelectors: try (spec.nodeSelectors ?? []).labelSelectors(path: "\(path): spec.nodeSelectors"),
            interfaces: spec.interfaces ?? [],
            serviceSelectors: try (spec.serviceSelectors ?? []).labelSelectors(path: "\(path): spec.serviceSelectors"),
            preferredNodes: try preferredNodes(path: "\(path): spec.preferredNodeSelectors"))
    }

    /// `preferredNodeSelectors`, each weight within MetalLB's 1–100 (the schema says so too; this holds also
    /// for an object the server did not validate).
    private func preferredNodes(path: String) throws(ResourceError) -> [WeightedNodeSelector] {
        var result: [WeightedNodeSelector] = []
        for (index, entry) in (spec?.preferredNodeSelectors ?? []).enumerated() {
            guard (1...100).contains(entry.weight) else {
                throw ResourceError("\(path)[\(index)].weight: \(entry.weight) is not within 1 and 100")
            }
            result.append(
                WeightedNodeSelector(
                    weight: entry.weight,
                    preference: try entry.preference.labelSelector(path: "\(path)[\(index)].preference")
                ))
        }
        return result
    }
}

extension ServiceL2Status {
    /// The Service, from the status or else the labels.
    public var serviceKey: ServiceKey? {
        guard let namespace = status?.serviceNamespace ?? metadata.labels?[Self.serviceNamespaceLabel],
            let name = status?.serviceName ?? metadata.labels?[Self.serviceNameLabel]
        else { return nil }
        return ServiceKey(namespace: namespace, name: name)
    }
}

extension LabelSelectorObject {
    /// HeraldCore's selector, validated; errors are prefixed with `path`.
    public func labelSelector(path: String) throws(ResourceError) -> LabelSelector {
        var requirements: [LabelSelectorRequirement] = []
        for (index, expression) in (matchExpressions ?? []).enumerated() {
            guard let op = LabelSelectorRequirement.Operator(rawValue: expression.operator) else {
                throw ResourceError(
                    "\(path).matchExpressions[\(index)].operator: \"\(expression.operator)\" "
                        + "is not In, NotIn, Exists or DoesNotExist"
                )
            }
            requirements.append(
                LabelSelectorRequirement(key: expression.key, operator: op, values: expression.values ?? []))
        }
        let selector = LabelSelector(matchLabels: matchLabels ?? [:], matchExpressions: requirements)
        do { try selector.validate() } catch { throw ResourceError("\(path): \(error)") }
        return selector
    }
}

extension [LabelSelectorObject] {
    /// Each selector, validated; an error names `path[index]`.
    public func labelSelectors(path: String) throws(ResourceError) -> [LabelSelector] {
        var selectors: [LabelSelector] = []
        for (index, selector) in enumerated() {
            selectors.append(try selector.labelSelector(path: "\(path)[\(index)]"))
        }
        return selectors
    }
}

/// A resource whose content Herald cannot use, with the field at fault.
public struct ResourceError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Node {
    /// What the planner reads of a Node.
    public var nodeDescription: NodeDescription {
        NodeDescription(
            labels: metadata.labels ?? [:], networkUnavailable: hasCondition("NetworkUnavailable"),
            outOfService: hasTaint(AnnouncementPlanner.outOfServiceTaint))
    }
}

extension IPAddressPool.Status {
    /// 2^53 − 1.
    public static let largestCount: Int64 = (1 << 53) - 1

    /// The status of a pool the allocator holds: addresses in use (a shared one counts once) and free, per
    /// family; a family the pool lacks counts 0. A count past 2^53 − 1 (an IPv6 range larger than a /75) is
    /// written as 2^53 − 1, the largest integer every JSON reader holds exactly.
    public init(_ statistics: PoolStatistics) {
        func clamped(_ count: AddressCount) -> Int64 {
            guard let exact = count.exactValue, exact <= UInt128(Self.largestCount) else { return Self.largestCount }
            return Int64(exact)
        }
        func counts(_ family: IPFamily) -> (assigned: Int64, available: Int64) {
            let capacity = statistics.capacity[family] ?? .zero, inUse = statistics.inUse[family] ?? .zero
            return (clamped(inUse), clamped(capacity - inUse))
        }
        let (v4, v6) = (counts(.v4), counts(.v6))
        self.init(
            assignedIPv4: v4.assigned, assignedIPv6: v6.assigned, availableIPv4: v4.available,
            availableIPv6: v6.available)
    }
}
