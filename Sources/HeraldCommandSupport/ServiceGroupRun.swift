public import Logging
public import ServiceLifecycle
import UnixSignals

/// How long a graceful shutdown may take before the service group cancels what is left. Below the pods'
/// `terminationGracePeriodSeconds` (10 s in manifests/), so a hung apiserver cannot keep a process until the
/// kubelet kills it mid-write; above what a healthy shutdown needs (the speaker's hand-over, 1 s by default,
/// then at most 2 s for its last status writes).
public enum ShutdownBound {
    public static let graceful: Duration = .seconds(8)
}

/// How every Herald process runs: `services` until SIGTERM or SIGINT, then a graceful shutdown in reverse
/// order (the last service is told first), bounded by `ShutdownBound.graceful`.
public func runUntilSignalled(
    _ services: [ServiceGroupConfiguration.ServiceConfiguration], logger: Logger
) async throws {
    var configuration = ServiceGroupConfiguration(
        services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = ShutdownBound.graceful
    try await ServiceGroup(configuration: configuration).run()
}
