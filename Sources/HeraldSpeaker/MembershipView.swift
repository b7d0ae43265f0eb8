public import Gossip
public import GossipNode
public import HeraldCore

/// The live speakers, by node name, and a signal when that changes. `GossipNode` is the real one.
public protocol MembershipView: Sendable {
    /// Names of the members that are alive or suspected (a suspect still answers until it is declared dead).
    func liveNames() async -> Set<String>
    /// The MACs each known member answers from (from its gossip metadata), dead members included: a node
    /// this one thinks dead may be alive on the other side of a partition.
    func macs() async -> [MACAddress: String]
    /// Members that left gracefully (a drain, a rolling update): they keep answering until their successors
    /// are heard, and must not be mistaken for the other side of a partition.
    func departedNames() async -> Set<String>
    /// The links each live member says it has (from its gossip metadata); members that do not say are absent.
    func links() async -> [String: NodeLinks]
    /// Yields on every change of a member.
    var changes: AsyncStream<Member> { get }
    /// Tells the others the MACs this node answers from and its links now (an interface came or went, or a
    /// carrier was lost or came back).
    func publish(macs: [MACAddress], links: NodeLinks) async
}

/// What a speaker tells the others about itself in its gossip metadata.
public enum SpeakerMetadata {
    /// The MACs of the interfaces it answers on, comma-separated.
    public static let macs = "macs"

    public static func macs(of member: Member) -> [MACAddress] {
        (member.metadata[macs] ?? "").split(separator: ",").compactMap { try? MACAddress(parsing: String($0)) }
    }

    /// The `macs` value: at most 56, which fit the codec's 1024-byte metadata value.
    public static func value(_ list: [MACAddress]) -> String {
        list.prefix(56).map(\.description).joined(separator: ",")
    }

    /// The interfaces it answers on, comma-separated, and those of them without carrier.
    public static let interfaces = "interfaces"
    public static let withoutCarrier = "nocarrier"

    /// A member's links; nil when it does not say (a speaker from before these keys, or one with too many
    /// interfaces to list), so it counts as able to send.
    public static func links(of member: Member) -> NodeLinks? {
        guard let interfaces = member.metadata[interfaces], !interfaces.isEmpty else { return nil }
        func names(_ text: String?) -> Set<String> { Set((text ?? "").split(separator: ",").map(String.init)) }
        return NodeLinks(interfaces: names(interfaces), withoutCarrier: names(member.metadata[withoutCarrier]))
    }

    /// The `interfaces` and `nocarrier` entries for `links`. Names are at most 15 bytes: 64 of them fit a
    /// 1024-byte value. A node with more says nothing of its links (both entries empty, so that no earlier
    /// value stays): the others count it as able to send rather than judge it from part of its links.
    public static func entries(_ links: NodeLinks) -> [String: String] {
        guard links.interfaces.count <= 64 else { return [interfaces: "", withoutCarrier: ""] }
        let listed = links.interfaces.sorted()
        return [
            interfaces: listed.joined(separator: ","),
            withoutCarrier: listed.filter(links.withoutCarrier.contains).joined(separator: ","),
        ]
    }
}

extension GossipNode: MembershipView {
    public func liveNames() async -> Set<String> { Set(liveMembers.map(\.name)) }

    public func departedNames() async -> Set<String> { Set(members.filter { $0.status == .left }.map(\.name)) }

    public func publish(macs list: [MACAddress], links: NodeLinks) async {
        var metadata = me.metadata
        metadata[SpeakerMetadata.macs] = SpeakerMetadata.value(list)
        metadata.merge(SpeakerMetadata.entries(links)) { $1 }
        setMetadata(metadata)  // Membership ignores unchanged metadata: no new incarnation for nothing

    }

    public func links() async -> [String: NodeLinks] {
        var links: [String: NodeLinks] = [:]
        for member in liveMembers { links[member.name] = SpeakerMetadata.links(of: member) }
        return links
    }

    public func macs() async -> [MACAddress: String] {
        var owners: [MACAddress: String] = [:]
        for member in members {
            for mac in SpeakerMetadata.macs(of: member) { owners[mac] = member.name }
        }
        return owners
    }
}
