import Foundation
import HeraldTestSupport
import Testing

/// BGP mode in the lab: FRR (bgpd and zebra) in a router namespace on the lab's bridge peers with every
/// node's speaker. FRR's own view and its kernel's routes are the oracle: one ECMP path per announcing node.
extension LabTests {
    static let routerNamespace = "hlab-router"
    static let routerConfiguration = """
        frr defaults datacenter
        hostname lab-router
        router bgp 64500
         bgp router-id 203.0.113.250
         no bgp ebgp-requires-policy
         neighbor nodes peer-group
         neighbor nodes remote-as 64512
         neighbor 203.0.113.11 peer-group nodes
         neighbor 203.0.113.12 peer-group nodes
         neighbor 203.0.113.13 peer-group nodes
         address-family ipv4 unicast
          neighbor nodes activate
          maximum-paths 16
         exit-address-family
         address-family ipv6 unicast
          neighbor nodes activate
          maximum-paths 16
         exit-address-family
        """

    static func bgpObjects(gracefulRestart: Bool = false) -> String {
        """
        apiVersion: metallb.io/v1beta2
        kind: BGPPeer
        metadata: {name: router, namespace: herald-system}
        spec: {myASN: 64512, peerASN: 64500, peerAddress: 203.0.113.250, holdTime: 9s, enableGracefulRestart: \(gracefulRestart)}
        ---
        apiVersion: metallb.io/v1beta1
        kind: BGPAdvertisement
        metadata: {name: web, namespace: herald-system}
        spec: {ipAddressPools: [web], communities: ["64512:100"]}
        """
    }

    /// The next hops FRR holds for `prefix` (one per path), sorted.
    static func nextHops(_ router: FRRRouter, _ prefix: String) async throws -> [String] {
        let answer = try await router.json("show bgp ipv4 unicast \(prefix) json")
        let paths = answer["paths"] as? [[String: Any]] ?? []
        return paths.compactMap { ($0["nexthops"] as? [[String: Any]])?.first?["ip"] as? String }.sorted()
    }

    /// Runs `body` with FRR in the lab's router namespace, and removes both afterwards, also on failure.
    func withRouter(_ body: (FRRRouter) async throws -> Void) async throws {
        try await lab.reset()
        try await lab.lab("router", "add")
        do {
            try await FRRRouter.with(in: Self.routerNamespace, configuration: Self.routerConfiguration, body)
        } catch {
            _ = try? await lab.lab("router", "del")
            throw error
        }
        try await lab.reset()
        try await lab.lab("router", "del")
    }

    static let everyNode = ["203.0.113.11", "203.0.113.12", "203.0.113.13"]

    @Test func everyNodeAnnouncesOverBGPAndTheRouterSpreadsOverThem() async throws {
        try await withRouter { router in
            try await lab.apply(pool("web", ["203.0.113.220/32"]))
            try await lab.apply(Self.bgpObjects())
            try await lab.apply(service("bgp-web"))
            try await lab.lab(["endpoints", "bgp-web"] + lab.nodes)
            let ip = try await lab.ingress("bgp-web")
            let everyNode = Self.everyNode
            _ = try await waitFor("one path per node at the router", limit: .seconds(30)) {
                let hops = try await Self.nextHops(router, "\(ip)/32")
                return (hops == everyNode ? true : nil, "\(hops)")
            }
            // zebra installed the ECMP route in the router's kernel: one next hop per node.
            let route = try await waitFor("the ECMP route in the router's kernel", limit: .seconds(10)) {
                let output = try await Command.run(["ip", "-n", Self.routerNamespace, "route", "show", ip]).output
                return (everyNode.allSatisfy { output.contains("via \($0)") } ? output : nil, output)
            }
            #expect(route.contains("proto bgp"))
            let communities = try await router.json("show bgp ipv4 unicast \(ip)/32 json")
            let first = (communities["paths"] as? [[String: Any]])?.first
            #expect((first?["community"] as? [String: Any])?["string"] as? String == "64512:100")
            // Layer 2 keeps answering for the same pool at the same time.
            try await lab.settle()
            // ServiceBGPStatus: one object per announcing node, naming the peer.
            _ = try await waitFor("a ServiceBGPStatus per node", limit: .seconds(20)) {
                let statuses = try await Self.bgpStatuses("bgp-web")
                return (statuses == ["node-1": "router", "node-2": "router", "node-3": "router"] ? true : nil,
                        "\(statuses)")
            }

            // externalTrafficPolicy: Local: only the node with the ready endpoint keeps its route.
            try await lab.apply(service("bgp-web", local: true))
            try await lab.lab("endpoints", "bgp-web", "node-2")
            _ = try await waitFor("only node-2's path", limit: .seconds(20)) {
                let hops = try await Self.nextHops(router, "\(ip)/32")
                return (hops == ["203.0.113.12"] ? true : nil, "\(hops)")
            }
            _ = try await waitFor("only node-2's ServiceBGPStatus", limit: .seconds(20)) {
                let statuses = try await Self.bgpStatuses("bgp-web")
                return (statuses == ["node-2": "router"] ? true : nil, "\(statuses)")
            }
            // The Service deleted: every node withdraws.
            try await lab.kubectl("delete", "svc", "bgp-web", "-n", "default")
            _ = try await waitFor("the route withdrawn", limit: .seconds(20)) {
                let hops = try await Self.nextHops(router, "\(ip)/32")
                return (hops.isEmpty ? true : nil, "\(hops)")
            }
        }
    }

