/// `body`'s result, or nil once `limit` has passed on `clock`; whichever comes first, the other is cancelled.
/// Herald's one bounded wait: a leave that must not hang on a dead peer, a status write at shutdown, a Lease
/// request to an apiserver that stopped answering.
public func withTimeLimit<T: Sendable>(
    _ limit: Duration, clock: ElapsedClock = .continuous, _ body: @escaping @Sendable () async -> T
) async -> T? {
    let deadline = clock.now() + limit
    return await withTaskGroup(of: T?.self) { group in
        group.addTask { await body() }
        group.addTask {
            try? await clock.sleep(until: deadline)
            return nil
        }
        defer { group.cancelAll() }
        return await group.next() ?? nil
    }
}
