import HeraldCore
import Testing

/// Herald's own cases for the behaviour MetalLB's `internal/allocator` tests check, on TEST-NET addresses.
@Suite struct AllocatorTests {
    typealias F = Fixtures

    /// MetalLB's TestAssignment: requested IPs, one allocator, each row building on the last.
    @Test func requestedAddresses() {
        var allocator = Allocator(pools: F.pools(
            PoolSpec(name: "test", addresses: ["192.0.2.4/31", "2001:db8::4/127"]),
            PoolSpec(name: "test2", addresses: ["198.51.100.0/24", "2001:db8:4::/120"], avoidBuggyIPs: true)))
        let rows: [(desc: String, request: AllocationRequest, expected: AllocationFailure.Code?)] = [
            ("s1 takes .4", F.service("s1", ips: ["192.0.2.4"]), nil),
            ("s1 takes .4 again", F.service("s1", ips: ["192.0.2.4"]), nil),
            ("s2 cannot take s1's .4", F.service("s2", ips: ["192.0.2.4"]), .ipInUse),
            ("s2 takes .5", F.service("s2", ips: ["192.0.2.5"]), nil),
            ("s1 cannot move to s2's .5", F.service("s1", ips: ["192.0.2.5"]), .ipInUse),
            ("s3 cannot take .0 of an avoidBuggyIPs pool", F.service("s3", ips: ["198.51.100.0"]), .ipOutsidePools),
            ("s3 cannot take .255 either", F.service("s3", ips: ["198.51.100.255"]), .ipOutsidePools),
            ("s3 takes .254", F.service("s3", ips: ["198.51.100.254"]), nil),
            ("s4 takes .3, shareable", F.service("s4", ips: ["198.51.100.3"], share: "sharing", ports: [.tcp(80)], backend: "b"), nil),
            ("s4, sole holder, changes its key", F.service("s4", ips: ["198.51.100.3"], share: "share", ports: [.tcp(80)], backend: "b"), nil),
            ("s3 collides on TCP/80", F.service("s3", ips: ["198.51.100.3"], share: "share", ports: [.tcp(80)], backend: "b"), .portInUse),
            ("s3 with another key", F.service("s3", ips: ["198.51.100.3"], share: "other", ports: [.tcp(443)], backend: "b"), .ipInUse),
            ("s3 with another backend", F.service("s3", ips: ["198.51.100.3"], share: "share", ports: [.tcp(443)], backend: "other"), .ipInUse),
            ("s3 with Cluster policy", F.service("s3", ips: ["198.51.100.3"], share: "share", ports: [.tcp(443)]), .ipInUse),
            ("s3 shares .3 on TCP/443", F.service("s3", ips: ["198.51.100.3"], share: "share", ports: [.tcp(443)], backend: "b"), nil),
            ("s3 changes its ports", F.service("s3", ips: ["198.51.100.3"], share: "share", ports: [.udp(53)], backend: "b"), nil),
            ("s3 cannot change key while sharing", F.service("s3", ips: ["198.51.100.3"], share: "other", ports: [.tcp(443)], backend: "b"), .ipInUse),
            ("s3 cannot change backend while sharing", F.service("s3", ips: ["198.51.100.3"], share: "share", ports: [.tcp(443)], backend: "x"), .ipInUse),
            ("s4 moves to the .254 s3 left", F.service("s4", ips: ["198.51.100.254"]), nil),
            ("s1 moves to IPv6", F.service("s1", ips: ["2001:db8::4"], families: [.v6]), nil),
            ("s2 cannot take s1's IPv6", F.service("s2", ips: ["2001:db8::4"], families: [.v6]), .ipInUse),
            ("IPv6 has no buggy addresses", F.service("s5", ips: ["2001:db8:4::ff"], families: [.v6]), nil),
            ("s6 takes both families from one pool", F.service("s6", ips: ["192.0.2.4", "2001:db8::5"], policy: .requireDualStack, families: [.v4, .v6]), nil),
            ("s7: no single pool holds both", F.service("s7", ips: ["198.51.100.5", "2001:db8::5"], policy: .requireDualStack, families: [.v4, .v6]), .ipsInDifferentPools),
            ("s8 outside every pool", F.service("s8", ips: ["203.0.113.1"]), .ipOutsidePools),
            ("s8 requests IPv6 as an IPv4 Service", F.service("s8", ips: ["2001:db8::5"], families: [.v4]), .invalidRequest),
            ("s8 requests two IPv4 addresses", F.service("s8", ips: ["192.0.2.4", "192.0.2.5"]), .invalidRequest),
            ("s8 requests .5 from the wrong pool", F.service("s8", ips: ["198.51.100.5"], pool: "test"), .ipNotInRequestedPool),
        ]
        for row in rows {
            let before = allocator
            let held = allocator.ips(of: row.request.service.name)
            let result = allocator.take(row.request)
            if let expected = row.expected {
                #expect(result.failure?.code == expected, "\(row.desc): \(result)")
                #expect(allocator == before, "\(row.desc): a failed assign changes nothing")
                #expect(allocator.ips(of: row.request.service.name) == held, "\(row.desc)")
            } else {
                #expect(result.ips == row.request.requestedIPs.map(\.description), "\(row.desc): \(result)")
            }
        }
        #expect(allocator.holders(of: F.ip("198.51.100.3")) == [F.key("s3")])
        #expect(allocator.holders(of: F.ip("192.0.2.5")) == [F.key("s2")])
    }

