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
TRUNKCHECK_REQUIRE_TSHARK=1 cargo test --workspace
