public import CoreMetrics
import HeraldCore

/// Layer 2 counters of one interface, made once. Names follow MetalLB's `metallb_layer2_*` under `herald_`.
public struct L2Metrics: Sendable {
    let requestsReceived: [IPFamily: Counter]
    let responsesSent: [IPFamily: Counter]
    let gratuitousSent: [IPFamily: Counter]
    let claimsSeen: [IPFamily: Counter]
    let probesSent: Counter
    let dropped: [DropReason: Counter]
    let sendErrors: Counter
    /// 1 while the link is up with carrier, 0 while frames sent on it reach nobody.
    let carrier: Gauge

    public init(interface: String, factory: any MetricsFactory) {
        func perFamily(_ label: String) -> [IPFamily: Counter] {
            Dictionary(
                uniqueKeysWithValues: IPFamily.allCases.map { family in
                    (
                        family,
                        Counter(
                            label: label, dimensions: [("interface", interface), ("family", family.rawValue)],
                            factory: factory)
                    )
                })
        }
        requestsReceived = perFamily("herald_layer2_requests_received")
        responsesSent = perFamily("herald_layer2_responses_sent")
        gratuitousSent = perFamily("herald_layer2_gratuitous_sent")
        claimsSeen = perFamily("herald_layer2_foreign_claims")
        probesSent = Counter(
            label: "herald_layer2_conflict_probes_sent", dimensions: [("interface", interface)], factory: factory)
        dropped = Dictionary(
            uniqueKeysWithValues: DropReason.allCases.map { reason in
                (
                    reason,
                    Counter(
                        label: "herald_layer2_dropped",
                        dimensions: [("interface", interface), ("reason", reason.rawValue)], factory: factory)
                )
            })
        sendErrors = Counter(
            label: "herald_layer2_send_errors", dimensions: [("interface", interface)], factory: factory)
        carrier = Gauge(
            label: "herald_layer2_interface_carrier", dimensions: [("interface", interface)], factory: factory)
    }

    /// Removes the interface's series: it is gone, and a node whose links come and go (pods' veths named
    /// here) must not accumulate series.
    func destroy() {
        for counters in [requestsReceived, responsesSent, gratuitousSent, claimsSeen] {
            counters.values.forEach { $0.destroy() }
        }
        dropped.values.forEach { $0.destroy() }
        probesSent.destroy()
        sendErrors.destroy()
        carrier.destroy()
    }
}
