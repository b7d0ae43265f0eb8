import HeraldCore
import PropertyBased
import Testing

@Suite struct AddressPropertyTests {
    static let v4 = Gen<UInt32>.uint32().map { IPv4Address(rawValue: $0) }

    /// IPv6 addresses with plenty of zero groups, so every shape of "::" compression comes up.
    static let v6 = Gen<UInt16>.uint16().map { Bool.random() ? 0 : $0 }.array(of: 8).map { IPv6Address(groups: $0) }

    @Test func ipv4FormatParseRoundTrip() async {
        await propertyCheck(count: 2000, input: Self.v4) { address in
            #expect((try? IPv4Address(parsing: address.description)) == address)
            #expect((try? IPAddress(parsing: address.description)) == .v4(address))
        }
    }

    @Test func ipv6FormatParseRoundTrip() async {
        await propertyCheck(count: 2000, input: Self.v6) { address in
            let text = address.description
            #expect((try? IPv6Address(parsing: text)) == address)
            // Every other spelling of the address formats back to the same canonical text.
            let full = address.groups.map { String($0, radix: 16, uppercase: true) }.joined(separator: ":")
            let padded = address.groups.map { group -> String in
                let hex = String(group, radix: 16)
                return String(repeating: "0", count: 4 - hex.count) + hex
            }.joined(separator: ":")
            #expect((try? IPv6Address(parsing: full))?.description == text)
            #expect((try? IPv6Address(parsing: padded))?.description == text)
            // RFC 5952: lower case, at most one "::", never a lone zero group compressed, no leading zeros.
            #expect(text == text.lowercased())
            #expect(text.ranges(of: "::").count <= 1)
            if !address.isIPv4Mapped {
                #expect(!text.split(separator: ":").contains { $0.count > 1 && $0.hasPrefix("0") })
            }
        }
    }

    @Test func successorAndPredecessorAreInverse() async {
        await propertyCheck(count: 1000, input: Self.v4, Self.v6) { v4, v6 in
            for address in [IPAddress.v4(v4), .v6(v6)] {
                if let next = address.successor {
                    #expect(next.predecessor == address)
                    #expect(address.distance(to: next) == 1)
                    #expect(address < next)
                }
            }
        }
    }

    @Test func cidrCountAndContainment() async {
        await propertyCheck(count: 1000, input: Self.v6, Gen.int(in: 0...128)) { address, length in
            let network = IPNetwork(containing: .v6(address), prefixLength: length)
            #expect(network.contains(.v6(address)))
            #expect((try? IPNetwork(parsing: network.description)) == network)
            let count = network.range.count
            if length > 0 { #expect(count.exactValue == UInt128(1) << (128 - length)) } else { #expect(count.exactValue == nil) }
            #expect(network.range.first.distance(to: network.range.last).map { AddressCount($0) + AddressCount(1) } == count)
        }
    }

    @Test func macRoundTrip() async {
        await propertyCheck(count: 500, input: Gen<UInt8>.uint8().array(of: 6)) { bytes in
            let mac = MACAddress(bytes: bytes)
            #expect((try? MACAddress(parsing: mac.description)) == mac)
            #expect((try? MACAddress(parsing: mac.description.uppercased().replacingOccurrences(of: ":", with: "-"))) == mac)
        }
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
