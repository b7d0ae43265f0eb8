import ArgumentParser
import HeraldCommandSupport
import HeraldController
import KubeAPI
import Logging
import Metrics
import OperationsEndpoint
import Prometheus
import ReadinessChecks
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// `herald-controller`: allocates external IPs for LoadBalancer Services from IPAddressPools.
@main
struct HeraldControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-controller",
        abstract:
            "Give LoadBalancer Services external IPs from MetalLB IPAddressPools and write them into their status.",
        discussion: """
            Defaults fit the Deployment: in-cluster configuration (the pod's service account), pools in the \
            pod's namespace (POD_NAMESPACE, else herald-system), leader election on the Lease herald-controller \
            there. Outside a cluster give --kubeconfig or set KUBECONFIG.
            """
    )

    @OptionGroup var kubernetes: KubernetesOptions

    @Option(help: "Elect a leader among replicas with a Lease (true or false).")
    var leaderElect: Bool = true

    @Option(help: "This replica's identity in leader election (default: the host name, i.e. the pod name).")
    var identity: String?

    @Option(
        help: "Serve /metrics, /healthz and /readyz here: HOST:PORT, [IPv6]:PORT, :PORT (every address) or 0 (off).")
    var metricsBindAddress: String = ":7472"

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        do { _ = try BindAddress.parse(metricsBindAddress) } catch {
            throw ValidationError("--metrics-bind-address: \(error)")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "herald-controller")
        let (config, client) = try kubernetes.client()
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let readiness = Readiness()
        let controller = AllocationController(
            client: client,
            options: .init(
                namespace: kubernetes.namespace, loadBalancerClass: kubernetes.lbClass,
                leaderElection: leaderElect ? LeaderElector.Timing() : nil, identity: identity ?? hostName()),
            logger: logger, readiness: readiness)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: controller)]
        if let address = try BindAddress.parse(metricsBindAddress) {
            services.append(
                .init(
                    service: OperationsServer(
                        address: address, registry: registry, readiness: readiness, logger: logger)))
        }
        logger.notice(
            "starting",
            metadata: [
                "server": "\(config.server)", "namespace": "\(kubernetes.namespace)",
                "class": "\(kubernetes.lbClass ?? "(default)")",
            ])
        try await runUntilSignalled(services, logger: logger)
        await client.shutdown()
    }
}

private func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count)
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
