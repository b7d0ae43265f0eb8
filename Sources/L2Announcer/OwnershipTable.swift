public import HeraldCore
import Synchronization

/// The addresses an interface answers for. Read by the receiving thread on every frame, changed by whoever
/// decides ownership; a `Mutex` keeps both sides short and off the async executor.
public final class OwnershipTable: Sendable {
    private let addresses = Mutex<Set<IPAddress>>([])

    public init() {}

    public func contains(_ address: IPAddress) -> Bool { addresses.withLock { $0.contains(address) } }

    /// Adds `address`; `false` when it was there already.
    @discardableResult
    public func insert(_ address: IPAddress) -> Bool { addresses.withLock { $0.insert(address).inserted } }

    /// Removes `address`; `false` when it was not there.
    @discardableResult
    public func remove(_ address: IPAddress) -> Bool { addresses.withLock { $0.remove(address) != nil } }

    public var all: Set<IPAddress> { addresses.withLock { $0 } }
}
