#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/, cargo-fuzz, nightly) and runs each for
# ${FUZZ_SECONDS:-60} seconds from its seeds (fuzz/seeds/<target>) and its
# grown corpus (fuzz/corpus/<target>, git-ignored); prints the executions
# of each target. Exits non-zero if any target found a crash, a timeout or
# an out-of-memory (the input is in fuzz/artifacts/<target>/).
#
#   scripts/fuzz.sh                                 # CI: 60 s per target
#   FUZZ_SECONDS=3600 scripts/fuzz.sh               # long campaign
#   FUZZ_TARGETS="compound rpc" scripts/fuzz.sh     # some targets only
#
# Every cargo build holds the lock ${CARGO_LOCK:-/tmp/trunkcheck-cargo.lock}.
set -uo pipefail
cd "$(dirname "$0")/.."

SECS=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-compound rpc tcp pcap analyze yaml}
LOCK=${CARGO_LOCK:-/tmp/trunkcheck-cargo.lock}
RSS_MB=${FUZZ_RSS_MB:-1024}

locked() { flock "$LOCK" "$@"; }

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    locked cargo install cargo-fuzz --locked || exit 2
fi

# One build of every target, with debug assertions (overflow checks: a
# decoder must not panic on arithmetic either).
(cd fuzz && locked cargo +nightly fuzz build --debug-assertions) || exit 2
TRIPLE=$(rustc +nightly -vV | sed -n 's/^host: //p')
BIN_DIR=fuzz/target/$TRIPLE/release

status=0
summary=""
for t in $TARGETS; do
    corpus=fuzz/corpus/$t
    artifacts=fuzz/artifacts/$t
    mkdir -p "$corpus" "$artifacts"
    seeds=()
    [ -d "fuzz/seeds/$t" ] && seeds=("fuzz/seeds/$t")
    log=fuzz/artifacts/$t.log
    echo "== $t: ${SECS}s"
    "$BIN_DIR/$t" "$corpus" "${seeds[@]}" \
        -max_total_time="$SECS" -rss_limit_mb="$RSS_MB" -timeout=5 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    found=$(grep -Eo '(crash|timeout|oom|leak)-[0-9a-f]+' "$log" | sort -u | tr '\n' ' ')
    if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
        status=1
        echo "!! $t: exit $rc, found: ${found:-?} (log: $log)"
        grep -E '^(==[0-9]+==|thread|SUMMARY|panicked)' "$log" | head -5
    fi
    line=$(printf '%-9s %12s executions %8s exec/s %s' "$t" "${runs:-?}" "${rate:-?}" \
        "$([ "$rc" -eq 0 ] && [ -z "$found" ] && echo ok || echo FAILED)")
    echo "$line"
    summary+="$line"$'\n'
done
echo "== summary (${SECS}s per target)"
printf '%s' "$summary"
exit $status
