#!/usr/bin/python3
"""Membership on real sockets: N `herald-speaker gossip` processes on loopback inside a network namespace
that scripts/bench-gossip-net made, random loss injected with nftables on the gossip UDP ports (these kernels have no queueing discipline that
drops at random). The profile `memberlist` runs the real hashicorp/memberlist instead (Benchmarks/memberlist-peer,
its LAN defaults, the same output format), as the baseline measured side by side. For each profile and loss: kill -9 of a random member, time until every other member
printed it dead; SIGTERM of one, time until every other printed it left; false deaths (a member declared dead
that was running); traffic per member from the namespace's loopback counters. Prints a Markdown table.

Run by scripts/bench-gossip-net (root), never directly on the host: nft rules go into the current namespace.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BINARY, NODES, TRIALS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
MEMBERLIST_PEER = os.environ.get("MEMBERLIST_PEER", "")
PROFILES = sys.argv[4].split(",")
LOSSES = [int(x) for x in sys.argv[5].split(",")]
BASE_PORT = 21000
TABLE = "herald_bench_loss"


def now_ms():
    return int(time.time() * 1000)


def nft(*commands):
    subprocess.run(["nft", *commands], check=True)


def set_loss(percent):
    subprocess.run(["nft", "delete", "table", "inet", TABLE], stderr=subprocess.DEVNULL)
    if percent == 0:
        return
    nft("add", "table", "inet", TABLE)
    nft("add", "chain", "inet", TABLE, "input", "{ type filter hook input priority 0 ; }")
    nft("add", "rule", "inet", TABLE, "input", "udp", "dport", f"{BASE_PORT}-{BASE_PORT + NODES - 1}",
        "numgen", "random", "mod", "100", "<", str(percent), "drop")


def loopback_bytes():
    with open("/proc/net/dev") as f:
        for line in f:
            if line.strip().startswith("lo:"):
                return int(line.split(":")[1].split()[0])
    return 0


class Cluster:
    def __init__(self, profile, keyfile, workdir):
        self.profile, self.keyfile, self.workdir = profile, keyfile, workdir
        self.processes, self.outputs, self.offsets = {}, {}, {}

    def name(self, index):
        return f"member-{index}"

    def start(self, index):
        name = self.name(index)
        path = os.path.join(self.workdir, f"{self.profile}-{name}-{now_ms()}.out")
        out = open(path, "w")
        self.outputs[name] = path
        common = ["--name", name, "--bind", f"127.0.0.1:{BASE_PORT + index}", "--secret-file", self.keyfile,
                  "--peers", f"127.0.0.1:{BASE_PORT}"]
        if self.profile == "memberlist":
            command = [MEMBERLIST_PEER, *common]
        else:
            command = [BINARY, "gossip", *common, "--profile", self.profile, "--log-level", "error"]
        self.processes[name] = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    def changes(self, observer):
        result = []
        with open(self.outputs[observer]) as f:
            for line in f:
                if line.startswith('{"time_ms"'):
                    try:
                        result.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass  # a line being written
        return result

    def last(self, observer, member):
        said = [c for c in self.changes(observer) if c["member"] == member]
        return said[-1] if said else None

    def wait(self, observers, member, status, limit):
        deadline = time.time() + limit
        while time.time() < deadline:
            lasts = [self.last(o, member) for o in observers]
            if all(l is not None and l["status"] == status for l in lasts):
                return max(l["time_ms"] for l in lasts)
            time.sleep(0.01)
        return None

    def wait_converged(self, names, limit=60):
        deadline = time.time() + limit
        while time.time() < deadline:
            if all((self.last(o, m) or {}).get("status") == "alive" for o in names for m in names if m != o):
                return True
            time.sleep(0.05)
        return False

    def stop_all(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
            process.wait()


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[min(len(ordered), rank) - 1]


def run(profile, loss, keyfile, workdir):
    set_loss(0)
    cluster = Cluster(profile, keyfile, workdir)
    names = [cluster.name(i) for i in range(NODES)]
    try:
        for i in range(NODES):
            cluster.start(i)
        if not cluster.wait_converged(names):
            return None
        set_loss(loss)
        time.sleep(3)
        before, started = loopback_bytes(), time.time()
        time.sleep(5)
        traffic = (loopback_bytes() - before) / (time.time() - started) / NODES
        killed_at = {}  # member -> (killed, back alive)
        detections, undetected = [], 0
        rng = random.Random(7)
        for _ in range(TRIALS):
            victim_index = rng.randrange(1, NODES)
            victim = cluster.name(victim_index)
            others = [n for n in names if n != victim]
            time.sleep(rng.random() * 0.5)
            t0 = now_ms()
            cluster.processes[victim].kill()
            cluster.processes[victim].wait()
            seen = cluster.wait(others, victim, "dead", 60)
            if seen is None:
                undetected += 1
            else:
                detections.append(seen - t0)
            cluster.start(victim_index)
            back = cluster.wait(others, victim, "alive", 30)
            killed_at.setdefault(victim, []).append((t0, back or now_ms()))
            time.sleep(1)
        # Graceful leave.
        leaver = cluster.name(NODES - 1)
        others = [n for n in names if n != leaver]
        t0 = now_ms()
        cluster.processes[leaver].send_signal(signal.SIGTERM)
        cluster.processes[leaver].wait(timeout=10)
        # memberlist reports a member that left like a dead one (see memberlist-peer).
        left = cluster.wait(others, leaver, "dead" if profile == "memberlist" else "left", 10)
        leave_ms = None if left is None else left - t0
        false_deaths = 0
        for observer in others:
            for change in cluster.changes(observer):
                if change["status"] != "dead" or (change["member"] == leaver and change["time_ms"] >= t0):
                    continue
                windows = killed_at.get(change["member"], [])
                if not any(start <= change["time_ms"] <= end + 1000 for start, end in windows):
                    false_deaths += 1
        return detections, undetected, leave_ms, false_deaths, traffic
    finally:
        cluster.stop_all()
        set_loss(0)


def fmt(ms):
    if ms != ms:
        return "—"
    return f"{ms / 1000:.1f} s" if ms >= 10000 else f"{ms:.0f} ms"


def main():
    workdir = tempfile.mkdtemp(prefix="herald-gossip-bench-")
    try:
        table(workdir)
    finally:
        # The members' logs and the key: kept only when asked (HERALD_KEEP_LOGS=1), for looking into a run.
        if os.environ.get("HERALD_KEEP_LOGS") == "1":
            print(f"\nlogs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def table(workdir):
    keyfile = os.path.join(workdir, "key")
    with open(keyfile, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    print(f"Gossip on real sockets: {NODES} `herald-speaker gossip` processes (release) on loopback in a namespace, "
          f"sealed, {TRIALS} kill -9 per row, loss by nftables on UDP, {os.cpu_count()} cores\n")
    print("| profile | loss | kill -9 → all see dead p50 | p99 | max | undetected | SIGTERM → all see left "
          "| false deaths | traffic per member |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for profile in PROFILES:
        for loss in LOSSES:
            result = run(profile, loss, keyfile, workdir)
            if result is None:
                print(f"| {profile} | {loss}% | did not converge | | | | | | |")
                continue
            detections, undetected, leave_ms, false_deaths, traffic = result
            print(f"| {profile} | {loss}% | {fmt(percentile(detections, 0.5))} | {fmt(percentile(detections, 0.99))} | "
                  f"{fmt(max(detections) if detections else float('nan'))} | {undetected} | "
                  f"{'—' if leave_ms is None else f'{leave_ms} ms'} | {false_deaths} | {traffic / 1000:.1f} kB/s |",
                  flush=True)


if __name__ == "__main__":
    main()
