import Crypto

/// The shared keys that authenticate and encrypt gossip: one primary key that seals, and any number of
/// secondary keys that are still accepted when opening, so keys rotate without downtime (add the new key as a
/// secondary everywhere, make it primary, then drop the old one).
///
/// A sealed message is `version (1) · nonce (12) · ciphertext · tag (16)`, AES-256-GCM with the version byte as
/// associated data, so a downgrade of the format fails authentication.
public struct Keyring: Sendable {
    public static let keyLength = 32
    static let sealVersion: UInt8 = 1
    /// Bytes a sealed message adds: version, nonce and tag.
    public static let overhead = 1 + 12 + 16

    let primary: SymmetricKey
    let secondaries: [SymmetricKey]

    /// `keys[0]` is the primary.
    public init(keys: [[UInt8]]) throws(KeyringError) {
        guard let first = keys.first else {
            throw KeyringError("no key given; a keyring needs at least one 32-byte key")
        }
        for (index, key) in keys.enumerated() where key.count != Self.keyLength {
            throw KeyringError("key \(index + 1) has \(key.count) bytes; AES-256 keys have 32")
        }
        primary = SymmetricKey(data: first)
        secondaries = keys.dropFirst().map { SymmetricKey(data: $0) }
    }

    /// Reads keys from text: one per line, base64 (as `memberlist` and `kubectl create secret` write them) or
    /// 64 hex digits; blank lines and `#` comments are skipped; the first key is the primary.
    public init(text: String) throws(KeyringError) {
        var keys: [[UInt8]] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let key = Self.hex(line) ?? Self.base64(line) else {
                throw KeyringError("line \(number + 1) is neither base64 nor 64 hex digits")
            }
            keys.append(key)
        }
        try self.init(keys: keys)
    }

    public var keyCount: Int { 1 + secondaries.count }

    /// Encrypts and authenticates with the primary key; `nonce` is 12 random bytes from the caller (time and
    /// randomness stay outside the pure core).
    public func seal(_ plaintext: [UInt8], nonce: [UInt8]) throws(KeyringError) -> [UInt8] {
        guard let gcmNonce = try? AES.GCM.Nonce(data: nonce), nonce.count == 12 else {
            throw KeyringError("a nonce has 12 bytes, got \(nonce.count)")
        }
        guard
            let box = try? AES.GCM.seal(plaintext, using: primary, nonce: gcmNonce, authenticating: [Self.sealVersion])
        else {
            throw KeyringError("AES-GCM sealing failed")
        }
        return [Self.sealVersion] + nonce + Array(box.ciphertext) + Array(box.tag)
    }

    /// Opens a sealed message with the primary or any secondary key; throws when none authenticates it.
    public func open(_ sealed: [UInt8]) throws(KeyringError) -> [UInt8] {
        guard sealed.count >= Self.overhead else {
            throw KeyringError(
                "sealed message of \(sealed.count) bytes is shorter than the \(Self.overhead)-byte envelope")
        }
        guard sealed[0] == Self.sealVersion else {
            throw KeyringError("sealed with version \(sealed[0]), this speaker opens \(Self.sealVersion)")
        }
        guard
            let box = try? AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: sealed[1..<13]),
                ciphertext: sealed[13..<(sealed.count - 16)], tag: sealed[(sealed.count - 16)...])
        else {
            throw KeyringError("malformed sealed message")
        }
        for key in [primary] + secondaries {
            if let plaintext = try? AES.GCM.open(box, using: key, authenticating: [Self.sealVersion]) {
                return Array(plaintext)
            }
        }
        throw KeyringError("no key of the keyring authenticates the message (wrong key, or tampered)")
    }

    private static func hex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == keyLength * 2 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func base64(_ text: String) -> [UInt8]? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var values: [UInt8] = []
        var padding = 0
        for character in text.utf8 {
            if character == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0, let value = alphabet.firstIndex(of: character) else { return nil }
            values.append(UInt8(value))
        }
        guard (values.count + padding) % 4 == 0, padding <= 2 else { return nil }
        var bytes: [UInt8] = []
        var buffer: UInt32 = 0, bits = 0
        for value in values {
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return bytes
    }
}

/// A keyring that cannot be built or a message that cannot be sealed or opened.
public struct KeyringError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var slice = self
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
