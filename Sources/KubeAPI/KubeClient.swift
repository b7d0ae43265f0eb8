/// One change seen by a watch.
public enum WatchEvent<Resource: KubeResource>: Sendable {
    case added(Resource)
    case modified(Resource)
    case deleted(Resource)
    /// The server's progress marker: nothing to apply, but watching may resume from here.
    case bookmark(resourceVersion: String)
}

/// What Herald says to the Kubernetes API. `HTTPKubeClient` speaks to a real server; `InMemoryKubeClient`
/// (in KubeAPITesting) keeps objects in memory with the same semantics — resourceVersions, conflicts, watch
/// from a version, `410 Gone` for a version too old — for fast unit tests.
///
/// `type` defaults to the resource's own; pass another version of the same kind (e.g. `EndpointSlice.v1beta1`)
/// where the server lacks the default one.
public protocol KubeClient: Sendable {
    func list<R: KubeResource>(
        _ resource: R.Type, namespace: String?, type: ResourceType?
    ) async throws(KubeError) -> ObjectList<R>
    func get<R: KubeResource>(_ resource: R.Type, namespace: String?, name: String) async throws(KubeError) -> R
    func create<R: KubeResource>(_ object: R, type: ResourceType?) async throws(KubeError) -> R
    /// PUT: fails with `.conflict` when `object.metadata.resourceVersion` is not the current one.
    func replace<R: KubeResource>(_ object: R, type: ResourceType?) async throws(KubeError) -> R
    /// JSON merge patch (RFC 7386) of the object or of a subresource such as `status`.
    func mergePatch<R: KubeResource>(
        _ resource: R.Type, namespace: String?, name: String, patch: JSONValue,
        subresource: String?
    ) async throws(KubeError) -> R
    func delete<R: KubeResource>(_ resource: R.Type, namespace: String?, name: String) async throws(KubeError)
    /// Changes after `resourceVersion`, until the server ends the watch (its timeout) or an error; a version
    /// too old ends the stream with `KubeError.gone`.
    func watch<R: KubeResource>(
        _ resource: R.Type, namespace: String?, resourceVersion: String,
        type: ResourceType?
    ) -> AsyncThrowingStream<WatchEvent<R>, any Error>
}

extension KubeClient {
    public func list<R: KubeResource>(
        _ resource: R.Type, namespace: String? = nil
    ) async throws(KubeError) -> ObjectList<R> {
        try await list(resource, namespace: namespace, type: nil)
    }

    public func create<R: KubeResource>(_ object: R) async throws(KubeError) -> R {
        try await create(object, type: nil)
    }

    public func replace<R: KubeResource>(_ object: R) async throws(KubeError) -> R {
        try await replace(object, type: nil)
    }

    public func mergePatch<R: KubeResource>(
        _ resource: R.Type, namespace: String?, name: String, patch: JSONValue
    ) async throws(KubeError) -> R {
        try await mergePatch(resource, namespace: namespace, name: name, patch: patch, subresource: nil)
    }

    /// The EndpointSlice version the server serves: discovery.k8s.io/v1 (1.21+), else v1beta1 (1.20, the local
    /// test server). Other errors are thrown: they say nothing of the version.
    public func endpointSliceType() async throws(KubeError) -> ResourceType {
        do {
            _ = try await list(EndpointSlice.self, namespace: "default", type: EndpointSlice.type)
            return EndpointSlice.type
        } catch {
            guard error.code == .notFound else { throw error }
            return EndpointSlice.v1beta1
        }
    }
}

/// Why a request failed: the HTTP status class the caller acts on, and the server's message.
public struct KubeError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        public static let notFound = Code(name: "NotFound")
        public static let conflict = Code(name: "Conflict")
        public static let alreadyExists = Code(name: "AlreadyExists")
        /// The watch's resourceVersion is too old: list again.
        public static let gone = Code(name: "Gone")
        public static let unauthorized = Code(name: "Unauthorized")
        public static let forbidden = Code(name: "Forbidden")
        public static let invalid = Code(name: "Invalid")
        /// The server answered with another status.
        public static let server = Code(name: "ServerError")
        /// No answer: connection refused, TLS failure, timeout.
        public static let transport = Code(name: "Transport")
        /// An answer that is not what the API promises.
        public static let decoding = Code(name: "Decoding")
    }

    public var code: Code
    public var status: Int?
    public var message: String

    public init(_ code: Code, status: Int? = nil, _ message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    public var description: String { status.map { "\(code) (\($0)): \(message)" } ?? "\(code): \(message)" }

    static func fromStatus(_ status: Int, message: String, reason: String?) -> KubeError {
        let code: Code =
            switch status {
            case 401: .unauthorized
            case 403: .forbidden
            case 404: .notFound
            case 409: reason == "AlreadyExists" ? .alreadyExists : .conflict
            case 410: .gone
            case 422: .invalid
            default: .server
            }
        return KubeError(code, status: status, message)
    }
}
