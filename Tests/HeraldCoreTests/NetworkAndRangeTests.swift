import HeraldCore
import Testing

@Suite struct IPNetworkTests {
    @Test(arguments: [
        ("192.0.2.0/24", "192.0.2.0", "192.0.2.255", "256"),
        ("192.0.2.10/32", "192.0.2.10", "192.0.2.10", "1"),
        ("0.0.0.0/0", "0.0.0.0", "255.255.255.255", "4294967296"),
        ("2001:db8::/120", "2001:db8::", "2001:db8::ff", "256"),
        ("2001:db8::/64", "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", "18446744073709551616"),
        ("2001:db8::/112", "2001:db8::", "2001:db8::ffff", "65536"),
        ("::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "340282366920938463463374607431768211456"),
    ])
    func parses(text: String, first: String, last: String, count: String) throws {
        let network = try IPNetwork(parsing: text)
        #expect(network.description == text)
        #expect(network.range.first.description == first)
        #expect(network.range.last.description == last)
        #expect(network.range.count.description == count)
    }

    @Test(arguments: [
        ("192.0.2.0/33", "\"192.0.2.0/33\" is not a CIDR: prefix length 33 is greater than 32"),
        ("2001:db8::/129", "\"2001:db8::/129\" is not a CIDR: prefix length 129 is greater than 128"),
        ("192.0.2.0", "\"192.0.2.0\" is not a CIDR: it has no \"/\" and prefix length"),
        ("192.0.2.0/", "\"192.0.2.0/\" is not a CIDR: the prefix length after \"/\" is missing"),
        ("192.0.2.0/2a", "\"192.0.2.0/2a\" is not a CIDR: unexpected character 'a' at position 12 in the prefix length"),
        ("192.0.2.1/24", "\"192.0.2.1/24\" is not a CIDR: host bits are set; the block is 192.0.2.0/24"),
        ("192.0.2/24", "\"192.0.2/24\" is not a CIDR: it has 3 parts, an IPv4 address has 4"),
        ("", "\"\" is not a CIDR: the text is empty"),
    ])
    func refuses(text: String, message: String) {
        expectError(message) { () throws(AddressParseError) in try IPNetwork(parsing: text) }
    }

    @Test func containment() throws {
        let network = try IPNetwork(parsing: "198.51.100.0/25")
        #expect(network.contains(try IPAddress(parsing: "198.51.100.127")))
        #expect(!network.contains(try IPAddress(parsing: "198.51.100.128")))
        #expect(!network.contains(try IPAddress(parsing: "2001:db8::1")))
    }
}

@Suite struct IPRangeTests {
    @Test func parsesAndIterates() throws {
        let range = try IPRange(parsing: "192.0.2.254 - 192.0.3.1")
        #expect(range.description == "192.0.2.254-192.0.3.1")
        #expect(range.count.exactValue == 4)
        #expect(range.map(\.description) == ["192.0.2.254", "192.0.2.255", "192.0.3.0", "192.0.3.1"])
        #expect(range.contains(try IPAddress(parsing: "192.0.3.0")))
        #expect(!range.contains(try IPAddress(parsing: "192.0.3.2")))
    }

    @Test func iterationStopsAtTheEndOfTheFamily() throws {
        let range = try IPRange(parsing: "255.255.255.254-255.255.255.255")
        #expect(Array(range).count == 2)
        let v6 = try IPRange(parsing: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
        #expect(Array(v6).count == 2)
    }

    @Test(arguments: [
        ("192.0.2.20-192.0.2.10", "\"192.0.2.20-192.0.2.10\" is not an IP range: the first address 192.0.2.20 comes after the last 192.0.2.10"),
        ("192.0.2.1-2001:db8::1", "\"192.0.2.1-2001:db8::1\" is not an IP range: it mixes an IPv4 and an IPv6 address"),
        ("192.0.2.1-", "\"192.0.2.1-\" is not an IP range: the text is empty"),
        ("192.0.2.1-192.0.2.x", "\"192.0.2.1-192.0.2.x\" is not an IP range: unexpected character 'x' at position 19"),
        ("192.0.2.1", "\"192.0.2.1\" is not an IP range: it has no \"-\" between a first and a last address"),
    ])
    func refuses(text: String, message: String) {
        expectError(message) { () throws(AddressParseError) in try IPRange(parsing: text) }
    }

    @Test func intersections() throws {
        let a = try IPRange(parsing: "192.0.2.0-192.0.2.15"), b = try IPRange(parsing: "192.0.2.8-192.0.2.31")
        #expect(a.intersection(b)?.description == "192.0.2.8-192.0.2.15")
        #expect(a.overlaps(b) && b.overlaps(a))
        #expect(!a.overlaps(try IPRange(parsing: "192.0.2.16-192.0.2.20")))
        #expect(!a.overlaps(try IPRange(parsing: "2001:db8::-2001:db8::ff")))
        #expect(IPRange(first: try IPAddress(parsing: "192.0.2.2"), last: try IPAddress(parsing: "192.0.2.1")) == nil)
    }

    @Test func countsAddUpExactly() {
        let all = AddressCount(first: 0, last: .max)
        #expect(all.exactValue == nil)
        #expect((all + all).description == "680564733841876926926749214863536422912")
        #expect((all - AddressCount(1)).exactValue == .max)
        #expect(AddressCount.zero.description == "0")
        #expect(AddressCount(10_000_000_000_000_000_000).description == "10000000000000000000")
    }
}

@Suite struct MACAddressTests {
    @Test(arguments: [("02:00:5e:10:00:01", "02:00:5e:10:00:01"), ("02-00-5E-10-00-0A", "02:00:5e:10:00:0a"),
                      ("FF:FF:FF:FF:FF:FF", "ff:ff:ff:ff:ff:ff")])
    func parses(text: String, canonical: String) throws {
        #expect(try MACAddress(parsing: text).description == canonical)
    }

    @Test(arguments: [
        ("02:00:5e:10:00", "\"02:00:5e:10:00\" is not a MAC address: it has 14 characters, a MAC address has 17 (six pairs of hex digits)"),
        ("02:00:5e:10:00:0g", "\"02:00:5e:10:00:0g\" is not a MAC address: unexpected character 'g' at position 17"),
        ("02:00-5e:10:00:01", "\"02:00-5e:10:00:01\" is not a MAC address: unexpected character '-' at position 6; expected ':'"),
        ("0200.5e10.0001.xx", "\"0200.5e10.0001.xx\" is not a MAC address: unexpected character '0' at position 3; pairs are separated by ':' or '-'"),
        ("", "\"\" is not a MAC address: the text is empty"),
    ])
    func refuses(text: String, message: String) {
        expectError(message) { () throws(AddressParseError) in try MACAddress(parsing: text) }
    }

    @Test func bits() throws {
        #expect(MACAddress.broadcast.isMulticast)
        #expect(!(try MACAddress(parsing: "02:00:5e:10:00:01")).isMulticast)
        #expect(MACAddress(bytes: [2, 0, 0x5e, 0x10, 0, 1]).bytes == [2, 0, 0x5e, 0x10, 0, 1])
        #expect(MACAddress(rawValue: 1 << 48) == nil)
    }
}
