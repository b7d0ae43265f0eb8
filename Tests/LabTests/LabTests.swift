import Foundation
import HeraldTestSupport
import Testing

/// Herald end to end in the lab (scripts/lab): the real kube-apiserver, herald-controller, one herald-speaker
/// per node namespace, a client namespace on the same bridge. Every check is made from the client, as a
/// router or a user's machine would see it: who answers ARP, what the neighbour table says, which frames
/// arrive. scripts/run-tests brings the lab up for this suite only and removes it after.
@Suite(.serialized, .needsRoot, .enabled(if: LabCluster.current != nil, "no lab: scripts/run-tests starts one (scripts/lab up)"))
struct LabTests {
    let lab = LabCluster.current!

    // MARK: Objects, as an operator writes them

    func pool(_ name: String, _ addresses: [String], advertisement: String? = "{ipAddressPools: [NAME]}",
              namespace: String = "herald-system") -> String {
        var yaml = """
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: \(name), namespace: \(namespace)}
            spec: {addresses: [\(addresses.joined(separator: ", "))]}
            """
        if let advertisement {
            yaml += """

                ---
                apiVersion: metallb.io/v1beta1
                kind: L2Advertisement
                metadata: {name: \(name), namespace: \(namespace)}
                spec: \(advertisement.replacingOccurrences(of: "NAME", with: name))
                """
        }
        return yaml
    }

