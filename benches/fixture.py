#!/usr/bin/env python3
"""The socket fixture of benches/who.sh: many processes holding many sockets.

Run it inside a private network namespace (who.sh does). It forks
PROCESSES children that hold SOCKETS sockets between them:

* TCP listeners on 127.0.0.1, ::1, 0.0.0.0, [::] dual-stack and [::] v6only,
  in turn, and UDP sockets on 127.0.0.1, 0.0.0.0, ::1 and [::] (about one
  socket in six is UDP);
* some sockets shared across fork: every SHARE_EVERY-th child is a
  "prefork master" whose first listener its next SHARE_WORKERS siblings
  inherit and keep;
* the probe port: TCP 0.0.0.0:PROBE shared by three processes, TCP
  [::1]:PROBE held by a fourth and UDP 127.0.0.1:PROBE held by a fifth.

When every child holds its sockets it writes the expected answer as JSON to
--out ({"pids": [...], "sockets": [{"protocol", "address", "port", "pids"}]})
and prints "ready". It dies with its parent and its children die with it
(PR_SET_PDEATHSIG); on SIGTERM it kills them first. The bench also kills
each pid in the list.

--idle instead holds only an sshd-like pair of listeners (0.0.0.0:PROBE and
[::]:PROBE v6only) in this one process, for the idle-machine query.
"""

import argparse
import ctypes
import json
import os
import signal
import socket
import sys

PR_SET_PDEATHSIG = 1
TCP_KINDS = [
    ("127.0.0.1", socket.AF_INET, None),
    ("::1", socket.AF_INET6, True),
    ("0.0.0.0", socket.AF_INET, None),
    ("::", socket.AF_INET6, False),  # dual-stack
    ("::", socket.AF_INET6, True),  # v6only
]
UDP_KINDS = [
    ("127.0.0.1", socket.AF_INET, None),
    ("0.0.0.0", socket.AF_INET, None),
    ("::1", socket.AF_INET6, True),
    ("::", socket.AF_INET6, True),
]
TCP_BASE = 21000
UDP_BASE = 30000


def make(protocol, address, family, v6only, port):
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
    sock.bind((address, port))
    if protocol == "tcp":
        sock.listen(1)
    return sock


def plan(processes, sockets, probe):
    """The sockets of each child, as (protocol, address, family, v6only, port)."""
    per_child = [[] for _ in range(processes)]
    # The probe port first: children 0-2 share one listener (child 0
    # creates it), child 3 and child 4 hold one each.
    per_child[0].append(("tcp", "0.0.0.0", socket.AF_INET, None, probe))
    per_child[3].append(("tcp", "::1", socket.AF_INET6, True, probe))
    per_child[4].append(("udp", "127.0.0.1", socket.AF_INET, None, probe))
    remaining = sockets - 3
    udp = remaining // 6
    tcp = remaining - udp
    specs = []
    for i in range(tcp):
        address, family, v6only = TCP_KINDS[i % len(TCP_KINDS)]
        specs.append(("tcp", address, family, v6only, TCP_BASE + i))
    for i in range(udp):
        address, family, v6only = UDP_KINDS[i % len(UDP_KINDS)]
        specs.append(("udp", address, family, v6only, UDP_BASE + i))
    # Deal them out so every child ends with sockets // processes or one
    # more, TCP and UDP mixed.
    child = 0
    for spec in specs:
        while len(per_child[child]) >= -(-sockets // processes):
            child = (child + 1) % processes
        per_child[child].append(spec)
        child = (child + 1) % processes
    return per_child


def hold_forever():
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        signal.pause()


def run_idle(probe, out):
    held = [
        make("tcp", "0.0.0.0", socket.AF_INET, None, probe),
        make("tcp", "::", socket.AF_INET6, True, probe),
    ]
    with open(out, "w", encoding="utf-8") as f:
        json.dump(
            {
                "pids": [os.getpid()],
                "sockets": [
                    {"protocol": "tcp", "address": "0.0.0.0", "port": probe, "pids": [os.getpid()]},
                    {"protocol": "tcp", "address": "::", "port": probe, "pids": [os.getpid()]},
                ],
            },
            f,
        )
    print("ready", flush=True)
    hold_forever()  # keeps `held` alive


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--sockets", type=int, default=6000)
    parser.add_argument("--probe", type=int, default=20001)
    parser.add_argument("--share-every", type=int, default=50)
    parser.add_argument("--share-workers", type=int, default=4)
    parser.add_argument("--idle", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    # Gone with whoever started it (measure.py): SIGTERM, whose handler
    # below takes the children along.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if args.idle:
        run_idle(args.probe, args.out)
        return

    per_child = plan(args.processes, args.sockets, args.probe)
    pids = []
    owners = {}  # (protocol, address, port) -> [pid]
    shared = []  # (key, socket, children left to inherit it)

    def note(key, pid):
        owners.setdefault(key, []).append(pid)

    for index, specs in enumerate(per_child):
        own = [make(*spec) for spec in specs]
        keys = [(p, a, port) for (p, a, _f, _v, port) in specs]
        inherited = [(key, sock) for (key, sock, _left) in shared]
        pid = os.fork()
        if pid == 0:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() == 1:
                os._exit(0)
            hold_forever()
        pids.append(pid)
        for key in keys:
            note(key, pid)
        for key, _sock in inherited:
            note(key, pid)
        # Shared sockets: the probe listener of child 0 goes to children 1
        # and 2; every share_every-th child's first listener to its next
        # share_workers siblings.
        shared = [(k, s, left - 1) for (k, s, left) in shared]
        for _k, s, left in shared:
            if left == 0:
                s.close()
        shared = [(k, s, left) for (k, s, left) in shared if left > 0]
        if index == 0:
            shared.append((keys[0], own.pop(0), 2))
        elif index % args.share_every == 0 and own:
            shared.append((keys[0], own.pop(0), args.share_workers))
        for sock in own:
            sock.close()
    for _k, s, _left in shared:
        s.close()

    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(
            {
                "pids": pids,
                "sockets": [
                    {"protocol": p, "address": a, "port": port, "pids": sorted(ps)}
                    for (p, a, port), ps in owners.items()
                ],
            },
            f,
        )
    print("ready", flush=True)

    def stop(_signum, _frame):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for _ in pids:
            try:
                os.wait()
            except ChildProcessError:
                break
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
