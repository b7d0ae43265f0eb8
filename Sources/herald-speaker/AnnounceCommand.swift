import ArgumentParser
import HeraldCommandSupport
import HeraldCore
import L2Announcer
import Logging
import Metrics
import ServiceLifecycle
import UnixSignals

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
        let speakers = try layerTwo.makeSpeakers(logger: logger)
        let names = speakers.map(\.interfaceName)
        do {
            for speaker in speakers {
                for ip in ips { try speaker.announce(try IPAddress(parsing: ip)) }
            }
        } catch {
            // Leave nothing behind (multicast groups, proxy entries) when one address cannot be announced.
            for speaker in speakers { for ip in speaker.announced { speaker.withdraw(ip) } }
            throw StartupError("\(error)")
        }
        logger.notice("ready", metadata: ["interfaces": "\(names)", "ips": "\(ips)"])
        let group = ServiceGroup(configuration: .init(services: speakers.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.notice("stopped")
    }
}

