public import Gossip

/// The measurements the targets are stated in, run in the simulator so that they are exact and
/// reproducible for a seed. Tests assert on them; the benchmark table prints them.
public enum Experiments {
    /// One crash: a converged cluster, a member killed at a random moment, and the time until every live
    /// member marks it dead.
    public struct CrashDetection: Sendable {
        /// Until every live member saw the crashed one dead; nil if that did not happen within the limit.
        public var detection: Duration?
        /// Members other than the crashed one declared dead by anyone during the run.
        public var falseDeaths: Int
        /// Gossip traffic per member per second, measured over the steady state before the crash.
        public var bytesPerMemberPerSecond: Double
    }

    /// Runs one crash trial. The crash happens at a random offset within a probe interval of a settled
    /// cluster, so trials sample every phase of the probe schedule.
    public static func crashDetection(
        nodes count: Int, configuration: GossipConfiguration, loss: Double = 0,
        seed: UInt64, limit: Duration = .seconds(30)
    ) -> CrashDetection {
        var simulator = Simulator(nodes: count, configuration: configuration, seed: seed)
        let names = (0..<count).map(Simulator.name)
        simulator.joinAll()
        _ = simulator.run(until: { $0.converged(alive: names) }, limit: .seconds(60))
        simulator.loss = loss
        // Settle past the join's burst of updates, then measure steady traffic.
        simulator.run(for: configuration.probeInterval * 20)
        let (bytesBefore, steadyStart) = (simulator.bytesSent, simulator.now)
        simulator.run(for: configuration.probeInterval * 20)
        let steadySeconds = Double((simulator.now - steadyStart) / .milliseconds(1)) / 1000
        let rate = Double(simulator.bytesSent - bytesBefore) / steadySeconds / Double(count)
        let offsetSteps = Int(simulator.random.next() % UInt64(max(1, configuration.probeInterval / simulator.step)))
        simulator.run(for: simulator.step * offsetSteps)
        let victim = names[Int(simulator.random.next() % UInt64(count))]
        simulator.crash(victim)
        let detection = simulator.run(until: { $0.everyone(sees: victim, as: .dead) }, limit: limit)
        let falseDeaths = simulator.events.filter { $0.member.status == .dead && $0.member.name != victim }.count
        return CrashDetection(detection: detection, falseDeaths: falseDeaths, bytesPerMemberPerSecond: rate)
    }

    /// A steady cluster under random loss for `duration`: how many times anyone declared a live member dead,
    /// and how many suspicions were raised (and refuted) on the way.
    public struct Stability: Sendable {
        public var falseDeaths: Int
        public var suspicions: Int
        public var bytesPerMemberPerSecond: Double
    }

    public static func stability(
        nodes count: Int, configuration: GossipConfiguration, loss: Double,
        duration: Duration, seed: UInt64
    ) -> Stability {
        var simulator = Simulator(nodes: count, configuration: configuration, seed: seed)
        let names = (0..<count).map(Simulator.name)
        simulator.joinAll()
        _ = simulator.run(until: { $0.converged(alive: names) }, limit: .seconds(60))
        simulator.events.removeAll()
        simulator.loss = loss
        let (bytesBefore, start) = (simulator.bytesSent, simulator.now)
        simulator.run(for: duration)
        let seconds = Double((simulator.now - start) / .milliseconds(1)) / 1000
        return Stability(
            falseDeaths: simulator.events.filter { $0.member.status == .dead }.count,
            suspicions: simulator.events.filter { $0.member.status == .suspect }.count,
            bytesPerMemberPerSecond: Double(simulator.bytesSent - bytesBefore) / seconds / Double(count))
    }
}

/// Percentiles by the nearest-rank method.
public func percentile(_ values: [Double], _ fraction: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = Int((fraction * Double(sorted.count)).rounded(.up))
    return sorted[min(sorted.count - 1, max(0, rank - 1))]
}
