import NIOCore
import NIOHTTP1
import Prometheus
import ReadinessChecks

/// Answers `GET /metrics` (Prometheus text format), `/healthz` and `/readyz` on one HTTP/1.1 connection. Every
/// answer is computed synchronously from thread-safe state: a scrape never waits on a reconciler.
final class OperationsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let readiness: Readiness
    private let documents: [String: OperationsServer.Document]
    private var request: HTTPRequestHead?

    init(
        registry: PrometheusCollectorRegistry, readiness: Readiness,
        documents: [String: OperationsServer.Document] = [:]
    ) {
        self.registry = registry
        self.readiness = readiness
        self.documents = documents
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break  // none of the endpoints takes a body
        case .end:
            guard let head = request else { return }
            request = nil
            let (status, contentType, body) = answer(head)
            respond(context: context, head: head, status: status, contentType: contentType, body: body)
        }
    }

    func answer(_ head: HTTPRequestHead) -> (HTTPResponseStatus, String, [UInt8]) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, "text/plain; charset=utf-8", Array("only GET and HEAD\n".utf8))
        }
        switch path {
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", registry.emitToBuffer())
        case "/healthz", "/livez":
            return (.ok, "text/plain; charset=utf-8", Array("ok\n".utf8))
        case "/readyz":
            let failures = readiness.failures
            if failures.isEmpty { return (.ok, "text/plain; charset=utf-8", Array("ok\n".utf8)) }
            return (
                .serviceUnavailable, "text/plain; charset=utf-8", Array((failures.joined(separator: "\n") + "\n").utf8)
            )
        default:
            if let document = documents[path] { return (.ok, "application/json", Array(document().utf8)) }
            let paths = (["/metrics", "/healthz", "/readyz"] + documents.keys.sorted()).joined(separator: ", ")
            return (.notFound, "text/plain; charset=utf-8", Array("not found: try \(paths)\n".utf8))
        }
    }

    private func respond(
        context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus, contentType: String,
        body: [UInt8]
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        if head.method != .HEAD {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
