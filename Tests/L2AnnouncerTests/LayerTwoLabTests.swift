import Foundation
import HeraldTestSupport
import Testing

/// The speaker's data plane against real peers: `herald-speaker announce` in one network namespace, arping,
/// ndisc6, ip neigh, tcpdump and scapy in another, over a veth pair. Serialized: one lab at a time.
@Suite(.serialized, .needsRoot, .needsTools("ip", "arping", "ndisc6", "tcpdump"),
       .enabled(if: heraldSpeakerBinary != nil, "build herald-speaker first (swift build)"))
struct LayerTwoLabTests {
    static let owned = "192.0.2.10", owned6 = "2001:db8::10"

    func startSpeaker(_ lab: TwoHostLab, schedule: String = "0,500,1000,2000,4000", extra: [String] = []) throws -> BackgroundProcess {
        try BackgroundProcess(["ip", "netns", "exec", lab.speaker, heraldSpeakerBinary!, "announce",
                               "--interface", lab.speakerInterface, "--ip", Self.owned, "--ip", Self.owned6,
                               "--announce-schedule", schedule, "--log-level", "debug"] + extra)
    }

    /// One arping probe from the client (on `interface`, by default the lab's own link); the MAC that answered.
    func arping(_ lab: TwoHostLab, _ ip: String, wait: Int = 1, on interface: String? = nil) async throws -> String? {
        let result = try await lab.run(in: lab.client, ["arping", "-c", "1", "-w", "\(wait)", "-I", interface ?? lab.clientInterface, ip], check: false)
        guard let line = result.output.split(separator: "\n").first(where: { $0.contains("reply from") }),
              let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return nil }
        return line[line.index(after: open)..<close].lowercased()
    }

    func ndisc6(_ lab: TwoHostLab, _ ip: String) async throws -> String? {
        let result = try await lab.run(in: lab.client, ["ndisc6", "-1", "-r", "1", "-w", "700", ip, lab.clientInterface], check: false)
        guard let line = result.output.split(separator: "\n").first(where: { $0.contains("Target link-layer address:") }) else { return nil }
        return line.split(separator: " ").last.map { $0.lowercased() }
    }

    func answered(_ lab: TwoHostLab, by mac: String) async throws -> String {
        try await waitFor("the speaker to answer ARP for \(Self.owned)", limit: .seconds(5)) {
            let got = try await arping(lab, Self.owned)
            return (got == mac ? got : nil, "answer from \(got ?? "nobody")")
        }
    }

    @Test func answersARPForAnnouncedAddressesOnly() async throws {
        try await TwoHostLab.with(suffix: "arp") { lab in
            let speaker = try startSpeaker(lab)
            let mac = try await lab.speakerMAC()
            _ = try await answered(lab, by: mac)
            #expect(try await arping(lab, "192.0.2.11", wait: 2) == nil, "an address nobody announces stays silent")
            #expect(try await arping(lab, lab.speakerAddress) == mac, "the kernel still answers for its own address")
            #expect(try await speaker.stop() == 0, "SIGTERM is a clean exit: \(speaker.logText)")
            #expect(try await arping(lab, Self.owned, wait: 2) == nil, "withdrawn on SIGTERM")
        }
    }

    @Test func answersNeighbourSolicitationsIncludingUnicastProbesAndDAD() async throws {
        try await TwoHostLab.with(suffix: "ndp") { lab in
            let speaker = try startSpeaker(lab)
            let mac = try await lab.speakerMAC()
            _ = try await answered(lab, by: mac)
            // A fresh veth may refuse to send IPv6 for a moment ("Network is unreachable"): wait for the first answer.
            _ = try await waitFor("an NDP answer from \(mac)", limit: .seconds(5)) {
                let got = try await ndisc6(lab, Self.owned6)
                return (got == mac ? got : nil, got ?? "no answer")
            }
            #expect(try await ndisc6(lab, "2001:db8::11") == nil)
            // ping resolves through the kernel's own NDP; the address has no host behind it, so only the entry counts.
            _ = try await lab.run(in: lab.client, ["ping", "-6", "-c", "1", "-W", "1", Self.owned6], check: false)
            #expect(try await lab.clientNeighbour(Self.owned6) == mac)

            // scapy: a unicast NUD probe without a source link-layer option, and a DAD probe from ::.
            let script = """
                from scapy.all import *
                conf.verb = 0
                me = get_if_hwaddr("\(lab.clientInterface)")
                probe = Ether(dst="\(mac)", src=me)/IPv6(src="\(lab.clientAddress6)", dst="\(Self.owned6)", hlim=255)/ICMPv6ND_NS(tgt="\(Self.owned6)")
                answer = srp1(probe, iface="\(lab.clientInterface)", timeout=2, filter="icmp6 and ip6[40] == 136")
                print("nud", answer[Ether].src, answer[Ether].dst == me, answer[ICMPv6ND_NA].S, answer[ICMPv6ND_NA].O, answer[IPv6].hlim)
                sniffer = AsyncSniffer(iface="\(lab.clientInterface)", filter="icmp6 and ip6[40] == 136 and dst host ff02::1", count=1, timeout=3)
                sniffer.start(); time.sleep(0.3)
                sendp(Ether(dst="33:33:ff:00:00:10", src=me)/IPv6(src="::", dst="ff02::1:ff00:10", hlim=255)/ICMPv6ND_NS(tgt="\(Self.owned6)"), iface="\(lab.clientInterface)")
                sniffer.join()
                na = sniffer.results[0]
                print("dad", na[Ether].src, na[ICMPv6ND_NA].S, na[ICMPv6ND_NA].O, na[ICMPv6ND_NA].tgt)
                """
            let result = try await lab.run(in: lab.client, ["/usr/bin/python3", "-c", script])
            #expect(result.output.contains("nud \(mac) True 1 1 255"), "\(result)")
            #expect(result.output.contains("dad \(mac) 0 1 \(Self.owned6)"), "\(result)")
            try await speaker.stop()
        }
    }

    /// A client whose cache points at a dead node's MAC learns the new owner from the announcements alone.
    @Test func takeoverUpdatesTheClientsNeighbourEntries() async throws {
        try await TwoHostLab.with(suffix: "takeover") { lab in
            let old = "02:00:5e:00:00:99"
            for ip in [Self.owned, Self.owned6] {
                try await lab.run(in: lab.client, ["ip", "neigh", "replace", ip, "lladdr", old, "dev", lab.clientInterface, "nud", "stale"])
            }
            #expect(try await lab.clientNeighbour(Self.owned) == old)
            let capture = try BackgroundProcess(["ip", "netns", "exec", lab.client, "tcpdump", "-n", "-e", "-l", "-i",
                                                 lab.clientInterface, "arp or (icmp6 and ip6[40] == 136)"])
            try await Task.sleep(for: .milliseconds(500))  // tcpdump needs a moment to attach; nothing is sent yet
            let speaker = try startSpeaker(lab)
            let mac = try await lab.speakerMAC()
            for ip in [Self.owned, Self.owned6] {
                let seen = try await waitFor("the client's entry for \(ip) to move to \(mac)", limit: .seconds(6)) {
                    let current = try await lab.clientNeighbour(ip)
                    return (current == mac ? current : nil, current ?? "no entry")
                }
                #expect(seen == mac)
            }
            try await capture.stop()
            let lines = capture.logText.split(separator: "\n")
            #expect(lines.contains { $0.contains(mac) && $0.contains("Request who-has \(Self.owned) tell \(Self.owned)") }, "\(capture.logText)")
            #expect(lines.contains { $0.contains(mac) && $0.contains("neighbor advertisement") && $0.contains("tgt is \(Self.owned6)") })
            try await speaker.stop()
        }
    }

    /// Malformed, truncated, oversized, tagged and off-link frames: never answered, never fatal.
    @Test func hostileFramesAreIgnored() async throws {
        try await TwoHostLab.with(suffix: "hostile") { lab in
            let speaker = try startSpeaker(lab, schedule: "0")
            let mac = try await lab.speakerMAC()
            _ = try await answered(lab, by: mac)
            try await Task.sleep(for: .milliseconds(300))  // let the single announcement pass before counting answers
            let script = """
                from scapy.all import *
                conf.verb = 0
                iface = "\(lab.clientInterface)"
                me = get_if_hwaddr(iface)
                sniffer = AsyncSniffer(iface=iface, filter="ether src \(mac) and ((arp and arp[7] == 2) or (icmp6 and ip6[40] == 136))", timeout=3)  # answers, not the speaker's conflict probes
                sniffer.start(); time.sleep(0.3)
                good_arp = Ether(dst="ff:ff:ff:ff:ff:ff", src=me)/ARP(op=1, hwsrc=me, psrc="\(lab.clientAddress)", pdst="\(Self.owned)")
                ns = IPv6(src="\(lab.clientAddress6)", dst="ff02::1:ff00:10", hlim=255)/ICMPv6ND_NS(tgt="\(Self.owned6)")/ICMPv6NDOptSrcLLAddr(lladdr=me)
                frames = [
                    Raw(bytes(good_arp)[:30]),                                  # truncated ARP
                    Ether(bytes(good_arp)[:12] + b"\\x08\\x06" + b"\\x00\\x06" + bytes(good_arp)[16:]),  # hardware type 6
                    Ether(dst="ff:ff:ff:ff:ff:ff", src=me)/Dot1Q(vlan=7)/ARP(op=1, hwsrc=me, psrc="\(lab.clientAddress)", pdst="\(Self.owned)"),
                    Ether(bytes(good_arp)[:19] + b"\\x10" + bytes(good_arp)[20:] + b"\\x00" * 24),  # protocol length 16
                    good_arp/Raw(b"\\xff" * 1400),                             # long padding: legal, answered once
                    Ether(dst="33:33:ff:00:00:10", src=me)/IPv6(src="\(lab.clientAddress6)", dst="ff02::1:ff00:10", hlim=64)/ICMPv6ND_NS(tgt="\(Self.owned6)"),
                    Ether(dst="33:33:ff:00:00:10", src=me)/IPv6(bytes(ns)[:-8]),   # truncated option
                    Ether(dst="33:33:ff:00:00:10", src=me)/IPv6(src="\(lab.clientAddress6)", dst="ff02::1:ff00:10", hlim=255)/ICMPv6ND_NS(tgt="\(Self.owned6)", cksum=0x1234),
                    Ether(dst="33:33:ff:00:00:10", src=me)/IPv6(src="\(lab.clientAddress6)", dst="ff02::1:ff00:10", hlim=255)/ICMPv6ND_NS(tgt="\(Self.owned6)")/Raw(b"\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00"),
                    Ether(dst="33:33:ff:00:00:10", src=me)/Dot1Q(vlan=7)/ns,
                    Ether(dst="ff:ff:ff:ff:ff:ff", src=me, type=0x0806)/Raw(b"\\x00" * 2),
                ]
                for frame in frames:
                    sendp(frame, iface=iface)
                sniffer.join()
                print("answers", len(sniffer.results), [r.summary() for r in sniffer.results])
                """
            let result = try await lab.run(in: lab.client, ["/usr/bin/python3", "-c", script])
            // Only the well-formed request with long padding gets an answer.
            #expect(result.output.contains("answers 1 "), "\(result)")
            #expect(speaker.isRunning, "\(speaker.logText)")
            #expect(try await arping(lab, Self.owned) == mac, "still answering after the hostile frames")
            try await speaker.stop()
        }
    }

    /// MetalLB's responders stay dead after a network restart; Herald's come back.
    @Test func answeringResumesAfterLinkDownUpAndRecreation() async throws {
        try await TwoHostLab.with(suffix: "relink") { lab in
            let speaker = try startSpeaker(lab, schedule: "0")
            let mac = try await lab.speakerMAC()
            _ = try await answered(lab, by: mac)

            try await lab.run(in: lab.speaker, ["ip", "link", "set", lab.speakerInterface, "down"])
            #expect(try await arping(lab, Self.owned) == nil)
            try await lab.run(in: lab.speaker, ["ip", "link", "set", lab.speakerInterface, "up"])
            _ = try await answered(lab, by: mac)

            try await lab.deleteLink()
            try await lab.linkUp()
            let newMAC = try await lab.speakerMAC()
            #expect(newMAC != mac)
            _ = try await answered(lab, by: newMAC)
            // The client's own new interface needs a moment before it can send IPv6 ("Network is unreachable").
            _ = try await waitFor("an NDP answer from \(newMAC) on the re-created link", limit: .seconds(5)) {
                let got = try await ndisc6(lab, Self.owned6)
                return (got == newMAC ? got : nil, got ?? "no answer")
            }
            let groups = try await lab.run(in: lab.speaker, ["cat", "/proc/net/igmp6"]).output
            #expect(groups.contains("ff0200000000000000000001ff000010"), "solicited-node group joined again: \(groups)")
            #expect(speaker.logText.contains("responder re-armed"))
            try await speaker.stop()
        }
    }

    /// Without `--interface` the speaker follows the node as MetalLB's does: an interface that appears is
    /// answered on within seconds (with the addresses already announced), one that is deleted takes its
    /// responder and thread with it, and links named like container veths are left out.
    @Test func theDefaultInterfacesFollowTheNode() async throws {
        try await TwoHostLab.with(suffix: "follow") { lab in
            let mac1 = try await lab.addLink("lan1", peer: "cli1", clientAddress: "198.51.100.2")
            let speaker = try BackgroundProcess(["ip", "netns", "exec", lab.speaker, heraldSpeakerBinary!, "announce",
                                                 "--ip", Self.owned, "--announce-schedule", "0", "--log-level", "debug"])
            @Sendable func threads() throws -> [String] {
                let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(speaker.pid)/task")
                return tasks.compactMap { try? String(contentsOfFile: "/proc/\(speaker.pid)/task/\($0)/comm", encoding: .utf8) }
                    .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            _ = try await waitFor("an answer on lan1", limit: .seconds(10)) {
                let got = try await arping(lab, Self.owned, on: "cli1")
                return (got == mac1 ? got : nil, "\(got ?? "nobody"); \(speaker.logText.suffix(300))")
            }
            #expect(try await arping(lab, Self.owned) == nil, "answered on veth-s, a name the defaults leave out")
            let named = try threads()
            #expect(named.contains("rx-lan1") && !named.contains("rx-veth-s"), "\(named)")

            let mac2 = try await lab.addLink("lan2", peer: "cli2", clientAddress: "203.0.113.2")
            _ = try await waitFor("an answer on the new lan2", limit: .seconds(10)) {
                let got = try await arping(lab, Self.owned, on: "cli2")
                return (got == mac2 ? got : nil, got ?? "nobody")
            }
            #expect(speaker.logText.contains("new interface; answering on it"), "\(speaker.logText.suffix(500))")

            try await lab.run(in: lab.speaker, ["ip", "link", "del", "lan2"])
            _ = try await waitFor("lan2's responder thread to end", limit: .seconds(10)) {
                let names = try threads()
                return (!names.contains("rx-lan2") ? true : nil, "\(names)")
            }
            #expect(speaker.logText.contains("interface gone; its responder stopped"), "\(speaker.logText.suffix(500))")
            #expect(try await arping(lab, Self.owned, on: "cli1") == mac1, "lan1 still answers")
            #expect(try await speaker.stop() == 0, "SIGTERM is a clean exit: \(speaker.logText.suffix(500))")
        }
    }

    /// The optional mode: the kernel answers through neighbour proxy entries that the speaker adds and removes.
    @Test func kernelProxyModeAddsAndRemovesProxyEntries() async throws {
        try await TwoHostLab.with(suffix: "proxy") { lab in
            let unprepared = try startSpeaker(lab, extra: ["--ndp-mode", "kernel-proxy"])
            _ = try await waitFor("the missing-sysctl warning", limit: .seconds(5)) {
                (unprepared.logText.contains("set these sysctls") ? true : nil, unprepared.logText)
            }
            #expect(unprepared.logText.contains("net.ipv6.conf.all.proxy_ndp=1"))
            try await unprepared.stop()

            try await lab.run(in: lab.speaker, ["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1",
                                                "net.ipv6.conf.all.proxy_ndp=1", "net.ipv6.neigh.\(lab.speakerInterface).proxy_delay=0"])
            let speaker = try startSpeaker(lab, schedule: "0", extra: ["--ndp-mode", "kernel-proxy"])
            let mac = try await lab.speakerMAC()
            _ = try await waitFor("a proxy entry for \(Self.owned6)", limit: .seconds(5)) {
                let entries = try await lab.run(in: lab.speaker, ["ip", "-6", "neigh", "show", "proxy"]).output
                return (entries.contains(Self.owned6) ? entries : nil, entries)
            }
            // The kernel's proxied answer comes from the interface's own address, Herald's from the target:
            // so the source tells who answered.
            let script = """
                from scapy.all import *
                conf.verb = 0
                me = get_if_hwaddr("\(lab.clientInterface)")
                ns = Ether(dst="33:33:ff:00:00:10", src=me)/IPv6(src="\(lab.clientAddress6)", dst="ff02::1:ff00:10", hlim=255)/ICMPv6ND_NS(tgt="\(Self.owned6)")/ICMPv6NDOptSrcLLAddr(lladdr=me)
                answers, _ = srp(ns, iface="\(lab.clientInterface)", timeout=1.5, multi=True, filter="icmp6 and ip6[40] == 136")
                for _, answer in answers:
                    print("answer", answer[Ether].src, answer[IPv6].src, answer[ICMPv6ND_NA].O)
                """
            let result = try await lab.run(in: lab.client, ["/usr/bin/python3", "-c", script])
            #expect(result.output.contains("answer \(mac) \(lab.speakerAddress6) 0"), "the kernel answers, Override clear: \(result)")
            #expect(!result.output.contains("answer \(mac) \(Self.owned6)"), "Herald's socket stays silent: \(result)")
            #expect(!speaker.logText.contains("set these sysctls"))
            #expect(try await speaker.stop() == 0)
            let after = try await lab.run(in: lab.speaker, ["ip", "-6", "neigh", "show", "proxy"]).output
            #expect(!after.contains(Self.owned6), "entry removed on SIGTERM: \(after)")
        }
    }

    /// Changes that keep the interface up: a MAC changed in place, and the carrier lost and regained.
    @Test func followsMACChangesAndCarrierWhileTheLinkStaysUp() async throws {
        try await TwoHostLab.with(suffix: "carrier") { lab in
            let speaker = try startSpeaker(lab, schedule: "0,1000")
            _ = try await answered(lab, by: try await lab.speakerMAC())

            let newMAC = "02:00:5e:00:53:01"
            try await lab.run(in: lab.speaker, ["ip", "link", "set", lab.speakerInterface, "address", newMAC])
            _ = try await answered(lab, by: newMAC)
            #expect(speaker.logText.contains("interface address changed; responder re-armed"))

            // The client's side going down takes the speaker's carrier away without its link going down.
            try await lab.run(in: lab.client, ["ip", "link", "set", lab.clientInterface, "down"])
            try await lab.run(in: lab.client, ["ip", "link", "set", lab.clientInterface, "up"])
            _ = try await waitFor("the speaker to re-announce after the carrier came back", limit: .seconds(5)) {
                (speaker.logText.contains("carrier back; re-announcing") ? true : nil, speaker.logText)
            }
            let capture = try BackgroundProcess(["ip", "netns", "exec", lab.client, "tcpdump", "-n", "-e", "-l", "-i",
                                                 lab.clientInterface, "arp"])
            _ = try await waitFor("the repeated gratuitous ARP after the carrier came back", limit: .seconds(5)) {
                let text = capture.logText
                return (text.contains("Request who-has \(Self.owned) tell \(Self.owned)") ? true : nil, text)
            }
            try await capture.stop()
            try await speaker.stop()
        }
    }
}
