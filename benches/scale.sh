#!/usr/bin/env bash
# `portcheck who` on 100,000 sockets beside `ss -tlnp` and `lsof`: wall time
# and peak memory, medians of ROUNDS runs each, and the ratios (issue 7).
#
# Usage: sudo benches/scale.sh [SOCKETS] [ROUNDS]     (defaults 100000, 3)
#
# Builds portcheck in release mode (honours CARGO_TARGET_DIR), re-runs itself
# under `unshare --net`, where benches/scale_fixture.py's processes hold the
# sockets (gone with the namespace), and checks that portcheck lists every
# one before it times anything. Takes about a minute on 2 cores.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sockets="${1:-100000}"
rounds="${2:-3}"

bench_name=scale.sh
# shellcheck source=benches/prepare.sh
source "$here/prepare.sh"

ip link set lo up
portcheck="$PORTCHECK_BENCH_BIN"
out="$(mktemp -d /tmp/portcheck-scale.XXXXXX)"
trap 'rm -rf "$out"' EXIT

# The holders live until their standard input (our coprocess pipe) closes.
coproc FIXTURE { python3 "$here/scale_fixture.py" "$sockets" 17000 10000; }
while read -r line <&"${FIXTURE[0]}"; do
    [[ "$line" == ready ]] && break
done
[[ "${line:-}" == ready ]] || { echo "scale.sh: the fixture did not start" >&2; exit 1; }

listed="$("$portcheck" who --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for s in d["sockets"] if s["processes"]), d["complete"])')"
if [[ "$listed" != "$sockets True" ]]; then
    echo "scale.sh: portcheck listed '$listed' (sockets with an owner, complete), not '$sockets True'" >&2
    exit 1
fi

# median wall seconds and median peak KiB of ROUNDS runs of "$@".
measure() {
    local i
    for ((i = 0; i < rounds; i++)); do
        /usr/bin/time -f '%e %M' -o "$out/time" "$@" >"$out/stdout" 2>/dev/null
        cat "$out/time"
    done | python3 -c 'import statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
print(statistics.median(float(r[0]) for r in rows), statistics.median(int(r[1]) for r in rows))'
}

printf '%-34s %9s %10s %12s\n' "command ($sockets sockets)" "wall s" "peak MiB" "output MiB"
declare -A wall
run() {
    local name="$1" label="$2"; shift 2
    read -r seconds kib < <(measure "$@")
    wall[$name]="$seconds"
    awk -v cmd="$label" -v s="$seconds" -v kib="$kib" -v bytes="$(stat -c %s "$out/stdout")" \
        'BEGIN { printf "%-34s %9.2f %10.1f %12.1f\n", cmd, s, kib / 1024, bytes / 1048576 }'
}
run json "portcheck who --json" "$portcheck" who --json
run table "portcheck who" "$portcheck" who
run ss "ss -tlnp" ss -tlnp
run lsof "lsof -nP -iTCP -sTCP:LISTEN" lsof -nP -iTCP -sTCP:LISTEN
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "ratios (wall): who --json / ss -tlnp $(ratio "${wall[json]}" "${wall[ss]}"), who / ss -tlnp $(ratio "${wall[table]}" "${wall[ss]}"), who --json / lsof $(ratio "${wall[json]}" "${wall[lsof]}")"
exec {FIXTURE[1]}>&-
wait
