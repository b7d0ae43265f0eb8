import CNetlink

#if canImport(Glibc)
import Glibc
#endif

/// A netlink socket subscribed to link changes (RTNLGRP_LINK), through libnl. The speaker waits on it while an
/// interface is down or gone, so it re-arms as soon as the kernel reports the link back instead of on a timer.
/// Messages are not parsed: any change means "look at the interface again".
final class LinkEvents {
    private let socket: OpaquePointer

    init() throws(NetlinkError) {
        guard let socket = nl_socket_alloc() else { throw NetlinkError(call: "nl_socket_alloc", code: -NLE_NOMEM) }
        nl_socket_disable_seq_check(socket)
        do throws(NetlinkError) {
            try NetlinkError.check(nl_connect(socket, NETLINK_ROUTE), "nl_connect")
            try NetlinkError.check(
                nl_socket_add_membership(socket, Int32(RTNLGRP_LINK.rawValue)), "nl_socket_add_membership(RTNLGRP_LINK)"
            )
            try NetlinkError.check(nl_socket_set_nonblocking(socket), "nl_socket_set_nonblocking")
        } catch {
            nl_socket_free(socket)
            throw error
        }
        self.socket = socket
    }

    deinit { nl_socket_free(socket) }

    /// Waits up to `milliseconds` for link events; true when some arrived (they are consumed).
    func wait(milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: nl_socket_get_fd(socket), events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) > 0 else { return false }
        while nl_recvmsgs_default(socket) >= 0 {}
        return true
    }
}
