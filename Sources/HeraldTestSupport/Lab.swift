public import Foundation
public import Testing

extension Trait where Self == ConditionTrait {
    /// Network namespaces and raw sockets need root; CI runs as root.
    public static var needsRoot: Self { .enabled(if: getuid() == 0, "network namespaces need root") }

    /// Skips, with the reason printed, when a peer tool is missing (`make test` installs them).
    public static func needsTools(_ tools: String...) -> Self {
        let missing = tools.filter { !Command.exists($0) }
        return .enabled(if: missing.isEmpty, "missing \(missing.joined(separator: ", ")); run scripts/install-deps")
    }
}

/// Two hosts on one link, each in a network namespace of its own: a speaker and a client, joined by a veth
/// pair, with TEST-NET addresses (192.0.2.0/24, 2001:db8::/64). Everything it makes carries `suffix`, and
/// `with(suffix:)` removes it all afterwards, also when the body throws.
public struct TwoHostLab: Sendable {
    public let suffix: String
    public var speaker: String { "hs-spk-\(suffix)" }
    public var client: String { "hs-cli-\(suffix)" }
    public let speakerInterface = "veth-s"
    public let clientInterface = "veth-c"
    public let speakerAddress = "192.0.2.1", clientAddress = "192.0.2.2"
    public let speakerAddress6 = "2001:db8::1", clientAddress6 = "2001:db8::2"

    public static func with<T>(suffix: String, _ body: (TwoHostLab) async throws -> T) async throws -> T {
        let lab = TwoHostLab(suffix: suffix)
        try await lab.remove()
        do {
            try await lab.create()
            let result = try await body(lab)
            try await lab.remove()
            return result
        } catch {
            try? await lab.remove()
            throw error
        }
    }

    func create() async throws {
        try await Command.run(["ip", "netns", "add", speaker])
        try await Command.run(["ip", "netns", "add", client])
        try await linkUp()
    }

    /// (Re)creates the veth pair with addresses, as after a network restart.
    public func linkUp() async throws {
        try await Command.run([
            "ip", "link", "add", speakerInterface, "netns", speaker, "type", "veth",
            "peer", "name", clientInterface, "netns", client,
        ])
        for (namespace, interface, v4, v6) in [
            (speaker, speakerInterface, speakerAddress, speakerAddress6),
            (client, clientInterface, clientAddress, clientAddress6),
        ] {
            try await Command.run(["ip", "-n", namespace, "link", "set", "lo", "up"])
            try await Command.run(["ip", "-n", namespace, "addr", "add", "\(v4)/24", "dev", interface])
            try await Command.run(["ip", "-n", namespace, "addr", "add", "\(v6)/64", "dev", interface, "nodad"])
            try await Command.run(["ip", "-n", namespace, "link", "set", interface, "up"])
        }
    }

    /// Another veth pair between the two hosts, `name` on the speaker (no address: the speaker needs none) and
    /// `peer` on the client with `clientAddress`/24, both up. Returns the speaker end's MAC.
    @discardableResult
    public func addLink(_ name: String, peer: String, clientAddress: String) async throws -> String {
        try await Command.run([
            "ip", "link", "add", name, "netns", speaker, "type", "veth", "peer", "name", peer, "netns", client,
        ])
        try await Command.run(["ip", "-n", client, "addr", "add", "\(clientAddress)/24", "dev", peer])
        try await Command.run(["ip", "-n", client, "link", "set", peer, "up"])
        try await Command.run(["ip", "-n", speaker, "link", "set", name, "up"])
        return try await speakerMAC(of: name)
    }

    public func deleteLink() async throws {
        try await Command.run(["ip", "-n", speaker, "link", "del", speakerInterface])
    }

    func remove() async throws {
        for namespace in [speaker, client] {
            try await Command.run(["ip", "netns", "del", namespace], check: false)
        }
    }

    /// Runs a command inside one of the lab's namespaces.
    @discardableResult
    public func run(
        in namespace: String, _ arguments: [String], limit: Duration = .seconds(30), check: Bool = true
    ) async throws -> CommandResult {
        try await Command.run(["ip", "netns", "exec", namespace] + arguments, limit: limit, check: check)
    }

    /// The MAC of the speaker's interface.
    public func speakerMAC(of interface: String? = nil) async throws -> String {
        let output = try await Command.run(["ip", "-n", speaker, "-br", "link", "show", interface ?? speakerInterface])
            .output
        return String(output.split(separator: " ", omittingEmptySubsequences: true)[2]).lowercased()
    }

    /// The client's neighbour entry for `ip`: the MAC, or nil.
    public func clientNeighbour(_ ip: String) async throws -> String? {
        neighbourMAC(in: try await Command.run(["ip", "-n", client, "neigh", "show", ip]).output)
    }
}

