import Foundation
import HeraldTestSupport
import Testing

/// Five `herald-speaker gossip` processes on loopback, sealed with a shared key: the membership on real UDP and
/// TCP sockets, with real process deaths.
@Suite(.serialized, .enabled(if: heraldSpeakerBinary != nil, "build herald-speaker first (swift build)"))
struct GossipProcessTests {
    /// One parsed line of a member's output.
    struct Change: Sendable {
        var time: Int64
        var member: String
        var status: String
    }

    final class Cluster: @unchecked Sendable {
        var processes: [String: BackgroundProcess] = [:]
        let keyFile: String
        /// When set, members run inside this network namespace.
        var namespace: String?

        init() throws {
            keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("herald-gossip-key-\(UUID().uuidString)").path
            // A fixed test key: 32 bytes, base64.
            try "# test key\n\(Data(repeating: 0x5a, count: 32).base64EncodedString())\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        }

        deinit { unlink(keyFile) }

        func start(_ name: String, peers: String?) throws -> BackgroundProcess {
            var arguments = (namespace.map { ["ip", "netns", "exec", $0] } ?? []) + [heraldSpeakerBinary!, "gossip", "--name", name, "--bind", "127.0.0.1:0", "--secret-file", keyFile]
            if let peers { arguments += ["--peers", peers] }
            let process = try BackgroundProcess(arguments)
            processes[name] = process
            return process
        }

        /// Starts the members, the first as the seed of the others, and waits until each sees all others alive.
        func startConverged(_ names: [String]) async throws {
            _ = try start(names[0], peers: nil)
            let seed = try await address(of: names[0])
            for name in names.dropFirst() { _ = try start(name, peers: seed) }
            _ = try await waitFor("\(names.count) members to see each other alive", limit: .seconds(15)) {
                let missing = names.flatMap { observer in
                    names.filter { $0 != observer && self.status(of: $0, seenBy: observer) != "alive" }.map { "\(observer)→\($0)" }
                }
                return (missing.isEmpty ? true : nil, "not yet alive: \(missing)")
            }
        }

        func address(of name: String) async throws -> String {
            try await waitFor("\(name) to listen") {
                let log = self.processes[name]!.logText
                let ready = log.split(separator: "\n").first { $0.hasPrefix(#"{"ready": ""#) }
                return (ready.map { String($0.dropFirst(11).dropLast(2)) }, log)
            }
        }

        func changes(seenBy name: String) -> [Change] {
            processes[name]!.logText.split(separator: "\n").compactMap { line in
                guard line.hasPrefix(#"{"time_ms""#),
                      let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let time = object["time_ms"] as? Int64 ?? (object["time_ms"] as? Int).map(Int64.init),
                      let member = object["member"] as? String, let status = object["status"] as? String else { return nil }
                return Change(time: time, member: member, status: status)
            }
        }

        /// What `observer` last said of `member`.
        func status(of member: String, seenBy observer: String) -> String? {
            changes(seenBy: observer).last { $0.member == member }?.status
        }

        /// Waits until every observer's last word on `member` is `status`; returns when each said it (ms).
        func waitUntil(_ observers: [String], see member: String, as status: String, limit: Duration) async throws -> [Int64] {
            try await waitFor("\(observers) to see \(member) \(status)", limit: limit, interval: .milliseconds(20)) {
                let said = observers.map { self.status(of: member, seenBy: $0) }
                guard said.allSatisfy({ $0 == status }) else { return (nil, "\(zip(observers, said).map { "\($0): \($1 ?? "nothing")" })") }
                return (observers.map { observer in self.changes(seenBy: observer).last { $0.member == member }!.time }, "")
            }
        }
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    @Test func crashAndLeaveAcrossFiveProcesses() async throws {
        let cluster = try Cluster()
        let names = (1...5).map { "member-\($0)" }
        try await cluster.startConverged(names)

        // kill -9: no goodbye; every other member must declare it dead.
        let killedAt = Self.now()
        _ = try await cluster.processes[names[4]]!.stop(signal: SIGKILL)
        let survivors = Array(names.prefix(4))
        let deadAt = try await cluster.waitUntil(survivors, see: names[4], as: "dead", limit: .seconds(15))
        print("gossip: kill -9 of \(names[4]) seen dead by all \(survivors.count) others after \(deadAt.max()! - killedAt) ms")

        // SIGTERM: a graceful leave; the others drop it at once, without suspecting it first.
        let stoppedAt = Self.now()
        let status = try await cluster.processes[names[3]]!.stop(signal: SIGTERM)
        #expect(status == 0, "herald-speaker gossip exited with \(status) on SIGTERM")
        let remaining = Array(names.prefix(3))
        let leftAt = try await cluster.waitUntil(remaining, see: names[3], as: "left", limit: .seconds(5))
        print("gossip: SIGTERM of \(names[3]) seen as left by all \(remaining.count) others after \(leftAt.max()! - stoppedAt) ms")
        for observer in remaining {
            let said = cluster.changes(seenBy: observer).filter { $0.member == names[3] && $0.time >= stoppedAt }.map(\.status)
            #expect(said == ["left"], "\(observer) saw \(said) for the leaving member, not just left")
        }
        for process in cluster.processes.values { _ = try? await process.stop() }
    }

    @Test func aMemberWithTheWrongKeyIsNotLetIn() async throws {
        let cluster = try Cluster()
        _ = try cluster.start("member-a", peers: nil)
        let seed = try await cluster.address(of: "member-a")
        _ = try cluster.start("member-b", peers: seed)
        let wrongKey = FileManager.default.temporaryDirectory.appendingPathComponent("herald-gossip-wrong-\(UUID().uuidString)").path
        try Data(repeating: 0x11, count: 32).base64EncodedString().write(toFile: wrongKey, atomically: true, encoding: .utf8)
        defer { unlink(wrongKey) }
        let intruder = try BackgroundProcess([heraldSpeakerBinary!, "gossip", "--name", "intruder", "--bind", "127.0.0.1:0",
                                              "--secret-file", wrongKey, "--peers", seed, "--log-level", "info"])
        cluster.processes["intruder"] = intruder
        _ = try await cluster.waitUntil(["member-a"], see: "member-b", as: "alive", limit: .seconds(10))
        // The intruder keeps trying to join (its backoff starts at 500 ms); give it a few attempts.
        _ = try await waitFor("the intruder to retry its join", limit: .seconds(10)) {
            let retries = intruder.logText.components(separatedBy: "joining again").count - 1
            return (retries >= 2 ? true : nil, "retries: \(retries)")
        }
        #expect(cluster.status(of: "intruder", seenBy: "member-a") == nil)
        #expect(cluster.status(of: "intruder", seenBy: "member-b") == nil)
        #expect(cluster.changes(seenBy: "intruder").isEmpty, "the intruder learnt of members: \(cluster.changes(seenBy: "intruder"))")
        for process in cluster.processes.values { _ = try? await process.stop() }
    }

    /// 10% of the gossip datagrams dropped by nftables inside a namespace made for the test (these kernels have
    /// no loss qdisc, DESIGN.md §7): a kill -9 is still detected by all, and no running member is declared dead.
    @Test(.needsRoot, .needsTools("ip", "nft"))
    func tenPercentLossOnRealUDP() async throws {
        let namespace = "hg-gossip-\(getpid())"
        try await NetworkNamespace.with(name: namespace) {
            let cluster = try Cluster()
            cluster.namespace = namespace
            try await lossyRun(cluster, namespace: namespace)
            for process in cluster.processes.values { _ = try? await process.stop() }
        }
    }

    private func lossyRun(_ cluster: Cluster, namespace: String) async throws {
        let names = (1...5).map { "member-\($0)" }
        try await cluster.startConverged(names)
        let nft = ["ip", "netns", "exec", namespace, "nft"]
        _ = try await Command.run(nft + ["add table inet herald_test; add chain inet herald_test input { type filter hook input priority 0 ; }; add rule inet herald_test input meta l4proto udp numgen random mod 100 < 10 counter drop"])
        // Let the loss work on the running cluster until it has dropped a few hundred datagrams.
        _ = try await waitFor("nftables to drop 300 gossip datagrams", limit: .seconds(60), interval: .milliseconds(200)) {
            let ruleset = try await Command.run(nft + ["list", "table", "inet", "herald_test"]).output
            let dropped = ruleset.split(separator: " ").drop { $0 != "packets" }.dropFirst().first.flatMap { Int($0) } ?? 0
            return (dropped >= 300 ? dropped : nil, "dropped \(dropped)")
        }
        _ = try await cluster.processes[names[4]]!.stop(signal: SIGKILL)
        _ = try await cluster.waitUntil(Array(names.prefix(4)), see: names[4], as: "dead", limit: .seconds(15))
        for observer in names.prefix(4) {
            let falseDeaths = cluster.changes(seenBy: observer).filter { $0.status == "dead" && $0.member != names[4] }
            #expect(falseDeaths.isEmpty, "\(observer) declared running members dead: \(falseDeaths.map(\.member))")
        }
    }
}
