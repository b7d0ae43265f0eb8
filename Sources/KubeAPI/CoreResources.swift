/// `v1/Service`: the fields a load balancer reads and writes.
/// Named `KubernetesService` because `Service` is swift-service-lifecycle's protocol, which every program here uses.
public struct KubernetesService: KubeResource {
    public static let type = ResourceType(
        group: "", version: "v1", plural: "services", kind: "Service", namespaced: true)

    public struct Port: Codable, Sendable, Hashable {
        public var name: String?
        public var `protocol`: String?
        public var port: Int
        public var targetPort: IntOrString?
        public var nodePort: Int?

        public init(name: String? = nil, protocol: String? = "TCP", port: Int) {
            self.name = name
            self.protocol = `protocol`
            self.port = port
        }
    }

    public struct Spec: Codable, Sendable, Hashable {
        public var type: String?
        public var ports: [Port]?
        public var selector: [String: String]?
        public var clusterIP: String?
        public var clusterIPs: [String]?
        public var loadBalancerIP: String?
        public var loadBalancerClass: String?
        public var externalTrafficPolicy: String?
        public var ipFamilies: [String]?
        public var ipFamilyPolicy: String?

        public init(type: String? = nil, ports: [Port]? = nil) {
            self.type = type
            self.ports = ports
        }
    }

    public struct Ingress: Codable, Sendable, Hashable {
        public var ip: String?
        public var hostname: String?

        public init(ip: String) { self.ip = ip }
    }

    public struct LoadBalancerStatus: Codable, Sendable, Hashable {
        public var ingress: [Ingress]?

        public init(ingress: [Ingress]? = nil) { self.ingress = ingress }
    }

    public struct Status: Codable, Sendable, Hashable {
        public var loadBalancer: LoadBalancerStatus?

        public init(loadBalancer: LoadBalancerStatus? = nil) { self.loadBalancer = loadBalancer }
    }

    public var apiVersion: String? = "v1"
    public var kind: String? = "Service"
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec? = nil, status: Status? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The IPs in `status.loadBalancer.ingress`.
    public var ingressIPs: [String] { status?.loadBalancer?.ingress?.compactMap(\.ip) ?? [] }

    /// A `type: LoadBalancer` Service of the given class (nil: Services that name no class).
    public func isLoadBalancer(ofClass loadBalancerClass: String?) -> Bool {
        spec?.type == "LoadBalancer" && spec?.loadBalancerClass == loadBalancerClass
    }
}

/// `v1/Pod`, as far as peer discovery needs it: where it runs and its IP.
public struct Pod: KubeResource {
    public static let type = ResourceType(group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true)

    public struct Spec: Codable, Sendable, Hashable {
        public var nodeName: String?
        public init(nodeName: String? = nil) { self.nodeName = nodeName }
    }

