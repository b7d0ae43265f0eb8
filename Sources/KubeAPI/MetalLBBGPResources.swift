import Foundation

/// MetalLB's `BGPPeer` (metallb.io/v1beta2, the stored version; v1beta1 is served with the same fields): one
/// router the speakers open a BGP session to, from the nodes `nodeSelectors` selects.
public struct BGPPeer: KubeResource {
    public static let type = ResourceType(
        group: "metallb.io", version: "v1beta2", plural: "bgppeers", kind: "BGPPeer", namespaced: true)

    /// `passwordSecret`: a `kubernetes.io/basic-auth` Secret whose key `password` holds the MD5 key.
    public struct SecretReference: Codable, Sendable, Hashable {
        public var name: String?
        public var namespace: String?

        public init(name: String? = nil, namespace: String? = nil) {
            self.name = name
            self.namespace = namespace
        }
    }

    public struct Spec: Codable, Sendable, Hashable {
        public var myASN: UInt32
        public var peerASN: UInt32?
        /// `internal` or `external`: the peer's AS is not fixed, only whether it equals `myASN`.
        public var dynamicASN: String?
        public var peerAddress: String?
        /// BGP unnumbered over this interface (not supported by Herald yet).
        public var interface: String?
        public var sourceAddress: String?
        public var peerPort: Int?
        /// Go durations ("90s", "1m30s").
        public var holdTime: String?
        public var keepaliveTime: String?
        public var connectTime: String?
        public var routerID: String?
        public var nodeSelectors: [LabelSelectorObject]?
        public var password: String?
        public var passwordSecret: SecretReference?
        public var bfdProfile: String?
        public var enableGracefulRestart: Bool?
        public var ebgpMultiHop: Bool?
        public var vrf: String?
        public var disableMP: Bool?
        public var dualStackAddressFamily: Bool?

        public init(
            myASN: UInt32, peerASN: UInt32? = nil, dynamicASN: String? = nil, peerAddress: String? = nil,
            interface: String? = nil, sourceAddress: String? = nil, peerPort: Int? = nil, holdTime: String? = nil,
            keepaliveTime: String? = nil, connectTime: String? = nil, routerID: String? = nil,
            nodeSelectors: [LabelSelectorObject]? = nil, password: String? = nil,
            passwordSecret: SecretReference? = nil, bfdProfile: String? = nil, enableGracefulRestart: Bool? = nil,
            ebgpMultiHop: Bool? = nil, vrf: String? = nil, disableMP: Bool? = nil, dualStackAddressFamily: Bool? = nil
        ) {
            self.myASN = myASN
            self.peerASN = peerASN
            self.dynamicASN = dynamicASN
            self.peerAddress = peerAddress
            self.interface = interface
            self.sourceAddress = sourceAddress
            self.peerPort = peerPort
            self.holdTime = holdTime
            self.keepaliveTime = keepaliveTime
            self.connectTime = connectTime
            self.routerID = routerID
            self.nodeSelectors = nodeSelectors
            self.password = password
            self.passwordSecret = passwordSecret
            self.bfdProfile = bfdProfile
            self.enableGracefulRestart = enableGracefulRestart
            self.ebgpMultiHop = ebgpMultiHop
            self.vrf = vrf
            self.disableMP = disableMP
            self.dualStackAddressFamily = dualStackAddressFamily
        }
    }

    public var apiVersion: String? = "metallb.io/v1beta2"
    public var kind: String? = "BGPPeer"
    public var metadata: ObjectMeta
    public var spec: Spec?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// MetalLB's `BGPAdvertisement` (metallb.io/v1beta1): which pools are announced over BGP, how (aggregation,
/// LOCAL_PREF, communities), from which nodes and to which peers.
public struct BGPAdvertisement: KubeResource {
    public static let type = ResourceType(
        group: "metallb.io", version: "v1beta1", plural: "bgpadvertisements", kind: "BGPAdvertisement", namespaced: true
    )

