@testable import Gossip
import Testing

@Suite struct KeyringTests {
    static let one = [UInt8](repeating: 0x61, count: 32)  // "aaaa…" (32 times), base64 and hex below from coreutils
    static let two = [UInt8](repeating: 0x62, count: 32)
    static let nonce = [UInt8](repeating: 7, count: 12)

    @Test func sealAndOpen() throws {
        let keyring = try Keyring(keys: [Self.one])
        let sealed = try keyring.seal(Array("hello".utf8), nonce: Self.nonce)
        #expect(sealed.count == 5 + 29 && sealed[0] == 1)
        #expect(try keyring.open(sealed) == Array("hello".utf8))
    }

    /// Rotation: a node that still seals with the old key is understood by one that has the new primary and
    /// the old key as a secondary, and the other way round.
    @Test func rotationWithoutDowntime() throws {
        let old = try Keyring(keys: [Self.one])
        let rotating = try Keyring(keys: [Self.two, Self.one])
        #expect(try rotating.open(old.seal([1, 2, 3], nonce: Self.nonce)) == [1, 2, 3])
        let fromNew = try rotating.seal([4], nonce: Self.nonce)
        #expect(throws: KeyringError.self) { try old.open(fromNew) }
        #expect(try Keyring(keys: [Self.one, Self.two]).open(fromNew) == [4])
    }

    @Test func anAttackerWithoutTheKeyGetsNothingAccepted() throws {
        let keyring = try Keyring(keys: [Self.one])
        let forged = try Keyring(keys: [Self.two]).seal([9, 9], nonce: Self.nonce)
        #expect(throws: KeyringError("no key of the keyring authenticates the message (wrong key, or tampered)")) { try keyring.open(forged) }
        var tampered = try keyring.seal([1, 2, 3, 4], nonce: Self.nonce)
        for index in tampered.indices.dropFirst() {  // every byte after the version
            tampered[index] ^= 1
            #expect(throws: KeyringError.self) { try keyring.open(tampered) }
            tampered[index] ^= 1
        }
        #expect(throws: KeyringError("sealed message of 3 bytes is shorter than the 29-byte envelope")) { try keyring.open([1, 2, 3]) }
        var version = try keyring.seal([1], nonce: Self.nonce)
        version[0] = 2
        #expect(throws: KeyringError("sealed with version 2, this speaker opens 1")) { try keyring.open(version) }
    }

    @Test func readsKeysFromText() throws {
        // Written with `printf 'a%.0s' {1..32} | base64` and `| xxd -p -c 64`.
        let text = """
            # primary first
            YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=

            6262626262626262626262626262626262626262626262626262626262626262
            """
        let keyring = try Keyring(text: text)
        #expect(keyring.keyCount == 2)
        #expect(try Keyring(keys: [Self.one]).open(keyring.seal([5], nonce: Self.nonce)) == [5])
        #expect(throws: KeyringError("line 1 is neither base64 nor 64 hex digits")) { try Keyring(text: "not a key!") }
        #expect(throws: KeyringError("key 1 has 3 bytes; AES-256 keys have 32")) { try Keyring(text: "YWJj") }
        #expect(throws: KeyringError("no key given; a keyring needs at least one 32-byte key")) { try Keyring(text: "# empty\n") }
    }
}
