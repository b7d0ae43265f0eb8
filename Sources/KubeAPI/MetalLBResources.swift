import Foundation

/// `discovery.k8s.io/v1/EndpointSlice` (v1beta1 has the same shape for these fields; servers before 1.21
/// serve only v1beta1: use `EndpointSlice.v1beta1` as the type there).
public struct EndpointSlice: KubeResource {
    public static let type = ResourceType(
        group: "discovery.k8s.io", version: "v1", plural: "endpointslices", kind: "EndpointSlice", namespaced: true)
    public static let v1beta1 = ResourceType(
        group: "discovery.k8s.io", version: "v1beta1", plural: "endpointslices", kind: "EndpointSlice", namespaced: true
    )

    public struct Conditions: Codable, Sendable, Hashable {
        public var ready: Bool?
        public var serving: Bool?
        public var terminating: Bool?

        public init(ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil) {
            self.ready = ready
            self.serving = serving
            self.terminating = terminating
        }
    }

    public struct Endpoint: Codable, Sendable, Hashable {
        public var addresses: [String]
        public var conditions: Conditions?
        public var nodeName: String?
        /// v1beta1 carries the node in `topology["kubernetes.io/hostname"]`.
        public var topology: [String: String]?

        public init(addresses: [String], conditions: Conditions? = nil, nodeName: String? = nil) {
            self.addresses = addresses
            self.conditions = conditions
            self.nodeName = nodeName
        }

        public var node: String? { nodeName ?? topology?["kubernetes.io/hostname"] }
    }

    public var apiVersion: String?
    public var kind: String? = "EndpointSlice"
    public var metadata: ObjectMeta
    public var addressType: String
    public var endpoints: [Endpoint]?

    public init(
        metadata: ObjectMeta, addressType: String, endpoints: [Endpoint], apiVersion: String = "discovery.k8s.io/v1"
    ) {
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.apiVersion = apiVersion
    }

    /// The Service this slice belongs to (`kubernetes.io/service-name`).
    public var serviceName: String? { metadata.labels?["kubernetes.io/service-name"] }
}

/// The MetalLB annotations Herald reads and writes, current and deprecated spellings.
public enum Annotations {
    public static let loadBalancerIPs = "metallb.io/loadBalancerIPs"
    public static let addressPool = "metallb.io/address-pool"
    public static let allowSharedIP = "metallb.io/allow-shared-ip"
    /// Written by the controller: the pool the Service's IPs came from.
    public static let allocatedFromPool = "metallb.io/ip-allocated-from-pool"
    /// MetalLB's older `metallb.universe.tf/` spellings, still honoured when the new one is absent.
    public static let deprecatedPrefix = "metallb.universe.tf/"

    /// The annotation's value under its current name, else under its deprecated one.
    public static func value(_ name: String, in annotations: [String: String]) -> String? {
        if let value = annotations[name] { return value }
        let suffix = name.dropFirst("metallb.io/".count)
        return annotations[deprecatedPrefix + suffix]
    }
}

/// `metallb.io/v1beta1/IPAddressPool`, as MetalLB defines it.
public struct IPAddressPool: KubeResource {
    public static let type = ResourceType(
        group: "metallb.io", version: "v1beta1", plural: "ipaddresspools", kind: "IPAddressPool", namespaced: true)

    public struct ServiceAllocationSpec: Codable, Sendable, Hashable {
        public var priority: Int?
        public var namespaces: [String]?
        public var namespaceSelectors: [LabelSelectorObject]?
        public var serviceSelectors: [LabelSelectorObject]?

        public init(
            priority: Int? = nil, namespaces: [String]? = nil, namespaceSelectors: [LabelSelectorObject]? = nil,
            serviceSelectors: [LabelSelectorObject]? = nil
        ) {
            self.priority = priority
            self.namespaces = namespaces
            self.namespaceSelectors = namespaceSelectors
            self.serviceSelectors = serviceSelectors
        }
    }

    public struct Spec: Codable, Sendable, Hashable {
        public var addresses: [String]
        public var autoAssign: Bool?
        public var avoidBuggyIPs: Bool?
        public var serviceAllocation: ServiceAllocationSpec?

        public init(
            addresses: [String], autoAssign: Bool? = nil, avoidBuggyIPs: Bool? = nil,
            serviceAllocation: ServiceAllocationSpec? = nil
        ) {
            self.addresses = addresses
            self.autoAssign = autoAssign
            self.avoidBuggyIPs = avoidBuggyIPs
            self.serviceAllocation = serviceAllocation
        }
    }

    /// What the leading controller writes through the status subresource: addresses assigned and free, per
    /// family (MetalLB's `IPAddressPoolStatus`).
    public struct Status: Codable, Sendable, Hashable {
        public var assignedIPv4: Int64
        public var assignedIPv6: Int64
        public var availableIPv4: Int64
        public var availableIPv6: Int64