    public struct Status: Codable, Sendable, Hashable {
        /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`.
        public var phase: String?
        public var podIP: String?
        public init(phase: String? = nil, podIP: String? = nil) {
            self.phase = phase
            self.podIP = podIP
        }
    }

    public var apiVersion: String? = "v1"
    public var kind: String? = "Pod"
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec? = nil, status: Status? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// A port given as a number or a name.
public enum IntOrString: Codable, Sendable, Hashable {
    case int(Int)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            self = .int(number)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        }
    }
}

/// `v1/Node`: labels (for selectors and exclusion) and addresses.
public struct Node: KubeResource {
    public static let type = ResourceType(group: "", version: "v1", plural: "nodes", kind: "Node", namespaced: false)

    public struct Address: Codable, Sendable, Hashable {
        public var type: String
        public var address: String
    }

    public struct Taint: Codable, Sendable, Hashable {
        public var key: String
        public var value: String?
        /// NoSchedule, PreferNoSchedule or NoExecute.
        public var effect: String

        public init(key: String, value: String? = nil, effect: String) {
            self.key = key
            self.value = value
            self.effect = effect
        }
    }

    public struct Spec: Codable, Sendable, Hashable {
        public var taints: [Taint]?

        public init(taints: [Taint]? = nil) { self.taints = taints }
    }

    /// One of the node's conditions (Ready, NetworkUnavailable, ...): `status` is "True", "False" or "Unknown".
    public struct Condition: Codable, Sendable, Hashable {
        public var type: String
        public var status: String

        public init(type: String, status: String) {
            self.type = type
            self.status = status
        }
    }

    public struct Status: Codable, Sendable, Hashable {
        public var addresses: [Address]?
        public var conditions: [Condition]?

        public init(addresses: [Address]? = nil, conditions: [Condition]? = nil) {
            self.addresses = addresses
            self.conditions = conditions
        }
    }

    public var apiVersion: String? = "v1"
    public var kind: String? = "Node"
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec? = nil, status: Status? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Whether the node has a condition of this type with status "True".
    public func hasCondition(_ type: String) -> Bool {
        status?.conditions?.contains { $0.type == type && $0.status == "True" } ?? false
    }

    public func hasTaint(_ key: String) -> Bool { spec?.taints?.contains { $0.key == key } ?? false }
}

/// `v1/Namespace`: its labels feed pools' `namespaceSelectors`.
public struct Namespace: KubeResource {
    public static let type = ResourceType(
        group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)

    public var apiVersion: String? = "v1"
    public var kind: String? = "Namespace"
    public var metadata: ObjectMeta

    public init(metadata: ObjectMeta) { self.metadata = metadata }
}

/// `v1/Event` (core events, which every server version serves).
public struct Event: KubeResource {
    public static let type = ResourceType(group: "", version: "v1", plural: "events", kind: "Event", namespaced: true)

    public struct ObjectReference: Codable, Sendable, Hashable {
        public var apiVersion: String?
        public var kind: String?
        public var namespace: String?
        public var name: String?
        public var uid: String?
        public var resourceVersion: String?

        public init(
            apiVersion: String? = nil, kind: String? = nil, namespace: String? = nil, name: String? = nil,
            uid: String? = nil
        ) {
            self.apiVersion = apiVersion
            self.kind = kind
            self.namespace = namespace
            self.name = name
            self.uid = uid
        }
    }

    public struct Source: Codable, Sendable, Hashable {
        public var component: String?
        public var host: String?
    }

    public var apiVersion: String? = "v1"
    public var kind: String? = "Event"
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    public var reason: String?
    public var message: String?
    /// `Normal` or `Warning`.
    public var type: String?
    public var count: Int?
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var source: Source?
    public var reportingComponent: String?

    public init(
        metadata: ObjectMeta, involvedObject: ObjectReference, reason: String, message: String, type: String,
        count: Int = 1, firstTimestamp: String, lastTimestamp: String, component: String
    ) {
        self.metadata = metadata
        self.involvedObject = involvedObject
        self.reason = reason
        self.message = message
        self.type = type
        self.count = count
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.source = Source(component: component, host: nil)
        self.reportingComponent = component
    }
}

/// `coordination.k8s.io/v1/Lease`, for leader election.
public struct Lease: KubeResource {
    public static let type = ResourceType(
        group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true)

    public struct Spec: Codable, Sendable, Hashable {
        public var holderIdentity: String?
        public var leaseDurationSeconds: Int?
        /// MicroTime: RFC 3339 with microseconds.
        public var acquireTime: String?
        public var renewTime: String?
        public var leaseTransitions: Int?

        public init(
            holderIdentity: String? = nil, leaseDurationSeconds: Int? = nil, acquireTime: String? = nil,
            renewTime: String? = nil, leaseTransitions: Int? = nil
        ) {
            self.holderIdentity = holderIdentity
            self.leaseDurationSeconds = leaseDurationSeconds
            self.acquireTime = acquireTime
            self.renewTime = renewTime
            self.leaseTransitions = leaseTransitions
        }
    }

    public var apiVersion: String? = "coordination.k8s.io/v1"
    public var kind: String? = "Lease"
    public var metadata: ObjectMeta
    public var spec: Spec?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}
