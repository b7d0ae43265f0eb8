import HeraldConfig
import HeraldCore
import KubeAPI
import Logging

/// A per-Service, per-node status object of MetalLB's: `ServiceL2Status` (the interfaces a node answers on)
/// or `ServiceBGPStatus` (the peers a node announces to). Both carry a list of names beside the node and the
/// Service, and the same three labels.
protocol ServiceStatusResource: KubeResource {
    /// The start of this node's object names: `l2-`, `bgp-`.
    static var namePrefix: String { get }
    /// An object with only its metadata (the status is written through the subresource).
    static func withMetadata(_ metadata: ObjectMeta) -> Self
    var node: String? { get }
    var serviceKey: ServiceKey? { get }
    /// The interfaces or peers the status lists.
    var names: [String] { get }
    /// The merge patch that writes the whole status.
    static func statusPatch(node: String, service: ServiceKey, names: [String]) -> JSONValue
}

extension ServiceL2Status: ServiceStatusResource {
    static var namePrefix: String { "l2-" }
    static func withMetadata(_ metadata: ObjectMeta) -> Self { Self(metadata: metadata) }
    var names: [String] { (status?.interfaces ?? []).compactMap(\.name) }

    static func statusPatch(node: String, service: ServiceKey, names: [String]) -> JSONValue {
        [
            "status": [
                "node": .string(node), "serviceName": .string(service.name),
                "serviceNamespace": .string(service.namespace),
                "interfaces": .array(names.map { ["name": .string($0)] }),
            ]
        ]
    }
}

extension ServiceBGPStatus: ServiceStatusResource {
    static var namePrefix: String { "bgp-" }
    static func withMetadata(_ metadata: ObjectMeta) -> Self { Self(metadata: metadata) }
    var names: [String] { status?.peers ?? [] }
    var node: String? { status?.node ?? metadata.labels?[ServiceL2Status.nodeLabel] }

    var serviceKey: ServiceKey? {
        guard let namespace = status?.serviceNamespace ?? metadata.labels?[ServiceL2Status.serviceNamespaceLabel],
            let name = status?.serviceName ?? metadata.labels?[ServiceL2Status.serviceNameLabel]
        else { return nil }
        return ServiceKey(namespace: namespace, name: name)
    }

    static func statusPatch(node: String, service: ServiceKey, names: [String]) -> JSONValue {
        [
            "status": [
                "node": .string(node), "serviceName": .string(service.name),
                "serviceNamespace": .string(service.namespace), "peers": .array(names.map { .string($0) }),
            ]
        ]
    }
}

