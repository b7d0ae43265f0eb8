import CNetlink
public import HeraldCore
import HeraldWire

#if canImport(Glibc)
import Glibc
#endif

/// What the kernel says about one interface, read through libnl (rtnetlink).
public struct NetworkInterface: Hashable, Sendable {
    public var name: String
    public var index: Int32
    /// The link-layer address; `nil` for links without one (loopback has all zeros, tunnels none).
    public var mac: MACAddress?
    public var isUp: Bool
    /// The link has carrier (IFF_RUNNING): frames sent now reach the wire.
    public var hasCarrier: Bool
    /// How often the carrier went away or came back since the interface was made (IFLA_CARRIER_CHANGES):
    /// a change tells of a flap even when both edges arrived between two looks.
    public var carrierChanges: UInt32
    public var isLoopback: Bool
    public var addresses: [IPAddress]

    /// The interface's own `fe80::/10` address: the source of Neighbour Advertisements (RFC 4861 §4.4 wants an
    /// address of the sending interface).
    public var linkLocal: IPv6Address? {
        for case .v6(let address) in addresses where address.isLinkLocal { return address }
        return nil
    }

    /// Where Herald answers by default: up, not loopback, with a real MAC, and not one of the interfaces
    /// container runtimes and CNI plugins make (`virtualPrefixes`).
    public var isAnnounceable: Bool {
        isUp && !isLoopback && mac != nil && mac != .zero && !Self.virtualPrefixes.contains { name.hasPrefix($0) }
    }

    /// MetalLB's default `metallb-excludel2` list, as name prefixes: pod veths, bridges and tunnels of Docker,
    /// libvirt, LXC, Calico, Flannel, kube-proxy's IPVS dummy, CNI bridges and NodeLocal DNS. A node with a
    /// hundred pods would otherwise get a hundred packet sockets, each answering on a link no client is on.
    /// An interface named with `--interfaces` or in an L2Advertisement is used whatever its name.
    /// Beyond MetalLB's list: `lxc` (MetalLB has `lxcbr`) also covers Cilium's per-pod links, and `cilium`
    /// its host links, so pods starting and stopping do not start and stop responders.
    public static let virtualPrefixes = [
        "docker", "cbr", "dummy", "virbr", "lxc", "veth", "cali", "tunl", "flannel",
        "kube-ipvs", "cni", "nodelocaldns", "cilium",
    ]
}

/// Reads interfaces and their addresses from the kernel.
public enum InterfaceDirectory {
    /// Every interface of the current network namespace.
    public static func all() throws(NetlinkError) -> [NetworkInterface] {
        guard let socket = nl_socket_alloc() else { throw NetlinkError(call: "nl_socket_alloc", code: -NLE_NOMEM) }
        defer { nl_socket_free(socket) }
        try NetlinkError.check(nl_connect(socket, NETLINK_ROUTE), "nl_connect")
        var linkCache: OpaquePointer?
        try NetlinkError.check(rtnl_link_alloc_cache(socket, AF_UNSPEC, &linkCache), "rtnl_link_alloc_cache")
        defer { nl_cache_free(linkCache) }
        var addressCache: OpaquePointer?
        try NetlinkError.check(rtnl_addr_alloc_cache(socket, &addressCache), "rtnl_addr_alloc_cache")
        defer { nl_cache_free(addressCache) }

        var addresses: [Int32: [IPAddress]] = [:]
        var object = nl_cache_get_first(addressCache)
        while let current = object {
            let address = current
            if let local = rtnl_addr_get_local(address), let ip = ipAddress(local) {
                addresses[rtnl_addr_get_ifindex(address), default: []].append(ip)
            }
            object = nl_cache_get_next(current)
        }

        var interfaces: [NetworkInterface] = []
        object = nl_cache_get_first(linkCache)
        while let current = object {
            let link = current
            let index = rtnl_link_get_ifindex(link)
            let flags = rtnl_link_get_flags(link)
            var mac: MACAddress?
            if let address = rtnl_link_get_addr(link), nl_addr_get_len(address) == 6,
                let bytes = nl_addr_get_binary_addr(address)
            {
                mac = MACAddress(bytes: UnsafeRawBufferPointer(start: bytes, count: 6))
            }
            var carrierChanges: UInt32 = 0
            _ = rtnl_link_get_carrier_changes(link, &carrierChanges)
            interfaces.append(
                NetworkInterface(
                    name: String(cString: rtnl_link_get_name(link)), index: index, mac: mac,
                    isUp: flags & UInt32(IFF_UP) != 0, hasCarrier: flags & UInt32(IFF_RUNNING) != 0,
                    carrierChanges: carrierChanges,
                    isLoopback: flags & UInt32(IFF_LOOPBACK) != 0,
                    addresses: (addresses[index] ?? []).sorted()))
            object = nl_cache_get_next(current)
        }
        return interfaces.sorted { $0.index < $1.index }
    }

    /// The interface called `name`.
    public static func named(_ name: String) throws(NetlinkError) -> NetworkInterface {
        guard let found = try all().first(where: { $0.name == name }) else {
            throw NetlinkError(call: "interface \"\(name)\"", code: -NLE_OBJ_NOTFOUND)
        }
        return found
    }

    private static func ipAddress(_ address: OpaquePointer) -> IPAddress? {
        guard let bytes = nl_addr_get_binary_addr(address) else { return nil }
        let raw = UnsafeRawBufferPointer(start: bytes, count: Int(nl_addr_get_len(address)))
        switch (nl_addr_get_family(address), raw.count) {
        case (AF_INET, 4): return .v4(IPv4Address(raw[0], raw[1], raw[2], raw[3]))
        case (AF_INET6, 16): return .v6(IPv6Address(rawValue: raw.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }))
        default: return nil
        }
    }
}

/// A libnl call that failed, with libnl's own message.
public struct NetlinkError: Error, Hashable, Sendable, CustomStringConvertible {
    public var call: String
    /// libnl's negative error code.
    public var code: Int32

    public var description: String {
        code == -NLE_OBJ_NOTFOUND ? "\(call): no such interface" : "\(call): \(String(cString: nl_geterror(code)))"
    }

    static func check(_ result: Int32, _ call: String) throws(NetlinkError) {
        guard result >= 0 else { throw NetlinkError(call: call, code: result) }
    }
}
