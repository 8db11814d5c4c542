#!/usr/bin/env bash
# Peak memory (maximum resident set size) of `trunkcheck decode` (release
# build) on generated captures that try to make it grow, and on real ones.
#
#   scripts/bench-memory.sh [--scale N] [--dir DIR] [--bound MIB] [FILES...]
#
# Generated (with the gen_many example, into DIR, default
# $TMPDIR/trunkcheck-bench-memory; reused when present):
#   connections-N.pcap      N short connections: handshake, NULL or COMPOUND
#                           call and reply, FINs
#   unanswered-N-c16.pcap   N COMPOUND calls never answered, on 16 connections
#   unanswered-N-cN.pcap    N calls never answered, one per connection (N
#                           connections, never closed)
# N is --scale (default 1000000). Then every FILE given (default: the
# malformed corpus and ../shared/captures/*) is decoded too.
#
# Each line: file, size, frames, peak RSS (KiB and MiB), seconds, exit status,
# and whether it stayed under the bound (default 96 MiB). The script exits 1
# when a run exceeds the bound, crashes (exit status above 2) or times out.
# Needs GNU time (/usr/bin/time -v). Every cargo call takes the shared lock.
set -euo pipefail

scale=1000000
bound_mib=96
dir="${TMPDIR:-/tmp}/trunkcheck-bench-memory"
files=()
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) scale="$2"; shift 2 ;;
        --dir) dir="$2"; shift 2 ;;
        --bound) bound_mib="$2"; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) files+=("$1"); shift ;;
    esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
lock=/tmp/trunkcheck-cargo.lock
[ -x /usr/bin/time ] || { echo "bench-memory: needs GNU time (/usr/bin/time)" >&2; exit 2; }

(cd "$root" && flock "$lock" cargo build -q --release -p trunkcheck \
    && flock "$lock" cargo build -q --release -p trunkcheck-analyzer --example gen_many)
bin="$target/release/trunkcheck"
gen="$target/release/examples/gen_many"

mkdir -p "$dir"
generate() {
    local out="$dir/$1"; shift
    if [ ! -s "$out" ]; then
        "$gen" "$@" "$out.tmp" >&2 && mv "$out.tmp" "$out"
    fi
    echo "$out"
}
generated=(
    "$(generate "connections-$scale.pcap" connections "$scale")"
    "$(generate "unanswered-$scale-c16.pcap" unanswered "$scale" 16)"
    "$(generate "unanswered-$scale-c$scale.pcap" unanswered "$scale" "$scale")"
)
if [ ${#files[@]} -eq 0 ]; then
    files=("$root"/analyzer/tests/malformed/*.pcap* "$root"/../shared/captures/*.pcap*)
fi

bound_kib=$((bound_mib * 1024))
status=0
printf '%-52s %10s %9s %10s %8s %7s %4s %s\n' file bytes frames peak_KiB peak_MiB seconds exit ok
for f in "${generated[@]}" "${files[@]}"; do
    [ -e "$f" ] || continue
    log="$(mktemp)"
    set +e
    /usr/bin/time -v -o "$log" timeout 600 "$bin" decode --json "$f" \
        | tail -n 1 > "$log.summary" 2>/dev/null
    rc=${PIPESTATUS[0]}
    set -e
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
    code=$(awk -F': ' '/Exit status/ {print $2}' "$log")
    frames=$(grep -o '"frames":[0-9]*' "$log.summary" | head -n 1 | cut -d: -f2 || true)
    ok=yes
    if [ -z "$rss" ] || [ "$rss" -gt "$bound_kib" ] || [ "${code:-99}" -gt 2 ] || [ "$rc" -gt 2 ]; then
        ok=NO; status=1
    fi
    printf '%-52s %10s %9s %10s %8s %7s %4s %s\n' "$(basename "$f")" "$(stat -c %s "$f")" \
        "${frames:-?}" "${rss:-?}" "$(( ${rss:-0} / 1024 ))" "$secs" "${code:-?}" "$ok"
    rm -f "$log" "$log.summary"
done
echo "bound: ${bound_mib} MiB peak RSS per run"
exit $status
