import Foundation
public import Logging

/// Writes core Events about objects, as `kubectl describe` shows them. A repeat of the same reason and message
/// for the same object within ten minutes raises the count of the existing Event instead of creating another
/// (as client-go's aggregation does). Best effort: a failure is logged, never thrown — an Event must not
/// stop the work it reports.
public actor EventRecorder {
    public enum Kind: String, Sendable {
        case normal = "Normal"
        case warning = "Warning"
    }

    struct Seen {
        var namespace: String
        var name: String
        var count: Int
        var last: Date
    }

    private let client: any KubeClient
    private let component: String
    private let logger: Logger
    private var seen: [String: Seen] = [:]
    static let aggregationWindow: TimeInterval = 600

    private struct Posted: Sendable {
        var kind: Kind, reason: String, message: String, object: Event.ObjectReference
    }
    private let posted: AsyncStream<Posted>
    private let postedContinuation: AsyncStream<Posted>.Continuation
    /// Events posted and not yet written beyond this many are dropped (oldest first) while the apiserver is slow.
    static let postedLimit = 1000

    public init(client: any KubeClient, component: String, logger: Logger) {
        self.client = client
        self.component = component
        self.logger = logger
        (posted, postedContinuation) = AsyncStream.makeStream(
            of: Posted.self, bufferingPolicy: .bufferingNewest(Self.postedLimit))
    }

    /// Records an Event without waiting for the apiserver: for loops that must not stall on a slow server.
    /// Written in order by `run()`.
    public nonisolated func post(_ kind: Kind, reason: String, message: String, about object: Event.ObjectReference) {
        postedContinuation.yield(Posted(kind: kind, reason: reason, message: message, object: object))
    }

    /// Writes posted Events until cancelled.
    public func run() async {
        for await event in posted {
            await record(event.kind, reason: event.reason, message: event.message, about: event.object)
        }
    }

    public func record(_ kind: Kind, reason: String, message: String, about object: Event.ObjectReference) async {
        let namespace = object.namespace ?? "default"
        let identity = "\(object.kind ?? "")|\(namespace)|\(object.name ?? "")|\(object.uid ?? "")|\(reason)|\(message)"
        let now = Date()
        if var previous = seen[identity], now.timeIntervalSince(previous.last) < Self.aggregationWindow {
            previous.count += 1
            previous.last = now
            seen[identity] = previous
            do {
                _ = try await client.mergePatch(
                    Event.self, namespace: previous.namespace, name: previous.name,
                    patch: ["count": .number(Double(previous.count)), "lastTimestamp": .string(Timestamps.time(now))])
                return
            } catch {
                // The Event may have expired (events live an hour): create a new one below.
                seen[identity] = nil
            }
        }
        let name = "\(object.name ?? "object").\(String(UInt64(now.timeIntervalSince1970 * 1e9), radix: 16))"
        let stamp = Timestamps.time(now)
        let event = Event(
            metadata: ObjectMeta(name: name, namespace: namespace), involvedObject: object, reason: reason,
            message: message, type: kind.rawValue, firstTimestamp: stamp, lastTimestamp: stamp, component: component)
        do {
            _ = try await client.create(event)
            seen[identity] = Seen(namespace: namespace, name: name, count: 1, last: now)
            if seen.count > 10_000 {
                seen = seen.filter { now.timeIntervalSince($0.value.last) < Self.aggregationWindow }
            }
        } catch {
            logger.warning(
                "could not record an Event",
                metadata: ["reason": "\(reason)", "object": "\(namespace)/\(object.name ?? "")", "error": "\(error)"])
        }
    }
}

extension KubeResource {
    /// A reference to this object for an Event.
    public var reference: Event.ObjectReference {
        Event.ObjectReference(
            apiVersion: Self.type.apiVersion, kind: Self.type.kind, namespace: metadata.namespace,
            name: metadata.name, uid: metadata.uid)
    }
}
