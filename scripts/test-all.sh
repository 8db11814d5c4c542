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
TRUNKCHECK_REQUIRE_TSHARK=1 TRUNKCHECK_REQUIRE_GANESHA=1 TRUNKCHECK_REQUIRE_LAB=1 TRUNKCHECK_REQUIRE_KNFSD=1 TRUNKCHECK_REQUIRE_KRB5=1 \
    cargo test --workspace --no-fail-fast --features trunkcheck/live 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line with the totals over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
[ "$status" -eq 0 ] || exit "$status"

# A short fuzz run of every target (seconds each; the long campaign is
# `FUZZ_SECONDS=3600 scripts/fuzz.sh`). Needs the nightly toolchain.
echo "== fuzz (short)"
if cargo +nightly --version >/dev/null 2>&1; then
    FUZZ_SECONDS=${CI_FUZZ_SECONDS:-20} bash scripts/fuzz.sh
else
    echo "fuzz: skipped: no nightly toolchain (rustup toolchain install nightly)"
fi
