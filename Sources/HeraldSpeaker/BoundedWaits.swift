/// Returns when `signal` yields or `limit` has passed, whichever is first. For one-shot signals only: when the
/// time runs out, the wait on `signal` is cancelled, and that ends an AsyncStream for good.
func wait(for signal: AsyncStream<Void>, upTo limit: Duration) async {
    await firstToFinish(limit) {
        for await _ in signal { return }
    }
}

/// Runs `body` for `limit` at most: whichever finishes first, the other is cancelled.
func firstToFinish(_ limit: Duration, _ body: @escaping @Sendable () async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask { try? await Task.sleep(for: limit) }
        group.addTask { await body() }
        await group.next()
        group.cancelAll()
    }
}
