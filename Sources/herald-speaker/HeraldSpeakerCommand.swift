import ArgumentParser

/// `herald-speaker`: the node agent. `run` (the default) is the DaemonSet's mode; `explain` says who announces a
/// Service's IPs and why; `announce` answers for given
/// addresses without Kubernetes (the data plane alone, a floating IP for hosts outside a cluster); `gossip` is
/// the membership alone, for checking a key and the network.
@main
struct HeraldSpeakerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-speaker",
        abstract: "Herald's node agent: answers ARP and NDP for the external IPs this node owns.",
        subcommands: [RunCommand.self, ExplainCommand.self, AnnounceCommand.self, GossipCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