    /// `families`: `spec.ipFamilies` (two of them: RequireDualStack); none: the server's default, IPv4.
    func service(_ name: String, port: Int = 80, local: Bool = false, annotations: [String: String] = [:],
                 labels: [String: String] = [:], families: [String] = []) -> String {
        func flow(_ map: [String: String]) -> String {
            "{" + map.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ") + "}"
        }
        return """
            apiVersion: v1
            kind: Service
            metadata: {name: \(name), namespace: default, labels: \(flow(labels.merging([LabCluster.testLabel: "true"]) { $1 })), annotations: \(flow(annotations))}
            spec:
              type: LoadBalancer
              externalTrafficPolicy: \(local ? "Local" : "Cluster")
              ports: [{name: p\(port), port: \(port), targetPort: 8080}]
            """ + (families.isEmpty ? "" : """

              ipFamilyPolicy: \(families.count > 1 ? "RequireDualStack" : "SingleStack")
              ipFamilies: [\(families.joined(separator: ", "))]
            """)
    }

    /// The lab's dual-stack addresses: IPv4 beside the nodes', IPv6 in the bridge's 2001:db8:1ab::/64.
    static let dualStackPool = ["203.0.113.200-203.0.113.209", "\"2001:db8:1ab::100-2001:db8:1ab::10f\""]

    /// A Service with an EndpointSlice (ready endpoints on `endpoints`), its IP, once the lab has settled.
    func serve(_ name: String, from addresses: [String] = ["203.0.113.200-203.0.113.209"], endpoints: [String]? = nil,
               family: String? = nil) async throws -> String {
        try await lab.apply(pool("web", family == nil ? addresses : Self.dualStackPool))
        try await lab.apply(service(name, families: family.map { [$0] } ?? []))
        try await lab.lab(["endpoints", name] + (endpoints ?? lab.nodes))
        let ip = try await lab.ingress(name)
        try await lab.settle()
        return ip
    }

    // MARK: Failover

    @Test func aKilledOwnerIsReplacedAndTheClientsNeighbourEntryFollows() async throws {
        try await lab.reset()
        let ip = try await serve("crash")
        let owner = try #require(try await lab.owner(ip))
        try await waitForStatus(of: "crash", naming: [owner])
        let successor = try await crashOwner(of: ip, owner)
        #expect(try await lab.owner(ip) == successor)
        // `kubectl get servicel2statuses` names the new owner, and no longer the dead one.
        try await waitForStatus(of: "crash", naming: [successor])
    }

    /// `kill -9` of `owner`'s speaker: another node announces `ip` and the client's neighbour entry moves to
    /// it. Returns that node.
    func crashOwner(of ip: String, _ owner: String) async throws -> String {
        let result = try await lab.failover(ip)
        let successor = try #require(result["new"])
        #expect(result["old"] == owner)
        #expect(successor != "none" && successor != owner, "no other node announced \(ip): \(result)")
        #expect(result["neigh_ms"] != "none", "the client's neighbour entry did not move: \(result)")
        #expect(try await lab.clientNeighbour(ip) == lab.mac(of: successor))
        return successor
    }

    /// Waits until the Service's ServiceL2Status objects name exactly `nodes`.
    func waitForStatus(of service: String, naming nodes: [String], namespace: String = "herald-system") async throws {
        _ = try await waitFor("ServiceL2Status of \(service) naming \(nodes)", limit: .seconds(30), interval: .milliseconds(200)) {
            let output = try await lab.kubectl("get", "servicel2statuses", "-n", namespace, "-l", "metallb.io/service-name=\(service)",
                                               "-o", "jsonpath={range .items[*]}{.status.node} {end}", check: false).output
            let named = output.split(separator: " ").map(String.init).sorted()
            return (named == nodes.sorted() ? named : nil, output)
        }
    }

    /// After a reset, a RequireDualStack Service `name` from a dual-stack pool of that name, with endpoints on
    /// every node: its IPv4 and its IPv6 address, once the lab has settled.
    func serveDualStack(_ name: String) async throws -> [String] {
        try await lab.reset()
        try await lab.apply(pool(name, Self.dualStackPool))
        try await lab.apply(service(name, families: ["IPv4", "IPv6"]))
        try await lab.lab(["endpoints", name] + lab.nodes)
        let ips = try await lab.ingresses(name, count: 2)
        try await lab.settle()
        return ips
    }

    /// A RequireDualStack Service takes an address of each family from a dual-stack pool and one node announces
    /// both: the client finds it by ARP and by NDP (ndisc6), `ping -6` resolves to its MAC, and when it is
    /// killed its IPv6 address moves by an unsolicited advertisement with Override (seen by tcpdump) that
    /// moves the client's neighbour entry, as gratuitous ARP does for IPv4.
    @Test func aDualStackServiceIsAnsweredInBothFamiliesAndItsIPv6FailsOver() async throws {
        let ips = try await serveDualStack("dual")
        let (v4, v6) = (ips[0], ips[1])
        #expect(v4.hasPrefix("203.0.113.20") && v6.hasPrefix("2001:db8:1ab::10"), "\(ips)")
        let owner = try #require(try await lab.owner(v6), "nobody answers the client's Neighbour Solicitation for \(v6)")
        #expect(try await lab.owner(v4) == owner, "one node announces both IPs of a dual-stack Service")
        try await lab.lab(["exec", "client", "ping", "-6", "-c", "1", "-W", "1", v6], check: false)
        #expect(try await lab.clientNeighbour(v6) == lab.mac(of: owner))
        try await waitForStatus(of: "dual", naming: [owner])
        let successor = try await crashOwner(of: v6, owner)
        #expect(try await lab.owner(v4) == successor)
        try await waitForStatus(of: "dual", naming: [successor])
    }

    /// The opt-in periodic refresh, set as the DaemonSet sets it (HERALD_ANNOUNCE_REFRESH_INTERVAL): the owner
    /// announces each IP again every interval, in both families, long after its gain's schedule (5
    /// announcements in 4 s) is over. Off by default: the same 10 s hold at most the schedule's 5.
    @Test func anOptInRefreshAnnouncesEveryOwnedIPAgainEveryInterval() async throws {
        let ips = try await serveDualStack("refresh")
        let owner = try #require(try await lab.owner(ips[0]))
        let mac = try lab.mac(of: owner)
        /// The owner's gratuitous ARP requests for the IPv4 address and unsolicited advertisements for the
        /// IPv6 one that the client hears in 10 s.
        @Sendable func heard() async throws -> (v4: Int, v6: Int) {
            let capture = try await lab.lab(
                ["exec", "client", "timeout", "10", "tcpdump", "-i", "eth0", "-nn", "-t", "-e", "-l", "-v",
                 "(arp and host \(ips[0])) or (icmp6 and ip6[40] == 136)"], check: false).output
            let lines = capture.split(separator: "\n").filter { $0.hasPrefix(mac) }
            return (lines.filter { $0.contains("who-has \(ips[0]) tell \(ips[0]),") }.count,
                    lines.filter { $0.contains("> ff02::1:") && $0.contains("tgt is \(ips[1]), Flags [override]") }.count)
        }
        let quiet = try await heard()
        #expect(quiet.v4 <= 5 && quiet.v6 <= 5, "announcements beyond the gain's schedule with the refresh off: \(quiet)")
        // Every speaker again with a 250 ms refresh.
        try await lab.restartSpeakers(environment: ["HERALD_ANNOUNCE_REFRESH_INTERVAL=250"])
        try await lab.settle()
        let refreshing = try await lab.owner(ips[0])
        let refreshed = try await heard()
        // 40 each in 10 s at 250 ms; the schedule alone gives 5.
        #expect(refreshed.v4 >= 20 && refreshed.v6 >= 20, "owner \(refreshing ?? "none"): \(refreshed)")
        // The lab's speakers as they were, for the tests after this one.
        try await lab.restartSpeakers()
        try await lab.settle()
    }

    /// An owner whose announcing link loses its carrier yields the IP (Cilium #35507). The IP is announced on
    /// eth1 only; gossip runs on eth0 and keeps working, so the owner stays a live member and only its own
    /// word (its gossip metadata) can move the IP. It takes the IP back when the carrier returns.
    @Test func anOwnerWhoseLinkLosesItsCarrierYieldsUntilTheCarrierIsBack() async throws {
        try await lab.reset()
        for node in lab.nodes { try await lab.lab("link", "add", node, "eth1") }
        do {
            try await lab.restartSpeakers(environment: ["HERALD_LAB_INTERFACES=eth0,eth1"])
            try await lab.apply(pool("carrier", ["203.0.113.240/32"], advertisement: "{ipAddressPools: [NAME], interfaces: [eth1]}"))
            try await lab.apply(service("carrier"))
            try await lab.lab(["endpoints", "carrier"] + lab.nodes)
            let ip = try await lab.ingress("carrier")
            try await lab.settle()
            let owner = try #require(try await lab.owner(ip))
            // The owner's eth1 loses its carrier: the first gratuitous ARP from another node's eth1, at the client.
            let result = try await lab.failover(ip, carrier: "eth1")
            #expect(result["old"] == owner && result["new"] != "none" && result["new"] != owner, "\(result)")
            let garp = try #require(Double(result["garp_ms"] ?? ""), "no other node announced: \(result)")
            #expect(garp < 1000, "the next node announced \(garp) ms after the carrier went: \(result)")
            #expect(try await lab.owner(ip) == result["new"])
            // The owner is still a live member; explain gives the reason it is not the owner.
            let explained = try await lab.speakerCommand(
                "explain", "--service", "default/carrier", "--kubeconfig", "\(lab.directory)/herald-speaker.kubeconfig",
                "--speaker", "http://203.0.113.11:7472", check: false)
            #expect(explained.output.contains("no carrier on eth1"), "\(explained)")
            try await lab.lab("link", "carrier", owner, "eth1", "on")
            try await lab.waitForOwner(ip, owner, limit: .seconds(10))
            try await lab.settle()
        } catch {
            try? await restoreOneLink()
            throw error
        }
        try await restoreOneLink()
    }

    /// The lab's nodes with eth0 only, their speakers as the lab runs them, and the test's objects gone.
    func restoreOneLink() async throws {
        try await lab.kubectl("delete", "svc", "carrier", "-n", "default", "--ignore-not-found")
        // Its pool names eth1, which the nodes no longer have: a later Service must not get an IP from it.
        try await lab.kubectl("delete", "ipaddresspool/carrier", "l2advertisement/carrier", "-n", "herald-system", "--ignore-not-found")
        try await lab.restartSpeakers()
        for node in lab.nodes { try await lab.lab("link", "del", node, "eth1") }
        try await lab.settle()
    }

    @Test func aDrainedOwnerHandsOverWithoutOneUnansweredProbe() async throws {
        try await lab.reset()
        let ip = try await serve("drain")
        let result = try await lab.failover(ip, graceful: true)
        #expect(result["new"] != "none" && result["new"] != result["old"], "\(result)")
        #expect(result["probes"] == "400")
        #expect(result["unanswered"] == "0", "probes lost during the hand-over: \(result)")
    }

    @Test func aRestartedSpeakerMovesNoOtherIP() async throws {
        try await lab.reset()
        try await lab.apply(pool("web", ["203.0.113.200-203.0.113.209"]))
        let names = ["r1", "r2", "r3", "r4", "r5", "r6"]
        for name in names {
            try await lab.apply(service(name))
            try await lab.lab(["endpoints", name] + lab.nodes)
        }
        var ips: [String] = []
        for name in names { ips.append(try await lab.ingress(name)) }
        try await lab.settle()
        var owners: [String: String] = [:]
        for ip in ips {
            let owner = try await lab.owner(ip)
            let known: String = try #require(owner, "nobody answers \(ip)")
            owners[ip] = known
        }
        // Of the nodes owning some IP, the one owning the fewest restarts; the others' IPs must not move.
        let owning = Set(owners.values).sorted()
        let restarted = owning.min { a, b in owners.values.filter { $0 == a }.count < owners.values.filter { $0 == b }.count }!
        let others = ips.filter { owners[$0] != restarted }
        // Every ARP frame the client sees while the node restarts (the capture ends with the test at the latest).
        let capture = try BackgroundProcess(["ip", "netns", "exec", "hlab-client", "timeout", "120", "tcpdump", "-i", "eth0", "-nn", "-l", "-e", "arp"])
        _ = try await waitFor("tcpdump to listen", limit: .seconds(10)) { (capture.logText.contains("listening on") ? true : nil, capture.logText) }
        try await lab.lab("speaker", "stop", restarted)
        try await lab.lab("speaker", "start", restarted)
        try await lab.settle()
        for ip in ips { #expect(try await lab.owner(ip) == owners[ip], "\(ip) changed owner") }
        _ = try await capture.stop(signal: SIGINT)
        // The owners' own announcements may still be repeating from when they gained the IPs; a move would
        // show as an announcement from another MAC.
        let frames = capture.logText.split(separator: "\n").filter { $0.contains("> ff:ff:ff:ff:ff:ff") }
        for ip in others {
            let owner = try lab.mac(of: owners[ip]!)
            let foreign = frames.filter { ($0.contains("who-has \(ip) tell \(ip),") || $0.contains("Reply \(ip) is-at")) && !$0.contains(" \(owner) >") }
            #expect(foreign.isEmpty, "\(ip), owned by \(owners[ip]!), was announced by another node while \(restarted) restarted:\n\(foreign.joined(separator: "\n"))")
        }
        // And the capture saw the restarted node's own IPs move and come back, so it was listening.
        #expect(frames.contains { line in ips.filter { owners[$0] == restarted }.contains { line.contains("who-has \($0) tell \($0),") } })
    }

    // MARK: Who may announce

    @Test func localTrafficFollowsTheReadyEndpoints() async throws {
        try await lab.reset()
        try await lab.apply(pool("web", ["203.0.113.210/32"]))
        try await lab.apply(service("local", local: true))
        try await lab.lab("endpoints", "local", "node-2")
        let ip = try await lab.ingress("local")
        try await lab.waitForOwner(ip, "node-2")
        try await lab.lab("endpoints", "local", "node-3")
        try await lab.waitForOwner(ip, "node-3")
        try await lab.lab("endpoints", "local")
        try await lab.waitForOwner(ip, nil)
    }

    @Test func advertisementsChooseTheNodesAndInterfaces() async throws {
        try await lab.reset()
        // Only node-1 may announce the first pool; the second has no L2Advertisement; the third only on an
        // interface no node has.
        try await lab.apply(pool("first", ["203.0.113.220/32"],
                                 advertisement: "{ipAddressPools: [NAME], nodeSelectors: [{matchLabels: {lab.herald.dev/index: \"1\"}}]}"))
        try await lab.apply(pool("unadvertised", ["203.0.113.221/32"], advertisement: nil))
        try await lab.apply(pool("elsewhere", ["203.0.113.222/32"], advertisement: "{ipAddressPools: [NAME], interfaces: [eth9]}"))
        for (name, pool) in [("sel", "first"), ("none", "unadvertised"), ("eth", "elsewhere")] {
            try await lab.apply(service(name, annotations: ["metallb.io/address-pool": pool]))
            try await lab.lab(["endpoints", name] + lab.nodes)
        }
        #expect(try await lab.ingress("sel") == "203.0.113.220")
        #expect(try await lab.ingress("none") == "203.0.113.221")
        #expect(try await lab.ingress("eth") == "203.0.113.222")
        try await lab.waitForOwner("203.0.113.220", "node-1")
        for ip in ["203.0.113.221", "203.0.113.222"] { #expect(try await lab.owner(ip) == nil, "\(ip) is answered") }
        // The owner of the eth9-only IP says why nobody answers, where `kubectl describe svc` shows it.
        let event = try await waitFor("an AnnounceFailed Event on eth", limit: .seconds(20), interval: .milliseconds(200)) {
            let messages = try await lab.kubectl("get", "events", "-n", "default", "--field-selector", "reason=AnnounceFailed,involvedObject.name=eth",
                                                 "-o", "jsonpath={.items[*].message}").output
            return (messages.isEmpty ? nil : messages, messages)
        }
        #expect(event.contains("203.0.113.222") && event.contains("allows only eth9") && event.contains("answers on eth0"), "\(event)")
        try await lab.lab("speaker", "kill", "node-1")
        // node-1 gone: nobody else is selected, so nobody answers.
        try await lab.waitForOwner("203.0.113.220", nil, limit: .seconds(5))
    }

    /// MetalLB v0.16's serviceSelectors and preferredNodeSelectors: an advertisement serves only the Services it
    /// selects; a selected Service that shares its IP is refused, with a Warning Event; the preferred node
    /// announces while its speaker runs, the next score while it does not, and takes the IP back when it returns.
    @Test func serviceSelectorsAndPreferredNodesChooseWhatIsAnnouncedAndByWhom() async throws {
        try await lab.reset()
        let preferences = """
            [{weight: 50, preference: {matchLabels: {lab.herald.dev/index: "3"}}}, \
            {weight: 10, preference: {matchLabels: {lab.herald.dev/index: "2"}}}]
            """
        try await lab.apply(pool("sel", ["203.0.113.224-203.0.113.227"],
                                 advertisement: "{ipAddressPools: [NAME], serviceSelectors: [{matchLabels: {app: shop}}], preferredNodeSelectors: \(preferences)}"))
        let shared = ["metallb.io/allow-shared-ip": "shop", "metallb.io/loadBalancerIPs": "203.0.113.227"]
        let services = [
            ("shop", ["app": "shop"], [String: String]()), ("blog", ["app": "blog"], [:]),
            ("shop-tcp", ["app": "shop"], shared), ("shop-udp", ["app": "shop"], shared),
        ]
        for (name, labels, annotations) in services {
            try await lab.apply(service(name, port: name == "shop-udp" ? 53 : 80, annotations: annotations, labels: labels))
            try await lab.lab(["endpoints", name] + lab.nodes)
        }
        let shop = try await lab.ingress("shop"), blog = try await lab.ingress("blog")
        #expect(try await lab.ingress("shop-tcp") == "203.0.113.227")
        try await lab.waitForOwner(shop, "node-3")
        let event = try await waitFor("an AnnounceRefused Event on shop-tcp", limit: .seconds(20), interval: .milliseconds(200)) {
            let messages = try await lab.kubectl("get", "events", "-n", "default", "--field-selector", "reason=AnnounceRefused,involvedObject.name=shop-tcp",
                                                 "-o", "jsonpath={.items[*].message}").output
            return (messages.isEmpty ? nil : messages, messages)
        }
        #expect(event.contains("203.0.113.227") && event.contains("cannot share its IP"), "\(event)")
        for ip in [blog, "203.0.113.227"] { #expect(try await lab.owner(ip) == nil, "\(ip) is answered") }
        // The controller, with its own RBAC, counts the pool's addresses in its status: three taken (two
        // Services share one), one free.
        let counts = try await waitFor("pool sel's status", limit: .seconds(10), interval: .milliseconds(200)) {
            let shown = try await lab.kubectl("get", "ipaddresspools", "sel", "-n", "herald-system",
                                              "-o", "jsonpath={.status.assignedIPv4} {.status.availableIPv4}", check: false).output
            return (shown == "3 1" ? shown : nil, shown)
        }
        #expect(counts == "3 1")
        // Every speaker's ConfigurationState says what it refuses; the controller's is valid.
        @Sendable func states() async throws -> String {
            try await lab.kubectl("get", "configurationstates", "-n", "herald-system", "-o",
                                  #"jsonpath={range .items[*]}{.metadata.name}={.status.result} {end}"#, check: false).output
        }
        let invalid = "controller=Valid speaker-node-1=Invalid speaker-node-2=Invalid speaker-node-3=Invalid "
        _ = try await waitFor("every speaker's ConfigurationState Invalid", limit: .seconds(10), interval: .milliseconds(200)) {
            let shown = try await states()
            return (shown == invalid ? true : nil, shown)
        }
        let summary = try await lab.kubectl("get", "configurationstates", "speaker-node-2", "-n", "herald-system",
                                            "-o", "jsonpath={.status.errorSummary}").output
        #expect(summary.contains("203.0.113.227") && summary.contains("cannot share its IP"), "\(summary)")
        // Owned by its Node, so the garbage collector removes it with the Node.
        let owner = try await lab.kubectl("get", "configurationstates", "speaker-node-2", "-n", "herald-system",
                                          "-o", "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].uid}").output
        let uid = try await lab.kubectl("get", "node", "node-2", "-o", "jsonpath={.metadata.uid}").output
        #expect(owner == "Node/node-2/\(uid)" && !uid.isEmpty, "\(owner)")
        let explained = try await lab.speakerCommand(
            "explain", "--service", "default/shop", "--kubeconfig", "\(lab.directory)/herald-speaker.kubeconfig",
            "--speaker", "http://203.0.113.11:7472", check: false)
        #expect(explained.output.contains("1. node-3               score 50   owner"), "\(explained)")
        #expect(explained.output.contains("2. node-2               score 10"), "\(explained)")
        // The preferred node's speaker stops: the next score takes over; it returns: the IP goes back.
        try await lab.lab("speaker", "kill", "node-3")
        try await lab.waitForOwner(shop, "node-2", limit: .seconds(10))
        try await lab.lab("speaker", "start", "node-3")
        try await lab.waitForOwner(shop, "node-3", limit: .seconds(20))
        // The refused Services go: every component is valid again.
        try await lab.kubectl("delete", "svc", "shop-tcp", "shop-udp", "-n", "default")
        _ = try await waitFor("every ConfigurationState Valid", limit: .seconds(10), interval: .milliseconds(200)) {
            let shown = try await states()
            return (shown == invalid.replacingOccurrences(of: "Invalid", with: "Valid") ? true : nil, shown)
        }
    }

    /// A node declared out of service (the taint of a non-graceful shutdown) or whose network is unavailable
    /// (its NetworkUnavailable condition) gives its IPs to the next node, and takes them back when it is fit.
    @Test func unfitNodesGiveTheirIPsAwayUntilTheyAreFit() async throws {
        try await lab.reset()
        let ip = try await serve("unfit", from: ["203.0.113.212/32"])
        let owner = try #require(try await lab.owner(ip))
        let unfit: [(make: [String], undo: [String])] = [
            (["taint", "node", owner, "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute"],
             ["taint", "node", owner, "node.kubernetes.io/out-of-service-"]),
            (["patch", "node", owner, "--subresource=status", "-p", Self.networkUnavailable("True")],
             ["patch", "node", owner, "--subresource=status", "-p", Self.networkUnavailable("False")]),
        ]
        for state in unfit {
            try await lab.kubectl(state.make)
            do {
                let next = try await waitFor("\(ip) answered by a node other than \(owner)", limit: .seconds(10), interval: .milliseconds(100)) {
                    let now = try await lab.owner(ip)
                    return (now != nil && now != owner ? now : nil, now ?? "nobody")
                }
                #expect(next != owner)
            } catch {
                _ = try? await lab.kubectl(state.undo)
                throw error
            }
            try await lab.kubectl(state.undo)
            try await lab.waitForOwner(ip, owner, limit: .seconds(10))
        }
    }

    static func networkUnavailable(_ status: String) -> String {
        #"{"status": {"conditions": [{"type": "NetworkUnavailable", "status": "\#(status)", "reason": "LabTest", "message": "set by a lab test"}]}}"#
    }

    @Test func servicesSharingAnIPHaveOneOwner() async throws {
        try await lab.reset()
        try await lab.apply(pool("web", ["203.0.113.230-203.0.113.231"]))
        let shared = ["metallb.io/allow-shared-ip": "shop", "metallb.io/loadBalancerIPs": "203.0.113.231"]
        try await lab.apply(service("front", port: 80, annotations: shared))
        try await lab.apply(service("back", port: 443, annotations: shared))
        try await lab.lab("endpoints", "front", "node-1")
        try await lab.lab("endpoints", "back", "node-2")
        #expect(try await lab.ingress("front") == "203.0.113.231")
        #expect(try await lab.ingress("back") == "203.0.113.231")
        try await lab.settle()
        var announcing = 0.0
        for node in lab.nodes { announcing += try #require(try await lab.metric("herald_speaker_announced_ips", on: node)) }
        #expect(announcing == 1)
        let probes = try await lab.probe("203.0.113.231", count: 50, intervalMilliseconds: 10)
        #expect(probes["unanswered"] == "0" && probes["doubled"] == "0", "\(probes)")
        #expect(probes["replies"]?.split(separator: ",").count == 1, "more than one MAC answered: \(probes)")
    }

    // MARK: Outages

    @Test func answersContinueWhileTheAPIServerIsAwayAndStateReconcilesAfter() async throws {
        try await lab.reset()
        let ip = try await serve("steady")
        let owner = try #require(try await lab.owner(ip))
        try await lab.during("apiserver", "stop", undo: "apiserver", "start") {
            // 30 s without the apiserver, a probe every 100 ms: every one answered, by the same node.
            let probes = try await lab.probe(ip, count: 300, intervalMilliseconds: 100)
            #expect(probes["unanswered"] == "0", "\(probes)")
            #expect(probes["replies"] == "\(try lab.mac(of: owner)):300", "\(probes)")
        }
        // Reconciled: a Service made after the outage is assigned and answered; the first kept its owner.
        try await lab.apply(service("after"))
        try await lab.lab(["endpoints", "after"] + lab.nodes)
        let second = try await lab.ingress("after")
        _ = try await waitFor("\(second) answered", limit: .seconds(30), interval: .milliseconds(200)) {
            let owner = try await lab.owner(second)
            return (owner, "nobody")
        }
        #expect(try await lab.owner(ip) == owner)
    }

    /// The owner's speaker crashes while the apiserver is away: another node takes the IP over from gossip
    /// alone. Restarted, still without the apiserver, the speaker cannot list anything, so it stays out of the
    /// membership (were it to join, it would be handed back the IP it ranks first for and could not answer):
    /// the successor keeps answering throughout. When the apiserver returns, it lists, joins, and takes its
    /// IP back.
    @Test func aSpeakerRestartedWithoutTheAPIServerStaysOutUntilItCanServe() async throws {
        try await lab.reset()
        let ip = try await serve("blind")
        let owner = try #require(try await lab.owner(ip))
        try await lab.during("apiserver", "stop", undo: "apiserver", "start") {
            try await lab.lab("speaker", "kill", owner)
            let successor = try await waitFor("a successor", limit: .seconds(10), interval: .milliseconds(50)) {
                let now = try await lab.owner(ip)
                return (now.flatMap { $0 != owner ? $0 : nil }, "owner \(now ?? "none")")
            }
            try await lab.lab("speaker", "start", owner)
            // 8 s, a probe every 50 ms: the restarted speaker's log says why it waits after 5 s.
            let probes = try await lab.probe(ip, count: 160, intervalMilliseconds: 50)
            #expect(probes["unanswered"] == "0" && probes["doubled"] == "0", "\(probes)")
            #expect(probes["replies"] == "\(try lab.mac(of: successor)):160", "\(probes)")
            #expect(lab.speakerLogLines(containing: ["not joining gossip until the API objects are listed"]).contains { $0.hasPrefix(owner + ":") })
        }
        try await lab.waitForOwner(ip, owner, limit: .seconds(30))
        try await lab.settle()
    }

    // MARK: Partitions and loss

    /// A partition gives the IP an owner on each side; when the wire comes back but gossip stays cut, only the
    /// owners' conflict probes (ARP probes, or DAD solicitations for IPv6) can find the second owner, and the
    /// one the election prefers keeps the IP. Then gossip heals too, and nothing moves.
    @Test(arguments: ["IPv4", "IPv6"])
    func aHealedPartitionEndsWithOneOwner(family: String) async throws {
        try await lab.reset()
        let ip = try await serve("split-\(family.lowercased())", family: family)
        #expect(ip.contains(":") == (family == "IPv6"), "\(ip) is not \(family)")
        let owner = try #require(try await lab.owner(ip))
        try await lab.during("partition", owner, undo: "heal") {
            // Each side elects an owner: the client, which reaches both, hears two MACs.
            _ = try await waitFor("two owners while partitioned", limit: .seconds(20), interval: .milliseconds(100)) {
                let probes = try await lab.probe(ip, count: 10, intervalMilliseconds: 20)
                return ((Int(probes["doubled"] ?? "") ?? 0) > 0 ? probes : nil, "\(probes)")
            }
            // The wire between the two sides back, gossip still cut (a firewall on the gossip port).
            try await lab.lab("partition", "--gossip-only", owner)
            let single = try await waitFor("one owner, found by conflict probes", limit: .seconds(15), interval: .milliseconds(10)) {
                let probes = try await lab.probe(ip, count: 5, intervalMilliseconds: 20)
                return (probes["doubled"] == "0" && probes["unanswered"] == "0" ? probes : nil, "\(probes)")
            }
            #expect(single["replies"]?.hasPrefix(try lab.mac(of: owner)) == true, "\(single)")
        }
        // And it stays that way through a yield's hold and the membership's own heal.
        let after = try await lab.probe(ip, count: 100, intervalMilliseconds: 50)
        #expect(after["doubled"] == "0" && after["unanswered"] == "0", "\(after)")
        #expect(after["replies"] == "\(try lab.mac(of: owner)):100", "\(after)")
    }

    /// Gossip cut between the owner and the others (a firewall on port 7946), ARP still passing: each side
    /// thinks it owns the IP, and only the wire can settle it.
    @Test func ownersThatCannotGossipSettleOnTheWire() async throws {
        try await lab.reset()
        let ip = try await serve("wire")
        let owner = try #require(try await lab.owner(ip))
        try await lab.during("partition", "--gossip-only", owner, undo: "heal") {
            // The others declare the owner dead and one of them announces; the two meet on the wire. The owner
            // ranks first for the IP, so it keeps it and the other yields, which an IPConflict Event reports.
            let events = try await waitFor("an IPConflict Event", limit: .seconds(30), interval: .milliseconds(200)) {
                let output = try await lab.kubectl("get", "events", "-n", "default", "--field-selector", "reason=IPConflict,involvedObject.name=wire",
                                                   "-o", "jsonpath={range .items[*]}{.type} {.message}{\"\\n\"}{end}", check: false).output
                return (output.contains("stops announcing it") ? output : nil, output)
            }
            #expect(events.contains("Warning \(ip) is also announced by node \"\(owner)\""), "\(events)")
            // While gossip stays cut, the client hears one MAC: the owner's.
            let probes = try await lab.probe(ip, count: 100, intervalMilliseconds: 50)
            #expect(probes["doubled"] == "0" && probes["unanswered"] == "0", "\(probes)")
            #expect(probes["replies"] == "\(try lab.mac(of: owner)):100", "\(probes)")
        }
    }

    /// 10% of the gossip datagrams into every node dropped for three minutes: suspicions come and are refuted,
    /// nobody is declared dead, no IP moves, and the client's ARP is answered by one MAC throughout. (No delay
    /// is added: this kernel has no delaying qdisc; the simulator covers delay and reordering.)
    @Test func tenPercentGossipLossMovesNothingAndTheClientNeverHearsTwoMACs() async throws {
        try await lab.reset()
        try await lab.apply(pool("web", ["203.0.113.200-203.0.113.209"]))
        for name in ["l1", "l2", "l3"] {
            try await lab.apply(service(name))
            try await lab.lab(["endpoints", name] + lab.nodes)
        }
        let ip = try await lab.ingress("l1")
        try await lab.settle()
        func total(_ names: String...) async throws -> Double {
            var total = 0.0
            for node in lab.nodes {
                for name in names { total += try #require(try await lab.metric(name, on: node)) }
            }
            return total
        }
        func moves() async throws -> Double {
            try await total("herald_speaker_ownership_gained_total", "herald_speaker_ownership_lost_total")
        }
        let before = try await moves()
        let suspicionsBefore = try await total("herald_gossip_member_changes_total{status=\"suspect\"}")
        // Three minutes, a probe every 100 ms.
        let probes = try await lab.during("loss", "10", undo: "loss", "0") {
            try await lab.probe(ip, count: 1800, intervalMilliseconds: 100)
        }
        #expect(probes["unanswered"] == "0" && probes["doubled"] == "0", "\(probes)")
        #expect(probes["replies"]?.split(separator: ",").count == 1, "\(probes)")
        let after = try await moves()
        let history = lab.speakerLogLines(containing: ["member dead", "did not run", "ownership", "yielding", "announcing it again"])
        #expect(after == before, "an IP changed owner under 10% loss:\n\(history.joined(separator: "\n"))")
        #expect(try await total("herald_gossip_member_changes_total{status=\"suspect\"}") > suspicionsBefore,
                "the loss caused no suspicion at all: was it applied?")
    }
}
