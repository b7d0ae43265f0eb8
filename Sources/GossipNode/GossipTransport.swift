/// One packet as it arrived: the bytes of a datagram, or of one frame of a stream.
public struct ReceivedPacket: Sendable {
    public var bytes: [UInt8]
    /// The sender's socket address as seen by the transport, for logs (the gossip sender is in the message).
    public var source: String
    public var stream: Bool

    public init(bytes: [UInt8], source: String, stream: Bool) {
        self.bytes = bytes
        self.source = source
        self.stream = stream
    }
}

/// How gossip moves bytes: datagrams for probes and gossip, a stream for full state (join, push-pull,
/// leave), as memberlist does. The membership state machine never sees it; `GossipNode` drives the machine
/// over any transport, so a test can swap in an in-memory one.
public protocol GossipTransport: Sendable {
    /// Where this transport listens (with the port the kernel chose if 0 was asked).
    var localAddress: GossipAddress { get }
    /// Every packet received, until `close()`.
    var packets: AsyncStream<ReceivedPacket> { get }
    /// Sends one packet: a datagram, or with `stream`, one length-prefixed frame on a new connection.
    /// Returns when the bytes are handed to the kernel; throws when they cannot be (no route, refused).
    func send(_ packet: [UInt8], to address: GossipAddress, stream: Bool) async throws
    /// Stops listening and finishes `packets`.
    func close() async
}
