#!/usr/bin/env bash
# Writes `trunkcheck analyze` text and JSON (and `decode` text) for every
# capture the project has (captures/, captures/merge/*, the malformed corpus
# and ../shared/captures) into DIR, one file per capture and format.
# Comparing two snapshots (`diff -r`) shows whether a change altered any
# verdict or report: run it before and after a refactoring.
#
#   scripts/analyze-snapshot.sh DIR [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: analyze-snapshot.sh DIR [BINARY]}
bin=${2:-target/release/trunkcheck}
mkdir -p "$out"
# JSON one member per line (when python3 is there), so that diffs are readable.
pretty() {
    if command -v python3 >/dev/null; then
        python3 -c 'import json,sys
for line in sys.stdin:
    line=line.rstrip("\n")
    try:
        print(json.dumps(json.loads(line), indent=1))
    except ValueError:
        print(line)'
    else
        cat
    fi
}
files=(captures/*.pcap analyzer/tests/malformed/*.pcap* ../shared/captures/*.pcap*)
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    name=$(echo "$f" | tr '/' '_')
    # Exit codes are part of the result.
    { "$bin" analyze "$f" 2>&1; echo "exit $?"; } >"$out/$name.analyze.txt" || true
    { "$bin" analyze --json "$f" 2>&1; echo "exit $?"; } | pretty >"$out/$name.analyze.json" || true
    { "$bin" decode "$f" 2>&1; echo "exit $?"; } >"$out/$name.decode.txt" || true
done
for d in captures/merge/*/; do
    [ -d "$d" ] || continue
    name=$(echo "$d" | tr '/' '_')
    { "$bin" analyze --merge "$d"*.pcap* 2>&1; echo "exit $?"; } >"$out/$name.merge.txt" || true
    { "$bin" analyze --merge --json "$d"*.pcap* 2>&1; echo "exit $?"; } | pretty >"$out/$name.merge.json" || true
done
echo "snapshot: $(ls "$out" | wc -l) files in $out"
