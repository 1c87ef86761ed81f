#!/usr/bin/env bash
# Runs the whole system end to end on this machine: installs what is missing, builds the kernels
# and every binary, then starts anvil, deploys and originates a rollup running the transfer
# kernel, starts 4 sequencer nodes, the bridges, the poster, a proposer and a challenger, and
# runs a demo (deposit, transfer, withdraw, cement, execute on the L1). Ctrl-C stops everything.
#
# Options go to the launcher: `scripts/devnet.sh --sequencer permissioned` (or `none`),
# `--no-demo`, `--exit-after-demo`, `--faulty-proposer-at-level 6`; `--help` lists them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

scripts/setup.sh
echo "devnet: building kernels"
kernels/build.sh
echo "devnet: building the services (first time: ~25 minutes on 2 cores)"
cargo build --workspace --bins --quiet
exec target/debug/devnet "$@"
