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

    @Option(name: .customLong("interface"),
            help: "An interface to answer on (repeatable). Default: every interface that is up, not loopback, and has a MAC.")
    var interfaces: [String] = []

    @Option(name: .customLong("ip"), help: "An IPv4 or IPv6 address to answer for (repeatable).")
    var ips: [String]

    @Option(help: "When to announce a gained address, in milliseconds after gaining it.")
    var announceSchedule: String = AnnouncementSchedule.standard.description

    @Option(help: "Who answers IPv6 Neighbour Solicitations: responder (Herald, the default) or kernel-proxy (neighbour proxy entries; needs net.ipv6.conf.all.forwarding=1 and proxy_ndp=1).")
    var ndpMode: String = InterfaceSpeaker.NDPMode.responder.rawValue

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard !ips.isEmpty else { throw ValidationError("give at least one --ip") }
        for ip in ips {
            do { _ = try IPAddress(parsing: ip) } catch { throw ValidationError("--ip \(error)") }
        }
        guard AnnouncementSchedule(milliseconds: announceSchedule) != nil else {
            throw ValidationError("--announce-schedule \"\(announceSchedule)\" is not a list of milliseconds such as 0,500,1000")
        }
        guard InterfaceSpeaker.NDPMode(rawValue: ndpMode) != nil else {
            throw ValidationError("--ndp-mode \"\(ndpMode)\" is not one of \(InterfaceSpeaker.NDPMode.allCases.map(\.rawValue))")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "herald-speaker")
        let schedule = AnnouncementSchedule(milliseconds: announceSchedule)!
        var names = interfaces
        if names.isEmpty {
            do { names = try InterfaceDirectory.all().filter(\.isAnnounceable).map(\.name) } catch {
                throw StartupError("cannot list interfaces: \(error)")
            }
            guard !names.isEmpty else { throw StartupError("no interface is up with a MAC address; name one with --interface") }
        }
        var speakers: [InterfaceSpeaker] = []
        for name in names {
            do {
                speakers.append(try InterfaceSpeaker(interfaceName: name, schedule: schedule,
                                                     ndpMode: InterfaceSpeaker.NDPMode(rawValue: ndpMode)!, logger: logger,
                                                     metricsFactory: MetricsSystem.factory))
            } catch {
                throw StartupError("cannot answer on \(name): \(error)")
            }
        }
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

