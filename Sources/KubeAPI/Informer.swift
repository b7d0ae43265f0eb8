public import Logging

/// A change to an informer's cache.
public enum InformerEvent<Resource: KubeResource>: Sendable {
    case added(Resource)
    case updated(old: Resource, new: Resource)
    case deleted(Resource)
    /// The cache holds a complete, fresh list: after the first list and after every re-list.
    case synced
}

/// A local cache of one kind of object, kept current by list + watch: resumes a broken watch from the last
/// resourceVersion it saw (bookmarks included) with a backoff, and lists again when the server says that
/// version is gone (410), emitting only the differences, so no change is lost or seen twice.
public actor Informer<Resource: KubeResource> {
    public nonisolated let events: AsyncStream<InformerEvent<Resource>>
    private let continuation: AsyncStream<InformerEvent<Resource>>.Continuation
    private let client: any KubeClient
    private let namespace: String?
    private let type: ResourceType?
    private let logger: Logger
    private var cache: [String: Resource] = [:]
    private var resourceVersion: String?
    public private(set) var hasSynced = false

    static var initialBackoff: Duration { .milliseconds(250) }
    /// Short enough that a returning apiserver is seen within seconds, long enough (with the jitter below) that
    /// a thousand speakers retrying do not hammer it: client-go's reflector goes up to 30 s.
    static var maximumBackoff: Duration { .seconds(8) }

    public init(client: any KubeClient, namespace: String? = nil, type: ResourceType? = nil, logger: Logger) {
        self.client = client
        self.namespace = namespace
        self.type = type
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: InformerEvent<Resource>.self, bufferingPolicy: .unbounded)
    }

    /// Every object, by `namespace/name`.
    public var objects: [String: Resource] { cache }

    public func object(forKey key: String) -> Resource? { cache[key] }

    /// Lists and watches until the task is cancelled; then finishes `events`.
    public func run() async {
        var needsList = true
        var backoff = Self.initialBackoff
        while !Task.isCancelled {
            do {
                if needsList {
                    try await relist()
                    needsList = false
                }
                try await watchOnce()
                backoff = Self.initialBackoff
            } catch let error as KubeError where error.code == .gone {
                logger.info("watch version expired; listing again", metadata: ["resource": "\(type ?? Resource.type)"])
                needsList = true
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                logger.warning(
                    "list/watch failed; retrying",
                    metadata: [
                        "resource": "\(type ?? Resource.type)", "error": "\(error)", "retry_in": "\(backoff)",
                    ])
                try? await Task.sleep(for: backoff * Double.random(in: 0.8...1.2))
                // A watch that failed for any reason other than an expired version resumes where it was.
                backoff = min(backoff * 2, Self.maximumBackoff)
            }
        }
        continuation.finish()
    }

    private func relist() async throws {
        let list = try await client.list(Resource.self, namespace: namespace, type: type)
        var fresh: [String: Resource] = [:]
        for item in list.items { fresh[item.key] = item }
        for (key, old) in cache.sorted(by: { $0.key < $1.key }) where fresh[key] == nil {
            continuation.yield(.deleted(old))
        }
        for (key, new) in fresh.sorted(by: { $0.key < $1.key }) {
            if let old = cache[key] {
                if old != new { continuation.yield(.updated(old: old, new: new)) }
            } else {
                continuation.yield(.added(new))
            }
        }
        cache = fresh
        resourceVersion = list.metadata.resourceVersion
        hasSynced = true
        continuation.yield(.synced)
    }

    private func watchOnce() async throws {
        guard let version = resourceVersion else { throw KubeError(.gone, "no resourceVersion to watch from") }
        for try await event in client.watch(Resource.self, namespace: namespace, resourceVersion: version, type: type) {
            switch event {
            case .added(let object), .modified(let object):
                if let old = cache[object.key] {
                    if old != object { continuation.yield(.updated(old: old, new: object)) }
                } else {
                    continuation.yield(.added(object))
                }
                cache[object.key] = object
                resourceVersion = object.metadata.resourceVersion ?? resourceVersion
            case .deleted(let object):
                if let old = cache.removeValue(forKey: object.key) { continuation.yield(.deleted(old)) }
                resourceVersion = object.metadata.resourceVersion ?? resourceVersion
            case .bookmark(let version):
                resourceVersion = version
            }
        }
    }
}