/// Keeps one status object (`ServiceL2Status` or `ServiceBGPStatus`, MetalLB's shapes) per Service this node
/// announces, in the speakers' namespace, so `kubectl get servicel2statuses` (`servicebgpstatuses`) shows
/// where each Service's IP lives. Better than MetalLB's:
///
/// - Each node writes only objects named after itself (`l2-`/`bgp-` and a digest of node and Service), so no two
///   nodes ever write one object, and MetalLB's rule that an object's node never changes holds.
/// - A node that crashed cannot delete its objects; the Service's new owner deletes them when their node is
///   no longer a live member, so the status never names a dead node for long, and any speaker deletes a dead
///   node's objects for Services that no longer exist. (No owner reference to the Service: it lives in
///   another namespace, and the garbage collector deletes objects whose owner is in another namespace.)
/// - Writes happen off the data path, from what the reconciler last decided: an apiserver outage delays the
///   status, never an announcement. Failed passes are retried with a backoff, and a pass runs every
///   `resyncInterval` anyway to repair objects someone else changed.
actor ServiceStatusPublisher<Resource: ServiceStatusResource> {
    private let client: any KubeClient
    private let namespace: String
    private let nodeName: String
    private let logger: Logger
    private let resyncInterval: Duration
    /// Each Service this node announces, with the interfaces its IPs go out on (the peers it goes to).
    private var desired: [ServiceKey: [String]] = [:]
    private var liveNodes: Set<String> = []
    /// Every Service that exists (nil: not known yet).
    private var services: Set<ServiceKey>?
    /// A pass is due: set by `publish`, cleared when a pass starts.
    private var due = false
    private var sleeper: CheckedContinuation<Void, Never>?
    private var failing = false
    /// The pass under way: passes never interleave (the last one at shutdown must not be undone by a pass of
    /// the loop that started earlier from an older state and writes after it).
    private var pass: Task<Bool, Never>?

    init(
        client: any KubeClient, namespace: String, nodeName: String, logger: Logger,
        resyncInterval: Duration = .seconds(30)
    ) {
        self.client = client
        self.namespace = namespace
        self.nodeName = nodeName
        self.logger = logger
        self.resyncInterval = resyncInterval
    }

    /// The Services this node announces now, the live members (whose objects stay), and every Service that
    /// exists.
    func publish(_ entries: [ServiceKey: [String]], liveNodes: Set<String>, services: Set<ServiceKey>?) {
        let changed = entries != desired || liveNodes != self.liveNodes || services != self.services
        desired = entries
        self.liveNodes = liveNodes
        self.services = services
        if changed { wake() }
    }

    private func wake() {
        due = true
        sleeper?.resume()
        sleeper = nil
    }

    /// The object name for one of this node's Services: fixed, short, and a valid DNS subdomain.
    static func objectName(node: String, service: ServiceKey) -> String {
        let digest = ElectionRanking.score(node: node, key: service.description)
        return Resource.namePrefix + digest.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
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

    /// Returns when a pass is due, after `limit`, or on cancellation. (Not an AsyncStream: cancelling a task
    /// that waits on one ends the stream for good.)
    private func waitForWake(upTo limit: Duration) async {
        if due { due = false; return }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: limit)
            await self?.wake()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { sleeper = $0 }
        } onCancel: {
            Task { await self.wake() }
        }
        timer.cancel()
        due = false
    }

    /// One pass, after the one under way if any; false when the apiserver refused or was away, or any write
    /// failed (the others still made).
    func converge() async -> Bool {
        while let running = pass {
            // Cancelled (the bounded last pass at shutdown), the wait ends and so does the pass waited for.
            _ = await withTaskCancellationHandler {
                await running.value
            } onCancel: {
                running.cancel()
            }
            // Whoever wakes first clears it (the one that started it may not have run yet).
            if pass == running { pass = nil }
            if Task.isCancelled { return false }
        }
        let task = Task { await self.convergeOnce() }
        pass = task
        let result = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        if pass == task { pass = nil }
        return result
    }

    private func convergeOnce() async -> Bool {
        let existing: [Resource]
        do { existing = try await client.list(Resource.self, namespace: namespace).items } catch {
            return failed(error)
        }
        let wanted = desired, live = liveNodes, services = self.services
        var errors: [KubeError] = []
        var mine: [String: Resource] = [:]
        for object in existing where object.node == nodeName { mine[object.metadata.name ?? ""] = object }
        for (service, names) in wanted.sorted(by: { $0.key < $1.key }) {
            let name = Self.objectName(node: nodeName, service: service)
            let sorted = names.sorted()
            do {
                if let current = mine.removeValue(forKey: name) {
                    if current.node != nodeName || current.serviceKey != service || current.names != sorted {
                        try await write(service: service, names: sorted, to: name)
                    }
                } else {
                    try await create(name, service: service, names: sorted)
                }
            } catch { errors.append(error) }
        }
        // This node's objects for Services it no longer announces; a dead node's for Services this node
        // announces now or that are gone.
        var stale = Array(mine.values)
        for object in existing {
            guard let node = object.node, node != nodeName, !live.contains(node), let key = object.serviceKey else {
                continue
            }
            if wanted[key] != nil || services.map({ !$0.contains(key) }) == true { stale.append(object) }
        }
        for object in stale {
            do { try await remove(object) } catch { errors.append(error) }
        }
        if let first = errors.first { return failed(first) }
        if failing { logger.notice("\(Resource.type.kind) objects written again") }
        failing = false
        return true
    }

    private func failed(_ error: KubeError) -> Bool {
        if !failing {
            logger.warning("cannot write \(Resource.type.kind) objects; retrying", metadata: ["error": "\(error)"])
        }
        failing = true
        return false
    }

    private func create(_ name: String, service: ServiceKey, names: [String]) async throws(KubeError) {
        let metadata = ObjectMeta(
            name: name, namespace: namespace,
            labels: [
                ServiceL2Status.nodeLabel: nodeName,
                ServiceL2Status.serviceNameLabel: service.name,
                ServiceL2Status.serviceNamespaceLabel: service.namespace,
            ])
        do {
            _ = try await client.create(Resource.withMetadata(metadata))
        } catch  where error.code == .alreadyExists {
            // Made by an earlier pass whose status write failed: write the status below.
        }
        try await write(service: service, names: names, to: name)
    }

    private func write(service: ServiceKey, names: [String], to name: String) async throws(KubeError) {
        _ = try await client.mergePatch(
            Resource.self, namespace: namespace, name: name,
            patch: Resource.statusPatch(node: nodeName, service: service, names: names), subresource: "status")
    }

    private func remove(_ object: Resource) async throws(KubeError) {
        do {
            try await client.delete(Resource.self, namespace: namespace, name: object.metadata.name ?? "")
            logger.debug(
                "\(Resource.type.kind) deleted",
                metadata: ["name": "\(object.metadata.name ?? "")", "node": "\(object.node ?? "")"])
        } catch  where error.code == .notFound {}
    }
}
