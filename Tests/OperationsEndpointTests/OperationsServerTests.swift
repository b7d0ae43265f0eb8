import AsyncHTTPClient
import HeraldTestSupport
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import OperationsEndpoint
import ReadinessChecks
import Prometheus
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@Suite struct BindAddressTests {
    @Test(arguments: [
        (":7472", ":7472"), ("127.0.0.1:0", "127.0.0.1:0"), ("[::1]:9000", "[::1]:9000"), ("[2001:db8::1]:7472", "[2001:db8::1]:7472"),
    ])
    func parses(text: String, description: String) throws {
        #expect(try BindAddress.parse(text)?.description == description)
    }

    @Test func zeroTurnsTheEndpointOff() throws {
        #expect(try BindAddress.parse("0") == nil)
    }

    @Test(arguments: ["7472", "host", "127.0.0.1:", "127.0.0.1:70000", "2001:db8::1:80", ":-1"])
    func refuses(text: String) {
        #expect(throws: BindAddressError.self) { try BindAddress.parse(text) }
    }
}

/// The endpoint on loopback, asked as Prometheus and the kubelet ask it.
@Suite struct OperationsServerTests {
    @Test func servesMetricsHealthAndReadiness() async throws {
        let registry = PrometheusCollectorRegistry()
        Counter(label: "herald_test_requests_total", dimensions: [("kind", "probe")], factory: PrometheusMetricsFactory(registry: registry))
            .increment(by: 3)
        let readiness = Readiness(pending: ["caches": "not listed yet"])
        var logger = Logger(label: "test.operations")
        logger.logLevel = .warning
        let server = OperationsServer(address: BindAddress(host: "127.0.0.1", port: 0), registry: registry, readiness: readiness, logger: logger)
        try await testGracefulShutdown { trigger in
            let run = Task { try await server.run() }
            var bound = server.boundAddress.makeAsyncIterator()
            let port = try #require(await bound.next()?.port)
            func get(_ path: String, method: HTTPMethod = .GET) async throws -> (UInt, String) {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                request.method = method
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
                return (response.status.code, String(buffer: try await response.body.collect(upTo: 1 << 20)))
            }
            let metrics = try await get("/metrics")
            #expect(metrics.0 == 200)
            #expect(metrics.1.contains(#"herald_test_requests_total{kind="probe"} 3"#), "\(metrics.1)")
            #expect(try await get("/healthz") == (200, "ok\n"))
            #expect(try await get("/readyz") == (503, "caches: not listed yet\n"))
            readiness.pass("caches")
            #expect(try await get("/readyz") == (200, "ok\n"))
            #expect(try await get("/nowhere").0 == 404)
            #expect(try await get("/metrics", method: .POST).0 == 405)
            #expect(try await get("/healthz", method: .HEAD) == (200, ""))
            trigger.triggerGracefulShutdown()
            try await run.value
        }
    }

    @Test func aPortInUseIsAClearError() async throws {
        let registry = PrometheusCollectorRegistry()
        let logger = Logger(label: "test.operations")
        let first = OperationsServer(address: BindAddress(host: "127.0.0.1", port: 0), registry: registry, readiness: Readiness(), logger: logger)
        try await testGracefulShutdown { trigger in
            let run = Task { try await first.run() }
            var bound = first.boundAddress.makeAsyncIterator()
            let port = try #require(await bound.next()?.port)
            let second = OperationsServer(address: BindAddress(host: "127.0.0.1", port: port), registry: registry, readiness: Readiness(), logger: logger)
            await #expect(throws: IOError.self) { try await second.run() }
            trigger.triggerGracefulShutdown()
            try await run.value
        }
    }
}
