import CLinuxNet

#if canImport(Glibc)
import Glibc
#endif

/// An AF_PACKET raw socket bound to one interface, with a BPF filter attached before the bind so that no frame
/// the filter refuses is ever queued, and with this host's own outgoing frames skipped.
public final class PacketSocket: Sendable {
    public let interfaceName: String
    public let interfaceIndex: Int32
    let descriptor: Int32

    /// One received frame and what the kernel said about it.
    public struct Reception: Sendable {
        public var length: Int
        /// The frame was addressed to another host (seen in promiscuous mode) or sent by this host.
        public var notForUs: Bool
        /// The frame carried an 802.1Q tag that the kernel took off before handing it over.
        public var hadVLANTag: Bool
    }

    public init(interfaceName: String, interfaceIndex: Int32, filter: BPFFilter) throws(SocketError) {
        self.interfaceName = interfaceName
        self.interfaceIndex = interfaceIndex
        let all: UInt16 = 0x0003  // ETH_P_ALL at bind: the filter chooses
        let fd = CLinuxNet_packet_socket(0)  // protocol 0: nothing queues before the filter and the bind
        guard fd >= 0 else { throw SocketError("socket(AF_PACKET)", interface: interfaceName, errno: errno) }
        do throws(SocketError) {
            try Self.check(
                filter.instructions.withUnsafeBufferPointer {
                    CLinuxNet_attach_filter(fd, $0.baseAddress, UInt16($0.count))
                }, "setsockopt(SO_ATTACH_FILTER)", interfaceName)
            // Best effort: kernels before 4.20 lack it, and the responder also skips frames from its own MAC.
            _ = CLinuxNet_ignore_outgoing(fd)
            try Self.check(CLinuxNet_enable_auxdata(fd), "setsockopt(PACKET_AUXDATA)", interfaceName)
            try Self.check(CLinuxNet_set_receive_timeout(fd, 100_000), "setsockopt(SO_RCVTIMEO)", interfaceName)
            try Self.check(CLinuxNet_bind_packet(fd, interfaceIndex, all), "bind(AF_PACKET)", interfaceName)
        } catch {
            close(fd)
            throw error
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    private static func check(_ result: Int32, _ call: String, _ interface: String) throws(SocketError) {
        let error = errno  // before anything else can touch it
        guard result == 0 else { throw SocketError(call, interface: interface, errno: error) }
    }

    /// Waits up to 100 ms for a frame; `nil` when none came, so a reader can check whether to stop.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Reception? {
        var packetType: Int32 = 0, index: Int32 = 0, tagged: Int32 = 0
        let received = CLinuxNet_receive_frame(
            descriptor, buffer.baseAddress, buffer.count, &packetType, &index, &tagged)
        let error = errno
        guard received >= 0 else {
            if error == EAGAIN || error == EWOULDBLOCK || error == EINTR { return nil }
            throw SocketError("recvmsg(AF_PACKET)", interface: interfaceName, errno: error)
        }
        // Bound to one interface, but a frame queued before the bind could come from another: never answer it here.
        guard index == interfaceIndex else { return Reception(length: received, notForUs: true, hadVLANTag: false) }
        let notForUs = packetType == CLinuxNet_PACKET_OTHERHOST || packetType == CLinuxNet_PACKET_OUTGOING
        return Reception(length: received, notForUs: notForUs, hadVLANTag: tagged != 0)
    }

    /// Sends a whole Ethernet frame.
    public func send(_ frame: [UInt8]) throws(SocketError) {
        let sent = frame.withUnsafeBytes { CLinuxNet_send_frame(descriptor, interfaceIndex, $0.baseAddress, $0.count) }
        let error = errno
        guard sent >= 0 else { throw SocketError("sendto(AF_PACKET)", interface: interfaceName, errno: error) }
        guard sent == frame.count else {
            throw SocketError(
                "sendto(AF_PACKET) sent \(sent) of \(frame.count) bytes", interface: interfaceName, errno: EMSGSIZE)
        }
    }
}
