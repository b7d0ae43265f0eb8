import BGPSession
import BGPWire
import Benchmark
import HeraldCore
import NIOCore
import SeededRandom

/// BGP's codec and its per-peer bookkeeping at 10,000 routes: encoding and decoding UPDATEs, packing host
/// routes into as few UPDATEs as fit, and a session's Adj-RIB-Out sending 10,000 routes and then a change of
/// one. Messages per second are 10,000 divided by the time shown. Addresses: 198.18.0.0/15 (RFC 2544's
/// benchmarking range) and 2001:db8::/32; nothing touches a network.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        maxDuration: .seconds(20),
        maxIterations: 10
    )

    Benchmark("encode 10k UPDATEs (one /32, communities, large communities)") { benchmark in
        let messages = Workload.updates(10_000)
        benchmark.startMeasurement()
        var buffer = ByteBuffer()
        for message in messages { message.encode(into: &buffer, fourOctetAS: true) }
        benchmark.stopMeasurement()
        blackHole(buffer)
    }

    Benchmark("decode 10k UPDATEs from one stream") { benchmark in
        var stream = ByteBuffer()
        for message in Workload.updates(10_000) { message.encode(into: &stream, fourOctetAS: true) }
        benchmark.startMeasurement()
        var count = 0
        while let message = try! BGPMessage.decode(from: &stream, fourOctetAS: true) {
            blackHole(message)
            count += 1
        }
        benchmark.stopMeasurement()
        precondition(count == 10_000)
    }

    Benchmark("pack 10k IPv4 and 10k IPv6 host routes into UPDATEs") { benchmark in
        let (v4, v6) = (Workload.prefixes(10_000, family: .v4), Workload.prefixes(10_000, family: .v6))
        let attributes = BGPPathAttributes(origin: .igp, asPath: [.sequence([64512])])
        benchmark.startMeasurement()
        let first = BGPUpdatePacker.announcements(
            v4, family: .ipv4Unicast, nextHop: .v4(IPv4Address(198, 18, 255, 1)), attributes: attributes,
            fourOctetAS: true)
        let second = BGPUpdatePacker.announcements(
            v6, family: .ipv6Unicast, nextHop: .v6(global: IPv6Address(rawValue: 0x2001_0db8 << 96 | 1), linkLocal: nil),
            attributes: attributes, fourOctetAS: true)
        benchmark.stopMeasurement()
        blackHole((first, second))
    }

    Benchmark("session: 10k routes sent on establishing, then one changed") { benchmark in
        let routes = Dictionary(
            uniqueKeysWithValues: Workload.prefixes(10_000, family: .v4).map { ($0, BGPRouteAttributes()) })
        benchmark.startMeasurement()
        var session = BGPSession(
            configuration: BGPSessionConfiguration(
                localAS: 64512, peerAS: .number(64500), routerID: IPv4Address(198, 18, 255, 1)),
            random: SeededGenerator(seed: 1))
        _ = session.setRoutes(routes, now: .zero)
        _ = session.start(now: .zero)
        _ = session.connected(localAddress: .v4(IPv4Address(198, 18, 255, 1)), now: .zero)
        _ = session.received(
            .open(BGPOpen(autonomousSystem: 64500, holdTime: 90, identifier: IPv4Address(198, 18, 255, 2),
                          capabilities: [.multiprotocol(.ipv4Unicast)])), now: .zero)
        let established = session.received(.keepalive, now: .zero)
        var changed = routes
        changed[routes.keys.first!] = BGPRouteAttributes(communities: [BGPCommunity(64512, 1)])
        let one = session.setRoutes(changed, now: .seconds(1))
        benchmark.stopMeasurement()
        blackHole((established, one))
    }
}

enum Workload {
    static func prefixes(_ count: Int, family: IPFamily) -> [IPNetwork] {
        (0..<count).map { index in
            let address: IPAddress =
                family == .v4
                ? .v4(IPv4Address(rawValue: 0xC612_0000 + UInt32(index)))
                : .v6(IPv6Address(rawValue: UInt128(0x2001_0db8) << 96 | UInt128(index)))
            return IPNetwork(containing: address, prefixLength: family.bitWidth)
        }
    }

    static func updates(_ count: Int) -> [BGPMessage] {
        prefixes(count, family: .v4).map { prefix in
            .update(
                BGPUpdate(
                    attributes: BGPPathAttributes(
                        origin: .igp, asPath: [.sequence([64512])], nextHop: IPv4Address(198, 18, 255, 1),
                        communities: [BGPCommunity(64512, 100), .noExport],
                        largeCommunities: [BGPLargeCommunity(64512, 1, 2)]),
                    announced: [prefix]))
        }
    }
}
