import Foundation
import HeraldTestSupport
import Testing

/// Herald as users run it: the image built from the Dockerfile, installed with `kubectl apply -k` of an
/// overlay of `manifests/`, running as pods on real kubelets (scripts/cluster), with real EndpointSlices
/// from the real endpoint controllers and traffic through kube-proxy to backend pods. Every check is made as
/// a user or the network would make it: kubectl, the client's ARP and HTTP. Each test leaves the cluster as
/// it found it (Herald installed, every pod Ready), so the order of the tests does not matter.
@Suite(.serialized, .needsRoot, .enabled(if: RealCluster.current != nil, "no cluster: scripts/run-tests starts one (scripts/cluster up and install)"))
struct ClusterTests {
    let cluster = RealCluster.current!

    // MARK: Herald's pods

    struct HeraldPod: Equatable {
        var name: String
        var component: String
        var node: String
        var ready: Bool
        var restarts: Int
        var hostNetwork: Bool
    }

    func heraldPods() async throws -> [HeraldPod] {
        let list = try await cluster.json("pods", "-n", "herald-system", "-l", "app.kubernetes.io/name=herald")
        return (list["items"] as? [[String: Any]] ?? []).compactMap { item in
            let metadata = item["metadata"] as? [String: Any] ?? [:]
            let spec = item["spec"] as? [String: Any] ?? [:]
            let status = item["status"] as? [String: Any] ?? [:]
            guard metadata["deletionTimestamp"] == nil else { return nil }  // terminating: on its way out
            let containers = status["containerStatuses"] as? [[String: Any]] ?? []
            return HeraldPod(
                name: metadata["name"] as? String ?? "",
                component: (metadata["labels"] as? [String: String])?["app.kubernetes.io/component"] ?? "",
                node: spec["nodeName"] as? String ?? "",
                ready: !containers.isEmpty && containers.allSatisfy { $0["ready"] as? Bool == true },
                restarts: containers.reduce(0) { $0 + ($1["restartCount"] as? Int ?? 0) },
                hostNetwork: spec["hostNetwork"] as? Bool ?? false)
        }
    }

    /// Waits until Herald runs as installed: two controller pods and one speaker on every node, all Ready.
    @discardableResult
    func waitForHerald(limit: Duration = .seconds(120)) async throws -> [HeraldPod] {
        try await waitFor("2 controllers and a speaker on each of \(cluster.nodes), all Ready", limit: limit, interval: .milliseconds(500)) {
            let pods = try await heraldPods()
            let controllers = pods.filter { $0.component == "controller" }
            let speakers = pods.filter { $0.component == "speaker" }
            let done = controllers.count == 2 && speakers.count == cluster.nodeCount
                && Set(speakers.map(\.node)) == Set(cluster.nodes) && pods.allSatisfy(\.ready)
            return (done ? pods : nil, pods.map { "\($0.name)@\($0.node) ready=\($0.ready)" }.joined(separator: ", "))
        }
    }

    /// The log lines of every Herald pod that say the apiserver refused it something.
    func refusals() async throws -> [String] {
        var lines: [String] = []
        for pod in try await heraldPods() {
            let log = try await cluster.kubectl("logs", "-n", "herald-system", pod.name, check: false).output
            lines += log.split(separator: "\n").filter { line in
                ["forbidden", "Forbidden", " 403", "status=403", "permission denied", "Operation not permitted", "errno=1 "].contains { line.contains($0) }
            }.map { "\(pod.name): \($0)" }
        }
        return lines
    }

    func expectCleanLogs() async throws {
        let refused = try await refusals()
        #expect(refused.isEmpty, "permission errors in Herald's logs:\n\(refused.joined(separator: "\n"))")
    }

