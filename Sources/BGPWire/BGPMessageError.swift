/// Why bytes are not a BGP message Herald accepts, and the NOTIFICATION that RFC 4271 §6 (and its updates)
/// says the receiver sends before it closes the session. Decoders throw it and leave their input untouched.
public struct BGPMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What to send the peer.
    public var notification: BGPNotification
    /// What went wrong, for logs and Events.
    public var detail: String

    public init(_ notification: BGPNotification, _ detail: String) {
        self.notification = notification
        self.detail = detail
    }

    public var description: String { "\(detail) → \(notification)" }
}
