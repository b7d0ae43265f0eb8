import Foundation

/// The lab `scripts/lab up` made (scripts/run-tests starts one for the `LabTests` run and removes it after):
/// a kube-apiserver, a herald-controller, one herald-speaker per node namespace and a client namespace on one
/// bridge. Tests drive it the way an operator would: YAML through kubectl, signals through `scripts/lab`, and
/// ARP from the client.
public struct LabCluster: Sendable {
    public let directory: String
    public let nodeCount: Int

    /// The running lab named by `HERALD_LAB_DIR`, or nil.
    public static var current: LabCluster? {
        guard let directory = ProcessInfo.processInfo.environment["HERALD_LAB_DIR"],
            FileManager.default.fileExists(atPath: directory + "/cluster/kubeconfig"),
            let text = try? String(contentsOfFile: directory + "/nodes", encoding: .utf8),
            let count = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return nil }
        return LabCluster(directory: directory, nodeCount: count)
    }

    public var kubeconfig: String { directory + "/cluster/kubeconfig" }
    public var nodes: [String] { (1...nodeCount).map { "node-\($0)" } }
    /// The client's addresses on the lab's bridge (scripts/lab: 203.0.113.0/24 and 2001:db8:1ab::/64).
    public static let clientIPv4 = "203.0.113.2"
    public static let clientIPv6 = "2001:db8:1ab::2"
    /// The label every object a lab test makes carries, so `reset` removes exactly those.
    public static let testLabel = "lab.herald.dev/test"

    /// `scripts/lab ARGUMENTS…`.
    @discardableResult
    public func lab(
        _ arguments: String..., limit: Duration = .seconds(60), check: Bool = true
    ) async throws -> CommandResult {
        try await lab(arguments, limit: limit, check: check)
    }

    @discardableResult
    public func kubectl(_ arguments: String..., check: Bool = true) async throws -> CommandResult {
        try await kubectl(arguments, check: check)
    }

    @discardableResult
    public func kubectl(_ arguments: [String], check: Bool = true) async throws -> CommandResult {
        try await Command.run(["kubectl", "--kubeconfig", kubeconfig] + arguments, check: check)
    }

    /// `kubectl apply` of a YAML document (several, separated by `---`).
    public func apply(_ yaml: String) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("herald-lab-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try await kubectl("apply", "-f", file.path)
    }

    /// Runs `body` with a change to the lab in place (`scripts/lab CHANGE…`: an apiserver stopped, a
    /// partition, loss) and undoes it after (`scripts/lab UNDO…`), also when `body` throws.
    @discardableResult
    public func during<T>(_ change: String..., undo: String..., body: () async throws -> T) async throws -> T {
        try await lab(change)
        let result: T
        do { result = try await body() } catch {
            _ = try? await lab(undo)
            throw error
        }
        try await lab(undo)
        return result
    }

    /// Removes what lab tests made (labelled Services, every EndpointSlice the lab wrote, every pool and
    /// L2Advertisement in any namespace, the out-of-service taint), starts any stopped speaker, and waits until
    /// the lab has settled with nothing announced.
    public func reset() async throws {
        try await kubectl("delete", "svc", "-A", "-l", Self.testLabel, "--wait=true")
        try await kubectl("delete", "endpointslices", "-A", "-l", "lab.herald.dev/made-by=lab")
        try await kubectl(
            "delete", "ipaddresspools,l2advertisements,bgppeers,bgpadvertisements,communities", "-A", "--all")
        // A test that declared a node unfit and failed before it undid it.
        try await kubectl("taint", "nodes", "--all", "node.kubernetes.io/out-of-service-", check: false)
        for node in nodes { try await lab("speaker", "start", node) }
        try await settle()
    }

    /// The size of a file now (0 if it does not exist): with `tail(of:from:)`, what a program logs after it.
    public static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    /// What the file holds from byte `offset` on.
    public static func tail(of path: String, from offset: Int) -> String {
        String(decoding: (FileManager.default.contents(atPath: path) ?? Data()).dropFirst(offset), as: UTF8.self)
    }

    /// Every speaker ready and every assigned IP announced by exactly one node (`scripts/lab settle`).
    public func settle(limit: Int = 60) async throws {
        try await lab("settle", "\(limit)", limit: .seconds(limit + 10))
    }

    /// Waits for the Service's first ingress IP.
    public func ingress(_ service: String, namespace: String = "default") async throws -> String {
        try await waitFor("an IP for \(namespace)/\(service)", limit: .seconds(30), interval: .milliseconds(200)) {
            let result = try await kubectl(
                "get", "svc", service, "-n", namespace, "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}",
                check: false)
            let ip = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            return (ip.isEmpty ? nil : ip, result.description)
        }
    }

    /// Waits for the Service to show `count` IPs in its status (a dual-stack Service: two), in status order.
    public func ingresses(_ service: String, namespace: String = "default", count: Int) async throws -> [String] {
        try await waitFor("\(count) IPs for \(namespace)/\(service)", limit: .seconds(30), interval: .milliseconds(200))
        {
            let result = try await kubectl(
                "get", "svc", service, "-n", namespace, "-o",
                "jsonpath={range .status.loadBalancer.ingress[*]}{.ip}{\"\\n\"}{end}", check: false)
            let ips = result.output.split(whereSeparator: \.isNewline).map(String.init)
            return (ips.count == count ? ips : nil, result.description)
        }
    }

    /// The node whose MAC answers the client's ARP (NDP for an IPv6 `ip`) for `ip`, or nil when nobody answers.
    public func owner(_ ip: String) async throws -> String? {
        let result = try await lab("owner", ip, check: false)
        return result.succeeded ? result.output.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// Waits until the client's ARP for `ip` is answered by `node` (nil: by nobody).
    @discardableResult
    public func waitForOwner(_ ip: String, _ node: String?, limit: Duration = .seconds(20)) async throws -> String? {
        try await waitFor("\(ip) answered by \(node ?? "nobody")", limit: limit, interval: .milliseconds(200)) {
            let owner = try await owner(ip)
            return (owner == node ? .some(owner) : nil, owner ?? "nobody")
        }
    }

    /// The MAC of `node`'s eth0, or of another `interface` it was given (`scripts/lab link add`).
    public func mac(of node: String, interface: String = "eth0") throws -> String {
        let index = node.replacingOccurrences(of: "node-", with: "")
        let file = interface == "eth0" ? "node-\(index).mac" : "node-\(index).\(interface).mac"
        return try String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    /// Every speaker stopped (SIGTERM) and started again, with `environment` ("NAME=value") added to what
    /// `scripts/lab` reads (HERALD_LAB_INTERFACES, HERALD_ANNOUNCE_REFRESH_INTERVAL); none: as the lab runs them.
    public func restartSpeakers(environment: [String] = []) async throws {
        for node in nodes {
            try await lab("speaker", "stop", node)
            try await Command.run(
                ["env"] + environment + [
                    packageRoot.appendingPathComponent("scripts/lab").path, "speaker", "start", node,
                ])
        }
    }

    /// `scripts/lab failover IP [--graceful | --carrier IFACE]` as its key=value pairs.
    /// With `carrier`, the owner's link of that name loses its carrier instead of its speaker being stopped.
    public func failover(_ ip: String, graceful: Bool = false, carrier: String? = nil) async throws -> [String: String]
    {
        let how = graceful ? ["--graceful"] : carrier.map { ["--carrier", $0] } ?? []
        let result = try await lab(["failover", ip] + how, check: false)
        return Self.pairs(result.output)
    }

    @discardableResult
    public func lab(
        _ arguments: [String], limit: Duration = .seconds(60), check: Bool = true
    ) async throws -> CommandResult {
        try await Command.run(
            [packageRoot.appendingPathComponent("scripts/lab").path] + arguments, limit: limit, check: check)
    }

    /// ARP probes (Neighbour Solicitations for an IPv6 `ip`) from the client (scripts/lib/neighbour-probe):
    /// probes, answered, unanswered, longest_gap_ms, doubled (probes two MACs answered), replies (MAC:count,…).
    public func probe(_ ip: String, count: Int, intervalMilliseconds: Int) async throws -> [String: String] {
        let seconds = count * intervalMilliseconds / 1000 + 30
        let result = try await lab(
            [
                "exec", "client", packageRoot.appendingPathComponent("scripts/lib/neighbour-probe").path,
                "eth0", ip.contains(":") ? Self.clientIPv6 : Self.clientIPv4, ip, "\(count)", "\(intervalMilliseconds)",
            ], limit: .seconds(seconds))
        return Self.pairs(result.output)
    }

    /// The client's neighbour entry for `ip`: its MAC, or nil.
    public func clientNeighbour(_ ip: String) async throws -> String? {
        neighbourMAC(in: try await lab("exec", "client", "ip", "neigh", "show", ip).output)
    }

    /// `herald-speaker ARGUMENTS…` from the lab's binaries, on the host (it reaches the nodes' addresses).
    public func speakerCommand(_ arguments: String..., check: Bool = true) async throws -> CommandResult {
        let bin = ProcessInfo.processInfo.environment["HERALD_BIN_DIR"] ?? ".build/debug"
        return try await Command.run(["\(bin)/herald-speaker"] + arguments, check: check)
    }

    /// A number from a speaker's /metrics (summed over label sets), or nil when the speaker does not answer.
    public func metric(_ name: String, on node: String) async throws -> Double? {
        let index = Int(node.replacingOccurrences(of: "node-", with: "")) ?? 0
        let result = try await Command.run(
            ["curl", "-fsS", "--max-time", "2", "http://203.0.113.\(10 + index):7472/metrics"], check: false)
        guard result.succeeded else { return nil }
        return result.output.split(separator: "\n")
            .filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }

    /// The lines of every speaker's log (`scripts/lab` keeps them in the lab directory) that contain one of
    /// `needles`, each prefixed with its node: what a failing test prints so CI's output says what happened.
    public func speakerLogLines(containing needles: [String], last limit: Int = 40) -> [String] {
        let lines = (1...nodeCount).flatMap { index -> [String] in
            let text = (try? String(contentsOfFile: "\(directory)/speaker-\(index).log", encoding: .utf8)) ?? ""
            return text.split(separator: "\n").filter { line in needles.contains { line.contains($0) } }.map {
                "node-\(index): \($0)"
            }
        }
        return Array(lines.suffix(limit))
    }

    static func pairs(_ text: String) -> [String: String] {
        var pairs: [String: String] = [:]
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { pairs[String(parts[0])] = String(parts[1]) }
        }
        return pairs
    }
}
