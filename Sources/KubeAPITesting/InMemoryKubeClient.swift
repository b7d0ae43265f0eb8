import Foundation
public import KubeAPI

/// The Kubernetes API in memory, for fast unit tests, with the server's semantics where Herald depends on
/// them: a cluster-wide resourceVersion on every write, `Conflict` on a stale replace, `AlreadyExists`,
/// `status` changed only through the status subresource, watches that replay from a resourceVersion and end
/// with `Gone` when it is older than the kept history, bookmarks on demand. Never the only proof of a
/// feature: the same tests run against the real kube-apiserver.
public actor InMemoryKubeClient: KubeClient {
    struct Stored {
        var json: JSONValue
        var namespace: String?
    }

    struct HistoryEntry {
        let version: Int
        let type: String
        let namespace: String?
        let kind: String
        let json: JSONValue
    }

    struct Watcher {
        let type: String
        let namespace: String?
        let deliver: @Sendable (String, JSONValue) -> Void
        let finish: @Sendable ((any Error)?) -> Void
    }

    private var objects: [String: [String: Stored]] = [:]
    private var version = 1
    private var history: [HistoryEntry] = []
    private var oldestReplayable = 1
    private var watchers: [UUID: Watcher] = [:]
    private var uidCounter = 0
    /// Requests fail with this while set (an apiserver that went away).
    public var outage: KubeError?
    /// Requests and watches refused during outages.
    public private(set) var refusedRequests = 0

    public init() {}

    public func setOutage(_ error: KubeError?) {
        outage = error
        if let error { for (id, watcher) in watchers { watcher.finish(error); watchers[id] = nil } }
    }

    /// Forgets the event history, so a watch from any earlier version gets `410 Gone` (as after etcd compaction).
    public func compactHistory() {
        history.removeAll()
        oldestReplayable = version + 1
        for (id, watcher) in watchers {
            watcher.finish(KubeError(.gone, status: 410, "too old resource version"))
            watchers[id] = nil
        }
    }

    /// Sends a bookmark with the current version to every watch.
    public func sendBookmarks() {
        for watcher in watchers.values {
            watcher.deliver("BOOKMARK", ["metadata": ["resourceVersion": .string(String(version))]])
        }
    }

    // MARK: KubeClient

    public func list<R: KubeResource>(
        _ resource: R.Type, namespace: String?, type: ResourceType?
    ) async throws(KubeError) -> ObjectList<R> {
        try check()
        let typeID = (type ?? R.type).description
        let items = (objects[typeID] ?? [:]).sorted { $0.key < $1.key }
            .filter { namespace == nil || $0.value.namespace == namespace }
            .map(\.value.json)
        let list: JSONValue = ["metadata": ["resourceVersion": .string(String(version))], "items": .array(items)]
        return try Self.decode(ObjectList<R>.self, list)
    }

    public func get<R: KubeResource>(_ resource: R.Type, namespace: String?, name: String) async throws(KubeError) -> R
    {
        try check()
        guard let stored = objects[R.type.description]?[Self.key(namespace, name)] else {
            throw KubeError(.notFound, status: 404, "\(R.type.plural) \"\(name)\" not found")
        }
        return try Self.decode(R.self, stored.json)
    }

    public func create<R: KubeResource>(_ object: R, type: ResourceType?) async throws(KubeError) -> R {
        try check()
        let resourceType = type ?? R.type
        var meta = object.metadata
        if meta.name == nil, let prefix = meta.generateName {
            uidCounter += 1
            meta.name = prefix + String(uidCounter, radix: 36)
        }
        guard let name = meta.name, !name.isEmpty else {
            throw KubeError(.invalid, status: 422, "metadata.name: Required value")
        }
        if resourceType.namespaced && meta.namespace == nil {
            throw KubeError(.invalid, status: 422, "metadata.namespace: Required value")
        }
        let key = Self.key(meta.namespace, name)
        if objects[resourceType.description]?[key] != nil {
            throw KubeError(.alreadyExists, status: 409, "\(resourceType.plural) \"\(name)\" already exists")
        }
        uidCounter += 1
        meta.uid = "uid-\(uidCounter)"
        meta.creationTimestamp = Timestamps.time()
        meta.generation = 1
        var stored = object
        stored.metadata = meta
        return try write(stored, type: resourceType, kind: "ADDED")
    }

    public func replace<R: KubeResource>(_ object: R, type: ResourceType?) async throws(KubeError) -> R {
        try check()
        let resourceType = type ?? R.type
        let key = Self.key(object.metadata.namespace, object.metadata.name ?? "")
        guard let current = objects[resourceType.description]?[key] else {
            throw KubeError(
                .notFound, status: 404, "\(resourceType.plural) \"\(object.metadata.name ?? "")\" not found")
        }
        let currentObject = try Self.decode(R.self, current.json)
        if let given = object.metadata.resourceVersion, given != currentObject.metadata.resourceVersion {
            throw KubeError(
                .conflict, status: 409,
                "Operation cannot be fulfilled on \(resourceType.plural) \"\(object.metadata.name ?? "")\": the object "
                    + "has been modified; please apply your changes to the latest version and try again"
            )
        }
        var updated = object
        updated.metadata.uid = currentObject.metadata.uid
        updated.metadata.creationTimestamp = currentObject.metadata.creationTimestamp
        // PUT on the main resource cannot change status.
        var json = try Self.encode(updated)
        if case .object(var fields) = json, case .object(let old) = current.json {
            fields["status"] = old["status"]
            json = .object(fields)
        }
        return try write(try Self.decode(R.self, json), type: resourceType, kind: "MODIFIED")
    }

    public func mergePatch<R: KubeResource>(
        _ resource: R.Type, namespace: String?, name: String, patch: JSONValue,
        subresource: String?
    ) async throws(KubeError) -> R {
        try check()
        guard let current = objects[R.type.description]?[Self.key(namespace, name)] else {
            throw KubeError(.notFound, status: 404, "\(R.type.plural) \"\(name)\" not found")
        }
        guard case .object(var changes) = patch else {
            throw KubeError(.invalid, status: 422, "a merge patch is a JSON object")
        }
        if subresource == "status" {
            changes = changes.filter { $0.key == "status" }
        } else {
            changes["status"] = nil
        }
        let merged = current.json.merging(.object(changes))
        return try write(try Self.decode(R.self, merged), type: R.type, kind: "MODIFIED")
    }

    public func delete<R: KubeResource>(_ resource: R.Type, namespace: String?, name: String) async throws(KubeError) {
        try check()
        let key = Self.key(namespace, name)
        guard let current = objects[R.type.description]?.removeValue(forKey: key) else {
            throw KubeError(.notFound, status: 404, "\(R.type.plural) \"\(name)\" not found")
        }
        version += 1
        var json = current.json
        if case .object(var fields) = json, case .object(var meta) = fields["metadata"] ?? .null {
            meta["resourceVersion"] = .string(String(version))
            fields["metadata"] = .object(meta)
            json = .object(fields)
        }
        record(type: R.type.description, namespace: namespace, kind: "DELETED", json: json)
    }

    public nonisolated func watch<R: KubeResource>(
        _ resource: R.Type, namespace: String?, resourceVersion: String,
        type: ResourceType?
    ) -> AsyncThrowingStream<WatchEvent<R>, any Error> {
        let typeID = (type ?? R.type).description
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: WatchEvent<R>.self)
        let deliver: @Sendable (String, JSONValue) -> Void = { kind, json in
            do {
                switch kind {
                case "ADDED": continuation.yield(.added(try Self.decode(R.self, json)))
                case "MODIFIED": continuation.yield(.modified(try Self.decode(R.self, json)))
                case "DELETED": continuation.yield(.deleted(try Self.decode(R.self, json)))
                default:
                    if case .object(let fields) = json, case .object(let meta) = fields["metadata"] ?? .null,
                        case .string(let version) = meta["resourceVersion"] ?? .null
                    {
                        continuation.yield(.bookmark(resourceVersion: version))
                    }
                }
            } catch {
                continuation.finish(throwing: error)
            }
        }
        let finish: @Sendable ((any Error)?) -> Void = { error in continuation.finish(throwing: error) }
        let id = UUID()
        Task {
            await self.register(
                id: id, Watcher(type: typeID, namespace: namespace, deliver: deliver, finish: finish),
                from: resourceVersion)
        }
        continuation.onTermination = { _ in Task { await self.unregister(id) } }
        return stream
    }

    // MARK: Internals

    private func register(id: UUID, _ watcher: Watcher, from resourceVersion: String) {
        if let outage {
            refusedRequests += 1
            watcher.finish(outage)
            return
        }
        guard let from = Int(resourceVersion) else {
            watcher.finish(KubeError(.invalid, status: 422, "resourceVersion \"\(resourceVersion)\" is not a number"))
            return
        }
        guard from + 1 >= oldestReplayable else {
            watcher.finish(KubeError(.gone, status: 410, "too old resource version: \(from) (\(oldestReplayable - 1))"))
            return
        }
        for entry in history
        where entry.version > from && entry.type == watcher.type
            && (watcher.namespace == nil || entry.namespace == watcher.namespace)
        {
            watcher.deliver(entry.kind, entry.json)
        }
        watchers[id] = watcher
    }

    private func unregister(_ id: UUID) { watchers[id] = nil }

    private func check() throws(KubeError) {
        if let outage {
            refusedRequests += 1
            throw outage
        }
    }

    private func write<R: KubeResource>(_ object: R, type: ResourceType, kind: String) throws(KubeError) -> R {
        version += 1
        var stored = object
        stored.metadata.resourceVersion = String(version)
        let json = try Self.encode(stored)
        let key = Self.key(stored.metadata.namespace, stored.metadata.name ?? "")
        objects[type.description, default: [:]][key] = Stored(json: json, namespace: stored.metadata.namespace)
        record(type: type.description, namespace: stored.metadata.namespace, kind: kind, json: json)
        return stored
    }

    private func record(type: String, namespace: String?, kind: String, json: JSONValue) {
        history.append(HistoryEntry(version: version, type: type, namespace: namespace, kind: kind, json: json))
        if history.count > 10_000 {
            history.removeFirst(1000)
            oldestReplayable = history.first?.version ?? version + 1
        }
        for watcher in watchers.values
        where watcher.type == type && (watcher.namespace == nil || watcher.namespace == namespace) {
            watcher.deliver(kind, json)
        }
    }

    static func key(_ namespace: String?, _ name: String) -> String { ObjectMeta(name: name, namespace: namespace).key }

    static func encode(_ value: some Encodable) throws(KubeError) -> JSONValue {
        do { return try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value)) } catch {
            throw KubeError(.decoding, "\(error)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ json: JSONValue) throws(KubeError) -> T {
        do { return try JSONDecoder().decode(T.self, from: JSONEncoder().encode(json)) } catch {
            throw KubeError(.invalid, status: 422, "\(T.self): \(error)")
        }
    }
}