    /// MetalLB's TestPoolAllocation: a requested pool, lowest address first, entries in the order written.
    @Test func requestedPool() {
        var allocator = Allocator(pools: F.pools(
            PoolSpec(name: "test", addresses: ["192.0.2.4/31", "192.0.2.10/31", "2001:db8::/127", "2001:db8:2::/127"]),
            PoolSpec(name: "test-v4", addresses: ["198.51.100.4/31"])))
        for (name, ip) in [("s1", "192.0.2.4"), ("s2", "192.0.2.5"), ("s3", "192.0.2.10"), ("s4", "192.0.2.11")] {
            #expect(allocator.take(F.service(name, pool: "test")).ips == [ip])
        }
        let full = allocator.take(F.service("s5", pool: "test")).failure
        #expect(full?.code == .poolExhausted)
        #expect(full?.message == "pool \"test\" has no free address for default/s5, which needs one IPv4 address (pool \"test\": 4/4 IPv4, 0/4 IPv6 in use)")
        allocator.release(F.key("s1"))
        #expect(allocator.take(F.service("s5", pool: "test")).ips == ["192.0.2.4"])
        #expect(allocator.take(F.service("s6", pool: "test")).failure?.code == .poolExhausted)
        allocator.release(F.key("s5"))
        // Sharing: the second Service with the key joins the first's address.
        #expect(allocator.take(F.service("s5", pool: "test", share: "k", ports: [.tcp(80)])).ips == ["192.0.2.4"])
        #expect(allocator.take(F.service("s6", pool: "test", share: "k", ports: [.tcp(443)])).ips == ["192.0.2.4"])
        #expect(allocator.take(F.service("s7", pool: "test", share: "k", ports: [.tcp(443)])).failure?.code == .poolExhausted)
        // IPv6 and dual stack from the same pool.
        #expect(allocator.take(F.service("v6a", pool: "test", families: [.v6])).ips == ["2001:db8::"])
        #expect(allocator.take(F.service("v6b", pool: "test", families: [.v6])).ips == ["2001:db8::1"])
        #expect(allocator.take(F.service("v6c", pool: "test", families: [.v6])).ips == ["2001:db8:2::"])
        let dual = F.service("ds", pool: "test", policy: .requireDualStack, families: [.v6, .v4])
        #expect(allocator.take(dual).failure?.code == .poolExhausted)
        allocator.release(F.key("s2"))
        #expect(allocator.take(dual).ips == ["2001:db8:2::1", "192.0.2.5"])
        #expect(allocator.take(F.service("x", pool: "test-v4", families: [.v6])).failure?.message
            == "pool \"test-v4\" has no IPv6 addresses; default/x needs one IPv6 address")
        #expect(allocator.take(F.service("x", pool: "nonexistent")).failure?.message
            == "the requested pool \"nonexistent\" (metallb.io/address-pool) does not exist or is invalid; check the IPAddressPool's events")
    }

    /// MetalLB's TestAllocation and TestAutoAssign: any pool; Herald tries pools by name, so the result is exact.
    @Test func anyAutoAssignPool() {
        var allocator = Allocator(pools: F.pools(
            PoolSpec(name: "manual", addresses: ["203.0.113.4/31", "2001:db8:9::/127"], autoAssign: false),
            PoolSpec(name: "test1", addresses: ["192.0.2.4/31", "2001:db8::4/127"]),
            PoolSpec(name: "test2", addresses: ["192.0.2.10/31", "2001:db8::10/127"])))
        let v4 = (1...4).map { allocator.take(F.service("s\($0)")).ips ?? [] }
        #expect(v4 == [["192.0.2.4"], ["192.0.2.5"], ["192.0.2.10"], ["192.0.2.11"]])
        let failure = allocator.take(F.service("s5")).failure
        #expect(failure?.code == .poolExhausted)
        #expect(failure?.message == "no free address for default/s5, which needs one IPv4 address (pool \"test1\": 2/2 IPv4, 0/2 IPv6 in use; pool \"test2\": 2/2 IPv4, 0/2 IPv6 in use)")
        allocator.release(F.key("s1"))
        #expect(allocator.take(F.service("s5", share: "k", ports: [.tcp(80)])).ips == ["192.0.2.4"])
        #expect(allocator.take(F.service("s6")).failure?.code == .poolExhausted)
        #expect(allocator.take(F.service("s6", share: "k", ports: [.tcp(443)])).ips == ["192.0.2.4"])
        // Dual stack, both families from one pool; never from the autoAssign: false pool.
        let pairs = (1...4).map { allocator.take(F.service("d\($0)", policy: .requireDualStack, families: [.v4, .v6])) }
        #expect(pairs[0].failure?.code == .poolExhausted)
        for name in ["s2", "s3", "s4", "s5", "s6"] { allocator.release(F.key(name)) }
        let again = (1...5).map { allocator.take(F.service("d\($0)", policy: .requireDualStack, families: [.v4, .v6])).ips }
        #expect(again == [["192.0.2.4", "2001:db8::4"], ["192.0.2.5", "2001:db8::5"], ["192.0.2.10", "2001:db8::10"],
                          ["192.0.2.11", "2001:db8::11"], nil])
        #expect(allocator.take(F.service("m", pool: "manual")).ips == ["203.0.113.4"])
    }

    @Test func noEligiblePoolExplainsEachPool() {
        var allocator = Allocator(pools: F.pools(
            PoolSpec(name: "manual", addresses: ["203.0.113.4/31"], autoAssign: false),
            PoolSpec(name: "team", addresses: ["192.0.2.0/28"], serviceAllocation: ServiceAllocation(namespaces: ["team-a"])),
            PoolSpec(name: "v6", addresses: ["2001:db8::/120"])))
        let failure = allocator.take(F.service("web", namespace: "team-b")).failure
        #expect(failure?.code == .noEligiblePool)
        #expect(failure?.message == "no pool with autoAssign serves team-b/web with one IPv4 address; \"manual\" has autoAssign false (request it with metallb.io/address-pool); \"team\": its serviceAllocation allows namespaces [\"team-a\"]; \"v6\" has only IPv6 addresses")
        #expect(allocator.take(F.service("web", namespace: "team-b", pool: "team")).failure?.message
            == "pool \"team\" does not serve team-b/web: its serviceAllocation allows namespaces [\"team-a\"]")
    }

    /// MetalLB's TestBuggyIPs.
    @Test func avoidBuggyIPs() {
        var allocator = Allocator(pools: F.pools(
            PoolSpec(name: "test", addresses: ["192.0.2.0/31"]),
            PoolSpec(name: "test2", addresses: ["192.0.2.254/31"]),
            PoolSpec(name: "test3", addresses: ["198.51.100.0/31"], avoidBuggyIPs: true),
            PoolSpec(name: "test4", addresses: ["198.51.100.254/31"], avoidBuggyIPs: true)))
        let got = (1...6).compactMap { allocator.take(F.service("s\($0)")).ips?.first }
        #expect(got == ["192.0.2.0", "192.0.2.1", "192.0.2.254", "192.0.2.255", "198.51.100.1", "198.51.100.254"])
        #expect(allocator.take(F.service("s7")).failure?.code == .poolExhausted)
    }

    @Test func avoidBuggyIPsAcrossManySubnets() {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "p", addresses: ["198.51.100.250-198.51.101.5"], avoidBuggyIPs: true)))
        let got = (1...12).map { allocator.take(F.service("s\($0)")).ips?.first }
        #expect(got == ["198.51.100.250", "198.51.100.251", "198.51.100.252", "198.51.100.253", "198.51.100.254",
                        "198.51.101.1", "198.51.101.2", "198.51.101.3", "198.51.101.4", "198.51.101.5", nil, nil])
    }

    /// MetalLB's TestConfigReload: each row starts from s1 on 192.0.2.0 and s2 on 2001:db8::.
    @Test(arguments: [
        ("same config", [PoolSpec(name: "test", addresses: ["192.0.2.0/30", "2001:db8::/126"])], "test", "test"),
        ("expand", [PoolSpec(name: "test", addresses: ["192.0.2.0/24", "2001:db8::/120"])], "test", "test"),
        ("shrink v4 out", [PoolSpec(name: "test", addresses: ["192.0.2.2/31", "2001:db8::/126"])], nil, "test"),
        ("shrink v6 out", [PoolSpec(name: "test", addresses: ["192.0.2.0/30", "2001:db8::2/127"])], "test", nil),
        ("rename", [PoolSpec(name: "test2", addresses: ["192.0.2.0/30", "2001:db8::/126"])], "test2", "test2"),
        ("split", [PoolSpec(name: "test", addresses: ["192.0.2.0/31", "2001:db8::2/127"]),
                   PoolSpec(name: "test2", addresses: ["192.0.2.2/31", "2001:db8::/127"])], "test", "test2"),
        ("enable avoidBuggyIPs", [PoolSpec(name: "test2", addresses: ["192.0.2.0/31", "2001:db8::/127"], avoidBuggyIPs: true)], nil, "test2"),
        ("remove all", [], nil, nil),
    ] as [(String, [PoolSpec], String?, String?)])
    func poolChange(desc: String, specs: [PoolSpec], pool1: String?, pool2: String?) throws {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "test", addresses: ["192.0.2.0/30", "2001:db8::/126"])))
        try allocator.assign(F.service("s1", ips: ["192.0.2.0"]))
        try allocator.assign(F.service("s2", ips: ["2001:db8::"], families: [.v6]))
        let dropped = allocator.updatePools(PoolValidator.validate(specs).pools)
        #expect(allocator.assignment(for: F.key("s1"))?.pool == pool1, "\(desc)")
        #expect(allocator.assignment(for: F.key("s2"))?.pool == pool2, "\(desc)")
        #expect(Set(dropped.keys) == Set([pool1 == nil ? F.key("s1") : nil, pool2 == nil ? F.key("s2") : nil].compactMap { $0 }), "\(desc)")
        #expect(dropped.values.allSatisfy { $0.code == .ipOutsidePools }, "\(desc)")
    }

    @Test func poolChangeDropsServicesThePoolNoLongerServes() throws {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "lan", addresses: ["192.0.2.0/28"])))
        try allocator.assign(F.service("a", namespace: "team-a"))
        try allocator.assign(F.service("b", namespace: "team-b"))
        let dropped = allocator.updatePools(F.pools(PoolSpec(name: "lan", addresses: ["192.0.2.0/28"],
                                                             serviceAllocation: ServiceAllocation(namespaces: ["team-a"]))))
        #expect(allocator.ips(of: "a", namespace: "team-a") == ["192.0.2.0"])
        #expect(dropped.mapValues(\.code) == [F.key("b", namespace: "team-b"): .poolNotAllowed])
    }

    /// Pools whose serviceAllocation selects the Service come first: priority 1, 2, … then 0; then the others.
    @Test func priorityOrder() {
        var allocator = Allocator(pools: F.pools(
            PoolSpec(name: "a-general", addresses: ["192.0.2.0/31"]),
            PoolSpec(name: "b-unprioritised", addresses: ["192.0.2.8/31"], serviceAllocation: ServiceAllocation(namespaces: ["prod"])),
            PoolSpec(name: "c-second", addresses: ["192.0.2.16/31"], serviceAllocation: ServiceAllocation(priority: 20, namespaces: ["prod"])),
            PoolSpec(name: "d-first", addresses: ["192.0.2.24/31"], serviceAllocation: ServiceAllocation(priority: 10, namespaceSelectors: [LabelSelector(matchLabels: ["env": "prod"])])),
            PoolSpec(name: "e-labelled", addresses: ["192.0.2.32/31"], serviceAllocation: ServiceAllocation(priority: 1, serviceSelectors: [LabelSelector(matchLabels: ["tier": "gold"])]))))
        let prod = (1...8).map { allocator.take(F.service("p\($0)", namespace: "prod", namespaceLabels: ["env": "prod"])).ips?.first }
        #expect(prod == ["192.0.2.24", "192.0.2.25", "192.0.2.16", "192.0.2.17", "192.0.2.8", "192.0.2.9", "192.0.2.0", "192.0.2.1"])
        #expect(allocator.take(F.service("gold", namespace: "dev", labels: ["tier": "gold"])).ips == ["192.0.2.32"])
        // A Service the restricted pools do not select only gets general pools.
        allocator.release(F.key("p7", namespace: "prod"))
        #expect(allocator.take(F.service("d", namespace: "dev")).ips == ["192.0.2.0"])
        #expect(allocator.take(F.service("d2", namespace: "dev")).failure?.code == .poolExhausted)
    }

    /// PreferDualStack: both families from one pool if any pool can; else the primary; else the secondary.
    @Test func preferDualStack() throws {
        var allocator = Allocator(pools: F.pools(
            PoolSpec(name: "a-v4", addresses: ["192.0.2.0/31"]),
            PoolSpec(name: "b-dual", addresses: ["198.51.100.0/31", "2001:db8::/127"]),
            PoolSpec(name: "c-v6", addresses: ["2001:db8:1::/127"])))
        let prefer = { (name: String) in F.service(name, policy: .preferDualStack, families: [.v4, .v6]) }
        #expect(allocator.take(prefer("s1")).ips == ["198.51.100.0", "2001:db8::"])
        #expect(allocator.take(prefer("s2")).ips == ["198.51.100.1", "2001:db8::1"])
        #expect(allocator.take(prefer("s3")).ips == ["192.0.2.0"])
        #expect(allocator.take(prefer("s4")).ips == ["192.0.2.1"])
        #expect(allocator.take(prefer("s5")).ips == ["2001:db8:1::"])
        #expect(allocator.take(F.service("s6", policy: .preferDualStack, families: [.v6, .v4])).ips == ["2001:db8:1::1"])
        #expect(allocator.take(prefer("s7")).failure?.code == .poolExhausted)
        // A single-stack cluster: PreferDualStack with one family is single stack.
        #expect(allocator.take(F.service("s8", policy: .preferDualStack, families: [.v4])).failure?.code == .poolExhausted)
        // When the other family frees up in its pool, a PreferDualStack Service holding one gains it, keeping its IP.
        allocator.release(F.key("s2"))
        allocator.release(F.key("s1"))
        try allocator.assign(F.service("x", ips: ["198.51.100.1"]))
        #expect(allocator.take(F.service("x", policy: .preferDualStack, families: [.v4, .v6])).ips == ["198.51.100.1", "2001:db8::"])
    }

    @Test func heldAddressesStayWhileTheRequestStillFits() throws {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "a-lan", addresses: ["192.0.2.0/29"]),
                                                 PoolSpec(name: "b-dmz", addresses: ["198.51.100.0/29"])))
        try allocator.assign(F.service("a"))
        try allocator.assign(F.service("b"))
        allocator.release(F.key("a"))
        // b keeps .1 although .0 is free now: no churn.
        #expect(allocator.take(F.service("b", ports: [.tcp(80)])).ips == ["192.0.2.1"])
        // Asking for another pool moves it; asking for a given address moves it there.
        #expect(allocator.take(F.service("b", pool: "b-dmz")).ips == ["198.51.100.0"])
        #expect(allocator.take(F.service("b", ips: ["192.0.2.6"])).ips == ["192.0.2.6"])
        // Dropping the request keeps the address.
        #expect(allocator.take(F.service("b")).ips == ["192.0.2.6"])
        // A request that cannot be met leaves the Service where it was.
        try allocator.assign(F.service("c", ips: ["192.0.2.7"]))
        #expect(allocator.take(F.service("b", ips: ["192.0.2.7"])).failure?.message
            == "192.0.2.7 is held by default/c, which does not allow sharing (it has no metallb.io/allow-shared-ip)")
        #expect(allocator.ips(of: "b") == ["192.0.2.6"])
    }

    @Test func sharingMessages() throws {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "lan", addresses: ["192.0.2.0/29"])))
        try allocator.assign(F.service("a", ips: ["192.0.2.1"], share: "k1", ports: [.tcp(80)], backend: "web"))
        let cases: [(AllocationRequest, String)] = [
            (F.service("b", ips: ["192.0.2.1"]), "192.0.2.1 is held by default/a; to share it, set metallb.io/allow-shared-ip to \"k1\" on both"),
            (F.service("b", ips: ["192.0.2.1"], share: "k2"), "192.0.2.1 is held by default/a with sharing key \"k1\", not \"k2\""),
            (F.service("b", ips: ["192.0.2.1"], share: "k1", ports: [.tcp(443)]), "192.0.2.1 is held by default/a with externalTrafficPolicy Local with selector app=web, this Service has Cluster; Services sharing an IP need the same policy and, for Local, the same selector"),
            (F.service("b", ips: ["192.0.2.1"], share: "k1", ports: [.udp(53), .tcp(80)], backend: "web"), "TCP/80 on 192.0.2.1 is already used by default/a, which shares the address"),
        ]
        for (request, message) in cases {
            let failure = allocator.take(request).failure
            #expect(failure?.message == message)
            #expect(failure?.holder == F.key("a"))
        }
        #expect(allocator.take(F.service("b", ips: ["192.0.2.1"], share: "k1", ports: [.udp(53)], backend: "web")).ips == ["192.0.2.1"])
        // An empty sharing key is no key.
        #expect(allocator.take(F.service("c", ips: ["192.0.2.1"], share: "", ports: [.udp(99)], backend: "web")).failure?.code == .ipInUse)
    }

    /// With a sharing key, the lowest address that is free or shareable wins; a port conflict skips an address.
    @Test func sharingPicksTheLowestShareableAddress() throws {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "lan", addresses: ["192.0.2.0/29"])))
        #expect(allocator.take(F.service("a", share: "k", ports: [.tcp(80)])).ips == ["192.0.2.0"])
        #expect(allocator.take(F.service("b", share: "k", ports: [.tcp(80)])).ips == ["192.0.2.1"])
        #expect(allocator.take(F.service("c", share: "k", ports: [.tcp(443)])).ips == ["192.0.2.0"])
        #expect(allocator.take(F.service("d", share: "k", ports: [.tcp(443)])).ips == ["192.0.2.1"])
        #expect(allocator.take(F.service("e", share: "other", ports: [.tcp(443)])).ips == ["192.0.2.2"])
        #expect(allocator.take(F.service("f")).ips == ["192.0.2.3"])
        allocator.release(F.key("a"))
        allocator.release(F.key("c"))
        #expect(allocator.holders(of: F.ip("192.0.2.0")).isEmpty)
        #expect(allocator.take(F.service("g", share: "k", ports: [.tcp(80)])).ips == ["192.0.2.0"])
    }

    @Test func rebuildKeepsTheOlderOfTwoClaims() {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "lan", addresses: ["192.0.2.0/28"])))
        let failures = allocator.rebuild(from: [
            .init(request: F.service("young", createdAt: 200), ips: [F.ip("192.0.2.5")]),
            .init(request: F.service("old", createdAt: 100), ips: [F.ip("192.0.2.5")]),
            .init(request: F.service("elsewhere", createdAt: 50), ips: [F.ip("203.0.113.9")]),
            .init(request: F.service("fine", createdAt: 300), ips: [F.ip("192.0.2.1")]),
            .init(request: F.service("moved", ips: ["192.0.2.9"], createdAt: 400), ips: [F.ip("192.0.2.2")]),
        ])
        #expect(allocator.ips(of: "old") == ["192.0.2.5"])
        #expect(allocator.ips(of: "fine") == ["192.0.2.1"])
        #expect(allocator.ips(of: "young").isEmpty && allocator.ips(of: "moved").isEmpty)
        #expect(failures[F.key("young")]?.holder == F.key("old"))
        #expect(failures[F.key("young")]?.message == "192.0.2.5 is held by default/old, which does not allow sharing (it has no metallb.io/allow-shared-ip)")
        #expect(failures[F.key("elsewhere")]?.code == .ipOutsidePools)
        #expect(failures[F.key("moved")]?.message == "default/moved holds 192.0.2.2 but requests 192.0.2.9")
        #expect(failures.count == 3)
    }

    @Test func statistics() throws {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "lan", addresses: ["192.0.2.4/30", "2001:db8::4/126"])))
        try allocator.assign(F.service("a", share: "k", ports: [.tcp(80)]))
        try allocator.assign(F.service("b", share: "k", ports: [.tcp(443)]))
        try allocator.assign(F.service("c", families: [.v6]))
        let statistics = try #require(allocator.statistics(of: "lan"))
        #expect(statistics.capacity[.v4]?.exactValue == 4 && statistics.capacity[.v6]?.exactValue == 4)
        #expect(statistics.inUse[.v4]?.exactValue == 1 && statistics.inUse[.v6]?.exactValue == 1)
        #expect(allocator.statistics(of: "nope") == nil)
    }

    @Test(arguments: [
        (nil, nil, [String]()), ("192.0.2.1", nil, ["192.0.2.1"]), (" 192.0.2.1 , 2001:DB8::1", nil, ["192.0.2.1", "2001:db8::1"]),
        (nil, "198.51.100.7", ["198.51.100.7"]), ("", "", []),
    ] as [(String?, String?, [String])])
    func requestedIPsFromAnnotations(annotation: String?, field: String?, expected: [String]) throws {
        #expect(try AllocationRequest.parseRequestedIPs(annotation: annotation, loadBalancerIP: field).map(\.description) == expected)
    }

    @Test(arguments: [
        ("192.0.2.1", "192.0.2.2", "both metallb.io/loadBalancerIPs and spec.loadBalancerIP are set; keep only the annotation"),
        ("192.0.2.1,192.0.2.2", nil, "metallb.io/loadBalancerIPs \"192.0.2.1,192.0.2.2\" must hold at most one IPv4 and one IPv6 address"),
        ("192.0.2.1,", nil, "metallb.io/loadBalancerIPs: \"\" is not an IP address: the text is empty"),
        (nil, "192.0.2.300", "spec.loadBalancerIP: \"192.0.2.300\" is not an IP address: part 4 (\"300\") is greater than 255"),
    ] as [(String?, String?, String)])
    func badRequestedIPs(annotation: String?, field: String?, message: String) {
        expectError(message) { () throws(AllocationFailure) in
            try AllocationRequest.parseRequestedIPs(annotation: annotation, loadBalancerIP: field)
        }
    }
}

