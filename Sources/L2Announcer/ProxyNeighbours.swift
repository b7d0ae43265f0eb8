import CNetlink
public import HeraldCore

#if canImport(Glibc)
import Glibc
#endif

/// Kernel proxy NDP: neighbour proxy entries (`NTF_PROXY`, what `ip -6 neigh add proxy ADDR dev IF` makes) so
/// the kernel itself answers solicitations for an address, instead of Herald's packet socket.
///
/// Limits, measured: the kernel answers unicast NUD probes for a proxy entry only with
/// `net.ipv6.conf.all.forwarding=1` and `net.ipv6.conf.all.proxy_ndp=1` (the per-interface switch alone leaves
/// them unanswered); it delays each answer by a random time up to `net.ipv6.neigh.IF.proxy_delay` (default
/// 0.8 s) unless that is 0; and its answers carry Override=0, so a takeover still needs Herald's own
/// unsolicited advertisement, which the speaker sends in this mode too.
public enum ProxyNeighbours {
    /// Adds (or keeps) a proxy entry for `address` on the interface.
    public static func add(_ address: IPv6Address, interfaceIndex: Int32) throws(NetlinkError) {
        try change(address, interfaceIndex: interfaceIndex, adding: true)
    }

    /// Removes the proxy entry; a missing entry is not an error.
    public static func remove(_ address: IPv6Address, interfaceIndex: Int32) throws(NetlinkError) {
        do { try change(address, interfaceIndex: interfaceIndex, adding: false) } catch {
            guard error.code == -NLE_OBJ_NOTFOUND else { throw error }
        }
    }

    private static func change(_ address: IPv6Address, interfaceIndex: Int32, adding: Bool) throws(NetlinkError) {
        guard let socket = nl_socket_alloc() else { throw NetlinkError(call: "nl_socket_alloc", code: -NLE_NOMEM) }
        defer { nl_socket_free(socket) }
        try NetlinkError.check(nl_connect(socket, NETLINK_ROUTE), "nl_connect")
        guard let neighbour = rtnl_neigh_alloc() else { throw NetlinkError(call: "rtnl_neigh_alloc", code: -NLE_NOMEM) }
        defer { rtnl_neigh_put(neighbour) }
        let bytes = address.bytes
        guard let destination = nl_addr_build(AF_INET6, bytes, 16) else {
            throw NetlinkError(call: "nl_addr_build", code: -NLE_NOMEM)
        }
        defer { nl_addr_put(destination) }
        rtnl_neigh_set_family(neighbour, AF_INET6)
        rtnl_neigh_set_ifindex(neighbour, interfaceIndex)
        try NetlinkError.check(rtnl_neigh_set_dst(neighbour, destination), "rtnl_neigh_set_dst")
        rtnl_neigh_set_flags(neighbour, UInt32(NTF_PROXY))
        if adding {
            try NetlinkError.check(
                rtnl_neigh_add(socket, neighbour, NLM_F_CREATE | NLM_F_REPLACE), "add proxy neighbour \(address)")
        } else {
            try NetlinkError.check(rtnl_neigh_delete(socket, neighbour, 0), "delete proxy neighbour \(address)")
        }
    }

    /// What the kernel needs for proxy NDP to answer every solicitation promptly, and what is missing, as
    /// sysctl assignments an operator can apply (`sysctl -w …`). Empty when nothing is missing.
    public static func missingSettings(interface: String) -> [String] {
        var missing: [String] = []
        for (path, setting) in [
            ("/proc/sys/net/ipv6/conf/all/forwarding", "net.ipv6.conf.all.forwarding=1"),
            ("/proc/sys/net/ipv6/conf/all/proxy_ndp", "net.ipv6.conf.all.proxy_ndp=1"),
        ]
        where readSysctl(path) != "1" {
            missing.append(setting)
        }
        if let delay = readSysctl("/proc/sys/net/ipv6/neigh/\(interface)/proxy_delay"), delay != "0" {
            missing.append("net.ipv6.neigh.\(interface).proxy_delay=0")
        }
        return missing
    }

    private static func readSysctl(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, 64, file) != nil else { return nil }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: "\n ")
    }
}
