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

/// Herald's BGP session in-process, in the lab's speaker namespace, against FRR (bgpd and zebra) in the
/// client namespace as the router: FRR's own view (`show bgp … json`) and its kernel's routes are the oracle.
@Suite(.serialized, .needsRoot, .enabled(if: FRRRouter.available, "FRR is not installed; run scripts/install-deps"))
struct FRRSessionLabTests {
    static let speakerAS: UInt32 = 4_200_000_001
    static let routerAS: UInt32 = 64500

    static func frrConfiguration(password: String? = nil) -> String {
        var neighbour = "neighbor 192.0.2.1 remote-as \(speakerAS)\n neighbor 2001:db8::1 remote-as \(speakerAS)\n"
        if let password { neighbour += " neighbor 192.0.2.1 password \(password)\n" }
        return """
            frr defaults datacenter
            hostname router
            router bgp \(routerAS)
             bgp router-id 192.0.2.2
             no bgp ebgp-requires-policy
             \(neighbour)
             address-family ipv4 unicast
              neighbor 192.0.2.1 activate
              no neighbor 2001:db8::1 activate
             exit-address-family
             address-family ipv6 unicast
              neighbor 2001:db8::1 activate
              neighbor 192.0.2.1 activate
             exit-address-family
            """
    }

    /// A one-thread event loop group whose thread lives in `namespace`.
    static func group(in namespace: String) async throws -> MultiThreadedEventLoopGroup {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        try await group.next().submit { try enterNetworkNamespace(namespace) }.get()
        return group
    }

    static func peer(
        _ group: MultiThreadedEventLoopGroup, address: String = "192.0.2.2", password: String? = nil,
        holdTime: UInt16 = 90
    ) -> BGPPeer {
        BGPPeer(
            endpoint: BGPPeerEndpoint(name: "router", peerAddress: try! IPAddress(parsing: address), password: password),
            session: BGPSessionConfiguration(
                localAS: speakerAS, peerAS: .number(routerAS), routerID: IPv4Address(192, 0, 2, 1), holdTime: holdTime,
                connectRetryTime: .seconds(1), otherNextHops: [.v6: try! IPAddress(parsing: "2001:db8::1")]),
            group: group, logger: Logger(label: "bgp-test"))
    }

    /// What FRR's best path for a prefix says, from `show bgp … PREFIX json`.
    struct Path: Sendable {
        var asPath: String?
        var communities: String?
        var largeCommunities: String?
        var nextHop: String?
    }

    static func route(_ router: FRRRouter, _ prefix: String) async throws -> Path? {
        let family = prefix.contains(":") ? "ipv6" : "ipv4"
        let answer = try await router.json("show bgp \(family) unicast \(prefix) json")
        guard let paths = answer["paths"] as? [[String: Any]], let path = paths.first else { return nil }
        return Path(
            asPath: (path["aspath"] as? [String: Any])?["string"] as? String,
            communities: (path["community"] as? [String: Any])?["string"] as? String,
            largeCommunities: (path["largeCommunity"] as? [String: Any])?["string"] as? String,
            nextHop: (path["nexthops"] as? [[String: Any]])?.first?["ip"] as? String)
    }

