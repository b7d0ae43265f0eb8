#!/usr/bin/python3
"""Measures ARP and NDP answer latency from a client namespace, Herald and the kernel side by side.

Run inside the client's network namespace (scripts/bench-l2 does). Sends one request at a time on an AF_PACKET
socket, timing from just before send() to the kernel's receive timestamp of the answer, so the Python
overhead on both sides is the same for every target. Then sends bursts at rising rates and reports the
highest rate answered with nothing lost. Prints a Markdown table.
"""
import os, select, socket, statistics, struct, sys, time

IFACE, MY_MAC, MY_IP4, MY_IP6, PEER_MAC = sys.argv[1:6]
TARGETS = sys.argv[6:]          # "herald:192.0.2.10" "kernel:192.0.2.1" "herald:2001:db8::10" ...
PROBES = int(os.environ.get("PROBES", "2000"))
SO_TIMESTAMPNS = 35

def mac(text): return bytes.fromhex(text.replace(":", ""))
def v6(text): return socket.inet_pton(socket.AF_INET6, text)

def checksum(data):
    if len(data) % 2: data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16: total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff

def arp_request(target):
    return (b"\xff" * 6 + mac(MY_MAC) + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
            + mac(MY_MAC) + socket.inet_aton(MY_IP4) + b"\0" * 6 + socket.inet_aton(target))

def solicitation(target):
    t = v6(target)
    group = v6("ff02::1:ff00:0")[:13] + t[13:]
    body = struct.pack("!BBHI", 135, 0, 0, 0) + t + b"\x01\x01" + mac(MY_MAC)
    pseudo = v6(MY_IP6) + group + struct.pack("!I", len(body)) + b"\0\0\0\x3a"
    body = body[:2] + struct.pack("!H", checksum(pseudo + body)) + body[4:]
    ip = struct.pack("!IHBB", 0x60000000, len(body), 58, 255) + v6(MY_IP6) + group
    return b"\x33\x33" + group[12:] + mac(MY_MAC) + b"\x86\xdd" + ip + body

def is_answer(frame, target):
    if ":" in target:
        return (len(frame) >= 78 and frame[12:14] == b"\x86\xdd" and frame[20] == 58 and frame[54] == 136
                and frame[62:78] == v6(target))
    return len(frame) >= 42 and frame[12:14] == b"\x08\x06" and frame[21] == 2 and frame[28:32] == socket.inet_aton(target)

sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
sock.bind((IFACE, 0))
sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)

def drain():
    while select.select([sock], [], [], 0)[0]: sock.recv(65536)

def probe(frame, target, timeout=0.05):
    drain()
    sent = time.time_ns()
    sock.send(frame)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]: return None
        data, ancillary, _, _ = sock.recvmsg(65536, 64)
        if not is_answer(data, target): continue
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = struct.unpack("qq", value[:16])
                return (seconds * 1_000_000_000 + nanoseconds - sent) / 1000
        return (time.time_ns() - sent) / 1000

def burst(frame, target, rate, seconds=1.0):
    drain()
    count, answered = int(rate * seconds), 0
    interval, start = 1.0 / rate, time.monotonic()
    for i in range(count):
        while time.monotonic() < start + i * interval: pass
        sock.send(frame)
        while select.select([sock], [], [], 0)[0]:
            if is_answer(sock.recv(65536), target): answered += 1
    achieved = count / (time.monotonic() - start)
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        if select.select([sock], [], [], 0.01)[0] and is_answer(sock.recv(65536), target): answered += 1
    return count, answered, achieved

print(f"| who | address | probes | answered | median µs | p99 µs | max µs | highest rate with no loss |")
print(f"| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for spec in TARGETS:
    who, target = spec.split(":", 1)
    frame = solicitation(target) if ":" in target else arp_request(target)
    for _ in range(50): probe(frame, target)          # warm caches and the answer path
    samples = [s for s in (probe(frame, target) for _ in range(PROBES)) if s is not None]
    best = 0
    for rate in (1000, 2000, 5000, 10000, 20000, 40000, 80000):
        sent, answered, achieved = burst(frame, target, rate)
        if answered < sent: break
        best = int(achieved)   # what the sender reached, which may fall short of the rate asked
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] if samples else float("nan")
    print(f"| {who} | {target} | {PROBES} | {len(samples)} | {statistics.median(samples):.1f} | {p99:.1f} | {samples[-1]:.1f} | {best:,}/s |")
