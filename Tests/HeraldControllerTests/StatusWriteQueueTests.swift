import HeraldCore
import Testing

@testable import HeraldController

/// The controller's write bookkeeping, as values: which write starts, which waits, which is dropped.
@Suite struct StatusWriteQueueTests {
    typealias Queue = StatusWriteQueue<Int>
    let web = WriteSubject.service(ServiceKey(namespace: "default", name: "web"))
    let db = WriteSubject.service(ServiceKey(namespace: "default", name: "db"))
    let shown = WriteTarget.assigned(pool: "lan", ips: ["192.0.2.10"])
    let moved = WriteTarget.assigned(pool: "lan", ips: ["192.0.2.11"])

    func item(_ subject: WriteSubject, term: Int = 1, _ target: WriteTarget, write: Int) -> Queue.Item {
        Queue.Item(subject: subject, term: term, target: target, write: write)
    }

    @Test func aWriteForAnIdleServiceStartsAtOnce() {
        var queue = Queue()
        #expect(queue.enqueue(item(web, shown, write: 1))?.write == 1)
        #expect(queue.enqueue(item(db, shown, write: 2))?.write == 2)
        #expect(queue.busyCount == 2)
    }

    @Test func theSameTargetAgainIsDroppedWhileQueuedOrRunning() {
        var queue = Queue()
        _ = queue.enqueue(item(web, shown, write: 1))
        #expect(queue.enqueue(item(web, shown, write: 2)) == nil)
        #expect(queue.finished(web) == nil)
        #expect(queue.busyCount == 0)
        // Once it has finished, the same target is a new write (the Service may have been changed since).
        #expect(queue.enqueue(item(web, shown, write: 3))?.write == 3)
    }

    @Test func aNewerWriteReplacesTheOneWaitingAndRunsAfterTheRunningOne() {
        var queue = Queue()
        _ = queue.enqueue(item(web, shown, write: 1))
        #expect(queue.enqueue(item(web, .cleared, write: 2)) == nil)
        #expect(queue.enqueue(item(web, moved, write: 3)) == nil)
        #expect(queue.finished(web)?.write == 3)
        #expect(queue.finished(web) == nil)
        #expect(queue.busyCount == 0)
    }

    @Test func aWriteOfAnEarlierTermDoesNotStandInForTheSameWriteOfThisOne() {
        var queue = Queue()
        _ = queue.enqueue(item(web, term: 1, shown, write: 1))
        let again = queue.enqueue(item(web, term: 2, shown, write: 2))
        #expect(again == nil, "waits behind the running write, one per Service")
        #expect(queue.finished(web)?.write == 2)
    }

    @Test func losingLeadershipDropsWhatWaitsButKeepsTheRunningWriteAlone() {
        var queue = Queue()
        _ = queue.enqueue(item(web, term: 1, shown, write: 1))
        _ = queue.enqueue(item(web, term: 1, moved, write: 2))
        queue.dropWaiting()
        // The running write still holds the Service: a write of the next term waits for it.
        #expect(queue.enqueue(item(web, term: 2, moved, write: 3)) == nil)
        #expect(queue.finished(web)?.write == 3)
        #expect(queue.finished(web) == nil)
    }
}
