import Metrics

/// The speaker's metrics (the Layer 2 and gossip ones come from L2Announcer and GossipNode).
struct SpeakerMetrics {
    /// IPs this node announces (`metallb_speaker_announced`, which has one series per IP and Service).
    let announced: Gauge
    /// IPs this node took over (became the owner of).
    let gained: Counter
    /// IPs this node stopped announcing.
    let lost: Counter
    /// API objects left out of planning because they are invalid (pools, L2Advertisements).
    let invalidObjects: Gauge
    /// IPs that could not be announced on an interface (see the log for why).
    let announceFailures: Counter
    /// Another MAC claimed an IP this node announced, by how it ended: `yielded`, `defended`, `handed_over`.
    let conflicts: [String: Counter]

    init(factory: any MetricsFactory) {
        announced = Gauge(label: "herald_speaker_announced_ips", factory: factory)
        gained = Counter(label: "herald_speaker_ownership_gained_total", factory: factory)
        lost = Counter(label: "herald_speaker_ownership_lost_total", factory: factory)
        invalidObjects = Gauge(label: "herald_speaker_invalid_objects", factory: factory)
        announceFailures = Counter(label: "herald_speaker_announce_failures_total", factory: factory)
        conflicts = Dictionary(uniqueKeysWithValues: ["yielded", "defended", "handed_over"].map { resolution in
            (resolution, Counter(label: "herald_speaker_conflicts_total", dimensions: [("resolution", resolution)], factory: factory))
        })
    }
}