    /// The ServiceBGPStatus objects of a Service: node → its peers, comma-separated.
    static func bgpStatuses(_ service: String) async throws -> [String: String] {
        let output = try await LabCluster.current!.kubectl(
            "get", "servicebgpstatuses", "-n", "herald-system", "-l", "metallb.io/service-name=\(service)", "-o",
            "jsonpath={range .items[*]}{.status.node}={.status.peers[*]}{\"\\n\"}{end}").output
        var result: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            result[String(parts[0])] = String(parts[1]).replacingOccurrences(of: " ", with: ",")
        }
        return result
    }

    /// The paths FRR holds for `prefix`: next hop and whether it is stale (kept for a restarting peer).
    static func paths(_ router: FRRRouter, _ prefix: String) async throws -> [String: Bool] {
        let answer = try await router.json("show bgp ipv4 unicast \(prefix) json")
        var result: [String: Bool] = [:]
        for path in answer["paths"] as? [[String: Any]] ?? [] {
            guard let hop = (path["nexthops"] as? [[String: Any]])?.first?["ip"] as? String else { continue }
            result[hop] = path["stale"] as? Bool ?? false
        }
        return result
    }

    static func neighbourState(_ router: FRRRouter, _ address: String) async throws -> String {
        let neighbour = try await router.json("show bgp neighbors \(address) json")[address] as? [String: Any]
        return neighbour?["bgpState"] as? String ?? "?"
    }

    @Test func sigtermWithdrawsFirstAndACrashKeepsTheRoutesWithGracefulRestart() async throws {
        try await withRouter { router in
            try await lab.apply(pool("web", ["203.0.113.221/32"]))
            try await lab.apply(Self.bgpObjects(gracefulRestart: true))
            try await lab.apply(service("bgp-gr"))
            try await lab.lab(["endpoints", "bgp-gr"] + lab.nodes)
            let ip = try await lab.ingress("bgp-gr")
            _ = try await waitFor("one path per node", limit: .seconds(30)) {
                let hops = try await Self.nextHops(router, "\(ip)/32")
                return (hops == Self.everyNode ? true : nil, "\(hops)")
            }
            // SIGTERM: by the time the process has exited, the router no longer holds its path.
            try await lab.lab("speaker", "stop", "node-1")
            #expect(try await Self.nextHops(router, "\(ip)/32") == ["203.0.113.12", "203.0.113.13"])
            try await lab.lab("speaker", "start", "node-1")
            _ = try await waitFor("node-1's path back", limit: .seconds(30)) {
                let hops = try await Self.nextHops(router, "\(ip)/32")
                return (hops == Self.everyNode ? true : nil, "\(hops)")
            }

            // kill -9 with graceful restart: the router sees the session go, and keeps node-1's path (stale),
            // so traffic keeps flowing there, where kube-proxy still forwards it.
            try await lab.lab("speaker", "kill", "node-1")
            _ = try await waitFor("the router to see node-1's session down", limit: .seconds(15)) {
                let state = try await Self.neighbourState(router, "203.0.113.11")
                return (state != "Established" ? true : nil, state)
            }
            let kept = try await Self.paths(router, "\(ip)/32")
            #expect(kept["203.0.113.11"] == true, "node-1's path kept as stale: \(kept)")
            #expect(kept.count == 3)
            // The restarted speaker announces again and sends End-of-RIB: the path is fresh again.
            try await lab.lab("speaker", "start", "node-1")
            _ = try await waitFor("node-1's path fresh again", limit: .seconds(30)) {
                let paths = try await Self.paths(router, "\(ip)/32")
                return (paths == ["203.0.113.11": false, "203.0.113.12": false, "203.0.113.13": false] ? true : nil,
                        "\(paths)")
            }
        }
    }
}
