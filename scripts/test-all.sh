#!/usr/bin/env bash
# Runs every check trunkcheck has: formatting, lints, and all tests.
# This is what CI runs (.ci/run calls it).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