    public struct Spec: Codable, Sendable, Hashable {
        public var aggregationLength: Int?
        public var aggregationLengthV6: Int?
        public var localPref: UInt32?
        /// `ASN:VALUE`, `large:GLOBAL:LOCAL1:LOCAL2`, or the name of an entry of a `Community` object.
        public var communities: [String]?
        public var ipAddressPools: [String]?
        public var ipAddressPoolSelectors: [LabelSelectorObject]?
        public var nodeSelectors: [LabelSelectorObject]?
        /// `BGPPeer` names; none: every peer.
        public var peers: [String]?
        public var serviceSelectors: [LabelSelectorObject]?

        public init(
            aggregationLength: Int? = nil, aggregationLengthV6: Int? = nil, localPref: UInt32? = nil,
            communities: [String]? = nil, ipAddressPools: [String]? = nil,
            ipAddressPoolSelectors: [LabelSelectorObject]? = nil, nodeSelectors: [LabelSelectorObject]? = nil,
            peers: [String]? = nil, serviceSelectors: [LabelSelectorObject]? = nil
        ) {
            self.aggregationLength = aggregationLength
            self.aggregationLengthV6 = aggregationLengthV6
            self.localPref = localPref
            self.communities = communities
            self.ipAddressPools = ipAddressPools
            self.ipAddressPoolSelectors = ipAddressPoolSelectors
            self.nodeSelectors = nodeSelectors
            self.peers = peers
            self.serviceSelectors = serviceSelectors
        }
    }

    public var apiVersion: String? = "metallb.io/v1beta1"
    public var kind: String? = "BGPAdvertisement"
    public var metadata: ObjectMeta
    public var spec: Spec?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// MetalLB's `Community` (metallb.io/v1beta1): names for community values, usable in `BGPAdvertisement`.
public struct Community: KubeResource {
    public static let type = ResourceType(
        group: "metallb.io", version: "v1beta1", plural: "communities", kind: "Community", namespaced: true)

    public struct Alias: Codable, Sendable, Hashable {
        public var name: String?
        public var value: String?

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct Spec: Codable, Sendable, Hashable {
        public var communities: [Alias]?
        public init(communities: [Alias]? = nil) { self.communities = communities }
    }

    public var apiVersion: String? = "metallb.io/v1beta1"
    public var kind: String? = "Community"
    public var metadata: ObjectMeta
    public var spec: Spec?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// MetalLB's `ServiceBGPStatus` (metallb.io/v1beta1): which peers one node announces a Service to. One object
/// per Service and announcing node, labelled like `ServiceL2Status`.
public struct ServiceBGPStatus: KubeResource {
    public static let type = ResourceType(
        group: "metallb.io", version: "v1beta1", plural: "servicebgpstatuses", kind: "ServiceBGPStatus",
        namespaced: true)

    public struct Status: Codable, Sendable, Hashable {
        public var node: String?
        public var serviceName: String?
        public var serviceNamespace: String?
        public var peers: [String]?

        public init(node: String, serviceName: String, serviceNamespace: String, peers: [String]) {
            self.node = node
            self.serviceName = serviceName
            self.serviceNamespace = serviceNamespace
            self.peers = peers
        }
    }

    public var apiVersion: String? = "metallb.io/v1beta1"
    public var kind: String? = "ServiceBGPStatus"
    public var metadata: ObjectMeta
    public var status: Status?

    public init(metadata: ObjectMeta, status: Status? = nil) {
        self.metadata = metadata
        self.status = status
    }
}

/// A core/v1 Secret, for `passwordSecret`: `data` values are base64, as the API returns them.
public struct Secret: KubeResource {
    public static let type = ResourceType(group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true)

    public var apiVersion: String? = "v1"
    public var kind: String? = "Secret"
    public var metadata: ObjectMeta
    public var type: String?
    public var data: [String: String]?

    public init(metadata: ObjectMeta, type: String? = nil, data: [String: String]? = nil) {
        self.metadata = metadata
        self.type = type
        self.data = data
    }

    /// The decoded value of `key`, if present and valid base64 UTF-8.
    public func value(_ key: String) -> String? {
        guard let encoded = data?[key], let bytes = Data(base64Encoded: encoded) else { return nil }
        return String(data: bytes, encoding: .utf8)
    }
}
