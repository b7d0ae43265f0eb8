import HeraldCore
import Testing

@Suite struct IPv4AddressParsingTests {
    @Test(arguments: [
        ("0.0.0.0", 0 as UInt32), ("192.0.2.10", 0xc000_020a), ("255.255.255.255", 0xffff_ffff), ("203.0.113.0", 0xcb00_7100),
    ])
    func parses(text: String, raw: UInt32) throws {
        let address = try IPv4Address(parsing: text)
        #expect(address.rawValue == raw)
        #expect(address.description == text)
    }

    @Test(arguments: [
        ("", "\"\" is not an IPv4 address: the text is empty"),
        ("192.0.2", "\"192.0.2\" is not an IPv4 address: it has 3 parts, an IPv4 address has 4"),
        ("192.0.2.1.5", "\"192.0.2.1.5\" is not an IPv4 address: it has more than 4 parts"),
        ("192.0.2.256", "\"192.0.2.256\" is not an IPv4 address: part 4 (\"256\") is greater than 255"),
        ("192.0.2.1000", "\"192.0.2.1000\" is not an IPv4 address: part 4 (\"1000\") is greater than 255"),
        ("192.0..1", "\"192.0..1\" is not an IPv4 address: part 3 is empty"),
        ("192.0.2.", "\"192.0.2.\" is not an IPv4 address: part 4 is empty"),
        ("192.0.02.1", "\"192.0.02.1\" is not an IPv4 address: part 3 (\"02\") has a leading zero"),
        ("192.0.2.x", "\"192.0.2.x\" is not an IPv4 address: unexpected character 'x' at position 9"),
        (" 192.0.2.1", "\" 192.0.2.1\" is not an IPv4 address: unexpected character space at position 1"),
        ("192.0.2.-1", "\"192.0.2.-1\" is not an IPv4 address: unexpected character '-' at position 9"),
    ])
    func refuses(text: String, message: String) {
        expectError(message) { () throws(AddressParseError) in try IPv4Address(parsing: text) }
    }

    @Test func neighbours() throws {
        let address = try IPv4Address(parsing: "192.0.2.255")
        #expect(address.successor?.description == "192.0.3.0")
        #expect(address.predecessor?.description == "192.0.2.254")
        #expect(IPv4Address(rawValue: .max).successor == nil)
        #expect(IPv4Address(rawValue: 0).predecessor == nil)
        #expect(address.distance(to: try IPv4Address(parsing: "192.0.2.0")) == 255)
        #expect(IPv4Address(192, 0, 2, 0).confusesBuggyFirmware && address.confusesBuggyFirmware)
        #expect(!IPv4Address(192, 0, 2, 1).confusesBuggyFirmware)
    }
}

@Suite struct IPv6AddressParsingTests {
    /// Inputs in many spellings and their RFC 5952 canonical form.
    @Test(arguments: [
        ("::", "::"), ("::1", "::1"), ("1::", "1::"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8::0:1", "2001:db8::1"),
        // A single zero group is not shortened (RFC 5952 §4.2.2).
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        // The longest run is shortened; of equal runs, the first (§4.2.3).
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        // Embedded IPv4; IPv4-mapped addresses print in mixed notation (§5).
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"), ("::FFFF:c000:0201", "::ffff:192.0.2.1"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"),
        ("2001:db8::", "2001:db8::"), ("0:0:0:0:0:0:0:0", "::"),
    ])
    func canonicalForm(text: String, canonical: String) throws {
        let address = try IPv6Address(parsing: text)
        #expect(address.description == canonical)
        #expect(try IPv6Address(parsing: canonical) == address)
    }

    @Test(arguments: [
        ("", "\"\" is not an IPv6 address: the text is empty"),
        ("2001:db8::1::2", "\"2001:db8::1::2\" is not an IPv6 address: \"::\" may appear only once"),
        ("2001:db8:::1", "\"2001:db8:::1\" is not an IPv6 address: \":::\" at position 10 is not allowed"),
        ("2001:db8:1:2:3:4:5", "\"2001:db8:1:2:3:4:5\" is not an IPv6 address: it has 7 groups of 16 bits and no \"::\", an IPv6 address has 8"),
        ("1:2:3:4:5:6:7:8:9", "\"1:2:3:4:5:6:7:8:9\" is not an IPv6 address: it has more than 8 groups of 16 bits"),
        ("1:2:3:4::5:6:7:8", "\"1:2:3:4::5:6:7:8\" is not an IPv6 address: it has 8 groups of 16 bits besides \"::\", at most 7 fit"),
        ("2001:db8::12345", "\"2001:db8::12345\" is not an IPv6 address: group \"12345\" has more than 4 hex digits"),
        ("2001:db8::g", "\"2001:db8::g\" is not an IPv6 address: unexpected character 'g' at position 11"),
        (":1::", "\":1::\" is not an IPv6 address: an empty group at position 1 (a single ':' at the start or end)"),
        ("1:2:3:4:5:6:7:", "\"1:2:3:4:5:6:7:\" is not an IPv6 address: an empty group at position 15 (a single ':' at the start or end)"),
        ("fe80::1%eth0", "\"fe80::1%eth0\" is not an IPv6 address: a zone index (\"%eth0\") is not allowed here"),
        ("::192.0.2.256", "\"::192.0.2.256\" is not an IPv6 address: part 4 (\"256\") is greater than 255"),
        ("::1.2.3.4:5", "\"::1.2.3.4:5\" is not an IPv6 address: unexpected character '.' at position 4"),
    ])
    func refuses(text: String, message: String) {
        expectError(message) { () throws(AddressParseError) in try IPv6Address(parsing: text) }
    }

    @Test func neighboursAndGroups() throws {
        let address = try IPv6Address(parsing: "2001:db8::ffff")
        #expect(address.successor?.description == "2001:db8::1:0")
        #expect(address.predecessor?.description == "2001:db8::fffe")
        #expect(IPv6Address(rawValue: .max).successor == nil)
        #expect(IPv6Address(rawValue: 0).predecessor == nil)
        #expect(address.groups == [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xffff])
        #expect(address.bytes.count == 16 && address.bytes[0] == 0x20 && address.bytes[15] == 0xff)
        #expect(try IPv6Address(parsing: "2001:db8::1:2").solicitedNodeMulticast.description == "ff02::1:ff01:2")
    }
}

@Suite struct IPAddressTests {
    @Test func familiesOrderAndDistance() throws {
        let v4 = try IPAddress(parsing: "192.0.2.1"), v6 = try IPAddress(parsing: "2001:db8::1")
        #expect(v4.family == .v4 && v6.family == .v6)
        #expect(v4 < v6)
        #expect(try IPAddress(parsing: "192.0.2.1") < IPAddress(parsing: "192.0.2.2"))
        #expect(v4.distance(to: v6) == nil)
        #expect(try v6.distance(to: IPAddress(parsing: "2001:db8::1:0:0:0:1")) == UInt128(1) << 64)
        #expect(IPAddress(family: .v4, value: UInt128(UInt32.max) + 1) == nil)
        #expect(try IPAddress(parsing: "255.255.255.255").successor == nil)
    }

    @Test func errorNamesWhatWasExpected() {
        do { _ = try IPAddress(parsing: "192.0.2.300"); Issue.record("parsed") } catch {
            #expect(error.description == "\"192.0.2.300\" is not an IP address: part 4 (\"300\") is greater than 255")
            #expect(error.code == .valueTooLarge)
        }
    }
}
