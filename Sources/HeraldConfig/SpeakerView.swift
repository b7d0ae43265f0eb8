public import HeraldCore
public import KubeAPI

/// Builds the planner's inputs from the API objects the speaker watches. Objects that cannot be used (a pool
/// with a bad range, an advertisement with a bad selector) are left out and reported in `problems`; the rest
/// is planned as usual.
public struct SpeakerView: Sendable {
    public var inputs = AnnouncementInputs()
    /// One line per object left out, naming it and the field at fault.
    public var problems: [String] = []

    public init(
        services: some Collection<KubernetesService>, endpointSlices: some Collection<EndpointSlice>,
        pools: some Collection<IPAddressPool>, advertisements: some Collection<L2Advertisement>,
        nodes: some Collection<Node>, members: Set<String>, loadBalancerClass: String?
    ) {
        inputs.members = members
        for node in nodes { inputs.nodes[node.metadata.name ?? ""] = node.nodeDescription }
        mapPools(pools)
        for advertisement in advertisements.sorted(by: { $0.key < $1.key }) {
            do { inputs.advertisements.append(try advertisement.rule()) } catch { problems.append("\(error)") }
        }
        let ready = Self.readyEndpointNodes(endpointSlices)
        for service in services where service.isLoadBalancer(ofClass: loadBalancerClass) {
            let ips = service.ingressIPs.compactMap { try? IPAddress(parsing: $0) }
            guard !ips.isEmpty else { continue }
            let key = service.serviceKey
            inputs.services.append(
                AnnouncedService(
                    service: key, ips: ips, pool: service.metadata.annotations?[Annotations.allocatedFromPool],
                    trafficPolicy: service.spec?.externalTrafficPolicy == "Local" ? .local : .cluster,
                    readyEndpointNodes: ready[key] ?? [], labels: service.metadata.labels ?? [:],
                    sharingKey: Annotations.value(Annotations.allowSharedIP, in: service.metadata.annotations ?? [:])))
        }
        inputs.services.sort { $0.service < $1.service }
    }

    private mutating func mapPools(_ pools: some Collection<IPAddressPool>) {
        var specs: [PoolSpec] = []
        var labels: [String: [String: String]] = [:]
        for pool in pools.sorted(by: { $0.key < $1.key }) {
            do {
                specs.append(try pool.poolSpec())
                labels[pool.metadata.name ?? ""] = pool.metadata.labels ?? [:]
            } catch { problems.append("\(error)") }
        }
        let validated = PoolValidator.validate(specs)
        problems += validated.errors.map(\.description)
        inputs.pools = validated.pools.map { PoolDescription(pool: $0, labels: labels[$0.name] ?? [:]) }
    }

    /// Per Service, the nodes with at least one ready endpoint (`ready` absent counts as ready, as the API says).
    static func readyEndpointNodes(_ slices: some Collection<EndpointSlice>) -> [ServiceKey: Set<String>] {
        var result: [ServiceKey: Set<String>] = [:]
        for slice in slices {
            guard let service = slice.serviceName, let namespace = slice.metadata.namespace else { continue }
            let key = ServiceKey(namespace: namespace, name: service)
            for endpoint in slice.endpoints ?? [] where endpoint.conditions?.ready ?? true {
                guard let node = endpoint.node else { continue }
                result[key, default: []].insert(node)
            }
        }
        return result
    }
}
