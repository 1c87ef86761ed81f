#!/usr/bin/env bash
# Runs the system end to end on this machine: installs what is missing, builds, starts an anvil
# L1 and deploys the contracts. Ctrl-C stops everything it started.
#
# Status: the foundation only. The sequencer nodes, the bridge, the proposer, the challenger and
# the demo workload are not built yet (issues 3-6); this script says so when it gets there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
port="${DEVNET_L1_PORT:-8545}"
data="$root/devnet-data"
# anvil's first well-known development key (never use it outside a devnet).
deployer_key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

scripts/setup.sh
echo "devnet: building kernels and contracts"
kernels/build.sh
(cd contract-bridge && ../node_modules/.bin/forge build --quiet)

mkdir -p "$data"
pids=()
cleanup() {
  echo; echo "devnet: stopping ${#pids[@]} process(es)"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "devnet: starting anvil on 127.0.0.1:$port (log: devnet-data/anvil.log)"
node_modules/.bin/anvil --host 127.0.0.1 --port "$port" --hardfork prague >"$data/anvil.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  curl -sf -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:$port" >/dev/null && break
  sleep 0.2
done

echo "devnet: deploying contracts"
addr=$(cd contract-bridge && ../node_modules/.bin/forge create --broadcast --rpc-url "http://127.0.0.1:$port" \
  --private-key "$deployer_key" src/ProtocolCodec.sol:ProtocolCodecProbe 2>&1 | sed -n 's/^Deployed to: //p')
[ -n "$addr" ] || { echo "devnet: deployment failed" >&2; exit 1; }
cat > "$data/deployment.json" <<JSON
{ "l1_rpc": "http://127.0.0.1:$port", "contracts": { "ProtocolCodecProbe": "$addr" } }
JSON
echo "devnet: L1 RPC              http://127.0.0.1:$port"
echo "devnet: ProtocolCodecProbe  $addr"
echo "devnet: kernels             $(ls target/kernels/*.wasm | tr '\n' ' ')"
echo "devnet: deployment written to devnet-data/deployment.json"
echo
echo "devnet: not there yet: rollup contracts (issue 4), sequencer nodes (issue 5), PVM and"
echo "        example kernels (issue 3), bridge, proposer, challenger and the demo (issue 6)."
echo "devnet: running; press Ctrl-C to stop."
wait "${pids[0]}"
