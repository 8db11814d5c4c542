#!/usr/bin/env bash
# Decode throughput benchmark: trunkcheck decode (text, one thread and the
# default threads), decode --json, and analyze, against tshark
# (`-T fields -e rpc.xid -e nfs.opcode` and `-T json`), on synthetic
# captures made of copies of two real ones (~100 MB and ~1 GB of each
# kind) and on the shared captures. Prints a Markdown table on stdout (the
# README's), progress on stderr.
#
#   bash scripts/bench-decode.sh
#
# Environment:
#   BENCH_RUNS=5             runs of each trunkcheck command (the median is shown)
#   BENCH_TSHARK_RUNS=1      runs of each tshark command
#   BENCH_SKIP_TSHARK_1G=1   do not run tshark on the 1 GB files (many minutes)
#   BENCH_SIZES="100M 1G"    sizes to generate (synth_capture syntax: K/M/G = 10^3/10^6/10^9)
#   BENCH_LARGE_INPUT        the large READ/WRITE payload capture
#                            (default captures/ganesha-v40-libnfs.pcap)
#   BENCH_META_INPUT         the metadata capture (default
#                            ../shared/captures/nfstrace__eth-ipv4-tcp-nfsv41.pcap,
#                            else /work/shared/captures/...)
#   BENCH_SHARED_DIR         the shared captures (default ../shared/captures, else
#                            /work/shared/captures); empty to skip them
#   BENCH_CARGO_LOCK=FILE    run the cargo build under `flock FILE`
#   CARGO_TARGET_DIR         as for cargo (default target/)
#
# Needs: cargo, tshark, GNU time (/usr/bin/time). Temporary files go to a
# mktemp directory removed on exit. Each file is read once (cat > /dev/null)
# before the tools run, so every tool reads it from the page cache; all
# output goes to /dev/null. Seconds are wall-clock medians (bash's
# EPOCHREALTIME around each run); "×" is tshark's time divided by
# trunkcheck's; peak RSS is from one more run under GNU time.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

first_existing() {
    for c in "$@"; do
        if [[ -e $c ]]; then
            echo "$c"
            return
        fi
    done
}

large=${BENCH_LARGE_INPUT:-captures/ganesha-v40-libnfs.pcap}
meta=${BENCH_META_INPUT:-$(first_existing "$root/../shared/captures/nfstrace__eth-ipv4-tcp-nfsv41.pcap" /work/shared/captures/nfstrace__eth-ipv4-tcp-nfsv41.pcap)}
shared=${BENCH_SHARED_DIR-$(first_existing "$root/../shared/captures" /work/shared/captures)}
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
runs=${BENCH_RUNS:-5}
tshark_runs=${BENCH_TSHARK_RUNS:-1}

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

# measure N CMD...: runs CMD N times (stdout to /dev/null), timed by the
# shell's microsecond clock, then once more under GNU time for its peak
# RSS; sets secs (median wall clock) and rss_kib.
measure() {
    local n=$1 i start end rc
    shift
    local times=()
    for ((i = 0; i < n; i++)); do
        start=$EPOCHREALTIME
        set +e
        "$@" >/dev/null 2>"$tmp/stderr"
        rc=$?
        set -e
        end=$EPOCHREALTIME
        # Exit status 1 (violations) and 2 (a damaged file) are results.
        if ((rc > 2)); then
            echo "bench-decode: failed ($rc): $*" >&2
            tail -5 "$tmp/stderr" >&2
            exit 1
        fi
        times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f", b - a }')")
    done
    secs=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
    set +e
    /usr/bin/time -f '%M' -o "$tmp/time" "$@" >/dev/null 2>/dev/null
    set -e
    rss_kib=$(tail -1 "$tmp/time")
}

# The columns of one capture (or of a set of captures, summed): name, bytes,
# frames, then a time and RSS per tool.
rows=()
row() {
    rows+=("$(awk -v name="$1" -v bytes="$2" -v frames="$3" \
        -v d="$4" -v d1="$5" -v tf="$6" -v j="$7" -v tj="$8" -v a="$9" -v rss="${10}" 'BEGIN {
        mb = bytes / 1e6
        tfs = (tf == "") ? "—" : sprintf("%.2f", tf)
        tjs = (tj == "") ? "—" : sprintf("%.2f", tj)
        rf = (tf == "") ? "—" : sprintf("%.0f×", tf / d)
        rj = (tj == "") ? "—" : sprintf("%.0f×", tj / j)
        printf "| %s | %.0f | %d | %.3f | %.3f | %.2f | %.2f | %s | **%s** | %.3f | %.0f | %s | **%s** | %.3f | %.1f× | %s |", \
            name, mb, frames, d, d1, 1e6 * d / frames, 1e6 * d1 / frames, tfs, rf, j, mb / j, tjs, rj, a, a / d1, rss
    }')")
}

