import Metrics
import SpeakerCore

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
    let yielded: Counter, defended: Counter, handedOver: Counter

    init(factory: any MetricsFactory) {
        announced = Gauge(label: "herald_speaker_announced_ips", factory: factory)
        gained = Counter(label: "herald_speaker_ownership_gained_total", factory: factory)
        lost = Counter(label: "herald_speaker_ownership_lost_total", factory: factory)
        invalidObjects = Gauge(label: "herald_speaker_invalid_objects", factory: factory)
        announceFailures = Counter(label: "herald_speaker_announce_failures_total", factory: factory)
        func conflicts(_ resolution: String) -> Counter {
            Counter(label: "herald_speaker_conflicts_total", dimensions: [("resolution", resolution)], factory: factory)
        }
        yielded = conflicts("yielded")
        defended = conflicts("defended")
        handedOver = conflicts("handed_over")
    }

    func counter(_ counter: SpeakerStateMachine.Counter) -> Counter {
        switch counter {
        case .gained: gained
        case .lost: lost
        case .announceFailures: announceFailures
        case .yielded: yielded
        case .defended: defended
        case .handedOver: handedOver
        }
    }
}
