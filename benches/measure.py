#!/usr/bin/env python3
"""The measuring half of benches/who.sh; run inside a private network
namespace with loopback up (who.sh does both).

1. Idle: an sshd-like process holds 0.0.0.0:22 and [::]:22; portcheck's
   answer for port 22 is checked, then `portcheck who 22 --json` and
   `ss -Htlnp 'sport = :22'` are timed, interleaved.
2. Fixture: benches/fixture.py starts 1,000 processes holding 6,000
   sockets; portcheck's answers for the probe port and for every listener
   are checked against the fixture's own list of owners (a wrong answer
   voids the timing: exit 1), then the fixture commands are timed,
   interleaved (A B C D E A B C D E ...), after warm-up rounds.

Each command runs through posix_spawn with stdout and stderr on /dev/null
and is reaped with wait4, whose rusage gives its CPU times. Peak RSS is
measured apart, with GNU time (`/usr/bin/time -f %M`): the rusage of a
child spawned from Python would count the Python pages it started from.
Every process started here is killed by pid at the end.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = [
    # (label, portcheck command, other command, wall ratio, CPU ratio), from
    # issue 20: CPU time (user + sys) counts as well as wall time, since a
    # multi-threaded portcheck can win on wall time by spending more CPU.
    ("one port vs ss -p", "pc_port", "ss_port", 0.45, 0.45),
    ("one port vs lsof", "pc_port", "lsof_port", 0.2, 0.2),
    ("every listener vs ss -p", "pc_all", "ss_all", 0.7, 1.0),
    ("idle, one port vs ss -p", "pc_idle", "ss_idle", 0.9, 0.9),
]
RSS_LIMIT_MIB = 20
# A verdict counts only on an idle machine: a busy one flatters a
# multi-threaded portcheck against single-threaded ss.
MAX_START_LOAD = 0.5
MAX_OTHER_CPU = 0.10  # share of one CPU used by anything but these runs


def spawn_timed(argv):
    """Wall seconds, user and system seconds and exit code of one run."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        actions = [
            (os.POSIX_SPAWN_DUP2, devnull, 1),
            (os.POSIX_SPAWN_DUP2, devnull, 2),
        ]
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
    finally:
        os.close(devnull)
    return wall, usage.ru_utime, usage.ru_stime, os.waitstatus_to_exitcode(status)


