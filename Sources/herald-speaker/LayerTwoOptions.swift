import ArgumentParser
import HeraldCommandSupport
import L2Announcer
import Logging
import Metrics

/// The Layer 2 options `run` and `announce` share: which interfaces, when to announce, who answers NDP.
struct LayerTwoOptions: ParsableArguments {
    @Option(
        name: .customLong("interface"),
        help:
            """
            An interface to answer on (repeatable). Default: every interface that is up, not loopback, has a MAC and \
            is not named like a container or CNI link, followed as interfaces come and go.
            """
    )
    var interfaces: [String] = []

    @Option(
        name: .customLong("interfaces"),
        help: "Comma-separated interfaces to answer on (the same as repeating --interface).")
    var interfaceList: String?

    @Option(help: "When to announce a gained address, in milliseconds after gaining it.")
    var announceSchedule: String = AnnouncementSchedule.standard.description

    @Option(
        help:
            """
            Every this many milliseconds, ask whether another MAC answers for an IPv4 address this node announces \
            (an ARP probe from 0.0.0.0; 0 turns it off). Finds two owners after a network partition heals.
            """
    )
    var conflictProbeInterval: Int = 1000

    @Option(
        help:
            """
            Who answers IPv6 Neighbour Solicitations: responder (Herald, the default) or kernel-proxy \
            (neighbour proxy entries; needs net.ipv6.conf.all.forwarding=1, proxy_ndp=1 and CAP_NET_ADMIN).
            """
    )
    var ndpMode: String = InterfaceResponder.NDPMode.responder.rawValue

    func validate() throws {
        guard AnnouncementSchedule(milliseconds: announceSchedule) != nil else {
            throw ValidationError(
                "--announce-schedule \"\(announceSchedule)\" is not a list of milliseconds such as 0,500,1000")
        }
        guard conflictProbeInterval >= 0 else {
            throw ValidationError("--conflict-probe-interval takes milliseconds, 0 or more")
        }
        guard InterfaceResponder.NDPMode(rawValue: ndpMode) != nil else {
            throw ValidationError(
                "--ndp-mode \"\(ndpMode)\" is not one of \(InterfaceResponder.NDPMode.allCases.map(\.rawValue))")
        }
    }

    /// One responder per interface, its socket opened now so a missing interface or privilege fails at start.
    /// Without named interfaces, every announceable interface now, and the set follows the node's links.
    func makeAnnouncer(logger: Logger) throws -> InterfaceAnnouncer {
        let named = interfaces + (interfaceList ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
        var names = named
        if names.isEmpty {
            do { names = try InterfaceDirectory.all().filter(\.isAnnounceable).map(\.name) } catch {
                throw StartupError("cannot list interfaces: \(error)")
            }
            guard !names.isEmpty else {
                throw StartupError("no interface is up with a MAC address; name one with --interface")
            }
        }
        let make = responderFactory(logger: logger)
        let responders = try names.map { name in
            do { return try make(name) } catch { throw StartupError("cannot answer on \(name): \(error)") }
        }
        let discovery =
            named.isEmpty
            ? InterfaceAnnouncer.Discovery(
                list: { try InterfaceDirectory.all().map { (name: $0.name, announceable: $0.isAnnounceable) } },
                make: make) : nil
        return InterfaceAnnouncer(responders: responders, discovery: discovery, logger: logger)
    }

    private func responderFactory(logger: Logger) -> @Sendable (String) throws -> InterfaceResponder {
        let schedule = AnnouncementSchedule(milliseconds: announceSchedule)!
        let mode = InterfaceResponder.NDPMode(rawValue: ndpMode)!
        let probes: Duration? = conflictProbeInterval > 0 ? .milliseconds(conflictProbeInterval) : nil
        return { name in
            try InterfaceResponder(
                interfaceName: name, schedule: schedule, ndpMode: mode, conflictProbeInterval: probes,
                logger: logger, metricsFactory: MetricsSystem.factory)
        }
    }
}
