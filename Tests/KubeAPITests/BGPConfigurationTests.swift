import HeraldConfig
import HeraldCore
import KubeAPI
import Testing

/// MetalLB's BGP objects as the speaker reads them: every field mapped, and every field Herald cannot use
/// refused by its name.
@Suite struct BGPConfigurationTests {
    static func peer(_ spec: BGPPeer.Spec) -> BGPPeer {
        BGPPeer(metadata: ObjectMeta(name: "tor", namespace: "herald-system"), spec: spec)
    }

    static func refusal(_ spec: BGPPeer.Spec) -> String {
        do {
            _ = try peer(spec).settings()
            return "accepted"
        } catch { return error.description }
    }

    @Test func everyFieldMaps() throws {
        let settings = try Self.peer(
            BGPPeer.Spec(
                myASN: 4_200_000_001, peerASN: 64500, peerAddress: "192.0.2.1", sourceAddress: "192.0.2.11",
                peerPort: 1179, holdTime: "1m30s", keepaliveTime: "30s", connectTime: "5s", routerID: "192.0.2.11",
                nodeSelectors: [LabelSelectorObject(matchLabels: ["rack": "r1"])],
                passwordSecret: BGPPeer.SecretReference(name: "tor-md5"), bfdProfile: "fast",
                enableGracefulRestart: true, ebgpMultiHop: true, disableMP: true)
        ).settings()
        #expect(settings.localAS == 4_200_000_001 && settings.peerAS == .number(64500) && settings.peerPort == 1179)
        #expect(settings.holdTime == 90 && settings.keepaliveTime == 30 && settings.connectTime == 5)
        #expect(settings.sourceAddress == .v4(IPv4Address(192, 0, 2, 11)) && settings.routerID == IPv4Address(192, 0, 2, 11))
        #expect(settings.password == .secret(namespace: "herald-system", name: "tor-md5"))
        #expect(settings.gracefulRestart && settings.ebgpMultiHop && settings.singleFamily)
        #expect(settings.rule.selects(nodeLabels: ["rack": "r1"]) && !settings.rule.selects(nodeLabels: [:]))
        #expect(settings.warnings == ["BGPPeer herald-system/tor: spec.bfdProfile: BFD is not supported by Herald yet; the session runs without it"])

        let dynamic = try Self.peer(BGPPeer.Spec(myASN: 64500, dynamicASN: "internal", peerAddress: "2001:db8::1")).settings()
        #expect(dynamic.peerAS == .internal && dynamic.holdTime == 90 && dynamic.peerPort == 179)
        #expect(dynamic.singleFamily, "MetalLB's default: only the session's family")
        let dual = try Self.peer(
            BGPPeer.Spec(myASN: 64500, peerASN: 64501, peerAddress: "192.0.2.1", dualStackAddressFamily: true)
        ).settings()
        #expect(!dual.singleFamily)
    }

    @Test func refusesWhatHeraldCannotDo() {
        let base = BGPPeer.Spec(myASN: 64512, peerASN: 64500, peerAddress: "192.0.2.1")
        var spec = base
        spec.vrf = "red"
        #expect(Self.refusal(spec).contains("spec.vrf"))
        spec = base
        spec.interface = "eth1"
        #expect(Self.refusal(spec).contains("spec.interface"))
        spec = base
        spec.holdTime = "2s"
        #expect(Self.refusal(spec).contains("spec.holdTime: 2s"))
        spec = base
        spec.holdTime = "9s"
        spec.keepaliveTime = "9s"
        #expect(Self.refusal(spec).contains("spec.keepaliveTime"))
        spec = base
        spec.connectTime = "1500ms"
        #expect(Self.refusal(spec).contains("whole number of seconds"))
        spec = base
        spec.dynamicASN = "external"
        #expect(Self.refusal(spec).contains("exclude each other"))
        spec = base
        spec.peerASN = nil
        #expect(Self.refusal(spec).contains("spec.peerASN or spec.dynamicASN is required"))
        spec = base
        spec.password = String(repeating: "x", count: 81)
        #expect(Self.refusal(spec).contains("at most 80"))
        spec = base
        spec.sourceAddress = "2001:db8::2"
        #expect(Self.refusal(spec).contains("spec.sourceAddress"))
        spec = base
        spec.peerAddress = "tor.example"
        #expect(Self.refusal(spec).contains("spec.peerAddress"))
    }

    @Test func advertisementsResolveCommunityAliases() throws {
        let community = Community(
            metadata: ObjectMeta(name: "names", namespace: "herald-system"),
            spec: Community.Spec(communities: [
                Community.Alias(name: "no-advertise", value: "65535:65282"),
                Community.Alias(name: "tagged", value: "large:64512:1:2"),
            ]))
        let aliases = try community.aliases()
        let advertisement = BGPAdvertisement(
            metadata: ObjectMeta(name: "web", namespace: "herald-system"),
            spec: BGPAdvertisement.Spec(
                aggregationLength: 28, aggregationLengthV6: 120, localPref: 200,
                communities: ["64512:7", "no-advertise", "tagged"], ipAddressPools: ["web"], peers: ["tor"]))
        let rule = try advertisement.rule(aliases: aliases)
        #expect(rule.communities == [.standard(64512 << 16 | 7), .standard(0xFFFF_FF02), .large(64512, 1, 2)])
        #expect(rule.aggregationLength == 28 && rule.aggregationLengthV6 == 120 && rule.localPreference == 200)
        #expect(rule.pools == ["web"] && rule.peers == ["tor"])

        let unknown = BGPAdvertisement(
            metadata: ObjectMeta(name: "bad", namespace: "herald-system"),
            spec: BGPAdvertisement.Spec(communities: ["missing-name"]))
        #expect(throws: ResourceError.self) { try unknown.rule(aliases: aliases) }
        let badCommunity = Community(
            metadata: ObjectMeta(name: "bad", namespace: "herald-system"),
            spec: Community.Spec(communities: [Community.Alias(name: "x", value: "70000:1")]))
        #expect(throws: ResourceError.self) { try badCommunity.aliases() }
    }
}
