#!/usr/bin/python3
# Prints the golden BGP messages of GoldenMessages.swift, built by scapy's contrib.bgp (an encoder independent
# of Herald's). Run with Debian's python3-scapy: /usr/bin/python3 Tests/BGPWireTests/make-golden.py
import struct
import sys
from scapy.config import conf
conf.logLevel = 40
from scapy.contrib import bgp as b  # noqa: E402
from scapy.packet import Raw  # noqa: E402


def hexof(packet):
    return bytes(packet).hex()


def attr(flags, code, attribute):
    return b.BGPPathAttr(type_flags=flags, type_code=code, attribute=attribute)


out = {}
b.bgp_module_conf.use_2_bytes_asn = False  # sessions with the 4-octet AS capability, as Herald's always offer

caps = [
    b.BGPCapMultiprotocol(afi=1, safi=1),
    b.BGPCapMultiprotocol(afi=2, safi=1),
    b.BGPCapGeneric(code=2, length=0),
    b.BGPCapFourBytesASN(asn=4200000001),
    b.BGPCapGracefulRestart(restart_flags=0x8, restart_time=120, entries=[
        b.BGPCapGracefulRestart.GRTuple(afi=1, safi=1, flags=0x80),
        b.BGPCapGracefulRestart.GRTuple(afi=2, safi=1, flags=0)]),
    b.BGPCapGeneric(code=70, length=0),  # enhanced route refresh: unknown to Herald, kept
]
# One capability per optional parameter, as FRR sends them.
out["open"] = hexof(b.BGPHeader(type=1) / b.BGPOpen(
    version=4, my_as=23456, hold_time=90, bgp_id="192.0.2.1",
    opt_params=[b.BGPOptParam(param_type=2, param_value=c) for c in caps]))
out["keepalive"] = hexof(b.BGPKeepAlive())
message = "maintenance".encode()
out["ceaseShutdown"] = hexof(b.BGPHeader(type=3) / b.BGPNotification(
    error_code=6, error_subcode=2) / Raw(bytes([len(message)]) + message))
out["holdTimeNotification"] = hexof(b.BGPHeader(type=3) / b.BGPNotification(error_code=2, error_subcode=6))
out["routeRefresh"] = hexof(b.BGPHeader(type=5) / b.BGPRouteRefresh(afi=1, safi=1))

large = struct.pack("!III", 4200000001, 1, 2) + struct.pack("!III", 64512, 7, 0)
out["updateIPv4"] = hexof(b.BGPHeader(type=2) / b.BGPUpdate(
    path_attr=[
        attr(0x40, 1, b.BGPPAOrigin(origin=0)),
        attr(0x40, 2, b.BGPPAAS4BytesPath(segments=[
            b.BGPPAAS4BytesPath.ASPathSegment(segment_type=2, segment_value=[4200000001])])),
        attr(0x40, 3, b.BGPPANextHop(next_hop="192.0.2.1")),
        attr(0x40, 5, b.BGPPALocalPref(local_pref=100)),
        attr(0xC0, 8, b.BGPPACommunity(community=(64512 << 16) | 100)),
        attr(0xC0, 32, Raw(large)),
    ],
    nlri=[b.BGPNLRI_IPv4(prefix="203.0.113.10/32"), b.BGPNLRI_IPv4(prefix="203.0.113.0/24")]))
out["updateIPv6"] = hexof(b.BGPHeader(type=2) / b.BGPUpdate(
    path_attr=[
        attr(0x40, 1, b.BGPPAOrigin(origin=2)),
        attr(0x40, 2, b.BGPPAAS4BytesPath(segments=[
            b.BGPPAAS4BytesPath.ASPathSegment(segment_type=2, segment_value=[64512, 64513])])),
        attr(0x80, 14, b.BGPPAMPReachNLRI(
            afi=2, safi=1, nh_addr_len=32, nh_v6_global="2001:db8::1", nh_v6_link_local="fe80::1",
            nlri=[b.BGPNLRI_IPv6(prefix="2001:db8:5e::10/128"), b.BGPNLRI_IPv6(prefix="2001:db8:5e::/64")])),
    ]))
out["withdrawIPv4"] = hexof(b.BGPHeader(type=2) / b.BGPUpdate(
    withdrawn_routes=[b.BGPNLRI_IPv4(prefix="203.0.113.10/32")]))
out["withdrawIPv6"] = hexof(b.BGPHeader(type=2) / b.BGPUpdate(path_attr=[
    attr(0x80, 15, b.BGPPAMPUnreachNLRI(afi=2, safi=1, afi_safi_specific=b.BGPPAMPUnreachNLRI_IPv6(
        withdrawn_routes=[b.BGPNLRI_IPv6(prefix="2001:db8:5e::10/128")])))]))
out["endOfRIBIPv4"] = hexof(b.BGPHeader(type=2) / b.BGPUpdate())
out["endOfRIBIPv6"] = hexof(b.BGPHeader(type=2) / b.BGPUpdate(path_attr=[
    attr(0x80, 15, b.BGPPAMPUnreachNLRI(afi=2, safi=1))]))

# A session without 4-octet AS: AS_TRANS in the 2-octet AS_PATH, the real path in AS4_PATH.
b.bgp_module_conf.use_2_bytes_asn = True
out["updateTwoOctet"] = hexof(b.BGPHeader(type=2) / b.BGPUpdate(
    path_attr=[
        attr(0x40, 1, b.BGPPAOrigin(origin=0)),
        attr(0x40, 2, b.BGPPAASPath(segments=[
            b.BGPPAASPath.ASPathSegment(segment_type=2, segment_value=[23456])])),
        attr(0x40, 3, b.BGPPANextHop(next_hop="192.0.2.1")),
        attr(0xC0, 17, b.BGPPAAS4Path(segment_type=2, segment_value=[4200000001])),
    ],
    nlri=[b.BGPNLRI_IPv4(prefix="203.0.113.10/32")]))
out["openTwoOctet"] = hexof(b.BGPHeader(type=1) / b.BGPOpen(
    version=4, my_as=64512, hold_time=3, bgp_id="192.0.2.2",
    opt_params=[b.BGPOptParam(param_type=2, param_value=b.BGPCapMultiprotocol(afi=1, safi=1))]))

for name, value in out.items():
    print(f'        "{name}": "{value}",')
