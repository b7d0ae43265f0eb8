#!/usr/bin/python3
# A hostile BGP peer for BGPNodeTests: listens on PORT, and for each scenario named on the command line
# accepts one connection from Herald, sends that scenario's malformed message (after a valid OPEN and
# KEEPALIVE where the scenario is an UPDATE), and prints "SCENARIO CODE SUBCODE" for the NOTIFICATION Herald
# answers with ("SCENARIO none" if the connection closed without one). Bytes are built here by hand, from the
# RFCs, independently of Herald's encoder. Bounded: every socket operation times out.
import socket
import struct
import sys

MARKER = b"\xff" * 16


def message(kind, body, length=None, marker=MARKER):
    return marker + struct.pack("!HB", length if length is not None else 19 + len(body), kind) + body


def open_message(version=4, asn=64500, hold=90, router_id=b"\xc0\x00\x02\x02"):
    capabilities = b"\x02\x06\x01\x04\x00\x01\x00\x01" + b"\x02\x06\x41\x04" + struct.pack("!I", asn)
    return message(1, struct.pack("!BHH", version, asn, hold) + router_id + bytes([len(capabilities)]) + capabilities)


def update(attributes, nlri=b""):
    return message(2, b"\x00\x00" + struct.pack("!H", len(attributes)) + attributes + nlri)


ORIGIN = b"\x40\x01\x01\x00"
NEXT_HOP = b"\x40\x03\x04\xc0\x00\x02\x02"
AS_PATH = b"\x40\x02\x06\x02\x01\x00\x00\xfb\xf4"
HOST_ROUTE = b"\x20\xcb\x00\x71\x0a"

SCENARIOS = {
    # Sent instead of an OPEN.
    "version3": (False, open_message(version=3)),
    "hold1": (False, open_message(hold=1)),
    "marker": (False, message(4, b"", marker=b"\x00" * 16)),
    "length5000": (False, message(4, b"", length=5000)),
    "type9": (False, message(9, b"")),
    # Sent once established.
    "badASPath": (True, update(ORIGIN + b"\x40\x02\x02\x02\x00" + NEXT_HOP, HOST_ROUTE)),
    "badOrigin": (True, update(b"\x40\x01\x01\x07" + AS_PATH + NEXT_HOP, HOST_ROUTE)),
    "overrun": (True, update(ORIGIN + b"\x40\x02\x40\x02")),
    "missingNextHop": (True, update(ORIGIN + AS_PATH, HOST_ROUTE)),
}


def read_message(connection):
    header = b""
    while len(header) < 19:
        chunk = connection.recv(19 - len(header))
        if not chunk:
            return None
        header += chunk
    length, kind = struct.unpack("!HB", header[16:19])
    body = b""
    while len(body) < length - 19:
        chunk = connection.recv(length - 19 - len(body))
        if not chunk:
            return None
        body += chunk
    return kind, body


def main():
    port = int(sys.argv[1])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(1)
    listener.settimeout(30)
    print("listening", flush=True)
    for name in sys.argv[2:]:
        established, bad = SCENARIOS[name]
        connection, _ = listener.accept()
        connection.settimeout(10)
        result = "none"
        try:
            first = read_message(connection)  # Herald's OPEN
            assert first and first[0] == 1, first
            if established:
                connection.sendall(open_message() + message(4, b""))
                while True:
                    received = read_message(connection)
                    if received is None or received[0] == 4:
                        break
            connection.sendall(bad)
            while True:
                received = read_message(connection)
                if received is None:
                    break
                if received[0] == 3:
                    result = "%d %d" % (received[1][0], received[1][1])
                    break
        except (socket.timeout, ConnectionError) as error:
            result = "error %s" % error
        print(name, result, flush=True)
        connection.close()


main()
