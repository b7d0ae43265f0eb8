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
    /// Each update is piggybacked on up to `retransmitMultiplier × ceil(log10(n + 1))` messages.
    public var retransmitMultiplier: Int
    /// At most this many updates ride on one message.
    public var maxPiggybackedUpdates: Int
    /// Lifeguard's local health: a member that misses acks itself slows its probing by up to this factor.
    public var awarenessMaxMultiplier: Int
    /// How often a member exchanges its full state with one other, chosen among all it knows — dead ones
    /// included, which is how the two sides of a healed partition find each other (anti-entropy).
    public var pushPullInterval: Duration

    public init(probeInterval: Duration, probeTimeout: Duration, indirectProbes: Int, suspicionMultiplier: Int,
                suspicionMaxTimeoutMultiplier: Int, retransmitMultiplier: Int, maxPiggybackedUpdates: Int = 8,
                awarenessMaxMultiplier: Int, pushPullInterval: Duration) {
        self.probeInterval = probeInterval
        self.probeTimeout = probeTimeout
        self.indirectProbes = indirectProbes
        self.suspicionMultiplier = suspicionMultiplier
        self.suspicionMaxTimeoutMultiplier = suspicionMaxTimeoutMultiplier
        self.retransmitMultiplier = retransmitMultiplier
        self.maxPiggybackedUpdates = maxPiggybackedUpdates
        self.awarenessMaxMultiplier = awarenessMaxMultiplier
        self.pushPullInterval = pushPullInterval
    }

    /// memberlist's LAN defaults: probe every 1 s, 500 ms timeout, 3 indirect probes, suspicion multiplier 4
    /// (max 6×), retransmit multiplier 4, awareness up to 8×, push-pull every 30 s.
    public static let memberlistLAN = GossipConfiguration(
        probeInterval: .seconds(1), probeTimeout: .milliseconds(500), indirectProbes: 3, suspicionMultiplier: 4,
        suspicionMaxTimeoutMultiplier: 6, retransmitMultiplier: 4, awarenessMaxMultiplier: 8, pushPullInterval: .seconds(30))

    /// Herald's default, for sub-second failover on a LAN: probes ten times as often, with a timeout that
    /// still covers a loaded node's scheduling delay, a shorter suspicion that Lifeguard's confirmations
    /// shorten further, and more retransmissions to make up for the shorter windows under loss.
    public static let lanFast = GossipConfiguration(
        probeInterval: .milliseconds(100), probeTimeout: .milliseconds(40), indirectProbes: 3, suspicionMultiplier: 4,
        suspicionMaxTimeoutMultiplier: 4, retransmitMultiplier: 4, awarenessMaxMultiplier: 4, pushPullInterval: .seconds(5))
}
