import Synchronization

/// Transports that reach each other in memory: each `transport(at:)` is a member's socket pair on one
/// virtual network. A packet sent to an address nobody holds fails as a refused connection would; a
/// transport can be cut off (`isolate`) to play a partition. For tests of `GossipNode` without sockets, the
/// way swift-nio tests a handler on an `EmbeddedChannel`.
public final class InMemoryGossipNetwork: Sendable {
    private struct State {
        var transports: [GossipAddress: InMemoryGossipTransport] = [:]
        var isolated: Set<GossipAddress> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// A transport listening at `address` on this network.
    public func transport(at address: GossipAddress) -> InMemoryGossipTransport {
        let transport = InMemoryGossipTransport(address: address, network: self)
        state.withLock { $0.transports[address] = transport }
        return transport
    }

    /// Packets to and from `address` are dropped (true) or delivered again (false).
    public func isolate(_ address: GossipAddress, _ isolated: Bool = true) {
        state.withLock { state in
            if isolated { state.isolated.insert(address) } else { state.isolated.remove(address) }
        }
    }

    fileprivate func deliver(
        _ bytes: [UInt8], from source: GossipAddress, to address: GossipAddress, stream: Bool
    ) throws {
        let target: InMemoryGossipTransport? = try state.withLock { state in
            guard let target = state.transports[address] else {
                throw InMemoryGossipTransport.Refused(address: address)
            }
            return state.isolated.contains(address) || state.isolated.contains(source) ? nil : target
        }
        target?.received(ReceivedPacket(bytes: bytes, source: source.description, stream: stream))
    }

    fileprivate func remove(_ address: GossipAddress) {
        _ = state.withLock { $0.transports.removeValue(forKey: address) }
    }
}

public final class InMemoryGossipTransport: GossipTransport {
    public struct Refused: Error, CustomStringConvertible {
        public var address: GossipAddress
        public var description: String { "nothing listens at \(address)" }
    }

    public let localAddress: GossipAddress
    public let packets: AsyncStream<ReceivedPacket>
    private let continuation: AsyncStream<ReceivedPacket>.Continuation
    private let network: InMemoryGossipNetwork
    private let sent = Mutex(0)

    fileprivate init(address: GossipAddress, network: InMemoryGossipNetwork) {
        localAddress = address
        self.network = network
        (packets, continuation) = AsyncStream.makeStream(
            of: ReceivedPacket.self, bufferingPolicy: .bufferingNewest(4096))
    }

    /// Packets this transport has sent.
    public var packetsSent: Int { sent.withLock { $0 } }

    public func send(_ packet: [UInt8], to address: GossipAddress, stream: Bool) async throws {
        sent.withLock { $0 += 1 }
        try network.deliver(packet, from: localAddress, to: address, stream: stream)
    }

    public func close() async {
        network.remove(localAddress)
        continuation.finish()
    }

    fileprivate func received(_ packet: ReceivedPacket) {
        continuation.yield(packet)
    }
}
