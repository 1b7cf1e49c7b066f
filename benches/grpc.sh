#!/usr/bin/env bash
# Benchmarks gRPC through the agent on this machine, in one run, each case
# right after its baseline and the pairs repeated (median of the ratios):
#
#   stub    an agent gRPC stub             vs a real gRPC server (Python
#                                             grpcio) answering the same bytes
#   record  grpcio server through `record` vs the grpcio server directly
#   proxy   grpcio server through a `faults: {}` proxy vs directly
#
# The load is examples/grpc_load.rs: a Rust HTTP/2 client (hyper) making
# unary calls over 4 connections x 8 streams; a Python client loop would
# measure itself, not the servers. The agent runs on the host (as in
# benches/agent.sh) with tokio workers = CPUs; the grpcio server uses a
# thread pool of 8.
#
# Usage: benches/grpc.sh [ROUNDS]   (needs $SANDBOX_VENV with grpcio:
#        .ci/run makes /opt/sandbox-venv)
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECONDS_EACH=${BENCH_SECONDS:-4}
BASE=${BENCH_PORT_BASE:-18480}
PYTHON=${SANDBOX_VENV:-/opt/sandbox-venv}/bin/python
ADMIN=$BASE
STUB=$((BASE + 1))
RECORD=$((BASE + 2))
PROXY=$((BASE + 3))
REAL=$((BASE + 4))

"$PYTHON" -c 'import grpc' || { echo "no grpcio in $PYTHON" >&2; exit 1; }
echo "building the release binary and the load loop ..." >&2
cargo build --release --quiet --bin sandbox --example grpc_load --example stub_agent_config
TARGET=${CARGO_TARGET_DIR:-target}/release
BIN=$TARGET/sandbox
LOAD=$TARGET/examples/grpc_load

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# The same messages everywhere: GetRequest {id: "7"} and
# Payment {id: "7", state: "SETTLED"}, as protobuf bytes.
REQUEST_HEX=0a0137
ANSWER_HEX=0a01371207534554544c4544

cat >"$WORK/bench.proto" <<'PROTO'
syntax = "proto3";
package bench.v1;
service Payments { rpc Get(GetRequest) returns (Payment); }
message GetRequest { string id = 1; }
message Payment { string id = 1; string state = 2; }
PROTO
cat >"$WORK/sandbox.yaml" <<'YAML'
version: 1
service: { name: web, image: web:dev }
dependencies:
  payments:
    stub:
      proto: [bench.proto]
      routes:
        - match: { grpc: bench.v1.Payments/Get, json: { id: "7" } }
          respond: { json: { id: "7", state: SETTLED } }
YAML
"$TARGET/examples/stub_agent_config" "$WORK/sandbox.yaml" "$ADMIN" "$STUB" >"$WORK/stub.json"

# The real server: grpcio with a generic handler answering the same bytes.
cat >"$WORK/server.py" <<PY
import sys
from concurrent import futures
import grpc
answer = bytes.fromhex("$ANSWER_HEX")
def get(request, context):
    return answer
handler = grpc.method_handlers_generic_handler(
    "bench.v1.Payments", {"Get": grpc.unary_unary_rpc_method_handler(get)})
server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
server.add_generic_rpc_handlers((handler,))
server.add_insecure_port("127.0.0.1:$REAL")
server.start()
print("ready", flush=True)
server.wait_for_termination()
PY
"$PYTHON" "$WORK/server.py" >"$WORK/server.log" 2>&1 &
PIDS+=($!)

# The agent: the stub, a record dependency and a `faults: {}` proxy, both
# in front of the grpcio server.
DESCRIPTORS=$(jq -r '.served[0].mode.grpc.descriptors' "$WORK/stub.json")
jq --arg work "$WORK" --arg d "$DESCRIPTORS" --argjson record "$RECORD" \
   --argjson proxy "$PROXY" --argjson real "$REAL" '
  .served += [
    {name: "recorded", port: $record, private_port: 0,
     mode: {mode: "record", upstream: "http://127.0.0.1:\($real)", to: "\($work)/recording.yaml",
            redact: [], grpc: {proto: ["bench.proto"], descriptors: $d}}},
    {name: "proxied", port: $proxy, private_port: 0, faults: {},
     mode: {mode: "proxy", target: "127.0.0.1", ports: [{listen: $proxy, target: $real, http: false}]}}
  ]' "$WORK/stub.json" >"$WORK/agent.json"
"$BIN" agent --config "$WORK/agent.json" 2>"$WORK/agent.log" &
PIDS+=($!)

for _ in $(seq 1 200); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN/_sandbox/ready" 2>/dev/null \
        && grep -q ready "$WORK/server.log"; then break; fi
    sleep 0.05
done
grep -q ready "$WORK/server.log" || { cat "$WORK/server.log" >&2; exit 1; }

rate() { "$LOAD" "127.0.0.1:$1" /bench.v1.Payments/Get "$REQUEST_HEX" "$SECONDS_EACH" 4 8; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

stub=() record=() proxy=()
for round in $(seq 1 "$ROUNDS"); do
    real=$(rate "$REAL"); s=$(rate "$STUB"); stub+=("$(ratio "$s" "$real")")
    echo "round $round: stub $s/s vs grpcio $real/s" >&2
    real=$(rate "$REAL"); r=$(rate "$RECORD"); record+=("$(ratio "$r" "$real")")
    echo "round $round: record $r/s vs direct $real/s" >&2
    real=$(rate "$REAL"); p=$(rate "$PROXY"); proxy+=("$(ratio "$p" "$real")")
    echo "round $round: proxy $p/s vs direct $real/s" >&2
done
echo "gRPC unary calls/s, grpc_load 4 connections x 8 streams, ${SECONDS_EACH}s each, $ROUNDS rounds (median ratio):"
echo "stub   vs grpcio server: $(median "${stub[@]}")x  (goal >= 1.0x)"
echo "record vs direct:        $(median "${record[@]}")x  (goal >= 0.8x)"
echo "proxy  vs direct:        $(median "${proxy[@]}")x  (goal >= 0.8x, faults: {})"