    @Test func announcesBothFamiliesWithCommunitiesAndWithdraws() async throws {
        try await TwoHostLab.with(suffix: "bgp") { lab in
            try await FRRRouter.with(in: lab.client, configuration: Self.frrConfiguration()) { router in
            let group = try await Self.group(in: lab.speaker)
            let peer = Self.peer(group)
            await peer.start()
            await peer.setRoutes([
                try IPNetwork(parsing: "203.0.113.10/32"): BGPRouteAttributes(
                    communities: [BGPCommunity(64512, 100), .noExport],
                    largeCommunities: [BGPLargeCommunity(Self.speakerAS, 1, 2)]),
                try IPNetwork(parsing: "2001:db8:5e::10/128"): BGPRouteAttributes(),
            ])
            let path = try await waitFor("FRR to hold 203.0.113.10/32", limit: .seconds(20)) {
                let path = try await Self.route(router, "203.0.113.10/32")
                return (path, await "\(peer.status.state) \(String(describing: peer.status.lastDown))")
            }
            #expect(path.asPath == "\(Self.speakerAS)")
            #expect(path.communities == "64512:100 no-export")
            #expect(path.largeCommunities == "\(Self.speakerAS):1:2")
            #expect(path.nextHop == "192.0.2.1")
            let status = await peer.status
            #expect(status.state == .established && status.negotiated?.holdTime == 9, "FRR's datacenter hold time")
            #expect(status.negotiated?.families == [.ipv4Unicast, .ipv6Unicast])

            let v6 = try await waitFor("FRR to hold 2001:db8:5e::10/128", limit: .seconds(10)) {
                (try await Self.route(router, "2001:db8:5e::10/128"), "")
            }
            #expect(v6.nextHop == "2001:db8::1")
            // zebra put the route in the router namespace's kernel.
            _ = try await waitFor("the kernel route", limit: .seconds(10)) {
                let output = try await lab.run(in: lab.client, ["ip", "route", "show", "203.0.113.10"]).output
                return (output.contains("proto bgp") ? true : nil, output)
            }

            // A soft inbound clear makes FRR send ROUTE-REFRESH; the speaker answers with its routes again.
            let before = await peer.status.updatesSent
            _ = try await router.vtysh("clear bgp ipv4 unicast 192.0.2.1 soft in")
            _ = try await waitFor("the refreshed routes", limit: .seconds(10)) {
                let sent = await peer.status.updatesSent
                return (sent > before ? sent : nil, "\(sent)")
            }

            await peer.setRoutes([try IPNetwork(parsing: "2001:db8:5e::10/128"): BGPRouteAttributes()])
            _ = try await waitFor("203.0.113.10/32 withdrawn", limit: .seconds(10)) {
                (try await Self.route(router, "203.0.113.10/32") == nil ? true : nil, "")
            }

            await peer.stop(message: "test over")
            _ = try await waitFor("FRR to see the shutdown", limit: .seconds(10)) {
                let neighbour = try await router.json("show bgp neighbors 192.0.2.1 json")["192.0.2.1"] as? [String: Any]
                let state = neighbour?["bgpState"] as? String ?? "?"
                let gone = try await Self.route(router, "2001:db8:5e::10/128") == nil
                return (state != "Established" && gone ? true : nil, state)
            }
            try await group.shutdownGracefully()
            }
        }
    }

    @Test func md5RightEstablishesAndWrongNever() async throws {
        try await TwoHostLab.with(suffix: "md5") { lab in
            try await FRRRouter.with(
                in: lab.client, configuration: Self.frrConfiguration(password: "lab-secret"), zebra: false
            ) { router in
            let group = try await Self.group(in: lab.speaker)
            let wrong = Self.peer(group, password: "not-the-secret")
            await wrong.start()
            // Linux drops segments whose signature does not verify, so the SYN is never answered.
            _ = try await waitFor("the unsigned attempt to time out", limit: .seconds(10)) {
                let reason = await wrong.status.lastDown?.reason ?? ""
                return (reason == "connection attempt timed out" ? true : nil, reason)
            }
            #expect(await wrong.status.establishedTransitions == 0)
            let neighbour = try await router.json("show bgp neighbors 192.0.2.1 json")["192.0.2.1"] as? [String: Any]
            #expect(neighbour?["bgpState"] as? String != "Established")
            await wrong.stop(message: "wrong key")

            let right = Self.peer(group, password: "lab-secret")
            await right.start()
            _ = try await waitFor("the signed session", limit: .seconds(20)) {
                let status = await right.status
                return (status.state == .established ? true : nil, "\(status.state) \(String(describing: status.lastDown))")
            }
            await right.stop(message: "test over")
            try await group.shutdownGracefully()
            }
        }
    }
}
