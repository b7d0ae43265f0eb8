/// The timing of the protocol. Two profiles: `lanFast`, Herald's default, and `memberlistLAN`, the defaults of
/// hashicorp/memberlist's `DefaultLANConfig` that MetalLB runs with, as the baseline to beat.
public struct GossipConfiguration: Hashable, Sendable {
    /// How often a member probes one other member.
    public var probeInterval: Duration
    /// How long to wait for a direct ack before asking others to probe (indirect probes).
    public var probeTimeout: Duration
    /// How many members are asked to probe indirectly (SWIM's k).
    public var indirectProbes: Int
    /// Suspicion lasts `suspicionMultiplier × max(1, log10(n)) × probeInterval` at least (memberlist's rule).
    public var suspicionMultiplier: Int
    /// Lifeguard: without independent confirmations a suspicion lasts up to this many times the minimum.
    public var suspicionMaxTimeoutMultiplier: Int
    /// Lifeguard: this many independent confirmations bring a suspicion down to its minimum timeout
    /// (memberlist uses `suspicionMultiplier - 2`).
    public var suspicionConfirmations: Int
    /// Probe a member that others suspect next, out of turn, so that a real failure is confirmed at once.
    public var probeSuspectsFirst: Bool
    /// Before declaring a suspect dead, probe it once more (directly and through k others) with the suspicion
    /// attached, so a live member whose refutation this node missed answers with it. memberlist has no such
    /// step; it costs one probe timeout on a real failure.
    public var finalProbe: Bool
    /// Each update is piggybacked on up to `retransmitMultiplier × ceil(log10(n + 1))` messages.
    public var retransmitMultiplier: Int
    /// At most this many updates ride on one message.
    public var maxPiggybackedUpdates: Int
    /// Lifeguard's local health: a member that misses acks itself slows its probing by up to this factor.
    public var awarenessMaxMultiplier: Int
    /// While there are updates to spread, every `gossipInterval` they are sent to `gossipNodes` random members.
    public var gossipInterval: Duration
    public var gossipNodes: Int
    /// How often a member exchanges its full state with one other, chosen among all it knows — dead ones
    /// included, which is how the two sides of a healed partition find each other (anti-entropy).
    public var pushPullInterval: Duration
    /// Besides push-pull, every `deadProbeInterval` the full state goes to one member declared dead within the
    /// last `deadProbeWindow`: after a partition heals, or after a falsely declared death, the sides learn of
    /// each other within about this interval instead of waiting for push-pull to pick a dead member. nil: off.
    public var deadProbeInterval: Duration?
    public var deadProbeWindow: Duration

    public init(
        probeInterval: Duration, probeTimeout: Duration, indirectProbes: Int, suspicionMultiplier: Int,
        suspicionMaxTimeoutMultiplier: Int, suspicionConfirmations: Int? = nil, probeSuspectsFirst: Bool = false,
        finalProbe: Bool = false, retransmitMultiplier: Int, maxPiggybackedUpdates: Int = 8,
        awarenessMaxMultiplier: Int, gossipInterval: Duration, gossipNodes: Int = 3, pushPullInterval: Duration,
        deadProbeInterval: Duration? = nil, deadProbeWindow: Duration = .seconds(600)
    ) {
        self.probeInterval = probeInterval
        self.probeTimeout = probeTimeout
        self.indirectProbes = indirectProbes
        self.suspicionMultiplier = suspicionMultiplier
        self.suspicionMaxTimeoutMultiplier = suspicionMaxTimeoutMultiplier
        self.suspicionConfirmations = suspicionConfirmations ?? max(1, suspicionMultiplier - 2)
        self.probeSuspectsFirst = probeSuspectsFirst
        self.finalProbe = finalProbe
        self.retransmitMultiplier = retransmitMultiplier
        self.maxPiggybackedUpdates = maxPiggybackedUpdates
        self.awarenessMaxMultiplier = awarenessMaxMultiplier
        self.gossipInterval = gossipInterval
        self.gossipNodes = gossipNodes
        self.pushPullInterval = pushPullInterval
        self.deadProbeInterval = deadProbeInterval
        self.deadProbeWindow = deadProbeWindow
    }

    /// memberlist's LAN defaults: probe every 1 s, 500 ms timeout, 3 indirect probes, suspicion multiplier 4
    /// (max 6×, 2 confirmations), retransmit multiplier 4, awareness up to 8×, gossip to 3 members every
    /// 200 ms, push-pull every 30 s.
    public static let memberlistLAN = GossipConfiguration(
        probeInterval: .seconds(1), probeTimeout: .milliseconds(500), indirectProbes: 3, suspicionMultiplier: 4,
        suspicionMaxTimeoutMultiplier: 6, retransmitMultiplier: 4, awarenessMaxMultiplier: 8,
        gossipInterval: .milliseconds(200),
        pushPullInterval: .seconds(30))

    /// Herald's default, for sub-second failover on a LAN: probes ten times as often as memberlist with a
    /// timeout that still covers a loaded node's scheduling delay; a suspicion of 3 × log10(n) probe intervals
    /// (300 ms at 10 nodes) that only independent confirmations bring down from its 4× maximum; suspects
    /// probed out of turn so a real failure is confirmed within one interval; news gossiped every 20 ms; a
    /// last-chance probe before any death, which is what keeps 50 nodes at 10% loss free of false deaths; and
    /// the full state offered to a recently dead member every second, so a healed partition merges in about one.
    public static let lanFast = GossipConfiguration(
        probeInterval: .milliseconds(100), probeTimeout: .milliseconds(40), indirectProbes: 3, suspicionMultiplier: 3,
        suspicionMaxTimeoutMultiplier: 4, suspicionConfirmations: 2, probeSuspectsFirst: true, finalProbe: true,
        retransmitMultiplier: 4, awarenessMaxMultiplier: 4, gossipInterval: .milliseconds(20),
        pushPullInterval: .seconds(5),
        deadProbeInterval: .seconds(1))
}
