import Foundation

/// The real cluster `scripts/cluster up` made (scripts/run-tests starts one for the `ClusterTests` run and
/// removes it after): a control plane, N nodes each with containerd, kubelet and kube-proxy, Herald installed
/// from `manifests/` as a user installs it, and a client namespace on the nodes' LAN. Tests drive it as an
/// operator would: kubectl, the client's ARP and HTTP, and faults through `scripts/cluster`.
public struct RealCluster: Sendable {
    public let directory: String
    public let nodeCount: Int

    /// The running cluster named by `HERALD_CLUSTER_DIR`, or nil.
    public static var current: RealCluster? {
        guard let directory = ProcessInfo.processInfo.environment["HERALD_CLUSTER_DIR"],
            FileManager.default.fileExists(atPath: directory + "/control-plane/kubeconfig"),
            let text = try? String(contentsOfFile: directory + "/nodes", encoding: .utf8),
            let count = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return nil }
        return RealCluster(directory: directory, nodeCount: count)
    }

    public var kubeconfig: String { directory + "/control-plane/kubeconfig" }
    public var nodes: [String] { (1...nodeCount).map { "node-\($0)" } }
    /// Where `scripts/cluster install` wrote the user's overlay of `manifests/`.
    public var overlay: String { directory + "/herald-install" }

    /// `scripts/cluster ARGUMENTS…`.
    @discardableResult
    public func cluster(
        _ arguments: String..., limit: Duration = .seconds(120), check: Bool = true
    ) async throws -> CommandResult {
        try await cluster(arguments, limit: limit, check: check)
    }

    @discardableResult
    public func cluster(
        _ arguments: [String], limit: Duration = .seconds(120), check: Bool = true
    ) async throws -> CommandResult {
        try await Command.run(
            [packageRoot.appendingPathComponent("scripts/cluster").path] + arguments, limit: limit, check: check)
    }

    @discardableResult
    public func kubectl(
        _ arguments: String..., limit: Duration = .seconds(120), check: Bool = true
    ) async throws -> CommandResult {
        try await kubectl(arguments, limit: limit, check: check)
    }

    @discardableResult
    public func kubectl(
        _ arguments: [String], limit: Duration = .seconds(120), check: Bool = true
    ) async throws -> CommandResult {
        try await Command.run(["kubectl", "--kubeconfig", kubeconfig] + arguments, limit: limit, check: check)
    }

    /// `kubectl get ARGUMENTS… -o json`, parsed.
    public func json(_ arguments: String...) async throws -> [String: Any] {
        let output = try await kubectl(["get"] + arguments + ["-o", "json"]).output
        guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw CommandError(
                command: arguments, result: CommandResult(status: 0, output: output, errorOutput: "not a JSON object"))
        }
        return object
    }

    /// `kubectl apply` of a YAML document (several, separated by `---`).
    public func apply(_ yaml: String) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "herald-cluster-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try await kubectl("apply", "-f", file.path)
    }

    /// Waits for the Service's first ingress IP.
    public func ingress(
        _ service: String, namespace: String = "default", limit: Duration = .seconds(60)
    ) async throws -> String {
        try await waitFor("an IP for \(namespace)/\(service)", limit: limit, interval: .milliseconds(200)) {
            let result = try await kubectl(
                "get", "svc", service, "-n", namespace, "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}",
                check: false)
            let ip = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            return (ip.isEmpty ? nil : ip, result.description)
        }
    }

    /// The node whose MAC answers the client's ARP for `ip`, or nil when nobody answers.
    public func owner(_ ip: String) async throws -> String? {
        let result = try await cluster("owner", ip, check: false)
        return result.succeeded ? result.output.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// Waits until one of `nodes` (any node: nil) answers the client's ARP for `ip`, and returns it.
    @discardableResult
    public func waitForOwner(
        _ ip: String, among nodes: Set<String>? = nil, limit: Duration = .seconds(60)
    ) async throws -> String {
        try await waitFor(
            "\(ip) answered by \(nodes.map { $0.sorted().joined(separator: " or ") } ?? "a node")", limit: limit,
            interval: .milliseconds(200)
        ) {
            let owner = try await owner(ip)
            let wanted = owner.map { owner in nodes.map { $0.contains(owner) } ?? !owner.hasPrefix("unknown") } ?? false
            return (wanted ? owner : nil, owner ?? "nobody")
        }
    }

    /// Every speaker ready and seeing all the others, each LoadBalancer IP announced by exactly one node
    /// (`scripts/cluster settle`): no hand-over still under way.
    public func settle(limit: Int = 60) async throws {
        try await cluster("settle", "\(limit)", limit: .seconds(limit + 10))
    }

    /// One HTTP request from the client: the backend's answer ("pod=… node=…"), or nil.
    public func http(_ ip: String) async throws -> String? {
        let result = try await cluster("http", ip, check: false)
        return result.succeeded ? result.output.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// The backend's answer as a pair, from "pod=NAME node=NODE".
    public static func backend(_ answer: String) -> (pod: String, node: String)? {
        let pairs = pairs(answer)
        guard let pod = pairs["pod"], let node = pairs["node"] else { return nil }
        return (pod, node)
    }

    /// `scripts/cluster failover IP [--cut|--kill-node]` as its key=value pairs.
    public func failover(_ ip: String, _ how: String? = nil) async throws -> [String: String] {
        let result = try await cluster(["failover", ip] + (how.map { [$0] } ?? []), check: false)
        return Self.pairs(result.output)
    }

    /// ARP probes from the client in the background (scripts/lib/neighbour-probe, at most `count`), until stopped;
    /// with `trace`, one line per probe there (its time and the MACs that answered it).
    public func startProbing(
        _ ip: String, count: Int, intervalMilliseconds: Int, trace: String? = nil
    ) throws -> BackgroundProcess {
        try BackgroundProcess(
            [
                packageRoot.appendingPathComponent("scripts/cluster").path, "exec", "client",
                packageRoot.appendingPathComponent("scripts/lib/neighbour-probe").path,
                "eth0", "203.0.113.2", ip, "\(count)", "\(intervalMilliseconds)",
            ] + (trace.map { [$0] } ?? []))
    }

    /// HTTP requests from the client every 50 ms in the background (`scripts/cluster http-watch`), until stopped.
    public func startRequests(_ ip: String, seconds: Int) throws -> BackgroundProcess {
        try BackgroundProcess([
            packageRoot.appendingPathComponent("scripts/cluster").path, "http-watch", ip, "\(seconds)",
        ])
    }

    /// Every Service's ingress IPs, keyed by namespace/name.
    public func serviceIPs() async throws -> [String: [String]] {
        let list = try await json("svc", "-A")
        var ips: [String: [String]] = [:]
        for item in list["items"] as? [[String: Any]] ?? [] {
            let metadata = item["metadata"] as? [String: Any] ?? [:]
            let ingress =
                ((item["status"] as? [String: Any])?["loadBalancer"] as? [String: Any])?["ingress"] as? [[String: Any]]
                ?? []
            let found = ingress.compactMap { $0["ip"] as? String }
            if !found.isEmpty { ips["\(metadata["namespace"] ?? "")/\(metadata["name"] ?? "")"] = found }
        }
        return ips
    }

    public static func pairs(_ text: String) -> [String: String] {
        var pairs: [String: String] = [:]
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { pairs[String(parts[0])] = String(parts[1]) }
        }
        return pairs
    }
}
