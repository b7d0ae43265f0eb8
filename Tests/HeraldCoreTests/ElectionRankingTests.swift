import HeraldCore
import Testing

/// Golden orders computed outside Herald, with coreutils:
/// `for n in node-a node-b node-c node-d worker-1; do printf '%s#%s' $n 192.0.2.10 | sha256sum; done | sort`.
@Suite struct ElectionRankingTests {
    @Test(arguments: [
        ("192.0.2.10", ["node-d", "node-c", "node-b", "node-a", "worker-1"]),
        ("2001:db8::10", ["node-b", "worker-1", "node-a", "node-c", "node-d"]),
        ("198.51.100.7", ["node-d", "node-a", "worker-1", "node-b", "node-c"]),
    ])
    func matchesSha256sum(ip: String, expected: [String]) throws {
        let nodes = ["node-a", "node-b", "node-c", "node-d", "worker-1"]
        #expect(ElectionRanking.rank(nodes, for: try IPAddress(parsing: ip)) == expected)
        #expect(ElectionRanking.rank(nodes.reversed(), for: try IPAddress(parsing: ip)) == expected)
        #expect(ElectionRanking.owner(among: nodes.shuffled(), for: try IPAddress(parsing: ip)) == expected[0])
    }

    @Test func digestMatchesSha256sum() {
        let hex = ElectionRanking.score(node: "node-a", key: "192.0.2.10")
            .map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(hex == "d4b84135501a6622f43f01422f65d768d1a4637914be8add4e31f107336b8068")
    }

    @Test func usesCanonicalTextSoSpellingsAgree() throws {
        let nodes = ["node-a", "node-b", "node-c", "node-d", "worker-1"]
        #expect(ElectionRanking.rank(nodes, for: try IPAddress(parsing: "2001:DB8:0::0010")) == ["node-b", "worker-1", "node-a", "node-c", "node-d"])
    }

    @Test func edgeCases() throws {
        let ip = try IPAddress(parsing: "192.0.2.10")
        #expect(ElectionRanking.rank([], for: ip).isEmpty)
        #expect(ElectionRanking.owner(among: [], for: ip) == nil)
        #expect(ElectionRanking.rank(["node-a", "node-a", "node-b"], for: ip) == ["node-b", "node-a"])
    }

    /// Losing a node never reorders the others, so only the IPs it owned move.
    @Test func removingANodeKeepsTheRestInOrder() throws {
        let nodes = (1...20).map { "node-\($0)" }
        for last in 1...50 {
            let ip = try IPAddress(parsing: "203.0.113.\(last)")
            let full = ElectionRanking.rank(nodes, for: ip)
            let without = ElectionRanking.rank(nodes.filter { $0 != "node-7" }, for: ip)
            #expect(without == full.filter { $0 != "node-7" })
        }
    }
}
