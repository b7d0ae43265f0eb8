import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The Kubernetes API over HTTPS with AsyncHTTPClient: bearer tokens or client certificates, the cluster's
/// CA, JSON bodies, streaming watches.
public final class HTTPKubeClient: KubeClient {
    /// How long a watch stays open before the server ends it (it is then resumed from the last version).
    static let watchSeconds = 300
    /// One watch event (one object) may be this long; etcd stores objects of at most 1.5 MiB.
    static let maxWatchLine = 16 << 20
    static let requestTimeout: TimeAmount = .seconds(30)
    static let maxBody = 256 << 20

    public let config: KubeConfig
    private let client: HTTPClient

    public init(config: KubeConfig) throws(KubeConfigError) {
        self.config = config
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = config.certificateAuthority {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if let certificate = config.clientCertificate, let key = config.clientKey {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch {
            throw KubeConfigError("TLS material: \(error) (check certificate-authority and client-certificate/key)")
        }
        if config.insecureSkipTLSVerify { tls.certificateVerification = .none }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit {
        try? client.syncShutdown()
    }

    /// Closes the connection pool; call before the process exits.
    public func shutdown() async {
        try? await client.shutdown()
    }

    // MARK: KubeClient

    public func list<R: KubeResource>(
        _ resource: R.Type, namespace: String?, type: ResourceType?
    ) async throws(KubeError) -> ObjectList<R> {
        let path = (type ?? R.type).path(namespace: namespace)
        return try await decode(ObjectList<R>.self, from: try await send(.GET, path))
    }

    public func get<R: KubeResource>(_ resource: R.Type, namespace: String?, name: String) async throws(KubeError) -> R
    {
        try await decode(R.self, from: try await send(.GET, R.type.path(namespace: namespace, name: name)))
    }

    public func create<R: KubeResource>(_ object: R, type: ResourceType?) async throws(KubeError) -> R {
        let path = (type ?? R.type).path(namespace: object.metadata.namespace)
        return try await decode(R.self, from: try await send(.POST, path, body: try encode(object)))
    }

    public func replace<R: KubeResource>(_ object: R, type: ResourceType?) async throws(KubeError) -> R {
        let path = (type ?? R.type).path(namespace: object.metadata.namespace, name: object.metadata.name)
        return try await decode(R.self, from: try await send(.PUT, path, body: try encode(object)))
    }

    public func mergePatch<R: KubeResource>(
        _ resource: R.Type, namespace: String?, name: String, patch: JSONValue,
        subresource: String?
    ) async throws(KubeError) -> R {
        let path = R.type.path(namespace: namespace, name: name, subresource: subresource)
        return try await decode(
            R.self,
            from: try await send(.PATCH, path, body: try encode(patch), contentType: "application/merge-patch+json"))
    }

    public func delete<R: KubeResource>(_ resource: R.Type, namespace: String?, name: String) async throws(KubeError) {
        _ = try await send(.DELETE, R.type.path(namespace: namespace, name: name))
    }

    public func watch<R: KubeResource>(
        _ resource: R.Type, namespace: String?, resourceVersion: String,
        type: ResourceType?
    ) -> AsyncThrowingStream<WatchEvent<R>, any Error> {
        let path =
            (type ?? R.type).path(namespace: namespace)
            + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=\(Self.watchSeconds)&resourceVersion=\(resourceVersion)"
        let request = makeRequest(.GET, path)
        let client = self.client
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let response = try await client.execute(request, timeout: .seconds(Int64(Self.watchSeconds + 30)))
                    guard response.status == .ok else {
                        let body = try await response.body.collect(upTo: 1 << 20)
                        throw Self.error(status: Int(response.status.code), body: Array(body.readableBytesView))
                    }
                    var pending: [UInt8] = []
                    for try await chunk in response.body {
                        pending += chunk.readableBytesView
                        // Every complete line of the chunk, then one removal of what was consumed.
                        var start = pending.startIndex
                        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                            let line = Array(pending[start..<newline])
                            start = newline + 1
                            if line.isEmpty { continue }
                            continuation.yield(try Self.watchEvent(R.self, line: line))
                        }
                        pending.removeSubrange(..<start)
                        guard pending.count <= Self.maxWatchLine else {
                            throw KubeError(.decoding, "a watch event longer than \(Self.maxWatchLine) bytes")
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Plumbing

    private func makeRequest(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json"
    ) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: config.server + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "herald")
        if let token = config.currentToken() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(body)
        }
        return request
    }

    private func send(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json"
    ) async throws(KubeError) -> [UInt8] {
        let request = makeRequest(method, path, body: body, contentType: contentType)
        do {
            let response = try await client.execute(request, timeout: Self.requestTimeout)
            let bytes = Array(try await response.body.collect(upTo: Self.maxBody).readableBytesView)
            guard (200..<300).contains(Int(response.status.code)) else {
                throw Self.error(status: Int(response.status.code), body: bytes)
            }
            return bytes
        } catch let error as KubeError {
            throw error
        } catch {
            throw KubeError(.transport, "\(method) \(config.server)\(path): \(error)")
        }
    }

    static func error(status: Int, body: [UInt8]) -> KubeError {
        let object = try? JSONDecoder().decode(StatusObject.self, from: Data(body))
        let message = object?.message ?? String(decoding: body.prefix(512), as: UTF8.self)
        return KubeError.fromStatus(status, message: message, reason: object?.reason)
    }

    static func watchEvent<R: KubeResource>(_ resource: R.Type, line: [UInt8]) throws(KubeError) -> WatchEvent<R> {
        let data = Data(line)
        let decoder = JSONDecoder()
        do {
            let type = try decoder.decode(WatchLine.self, from: data).type
            switch type {
            case "ADDED": return .added(try decoder.decode(WatchObject<R>.self, from: data).object)
            case "MODIFIED": return .modified(try decoder.decode(WatchObject<R>.self, from: data).object)
            case "DELETED": return .deleted(try decoder.decode(WatchObject<R>.self, from: data).object)
            case "BOOKMARK":
                return .bookmark(
                    resourceVersion: try decoder.decode(WatchObject<BookmarkObject>.self, from: data).object.metadata
                        .resourceVersion)
            case "ERROR":
                let status = try decoder.decode(WatchObject<StatusObject>.self, from: data).object
                throw KubeError.fromStatus(
                    status.code ?? 500, message: status.message ?? "watch error", reason: status.reason)
            default:
                throw KubeError(.decoding, "watch event of type \(type)")
            }
        } catch let error as KubeError {
            throw error
        } catch {
            throw KubeError(.decoding, "watch event: \(error)")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) async throws(KubeError) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
            throw KubeError(.decoding, "\(T.self): \(error)")
        }
    }

    private func encode(_ value: some Encodable) throws(KubeError) -> [UInt8] {
        do { return Array(try JSONEncoder().encode(value)) } catch {
            throw KubeError(.decoding, "encoding \(type(of: value)): \(error)")
        }
    }
}

/// The parts of a watch line: `{"type": "ADDED", "object": {…}}`.
private struct WatchLine: Decodable {
    var type: String
}

private struct WatchObject<Object: Decodable>: Decodable {
    var object: Object
}

private struct BookmarkObject: Decodable {
    struct Metadata: Decodable { var resourceVersion: String }
    var metadata: Metadata
}
