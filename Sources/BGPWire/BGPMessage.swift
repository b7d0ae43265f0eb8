public import NIOCore

/// One BGP-4 message (RFC 4271 §4) as it travels on the TCP stream: a 19-byte header (marker, length, type)
/// and a body of at most 4,077 bytes.
public enum BGPMessage: Hashable, Sendable {
    case open(BGPOpen)
    case update(BGPUpdate)
    case notification(BGPNotification)
    case keepalive
    case routeRefresh(BGPRouteRefresh)

    public static let headerLength = 19
    /// RFC 4271 §4.1; Herald does not negotiate RFC 8654's extended messages.
    public static let maximumLength = 4096

    public enum Kind: UInt8, Sendable {
        case open = 1
        case update = 2
        case notification = 3
        case keepalive = 4
        case routeRefresh = 5
    }

    public var kind: Kind {
        switch self {
        case .open: .open
        case .update: .update
        case .notification: .notification
        case .keepalive: .keepalive
        case .routeRefresh: .routeRefresh
        }
    }

    /// Decodes the first message in `buffer` once all of it has arrived; `nil`, with nothing read, while it has
    /// not. `fourOctetAS` says whether the session negotiated 4-octet AS numbers (RFC 6793), which AS_PATH and
    /// AGGREGATOR depend on. A malformed message throws the NOTIFICATION to send and leaves the buffer as it was.
    public static func decode(from buffer: inout ByteBuffer, fourOctetAS: Bool) throws(BGPMessageError) -> BGPMessage? {
        guard buffer.readableBytes >= headerLength else { return nil }
        let start = buffer.readerIndex
        guard buffer.getInteger(at: start, as: UInt64.self) == .max,
            buffer.getInteger(at: start + 8, as: UInt64.self) == .max
        else {
            throw BGPMessageError(.messageHeader(.connectionNotSynchronized), "the header's marker is not all ones")
        }
        let length = Int(buffer.getInteger(at: start + 16, as: UInt16.self)!)
        let rawType = buffer.getInteger(at: start + 18, as: UInt8.self)!
        guard (headerLength...maximumLength).contains(length) else {
            throw BGPMessageError(
                .messageHeader(.badMessageLength, data: lengthData(length)), "message length \(length)")
        }
        guard let kind = Kind(rawValue: rawType) else {
            throw BGPMessageError(.messageHeader(.badMessageType, data: [rawType]), "message type \(rawType)")
        }
        let bodyLength = length - headerLength
        let lengthFits =
            switch kind {
            case .open: bodyLength >= BGPOpen.minimumLength
            case .update: bodyLength >= BGPUpdate.minimumLength
            case .notification: bodyLength >= 2
            case .keepalive: bodyLength == 0
            case .routeRefresh: true  // RFC 7313 §5 gives it its own error, below
            }
        guard lengthFits else {
            throw BGPMessageError(
                .messageHeader(.badMessageLength, data: lengthData(length)), "\(kind) message of \(length) bytes")
        }
        guard var body = buffer.getSlice(at: start + headerLength, length: bodyLength) else { return nil }
        let message: BGPMessage
        switch kind {
        case .open: message = .open(try BGPOpen.decode(body: &body))
        case .update: message = .update(try BGPUpdate.decode(body: &body, fourOctetAS: fourOctetAS))
        case .notification:
            let (code, subcode) = body.readMultipleIntegers(as: (UInt8, UInt8).self)!
            message = .notification(BGPNotification(code: code, subcode: subcode, data: Array(body.readableBytesView)))
        case .keepalive: message = .keepalive
        case .routeRefresh:
            guard bodyLength == 4, let (afi, subtype, safi) = body.readMultipleIntegers(as: (UInt16, UInt8, UInt8).self)
            else {
                throw BGPMessageError(
                    BGPNotification(
                        code: BGPNotification.Code.routeRefreshMessage.rawValue, subcode: 1,
                        data: Array(buffer.getSlice(at: start, length: length)!.readableBytesView)),
                    "ROUTE-REFRESH of \(length) bytes")
            }
            message = .routeRefresh(BGPRouteRefresh(family: BGPAddressFamily(afi: afi, safi: safi), subtype: subtype))
        }
        buffer.moveReaderIndex(forwardBy: length)
        return message
    }

    /// Appends the message, header included. An UPDATE longer than `maximumLength` is the caller's bug:
    /// `BGPUpdatePacker` splits routes into UPDATEs that fit.
    public func encode(into buffer: inout ByteBuffer, fourOctetAS: Bool) {
        let start = buffer.writerIndex
        buffer.writeMultipleIntegers(UInt64.max, UInt64.max, UInt16(0), kind.rawValue)
        switch self {
        case .open(let open): open.encode(body: &buffer)
        case .update(let update): update.encode(body: &buffer, fourOctetAS: fourOctetAS)
        case .notification(let notification):
            buffer.writeMultipleIntegers(notification.code, notification.subcode)
            buffer.writeBytes(notification.data)
        case .keepalive: break
        case .routeRefresh(let refresh):
            buffer.writeMultipleIntegers(refresh.family.afi, refresh.subtype, refresh.family.safi)
        }
        let length = buffer.writerIndex - start
        precondition(length <= Self.maximumLength, "a \(kind) message of \(length) bytes is longer than BGP allows")
        buffer.setInteger(UInt16(length), at: start + 16)
    }

    /// The message's bytes, header included.
    public func encoded(fourOctetAS: Bool) -> ByteBuffer {
        var buffer = ByteBuffer()
        encode(into: &buffer, fourOctetAS: fourOctetAS)
        return buffer
    }
}

/// A ROUTE-REFRESH message (RFC 2918): the peer asks for the Adj-RIB-Out of one family again. `subtype` is
/// RFC 7313's (0 for a plain request).
public struct BGPRouteRefresh: Hashable, Sendable {
    public var family: BGPAddressFamily
    public var subtype: UInt8

    public init(family: BGPAddressFamily, subtype: UInt8 = 0) {
        self.family = family
        self.subtype = subtype
    }
}

extension BGPMessage: CustomStringConvertible {
    /// A one-line summary for logs: the kind and what matters of it.
    public var description: String {
        switch self {
        case .open(let open):
            "OPEN AS \(open.autonomousSystem) hold \(open.holdTime)s id \(open.identifier) "
                + "families \(open.families.map(\.description).joined(separator: ","))"
        case .update(let update):
            if let family = update.endOfRIB {
                "UPDATE End-of-RIB \(family)"
            } else {
                "UPDATE +\(update.announced.count + (update.attributes.multiprotocolReach?.prefixes.count ?? 0)) "
                    + "-\(update.withdrawn.count + (update.attributes.multiprotocolUnreach?.prefixes.count ?? 0))"
            }
        case .notification(let notification): "NOTIFICATION \(notification)"
        case .keepalive: "KEEPALIVE"
        case .routeRefresh(let refresh): "ROUTE-REFRESH \(refresh.family)"
        }
    }
}
