/// Where a gossip endpoint listens: an IP literal and a port, written `192.0.2.1:7946` or `[2001:db8::1]:7946`.
/// Host names are refused on purpose: speakers find each other by pod or node IP, and a DNS lookup on the
/// probe path would put a resolver's latency into failure detection.
public struct GossipAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(GossipAddressError) {
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw GossipAddressError("\"\(text)\": an IPv6 address is written [address]:port")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else {
                throw GossipAddressError("\"\(text)\" is not host:port (write IPv6 as [address]:port)")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw GossipAddressError("\"\(text)\": the port must be a number from 0 to 65535")
        }
        guard Self.isIPLiteral(host) else { throw GossipAddressError("\"\(text)\": \"\(host)\" is not an IP address") }
        self.init(host: String(host), port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Whether the host is an IPv6 literal.
    public var isIPv6: Bool { host.contains(":") }

    /// Every local address of the family the others reach this member at, on `port`: `[::]` when that address
    /// is IPv6 (a node whose primary address is IPv6), `0.0.0.0` otherwise. An IPv4 socket would never hear
    /// peers that send to an IPv6 address.
    public static func wildcard(reachedAt advertised: GossipAddress?, port: Int) -> GossipAddress {
        GossipAddress(host: advertised?.isIPv6 == true ? "::" : "0.0.0.0", port: port)
    }

    static func isIPLiteral(_ host: Substring) -> Bool {
        guard !host.isEmpty else { return false }
        if host.contains(":") { return host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber)
                    && Int(part)! <= 255
            }
    }
}

public struct GossipAddressError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
