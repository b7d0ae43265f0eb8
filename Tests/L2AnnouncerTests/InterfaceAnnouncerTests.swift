import HeraldCore
import L2Announcer
import Testing

/// The announcer over the node's responders, without sockets.
@Suite struct InterfaceAnnouncerTests {
    /// An IP whose L2Advertisement allows only interfaces this speaker does not answer on is reported (the
    /// reconciler turns it into an `AnnounceFailed` Event; the lab test checks that), not silently unanswered.
    @Test func anIPRestrictedToInterfacesThisSpeakerLacksIsReported() throws {
        let only9 = try IPAddress(parsing: "192.0.2.1"), some = try IPAddress(parsing: "192.0.2.2"), any = try IPAddress(parsing: "2001:db8::3")
        let unmatched = InterfaceAnnouncer.unmatched([only9: ["eth9"], some: ["eth0", "eth9"], any: nil], interfaces: ["eth0", "eth1"])
        #expect(Array(unmatched.keys) == [only9])
        #expect(unmatched[only9] == "the L2Advertisement allows only eth9, and this speaker answers on eth0, eth1")
        #expect(InterfaceAnnouncer.unmatched([some: ["eth0"]], interfaces: [])[some]?.hasSuffix("answers on no interface") == true)
    }
}
