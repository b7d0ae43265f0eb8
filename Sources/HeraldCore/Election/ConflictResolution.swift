/// Two nodes answering for one IP — after a partition heals, after a false suspicion, while a hand-over is in
/// flight: which one steps back. Pure and symmetric: both nodes decide from the same two names, so exactly one
/// yields, and it is the one the election would not have picked between them.
public enum ConflictResolution: Hashable, Sendable {
    /// Keep the IP and announce it again, to win the neighbours back: this node ranks first, or the other MAC
    /// belongs to no speaker (a misconfigured host must not take a Service's IP).
    case defend
    /// Stop announcing the IP for a while: the claimant ranks first for it.
    case yield
    /// The claim comes from another interface of this same node.
    case ignore

    /// `claimant`: the node whose speaker owns the claiming MAC, nil when no speaker does. `scores`: the IP's
    /// preference scores (`IPAnnouncement.scores`, the same on both nodes, as they read the same Nodes), which
    /// come before the ranking as they do in the plan. `rankedBy`: the address whose ranking the plan used
    /// (`IPAnnouncement.rankedBy`: a dual-stack Service's first IP), `ip` when nil.
    public static func resolve(
        ip: IPAddress, node: String, claimant: String?, scores: [String: Int] = [:], rankedBy: IPAddress? = nil
    ) -> ConflictResolution {
        guard let claimant else { return .defend }
        if claimant == node { return .ignore }
        let order = AnnouncementPlanner.rank([node, claimant], for: rankedBy ?? ip, scores: scores)
        return order.first == claimant ? .yield : .defend
    }
}
