#if canImport(Glibc)
import Glibc
#endif

/// A system call that failed, with errno, where, and what to do about it.
/// Prints as `bind(AF_PACKET) on eth0: Operation not permitted (EPERM): the speaker needs CAP_NET_RAW`.
public struct SocketError: Error, Hashable, Sendable, CustomStringConvertible {
    public var call: String
    public var interface: String?
    public var errno: Int32

    public init(_ call: String, interface: String? = nil, errno: Int32) {
        self.call = call
        self.interface = interface
        self.errno = errno
    }

    public var description: String {
        let place = interface.map { " on \($0)" } ?? ""
        let name = Self.names[errno].map { " (\($0))" } ?? " (errno \(errno))"
        let hint: String
        switch errno {
        case EPERM, EACCES: hint = ": the speaker needs CAP_NET_RAW (run as root or grant the capability)"
        case ENODEV, ENXIO: hint = ": the interface does not exist (any more)"
        case ENETDOWN: hint = ": the interface is down"
        default: hint = ""
        }
        return "\(call)\(place): \(String(cString: strerror(errno)))\(name)\(hint)"
    }

    private static let names: [Int32: String] = [
        EPERM: "EPERM", EACCES: "EACCES", ENODEV: "ENODEV", ENXIO: "ENXIO", ENETDOWN: "ENETDOWN",
        EINVAL: "EINVAL", EBADF: "EBADF", EADDRINUSE: "EADDRINUSE", ENOBUFS: "ENOBUFS", EMSGSIZE: "EMSGSIZE",
    ]
}
