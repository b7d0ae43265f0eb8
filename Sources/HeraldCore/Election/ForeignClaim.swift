/// Another MAC said, on `interface`, that it has `ip`, an address this node announces there (an ARP reply or
/// gratuitous ARP, an NDP advertisement). The responders report it; the speaker's state machine decides.
public struct ForeignClaim: Hashable, Sendable {
    public var ip: IPAddress
    public var mac: MACAddress
    public var interface: String

    public init(ip: IPAddress, mac: MACAddress, interface: String) {
        self.ip = ip
        self.mac = mac
        self.interface = interface
    }
}
