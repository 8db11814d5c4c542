#!/usr/bin/env bash
# Decode throughput benchmark: trunkcheck decode (text and --json) against
# tshark on synthetic captures made of copies of two real ones, at ~100 MB
# and ~1 GB. Prints a Markdown table on stdout (progress on stderr).
#
#   bash scripts/bench-decode.sh
#
# Environment:
#   BENCH_SKIP_TSHARK_1G=1   do not run tshark on the 1 GB files (minutes each)
#   BENCH_SIZES="100M 1G"    sizes to generate (synth_capture syntax: K/M/G = 10^3/10^6/10^9)
#   BENCH_LARGE_INPUT        the large READ/WRITE payload capture
#                            (default captures/ganesha-v40-libnfs.pcap)
#   BENCH_META_INPUT         the metadata capture (default
#                            ../shared/captures/nfstrace__eth-ipv4-tcp-nfsv41.pcap,
#                            else /work/shared/captures/...)
#   BENCH_CARGO_LOCK=FILE    run the cargo build under `flock FILE`
#   CARGO_TARGET_DIR         as for cargo (default target/)
#
# Needs: cargo, tshark, GNU time (/usr/bin/time). Temporary files go to a
# mktemp directory removed on exit. Each file is read once (cat > /dev/null)
# before the tools run, so every tool reads it from the page cache.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

large=${BENCH_LARGE_INPUT:-captures/ganesha-v40-libnfs.pcap}
meta=${BENCH_META_INPUT:-}
if [[ -z $meta ]]; then
    for c in "$root/../shared/captures/nfstrace__eth-ipv4-tcp-nfsv41.pcap" \
        /work/shared/captures/nfstrace__eth-ipv4-tcp-nfsv41.pcap; do
        if [[ -f $c ]]; then
            meta=$c
            break
        fi
    done
fi
for f in "$large" "$meta"; do
    if [[ -z $f || ! -f $f ]]; then
        echo "bench-decode: input capture not found: '${f}' (set BENCH_LARGE_INPUT / BENCH_META_INPUT)" >&2
        exit 2
    fi
done
for tool in tshark /usr/bin/time; do
    if ! command -v "$tool" >/dev/null; then
        echo "bench-decode: $tool is needed (apt-get install tshark time)" >&2
        exit 2
    fi
done
sizes=${BENCH_SIZES:-100M 1G}

build() {
    if [[ -n ${BENCH_CARGO_LOCK:-} ]]; then
        flock "$BENCH_CARGO_LOCK" cargo "$@"
    else
        cargo "$@"
    fi
}
echo "building (release)..." >&2
build build --release --quiet -p trunkcheck
build build --release --quiet -p trunkcheck-analyzer --example synth_capture
target=${CARGO_TARGET_DIR:-$root/target}
trunkcheck=$target/release/trunkcheck
synth=$target/release/examples/synth_capture

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-decode.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

now_ns() { date +%s%N; }

# run NAME CMD...: runs CMD with stdout to /dev/null under GNU time; sets
# secs (wall clock, from the nanosecond clock) and rss_kib (GNU time's %M).
run() {
    local start end
    start=$(now_ns)
    if ! /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/stderr"; then
        echo "bench-decode: failed: $*" >&2
        tail -5 "$tmp/stderr" >&2
        exit 1
    fi
    end=$(now_ns)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    rss_kib=$(awk '{ print $2 }' "$tmp/time")
}

rows=()
# row FILE SIZE_BYTES FRAMES TOOL SECS RSS_KIB TSHARK_SECS
row() {
    local file=$1 bytes=$2 frames=$3 tool=$4 s=$5 rss=$6 ts=$7
    rows+=("$(awk -v f="$file" -v b="$bytes" -v n="$frames" -v t="$tool" -v s="$s" -v r="$rss" -v ts="$ts" 'BEGIN {
        if (s <= 0) s = 0.001
        up = (ts == "") ? "n/a" : sprintf("%.1f×", ts / s)
        printf "| %s | %.0f | %d | %s | %.3f | %.0f | %.0f | %.1f | %s |", f, b / 1e6, n, t, s, b / 1e6 / s, n / s, r / 1024, up
    }')")
}

for kind in large meta; do
    input=$large
    [[ $kind == meta ]] && input=$meta
    for size in $sizes; do
        file="$kind-$size.pcap"
        path="$tmp/$file"
        echo "generating $file from $(basename "$input")..." >&2
        "$synth" "$input" "$path" --size "$size" 2>"$tmp/synth"
        frames=$(sed -n 's/.*, \([0-9]*\) frames, [0-9]* bytes$/\1/p' "$tmp/synth")
        bytes=$(stat -c %s "$path")
        cat "$path" >/dev/null

        tshark_secs=
        skip_tshark=
        if [[ ${BENCH_SKIP_TSHARK_1G:-} == 1 && $bytes -ge 900000000 ]]; then
            skip_tshark=1
        fi
        if [[ -z $skip_tshark ]]; then
            echo "  tshark..." >&2
            run tshark -r "$path" -Y nfs -T fields -e rpc.xid -e nfs.opcode
            tshark_secs=$secs
            tshark_rss=$rss_kib
        fi

        echo "  trunkcheck decode..." >&2
        run "$trunkcheck" decode "$path"
        seen=$(sed -n 's/^[^ ]*: \([0-9]*\) frames,.*/\1/p' "$tmp/stderr" | tail -1)
        if [[ $seen != "$frames" ]]; then
            echo "bench-decode: warning: trunkcheck read $seen frames of $frames in $file" >&2
        fi
        row "$file" "$bytes" "$frames" "trunkcheck decode" "$secs" "$rss_kib" "$tshark_secs"

        echo "  trunkcheck decode --json..." >&2
        run "$trunkcheck" decode --json "$path"
        row "$file" "$bytes" "$frames" "trunkcheck decode --json" "$secs" "$rss_kib" "$tshark_secs"

        echo "  trunkcheck analyze..." >&2
        run "$trunkcheck" analyze "$path"
        row "$file" "$bytes" "$frames" "trunkcheck analyze" "$secs" "$rss_kib" "$tshark_secs"

        if [[ -z $skip_tshark ]]; then
            row "$file" "$bytes" "$frames" "tshark" "$tshark_secs" "$tshark_rss" "$tshark_secs"
        else
            rows+=("| $file | $((bytes / 1000000)) | $frames | tshark | skipped (BENCH_SKIP_TSHARK_1G=1) | | | | |")
        fi
        rm -f "$path"
    done
done

echo "| file | MB | frames | tool | seconds | MB/s | packets/s | peak RSS MiB | speed-up vs tshark |"
echo "|---|---:|---:|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(rustc --version); $(tshark --version 2>/dev/null | head -1)"
echo "large = $(basename "$large") copies, meta = $(basename "$meta") copies; MB = 10^6 bytes"
