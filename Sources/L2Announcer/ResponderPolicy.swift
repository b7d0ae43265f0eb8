public import HeraldCore
public import HeraldWire
public import NIOCore

/// Why a frame got no answer. Counted per interface, so an operator sees what the responder ignores.
public enum DropReason: String, Hashable, Sendable, CaseIterable {
    /// Bytes that do not decode (truncated, bad checksum, inconsistent fields).
    case malformed
    /// An 802.1Q-tagged frame on the untagged interface: it belongs to a VLAN interface.
    case vlanTagged
    /// Addressed to another host, or sent by this one.
    case notForUs
    /// Sent from this interface's own MAC.
    case fromSelf
    /// An ARP reply or a Neighbour Advertisement: nothing to answer.
    case notARequest
    /// A gratuitous ARP from another host.
    case announcement
    /// For an address this interface does not announce.
    case notOwned
    /// Neighbour Discovery with a hop limit other than 255: it may come from off-link (RFC 4861 §7.1.1).
    case badHopLimit
    /// A solicitation sent neither to the target's solicited-node group nor to the target itself, or a DAD
    /// probe breaking RFC 4861's rules.
    case badDestination
    /// Another protocol that passed the socket filter.
    case unsupported
}

/// What to do with one received frame.
public enum Verdict: Hashable, Sendable {
    case answer(EthernetFrame, IPFamily)
    /// Another MAC says it has an address this interface announces: a gratuitous ARP, an ARP answer (to
    /// anyone's question, or to this node's conflict probe) or a Neighbour Advertisement. Nothing is sent; the
    /// speaker reports it (a successor taking over, or a conflict to resolve).
    case claim(IPAddress, by: MACAddress)
    case drop(DropReason, IPFamily?)
}

/// Decides, for one interface, which frames to answer and with what. Pure: no socket, no clock, no lock.
public struct ResponderPolicy: Sendable {
    public var mac: MACAddress

    public init(mac: MACAddress) {
        self.mac = mac
    }

    /// `owns`: the addresses to answer for. `watches`: addresses not answered for, whose claims by other MACs
    /// are still reported (yielded in a conflict, to learn whether the other owner is still there).
    public func verdict(
        for bytes: ByteBuffer, hadVLANTag: Bool = false, notForUs: Bool = false,
        owns: (IPAddress) -> Bool, watches: (IPAddress) -> Bool = { _ in false }
    ) -> Verdict {
        var buffer = bytes
        guard let frame = try? EthernetFrame.decode(from: &buffer) else { return .drop(.malformed, nil) }
        let family: IPFamily? =
            frame.etherType == EthernetFrame.arp ? .v4 : frame.etherType == EthernetFrame.ipv6 ? .v6 : nil
        if hadVLANTag || frame.vlanTag != nil { return .drop(.vlanTagged, family) }
        if notForUs { return .drop(.notForUs, family) }
        if frame.source == mac { return .drop(.fromSelf, family) }
        // An answer goes back to a unicast source; a group or zero source address is forged or broken.
        if frame.source.isMulticast || frame.source == .zero { return .drop(.malformed, family) }
        switch frame.etherType {
        case EthernetFrame.arp: return arpVerdict(frame, owns: owns, watches: watches)
        case EthernetFrame.ipv6: return ndpVerdict(frame, owns: owns, watches: watches)
        default: return .drop(.unsupported, nil)
        }
    }

    private func arpVerdict(_ frame: EthernetFrame, owns: (IPAddress) -> Bool, watches: (IPAddress) -> Bool) -> Verdict
    {
        var payload = frame.payload
        guard let request = try? ARPPacket.decode(from: &payload) else { return .drop(.malformed, .v4) }
        // Said by another MAC of an address announced here (a probe's sender 0.0.0.0 says nothing).
        if request.senderIP.rawValue != 0, request.senderMAC != mac,
            owns(.v4(request.senderIP)) || watches(.v4(request.senderIP))
        {
            guard !request.senderMAC.isMulticast, request.senderMAC != .zero else { return .drop(.malformed, .v4) }
            return .claim(.v4(request.senderIP), by: request.senderMAC)
        }
        guard request.operation == .request else { return .drop(.notARequest, .v4) }
        guard !request.isGratuitous else { return .drop(.announcement, .v4) }
        guard request.senderMAC != mac else { return .drop(.fromSelf, .v4) }
        guard !request.senderMAC.isMulticast, request.senderMAC != .zero else { return .drop(.malformed, .v4) }
        guard owns(.v4(request.targetIP)) else { return .drop(.notOwned, .v4) }
        // Unicast to the asker, from this interface's MAC (a probe from 0.0.0.0 learns of the holder too).
        return .answer(ARPPacket.reply(to: request, mac: mac).frame(to: request.senderMAC), .v4)
    }

