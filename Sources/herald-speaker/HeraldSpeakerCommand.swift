import ArgumentParser

/// `herald-speaker`: the node agent. Today it has one mode, `announce`, which answers for given addresses on
/// given interfaces — the Layer 2 data plane on its own, and a floating-IP mode for hosts outside Kubernetes.
@main
struct HeraldSpeakerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-speaker",
        abstract: "Herald's node agent: answers ARP and NDP for the external IPs this node owns.",
        subcommands: [AnnounceCommand.self, GossipCommand.self]
    )
}
