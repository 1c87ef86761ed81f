#!/usr/bin/env bash
# Installs what this repository needs and is missing, and says what it installs. Safe to run
# again: anything already present is left alone. A fresh machine needs only the Rust toolchain,
# gcc, Python and Node/npm; everything else comes from Debian's packages and the npm lockfile.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

say() { printf 'setup: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages -----------------------------------------------------------------------
# clang + libclang-dev: bindgen for RocksDB (librocksdb-sys).
need=(clang libclang-dev)
# The kernel toolchain, unless rustup already has the wasm32 target (DESIGN.md section 4).
if ! (command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown); then
  need+=(rustc-web cargo-web rust-web-src lld-19)
fi
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  say "Debian packages present (${need[*]})"
fi

# --- npm: anvil, forge, solc, pinned by package-lock.json ----------------------------------
if [ ! -x node_modules/.bin/forge ] || [ ! -x node_modules/.bin/anvil ] || [ ! -d node_modules/solc ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing the L1 toolchain from package-lock.json (anvil, forge, solc)"
  # Not `npm ci`: @foundry-rs/{anvil,forge} list optional platform packages that were never
  # published for some platforms (404), which `npm ci` treats as an out-of-sync lockfile.
  # `npm install` installs exactly the locked versions and leaves the lockfile unchanged.
  npm install --no-audit --no-fund --loglevel=error
else
  say "L1 toolchain present ($(node_modules/.bin/forge --version | head -1))"
fi

# --- cargo-nextest (per-test timeouts and process isolation for the test suite) -------------
if ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest"
  cargo install --locked cargo-nextest >/dev/null
fi
say "ready"
