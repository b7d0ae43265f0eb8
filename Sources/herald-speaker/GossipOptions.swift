import ArgumentParser
import Foundation
import Gossip
import GossipNode
import HeraldCommandSupport

/// The gossip options `run` and `gossip` share: peers, the key, the timing profile.
struct GossipOptions: ParsableArguments {
    @Option(help: "Comma-separated IP:port of members to join through.")
    var peers: String = ""

    @Option(help: "A file with the gossip keys (one per line, base64 or hex; the first seals).")
    var secretFile: String?

    @Flag(help: "Send and accept gossip in plaintext, without a key. For experiments only.")
    var insecureGossip = false

    @Option(help: "Timing profile: lan-fast (Herald's default) or memberlist-lan (MetalLB's timing, as a baseline).")
    var profile: String = "lan-fast"

    static let profiles: [String: GossipConfiguration] = ["lan-fast": .lanFast, "memberlist-lan": .memberlistLAN]

    var peerList: [String] {
        peers.split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
    }

    var configuration: GossipConfiguration { Self.profiles[profile] ?? .lanFast }

    func validate() throws {
        for peer in peerList {
            do { _ = try GossipAddress(parsing: peer) } catch { throw ValidationError("--peers \(error)") }
        }
        guard Self.profiles[profile] != nil else {
            throw ValidationError("--profile \"\(profile)\" is not lan-fast or memberlist-lan")
        }
        if insecureGossip && secretFile != nil {
            throw ValidationError("--insecure-gossip and --secret-file exclude each other")
        }
    }

    func seeds() throws -> [GossipAddress] { try peerList.map { try GossipAddress(parsing: $0) } }

    /// The keyring from --secret-file or HERALD_GOSSIP_KEY; nil with --insecure-gossip.
    func loadKeyring() throws -> Keyring? {
        if insecureGossip { return nil }
        let text: String
        if let secretFile {
            guard let contents = try? String(contentsOfFile: secretFile, encoding: .utf8) else {
                throw StartupError("cannot read --secret-file \(secretFile)")
            }
            text = contents
        } else if let environment = ProcessInfo.processInfo.environment["HERALD_GOSSIP_KEY"] {
            text = environment
        } else {
            throw StartupError(
                "gossip needs a key: --secret-file PATH or HERALD_GOSSIP_KEY "
                    + "(generate one with `head -c 32 /dev/urandom | base64`), or --insecure-gossip for plaintext"
            )
        }
        do { return try Keyring(text: text) } catch { throw StartupError("gossip key: \(error)") }
    }
}
