#!/usr/bin/env python3
"""Holders of many TCP listeners, for tests/cli/scale.rs and benches/scale.sh.

Usage: scale_fixture.py TOTAL PER_PROCESS FIRST_PORT

Forks holders of TOTAL listeners, PER_PROCESS each (fewer where the
descriptor limit's hard value is lower), alternately on 127.0.0.1 and ::1, pair i on port
FIRST_PORT + i. Prints each holder's pid, then "ready". The holders die with
this process (PR_SET_PDEATHSIG), which ends when its standard input closes.
Run it inside a private network namespace.
"""
import ctypes, os, resource, signal, socket, sys
total, per, first = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard == resource.RLIM_INFINITY:
    hard = per + 64
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
# As many a process as its descriptor limit allows, leaving a few spare.
per = max(1, min(per, hard - 64))
libc = ctypes.CDLL(None)
for start in range(0, total, per):
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG: SIGKILL when the parent dies
        os.close(ready_read)
        held = []
        for i in range(start, min(total, start + per)):
            family, address = (socket.AF_INET, "127.0.0.1") if i % 2 == 0 else (socket.AF_INET6, "::1")
            s = socket.socket(family, socket.SOCK_STREAM)
            s.bind((address, first + i // 2))
            s.listen(1)
            held.append(s)
        os.write(ready_write, b"x")
        os.close(ready_write)
        while True:
            signal.pause()
    os.close(ready_write)
    if os.read(ready_read, 1) != b"x":
        sys.exit("a holder failed")
    os.close(ready_read)
    print(pid, flush=True)
print("ready", flush=True)
sys.stdin.read()
