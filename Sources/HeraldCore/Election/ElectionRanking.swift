import Crypto

/// Orders candidate nodes for an IP so that every speaker, given the same candidates, picks the same owner.
///
/// The rule is MetalLB's: ascending `sha256(nodeName + "#" + ip)` over the IP's canonical text, compared as
/// bytes. Because it is MetalLB's, a cluster moving from MetalLB keeps each IP on the node that announced it,
/// and Services sharing an IP (ranked by that IP) always elect the same node. Each IP gets its own order, so
/// the IPs of a pool spread over the nodes.
///
/// Speakers rank every IP again on each membership change, so ranking allocates nothing per node: the digest
/// is hashed from the name's bytes in place and compared as four integers.
public enum ElectionRanking {
    /// `nodes` from the first choice (the owner) to the last. Equal hashes cannot happen in practice; should
    /// they, the node name decides, so the order is still total and the same everywhere. Duplicates are dropped.
    public static func rank(_ nodes: some Sequence<String>, for ip: IPAddress) -> [String] {
        rank(nodes, key: ip.description)
    }

    /// The ranking for an arbitrary key; `rank(_:for:)` uses the IP's canonical text.
    public static func rank(_ nodes: some Sequence<String>, key: String) -> [String] {
        let suffix = Array("#\(key)".utf8)
        var scored = nodes.map { (score: Score(node: $0, suffix: suffix), node: $0) }
        scored.sort { $0.score == $1.score ? $0.node < $1.node : $0.score < $1.score }
        var ranking: [String] = []
        ranking.reserveCapacity(scored.count)
        for entry in scored where ranking.last != entry.node { ranking.append(entry.node) }  // duplicates sort together
        return ranking
    }

    /// The node that announces `ip`: the first in `rank(_:for:)`, or `nil` without candidates.
    public static func owner(among nodes: some Sequence<String>, for ip: IPAddress) -> String? {
        let suffix = Array("#\(ip)".utf8)
        var best: (score: Score, node: String)?
        for node in nodes {
            let score = Score(node: node, suffix: suffix)
            if let current = best, current.score < score || (current.score == score && current.node <= node) {
                continue
            }
            best = (score, node)
        }
        return best?.node
    }

    /// The 32-byte digest a node is ranked by.
    public static func score(node: String, key: String) -> [UInt8] {
        Array(SHA256.hash(data: Array("\(node)#\(key)".utf8)))
    }

    /// A SHA-256 digest as four big-endian words: comparing them compares the digests byte by byte.
    struct Score: Comparable {
        let words: (UInt64, UInt64, UInt64, UInt64)

        init(node: String, suffix: [UInt8]) {
            var hasher = SHA256()
            var node = node
            node.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
            suffix.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            words = hasher.finalize().withUnsafeBytes { raw in
                func word(_ index: Int) -> UInt64 {
                    UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
                }
                return (word(0), word(1), word(2), word(3))
            }
        }

        static func == (lhs: Score, rhs: Score) -> Bool { lhs.words == rhs.words }
        static func < (lhs: Score, rhs: Score) -> Bool { lhs.words < rhs.words }
    }
}
