import CLinuxNet

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on a fresh thread that has entered the network namespace `name` (`ip netns add` made it), and
/// returns its result. Sockets and netlink handles opened in `body` belong to that namespace and keep working
/// from any thread, which lets a test run a library component in-process against a lab namespace.
public func inNetworkNamespace<T>(_ name: String, _ body: @escaping () throws -> T) throws -> T {
    let job = NamespaceJob(name: name) { try body() as Any }
    var thread = pthread_t()
    let started = pthread_create(
        &thread, nil,
        { argument in
            let job = Unmanaged<NamespaceJob>.fromOpaque(argument!).takeUnretainedValue()
            guard CLinuxNet_enter_network_namespace("/run/netns/\(job.name)") == 0 else {
                job.result = .failure(
                    NamespaceError(description: "cannot enter network namespace \(job.name): errno \(errno)"))
                return nil
            }
            job.result = Result { try job.body() }
            return nil
        }, Unmanaged.passUnretained(job).toOpaque())
    guard started == 0 else { throw NamespaceError(description: "pthread_create: \(started)") }
    pthread_join(thread, nil)
    return try job.result!.get() as! T
}

private final class NamespaceJob: @unchecked Sendable {
    let name: String
    let body: () throws -> Any
    var result: Result<Any, any Error>?
    init(name: String, body: @escaping () throws -> Any) {
        self.name = name
        self.body = body
    }
}

struct NamespaceError: Error, CustomStringConvertible {
    var description: String
}

/// Moves the calling thread into the network namespace `name` for good: run it on an event loop's thread
/// (`loop.submit { try enterNetworkNamespace(name) }`) and that loop's sockets are made in the namespace.
public func enterNetworkNamespace(_ name: String) throws {
    guard CLinuxNet_enter_network_namespace("/run/netns/\(name)") == 0 else {
        throw NamespaceError(description: "cannot enter network namespace \(name): errno \(errno)")
    }
}
