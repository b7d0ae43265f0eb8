import HeraldCore
import KubeAPI

/// The object a write goes to: a Service (its IPs), or an IPAddressPool (its status counts).
enum WriteSubject: Hashable, Sendable, Comparable {
    case service(ServiceKey)
    case pool(String)
}

/// What a write makes its object show: a Service the IPs of one pool, or nothing of Herald's; a pool its
/// counts.
enum WriteTarget: Hashable, Sendable, CustomStringConvertible {
    case assigned(pool: String, ips: [String])
    case cleared
    case poolStatus(IPAddressPool.Status)

    var description: String {
        switch self {
        case .assigned(let pool, let ips): "\(ips) from \(pool)"
        case .cleared: "cleared"
        case .poolStatus(let status): "\(status)"
        }
    }
}

/// The bookkeeping of the controller's writes to Services, in client-go's workqueue shape: at most one write
/// per object runs at a time, a newer write for an object replaces one still waiting (only the newest
/// matters), and a write for what the object is already being made to show is dropped.
///
/// Every write is fenced by the leadership term it was queued under: a write of an earlier term never
/// stands in for the same write of this one, and `isCurrent(term:)` is asked again when its turn comes.
///
/// Pure: no tasks and no clock. `AllocationController` runs what `enqueue` and `finished` hand back, up to
/// `maxConcurrent` at once.
struct StatusWriteQueue<Write: Sendable>: Sendable {
    /// One write as it is queued: whose, under which leadership, to show what.
    struct Item: Sendable {
        var subject: WriteSubject
        var term: Int
        var target: WriteTarget
        var write: Write
    }

    /// Per Service: the term and target of its newest queued or running write.
    private var targets: [WriteSubject: (term: Int, target: WriteTarget)] = [:]
    /// Per Service: the write that runs when the running one finishes.
    private var waiting: [WriteSubject: Item] = [:]

    /// Services with a write queued or running.
    var busyCount: Int { targets.count }

    /// Queues a write.
    /// - Returns: the item to start now; nil when it waits behind the Service's running write or was dropped
    ///   as the same as the newest one.
    mutating func enqueue(_ item: Item) -> Item? {
        if let current = targets[item.subject], current.term == item.term, current.target == item.target {
            return nil
        }
        let busy = targets[item.subject] != nil
        targets[item.subject] = (item.term, item.target)
        if busy {
            waiting[item.subject] = item
            return nil
        }
        return item
    }

    /// The Service's running write ended.
    /// - Returns: its waiting write, to start now.
    mutating func finished(_ subject: WriteSubject) -> Item? {
        if let next = waiting.removeValue(forKey: subject) { return next }
        targets[subject] = nil
        return nil
    }

    /// Leadership was lost: what waits is the next leader's to decide. Running writes finish (they check
    /// their term before they send) and keep their Service busy until then; the target left behind is of the
    /// old term, so it stands in for no write of the next.
    mutating func dropWaiting() {
        waiting.removeAll()
    }
}
