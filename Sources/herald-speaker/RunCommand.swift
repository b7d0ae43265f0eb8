import ArgumentParser
import Foundation
import GossipNode
import HeraldCommandSupport
import HeraldCore
import HeraldSpeaker
import KubeAPI
import L2Announcer
import Logging
import Metrics
import OperationsEndpoint
import Prometheus
import ReadinessChecks
import ServiceLifecycle

/// `herald-speaker run` (the default): the DaemonSet's node agent. Joins the gossip membership, watches the
/// API, and answers ARP/NDP for the external IPs this node owns.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Announce the external IPs this node owns (the DaemonSet's mode; the default).",
        discussion: """
            Defaults fit the DaemonSet: in-cluster configuration, the node name from NODE_NAME, pools and \
            L2Advertisements in the pod's namespace (POD_NAMESPACE), gossip on port 7946 advertised at POD_IP \
            (the node's IP with hostNetwork), the gossip key in HERALD_GOSSIP_KEY. Needs CAP_NET_RAW.
            """
    )

    @OptionGroup var kubernetes: KubernetesOptions

    @Option(help: "This node's name (default: the NODE_NAME environment variable).")
    var nodeName: String?

    @Option(
        help:
            """
            IP:port for gossip, UDP and TCP ([IPv6]:port for IPv6). Default: every address of the advertised address's \
            family on port 7946 ([::]:7946 when POD_IP is IPv6, else 0.0.0.0:7946).
            """
    )
    var gossipBind: String?

    @Option(
        help:
            "IP:port the other speakers reach this one at (default: POD_IP with the bind port, else the bind address).")
    var gossipAdvertise: String?

    @OptionGroup var gossip: GossipOptions

    @Option(
        help:
            """
            Find the other speakers as the running pods in --namespace with these labels (k=v,k=v; \"\" turns it off). \
            Their IPs, with the gossip port, are the seeds, besides --peers.
            """
    )
    var peerSelector: String = "app.kubernetes.io/name=herald,app.kubernetes.io/component=speaker"

    @OptionGroup var layerTwo: LayerTwoOptions

    @Option(
        help: "Serve /metrics, /healthz and /readyz here: HOST:PORT, [IPv6]:PORT, :PORT (every address) or 0 (off).")
    var metricsBindAddress: String = ":7472"

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard resolvedNodeName != nil else { throw ValidationError("give --node-name or set NODE_NAME") }
        do { _ = try gossipBind.map { try GossipAddress(parsing: $0) } } catch {
            throw ValidationError("--gossip-bind \(error)")
        }
        do { _ = try advertiseAddress() } catch { throw ValidationError("--gossip-advertise \(error)") }
        do { _ = try BindAddress.parse(metricsBindAddress) } catch {
            throw ValidationError("--metrics-bind-address: \(error)")
        }
        guard peerLabels != nil else {
            throw ValidationError("--peer-selector \"\(peerSelector)\" is not a list of key=value pairs")
        }
    }

    /// The labels of `--peer-selector`; nil when malformed, empty when turned off.
    var peerLabels: [String: String]? {
        var labels: [String: String] = [:]
        for pair in peerSelector.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else { return nil }
            labels[parts[0]] = parts[1]
        }
        return labels
    }

    var resolvedNodeName: String? { nodeName ?? ProcessInfo.processInfo.environment["NODE_NAME"] }

    static let gossipPort = 7946

    /// `--gossip-advertise`, else POD_IP with the bind port (7946 unless --gossip-bind says otherwise).
    func advertiseAddress() throws -> GossipAddress? {
        if let gossipAdvertise { return try GossipAddress(parsing: gossipAdvertise) }
        guard let podIP = ProcessInfo.processInfo.environment["POD_IP"], !podIP.isEmpty else { return nil }
        return GossipAddress(
            host: podIP, port: try gossipBind.map { try GossipAddress(parsing: $0).port } ?? Self.gossipPort)
    }

    /// `--gossip-bind`, else the wildcard of the advertised address's family.
    func bindAddress() throws -> GossipAddress {
        if let gossipBind { return try GossipAddress(parsing: gossipBind) }
        return GossipAddress.wildcard(reachedAt: try advertiseAddress(), port: Self.gossipPort)
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "herald-speaker")
        let node = resolvedNodeName!
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let (_, client) = try kubernetes.client()
        let announcer = try layerTwo.makeAnnouncer(logger: logger)
        let keyring = try gossip.loadKeyring()
        if keyring == nil {
            logger.warning("gossip is in plaintext (--insecure-gossip): anyone on the network can join or forge it")
        }
        let transport: NIOGossipTransport
        let bind = try bindAddress()
        do { transport = try await NIOGossipTransport(binding: bind) } catch {
            throw StartupError("cannot listen for gossip on \(bind): \(error)")
        }
        let membership = GossipNode(
            options: .init(
                name: node, advertiseAddress: try advertiseAddress(),
                metadata: ["node": node, SpeakerMetadata.macs: SpeakerMetadata.value(announcer.macs)].merging(
                    SpeakerMetadata.entries(announcer.links)
                ) { $1 },
                seeds: try gossip.seeds(),
                configuration: gossip.configuration, keyring: keyring),
            transport: transport, logger: logger)
        let readiness = Readiness()
        let reconciler = SpeakerReconciler(
            client: client, membership: membership, announcer: announcer,
            options: .init(nodeName: node, namespace: kubernetes.namespace, loadBalancerClass: kubernetes.lbClass),
            logger: logger, readiness: readiness)
        // Shut down in reverse: gossip first (the member leaves and its successors take over), then the
        // reconciler (it keeps answering for its hand-over delay, then withdraws), then the responders.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: announcer)]
        if let labels = peerLabels, !labels.isEmpty {
            let fixed = try gossip.seeds()
            services.append(
                .init(
                    service: PeerDiscovery(
                        client: client, namespace: kubernetes.namespace, labels: labels, nodeName: node,
                        port: bind.port, logger: logger
                    ) { found in
                        await membership.setSeeds(fixed + found.filter { !fixed.contains($0) })
                    }))
        }
        services.append(.init(service: reconciler))
        if let address = try BindAddress.parse(metricsBindAddress) {
            let document: OperationsServer.Document = {
                MembershipDocument(node: node, members: membership.publishedMembers).json()
            }
            services.append(
                .init(
                    service: OperationsServer(
                        address: address, registry: registry, readiness: readiness,
                        documents: ["/membership": document], logger: logger)))
        }
        // Gossip joins once the API objects are listed (GossipAfterListing), and stops first on SIGTERM.
        services.append(.init(service: GossipAfterListing(reconciler: reconciler, member: membership, logger: logger)))
        logger.notice(
            "starting",
            metadata: [
                "node": "\(node)", "interfaces": "\(announcer.interfaceNames)", "gossip": "\(transport.localAddress)",
                "peers": "\(gossip.peerList)",
            ])
        try await runUntilSignalled(services, logger: logger)
        await client.shutdown()
        logger.notice("stopped")
    }
}
