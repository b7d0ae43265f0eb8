import HeraldCore
@testable import L2Announcer
import Testing

@Suite struct NetworkInterfaceTests {
    static func interface(_ name: String, up: Bool = true, loopback: Bool = false) -> NetworkInterface {
        NetworkInterface(name: name, index: 2, mac: MACAddress(rawValue: 0x0200_0000_0001), isUp: up, hasCarrier: up,
                         carrierChanges: 0, isLoopback: loopback, addresses: [])
    }

    /// By default a speaker answers on the node's own links, not on the host side of every pod (MetalLB's
    /// default metallb-excludel2 list).
    @Test func containerAndCNIInterfacesAreLeftOutByDefault() {
        for name in ["eth0", "ens192", "bond0", "bond0.100", "enp3s0f1", "br0"] {
            #expect(Self.interface(name).isAnnounceable, "\(name)")
        }
        for name in ["veth1a2b3c", "cali7f3e", "docker0", "cni0", "flannel.1", "kube-ipvs0", "nodelocaldns", "tunl0",
                     "cbr0", "dummy0", "virbr0", "lxcbr0", "lxc4f2a9c1e", "cilium_host", "cilium_vxlan"] {
            #expect(!Self.interface(name).isAnnounceable, "\(name)")
        }
        #expect(!Self.interface("eth1", up: false).isAnnounceable)
        #expect(!Self.interface("lo", loopback: true).isAnnounceable)
    }
}