def peak_rss_kib(argv, runs):
    """The largest peak RSS (KiB) of `runs` runs, by GNU time."""
    peak = 0
    for _ in range(runs):
        result = subprocess.run(
            ["/usr/bin/time", "-f", "%M", *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        peak = max(peak, int(result.stderr.strip().splitlines()[-1]))
    return peak


def start_fixture(args, out, idle):
    # argv[0] "python3" and a relative script path: the owners' command
    # line, which portcheck reports per socket, is the same wherever
    # python and the checkout live.
    argv = ["python3", "fixture.py", "--out", out, "--probe", str(22 if idle else args.probe)]
    if idle:
        argv.append("--idle")
    else:
        argv += ["--processes", str(args.processes), "--sockets", str(args.sockets)]
    process = subprocess.Popen(
        argv, executable=sys.executable, cwd=HERE, stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline().strip()
    if line != "ready":
        process.kill()
        process.wait()
        sys.exit(f"the fixture did not start (said {line!r})")
    with open(out, encoding="utf-8") as f:
        expected = json.load(f)
    return process, expected


def stop_fixture(process, expected):
    """Kills the fixture's children and the fixture itself, by pid."""
    for pid in expected["pids"]:
        if pid == process.pid:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.kill()
    process.wait()


def owners_by_socket(document):
    found = {}
    for sock in document["sockets"]:
        key = (sock["protocol"], sock["local_address"], sock["local_port"])
        found[key] = sorted(p["pid"] for p in sock["processes"])
    return found


def check(portcheck, argv_tail, expected, port):
    """Whether portcheck's answer names exactly the expected owners."""
    result = subprocess.run(
        [portcheck, *argv_tail], capture_output=True, text=True, check=False
    )
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        print(f"FAIL: portcheck {' '.join(argv_tail)} printed no JSON: {result.stderr}")
        return False
    found = owners_by_socket(document)
    wanted = {
        (s["protocol"], s["address"], s["port"]): sorted(s["pids"])
        for s in expected["sockets"]
        if port is None or s["port"] == port
    }
    ok = True
    if found != wanted:
        ok = False
        missing = sorted(set(wanted) - set(found))
        extra = sorted(set(found) - set(wanted))
        wrong = sorted(k for k in wanted if k in found and found[k] != wanted[k])
        print(f"FAIL: portcheck {' '.join(argv_tail)}")
        print(f"  sockets missing: {len(missing)} {missing[:5]}")
        print(f"  sockets not in the fixture: {len(extra)} {extra[:5]}")
        for key in wrong[:5]:
            print(f"  {key}: owners {found[key]}, expected {wanted[key]}")
    if not document.get("complete", False):
        ok = False
        print(f"FAIL: portcheck {' '.join(argv_tail)} says its answer is incomplete:")
        for warning in document.get("warnings", []):
            print(f"  {warning['code']}: {warning['message']}")
    if ok:
        pids = sorted({p for pids in found.values() for p in pids})
        shown = pids if len(pids) <= 8 else pids[:4] + ["..."] + pids[-2:]
        print(
            f"check: portcheck {' '.join(argv_tail)}: {len(found)} sockets, "
            f"owners {shown} as expected"
        )
    return ok


def busy_seconds():
    """CPU seconds the whole machine spent outside idle and iowait, from
    the aggregate line of /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is in user)
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


class OtherCpu:
    """The share of one CPU that processes other than this script and the
    commands it times used while the timing ran: machine busy time minus
    this process's own and its reaped children's CPU time."""

    def __init__(self):
        self.wall = 0.0
        self.other = 0.0

    def __enter__(self):
        self._start = (time.monotonic(), busy_seconds(), sum(os.times()[:4]))
        return self

    def __exit__(self, *_):
        wall0, busy0, ours0 = self._start
        wall = time.monotonic() - wall0
        other = (busy_seconds() - busy0) - (sum(os.times()[:4]) - ours0)
        self.wall += wall
        self.other += max(other, 0.0)

    def share(self):
        return self.other / self.wall if self.wall > 0 else 0.0


def time_interleaved(commands, names, warmup, rounds, budget):
    """{name: [(wall, utime, stime)]}, A B C A B C ... after warm-up."""
    samples = {name: [] for name in names}
    for _ in range(warmup):
        for name in names:
            spawn_timed(commands[name])
    deadline = time.monotonic() + budget
    for done in range(rounds):
        if done >= 5 and time.monotonic() > deadline:
            break
        for name in names:
            wall, user, system, _code = spawn_timed(commands[name])
            samples[name].append((wall, user, system))
    return samples


def summarize(samples):
    rows = {}
    for name, runs in samples.items():
        rows[name] = {
            "median_ms": statistics.median(r[0] for r in runs) * 1000,
            "min_ms": min(r[0] for r in runs) * 1000,
            "user_ms": statistics.median(r[1] for r in runs) * 1000,
            "sys_ms": statistics.median(r[2] for r in runs) * 1000,
            "cpu_ms": statistics.median(r[1] + r[2] for r in runs) * 1000,
            "runs": len(runs),
        }
    return rows


def load():
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


def main():
    # A SIGTERM (who.sh's trap) unwinds through the `finally` blocks that
    # kill the fixtures.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--portcheck", required=True)
    parser.add_argument("--baseline", help="another portcheck binary to time alongside")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--sockets", type=int, default=6000)
    parser.add_argument("--probe", type=int, default=20001)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--idle-rounds", type=int, default=200)
    parser.add_argument("--budget", type=float, default=120.0, help="seconds for the fixture rounds")
    args = parser.parse_args()

    pc = args.portcheck
    port = str(args.probe)
    commands = {
        "pc_idle": [pc, "who", "22", "--json"],
        "ss_idle": ["/usr/bin/ss", "-Htlnp", "sport = :22"],
        "pc_port": [pc, "who", port, "--json"],
        "ss_port": ["/usr/bin/ss", "-Htlnp", f"sport = :{port}"],
        "lsof_port": ["/usr/bin/lsof", "-nP", f"-iTCP:{port}", "-sTCP:LISTEN"],
        "pc_all": [pc, "who", "--json"],
        "ss_all": ["/usr/bin/ss", "-Htlnup"],
    }
    shown = {
        "pc_idle": "portcheck who 22 --json",
        "ss_idle": "ss -Htlnp 'sport = :22'",
        "pc_port": f"portcheck who {port} --json",
        "ss_port": f"ss -Htlnp 'sport = :{port}'",
        "lsof_port": f"lsof -nP -iTCP:{port} -sTCP:LISTEN",
        "pc_all": "portcheck who --json",
        "ss_all": "ss -Htlnup",
    }
    idle_names = ["pc_idle", "ss_idle"]
    fixture_names = ["pc_port", "ss_port", "lsof_port", "pc_all", "ss_all"]
    rss_names = ["pc_port", "pc_all", "ss_all"]
    if args.baseline:
        for name in ["pc_idle", "pc_port", "pc_all"]:
            base = "base" + name[2:]
            commands[base] = [args.baseline, *commands[name][1:]]
            shown[base] = "baseline " + shown[name].removeprefix("portcheck ")
        idle_names.append("base_idle")
        fixture_names += ["base_port", "base_all"]
        rss_names += ["base_port", "base_all"]
    rows = {}
    started = time.monotonic()
    start_load = load()
    print(f"load average at start: {start_load}")
    other_cpu = OtherCpu()

    # 1. The idle namespace: one sshd-like process on port 22.
    idle, expected = start_fixture(args, os.path.join(args.workdir, "idle.json"), idle=True)
    try:
        processes = sum(1 for d in os.listdir("/proc") if d.isdigit())
        print(f"idle: {processes} processes in /proc, 2 sockets in this namespace")
        if not check(pc, ["who", "22", "--json"], expected, 22):
            sys.exit("the idle answer is wrong: timing void")
        with other_cpu:
            samples = time_interleaved(commands, idle_names, args.warmup * 5, args.idle_rounds, 30.0)
        rows.update(summarize(samples))
    finally:
        stop_fixture(idle, expected)

    # 2. The fixture.
    t0 = time.monotonic()
    fixture, expected = start_fixture(args, os.path.join(args.workdir, "fixture.json"), idle=False)
    try:
        processes = sum(1 for d in os.listdir("/proc") if d.isdigit())
        holders = sum(len(s["pids"]) for s in expected["sockets"])
        with open(f"/proc/{expected['pids'][0]}/cmdline", "rb") as f:
            cmdline = f.read()
        print(
            f"fixture: {len(expected['pids'])} processes holding {len(expected['sockets'])} "
            f"sockets ({holders} holder entries) started in {time.monotonic() - t0:.1f} s; "
            f"{processes} processes in /proc; owners' command line "
            f"{cmdline.count(0)} arguments, {len(cmdline)} bytes"
        )
        ok = check(pc, ["who", port, "--json"], expected, args.probe)
        ok = check(pc, ["who", "--json"], expected, None) and ok
        if not ok:
            sys.exit("portcheck's answer is wrong: timing void")
        with other_cpu:
            samples = time_interleaved(commands, fixture_names, args.warmup, args.rounds, args.budget)
        rows.update(summarize(samples))
        rss = {name: peak_rss_kib(commands[name], 5) for name in rss_names}
        # Still right after the timing?
        if not check(pc, ["who", port, "--json"], expected, args.probe):
            sys.exit("portcheck's answer went wrong during the timing: timing void")
    finally:
        stop_fixture(fixture, expected)

    print()
    print(
        f"{'command (median of interleaved runs)':<40} {'median':>9} {'min':>9} "
        f"{'user':>8} {'sys':>8} {'cpu':>8} {'runs':>5}"
    )
    for name in [*idle_names, *fixture_names]:
        r = rows[name]
        print(
            f"{shown[name]:<40} {r['median_ms']:>7.2f}ms {r['min_ms']:>7.2f}ms "
            f"{r['user_ms']:>6.1f}ms {r['sys_ms']:>6.1f}ms {r['cpu_ms']:>6.1f}ms {r['runs']:>5}"
        )
    print()
    met_all = True
    for label, ours, theirs, wall_target, cpu_target in TARGETS:
        for kind, key, target in (("wall", "median_ms", wall_target), ("cpu", "cpu_ms", cpu_target)):
            ratio = rows[ours][key] / max(rows[theirs][key], 1e-6)
            met = ratio <= target
            met_all &= met
            print(
                f"{label:<24} {kind:<4} {shown[ours]} / {shown[theirs]} = {ratio:.3f} "
                f"(target <= {target}) {'met' if met else 'NOT MET'}"
            )
    print()
    for name in rss_names:
        print(f"peak RSS, {shown[name]:<36} {rss[name] / 1024:6.2f} MiB (max of 5 runs)")
    peak = max(rss["pc_port"], rss["pc_all"]) / 1024
    met = peak < RSS_LIMIT_MIB
    met_all &= met
    print(
        f"peak RSS of portcheck on the fixture: {peak:.2f} MiB "
        f"(target < {RSS_LIMIT_MIB} MiB) {'met' if met else 'NOT MET'}"
    )
    if args.baseline:
        print()
        for name in ["pc_idle", "pc_port", "pc_all"]:
            base = "base" + name[2:]
            speedup = rows[base]["median_ms"] / rows[name]["median_ms"]
            print(f"baseline / portcheck, {shown[name]:<30} {speedup:.2f}x faster")
    busy = []
    if float(start_load.split()[0]) > MAX_START_LOAD:
        busy.append(f"1-minute load at start {start_load.split()[0]} > {MAX_START_LOAD}")
    if other_cpu.share() > MAX_OTHER_CPU:
        busy.append(
            f"other processes used {other_cpu.share() * 100:.0f}% of a CPU during the timing "
            f"(> {MAX_OTHER_CPU * 100:.0f}%)"
        )
    print(
        f"\ntook {time.monotonic() - started:.0f} s; load average at end: {load()}; "
        f"other processes used {other_cpu.share() * 100:.1f}% of a CPU during the timing"
    )
    if busy:
        # The figures above are printed for the curious, but no verdict.
        print(f"machine busy: rerun ({'; '.join(busy)})")
        sys.exit(3)
    print(f"all targets met: {'yes' if met_all else 'no'}")


if __name__ == "__main__":
    main()
