import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import HeraldCommandSupport
import HeraldController
import KubeAPI
import Logging
import ServiceLifecycle
import UnixSignals

/// `herald-controller`: allocates external IPs for LoadBalancer Services from IPAddressPools.
@main
struct HeraldControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-controller",
        abstract: "Give LoadBalancer Services external IPs from MetalLB IPAddressPools and write them into their status.",
        discussion: """
            Defaults fit the Deployment: in-cluster configuration (the pod's service account), pools in \
            herald-system, leader election on the Lease herald-system/herald-controller. Outside a cluster give \
            --kubeconfig or set KUBECONFIG.
            """
    )

    @Option(help: "A kubeconfig file (default: KUBECONFIG, then in-cluster, then ~/.kube/config).")
    var kubeconfig: String?

    @Option(help: "The namespace of the IPAddressPools and of the leader-election Lease.")
    var namespace: String = "herald-system"

    @Option(help: "Serve only Services with this spec.loadBalancerClass (default: Services without a class).")
    var lbClass: String?

    @Option(help: "Elect a leader among replicas with a Lease (true or false).")
    var leaderElect: Bool = true

    @Option(help: "This replica's identity in leader election (default: the host name, i.e. the pod name).")
    var identity: String?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap(label: "herald-controller")
        let config: KubeConfig
        do { config = try KubeConfig.resolve(path: kubeconfig) } catch { throw StartupError("\(error)") }
        let client: HTTPKubeClient
        do { client = try HTTPKubeClient(config: config) } catch { throw StartupError("\(error)") }
        let controller = AllocationController(
            client: client,
            options: .init(namespace: namespace, loadBalancerClass: lbClass,
                           leaderElection: leaderElect ? LeaderElector.Timing() : nil, identity: identity ?? hostName()),
            logger: logger)
        logger.notice("starting", metadata: ["server": "\(config.server)", "namespace": "\(namespace)", "class": "\(lbClass ?? "(default)")"])
        let group = ServiceGroup(configuration: .init(services: [.init(service: controller)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await client.shutdown()
    }
}

private func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count)
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
