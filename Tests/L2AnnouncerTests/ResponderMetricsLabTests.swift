import HeraldCore
import HeraldTestSupport
import L2Announcer
import Logging
import MetricsTestKit
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

/// An `InterfaceResponder` run in-process with its socket opened inside a lab namespace, to check what it counts
/// and how it shuts down.
@Suite(.serialized, .needsRoot, .needsTools("ip", "arping"))
struct ResponderMetricsLabTests {
    /// A speaker with its socket opened in the lab's speaker namespace, announcing 192.0.2.10 once.
    static func speaker(announcing192_0_2_10In lab: TwoHostLab, metrics: TestMetrics) throws -> InterfaceResponder {
        let speaker = try inNetworkNamespace(lab.speaker) {
            try InterfaceResponder(interfaceName: lab.speakerInterface, schedule: AnnouncementSchedule(offsets: [.zero]),
                                 logger: Logger(label: "test"), metricsFactory: metrics)
        }
        try speaker.announce(.v4(IPv4Address(192, 0, 2, 10)))
        return speaker
    }

    @Test func countsRequestsAnswersAnnouncementsAndDrops() async throws {
        try await TwoHostLab.with(suffix: "metrics") { lab in
            let metrics = TestMetrics()
            let speaker = try Self.speaker(announcing192_0_2_10In: lab, metrics: metrics)
            let dimensions = [("interface", lab.speakerInterface), ("family", "IPv4")]
            try await testGracefulShutdown { shutdown in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await speaker.run() }
                    _ = try await waitFor("an ARP answer", limit: .seconds(5)) {
                        let result = try await lab.run(in: lab.client, ["arping", "-c", "1", "-w", "1", "-I", lab.clientInterface, "192.0.2.10"], check: false)
                        return (result.output.contains("reply from") ? true : nil, result.output)
                    }
                    _ = try await lab.run(in: lab.client, ["arping", "-c", "1", "-w", "1", "-I", lab.clientInterface, "192.0.2.11"], check: false)
                    let answered = try await waitFor("the counters", limit: .seconds(3)) {
                        let sent = metrics.counterTotal(label: "herald_layer2_responses_sent", dimensions: dimensions)
                        let gratuitous = metrics.counterTotal(label: "herald_layer2_gratuitous_sent", dimensions: dimensions)
                        let notOwned = metrics.counterTotal(label: "herald_layer2_dropped", dimensions: [("interface", lab.speakerInterface), ("reason", "notOwned")])
                        let ready = sent >= 1 && gratuitous == 2 && notOwned >= 1
                        return (ready ? sent : nil, "sent \(sent), gratuitous \(gratuitous), notOwned \(notOwned)")
                    }
                    #expect(metrics.counterTotal(label: "herald_layer2_requests_received", dimensions: dimensions) >= answered + 1)
                    shutdown.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }
            #expect(speaker.announced.isEmpty, "graceful shutdown withdraws every address")
        }
    }

    /// `stop()` (the interface was deleted) ends `run()`, withdraws, and removes the interface's series, so a
    /// node whose links come and go does not pile up metrics.
    @Test func aStoppedResponderTakesItsSeriesWithIt() async throws {
        try await TwoHostLab.with(suffix: "stopped") { lab in
            let metrics = TestMetrics()
            let speaker = try Self.speaker(announcing192_0_2_10In: lab, metrics: metrics)
            let mine = { metrics.counters.filter { $0.dimensions.contains { $0 == ("interface", lab.speakerInterface) } }.count }
            #expect(mine() > 0)
            let run = Task { try await speaker.run() }
            _ = try await waitFor("an ARP answer", limit: .seconds(5)) {
                let result = try await lab.run(in: lab.client, ["arping", "-c", "1", "-w", "1", "-I", lab.clientInterface, "192.0.2.10"], check: false)
                return (result.output.contains("reply from") ? true : nil, result.output)
            }
            speaker.stop()
            try await run.value
            #expect(speaker.announced.isEmpty)
            #expect(mine() == 0, "series left: \(metrics.counters.map(\.label))")
        }
    }
}
