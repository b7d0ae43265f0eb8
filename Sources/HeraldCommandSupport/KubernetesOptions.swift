public import ArgumentParser
import Foundation
public import KubeAPI

/// The Kubernetes options both executables take: where the API is, where Herald's configuration lives, which
/// Services are Herald's.
public struct KubernetesOptions: ParsableArguments {
    @Option(
        help:
            """
            A kubeconfig file (default: KUBECONFIG, its files merged as kubectl does; then in-cluster; \
            then ~/.kube/config).
            """
    )
    public var kubeconfig: String?

    @Option(
        help:
            """
            The namespace of the IPAddressPools and L2Advertisements, the controller's leader Lease, the speakers' \
            pods and ServiceL2Statuses (default: POD_NAMESPACE, else herald-system).
            """
    )
    public var namespace: String =
        ProcessInfo.processInfo.environment["POD_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? "herald-system"

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
