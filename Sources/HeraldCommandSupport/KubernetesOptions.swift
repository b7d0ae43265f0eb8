public import ArgumentParser
public import KubeAPI

/// The Kubernetes options both executables take: where the API is, where Herald's configuration lives, which
/// Services are Herald's.
public struct KubernetesOptions: ParsableArguments {
    @Option(help: "A kubeconfig file (default: KUBECONFIG, then in-cluster, then ~/.kube/config).")
    public var kubeconfig: String?

    @Option(help: "The namespace of the IPAddressPools and L2Advertisements (and of the controller's leader Lease).")
    public var namespace: String = "herald-system"

    @Option(help: "Serve only Services with this spec.loadBalancerClass (default: Services without a class).")
    public var lbClass: String?

    public init() {}

    /// The configuration `--kubeconfig` or the environment gives, and a client for it; errors say which field.
    public func client() throws -> (KubeConfig, HTTPKubeClient) {
        do {
            let config = try KubeConfig.resolve(path: kubeconfig)
            return (config, try HTTPKubeClient(config: config))
        } catch {
            throw StartupError("\(error)")
        }
    }
}
