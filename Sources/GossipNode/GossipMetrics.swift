import Gossip
import Metrics

/// The gossip layer's metrics (Prometheus names; served by the speaker's /metrics).
struct GossipMetrics: Sendable {
    let packetsReceivedUDP, packetsReceivedTCP, packetsSentUDP, packetsSentTCP: Counter
    let bytesReceived, bytesSent: Counter
    /// Packets dropped because no key of the keyring opens them: a wrong key, an attacker, or tampering.
    let authenticationFailures: Counter
    /// Authenticated (or plaintext) packets that are not a valid gossip message.
    let decodeFailures: Counter
    let sendFailures: Counter
    let memberChanges: [MemberStatus: Counter]
    /// Alive and suspect members as this node sees them, itself included.
    let members: Gauge
    /// Times this member ran late enough to count as paused, and the time lost: a starved node shows here
    /// before it shows as flapping members.
    let pauses: Counter
    let pausedSeconds: FloatingPointCounter

    init(factory: any MetricsFactory) {
        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
            Counter(label: label, dimensions: dimensions, factory: factory)
        }
        packetsReceivedUDP = counter("herald_gossip_packets_received_total", [("transport", "udp")])
        packetsReceivedTCP = counter("herald_gossip_packets_received_total", [("transport", "tcp")])
        packetsSentUDP = counter("herald_gossip_packets_sent_total", [("transport", "udp")])
        packetsSentTCP = counter("herald_gossip_packets_sent_total", [("transport", "tcp")])
        bytesReceived = counter("herald_gossip_bytes_received_total")
        bytesSent = counter("herald_gossip_bytes_sent_total")
        authenticationFailures = counter("herald_gossip_authentication_failures_total")
        decodeFailures = counter("herald_gossip_decode_failures_total")
        sendFailures = counter("herald_gossip_send_failures_total")
        var changes: [MemberStatus: Counter] = [:]
        for status in [MemberStatus.alive, .suspect, .dead, .left] {
            changes[status] = counter("herald_gossip_member_changes_total", [("status", status.description)])
        }
        memberChanges = changes
        members = Gauge(label: "herald_gossip_live_members", factory: factory)
        pauses = counter("herald_gossip_pauses_total")
        pausedSeconds = FloatingPointCounter(label: "herald_gossip_paused_seconds_total", factory: factory)
    }

    func paused(_ duration: Duration) {
        pauses.increment()
        pausedSeconds.increment(by: duration.milliseconds / 1000)
    }

    func received(bytes: Int, stream: Bool) {
        (stream ? packetsReceivedTCP : packetsReceivedUDP).increment()
        bytesReceived.increment(by: bytes)
    }

    func sent(bytes: Int, stream: Bool) {
        (stream ? packetsSentTCP : packetsSentUDP).increment()
        bytesSent.increment(by: bytes)
    }

    func changed(to status: MemberStatus) { memberChanges[status]?.increment() }
}