    private func ndpVerdict(_ frame: EthernetFrame, owns: (IPAddress) -> Bool, watches: (IPAddress) -> Bool) -> Verdict
    {
        var payload = frame.payload
        guard let packet = try? IPv6Packet.decode(from: &payload) else { return .drop(.malformed, .v6) }
        let message: NDPMessage
        do { message = try NDPMessage.decode(from: packet) } catch {
            return .drop(error.code == .unsupported ? .unsupported : .malformed, .v6)
        }
        guard packet.hopLimit == 255 else { return .drop(.badHopLimit, .v6) }
        if case .advertisement(let advertisement) = message {
            let claimant = advertisement.targetLinkLayerAddress ?? frame.source
            guard claimant != mac, owns(.v6(advertisement.target)) || watches(.v6(advertisement.target)) else {
                return .drop(.notARequest, .v6)
            }
            guard !claimant.isMulticast, claimant != .zero else { return .drop(.malformed, .v6) }
            return .claim(.v6(advertisement.target), by: claimant)
        }
        guard case .solicitation(let solicitation) = message else { return .drop(.notARequest, .v6) }
        let target = solicitation.target
        let isDAD = packet.source == .unspecified
        let toGroup = packet.destination == target.solicitedNodeMulticast
        guard toGroup || (packet.destination == target && !isDAD) else { return .drop(.badDestination, .v6) }
        guard !packet.source.isMulticast else { return .drop(.badDestination, .v6) }
        if isDAD && solicitation.sourceLinkLayerAddress != nil { return .drop(.badDestination, .v6) }
        guard owns(.v6(target)) else { return .drop(.notOwned, .v6) }

        // The target itself is the source, as when the kernel answers for an address of its own: clients such
        // as ndisc6 ignore an answer from another address (measured: one from the link-local was dropped).
        let source = target
        let options: [NDPOption] = [.targetLinkLayerAddress(mac)]
        if isDAD {
            // Someone wants the address: tell every node it is taken (RFC 4861 §7.2.4), not solicited.
            let advertisement = NeighborAdvertisement(
                solicited: false, override: true, target: target, options: options)
            return .answer(
                NDPMessage.advertisement(advertisement).packet(source: source, destination: .allNodes)
                    .frame(from: mac, to: IPv6Packet.multicastMAC(for: .allNodes)), .v6)
        }
        // A unicast NUD probe may omit its link-layer address: answer to the frame's Ethernet source.
        var destinationMAC = solicitation.sourceLinkLayerAddress ?? frame.source
        if destinationMAC.isMulticast || destinationMAC == .zero { destinationMAC = frame.source }
        let advertisement = NeighborAdvertisement(solicited: true, override: true, target: target, options: options)
        return .answer(
            NDPMessage.advertisement(advertisement).packet(source: source, destination: packet.source)
                .frame(from: mac, to: destinationMAC), .v6)
    }

    /// A probe asking whether another MAC answers for `ip`, built so that no neighbour cache learns from it.
    /// IPv4: an RFC 5227 ARP probe (sender 0.0.0.0), which another holder answers with a reply to this MAC.
    /// IPv6: a Duplicate Address Detection solicitation (RFC 4862 §5.4: from `::` to the target's
    /// solicited-node group, no source link-layer option), which another holder answers with an advertisement
    /// to all nodes. `verdict` reports either answer as a claim. The IPv6 answer, being to all nodes, also
    /// moves neighbours to the other holder for a moment: whenever there are two holders (a stranger with the
    /// address keeps doing it, once per probe), until the winner announces again.
    public func conflictProbe(for ip: IPAddress) -> EthernetFrame {
        switch ip {
        case .v4(let address):
            return ARPPacket.request(for: address, from: mac, ip: IPv4Address(rawValue: 0)).frame(to: .broadcast)
        case .v6(let address):
            let group = address.solicitedNodeMulticast
            return NDPMessage.solicitation(NeighborSolicitation(target: address))
                .packet(source: .unspecified, destination: group)
                .frame(from: mac, to: IPv6Packet.multicastMAC(for: group))
        }
    }

    /// The frames that announce `ip` at this MAC: gratuitous ARP in request and reply form, or an unsolicited
    /// Neighbour Advertisement with Override to all nodes.
    public func announcement(of ip: IPAddress) -> [EthernetFrame] {
        switch ip {
        case .v4(let address):
            return [
                ARPPacket.gratuitous(address, at: mac, operation: .request).frame(to: .broadcast),
                ARPPacket.gratuitous(address, at: mac, operation: .reply).frame(to: .broadcast),
            ]
        case .v6(let address):
            let advertisement = NeighborAdvertisement(
                solicited: false, override: true, target: address,
                options: [.targetLinkLayerAddress(mac)])
            return [
                NDPMessage.advertisement(advertisement).packet(source: address, destination: .allNodes)
                    .frame(from: mac, to: IPv6Packet.multicastMAC(for: .allNodes))
            ]
        }
    }
}
