import Gossip
import SeededRandom

/// libFuzzer entry point. Any datagram must decode or throw; what decodes must encode back to an equal
/// message; and feeding it to a membership state machine must never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGossipCodec(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let envelope = try? GossipCodec.decode(bytes) else { return 0 }
    precondition((try? GossipCodec.decode(GossipCodec.encode(envelope))) == envelope, "gossip codec round trip")
    var membership = Membership(me: Member(name: "fuzz", address: "fuzz:7946"), configuration: .lanFast,
                                random: SeededGenerator(seed: 0x9e37_79b9_7f4a_7c15), now: .zero)
    _ = membership.receive(envelope, now: .milliseconds(1))
    _ = membership.tick(now: .seconds(5))
    _ = membership.receive(envelope, now: .seconds(6))
    return 0
}