    func leaseHolder() async throws -> String {
        try await cluster.kubectl("get", "lease", "-n", "herald-system", "herald-controller", "-o", "jsonpath={.spec.holderIdentity}", check: false)
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: The application

    static let pool = packageRoot.appendingPathComponent("manifests/samples/ipaddresspool.yaml").path
    static let web = packageRoot.appendingPathComponent("scripts/images/web.yaml").path

    /// The sample pool and L2Advertisement, the web Deployment (two backend pods) and its LoadBalancer
    /// Service: the Service's IP, once a node answers ARP for it and an HTTP request through it is answered.
    func serveWeb() async throws -> String {
        try await cluster.kubectl("apply", "-f", Self.pool)
        try await cluster.kubectl("apply", "-f", Self.web)
        try await cluster.kubectl("scale", "deployment/web", "--replicas", "2")
        try await cluster.kubectl("rollout", "status", "deployment/web", "--timeout", "120s", limit: .seconds(130))
        let ip = try await cluster.ingress("web")
        try await cluster.settle()
        try await cluster.waitForOwner(ip)
        try await answered(ip)
        return ip
    }

    /// Another LoadBalancer Service in front of the web pods.
    static func webService(_ name: String, externalTrafficPolicy: String = "Cluster") -> String {
        """
        apiVersion: v1
        kind: Service
        metadata: {name: \(name), namespace: default}
        spec:
          type: LoadBalancer
          externalTrafficPolicy: \(externalTrafficPolicy)
          selector: {app: web}
          ports: [{name: http, port: 80, targetPort: http}]
        """
    }

    /// Waits until an HTTP request through `ip` is answered (after a change: the client's neighbour entry and
    /// kube-proxy's rules follow within seconds, not at once).
    func answered(_ ip: String) async throws {
        _ = try await waitFor("an HTTP answer through \(ip)", limit: .seconds(30), interval: .milliseconds(200)) {
            let answer = try await cluster.http(ip)
            return (answer, answer ?? "no answer")
        }
    }

    func webPods() async throws -> [(name: String, node: String)] {
        let list = try await cluster.json("pods", "-n", "default", "-l", "app=web")
        return (list["items"] as? [[String: Any]] ?? []).compactMap { item in
            let metadata = item["metadata"] as? [String: Any] ?? [:]
            guard metadata["deletionTimestamp"] == nil else { return nil }
            let ready = ((item["status"] as? [String: Any])?["conditions"] as? [[String: Any]] ?? [])
                .contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" }
            guard ready, let name = metadata["name"] as? String, let node = (item["spec"] as? [String: Any])?["nodeName"] as? String else { return nil }
            return (name, node)
        }
    }

    // MARK: Installation

    @Test func theBaseRunsAsPodsWithOnlyTheManifestsPrivileges() async throws {
        let pods = try await waitForHerald()
        let speakers = pods.filter { $0.component == "speaker" }, controllers = pods.filter { $0.component == "controller" }
        #expect(speakers.allSatisfy { $0.hostNetwork }, "speakers run on the node's network")
        #expect(!controllers.contains { $0.hostNetwork })
        #expect(pods.allSatisfy { $0.restarts == 0 }, "container restarts: \(pods.filter { $0.restarts > 0 })")
        // One leader: the Lease names one of the two controller pods.
        let holder = try await leaseHolder()
        #expect(controllers.map(\.name).contains(holder), "Lease holder \(holder) is not a controller pod: \(controllers.map(\.name))")
        // The processes themselves, as the kernel sees them: the speaker root with CAP_NET_RAW alone (bit 13),
        // the controller uid 65534 with no capability.
        for node in cluster.nodes {
            for pid in try await cluster.cluster("pids", node, "herald-speaker").output.split(separator: "\n") {
                let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
                #expect(Self.field("CapEff", in: status) == "0000000000002000", "\(node) speaker: \(status)")
                #expect(Self.field("CapBnd", in: status) == "0000000000002000")
                #expect(Self.field("Uid", in: status)?.hasPrefix("0\t") == true)
                #expect(Self.field("NoNewPrivs", in: status) == "1")
            }
            for pid in try await cluster.cluster("pids", node, "herald-controller").output.split(separator: "\n") {
                let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
                #expect(Self.field("CapEff", in: status) == "0000000000000000", "\(node) controller: \(status)")
                #expect(Self.field("Uid", in: status)?.hasPrefix("65534\t") == true)
            }
        }
        let speakerProcesses = try await cluster.cluster("pids", "all", "herald-speaker").output.split(separator: "\n").count
        let controllerProcesses = try await cluster.cluster("pids", "all", "herald-controller").output.split(separator: "\n").count
        #expect(speakerProcesses == cluster.nodeCount, "one speaker process per node")
        #expect(controllerProcesses == 2, "two controller processes")
        try await expectCleanLogs()
    }

    static func field(_ name: String, in status: String) -> String? {
        status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    // MARK: Traffic through kube-proxy

    @Test func httpThroughTheExternalIPIsAnsweredByTheBackendPods() async throws {
        try await waitForHerald()
        let ip = try await serveWeb()
        let external = try await cluster.kubectl("get", "svc", "web").output
        #expect(external.contains(ip), "kubectl get svc shows the EXTERNAL-IP: \(external)")
        var answeredBy: Set<String> = []
        for _ in 0..<30 {
            let answer = try #require(try await cluster.http(ip), "a request to \(ip) was not answered")
            answeredBy.insert(try #require(RealCluster.backend(answer)).pod)
        }
        // externalTrafficPolicy: Cluster: the owner's kube-proxy spreads the requests over both pods.
        #expect(answeredBy == Set(try await webPods().map(\.name)), "answered by \(answeredBy)")
        let owner = try #require(try await cluster.owner(ip))
        let status = try await waitFor("a ServiceL2Status naming \(owner)", limit: .seconds(30), interval: .milliseconds(300)) {
            let node = try await cluster.kubectl("get", "servicel2statuses", "-n", "herald-system", "-l", "metallb.io/service-name=web",
                                                 "-o", "jsonpath={.items[*].status.node}", check: false).output
            return (node == owner ? node : nil, node)
        }
        #expect(status == owner)
        try await expectCleanLogs()
    }

    @Test func withExternalTrafficPolicyLocalTheOwnerFollowsThePod() async throws {
        try await waitForHerald()
        _ = try await serveWeb()
        try await cluster.apply(Self.webService("web-local", externalTrafficPolicy: "Local"))
        try await restoring({
            try await cluster.kubectl(["uncordon"] + cluster.nodes)
            try await cluster.kubectl("delete", "svc", "web-local", "--ignore-not-found")
            try await cluster.kubectl("scale", "deployment/web", "--replicas", "2")
        }) {
            let ip = try await cluster.ingress("web-local")
            try await cluster.kubectl("scale", "deployment/web", "--replicas", "1")
            let pod = try await waitFor("one web pod", limit: .seconds(60), interval: .milliseconds(300)) {
                let pods = try await webPods()
                return (pods.count == 1 ? pods[0] : nil, "\(pods)")
            }
            // Only the node with the ready endpoint may announce, and its kube-proxy sends to its own pod.
            #expect(try await cluster.waitForOwner(ip, among: [pod.node]) == pod.node)
            let first = try await answer(through: ip, from: pod.name)
            #expect(RealCluster.backend(first)?.node == pod.node)
            // The pod moves to another node: the IP follows it.
            try await cluster.kubectl("cordon", pod.node)
            try await cluster.kubectl("delete", "pod", pod.name, "--wait=false")
            let moved = try await waitFor("the web pod on another node", limit: .seconds(90), interval: .milliseconds(300)) {
                let pods = try await webPods()
                return (pods.count == 1 && pods[0].node != pod.node ? pods[0] : nil, "\(pods)")
            }
            #expect(try await cluster.waitForOwner(ip, among: [moved.node]) == moved.node)
            let after = try await answer(through: ip, from: moved.name)
            #expect(RealCluster.backend(after)?.node == moved.node)
        }
        try await expectCleanLogs()
    }

    /// Waits for an HTTP answer through `ip` that `pod` gave.
    func answer(through ip: String, from pod: String) async throws -> String {
        try await waitFor("an answer from \(pod)", limit: .seconds(30), interval: .milliseconds(200)) {
            let answer = try await cluster.http(ip)
            return (answer.flatMap(RealCluster.backend)?.pod == pod ? answer : nil, answer ?? "no answer")
        }
    }

    /// Runs `body`, then `restore`, also when `body` throws: the next test finds the cluster as this one did.
    func restoring<T>(_ restore: () async throws -> Void, _ body: () async throws -> T) async throws -> T {
        let result: T
        do { result = try await body() } catch {
            try? await restore()
            throw error
        }
        try await restore()
        return result
    }

    /// Replaces every Herald pod whose containers restarted, so no later test finds a restart it did not make.
    func replaceRestartedPods() async throws {
        let restarted = try await heraldPods().filter { $0.restarts > 0 }.map(\.name)
        if !restarted.isEmpty { try await cluster.kubectl(["delete", "pod", "-n", "herald-system"] + restarted) }
        try await waitForHerald()
    }

    // MARK: Failures

    @Test func aKilledSpeakerContainerIsReplacedAndTheClientsRequestsResume() async throws {
        try await waitForHerald()
        let ip = try await serveWeb()
        let before = try await heraldPods()
        try await restoring(replaceRestartedPods) {
            let result = try await cluster.failover(ip)
            print("cluster failover, speaker container killed: \(result)")
            // The IP is announced again: by a successor, or by the speaker kubelet restarted (within about a
            // second, which can be before the others find it dead). HTTP never needed the speaker: the node and
            // its kube-proxy live on.
            let old = try #require(result["old"])
            #expect(result["new"] != "none", "nobody announced \(ip) again: \(result)")
            #expect(result["arp_gap_ms"] != "none", "the ARP probes did not run: \(result)")
            #expect(result["http_ms"] != "none", "no HTTP answer after the kill: \(result)")
            // kubelet restarts the killed container; nothing else restarted.
            let killed = try #require(before.first { $0.component == "speaker" && $0.node == old })
            let after = try await waitFor("\(killed.name) restarted and Ready", limit: .seconds(90), interval: .milliseconds(500)) {
                let pods = try await heraldPods()
                let pod = pods.first { $0.name == killed.name }
                return (pod.map { $0.restarts == killed.restarts + 1 && $0.ready } == true ? pods : nil, "\(pod as Any)")
            }
            let others = after.filter { $0.name != killed.name }
            #expect(others.allSatisfy { pod in pod.restarts == before.first { $0.name == pod.name }?.restarts }, "\(others)")
            try await cluster.waitForOwner(ip)
            try await answered(ip)
        }
    }

    @Test func aNodeWhoseLinkIsCutIsReplacedAndTheClientsRequestsResume() async throws {
        try await waitForHerald()
        let ip = try await serveWeb()
        let before = try await heraldPods()
        let old = try await restoring({ for node in cluster.nodes { try await cluster.cluster("mend", node) } }) {
            let result = try await cluster.failover(ip, "--cut")
            print("cluster failover, owner's link cut: \(result)")
            let old = try #require(result["old"]), new = try #require(result["new"])
            #expect(new != "none" && new != old, "no other node announced \(ip): \(result)")
            #expect(result["http_ms"] != "none", "no HTTP answer after the cut: \(result)")
            return old
        }
        _ = try await waitFor("\(old) Ready again", limit: .seconds(90), interval: .milliseconds(500)) {
            let ready = try await cluster.kubectl("get", "node", old, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}", check: false).output
            return (ready == "True" ? ready : nil, ready)
        }
        let pods = try await waitForHerald()
        #expect(pods.map(\.name).sorted() == before.map(\.name).sorted(), "the same pods run after the cut")
        #expect(pods.allSatisfy { pod in pod.restarts == before.first { $0.name == pod.name }?.restarts },
                "container restarts after the cut: \(pods) (before: \(before))")
        try await cluster.waitForOwner(ip)
        try await answered(ip)
    }

    @Test func aRolloutRestartOfTheSpeakersLosesNoARPProbeAndNoRequest() async throws {
        try await waitForHerald()
        let ip = try await serveWeb()
        let trace = "\(cluster.directory)/rollout-probes.txt"
        let probes = try cluster.startProbing(ip, count: 18_000, intervalMilliseconds: 10, trace: trace)
        let requests = try cluster.startRequests(ip, seconds: 180)
        try await cluster.kubectl("rollout", "restart", "daemonset/herald-speaker", "-n", "herald-system")
        try await cluster.kubectl("rollout", "status", "daemonset/herald-speaker", "-n", "herald-system", "--timeout", "150s", limit: .seconds(160))
        let pods = try await waitForHerald()
        try await cluster.waitForOwner(ip)
        try await probes.stop()
        let requestsStatus = try await requests.stop(limit: .seconds(15))
        let probed = RealCluster.pairs(probes.logText), requested = RealCluster.pairs(requests.logText)
        print("rollout restart of the speakers: ARP \(probed), HTTP \(requested)")
        #expect(Int(probed["probes"] ?? "") ?? 0 > 100, "the probes ran: \(probes.logText)")
        // Make-before-break: every hand-over (each speaker leaving, each new pod taking its IPs back) overlaps
        // the old and the new owner, so no probe should go unanswered. A broken hand-over leaves the IP silent
        // for a failure detection, 400 ms and more; on these two loaded cores an answer (or the probe's own
        // receiving thread) is now and then held up past the probe's 50 ms grace: 7 probes in a row, once in
        // six runs. The test fails on a silence of 200 ms; every miss is printed with the probes around it.
        let unanswered = Int(probed["unanswered"] ?? "") ?? -1, gap = Double(probed["longest_gap_ms"] ?? "") ?? -1
        if unanswered != 0 { print("rollout restart: \(unanswered) unanswered ARP probes; around them:\n\(Self.misses(in: trace))") }
        #expect(unanswered >= 0 && gap >= 0 && gap < 200, "the IP went unanswered during the rollout: \(probes.logText)\n\(Self.misses(in: trace))")
        #expect(
            Int(requested["requests"] ?? "") ?? 0 > 20,
            "the requests ran (exit status \(requestsStatus), \(requests.arguments)): \(requests.logText.suffix(2_000))")
        #expect(requested["failed"] == "0", "failed HTTP requests during the rollout: \(requests.logText)")
        #expect(pods.allSatisfy { $0.restarts == 0 })
        try await expectCleanLogs()
    }

    /// The probe trace's lines around each unanswered probe ("TIME -"), at most 40.
    static func misses(in trace: String) -> String {
        let lines = ((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "").split(separator: "\n")
        let missed = lines.indices.filter { lines[$0].hasSuffix(" -") }
        let shown = Set(missed.flatMap { max(0, $0 - 2)...min(lines.count - 1, $0 + 2) }).sorted()
        return shown.prefix(40).map { "  \(lines[$0])" }.joined(separator: "\n")
    }

    @Test func deletingTheLeadingControllerPodMovesTheLeaseAndMovesNoIP() async throws {
        let pods = try await waitForHerald()
        _ = try await serveWeb()
        let before = try await cluster.serviceIPs()
        let holder = try await leaseHolder()
        #expect(pods.contains { $0.name == holder && $0.component == "controller" })
        try await cluster.kubectl("delete", "pod", "-n", "herald-system", holder)
        let next = try await waitFor("another controller pod holding the Lease", limit: .seconds(60), interval: .milliseconds(300)) {
            let now = try await leaseHolder()
            return (!now.isEmpty && now != holder ? now : nil, now)
        }
        #expect(try await heraldPods().contains { $0.name == next && $0.component == "controller" })
        try await cluster.apply(Self.webService("web-new"))
        let ip = try await cluster.ingress("web-new")
        #expect(!before.values.joined().contains(ip), "the new Service got a fresh IP")
        var after = try await cluster.serviceIPs()
        after["default/web-new"] = nil
        #expect(after == before, "an IP moved when the leader changed")
        try await cluster.kubectl("delete", "svc", "web-new")
        try await waitForHerald()
        try await expectCleanLogs()
    }

    @Test func deleteDashKRemovesEverythingTheBaseMadeAndReapplyKeepsEveryIP() async throws {
        try await waitForHerald()
        let ip = try await serveWeb()
        let before = try await cluster.serviceIPs()
        try await expectCleanLogs()
        // Back as a user installs it, with the pool applied again (the CRDs take it with them); also when a
        // check below fails, so the tests after this one find Herald.
        let reinstall: () async throws -> Void = {
            try await cluster.cluster("install", limit: .seconds(300))
            try await cluster.kubectl("apply", "-f", Self.pool)
            try await waitForHerald()
        }
        try await restoring(reinstall) {
            try await uninstallChecks(ip: ip, before: before)
        }
        try await cluster.waitForOwner(ip)
        #expect(try await cluster.serviceIPs() == before, "the reinstalled controller kept every IP")
        try await answered(ip)
        try await expectCleanLogs()
    }

    func uninstallChecks(ip: String, before: [String: [String]]) async throws {
        try await cluster.cluster("uninstall", limit: .seconds(200))
        let kinds = [
            ["namespace", "herald-system"],
            ["crd", "ipaddresspools.metallb.io", "l2advertisements.metallb.io", "servicel2statuses.metallb.io",
             "configurationstates.metallb.io"],
            ["clusterrole", "herald:controller", "herald:speaker"],
            ["clusterrolebinding", "herald:controller", "herald:speaker"],
        ]
        for kind in kinds {
            _ = try await waitFor("\(kind.joined(separator: " ")) gone", limit: .seconds(120), interval: .milliseconds(500)) {
                let left = try await cluster.kubectl(["get"] + kind + ["--ignore-not-found", "-o", "name"], check: false)
                return (left.succeeded && left.output.isEmpty ? true : nil, left.description)
            }
        }
        #expect(try await cluster.owner(ip) == nil, "nobody answers once Herald is gone")
        #expect(try await cluster.serviceIPs() == before, "uninstalling cleared no Service's IP")
    }
}
