import KubeAPI
import KubeAPITesting
import Logging
import Testing

/// The informer over the in-memory client: the list/watch semantics every controller relies on.
@Suite struct InformerTests {
    static func node(_ name: String, label: String = "a") -> Node {
        Node(metadata: ObjectMeta(name: name, labels: ["rack": label]))
    }

    actor Recorder {
        var seen: [String] = []
        func add(_ line: String) { seen.append(line) }
    }

    static func collect(_ informer: Informer<Node>, into recorder: Recorder) -> Task<Void, Never> {
        Task {
            for await event in informer.events {
                switch event {
                case .added(let node): await recorder.add("added \(node.key)")
                case .updated(_, let node): await recorder.add("updated \(node.key) \(node.metadata.labels?["rack"] ?? "")")
                case .deleted(let node): await recorder.add("deleted \(node.key)")
                case .synced: await recorder.add("synced")
                }
            }
        }
    }

    static func waitUntil(_ recorder: Recorder, has line: String, count: Int = 1) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while await recorder.seen.filter({ $0 == line }).count < count {
            guard ContinuousClock.now < deadline else {
                Issue.record("never saw \"\(line)\" ×\(count) within 30 s; saw \(await recorder.seen)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Runs an informer over `client` while `body` runs (after the first list), then stops it.
    static func withInformer(_ client: InMemoryKubeClient, _ body: (Informer<Node>, Recorder) async throws -> Void) async throws {
        let informer = Informer<Node>(client: client, logger: Logger(label: "test"))
        let recorder = Recorder()
        let collector = collect(informer, into: recorder)
        let runner = Task { await informer.run() }
        defer { runner.cancel() }
        try await waitUntil(recorder, has: "synced")
        try await body(informer, recorder)
        runner.cancel()
        await runner.value
        await collector.value
    }

    @Test func listsThenWatchesAndRelistsOnGoneWithoutDuplicates() async throws {
        let client = InMemoryKubeClient()
        _ = try await client.create(Self.node("n1"))
        try await Self.withInformer(client) { informer, recorder in
            _ = try await client.create(Self.node("n2"))
            try await Self.waitUntil(recorder, has: "added n2")
            _ = try await client.mergePatch(Node.self, namespace: nil, name: "n1", patch: ["metadata": ["labels": ["rack": "b"]]])
            try await Self.waitUntil(recorder, has: "updated n1 b")
            // History compacted while changes happen: the watch ends with 410 Gone, the informer lists again and
            // reports exactly the difference.
            await client.compactHistory()
            try await client.delete(Node.self, namespace: nil, name: "n2")
            _ = try await client.create(Self.node("n3"))
            try await Self.waitUntil(recorder, has: "synced", count: 2)
            try await Self.waitUntil(recorder, has: "deleted n2")
            try await Self.waitUntil(recorder, has: "added n3")
            let seen = await recorder.seen
            #expect(seen.filter { $0 == "added n1" }.count == 1, "n1 reported twice: \(seen)")
            #expect(await Set(informer.objects.keys) == ["n1", "n3"])
        }
    }

    @Test func survivesAnOutageAndCatchesUp() async throws {
        let client = InMemoryKubeClient()
        try await Self.withInformer(client) { _, recorder in
            await client.setOutage(KubeError(.transport, "connection refused"))
            // The informer's watch ends and its retries are refused at least once.
            let deadline = ContinuousClock.now + .seconds(30)
            while await client.refusedRequests == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(await client.refusedRequests > 0)
            await client.setOutage(nil)
            _ = try await client.create(Self.node("late"))
            try await Self.waitUntil(recorder, has: "added late")
        }
    }

    @Test func bookmarksMoveTheResumeVersion() async throws {
        let client = InMemoryKubeClient()
        try await Self.withInformer(client) { _, recorder in
            await client.sendBookmarks()
            _ = try await client.create(Self.node("after-bookmark"))
            try await Self.waitUntil(recorder, has: "added after-bookmark")
            #expect(await recorder.seen.filter { $0 == "synced" }.count == 1)
        }
    }
}
