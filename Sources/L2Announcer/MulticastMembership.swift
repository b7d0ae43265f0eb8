import CLinuxNet
public import HeraldCore
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
    /// The groups the kernel confirmed joining. The lock is held across the system calls, so two reconciles
    /// never interleave.
    private let joined = Mutex<Set<IPv6Address>>([])

    public init(interface: NetworkInterface) throws(SocketError) {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket(AF_INET6)", interface: interface.name, errno: errno) }
        descriptor = fd
        self.interface = interface
    }

    deinit { close(descriptor) }

    /// Makes the joined groups exactly those of `addresses`: joins the missing, leaves the unneeded. Returns
    /// the joins the kernel refused (an interface that has just come up may refuse until its IPv6 has
    /// started); calling again retries them. Idempotent, so callers need no bookkeeping of their own.
    @discardableResult
    public func reconcile(with addresses: some Sequence<IPv6Address>) -> [IPv6Address: SocketError] {
        let wanted = Set(addresses.map(\.solicitedNodeMulticast))
        return joined.withLock { joined in
            var refused: [IPv6Address: SocketError] = [:]
            for group in wanted.subtracting(joined) {
                let result = group.bytes.withUnsafeBufferPointer {
                    CLinuxNet_join_ipv6_group(descriptor, interface.index, $0.baseAddress)
                }
                let error = errno
                if result == 0 || error == EADDRINUSE {
                    joined.insert(group)
                } else {
                    refused[group] = SocketError(
                        "setsockopt(IPV6_JOIN_GROUP \(group))", interface: interface.name, errno: error)
                }
            }
            for group in joined.subtracting(wanted) {
                _ = group.bytes.withUnsafeBufferPointer {
                    CLinuxNet_leave_ipv6_group(descriptor, interface.index, $0.baseAddress)
                }
                joined.remove(group)
            }
            return refused
        }
    }

    /// The groups joined in the kernel.
    public var joinedGroups: Set<IPv6Address> { joined.withLock { $0 } }
}
