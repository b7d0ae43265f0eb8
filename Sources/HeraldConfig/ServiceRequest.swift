public import HeraldCore
public import KubeAPI

/// How a Kubernetes Service becomes an allocation request, and whether it is Herald's to serve.
public struct ServiceRequestBuilder: Sendable {
    /// `--lb-class`: nil means Herald serves Services without a `loadBalancerClass` (the default class).
    public var loadBalancerClass: String?

    public init(loadBalancerClass: String? = nil) { self.loadBalancerClass = loadBalancerClass }

    /// A `type: LoadBalancer` Service of Herald's class: with a class, exactly that class; without, Services
    /// that name no class.
    public func serves(_ service: KubernetesService) -> Bool {
        service.isLoadBalancer(ofClass: loadBalancerClass)
    }

    /// The request for this Service; a bad annotation or field is an `.invalidRequest` failure naming it.
    public func request(
        for service: KubernetesService, namespaceLabels: [String: String]
    ) throws(AllocationFailure) -> AllocationRequest {
        let meta = service.metadata
        let annotations = meta.annotations ?? [:]
        let spec = service.spec ?? KubernetesService.Spec()
        let key = service.serviceKey
        let requestedIPs = try AllocationRequest.parseRequestedIPs(
            annotation: Annotations.value(Annotations.loadBalancerIPs, in: annotations),
            loadBalancerIP: spec.loadBalancerIP)
        var ports: [ServicePort] = []
        for (index, port) in (spec.ports ?? []).enumerated() {
            let name = port.protocol ?? "TCP"
            guard let transport = ServicePort.TransportProtocol(rawValue: name) else {
                throw AllocationFailure(
                    .invalidRequest, "spec.ports[\(index)].protocol \"\(name)\" is not TCP, UDP or SCTP")
            }
            guard let number = UInt16(exactly: port.port), number > 0 else {
                throw AllocationFailure(.invalidRequest, "spec.ports[\(index)].port \(port.port) is not a port number")
            }
            ports.append(ServicePort(transport, number))
        }
        var families: [IPFamily] = []
        for (index, name) in (spec.ipFamilies ?? []).enumerated() {
            guard let family = IPFamily(rawValue: name) else {
                throw AllocationFailure(.invalidRequest, "spec.ipFamilies[\(index)] \"\(name)\" is not IPv4 or IPv6")
            }
            families.append(family)
        }
        // Servers without dual-stack (before 1.21, or with it off) leave spec.ipFamilies empty: the ClusterIPs
        // tell the family then, as MetalLB reads them.
        if families.isEmpty {
            let clusterIPs = spec.clusterIPs ?? spec.clusterIP.map({ [$0] }) ?? []
            for address in clusterIPs {
                if let family = (try? IPAddress(parsing: address))?.family, !families.contains(family) {
                    families.append(family)
                }
            }
        }
        let policy: IPFamilyPolicy
        if let name = spec.ipFamilyPolicy {
            guard let parsed = IPFamilyPolicy(rawValue: name) else {
                throw AllocationFailure(
                    .invalidRequest,
                    "spec.ipFamilyPolicy \"\(name)\" is not SingleStack, PreferDualStack or RequireDualStack")
            }
            policy = parsed
        } else {
            policy = .singleStack
        }
        let pool = Annotations.value(Annotations.addressPool, in: annotations).flatMap { $0.isEmpty ? nil : $0 }
        return AllocationRequest(
            service: key, labels: meta.labels ?? [:], namespaceLabels: namespaceLabels, requestedIPs: requestedIPs,
            requestedPool: pool, sharingKey: Annotations.value(Annotations.allowSharedIP, in: annotations),
            ports: ports, trafficPolicy: spec.externalTrafficPolicy == "Local" ? .local : .cluster,
            selector: spec.selector ?? [:], ipFamilyPolicy: policy, ipFamilies: families,
            createdAt: meta.creationTimestamp.flatMap(Timestamps.seconds) ?? 0)
    }
}
