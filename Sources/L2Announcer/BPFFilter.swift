import CLinuxNet
import CPcap

/// A classic BPF program compiled by libpcap from a filter expression, ready to attach to a packet socket.
///
/// libpcap compiles on a dead handle (`pcap_open_dead`), which needs no interface and no privilege, so the
/// expression is checked once at start-up and a typo is an error, not a silent socket that matches nothing.
public struct BPFFilter: Sendable {
    public let expression: String
    /// The instructions, laid out as the kernel's `struct sock_filter` (and libpcap's `bpf_insn`).
    let instructions: [sock_filter]

    /// Frames Herald's responders read: ARP, and ICMPv6 Neighbour Solicitations and Advertisements (types
    /// 135, 136) right after a fixed IPv6 header — solicitations to answer, advertisements to see another MAC
    /// claim an address. Tagged frames pass too; the responder drops them, seeing the tag in the metadata.
    public static let addressResolution = try! BPFFilter("arp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136))")

    public init(_ expression: String) throws(FilterError) {
        guard let handle = pcap_open_dead(DLT_EN10MB, 65_535) else {
            throw FilterError(expression: expression, detail: "pcap_open_dead failed")
        }
        defer { pcap_close(handle) }
        var program = bpf_program()
        guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw FilterError(expression: expression, detail: String(cString: pcap_geterr(handle)))
        }
        defer { pcap_freecode(&program) }
        let buffer = UnsafeBufferPointer(start: program.bf_insns, count: Int(program.bf_len))
        instructions = buffer.map { sock_filter(code: $0.code, jt: $0.jt, jf: $0.jf, k: $0.k) }
        self.expression = expression
    }

    public struct FilterError: Error, Hashable, Sendable, CustomStringConvertible {
        public var expression: String
        public var detail: String
        public var description: String { "filter \"\(expression)\" does not compile: \(detail)" }
    }
}

extension sock_filter: @retroactive @unchecked Sendable {}
