public import HeraldCore
import CLinuxNet
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The solicited-node groups joined on one interface, one join per group however many announced addresses
/// share it (they share it when their last 24 bits match).
///
/// IPV6_JOIN_GROUP rather than PACKET_ADD_MEMBERSHIP: only the former makes the kernel send MLDv2 reports, and
/// a switch with MLD snooping forwards no solicitations to a port that never reported.
public final class MulticastMembership: Sendable {
    private let descriptor: Int32
    private let interface: NetworkInterface
    private let members = Mutex<[IPv6Address: Int]>([:])

    public init(interface: NetworkInterface) throws(SocketError) {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket(AF_INET6)", interface: interface.name, errno: errno) }
        descriptor = fd
        self.interface = interface
    }

    deinit { close(descriptor) }

    /// Joins the solicited-node group of `address` unless another announced address joined it already.
    public func join(for address: IPv6Address) throws(SocketError) {
        let group = address.solicitedNodeMulticast
        let first = members.withLock { count in
            count[group, default: 0] += 1
            return count[group] == 1
        }
        guard first else { return }
        let result = group.bytes.withUnsafeBufferPointer { CLinuxNet_join_ipv6_group(descriptor, interface.index, $0.baseAddress) }
        if result != 0 && errno != EADDRINUSE {
            members.withLock { $0[group] = nil }
            throw SocketError("setsockopt(IPV6_JOIN_GROUP \(group))", interface: interface.name, errno: errno)
        }
    }

    /// Leaves the group of `address` when no other announced address needs it.
    public func leave(for address: IPv6Address) {
        let group = address.solicitedNodeMulticast
        let last = members.withLock { count -> Bool in
            guard let current = count[group] else { return false }
            count[group] = current > 1 ? current - 1 : nil
            return current == 1
        }
        guard last else { return }
        _ = group.bytes.withUnsafeBufferPointer { CLinuxNet_leave_ipv6_group(descriptor, interface.index, $0.baseAddress) }
    }

    public var groups: Set<IPv6Address> { members.withLock { Set($0.keys) } }
}
