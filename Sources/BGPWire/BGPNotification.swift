/// A NOTIFICATION message (RFC 4271 §4.5): the error that closes a session, with the code and subcode of
/// RFC 4271 §6 and the registries that extend it (RFC 4486 and RFC 8203 for Cease, RFC 6608 for the FSM,
/// RFC 7313 for ROUTE-REFRESH, RFC 5492 for capabilities). Codes Herald does not know still decode.
public struct BGPNotification: Hashable, Sendable {
    public var code: UInt8
    public var subcode: UInt8
    public var data: [UInt8]

    public init(code: UInt8, subcode: UInt8, data: [UInt8] = []) {
        self.code = code
        self.subcode = subcode
        self.data = data
    }

    /// Error codes (RFC 4271 §4.5).
    public enum Code: UInt8, Sendable {
        case messageHeader = 1
        case openMessage = 2
        case updateMessage = 3
        case holdTimerExpired = 4
        case finiteStateMachine = 5
        case cease = 6
        case routeRefreshMessage = 7
    }

    /// Subcodes of code 1.
    public enum MessageHeaderError: UInt8, Sendable {
        case connectionNotSynchronized = 1
        case badMessageLength = 2
        case badMessageType = 3
    }

    /// Subcodes of code 2.
    public enum OpenMessageError: UInt8, Sendable {
        case unspecific = 0
        case unsupportedVersionNumber = 1
        case badPeerAS = 2
        case badBGPIdentifier = 3
        case unsupportedOptionalParameter = 4
        case unacceptableHoldTime = 6
        case unsupportedCapability = 7
        case roleMismatch = 11
    }

    /// Subcodes of code 3.
    public enum UpdateMessageError: UInt8, Sendable {
        case malformedAttributeList = 1
        case unrecognizedWellKnownAttribute = 2
        case missingWellKnownAttribute = 3
        case attributeFlagsError = 4
        case attributeLengthError = 5
        case invalidOrigin = 6
        case invalidNextHop = 8
        case optionalAttributeError = 9
        case invalidNetworkField = 10
        case malformedASPath = 11
    }

    /// Subcodes of code 5 (RFC 6608).
    public enum FiniteStateMachineError: UInt8, Sendable {
        case unspecified = 0
        case unexpectedMessageInOpenSent = 1
        case unexpectedMessageInOpenConfirm = 2
        case unexpectedMessageInEstablished = 3
    }

    /// Subcodes of code 6 (RFC 4486, RFC 8538, RFC 9384).
    public enum CeaseReason: UInt8, Sendable {
        case maximumPrefixesReached = 1
        case administrativeShutdown = 2
        case peerDeconfigured = 3
        case administrativeReset = 4
        case connectionRejected = 5
        case otherConfigurationChange = 6
        case connectionCollisionResolution = 7
        case outOfResources = 8
        case hardReset = 9
        case bfdDown = 10
    }

    public static func messageHeader(_ subcode: MessageHeaderError, data: [UInt8] = []) -> BGPNotification {
        BGPNotification(code: Code.messageHeader.rawValue, subcode: subcode.rawValue, data: data)
    }

    public static func openMessage(_ subcode: OpenMessageError, data: [UInt8] = []) -> BGPNotification {
        BGPNotification(code: Code.openMessage.rawValue, subcode: subcode.rawValue, data: data)
    }

    public static func updateMessage(_ subcode: UpdateMessageError, data: [UInt8] = []) -> BGPNotification {
        BGPNotification(code: Code.updateMessage.rawValue, subcode: subcode.rawValue, data: data)
    }

    public static let holdTimerExpired = BGPNotification(code: Code.holdTimerExpired.rawValue, subcode: 0)

    public static func finiteStateMachine(_ subcode: FiniteStateMachineError) -> BGPNotification {
        BGPNotification(code: Code.finiteStateMachine.rawValue, subcode: subcode.rawValue)
    }

    /// A Cease. For an administrative shutdown or reset, `message` is the shutdown communication of RFC 9003
    /// (UTF-8, cut to its 255-byte limit at a character boundary), which FRR and BIRD log.
    public static func cease(_ reason: CeaseReason, message: String? = nil) -> BGPNotification {
        var data: [UInt8] = []
        if let message, reason == .administrativeShutdown || reason == .administrativeReset {
            var bytes = Array(message.utf8)
            while bytes.count > 255 || (String(validating: bytes, as: UTF8.self) == nil && !bytes.isEmpty) {
                bytes.removeLast()
            }
            data = [UInt8(bytes.count)] + bytes
        }
        return BGPNotification(code: Code.cease.rawValue, subcode: reason.rawValue, data: data)
    }

    /// The shutdown communication (RFC 9003) of an administrative shutdown or reset, if it carries a valid one.
    public var shutdownMessage: String? {
        guard code == Code.cease.rawValue,
            subcode == CeaseReason.administrativeShutdown.rawValue
                || subcode == CeaseReason.administrativeReset.rawValue,
            let length = data.first, length > 0, data.count >= 1 + Int(length)
        else { return nil }
        return String(validating: data[1...Int(length)], as: UTF8.self)
    }
}

extension BGPNotification: CustomStringConvertible {
    /// The code and subcode by name and number, e.g. "OPEN message error: unacceptable hold time (2/6)".
    public var description: String {
        let name: String
        let detail: String?
        switch Code(rawValue: code) {
        case .messageHeader:
            name = "message header error"
            detail = MessageHeaderError(rawValue: subcode).map { "\($0)" }
        case .openMessage:
            name = "OPEN message error"
            detail = OpenMessageError(rawValue: subcode).map { "\($0)" }
        case .updateMessage:
            name = "UPDATE message error"
            detail = UpdateMessageError(rawValue: subcode).map { "\($0)" }
        case .holdTimerExpired:
            name = "hold timer expired"
            detail = nil
        case .finiteStateMachine:
            name = "finite state machine error"
            detail = FiniteStateMachineError(rawValue: subcode).map { "\($0)" }
        case .cease:
            name = "cease"
            detail = CeaseReason(rawValue: subcode).map { "\($0)" }
        case .routeRefreshMessage:
            name = "ROUTE-REFRESH message error"
            detail = subcode == 1 ? "invalidMessageLength" : nil
        case nil:
            name = "unknown error"
            detail = nil
        }
        var text = detail.map { "\(name): \($0)" } ?? name
        text += " (\(code)/\(subcode))"
        if let message = shutdownMessage { text += " \"\(message)\"" }
        return text
    }
}
