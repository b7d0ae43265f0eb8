/// Where the operations endpoint listens, as `--metrics-bind-address` gives it: `HOST:PORT`, `[IPv6]:PORT`,
/// `:PORT` for every address (as Go programs such as MetalLB read it), or `0` to serve nothing.
public struct BindAddress: Sendable, Hashable, CustomStringConvertible {
    /// nil: every address of the host (IPv6 and IPv4 where the kernel allows, else IPv4).
    public var host: String?
    public var port: Int

    public init(host: String?, port: Int) {
        self.host = host
        self.port = port
    }

    /// nil for `0` (disabled).
    public static func parse(_ text: String) throws(BindAddressError) -> BindAddress? {
        if text == "0" { return nil }
        guard let colon = text.lastIndex(of: ":") else {
            throw BindAddressError(text: text, reason: "expected HOST:PORT, :PORT or 0")
        }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw BindAddressError(text: text, reason: "the port must be a number from 0 to 65535")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw BindAddressError(text: text, reason: "write an IPv6 address in brackets: [2001:db8::1]:7472")
        }
        return BindAddress(host: host.isEmpty ? nil : host, port: port)
    }

    public var description: String {
        guard let host else { return ":\(port)" }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

public struct BindAddressError: Error, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "bind address \"\(text)\": \(reason)" }
}
