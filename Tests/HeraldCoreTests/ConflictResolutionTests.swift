import HeraldCore
import PropertyBased
import Testing

/// Two owners of one IP must settle on one without talking: whatever the names and the IP, exactly one of the
/// two yields, and it is the one the election would not have picked.
@Suite struct ConflictResolutionTests {
    @Test func exactlyOneOfTwoNodesYields() async {
        await propertyCheck(count: 500, input: Gen<UInt64>.uint64(), Gen<UInt64>.uint64(), Gen<UInt32>.uint32()) { a, b, address in
            let first = "node-\(a)", second = "node-\(b % 7 == 0 ? a : b)"
            let ip = IPAddress.v4(IPv4Address(rawValue: address))
            let one = ConflictResolution.resolve(ip: ip, node: first, claimant: second)
            let other = ConflictResolution.resolve(ip: ip, node: second, claimant: first)
            if first == second {
                #expect(one == .ignore && other == .ignore)
            } else {
                #expect(Set([one, other]) == [.yield, .defend])
                let winner = one == .defend ? first : second
                #expect(ElectionRanking.owner(among: [first, second], for: ip) == winner)
            }
        }
    }

    @Test func thePreferenceScoreComesBeforeTheRanking() throws {
        let ip = try IPAddress(parsing: "192.0.2.10")
        let ranked = ElectionRanking.rank(["node-a", "node-b"], for: ip)
        let (first, second) = (ranked[0], ranked[1])
        #expect(ConflictResolution.resolve(ip: ip, node: first, claimant: second) == .defend)
        let scores = [second: 10]
        #expect(ConflictResolution.resolve(ip: ip, node: first, claimant: second, scores: scores) == .yield)
        #expect(ConflictResolution.resolve(ip: ip, node: second, claimant: first, scores: scores) == .defend)
    }

    @Test func aMACOfNoSpeakerIsDefendedAgainst() throws {
        #expect(ConflictResolution.resolve(ip: try IPAddress(parsing: "192.0.2.10"), node: "node-a", claimant: nil) == .defend)
    }
}
