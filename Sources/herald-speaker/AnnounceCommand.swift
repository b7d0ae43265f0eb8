import ArgumentParser
import HeraldCommandSupport
import HeraldCore
import L2Announcer
import Logging
import Metrics
import ServiceLifecycle

/// `herald-speaker announce --interface IF --ip IP [--ip IP …]`: answer for the addresses, announce them at
/// start, stop answering on SIGTERM or SIGINT.
struct AnnounceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "announce",
        abstract: "Answer ARP and NDP for the given addresses on the given interfaces until SIGTERM.",
        discussion: """
            The addresses are announced at start (gratuitous ARP, unsolicited Neighbour Advertisements) on the \
            --announce-schedule, and withdrawn at once on SIGTERM or SIGINT. Needs CAP_NET_RAW.
            """
    )

    @Option(name: .customLong("ip"), help: "An IPv4 or IPv6 address to answer for (repeatable).")
    var ips: [String]

    @OptionGroup var layerTwo: LayerTwoOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard !ips.isEmpty else { throw ValidationError("give at least one --ip") }
        for ip in ips {
            do { _ = try IPAddress(parsing: ip) } catch { throw ValidationError("--ip \(error)") }
        }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "herald-speaker")
        let announcer = try layerTwo.makeAnnouncer(logger: logger)
        let desired = Dictionary(
            uniqueKeysWithValues: try Set(ips.map { try IPAddress(parsing: $0) }).map { ($0, Set<String>?.none) })
        let failures = await announcer.apply(desired)
        if let (ip, why) = failures.sorted(by: { $0.key < $1.key }).first {
            // Leave nothing behind (multicast groups, proxy entries) when one address cannot be announced.
            _ = await announcer.apply([:])
            throw StartupError("cannot announce \(ip): \(why)")
        }
        logger.notice("ready", metadata: ["interfaces": "\(announcer.interfaceNames)", "ips": "\(ips)"])
        try await runUntilSignalled([.init(service: announcer)], logger: logger)
        logger.notice("stopped")
    }
}
