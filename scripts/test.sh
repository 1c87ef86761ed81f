#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the kernels, runs the forge tests, builds
# every binary (the multi-process and end-to-end tests start them), then the Rust tests (unit,
# property, simulation, differential against anvil, multi-process, end to end). Exits non-zero
# when any of them fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
start=$SECONDS
step() { printf '\n==> %s (%ds)\n' "$*" $((SECONDS - start)); }

step "setup"
scripts/setup.sh

step "kernels"
kernels/build.sh

step "forge tests"
(cd contract-bridge && ../node_modules/.bin/forge test)

step "build (one profile for binaries and tests)"
cargo build --workspace --bins --quiet

step "rust tests"
cargo nextest run --workspace --no-fail-fast

step "all tests passed in $((SECONDS - start))s"
