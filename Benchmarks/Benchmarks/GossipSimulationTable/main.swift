// Prints the membership figures of the gossip issue from the deterministic simulator: crash detection time
// (until every live member marks the crashed one dead), false deaths under loss, and traffic per member, for
// Herald's `lan-fast` profile against memberlist's LAN defaults at equal loss. Seeds are fixed: a run prints
// the same table every time. Usage: GossipSimulationTable [--trials N] [--minutes M] [--only crash|stability]
import Foundation
import Gossip
import GossipSimulation

struct Options {
    var trials = 40
    var minutes = 10
    var only: String?
    /// Cluster sizes of the stability table.
    var stabilityNodes = [3, 10, 50]
    /// `lan-fast` with changes from `--set name=value`, for trying a tuning before changing the profile.
    var lanFast = GossipConfiguration.lanFast

    mutating func tune(_ assignment: String) {
        let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let value = Int(parts[1]) else { print("--set wants name=integer"); exit(2) }
        switch parts[0] {
        case "probe-ms": lanFast.probeInterval = .milliseconds(value)
        case "timeout-ms": lanFast.probeTimeout = .milliseconds(value)
        case "indirect": lanFast.indirectProbes = value
        case "suspicion": lanFast.suspicionMultiplier = value
        case "suspicion-max": lanFast.suspicionMaxTimeoutMultiplier = value
        case "confirmations": lanFast.suspicionConfirmations = value
        case "suspects-first": lanFast.probeSuspectsFirst = value != 0
        case "final-probe": lanFast.finalProbe = value != 0
        case "retransmit": lanFast.retransmitMultiplier = value
        case "piggyback": lanFast.maxPiggybackedUpdates = value
        case "gossip-ms": lanFast.gossipInterval = .milliseconds(value)
        case "gossip-nodes": lanFast.gossipNodes = value
        case "awareness": lanFast.awarenessMaxMultiplier = value
        default: print("unknown setting \(parts[0])"); exit(2)
        }
    }

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--trials": trials = Int(iterator.next() ?? "") ?? trials
            case "--minutes": minutes = Int(iterator.next() ?? "") ?? minutes
            case "--only": only = iterator.next()
            case "--stability-nodes": stabilityNodes = (iterator.next() ?? "").split(separator: ",").compactMap { Int($0) }
            case "--set": tune(iterator.next() ?? "")
            default: print("unknown argument \(argument)"); exit(2)
            }
        }
    }
}

let options = Options(CommandLine.arguments)
let profiles: [(String, GossipConfiguration)] = [("lan-fast", options.lanFast), ("memberlist-lan", .memberlistLAN)]

/// Runs `body` for every seed on all cores; results in seed order.
func parallel<T: Sendable>(_ seeds: [UInt64], _ body: @escaping @Sendable (UInt64) -> T) async -> [T] {
    await withTaskGroup(of: (Int, T).self) { group in
        var results: [T?] = Array(repeating: nil, count: seeds.count)
        let width = max(1, System.coreCount)
        var next = 0
        for _ in 0..<min(width, seeds.count) {
            let (index, seed) = (next, seeds[next])
            group.addTask { (index, body(seed)) }
            next += 1
        }
        for await (index, result) in group {
            results[index] = result
            if next < seeds.count {
                let (index, seed) = (next, seeds[next])
                group.addTask { (index, body(seed)) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}

enum System {
    static var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }
}

func format(_ milliseconds: Double) -> String {
    milliseconds.isNaN ? "—" : milliseconds >= 10_000 ? String(format: "%.1f s", milliseconds / 1000)
        : String(format: "%.0f ms", milliseconds)
}

if options.only != "stability" {
    print("Crash detection: a converged cluster, one member killed; time until every live member marks it dead")
    print("(\(options.trials) trials per row at 10 nodes, \(max(5, options.trials / 4)) at 100 nodes; seeds 1…)\n")
    print("| profile | nodes | loss | p50 | p99 | max | undetected | false deaths | traffic per member |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (nodes, loss) in [(10, 0.0), (10, 0.10), (100, 0.0)] {
        for (name, configuration) in profiles {
            let trials = nodes >= 100 ? max(5, options.trials / 4) : options.trials
            let results = await parallel((1...UInt64(trials)).map { $0 }) { seed in
                Experiments.crashDetection(nodes: nodes, configuration: configuration, loss: loss, seed: seed,
                                           limit: .seconds(120))
            }
            let times: [Double] = results.compactMap(\.detection).map(\.milliseconds)
            let traffic: Double = results.map(\.bytesPerMemberPerSecond).reduce(0, +) / Double(results.count)
            let falseDeaths: Int = results.map(\.falseDeaths).reduce(0, +)
            let cells: [String] = [
                name, "\(nodes)", "\(Int(loss * 100))%", format(percentile(times, 0.5)), format(percentile(times, 0.99)),
                format(times.max() ?? .nan), "\(results.count - times.count)", "\(falseDeaths)",
                String(format: "%.1f kB/s", traffic / 1000),
            ]
            print("| " + cells.joined(separator: " | ") + " |")
        }
    }
    print()
}

if options.only != "crash" {
    let seeds: [UInt64] = [1, 2, 3]
    print("Stability: 10% random loss on every message for \(options.minutes) simulated minutes; "
        + "members declared dead although alive (seeds \(seeds.map(String.init).joined(separator: ", ")))\n")
    print("| profile | nodes | false deaths | suspect events (member × observer, all refuted) | traffic per member |")
    print("|---|---:|---:|---:|---:|")
    for nodes in options.stabilityNodes {
        for (name, configuration) in profiles {
            let results = await parallel(seeds) { seed in
                Experiments.stability(nodes: nodes, configuration: configuration, loss: 0.10,
                                      duration: .seconds(60 * options.minutes), seed: seed)
            }
            let traffic: Double = results.map(\.bytesPerMemberPerSecond).reduce(0, +) / Double(results.count)
            let cells: [String] = [
                name, "\(nodes)", "\(results.map(\.falseDeaths).reduce(0, +))", "\(results.map(\.suspicions).reduce(0, +))",
                String(format: "%.1f kB/s", traffic / 1000),
            ]
            print("| " + cells.joined(separator: " | ") + " |")
        }
    }
}
