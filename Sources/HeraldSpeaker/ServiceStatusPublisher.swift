import HeraldConfig
import HeraldCore
import KubeAPI
import Logging

/// Keeps one `ServiceL2Status` (MetalLB's shape) per Service this node announces, in the speakers'
/// namespace, so `kubectl get servicel2statuses` shows where each Service's IP lives. Better than MetalLB's:
///
/// - Each node writes only objects named after itself (`l2-` and a digest of node and Service), so no two
///   nodes ever write one object, and MetalLB's rule that an object's node never changes holds.
/// - A node that crashed cannot delete its objects; the Service's new owner deletes them when their node is
///   no longer a live member, so the status never names a dead node for long, and any speaker deletes a dead
///   node's objects for Services that no longer exist. (No owner reference to the Service: it lives in
///   another namespace, and the garbage collector deletes objects whose owner is in another namespace.)
/// - Writes happen off the data path, from what the reconciler last decided: an apiserver outage delays the
///   status, never an announcement. Failed passes are retried with a backoff, and a pass runs every
///   `resyncInterval` anyway to repair objects someone else changed.
actor ServiceStatusPublisher {
    private let client: any KubeClient
    private let namespace: String
    private let nodeName: String
    private let logger: Logger
    private let resyncInterval: Duration
    /// Each Service this node announces, with the interfaces its IPs go out on.
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
        let existing: [ServiceL2Status]
        do { existing = try await client.list(ServiceL2Status.self, namespace: namespace).items } catch {
            return failed(error)
        }
        let wanted = desired, live = liveNodes, services = self.services
        var errors: [KubeError] = []
        var mine: [String: ServiceL2Status] = [:]
        for object in existing where object.node == nodeName { mine[object.metadata.name ?? ""] = object }
        for (service, interfaces) in wanted.sorted(by: { $0.key < $1.key }) {
            let name = Self.objectName(node: nodeName, service: service)
            let status = ServiceL2Status.Status(
                node: nodeName, serviceName: service.name, serviceNamespace: service.namespace,
                interfaces: interfaces.sorted())
            do {
                if let current = mine.removeValue(forKey: name) {
                    if current.status != status { try await write(status, to: name) }
                } else {
                    try await create(name, service: service, status: status)
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
        if failing { logger.notice("ServiceL2Status objects written again") }
        failing = false
        return true
    }

    private func failed(_ error: KubeError) -> Bool {
        if !failing {
            logger.warning("cannot write ServiceL2Status objects; retrying", metadata: ["error": "\(error)"])
        }
        failing = true
        return false
    }

    private func create(_ name: String, service: ServiceKey, status: ServiceL2Status.Status) async throws(KubeError) {
        let metadata = ObjectMeta(
            name: name, namespace: namespace,
            labels: [
                ServiceL2Status.nodeLabel: nodeName,
                ServiceL2Status.serviceNameLabel: service.name,
                ServiceL2Status.serviceNamespaceLabel: service.namespace,
            ])
        do {
            _ = try await client.create(ServiceL2Status(metadata: metadata))
        } catch  where error.code == .alreadyExists {
            // Made by an earlier pass whose status write failed: write the status below.
        }
        try await write(status, to: name)
    }

    private func write(_ status: ServiceL2Status.Status, to name: String) async throws(KubeError) {
        let patch: JSONValue = [
            "status": [
                "node": .string(status.node ?? ""), "serviceName": .string(status.serviceName ?? ""),
                "serviceNamespace": .string(status.serviceNamespace ?? ""),
                "interfaces": .array((status.interfaces ?? []).map { ["name": .string($0.name ?? "")] }),
            ]
        ]
        _ = try await client.mergePatch(
            ServiceL2Status.self, namespace: namespace, name: name, patch: patch, subresource: "status")
    }

    private func remove(_ object: ServiceL2Status) async throws(KubeError) {
        do {
            try await client.delete(ServiceL2Status.self, namespace: namespace, name: object.metadata.name ?? "")
            logger.debug(
                "ServiceL2Status deleted",
                metadata: ["name": "\(object.metadata.name ?? "")", "node": "\(object.node ?? "")"])
        } catch  where error.code == .notFound {}
    }
}
