import BGPNode
import BGPSession
import BGPWire
import HeraldCore
import HeraldTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

/// Herald's BGP session against BIRD 2, the second, independent implementation: an internal (iBGP) session
/// over IPv6 carrying both families, with BIRD's `show route all` and its kernel table as the oracle.
@Suite(.serialized, .needsRoot, .enabled(if: BIRDRouter.available, "BIRD is not installed; run scripts/install-deps"))
struct BIRDSessionLabTests {
    static let configuration = """
        router id 192.0.2.2;
        protocol device {}
        protocol kernel { ipv4 { export all; }; }
        protocol kernel { ipv6 { export all; }; }
        protocol bgp speaker {
          local 2001:db8::2 as 64500;
          neighbor 2001:db8::1 as 64500;
          hold time 3;
          direct;
          ipv4 { import all; export none; };
          ipv6 { import all; export none; };
        }
        """

    @Test func internalSessionOverIPv6CarriesBothFamilies() async throws {
        try await TwoHostLab.with(suffix: "bird") { lab in
            try await BIRDRouter.with(in: lab.client, configuration: Self.configuration) { router in
                let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
                try await group.next().submit { try enterNetworkNamespace(lab.speaker) }.get()
                let peer = BGPPeer(
                    endpoint: BGPPeerEndpoint(
                        name: "bird", peerAddress: try IPAddress(parsing: "2001:db8::2"), timeToLive: 255),
                    session: BGPSessionConfiguration(
                        localAS: 64500, peerAS: .internal, routerID: IPv4Address(192, 0, 2, 1), holdTime: 90,
                        connectRetryTime: .seconds(1), otherNextHops: [.v4: .v4(IPv4Address(192, 0, 2, 1))]),
                    group: group, logger: Logger(label: "bgp-test"))
                await peer.start()
                await peer.setRoutes([
                    try IPNetwork(parsing: "203.0.113.20/32"): BGPRouteAttributes(
                        communities: [BGPCommunity(64500, 20)], largeCommunities: [BGPLargeCommunity(64500, 2, 3)],
                        localPreference: 250),
                    try IPNetwork(parsing: "2001:db8:5e::20/128"): BGPRouteAttributes(),
                ])
                let route = try await waitFor("BIRD to hold 203.0.113.20/32", limit: .seconds(20)) {
                    let output = try await router.birdc("show", "route", "203.0.113.20/32", "all")
                    return (output.contains("BGP.origin") ? output : nil, output + (await "\(peer.status.lastDown as Any)"))
                }
                #expect(route.contains("via 192.0.2.1"))
                #expect(route.contains("BGP.local_pref: 250"))
                #expect(route.contains("BGP.community: (64500,20)"))
                #expect(route.contains("BGP.large_community: (64500, 2, 3)"))
                #expect(!route.contains("BGP.as_path: 6"), "no AS prepended towards an internal peer")
                let status = await peer.status
                #expect(status.negotiated?.isInternal == true && status.negotiated?.holdTime == 3)
                #expect(status.negotiated?.keepaliveInterval == .seconds(1))

                let v6 = try await waitFor("BIRD to hold 2001:db8:5e::20/128", limit: .seconds(10)) {
                    let output = try await router.birdc("show", "route", "2001:db8:5e::20/128", "all")
                    return (output.contains("BGP.origin") ? output : nil, output)
                }
                #expect(v6.contains("via 2001:db8::1") && v6.contains("BGP.local_pref: 100"))
                _ = try await waitFor("the kernel route", limit: .seconds(10)) {
                    let output = try await lab.run(in: lab.client, ["ip", "-6", "route", "show", "2001:db8:5e::20"]).output
                    return (output.contains("proto bird") ? true : nil, output)
                }

                // Hold time 3 s: keepalives every second keep the session up past several hold times.
                let before = await peer.status
                _ = try await waitFor("5 more keepalives", limit: .seconds(10)) {
                    let sent = await peer.status.keepalivesSent
                    return (sent >= before.keepalivesSent + 5 ? true : nil, "\(sent)")
                }
                let after = await peer.status
                #expect(after.establishedTransitions == before.establishedTransitions && after.state == .established)

                await peer.stop(message: "test over")
                _ = try await waitFor("BIRD to drop the routes", limit: .seconds(10)) {
                    let output = try await router.birdc("show", "route", "203.0.113.20/32")
                    return (output.contains("203.0.113.20") ? nil : true, output)
                }
                try await group.shutdownGracefully()
            }
        }
    }
}
