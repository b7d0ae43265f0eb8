import ArgumentParser
import Foundation
import Gossip
import GossipNode
import HeraldCommandSupport
import Logging
import Metrics
import ServiceLifecycle

/// `herald-speaker gossip`: membership alone, without Kubernetes or Layer 2 — one member of the gossip cluster
/// that prints every membership change it sees as a JSON line. The real-socket tests and benchmarks run a few
/// of these; an operator can run one to check that a key and the network let a node join.
struct GossipCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gossip",
        abstract: "Join the gossip cluster and print membership changes as JSON lines until SIGTERM.",
        discussion: """
            Each line on standard output is {"time_ms": <Unix time in ms>, "member": …, "status": \
            "alive|suspect|dead|left", "incarnation": …, "address": …}; the first is {"ready": "<address>"}. \
            On SIGTERM or SIGINT the member leaves: every peer drops it at once. The key comes from \
            --secret-file or the HERALD_GOSSIP_KEY environment variable: one key per line, base64 or 64 hex \
            digits, the first one sealing and all of them opening (rotation).
            """
    )

    @Option(help: "This member's unique name (in the cluster: the Kubernetes node name).")
    var name: String

    @Option(help: "IP:port to listen on, UDP and TCP ([IPv6]:port for IPv6; port 0 picks one).")
    var bind: String = "0.0.0.0:7946"

    @Option(help: "IP:port peers reach this member at (default: the bind address).")
    var advertise: String?

    @OptionGroup var gossip: GossipOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        do { _ = try GossipAddress(parsing: bind) } catch { throw ValidationError("--bind \(error)") }
        if let advertise {
            do { _ = try GossipAddress(parsing: advertise) } catch { throw ValidationError("--advertise \(error)") }
        }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "herald-speaker")
        let keyring = try gossip.loadKeyring()
        if keyring == nil {
            logger.warning("gossip is in plaintext (--insecure-gossip): anyone on the network can join or forge it")
        }
        let transport: NIOGossipTransport
        do {
            transport = try await NIOGossipTransport(binding: try GossipAddress(parsing: bind))
        } catch {
            throw StartupError("cannot listen on \(bind): \(error)")
        }
        let options = GossipNode.Options(
            name: name, advertiseAddress: try advertise.map { try GossipAddress(parsing: $0) },
            metadata: ["node": name],
            seeds: try gossip.seeds(), configuration: gossip.configuration, keyring: keyring)
        let node = GossipNode(options: options, transport: transport, logger: logger)
        print(#"{"ready": "\#(transport.localAddress)"}"#)
        flushStandardOutput()
        let printer = Task {
            for await member in node.changes {
                print(
                    #"{"time_ms": \#(wallClockMilliseconds()), "member": "\#(member.name)", "#
                        + #""status": "\#(member.status)", "incarnation": \#(member.incarnation), "#
                        + #""address": "\#(member.address)"}"#
                )
                flushStandardOutput()
            }
        }
        try await runUntilSignalled([.init(service: node)], logger: logger)
        await printer.value
    }
}

private func wallClockMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

/// Flushes every stream (standard output is piped to a test or a script, which reads line by line).
private func flushStandardOutput() { fflush(nil) }
