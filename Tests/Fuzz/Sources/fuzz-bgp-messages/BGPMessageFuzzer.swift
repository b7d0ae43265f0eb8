import BGPWire
import NIOCore

/// libFuzzer entry point. Any bytes, read as a BGP stream on a session with and without 4-octet AS, must decode
/// message by message or throw, never trap or read out of bounds; a failed decode must leave its buffer as it
/// was; whatever decodes must encode to bytes that decode to the same message, no longer than BGP allows.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBGPMessages(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    for fourOctetAS in [true, false] {
        var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
        for _ in 0..<64 {
            let before = buffer
            let message: BGPMessage?
            do {
                message = try BGPMessage.decode(from: &buffer, fourOctetAS: fourOctetAS)
            } catch {
                precondition(buffer == before, "a failed decode moved the buffer")
                precondition(error.notification.code >= 1 && error.notification.code <= 7, "a NOTIFICATION code")
                break
            }
            guard let message else {
                precondition(buffer == before, "an incomplete message moved the buffer")
                break
            }
            var bytes = message.encoded(fourOctetAS: fourOctetAS)
            precondition(bytes.readableBytes <= BGPMessage.maximumLength, "re-encoded longer than BGP allows")
            precondition(
                (try? BGPMessage.decode(from: &bytes, fourOctetAS: fourOctetAS)) == message,
                "round trip of \(message)")
            _ = message.description
        }
    }
    return 0
}
