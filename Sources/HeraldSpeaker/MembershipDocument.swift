import Foundation
public import Gossip
public import HeraldCore

/// The speaker's `/membership` document: the gossip membership as this node sees it. `explain` reads it (the
/// election's candidates are the live members); an operator can too:
/// `curl -s NODE-IP:7472/membership`.
public struct MembershipDocument: Codable, Sendable, Hashable {
    public struct Entry: Codable, Sendable, Hashable {
        public var name: String
        public var status: String
        public var address: String
        public var incarnation: UInt64
        /// The interfaces it answers on and those of them without carrier, from its metadata (absent from a
        /// speaker that does not say).
        public var interfaces: [String]?
        public var withoutCarrier: [String]?
    }

    /// The node that answered.
    public var node: String
    public var members: [Entry]

    public init(node: String, members: [Member]) {
        self.node = node
        self.members = members.sorted { $0.name < $1.name }.map { member in
            let links = SpeakerMetadata.links(of: member)
            return Entry(
                name: member.name, status: member.status.description, address: member.address,
                incarnation: member.incarnation, interfaces: links.map { $0.interfaces.sorted() },
                withoutCarrier: links.map { $0.withoutCarrier.sorted() })
        }
    }

    /// The links of the members that say (what the planner reads to tell a node without carrier).
    public var links: [String: NodeLinks] {
        var links: [String: NodeLinks] = [:]
        for member in members {
            guard let interfaces = member.interfaces else { continue }
            links[member.name] = NodeLinks(
                interfaces: Set(interfaces), withoutCarrier: Set(member.withoutCarrier ?? []))
        }
        return links
    }

    /// Alive and suspect members (a suspect still answers until it is declared dead).
    public var liveNames: Set<String> {
        Set(members.filter { $0.status == "alive" || $0.status == "suspect" }.map(\.name))
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return ((try? encoder.encode(self)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}") + "\n"
    }

    public static func decode(_ text: String) throws -> MembershipDocument {
        try JSONDecoder().decode(MembershipDocument.self, from: Data(text.utf8))
    }
}
