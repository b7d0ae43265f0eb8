public import Logging
public import ServiceLifecycle

/// Runs the gossip member only once the reconciler has listed every cache. The other speakers hand a new
/// member the IPs it ranks first for as soon as they see it; a speaker that joined before it could read the
/// API (restarted while the apiserver is away, or slow to list) would leave those IPs unanswered. Until it
/// joins, the others keep them. A graceful shutdown before the listing ends it without joining.
public struct GossipAfterListing<Member: ServiceLifecycle.Service>: ServiceLifecycle.Service {
    let reconciler: SpeakerReconciler
    let member: Member
    let logger: Logger

    public init(reconciler: SpeakerReconciler, member: Member, logger: Logger) {
        self.reconciler = reconciler
        self.member = member
        self.logger = logger
    }

    public func run() async throws {
        let reconciler = self.reconciler
        let waiting = Task {
            try? await Task.sleep(for: .seconds(5))
            if !Task.isCancelled { logger.notice("not joining gossip until the API objects are listed") }
        }
        defer { waiting.cancel() }
        await cancelWhenGracefulShutdown { await reconciler.untilListed() }
        waiting.cancel()
        guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
        try await member.run()
    }
}
