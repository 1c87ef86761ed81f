#!/usr/bin/env bash
# Builds every kernel in kernels/ (each crate with a cdylib target) to wasm32-unknown-unknown
# and places the results in target/kernels/<dir>.wasm, where tests, the PVM runner and the
# devnet find them.
#
# Uses rustup's wasm32-unknown-unknown target when it is installed; otherwise Debian's
# rustc-web + rust-web-src route (DESIGN.md section 4): build core and alloc from source with
# RUSTC_BOOTSTRAP=1 and link with wasm-ld-19. scripts/setup.sh installs what that needs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

out="$root/target/kernels"
target_dir="$root/target/wasm"
mkdir -p "$out"

pkgs=()
dirs=()
for manifest in kernels/*/Cargo.toml; do
  grep -q 'cdylib' "$manifest" || continue
  dir="$(basename "$(dirname "$manifest")")"
  name="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -1)"
  pkgs+=("-p" "$name")
  dirs+=("$dir:$name")
done
[ ${#dirs[@]} -gt 0 ] || { echo "no kernels found under kernels/"; exit 1; }

if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "kernels: building ${#dirs[@]} kernel(s) with rustup's wasm32-unknown-unknown target"
  cargo build --quiet --profile kernel --target wasm32-unknown-unknown --target-dir "$target_dir" "${pkgs[@]}"
else
  for tool in /usr/bin/rustc /usr/bin/cargo wasm-ld-19; do
    command -v "$tool" >/dev/null 2>&1 || { echo "kernels: $tool missing; run scripts/setup.sh" >&2; exit 1; }
  done
  [ -d /usr/lib/rustlib/src ] || { echo "kernels: rust-web-src missing; run scripts/setup.sh" >&2; exit 1; }
  echo "kernels: building ${#dirs[@]} kernel(s) with Debian's rustc-web and build-std (core, alloc)"
  RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19 \
    /usr/bin/cargo build --quiet --profile kernel --target wasm32-unknown-unknown \
      -Z build-std=core,alloc --target-dir "$target_dir" "${pkgs[@]}"
fi

for entry in "${dirs[@]}"; do
  dir="${entry%%:*}"
  lib="${entry#*:}"
  lib="${lib//-/_}"
  cp "$target_dir/wasm32-unknown-unknown/kernel/$lib.wasm" "$out/$dir.wasm"
  echo "kernels: target/kernels/$dir.wasm ($(stat -c %s "$out/$dir.wasm") bytes)"
done
