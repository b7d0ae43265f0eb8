import Glibc
import HeraldCore
import NIOCore

/// The socket options a BGP connection needs before it connects: TTL or hop limit, and the TCP MD5 key for
/// the peer (Linux checks and signs every segment of the connection, the SYN included, so it must be set
/// before `connect`).
enum BGPSocketOptions {
    static func apply(to channel: any Channel, endpoint: BGPPeerEndpoint) -> EventLoopFuture<Void> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(BGPTransportError("the channel takes no socket options"))
        }
        let ttl: EventLoopFuture<Void> =
            switch endpoint.peerAddress.family {
            case .v4:
                provider.unsafeSetSocketOption(
                    level: NIOBSDSocket.OptionLevel(rawValue: CInt(IPPROTO_IP)),
                    name: NIOBSDSocket.Option(rawValue: IP_TTL), value: CInt(endpoint.timeToLive))
            case .v6:
                provider.unsafeSetSocketOption(
                    level: NIOBSDSocket.OptionLevel(rawValue: CInt(IPPROTO_IPV6)),
                    name: NIOBSDSocket.Option(rawValue: IPV6_UNICAST_HOPS), value: CInt(endpoint.timeToLive))
            }
        guard let password = endpoint.password, !password.isEmpty else { return ttl }
        let signature = md5Signature(peer: endpoint.peerAddress, key: Array(password.utf8))
        return ttl.flatMap {
            provider.unsafeSetSocketOption(
                level: NIOBSDSocket.OptionLevel(rawValue: CInt(IPPROTO_TCP)),
                name: NIOBSDSocket.Option(rawValue: TCP_MD5SIG), value: signature)
        }.flatMapErrorThrowing { error in
            throw BGPTransportError("setting the TCP MD5 signature failed (\(error)); the kernel may lack TCP_MD5SIG")
        }
    }

    /// The `tcp_md5sig` for `peer`: its address as a `sockaddr_in` or `sockaddr_in6` (family in host order,
    /// port 0, the address in network order at offset 4 or 8), the key and its length.
    static func md5Signature(peer: IPAddress, key: [UInt8]) -> tcp_md5sig {
        var signature = tcp_md5sig()
        withUnsafeMutableBytes(of: &signature.tcpm_addr) { storage in
            let family: UInt16
            let offset: Int
            var address: [UInt8]
            switch peer {
            case .v4(let v4):
                (family, offset) = (UInt16(AF_INET), 4)
                address = withUnsafeBytes(of: v4.rawValue.bigEndian, Array.init)
            case .v6(let v6):
                (family, offset) = (UInt16(AF_INET6), 8)
                address = (0..<16).map { UInt8(truncatingIfNeeded: v6.rawValue >> (8 * (15 - $0))) }
            }
            withUnsafeBytes(of: family) { storage.copyMemory(from: $0) }
            for (index, byte) in address.enumerated() { storage[offset + index] = byte }
        }
        let length = min(key.count, BGPPeerEndpoint.maximumPasswordLength)
        signature.tcpm_keylen = UInt16(length)
        withUnsafeMutableBytes(of: &signature.tcpm_key) { bytes in
            for index in 0..<length { bytes[index] = key[index] }
        }
        return signature
    }
}

extension tcp_md5sig: @retroactive @unchecked Sendable {}

/// A connection that could not be set up as configured.
public struct BGPTransportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension IPAddress {
    /// The address of a connected socket, as Herald's type.
    init?(_ socketAddress: SocketAddress?) {
        guard let text = socketAddress?.ipAddress, let address = try? IPAddress(parsing: text) else { return nil }
        self = address
    }
}
