import BGPNode
import BGPSession
import BGPWire
import Foundation
import HeraldCore
import HeraldTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

/// A hostile peer (hostile-peer.py, raw bytes built from the RFCs) sends malformed OPENs, headers and
/// UPDATEs; Herald answers each with the NOTIFICATION RFC 4271 §6 names and resets that session, while its
/// session to FRR on the same host stays up throughout.
@Suite(.serialized, .needsRoot, .enabled(if: FRRRouter.available, "FRR is not installed; run scripts/install-deps"))
struct HostilePeerLabTests {
    static let expected: KeyValuePairs<String, String> = [
        "version3": "2 1", "hold1": "2 6", "marker": "1 1", "length5000": "1 2", "type9": "1 3",
        "badASPath": "3 11", "badOrigin": "3 6", "overrun": "3 1", "missingNextHop": "3 3",
    ]

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("hostile-peer.py").path
    }

    @Test func malformedMessagesGetTheirNotificationAndTouchNoOtherSession() async throws {
        try await TwoHostLab.with(suffix: "hostile") { lab in
            try await FRRRouter.with(
                in: lab.client, configuration: FRRSessionLabTests.frrConfiguration(), zebra: false
            ) { _ in
                let group = try await FRRSessionLabTests.group(in: lab.speaker)
                let good = FRRSessionLabTests.peer(group)
                await good.start()
                _ = try await waitFor("the session to FRR", limit: .seconds(20)) {
                    let status = await good.status
                    return (status.state == .established ? true : nil, "\(status.state)")
                }
                let hostile = try BackgroundProcess(
                    ["ip", "netns", "exec", lab.client, "/usr/bin/python3", Self.script, "1790"]
                        + Self.expected.map(\.key))
                _ = try await waitFor("the hostile peer to listen", limit: .seconds(10)) {
                    (hostile.logText.contains("listening") ? true : nil, hostile.logText)
                }
                for (scenario, notification) in Self.expected {
                    let peer = BGPPeer(
                        endpoint: BGPPeerEndpoint(
                            name: "hostile", peerAddress: .v4(IPv4Address(192, 0, 2, 2)), peerPort: 1790),
                        session: BGPSessionConfiguration(
                            localAS: FRRSessionLabTests.speakerAS, peerAS: .number(FRRSessionLabTests.routerAS),
                            routerID: IPv4Address(192, 0, 2, 1), connectRetryTime: .seconds(1)),
                        group: group, logger: Logger(label: "hostile-test"))
                    await peer.start()
                    let line = try await waitFor("Herald's answer to \(scenario)", limit: .seconds(15)) {
                        let line = hostile.logText.split(separator: "\n").first { $0.hasPrefix("\(scenario) ") }
                        return (line.map(String.init), hostile.logText)
                    }
                    #expect(line == "\(scenario) \(notification)", "NOTIFICATION for \(scenario)")
                    await peer.stop(message: "next scenario")
                }
                try await hostile.stop()
                let status = await good.status
                #expect(status.state == .established && status.establishedTransitions == 1)
                await good.stop(message: "test over")
                try await group.shutdownGracefully()
            }
        }
    }
}
