public import Logging
public import NIOCore
import NIOHTTP1
public import NIOPosix
public import Prometheus
public import ReadinessChecks
public import ServiceLifecycle

/// The HTTP endpoint operators and the kubelet use: `/metrics` for Prometheus, `/healthz` for the liveness
/// probe, `/readyz` for the readiness probe (503 with the failing checks until `readiness` passes), and any
/// JSON `documents` the program adds (the speaker's `/membership`).
public final class OperationsServer: ServiceLifecycle.Service {
    /// A JSON document, computed at each request from thread-safe state (it runs on an event loop).
    public typealias Document = @Sendable () -> String

    private let address: BindAddress
    private let registry: PrometheusCollectorRegistry
    private let readiness: Readiness
    private let documents: [String: Document]
    private let logger: Logger
    private let group: any EventLoopGroup
    /// The address actually bound (port 0 resolved), once `run` has bound it.
    public let boundAddress: AsyncStream<SocketAddress>
    private let boundContinuation: AsyncStream<SocketAddress>.Continuation

    public init(
        address: BindAddress, registry: PrometheusCollectorRegistry, readiness: Readiness,
        documents: [String: Document] = [:],
        logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.address = address
        self.registry = registry
        self.readiness = readiness
        self.documents = documents
        self.logger = logger
        self.group = group
        (boundAddress, boundContinuation) = AsyncStream.makeStream(
            of: SocketAddress.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func run() async throws {
        let channel = try await bind()
        defer { boundContinuation.finish() }
        if let local = channel.localAddress {
            logger.notice(
                "serving /metrics, /healthz and /readyz\(documents.keys.sorted().map { ", " + $0 }.joined())",
                metadata: ["address": "\(local)"])
            boundContinuation.yield(local)
        }
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }

    /// `:PORT` binds IPv6's any-address, which takes IPv4 too on Linux, and falls back to IPv4's where the
    /// host has no IPv6.
    private func bind() async throws -> any Channel {
        guard let host = address.host else {
            do { return try await bind(host: "::") } catch { return try await bind(host: "0.0.0.0") }
        }
        return try await bind(host: host)
    }

    private func bind(host: String) async throws -> any Channel {
        let (registry, readiness, documents) = (self.registry, self.readiness, self.documents)
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        OperationsHTTPHandler(registry: registry, readiness: readiness, documents: documents))
                }
            }
            .bind(host: host, port: address.port).get()
    }
}
