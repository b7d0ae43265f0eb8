public import HeraldCore
import HeraldWire
import NIOCore

/// Routes into as few UPDATEs as fit BGP's 4,096-byte limit: IPv4 routes in the classic NLRI field (with
/// NEXT_HOP), other families in MP_REACH_NLRI and MP_UNREACH_NLRI, as FRR and BIRD send them.
public enum BGPUpdatePacker {
    /// UPDATEs announcing `prefixes` of `family` with `attributes` (whose reach and unreach fields are replaced).
    public static func announcements(
        _ prefixes: [IPNetwork], family: BGPAddressFamily, nextHop: BGPNextHop, attributes: BGPPathAttributes,
        fourOctetAS: Bool
    ) -> [BGPUpdate] {
        var template = attributes
        template.multiprotocolUnreach = nil
        template.multiprotocolReach = nil
        if family == .ipv4Unicast, case .v4(let address) = nextHop {
            template.nextHop = address
            return chunks(of: prefixes, base: BGPUpdate(attributes: template), fourOctetAS: fourOctetAS).map {
                BGPUpdate(attributes: template, announced: $0)
            }
        }
        template.multiprotocolReach = BGPMultiprotocolReach(family: family, nextHop: nextHop, prefixes: [])
        return chunks(of: prefixes, base: BGPUpdate(attributes: template), fourOctetAS: fourOctetAS).map {
            var attributes = template
            attributes.multiprotocolReach!.prefixes = $0
            return BGPUpdate(attributes: attributes)
        }
    }

    /// UPDATEs withdrawing `prefixes` of `family`.
    public static func withdrawals(_ prefixes: [IPNetwork], family: BGPAddressFamily) -> [BGPUpdate] {
        if family == .ipv4Unicast {
            return chunks(of: prefixes, base: BGPUpdate(), fourOctetAS: true).map { BGPUpdate(withdrawn: $0) }
        }
        let base = BGPUpdate(
            attributes: BGPPathAttributes(multiprotocolUnreach: .init(family: family, prefixes: [])))
        return chunks(of: prefixes, base: base, fourOctetAS: true).map {
            BGPUpdate(attributes: BGPPathAttributes(multiprotocolUnreach: .init(family: family, prefixes: $0)))
        }
    }

    /// Splits `prefixes` so each chunk added to `base` stays within the limit. One byte is kept spare for an
    /// attribute that grows into the extended-length form.
    private static func chunks(of prefixes: [IPNetwork], base: BGPUpdate, fourOctetAS: Bool) -> [[IPNetwork]] {
        guard !prefixes.isEmpty else { return [] }
        let budget =
            BGPMessage.maximumLength - BGPMessage.update(base).encoded(fourOctetAS: fourOctetAS).readableBytes - 1
        var result: [[IPNetwork]] = []
        var current: [IPNetwork] = []
        var used = 0
        for prefix in prefixes {
            let size = prefix.encodedBGPLength
            if used + size > budget, !current.isEmpty {
                result.append(current)
                current = []
                used = 0
            }
            current.append(prefix)
            used += size
        }
        result.append(current)
        return result
    }
}
