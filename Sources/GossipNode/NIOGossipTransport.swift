public import NIOCore
public import NIOPosix
import Synchronization

/// Gossip over UDP and TCP on the same port with SwiftNIO: datagrams for probes, acks and gossip; one TCP
/// connection per full-state message, framed by a 4-byte big-endian length.
public final class NIOGossipTransport: GossipTransport {
    /// A full-state frame larger than this is refused (a 4096-member state is well under it).
    public static let maxFrameLength = 4 << 20
    /// A stream that has not delivered its frame by then is closed.
    static let streamTimeout: TimeAmount = .seconds(5)
    static let connectTimeout: TimeAmount = .seconds(1)

    public let localAddress: GossipAddress
    public let packets: AsyncStream<ReceivedPacket>
    private let continuation: AsyncStream<ReceivedPacket>.Continuation
    private let group: any EventLoopGroup
    private let listener: any Channel
    /// The UDP channel. NIO closes a datagram channel on most send errors (EPERM from a firewall rule,
    /// ENETUNREACH while a network restarts), which would leave the member deaf and mute on UDP for good:
    /// such a channel is replaced by a new one on the same address.
    private let datagram: Mutex<(channel: any Channel, closing: Bool)>
    private let reopenCount = Atomic<Int>(0)

    /// Binds UDP and TCP on `address`. With port 0 the kernel picks the UDP port and TCP takes the same one;
    /// when that TCP port is already in use (an outgoing connection may hold it), another pair is tried.
    public init(
        binding address: GossipAddress, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        let (packets, continuation) = AsyncStream.makeStream(
            of: ReceivedPacket.self, bufferingPolicy: .bufferingNewest(4096))
        self.group = group
        self.packets = packets
        self.continuation = continuation
        let attempts = address.port == 0 ? 16 : 1
        var attempt = 1
        let datagramChannel: any Channel
        while true {
            do {
                (datagramChannel, listener) = try await Self.bindPair(address, group: group, continuation: continuation)
                break
            } catch let error as IOError where error.errnoCode == EADDRINUSE && attempt < attempts {
                attempt += 1
            }
        }
        localAddress = GossipAddress(host: address.host, port: datagramChannel.localAddress?.port ?? address.port)
        datagram = Mutex((channel: datagramChannel, closing: false))
        watch(datagramChannel)
    }

    /// How many times the UDP channel was closed under the transport and opened again.
    public var datagramReopens: Int { reopenCount.load(ordering: .relaxed) }

    private func watch(_ channel: any Channel) {
        channel.closeFuture.whenComplete { [self] _ in
            guard !datagram.withLock({ $0.closing }) else { return }
            Task { await self.reopenDatagram() }
        }
    }

    /// Binds a new UDP channel on the same address, retrying with a backoff (up to 1 s) until it works or the
    /// transport closes.
    private func reopenDatagram() async {
        var delay = Duration.milliseconds(10)
        while !datagram.withLock({ $0.closing }) {
            do {
                let channel = try await Self.bindDatagram(localAddress, group: group, continuation: continuation)
                let closing = datagram.withLock { state in
                    if !state.closing { state.channel = channel }
                    return state.closing
                }
                if closing {
                    try? await channel.close()
                } else {
                    reopenCount.add(1, ordering: .relaxed)
                    watch(channel)
                }
                return
            } catch {
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            }
        }
    }

    private static func bindDatagram(
        _ address: GossipAddress, group: any EventLoopGroup,
        continuation: AsyncStream<ReceivedPacket>.Continuation
    ) async throws -> any Channel {
        try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramReceiver(continuation: continuation))
                }
            }
            .bind(host: address.host, port: address.port).get()
    }

    private static func bindPair(
        _ address: GossipAddress, group: any EventLoopGroup,
        continuation: AsyncStream<ReceivedPacket>.Continuation
    ) async throws -> (any Channel, any Channel) {
        let datagramChannel = try await bindDatagram(address, group: group, continuation: continuation)
        let port = datagramChannel.localAddress?.port ?? address.port
        do {
            let listener = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(StreamReceiver(continuation: continuation))
                    }
                }
                .bind(host: address.host, port: port).get()
            return (datagramChannel, listener)
        } catch {
            try? await datagramChannel.close()
            throw error
        }
    }

    public func send(_ packet: [UInt8], to address: GossipAddress, stream: Bool) async throws {
        let remote = try SocketAddress(ipAddress: address.host, port: address.port)
        guard stream else {
            let channel = datagram.withLock { $0.channel }
            let buffer = channel.allocator.buffer(bytes: packet)
            try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: buffer))
            return
        }
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(Self.connectTimeout)
            .connect(to: remote).get()
        var buffer = channel.allocator.buffer(capacity: 4 + packet.count)
        buffer.writeInteger(UInt32(packet.count))
        buffer.writeBytes(packet)
        do {
            try await channel.writeAndFlush(buffer)
        } catch {
            try? await channel.close()
            throw error
        }
        try? await channel.close()
    }

    public func close() async {
        let channel = datagram.withLock { state in
            state.closing = true
            return state.channel
        }
        try? await channel.close()
        try? await listener.close()
        continuation.finish()
    }
}

private final class DatagramReceiver: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let continuation: AsyncStream<ReceivedPacket>.Continuation

    init(continuation: AsyncStream<ReceivedPacket>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        continuation.yield(
            ReceivedPacket(
                bytes: Array(envelope.data.readableBytesView),
                source: envelope.remoteAddress.description, stream: false))
    }
}

/// Splits a stream into frames of `length (UInt32 BE) · bytes`, refusing frames over the limit.
private struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    struct FrameTooLarge: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard length <= NIOGossipTransport.maxFrameLength else { throw FrameTooLarge() }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}

private final class StreamReceiver: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncStream<ReceivedPacket>.Continuation
    private var timeout: Scheduled<Void>?

    init(continuation: AsyncStream<ReceivedPacket>.Continuation) { self.continuation = continuation }

    func channelActive(context: ChannelHandlerContext) {
        // A peer that connects and sends nothing must not hold the connection open.
        let channel = context.channel
        timeout = context.eventLoop.scheduleTask(in: NIOGossipTransport.streamTimeout) { channel.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let source = context.channel.remoteAddress?.description ?? "?"
        continuation.yield(ReceivedPacket(bytes: Array(frame.readableBytesView), source: source, stream: true))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
