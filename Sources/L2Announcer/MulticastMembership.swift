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
    private struct Groups {
        /// How many announced addresses need each group.
        var wanted: [IPv6Address: Int] = [:]
        /// The groups the kernel confirmed joining.
        var joined: Set<IPv6Address> = []
    }
    private let groups = Mutex(Groups())

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
        groups.withLock { $0.wanted[group, default: 0] += 1 }
        do throws(SocketError) { try joinIfNeeded(group) } catch {
            groups.withLock { state in
                state.wanted[group] = state.wanted[group].flatMap { $0 > 1 ? $0 - 1 : nil }
            }
            throw error
        }
    }

    /// Joins every wanted group not joined yet. An interface that has just come up may refuse for a moment
    /// (its IPv6 is not ready); the speaker calls this again before each announcement.
    public func sync() {
        for group in groups.withLock({ Set($0.wanted.keys).subtracting($0.joined) }) { try? joinIfNeeded(group) }
    }

    private func joinIfNeeded(_ group: IPv6Address) throws(SocketError) {
        guard !groups.withLock({ $0.joined.contains(group) }) else { return }
        let result = group.bytes.withUnsafeBufferPointer { CLinuxNet_join_ipv6_group(descriptor, interface.index, $0.baseAddress) }
        guard result == 0 || errno == EADDRINUSE else {
            throw SocketError("setsockopt(IPV6_JOIN_GROUP \(group))", interface: interface.name, errno: errno)
        }
        groups.withLock { _ = $0.joined.insert(group) }
    }

    /// Leaves the group of `address` when no other announced address needs it.
    public func leave(for address: IPv6Address) {
        let group = address.solicitedNodeMulticast
        let leave = groups.withLock { state -> Bool in
            guard let count = state.wanted[group] else { return false }
            state.wanted[group] = count > 1 ? count - 1 : nil
            return count == 1 && state.joined.remove(group) != nil
        }
        guard leave else { return }
        _ = group.bytes.withUnsafeBufferPointer { CLinuxNet_leave_ipv6_group(descriptor, interface.index, $0.baseAddress) }
    }

    /// The groups joined in the kernel.
    public var joinedGroups: Set<IPv6Address> { groups.withLock { $0.joined } }
}
