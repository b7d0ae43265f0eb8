import BGPNode
import BGPSession
import HeraldConfig
import HeraldCore
import HeraldSpeaker
import HeraldTestSupport
import KubeAPI
import Logging
import NIOCore
import NIOPosix
import Testing

/// The speaker's BGP sessions as the configuration changes: a session per usable peer, none (and a reason)
/// for a peer without its password or a router ID, gone when the peer goes. The peers are closed ports on
/// loopback, so the sessions only ever try to connect.
@Suite struct BGPAnnouncerTests {
    static func settings(_ name: String, password: KubeAPI.BGPPeer.SecretReference? = nil, routerID: String? = nil)
        throws -> BGPPeerSettings
    {
        try KubeAPI.BGPPeer(
            metadata: ObjectMeta(name: name, namespace: "herald-system"),
            spec: KubeAPI.BGPPeer.Spec(
                myASN: 64512, peerASN: 64500, peerAddress: "127.0.0.1", peerPort: 9, routerID: routerID,
                passwordSecret: password)
        ).settings()
    }

    @Test func oneSessionPerUsablePeerAndAReasonForTheOthers() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let announcer = BGPAnnouncer(group: group, logger: Logger(label: "bgp-announcer-test"))
        let node = BGPAnnouncer.NodeAddresses(v4: IPv4Address(192, 0, 2, 11))
        let secretPeer = try Self.settings("with-secret", password: KubeAPI.BGPPeer.SecretReference(name: "md5"))
        await announcer.apply(
            peers: [try Self.settings("plain"), secretPeer], passwords: [:], node: node, plan: BGPPlan())
        #expect(Set(await announcer.statuses.keys) == ["plain"])
        #expect(await announcer.problems["with-secret"]?.contains("herald-system/md5") == true)

        // The Secret read: its session opens too.
        await announcer.apply(
            peers: [try Self.settings("plain"), secretPeer], passwords: ["with-secret": "key"], node: node,
            plan: BGPPlan())
        let problems = await announcer.problems
        #expect(Set(await announcer.statuses.keys) == ["plain", "with-secret"] && problems.isEmpty)

        // A node without an IPv4 InternalIP needs routerID.
        let v6Only = BGPAnnouncer.NodeAddresses(v6: try IPv6Address(parsing: "2001:db8::11"))
        await announcer.apply(
            peers: [try Self.settings("plain"), try Self.settings("with-id", routerID: "192.0.2.11")], passwords: [:],
            node: v6Only, plan: BGPPlan())
        #expect(Set(await announcer.statuses.keys) == ["with-id"])
        #expect(await announcer.problems["plain"]?.contains("routerID") == true)

        // Every session tries to connect (the port is closed), none comes up.
        let status = try #require(await announcer.statuses["with-id"])
        #expect(status.state != .established && status.establishedTransitions == 0)

        await announcer.apply(peers: [], passwords: [:], node: node, plan: BGPPlan())
        let remaining = await announcer.statuses
        #expect(remaining.isEmpty)
        await announcer.stop(message: "test over")
        try await group.shutdownGracefully()
    }
}
