#!/usr/bin/env bash
# Runs every check trunkcheck has: formatting, lints, and all tests,
# including the comparison with tshark. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# The real components the tests use (tshark, NFS-Ganesha, ...): installed
# when missing.
bash scripts/setup.sh --no-build

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
TRUNKCHECK_REQUIRE_TSHARK=1 TRUNKCHECK_REQUIRE_GANESHA=1 TRUNKCHECK_REQUIRE_LAB=1 \
    cargo test --workspace --features trunkcheck/live 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line with the totals over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
