/// Runs `body` for `limit` at most: whichever finishes first, the other is cancelled.
func firstToFinish(_ limit: Duration, _ body: @escaping @Sendable () async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask { try? await Task.sleep(for: limit) }
        group.addTask { await body() }
        await group.next()
        group.cancelAll()
    }
}
