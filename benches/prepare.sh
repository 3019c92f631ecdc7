# Sourced by the benchmarks (who.sh, scale.sh): outside a private network
# namespace, checks for root, installs what is missing (lsof, GNU time,
# iproute2, util-linux, python3, through apt), builds portcheck in release
# mode (honouring CARGO_TARGET_DIR), prints the machine, and re-runs the
# calling script under `unshare --net` with PORTCHECK_BENCH_BIN set. Inside
# the namespace it returns at once.
#
# Expects: $here (the benches directory), $bench_name, and the calling
# script's arguments as "$@".
if [[ "${PORTCHECK_BENCH_IN_NETNS:-}" != 1 ]]; then
    if [[ "$(id -u)" != 0 ]]; then
        echo "$bench_name: needs root (a network namespace, every process's /proc/PID/fd)" >&2
        exit 2
    fi
    missing=()
    command -v lsof >/dev/null 2>&1 || missing+=(lsof)
    [[ -x /usr/bin/time ]] || missing+=(time)
    command -v ss >/dev/null 2>&1 || missing+=(iproute2)
    command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    if ((${#missing[@]})); then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    fi

    cd "$here/.."
    echo "building portcheck (release)..."
    cargo build --release --quiet
    target_dir="${CARGO_TARGET_DIR:-$here/../target}"
    portcheck="$(cd "$target_dir/release" && pwd)/portcheck"
    echo "machine: $(nproc) cores, $(uname -sr), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "versions: $("$portcheck" --version), $(ss -V 2>&1 | head -1), lsof $(lsof -v 2>&1 | awk '/revision/ {print $2; exit}')"
    PORTCHECK_BENCH_IN_NETNS=1 PORTCHECK_BENCH_BIN="$portcheck" \
        exec unshare --net -- "$BASH" "${BASH_SOURCE[1]}" "$@"
fi
