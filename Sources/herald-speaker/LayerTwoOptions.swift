import ArgumentParser
import Foundation
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
            Every this many milliseconds, ask whether another MAC answers for an address this node announces (an \
            ARP probe from 0.0.0.0, a DAD Neighbour Solicitation for IPv6; 0 turns it off). Finds two owners \
            after a network partition heals.
            """
    )
    var conflictProbeInterval: Int = 1000

    @Option(
        help:
            """
            Every this many milliseconds, announce every address this node owns again (gratuitous ARP, \
            unsolicited Neighbour Advertisement), for switches or gateways whose tables age out faster than the \
            clients'. 0, the default, turns it off; else at least 100. Default from \(Self.refreshEnvironment).
            """
    )
    var announceRefreshInterval: Int?

    /// The DaemonSet's way to set `--announce-refresh-interval` without editing the arguments.
    static let refreshEnvironment = "HERALD_ANNOUNCE_REFRESH_INTERVAL"

    /// `--announce-refresh-interval`, else the environment's, else 0 (off).
    func resolvedRefreshInterval() throws -> Int {
        if let announceRefreshInterval { return announceRefreshInterval }
        guard let text = ProcessInfo.processInfo.environment[Self.refreshEnvironment], !text.isEmpty else { return 0 }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("\(Self.refreshEnvironment)=\"\(text)\" is not a number of milliseconds")
        }
        return value
    }

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
        let refresh = try resolvedRefreshInterval()
        guard refresh == 0 || refresh >= 100 else {
            throw ValidationError(
                "--announce-refresh-interval (or \(Self.refreshEnvironment)) takes milliseconds: 0 (off) or "
                    + "100 and more, not \(refresh)")
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
        if let refresh = try? resolvedRefreshInterval(), refresh > 0 {
            logger.notice("announcing every owned address again periodically", metadata: ["interval_ms": "\(refresh)"])
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
        let refreshMilliseconds = (try? resolvedRefreshInterval()) ?? 0  // validate() has checked it
        let refresh: Duration? = refreshMilliseconds > 0 ? .milliseconds(refreshMilliseconds) : nil
        return { name in
            try InterfaceResponder(
                interfaceName: name, schedule: schedule, ndpMode: mode, conflictProbeInterval: probes,
                refreshInterval: refresh, logger: logger, metricsFactory: MetricsSystem.factory)
        }
    }
}
