import HeraldCore
import KubeAPI
import Logging

/// Keeps one `ServiceL2Status` (MetalLB's shape) per Service this node announces, in the speakers'
/// namespace, so `kubectl get servicel2statuses` shows where each Service's IP lives. Better than MetalLB's:
///
/// - Each node writes only objects named after itself (`l2-` and a digest of node and Service), so no two
///   nodes ever write one object, and MetalLB's rule that an object's node never changes holds.
/// - A node that crashed cannot delete its objects; the Service's new owner deletes them when their node is
///   no longer a live member, so the status never names a dead node for long.
/// - Writes happen off the data path, from what the reconciler last decided: an apiserver outage delays the
///   status, never an announcement. Failed passes are retried with a backoff, and a pass runs every
///   `resyncInterval` anyway to repair objects someone else changed.
actor ServiceStatusPublisher {
    /// What this node announces for one Service.
    struct Entry: Hashable, Sendable {
        var uid: String?
        var interfaces: [String]
    }

    private let client: any KubeClient
    private let namespace: String
    private let nodeName: String
    private let logger: Logger
    private let resyncInterval: Duration
    private var desired: [ServiceKey: Entry] = [:]
    private var liveNodes: Set<String> = []
    private let wake: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation
    private var failing = false

    init(client: any KubeClient, namespace: String, nodeName: String, logger: Logger, resyncInterval: Duration = .seconds(30)) {
        self.client = client
        self.namespace = namespace
        self.nodeName = nodeName
        self.logger = logger
        self.resyncInterval = resyncInterval
        (wake, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The Services this node announces now, and the live members (whose objects stay).
    func publish(_ entries: [ServiceKey: Entry], liveNodes: Set<String>) {
        let changed = entries != desired || liveNodes != self.liveNodes
        desired = entries
        self.liveNodes = liveNodes
        if changed { wakeContinuation.yield() }
    }

    /// The object name for one of this node's Services: fixed, short, and a valid DNS subdomain.
    static func objectName(node: String, service: ServiceKey) -> String {
        let digest = ElectionRanking.score(node: node, key: service.description)
        return "l2-" + digest.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Until cancelled: a pass on every change, every `resyncInterval`, and after a failure with a backoff.
    func run() async {
        var backoff = Duration.seconds(1)
        while !Task.isCancelled {
            if await converge() {
                backoff = .seconds(1)
                await waitForWake(upTo: resyncInterval)
            } else {
                await waitForWake(upTo: backoff)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    private func waitForWake(upTo limit: Duration) async {
        await wait(for: wake, upTo: limit)
    }

    /// One pass; false when the apiserver refused or was away.
    func converge() async -> Bool {
        do {
            let existing = try await client.list(ServiceL2Status.self, namespace: namespace).items
            let wanted = desired, live = liveNodes
            var mine: [String: ServiceL2Status] = [:]
            for object in existing where object.node == nodeName { mine[object.metadata.name ?? ""] = object }
            for (service, entry) in wanted.sorted(by: { $0.key < $1.key }) {
                let name = Self.objectName(node: nodeName, service: service)
                let status = ServiceL2Status.Status(node: nodeName, serviceName: service.name, serviceNamespace: service.namespace,
                                                    interfaces: entry.interfaces.sorted())
                if let current = mine.removeValue(forKey: name) {
                    if current.status != status { try await write(status, to: name) }
                } else {
                    try await create(name, service: service, uid: entry.uid, status: status)
                }
            }
            // Objects of this node for Services it no longer announces; of dead nodes for Services it does.
            for object in mine.values { try await remove(object, because: "this node no longer announces it") }
            for object in existing {
                guard let node = object.node, node != nodeName, !live.contains(node), let service = object.service,
                      wanted[ServiceKey(namespace: service.namespace, name: service.name)] != nil else { continue }
                try await remove(object, because: "node \"\(node)\" is not a live member and this node announces the Service now")
            }
            if failing { logger.notice("ServiceL2Status objects written again") }
            failing = false
            return true
        } catch {
            if !failing { logger.warning("cannot write ServiceL2Status objects; retrying", metadata: ["error": "\(error)"]) }
            failing = true
            return false
        }
    }

    private func create(_ name: String, service: ServiceKey, uid: String?, status: ServiceL2Status.Status) async throws(KubeError) {
        var metadata = ObjectMeta(name: name, namespace: namespace, labels: [
            ServiceL2Status.nodeLabel: nodeName,
            ServiceL2Status.serviceNameLabel: service.name,
            ServiceL2Status.serviceNamespaceLabel: service.namespace,
        ])
        // Deleted with its Service by the garbage collector, where the cluster runs one.
        if let uid { metadata.ownerReferences = [OwnerReference(apiVersion: "v1", kind: "Service", name: service.name, uid: uid)] }
        do {
            _ = try await client.create(ServiceL2Status(metadata: metadata))
        } catch where error.code == .alreadyExists {
            // Made by an earlier pass whose status write failed: write the status below.
        }
        try await write(status, to: name)
    }

    private func write(_ status: ServiceL2Status.Status, to name: String) async throws(KubeError) {
        let patch: JSONValue = ["status": [
            "node": .string(status.node ?? ""), "serviceName": .string(status.serviceName ?? ""),
            "serviceNamespace": .string(status.serviceNamespace ?? ""),
            "interfaces": .array((status.interfaces ?? []).map { ["name": .string($0.name ?? "")] }),
        ]]
        _ = try await client.mergePatch(ServiceL2Status.self, namespace: namespace, name: name, patch: patch, subresource: "status")
    }

    private func remove(_ object: ServiceL2Status, because reason: String) async throws(KubeError) {
        do {
            try await client.delete(ServiceL2Status.self, namespace: namespace, name: object.metadata.name ?? "")
            logger.debug("ServiceL2Status deleted", metadata: ["name": "\(object.metadata.name ?? "")", "reason": "\(reason)"])
        } catch where error.code == .notFound {}
    }
}
