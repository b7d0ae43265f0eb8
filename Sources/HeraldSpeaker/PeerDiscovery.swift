public import GossipNode
import HeraldCore
public import KubeAPI
public import Logging
public import ServiceLifecycle

/// Finds the other speakers through their pods, as MetalLB's speakers do: the running pods of the DaemonSet
/// (matched by labels, in the speaker's namespace) with an IP, except this node's own, give the gossip seeds.
/// With `hostNetwork` a pod's IP is its node's address. Seeds matter only while a member is alone; a member
/// that knows others keeps them through gossip.
public struct PeerDiscovery: ServiceLifecycle.Service {
    private let pods: Informer<Pod>
    private let labels: [String: String]
    private let nodeName: String
    private let port: Int
    private let logger: Logger
    private let update: @Sendable ([GossipAddress]) async -> Void

    /// - Parameter update: receives the seeds every time they change (e.g. `GossipNode.setSeeds`).
    public init(
        client: any KubeClient, namespace: String, labels: [String: String], nodeName: String, port: Int,
        logger: Logger,
        update: @escaping @Sendable ([GossipAddress]) async -> Void
    ) {
        pods = Informer(client: client, namespace: namespace, logger: logger)
        self.labels = labels
        self.nodeName = nodeName
        self.port = port
        self.logger = logger
        self.update = update
    }

    /// The seeds among `pods`, sorted.
    public static func seeds(
        from pods: some Sequence<Pod>, labels: [String: String], excluding nodeName: String, port: Int
    ) -> [GossipAddress] {
        pods.filter { pod in
            LabelSelector(matchLabels: labels).matches(pod.metadata.labels ?? [:]) && pod.status?.phase == "Running"
                && pod.spec?.nodeName != nodeName
        }
        .compactMap { $0.status?.podIP }
        .filter { !$0.isEmpty }
        .sorted()
        .map { GossipAddress(host: $0, port: port) }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await pods.run() }
                var last: [GossipAddress]?
                for await _ in pods.events {
                    let seeds = Self.seeds(
                        from: await pods.objects.values, labels: labels, excluding: nodeName, port: port)
                    guard seeds != last else { continue }
                    last = seeds
                    logger.info(
                        "gossip peers from the speaker pods", metadata: ["peers": "\(seeds.map(\.description))"])
                    await update(seeds)
                }
            }
        }
    }
}
