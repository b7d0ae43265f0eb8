import Foundation

/// FRR (bgpd, with zebra so learned routes reach the namespace's kernel) as a router inside a network
/// namespace, with no system service: a directory of its own owned by frr:frr holds the configuration, pid
/// files, vty sockets and log. `stop` kills the daemons and removes the directory.
public struct FRRRouter: Sendable {
    public let namespace: String
    public let directory: String

    public static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/lib/frr/bgpd") }

    /// Starts zebra and bgpd in `namespace` with `configuration` (frr.conf syntax).
    public static func start(in namespace: String, configuration: String, zebra: Bool = true) async throws -> FRRRouter
    {
        let directory = "/tmp/herald-frr-\(namespace)"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try configuration.write(toFile: "\(directory)/frr.conf", atomically: true, encoding: .utf8)
        try await Command.run(["chown", "-R", "frr:frr", directory])
        let router = FRRRouter(namespace: namespace, directory: directory)
        let common = [
            "-z", "\(directory)/zserv.api", "--vty_socket", directory, "-u", "frr", "-g", "frr",
            "-f", "\(directory)/frr.conf", "--log", "file:\(directory)/frr.log",
        ]
        if zebra {
            try await Command.run(
                ["ip", "netns", "exec", namespace, "/usr/lib/frr/zebra", "-d", "-i", "\(directory)/zebra.pid"] + common)
        }
        try await Command.run(
            ["ip", "netns", "exec", namespace, "/usr/lib/frr/bgpd", "-d", "-i", "\(directory)/bgpd.pid"]
                + (zebra ? [] : ["-Z"]) + common)
        return router
    }

    /// Runs `body` with a router started in `namespace`, and stops it afterwards, also when `body` throws.
    public static func with<T>(
        in namespace: String, configuration: String, zebra: Bool = true, _ body: (FRRRouter) async throws -> T
    ) async throws -> T {
        let router = try await start(in: namespace, configuration: configuration, zebra: zebra)
        do {
            let result = try await body(router)
            await router.stop()
            return result
        } catch {
            await router.stop()
            throw error
        }
    }

    /// `vtysh -c COMMAND` against this router.
    public func vtysh(_ command: String) async throws -> String {
        try await Command.run(["ip", "netns", "exec", namespace, "vtysh", "--vty_socket", directory, "-c", command])
            .output
    }

    /// A `vtysh` command's JSON output, parsed.
    public func json(_ command: String) async throws -> [String: Any] {
        let text = try await vtysh(command)
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    public func log() -> String { (try? String(contentsOfFile: "\(directory)/frr.log", encoding: .utf8)) ?? "" }

    public func stop() async {
        for daemon in ["bgpd", "zebra"] {
            guard let text = try? String(contentsOfFile: "\(directory)/\(daemon).pid", encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { continue }
            kill(pid, SIGKILL)
            for _ in 0..<100 where kill(pid, 0) == 0 { try? await Task.sleep(for: .milliseconds(10)) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// BIRD 2 as a router inside a network namespace: `bird -c CONF -s CTL -P PID`, queried with `birdc -s CTL`.
/// `protocol kernel` in the configuration puts learned routes in the namespace's kernel.
public struct BIRDRouter: Sendable {
    public let namespace: String
    public let directory: String

    public static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/bird") }

    /// Runs `body` with BIRD started in `namespace` with `configuration`, and stops it afterwards.
    public static func with<T>(
        in namespace: String, configuration: String, _ body: (BIRDRouter) async throws -> T
    ) async throws -> T {
        let directory = "/tmp/herald-bird-\(namespace)"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try configuration.write(toFile: "\(directory)/bird.conf", atomically: true, encoding: .utf8)
        let router = BIRDRouter(namespace: namespace, directory: directory)
        do {
            try await Command.run([
                "ip", "netns", "exec", namespace, "bird", "-c", "\(directory)/bird.conf", "-s", "\(directory)/bird.ctl",
                "-P", "\(directory)/bird.pid",
            ])
            let result = try await body(router)
            await router.stop()
            return result
        } catch {
            await router.stop()
            throw error
        }
    }

    /// `birdc -s CTL COMMAND…`'s output.
    public func birdc(_ command: String...) async throws -> String {
        try await Command.run(["birdc", "-s", "\(directory)/bird.ctl"] + command, check: false).output
    }

    public func stop() async {
        if let text = try? String(contentsOfFile: "\(directory)/bird.pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            kill(pid, SIGKILL)
            for _ in 0..<100 where kill(pid, 0) == 0 { try? await Task.sleep(for: .milliseconds(10)) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
