#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the kernels, then the Rust tests (unit,
# property, differential against anvil, multi-process) and the forge tests. Exits non-zero as
# soon as any of them fails.
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

step "rust tests"
cargo nextest run --workspace --no-fail-fast

step "all tests passed in $((SECONDS - start))s"