/// Cases found in review: each pins a rule that an earlier version got wrong.
@Suite struct AllocatorEdgeCaseTests {
    typealias F = Fixtures

    @Test func rebuildTakesAServiceListedTwiceOnce() {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "lan", addresses: ["192.0.2.0/28"])))
        let failures = allocator.rebuild(from: [
            .init(request: F.service("s", createdAt: 1), ips: [F.ip("192.0.2.1")]),
            .init(request: F.service("t", createdAt: 2), ips: [F.ip("192.0.2.1")]),
            .init(request: F.service("s", createdAt: 3), ips: [F.ip("192.0.2.2")]),
        ])
        #expect(allocator.ips(of: "s") == ["192.0.2.1"])
        #expect(failures.keys.sorted() == [F.key("t")] && failures[F.key("t")]?.holder == F.key("s"))
        #expect(allocator.holders(of: F.ip("192.0.2.2")).isEmpty)
    }

    @Test func failedRebuildEntryKeepsWhatTheServiceHeld() throws {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "lan", addresses: ["192.0.2.0/28"])))
        try allocator.assign(F.service("s"))
        let failures = allocator.rebuild(from: [.init(request: F.service("s"), ips: [F.ip("203.0.113.1")])])
        #expect(failures[F.key("s")]?.code == .ipOutsidePools)
        #expect(allocator.ips(of: "s") == ["192.0.2.0"])
    }

    @Test func dualStackServiceTurnedSingleStackKeepsItsAddress() throws {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "a", addresses: ["192.0.2.0/30", "2001:db8::/126"])))
        try allocator.assign(F.service("s1"))
        try allocator.assign(F.service("s2", policy: .requireDualStack, families: [.v4, .v6]))
        allocator.release(F.key("s1"))
        #expect(allocator.take(F.service("s2", families: [.v4])).ips == ["192.0.2.1"])
        #expect(allocator.holders(of: F.ip("2001:db8::")).isEmpty)
        // The same at a rebuild: status still lists both families, the spec now one.
        var rebuilt = Allocator(pools: F.pools(PoolSpec(name: "a", addresses: ["192.0.2.0/30", "2001:db8::/126"])))
        #expect(rebuilt.rebuild(from: [.init(request: F.service("s2", families: [.v6]), ips: [F.ip("192.0.2.1"), F.ip("2001:db8::")])]).isEmpty)
        #expect(rebuilt.ips(of: "s2") == ["2001:db8::"])
    }

    @Test func requireDualStackWithoutADualPoolIsNoEligiblePool() {
        var allocator = Allocator(pools: F.pools(PoolSpec(name: "v4", addresses: ["192.0.2.0/28"]),
                                                 PoolSpec(name: "v6", addresses: ["2001:db8::/124"])))
        let failure = allocator.take(F.service("s", policy: .requireDualStack, families: [.v4, .v6])).failure
        #expect(failure?.code == .noEligiblePool)
        #expect(failure?.message == "no pool with autoAssign serves default/s with one IPv4 and one IPv6 address (RequireDualStack); \"v4\" has only IPv4 addresses; \"v6\" has only IPv6 addresses")
    }

    /// MetalLB's two rounds: a selecting pool with one family beats a general pool with both.
    @Test func preferDualStackTriesSelectingPoolsFirst() {
        var allocator = Allocator(pools: F.pools(
            PoolSpec(name: "pinned", addresses: ["192.0.2.0/30"], serviceAllocation: ServiceAllocation(namespaces: ["default"])),
            PoolSpec(name: "general", addresses: ["198.51.100.0/30", "2001:db8::/126"])))
        #expect(allocator.take(F.service("s", policy: .preferDualStack, families: [.v4, .v6])).ips == ["192.0.2.0"])
        #expect(allocator.take(F.service("t", namespace: "other", policy: .preferDualStack, families: [.v4, .v6])).ips
            == ["198.51.100.0", "2001:db8::"])
    }

    @Test func unvalidatedPoolsThatCollideAreIgnored() {
        let first = AddressPool(name: "a", blocks: [AddressBlock(text: "192.0.2.0/28", range: F.range("192.0.2.0-192.0.2.15"))])
        let sameName = AddressPool(name: "a", blocks: [AddressBlock(text: "198.51.100.0/28", range: F.range("198.51.100.0-198.51.100.15"))])
        let overlapping = AddressPool(name: "b", blocks: [AddressBlock(text: "192.0.2.8/29", range: F.range("192.0.2.8-192.0.2.15"))])
        let allocator = Allocator(pools: [first, sameName, overlapping])
        #expect(allocator.pools == [first])
    }
}
