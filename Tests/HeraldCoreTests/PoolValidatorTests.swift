import HeraldCore
import Testing

@Suite struct PoolValidatorTests {
    @Test func validPoolsPassInAgeOrder() throws {
        let result = PoolValidator.validate([
            PoolSpec(name: "b", addresses: ["198.51.100.0/24", "2001:db8:1::/120"], createdAt: 20),
            PoolSpec(name: "a", addresses: ["192.0.2.10-192.0.2.20"], autoAssign: false, avoidBuggyIPs: true, createdAt: 10),
        ])
        #expect(result.errors.isEmpty && result.warnings.isEmpty)
        #expect(result.pools.map(\.name) == ["a", "b"])
        let b = result.pools[1]
        #expect(b.families == [.v4, .v6])
        #expect(b.capacity(of: .v4).exactValue == 256 && b.capacity(of: .v6).exactValue == 256)
        #expect(result.pools[0].autoAssign == false && result.pools[0].avoidBuggyIPs)
    }

    /// Every pool error names the pool and the entry, and says what is wrong.
    @Test(arguments: [
        (PoolSpec(name: "lan", addresses: ["192.0.2.0/33"]),
         PoolError.Code.invalidAddresses, "pool \"lan\": \"192.0.2.0/33\" is not a CIDR: prefix length 33 is greater than 32"),
        (PoolSpec(name: "lan", addresses: ["192.0.2.20-192.0.2.10"]),
         .invalidAddresses, "pool \"lan\": \"192.0.2.20-192.0.2.10\" is not an IP range: the first address 192.0.2.20 comes after the last 192.0.2.10"),
        (PoolSpec(name: "lan", addresses: ["192.0.2.7"]),
         .invalidAddresses, "pool \"lan\": \"192.0.2.7\" is not a CIDR or an IP range: it has neither \"/\" nor \"-\"; for the single address write 192.0.2.7/32"),
        (PoolSpec(name: "lan", addresses: ["banana"]),
         .invalidAddresses, "pool \"lan\": \"banana\" is not a CIDR or an IP range: it has neither \"/\" nor \"-\""),
        (PoolSpec(name: "lan", addresses: ["192.0.2.1-2001:db8::1"]),
         .invalidAddresses, "pool \"lan\": \"192.0.2.1-2001:db8::1\" is not an IP range: it mixes an IPv4 and an IPv6 address"),
        (PoolSpec(name: "lan", addresses: []),
         .noAddresses, "pool \"lan\": spec.addresses is empty; list at least one CIDR or range"),
        (PoolSpec(name: "lan", addresses: ["192.0.2.0/28", "192.0.2.8-192.0.2.20"]),
         .overlapWithinPool, "pool \"lan\": \"192.0.2.0/28\" and \"192.0.2.8-192.0.2.20\" overlap at 192.0.2.8-192.0.2.15"),
        (PoolSpec(name: "lan", addresses: ["2001:db8::/120", "2001:db8::ff/128"]),
         .overlapWithinPool, "pool \"lan\": \"2001:db8::/120\" and \"2001:db8::ff/128\" overlap at 2001:db8::ff"),
        (PoolSpec(name: "lan", addresses: ["192.0.2.0/28"], serviceAllocation: ServiceAllocation(priority: -1)),
         .invalidServiceAllocation, "pool \"lan\": serviceAllocation.priority -1 is negative; use 0 (lowest) or a positive number (1 is tried first)"),
        (PoolSpec(name: "lan", addresses: ["192.0.2.0/28"], serviceAllocation: ServiceAllocation(namespaces: ["a", ""])),
         .invalidServiceAllocation, "pool \"lan\": serviceAllocation.namespaces[1] is empty"),
        (PoolSpec(name: "lan", addresses: ["192.0.2.0/28"], serviceAllocation: ServiceAllocation(serviceSelectors: [
            LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "app", operator: .in)])])),
         .invalidServiceAllocation, "pool \"lan\": serviceAllocation.serviceSelectors[0]: requirement on \"app\": operator In needs at least one value"),
        (PoolSpec(name: "", addresses: ["192.0.2.0/28"]), .invalidName, "pool \"\": the pool has no name"),
    ] as [(PoolSpec, PoolError.Code, String)])
    func badPoolIsReportedAndLeftOut(spec: PoolSpec, code: PoolError.Code, message: String) {
        let good = PoolSpec(name: "good", addresses: ["203.0.113.0/24"])
        let result = PoolValidator.validate([spec, good])
        #expect(result.pools.map(\.name) == ["good"])
        #expect(result.errors.map(\.code) == [code])
        #expect(result.errors.map(\.description) == [message])
    }

    @Test func overlapBetweenPoolsRejectsTheYoungerAndNamesBoth() {
        let result = PoolValidator.validate([
            PoolSpec(name: "young", addresses: ["203.0.113.0/24", "192.0.2.8/29"], createdAt: 200),
            PoolSpec(name: "old", addresses: ["192.0.2.0/28"], createdAt: 100),
            PoolSpec(name: "other", addresses: ["2001:db8::/64"], createdAt: 300),
        ])
        #expect(result.pools.map(\.name) == ["old", "other"])
        #expect(result.errors.map(\.description) == [
            "pool \"young\": \"192.0.2.8/29\" overlaps \"192.0.2.0/28\" of pool \"old\" at 192.0.2.8-192.0.2.15; pool \"old\" is older and keeps those addresses",
        ])
        #expect(result.errors.first?.otherPool == "old")
        // The same answer whatever order the pools are listed in.
        let reversed = PoolValidator.validate([
            PoolSpec(name: "other", addresses: ["2001:db8::/64"], createdAt: 300),
            PoolSpec(name: "old", addresses: ["192.0.2.0/28"], createdAt: 100),
            PoolSpec(name: "young", addresses: ["203.0.113.0/24", "192.0.2.8/29"], createdAt: 200),
        ])
        #expect(reversed == result)
    }

    @Test func overlapFoundAmongManyPools() {
        // Blocks spread so that the overlapping one is neither first nor last in address order.
        var specs = (0..<50).map { PoolSpec(name: "p\($0)", addresses: ["198.51.100.\($0 * 4)/30"], createdAt: Int64($0)) }
        specs.append(PoolSpec(name: "late", addresses: ["198.51.100.97-198.51.100.98"], createdAt: 99))
        let result = PoolValidator.validate(specs)
        #expect(result.pools.count == 50)
        #expect(result.errors.map(\.description) == [
            "pool \"late\": \"198.51.100.97-198.51.100.98\" overlaps \"198.51.100.96/30\" of pool \"p24\" at 198.51.100.97-198.51.100.98; pool \"p24\" is older and keeps those addresses",
        ])
        #expect(PoolValidator.validate([PoolSpec(name: "wide", addresses: ["198.51.100.0/24"], createdAt: -1)] + specs.dropLast())
            .errors.count == 50)
    }

    @Test func duplicateNameKeepsTheOlder() {
        let result = PoolValidator.validate([PoolSpec(name: "lan", addresses: ["192.0.2.0/28"], createdAt: 1),
                                             PoolSpec(name: "lan", addresses: ["198.51.100.0/28"], createdAt: 2)])
        #expect(result.pools.map { $0.blocks[0].text } == ["192.0.2.0/28"])
        #expect(result.errors.map(\.description) == ["pool \"lan\": another pool has the same name"])
    }

    @Test func hostBitsAreAcceptedAsMetalLBDoesWithAWarning() throws {
        let result = PoolValidator.validate([PoolSpec(name: "lan", addresses: ["192.0.2.5/24"])])
        #expect(result.errors.isEmpty)
        #expect(result.pools.first?.blocks.first?.range.description == "192.0.2.0-192.0.2.255")
        #expect(result.warnings.map(\.description) == ["pool \"lan\": \"192.0.2.5/24\" has host bits set; it stands for the whole block 192.0.2.0-192.0.2.255"])
    }

    @Test func avoidBuggyIPsCapacity() throws {
        // MetalLB's pool counts: a /24 loses .0 and .255; a /25 at the top loses .255 only; IPv6 loses nothing.
        let pools = PoolValidator.validate([
            PoolSpec(name: "a", addresses: ["192.0.2.0/24", "198.51.100.128/25", "2001:db8::/64"], avoidBuggyIPs: true),
            PoolSpec(name: "b", addresses: ["203.0.113.0/31", "2001:db8:1::/127"], avoidBuggyIPs: true),
            PoolSpec(name: "c", addresses: ["203.0.113.255/32"], avoidBuggyIPs: true),
        ])
        #expect(pools.pools[0].capacity(of: .v4).exactValue == 381)
        #expect(pools.pools[0].capacity(of: .v6).description == "18446744073709551616")
        #expect(pools.pools[1].capacity(of: .v4).exactValue == 1)
        #expect(pools.pools[1].capacity(of: .v6).exactValue == 2)
        #expect(pools.pools[2].capacity(of: .v4) == .zero)
        #expect(pools.warnings.map(\.description) == ["pool \"c\": avoidBuggyIPs leaves no address to give out"])
    }

    @Test func serviceAllocationSelection() {
        let byName = ServiceAllocation(namespaces: ["team-a"])
        #expect(byName.allows(namespace: "team-a", namespaceLabels: [:], serviceLabels: [:]))
        #expect(!byName.allows(namespace: "team-b", namespaceLabels: [:], serviceLabels: [:]))
        let byLabels = ServiceAllocation(namespaces: ["team-a"], namespaceSelectors: [LabelSelector(matchLabels: ["tier": "prod"])])
        #expect(byLabels.allows(namespace: "team-b", namespaceLabels: ["tier": "prod"], serviceLabels: [:]))
        #expect(!byLabels.allows(namespace: "team-b", namespaceLabels: ["tier": "dev"], serviceLabels: [:]))
        let services = ServiceAllocation(serviceSelectors: [LabelSelector(matchLabels: ["a": "1"]), LabelSelector(matchLabels: ["b": "2"])])
        #expect(services.allows(namespace: "x", namespaceLabels: [:], serviceLabels: ["b": "2"]))
        #expect(!services.allows(namespace: "x", namespaceLabels: [:], serviceLabels: ["c": "3"]))
        let both = ServiceAllocation(namespaces: ["team-a"], serviceSelectors: [LabelSelector(matchLabels: ["a": "1"])])
        #expect(!both.allows(namespace: "team-b", namespaceLabels: [:], serviceLabels: ["a": "1"]))
        #expect(!both.allows(namespace: "team-a", namespaceLabels: [:], serviceLabels: [:]))
        #expect(ServiceAllocation(priority: 5).allows(namespace: "any", namespaceLabels: [:], serviceLabels: [:]))
    }
}