/// The MAC of an `ip neigh show IP` line (`… lladdr 02:00:00:00:00:01 REACHABLE`), lower case; nil without one.
public func neighbourMAC(in output: String) -> String? {
    let words = output.split(separator: " ")
    guard let index = words.firstIndex(of: "lladdr"), index + 1 < words.count else { return nil }
    return String(words[index + 1]).lowercased()
}

/// The package's root, from this file's place in it.
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A built Herald executable (`herald-speaker`, `herald-controller`), if `swift build` made it.
public func heraldBinary(_ name: String) -> String? {
    let path = packageRoot.appendingPathComponent(".build/debug/\(name)").path
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}

public var heraldSpeakerBinary: String? { heraldBinary("herald-speaker") }
public var heraldControllerBinary: String? { heraldBinary("herald-controller") }

/// A network namespace of the test's own with loopback up; `with(name:)` removes it afterwards, with every
/// process still running in it, also when the body throws.
public enum NetworkNamespace {
    public static func with<T>(name: String, _ body: () async throws -> T) async throws -> T {
        _ = try await Command.run(["ip", "netns", "del", name], check: false)
        _ = try await Command.run(["ip", "netns", "add", name])
        do {
            _ = try await Command.run(["ip", "-n", name, "link", "set", "lo", "up"])
            let result = try await body()
            try await remove(name)
            return result
        } catch {
            try? await remove(name)
            throw error
        }
    }

    static func remove(_ name: String) async throws {
        let pids = try await Command.run(["ip", "netns", "pids", name], check: false).output
        for pid in pids.split(separator: "\n").compactMap({ pid_t($0) }) { kill(pid, SIGKILL) }
        _ = try await Command.run(["ip", "netns", "del", name])
    }
}

/// The kubeconfig of the real kube-apiserver `scripts/dev-cluster up` started (`make test` exports it).
public var testKubeconfig: String? {
    ProcessInfo.processInfo.environment["HERALD_TEST_KUBECONFIG"].flatMap {
        FileManager.default.fileExists(atPath: $0) ? $0 : nil
    }
}

extension Trait where Self == ConditionTrait {
    /// Skips, with the reason printed, when no real kube-apiserver is running for the tests.
    public static var needsAPIServer: Self {
        .enabled(
            if: testKubeconfig != nil,
            """
            no kube-apiserver: HERALD_TEST_KUBECONFIG is not set \
            (run scripts/dev-cluster up and export what it prints)
            """
        )
    }
}

/// `kubectl` against the test apiserver. While the server is away (a suite running in parallel restarts it:
/// `ControllerAPIServerTests.apiserverRestartLosesNothing`), the command is repeated until the server answers,
/// for at most 90 s (its restart's own limit), so other suites see the server's answer, not its absence.
public func kubectl(_ arguments: String..., check: Bool = true) async throws -> CommandResult {
    let command = ["kubectl", "--kubeconfig", testKubeconfig ?? "/nonexistent"] + arguments
    let deadline = ContinuousClock.now + .seconds(90)
    while true {
        let result = try await Command.run(command, check: false)
        let away = !result.succeeded && result.errorOutput.contains("connect: connection refused")
        if away && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            continue
        }
        if check && !result.succeeded { throw CommandError(command: command, result: result) }
        return result
    }
}

/// Herald's CRDs (manifests/crds) applied to the test apiserver and Established, once per test process.
///
/// Suites run in parallel, and two `kubectl apply` of the same new CRDs race: both see a CRD missing, both
/// create it, and one fails with AlreadyExists. One shared installation, awaited by every suite that needs
/// the CRDs, removes the race.
public func installHeraldCRDs() async throws {
    try await CRDInstallation.shared.install()
}

private actor CRDInstallation {
    static let shared = CRDInstallation()
    private var installed: Task<Void, any Error>?

    func install() async throws {
        if installed == nil {
            installed = Task {
                _ = try await kubectl("apply", "-f", packageRoot.appendingPathComponent("manifests/crds").path)
                _ = try await kubectl(
                    "wait", "--for", "condition=Established", "--timeout=30s", "crd/ipaddresspools.metallb.io",
                    "crd/l2advertisements.metallb.io", "crd/servicel2statuses.metallb.io",
                    "crd/configurationstates.metallb.io", "crd/bgppeers.metallb.io", "crd/bgpadvertisements.metallb.io",
                    "crd/communities.metallb.io", "crd/servicebgpstatuses.metallb.io", "crd/bfdprofiles.metallb.io")
            }
        }
        let task = installed!
        do { try await task.value } catch {
            installed = nil  // a later suite tries again rather than inheriting one failure
            throw error
        }
    }
}
