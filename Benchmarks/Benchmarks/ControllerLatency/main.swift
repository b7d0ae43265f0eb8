// Time from Service creation to EXTERNAL-IP, against a real kube-apiserver with herald-controller running
// (scripts/bench-controller starts both, on an IPv6 single-stack cluster with a 2001:db8:1::/112 pool). Creates
// Services in a namespace of its own, either in a burst or at a steady rate, and watches for their
// status.loadBalancer.ingress.
// Usage: ControllerLatency KUBECONFIG COUNT RATE   (RATE 0: a burst, as fast as the apiserver takes them)
import Foundation
import KubeAPI
import Logging

let arguments = CommandLine.arguments
guard arguments.count == 4, let count = Int(arguments[2]), let rate = Double(arguments[3]) else {
    print("usage: ControllerLatency KUBECONFIG COUNT RATE")
    exit(2)
}
let client = try HTTPKubeClient(config: KubeConfig.load(file: arguments[1]))
let namespace = "bench-\(String(UInt32.random(in: 0 ... .max), radix: 36))"
_ = try await client.create(Namespace(metadata: ObjectMeta(name: namespace)))

actor Clock {
    var created: [String: ContinuousClock.Instant] = [:]
    var assigned: [String: ContinuousClock.Instant] = [:]

    var failures: [String] = []

    func create(_ name: String) { created[name] = .now }
    func failed(_ name: String, _ error: any Error) {
        created[name] = nil
        failures.append("\(name): \(error)")
    }
    func assign(_ name: String) { if assigned[name] == nil { assigned[name] = .now } }
    var done: Int { assigned.count }
    func latencies() -> [Double] {
        created.compactMap { name, start in assigned[name].map { Double(($0 - start) / .microseconds(1)) / 1000 } }
    }
}

let clock = Clock()
var logger = Logger(label: "bench")
logger.logLevel = .error
let informer = Informer<KubernetesService>(client: client, namespace: namespace, logger: logger)
let watcher = Task {
    for await event in informer.events {
        if case .updated(_, let service) = event, !service.ingressIPs.isEmpty { await clock.assign(service.metadata.name ?? "") }
        if case .added(let service) = event, !service.ingressIPs.isEmpty { await clock.assign(service.metadata.name ?? "") }
    }
}
let runner = Task { await informer.run() }
while await !informer.hasSynced { try await Task.sleep(for: .milliseconds(10)) }

let started = ContinuousClock.now
let interval: Duration = rate > 0 ? .microseconds(Int64(1_000_000 / rate)) : .zero
await withTaskGroup(of: Void.self) { group in
    var inFlight = 0
    for index in 0..<count {
        if rate > 0 {
            let due = started + interval * index
            if due > .now { try? await Task.sleep(until: due) }
        }
        let name = "svc-\(index)"
        var spec = KubernetesService.Spec(type: "LoadBalancer", ports: [.init(port: 80)])
        spec.selector = ["app": name]
        let service = KubernetesService(metadata: ObjectMeta(name: name, namespace: namespace), spec: spec)
        if inFlight >= 32 {  // a burst: at most 32 creations in flight
            await group.next()
            inFlight -= 1
        }
        inFlight += 1
        group.addTask {
            await clock.create(name)
            do { _ = try await client.create(service) } catch { await clock.failed(name, error) }
        }
    }
}
let createdIn = ContinuousClock.now - started
let failures = await clock.failures
if !failures.isEmpty { print("\(failures.count) creations failed, e.g. \(failures[0])") }
let expected = count - failures.count
let deadline = ContinuousClock.now + .seconds(300)
while await clock.done < expected && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
let allIn = ContinuousClock.now - started
let latencies = await clock.latencies().sorted()
func percentile(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)] }
print(String(format: "| %d | %@ | %.1f s | %.1f s | %d | %.1f ms | %.1f ms | %.1f ms |", count, rate > 0 ? "\(Int(rate))/s" : "burst",
             Double(createdIn / .milliseconds(1)) / 1000, Double(allIn / .milliseconds(1)) / 1000, latencies.count,
             percentile(0.5), percentile(0.99), latencies.last ?? .nan))
runner.cancel()
watcher.cancel()
// The Services stay: scripts/bench-controller removes the whole cluster afterwards.
await client.shutdown()