        public init(assignedIPv4: Int64, assignedIPv6: Int64, availableIPv4: Int64, availableIPv6: Int64) {
            self.assignedIPv4 = assignedIPv4
            self.assignedIPv6 = assignedIPv6
            self.availableIPv4 = availableIPv4
            self.availableIPv6 = availableIPv6
        }

        enum CodingKeys: String, CodingKey { case assignedIPv4, assignedIPv6, availableIPv4, availableIPv6 }

        /// Lenient: a field missing or of another type reads as 0, so a status written by someone else never
        /// makes the pool itself unreadable (the next write corrects it).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            func count(_ key: CodingKeys) -> Int64 {
                ((try? container.decodeIfPresent(Int64.self, forKey: key)) ?? nil) ?? 0
            }
            self.init(
                assignedIPv4: count(.assignedIPv4), assignedIPv6: count(.assignedIPv6),
                availableIPv4: count(.availableIPv4), availableIPv6: count(.availableIPv6))
        }
    }

    public var apiVersion: String? = "metallb.io/v1beta1"
    public var kind: String? = "IPAddressPool"
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec, status: Status? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// `metallb.io/v1beta1/L2Advertisement`, as MetalLB defines it.
public struct L2Advertisement: KubeResource {
    public static let type = ResourceType(
        group: "metallb.io", version: "v1beta1", plural: "l2advertisements", kind: "L2Advertisement", namespaced: true)

    public struct Spec: Codable, Sendable, Hashable {
        public var ipAddressPools: [String]?
        public var ipAddressPoolSelectors: [LabelSelectorObject]?
        public var nodeSelectors: [LabelSelectorObject]?
        public var interfaces: [String]?
        /// The Services this advertisement applies to (any selector matching); none: every Service.
        public var serviceSelectors: [LabelSelectorObject]?
        /// Soft preferences among the nodes `nodeSelectors` allows.
        public var preferredNodeSelectors: [WeightedSelector]?

        public init(
            ipAddressPools: [String]? = nil, ipAddressPoolSelectors: [LabelSelectorObject]? = nil,
            nodeSelectors: [LabelSelectorObject]? = nil, interfaces: [String]? = nil,
            serviceSelectors: [LabelSelectorObject]? = nil, preferredNodeSelectors: [WeightedSelector]? = nil
        ) {
            self.ipAddressPools = ipAddressPools
            self.ipAddressPoolSelectors = ipAddressPoolSelectors
            self.nodeSelectors = nodeSelectors
            self.interfaces = interfaces
            self.serviceSelectors = serviceSelectors
            self.preferredNodeSelectors = preferredNodeSelectors
        }
    }

    /// One `preferredNodeSelectors` entry: the nodes `preference` matches score `weight` (1–100).
    public struct WeightedSelector: Codable, Sendable, Hashable {
        public var weight: Int
        public var preference: LabelSelectorObject

        public init(weight: Int, preference: LabelSelectorObject) {
            self.weight = weight
            self.preference = preference
        }
    }

    public var apiVersion: String? = "metallb.io/v1beta1"
    public var kind: String? = "L2Advertisement"
    public var metadata: ObjectMeta
    public var spec: Spec?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// MetalLB's `ServiceL2Status` (metallb.io/v1beta1): which node announces a Service in Layer 2 mode, and on
/// which interfaces. One object per Service and announcing node, in the speakers' namespace, labelled with
/// `metallb.io/node`, `metallb.io/service-name` and `metallb.io/service-namespace`, as MetalLB labels them.
public struct ServiceL2Status: KubeResource {
    public static let type = ResourceType(
        group: "metallb.io", version: "v1beta1", plural: "servicel2statuses", kind: "ServiceL2Status", namespaced: true)

    public static let nodeLabel = "metallb.io/node"
    public static let serviceNameLabel = "metallb.io/service-name"
    public static let serviceNamespaceLabel = "metallb.io/service-namespace"

    public struct Interface: Codable, Sendable, Hashable {
        public var name: String?
        public init(name: String) { self.name = name }
    }

    public struct Status: Codable, Sendable, Hashable {
        public var node: String?
        public var serviceName: String?
        public var serviceNamespace: String?
        public var interfaces: [Interface]?

        public init(node: String, serviceName: String, serviceNamespace: String, interfaces: [String]) {
            self.node = node
            self.serviceName = serviceName
            self.serviceNamespace = serviceNamespace
            self.interfaces = interfaces.map(Interface.init(name:))
        }
    }

    public var apiVersion: String? = "metallb.io/v1beta1"
    public var kind: String? = "ServiceL2Status"
    public var metadata: ObjectMeta
    public var status: Status?

    public init(metadata: ObjectMeta, status: Status? = nil) {
        self.metadata = metadata
        self.status = status
    }

    /// The announcing node, from the status or else the label.
    public var node: String? { status?.node ?? metadata.labels?[Self.nodeLabel] }
}
