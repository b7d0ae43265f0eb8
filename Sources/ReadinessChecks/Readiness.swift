import Synchronization

/// What `/readyz` answers: ready once every check has passed, otherwise the checks still failing and why.
/// Set from any thread by the parts that know (informers synced, membership joined); read by the HTTP handler
/// without a hop to an actor, so a scrape never waits on the reconciler.
public final class Readiness: Sendable {
    private let failing: Mutex<[String: String]>

    /// - Parameter pending: the checks that must pass before the process is ready, with the reason shown until then.
    public init(pending: [String: String] = [:]) {
        failing = Mutex(pending)
    }

    public func pass(_ check: String) {
        _ = failing.withLock { $0.removeValue(forKey: check) }
    }

    public func fail(_ check: String, reason: String) {
        failing.withLock { $0[check] = reason }
    }

    public var isReady: Bool { failing.withLock { $0.isEmpty } }

    /// One line per failing check, sorted: `check: reason`.
    public var failures: [String] {
        failing.withLock { $0.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" } }
    }
}