# bench NAME FILE... : every tool on each file, times summed over the files.
bench() {
    local name=$1
    shift
    local bytes=0 frames=0 d=0 d1=0 tf=0 j=0 tj=0 a=0 rd=0 rj=0 ra=0 f n skip_tshark=
    for f in "$@"; do
        cat "$f" >/dev/null
        bytes=$((bytes + $(stat -c %s "$f")))
        n=$("$trunkcheck" decode --threads 1 "$f" 2>&1 >/dev/null | sed -n 's/^.*: \([0-9]*\) frames,.*/\1/p' | tail -1)
        frames=$((frames + ${n:-0}))
    done
    if [[ ${BENCH_SKIP_TSHARK_1G:-} == 1 && $bytes -ge 900000000 ]]; then
        skip_tshark=1
    fi
    for f in "$@"; do
        echo "  $(basename "$f"): decode..." >&2
        measure "$runs" "$trunkcheck" decode "$f"
        d=$(awk -v a="$d" -v b="$secs" 'BEGIN { print a + b }')
        ((rss_kib > rd)) && rd=$rss_kib
        measure "$runs" "$trunkcheck" decode --threads 1 "$f"
        d1=$(awk -v a="$d1" -v b="$secs" 'BEGIN { print a + b }')
        echo "  $(basename "$f"): decode --json..." >&2
        measure "$runs" "$trunkcheck" decode --json "$f"
        j=$(awk -v a="$j" -v b="$secs" 'BEGIN { print a + b }')
        ((rss_kib > rj)) && rj=$rss_kib
        echo "  $(basename "$f"): analyze..." >&2
        measure "$runs" "$trunkcheck" analyze "$f"
        a=$(awk -v a="$a" -v b="$secs" 'BEGIN { print a + b }')
        ((rss_kib > ra)) && ra=$rss_kib
        if [[ -z $skip_tshark ]]; then
            echo "  $(basename "$f"): tshark -T fields..." >&2
            measure "$tshark_runs" tshark -r "$f" -Y nfs -T fields -e rpc.xid -e nfs.opcode
            tf=$(awk -v a="$tf" -v b="$secs" 'BEGIN { print a + b }')
            echo "  $(basename "$f"): tshark -T json..." >&2
            measure "$tshark_runs" tshark -r "$f" -Y nfs -T json
            tj=$(awk -v a="$tj" -v b="$secs" 'BEGIN { print a + b }')
        fi
    done
    if [[ -n $skip_tshark ]]; then
        tf= tj=
    fi
    local mib
    mib=$(awk -v a="$rd" -v b="$rj" -v c="$ra" 'BEGIN { printf "%.1f / %.1f / %.1f", a / 1024, b / 1024, c / 1024 }')
    row "$name" "$bytes" "$frames" "$d" "$d1" "$tf" "$j" "$tj" "$a" "$mib"
}

for kind in large meta; do
    input=$large
    [[ $kind == meta ]] && input=$meta
    for size in $sizes; do
        file="$kind-$size.pcap"
        echo "generating $file from $(basename "$input")..." >&2
        "$synth" "$input" "$tmp/$file" --size "$size" 2>/dev/null
        bench "$file" "$tmp/$file"
        rm -f "$tmp/$file"
    done
done
if [[ -n $shared && -d $shared ]]; then
    mapfile -t shared_files < <(ls "$shared"/*.pcap* 2>/dev/null)
    if [[ ${#shared_files[@]} -gt 0 ]]; then
        echo "shared captures (${#shared_files[@]} files)..." >&2
        bench "shared captures (${#shared_files[@]} files, summed)" "${shared_files[@]}"
    fi
fi

echo "| capture | MB | frames | decode s | 1 thread s | µs/pkt | 1 thread µs/pkt | tshark fields s | vs fields | --json s | --json MB/s | tshark json s | vs json | analyze s | analyze / 1 thread | peak RSS MiB decode / json / analyze |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(rustc --version); $(tshark --version 2>/dev/null | head -1)"
echo "large = $(basename "$large") copies, meta = $(basename "$meta") copies; MB = 10^6 bytes; trunkcheck medians of $runs runs, tshark $tshark_runs run(s)"
