/// One port a Service listens on. Two Services sharing an IP must not listen on the same protocol and port.
public struct ServicePort: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Kubernetes' `spec.ports[].protocol`.
    public enum TransportProtocol: String, Hashable, Comparable, Sendable, CaseIterable {
        case tcp = "TCP"
        case udp = "UDP"
        case sctp = "SCTP"

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var transportProtocol: TransportProtocol
    public var port: UInt16

    public init(_ transportProtocol: TransportProtocol, _ port: UInt16) {
        self.transportProtocol = transportProtocol
        self.port = port
    }

    public static func tcp(_ port: UInt16) -> ServicePort { ServicePort(.tcp, port) }
    public static func udp(_ port: UInt16) -> ServicePort { ServicePort(.udp, port) }

    /// `TCP/80`.
    public var description: String { "\(transportProtocol.rawValue)/\(port)" }

    public static func < (lhs: ServicePort, rhs: ServicePort) -> Bool {
        (lhs.transportProtocol, lhs.port) < (rhs.transportProtocol, rhs.port)
    }
}
