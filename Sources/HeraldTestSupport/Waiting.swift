import Foundation

/// A wait that ran out, naming what it waited for.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public var awaited: String
    public var limit: Duration
    public var last: String
    public var description: String { "waited \(limit) for \(awaited); last seen: \(last)" }
}

/// Checks `condition` every `interval` until it returns a value or `limit` passes. For conditions outside the
/// process (a neighbour entry, a packet on the wire) that have no event to await.
public func waitFor<T: Sendable>(
    _ what: String, limit: Duration = .seconds(5), interval: Duration = .milliseconds(50),
    _ condition: @Sendable () async throws -> (T?, String)
) async throws -> T {
    let deadline = ContinuousClock.now + limit
    var last = ""
    while true {
        let (value, seen) = try await condition()
        if let value { return value }
        last = seen
        guard ContinuousClock.now < deadline else { throw DeadlineExceeded(awaited: what, limit: limit, last: last) }
        try await Task.sleep(for: interval)
    }
}

/// Runs CPU-bound work (a long simulation) on a thread of its own and waits for its result. Swift Testing runs
/// synchronous tests on the cooperative pool, which has one thread per core (two here): a test that computes
/// for seconds there starves every async test of the run — their bounded waits then time out for nothing.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: work()) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
