import Crypto

/// Orders candidate nodes for an IP so that every speaker, given the same candidates, picks the same owner.
///
/// The rule is MetalLB's: ascending `sha256(nodeName + "#" + ip)` over the IP's canonical text, compared as
/// bytes. Because it is MetalLB's, a cluster moving from MetalLB keeps each IP on the node that announced it,
/// and Services sharing an IP (ranked by that IP) always elect the same node. Each IP gets its own order, so
/// the IPs of a pool spread over the nodes.
public enum ElectionRanking {
    /// `nodes` from the first choice (the owner) to the last. Equal hashes cannot happen in practice; should
    /// they, the node name decides, so the order is still total and the same everywhere. Duplicates are dropped.
    public static func rank(_ nodes: some Sequence<String>, for ip: IPAddress) -> [String] {
        rank(nodes, key: ip.description)
    }

    /// The ranking for an arbitrary key; `rank(_:for:)` uses the IP's canonical text.
    public static func rank(_ nodes: some Sequence<String>, key: String) -> [String] {
        Set(nodes).map { (node: $0, hash: score(node: $0, key: key)) }
            .sorted { $0.hash == $1.hash ? $0.node < $1.node : $0.hash.lexicographicallyPrecedes($1.hash) }
            .map(\.node)
    }

    /// The node that announces `ip`: the first in `rank(_:for:)`, or `nil` without candidates.
    public static func owner(among nodes: some Sequence<String>, for ip: IPAddress) -> String? {
        rank(nodes, for: ip).first
    }

    /// The 32-byte digest a node is ranked by.
    public static func score(node: String, key: String) -> [UInt8] {
        Array(SHA256.hash(data: Array("\(node)#\(key)".utf8)))
    }
}
