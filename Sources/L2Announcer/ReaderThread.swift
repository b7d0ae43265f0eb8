import CLinuxNet
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A dedicated OS thread for a blocking receive loop. Answering from the thread that received keeps the
/// answer path free of executor hops; a blocking loop on Swift's cooperative pool (two threads on a
/// two-core node) would starve everything else.
final class ReaderThread: Sendable {
    private let stopping = Mutex(false)
    private let finished: AsyncStream<Void>
    private let finish: AsyncStream<Void>.Continuation

    init() {
        (finished, finish) = AsyncStream.makeStream(of: Void.self)
    }

    var shouldStop: Bool { stopping.withLock { $0 } }

    /// Starts `body` on a new thread; `body` should return soon after `shouldStop` turns true. Returns the
    /// error number when no thread could be made (a thread limit reached).
    /// `name` (at most 15 bytes are kept) is what `top -H` and /proc/PID/task/TID/comm show.
    func start(named name: String, _ body: @escaping @Sendable () -> Void) -> Int32? {
        let task = Unmanaged.passRetained(
            Job(name: String(decoding: name.utf8.prefix(15), as: UTF8.self), body: body, done: finish)
        ).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                let job = Unmanaged<Job>.fromOpaque(argument!).takeRetainedValue()
                _ = CLinuxNet_set_thread_name(job.name)
                job.body()
                job.done.finish()
                return nil
            }, task)
        guard result == 0 else {
            Unmanaged<Job>.fromOpaque(task).release()
            finish.finish()
            return result
        }
        pthread_detach(thread)
        return nil
    }

    /// Asks the loop to stop and waits until it has.
    func stop() async {
        stopping.withLock { $0 = true }
        for await _ in finished {}
    }

    private final class Job: @unchecked Sendable {
        let name: String
        let body: @Sendable () -> Void
        let done: AsyncStream<Void>.Continuation
        init(name: String, body: @escaping @Sendable () -> Void, done: AsyncStream<Void>.Continuation) {
            self.name = name
            self.body = body
            self.done = done
        }
    }
}
