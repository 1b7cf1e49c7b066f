#!/usr/bin/env bash
# Benchmarks OpenAPI stubs on this machine: the agent runs on the host
# (as in benches/agent.sh) with three stubs of one document
# (tests/fixtures/openapi/petstore-like.yaml):
#
#   plain      one hand-written-style route per operation, the same answers
#              (the OpenAPI stub's own catch-all routes, as plain routes)
#   openapi    `stub: { openapi: ... }`: every route made from the document
#   validated  `stub: { openapi: ..., validate: true }`: each request is
#              checked against its operation first
#
# Two calls: GET /pet/10 (a path parameter) and POST /pet (a JSON body
# checked against the Pet schema). Load: wrk -t2 -c16 -d${BENCH_DURATION:-10s},
# after a warm-up, plain / openapi / validated one right after the other,
# in ${BENCH_ROUNDS:-3} rounds; the medians are compared.
# Targets: openapi >= 0.9x plain, validated >= 0.7x plain. Then
# `check --contract` on a document of 200 operations (target < 1 s).
#
# Usage: benches/openapi.sh   (from anywhere; needs apt for wrk)
#
# On 2 shared cores (2026-11, medians of 3 rounds of 6 s): GET plain
# 111,948/s, openapi 106,422/s (0.95x), validated 98,690/s (0.88x); POST
# plain 107,131/s, openapi 116,010/s (1.08x), validated 105,635/s (0.99x);
# check --contract on 200 operations 0.027 s.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10s}
BASE=${BENCH_PORT_BASE:-18180}
ADMIN=$BASE

source "$(pwd)/benches/host.sh"

echo "building the release binaries ..." >&2
cargo build --release --quiet
cargo build --release --quiet --example stub_agent_config
TARGET=${CARGO_TARGET_DIR:-target}/release
BIN=$TARGET/sandbox

need wrk
need curl
need jq
WORK=$(mktemp -d)
PIDS=()
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp tests/fixtures/openapi/petstore-like.yaml "$WORK/petstore.yaml"
cat >"$WORK/sandbox.yaml" <<'EOF'
version: 1
service: { name: app, image: app:dev }
dependencies:
  openapi:
    stub: { openapi: ./petstore.yaml }
  validated:
    stub: { openapi: ./petstore.yaml, validate: true }
EOF
"$TARGET/examples/stub_agent_config" "$WORK/sandbox.yaml" "$ADMIN" $((BASE + 1)) >"$WORK/openapi.json"
# The plain stub: the OpenAPI stub's routes without the copies under the
# server's path, and no contract.
jq --argjson port $((BASE + 3)) '
  .served += [.served[0]
    | .name = "plain" | .port = $port
    | .mode.routes |= map(select(.match.path | startswith("/api/v3") | not))]' \
    "$WORK/openapi.json" >"$WORK/agent.json"
echo "routes: openapi $(jq '.served[0].mode.routes | length' "$WORK/agent.json"), validated $(jq '.served[1].mode.routes | length' "$WORK/agent.json"), plain $(jq '.served[2].mode.routes | length' "$WORK/agent.json")" >&2

"$BIN" agent --config "$WORK/agent.json" 2>"$WORK/agent.log" &
PIDS+=($!)
for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN/_sandbox/ready" 2>/dev/null && break
    sleep 0.05
done

OPENAPI=http://127.0.0.1:$((BASE + 1))
VALIDATED=http://127.0.0.1:$((BASE + 2))
PLAIN=http://127.0.0.1:$((BASE + 3))

cat >"$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"name": "doggie", "photoUrls": ["https://example.com/a.png"], "status": "available", "category": {"id": 1, "name": "Dogs"}, "tags": [{"id": 1, "name": "good"}]}'
wrk.headers["Content-Type"] = "application/json"
EOF

# The same answers everywhere, and the validated stub really validates.
for base in "$PLAIN" "$OPENAPI" "$VALIDATED"; do
    curl -fsS "$base/pet/10" >"$WORK/answer.$(basename "$base")"
done
cmp -s "$WORK/answer.$(basename "$PLAIN")" "$WORK/answer.$(basename "$OPENAPI")" || { echo "plain and openapi answer differently" >&2; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' "$VALIDATED/pet/abc")
[ "$status" = 400 ] || { echo "the validated stub answered $status to /pet/abc" >&2; exit 1; }

run() {
    local url=$1 script=${2:-} out
    local args=(-t2 -c16)
    [ -n "$script" ] && args+=(-s "$script")
    wrk "${args[@]}" -d2s "$url" >/dev/null # warm-up
    out=$(wrk "${args[@]}" -d"$DURATION" --latency "$url")
    local rps p99 errors
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v*=1000}; print v}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
    echo "$rps $p99 ${errors:-}"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '%-6s %-10s %12s %10s\n' call stub 'answers/s' 'p99 ms' >&2
measure() {
    local call=$1 name=$2 url=$3 script=${4:-} result
    result=$(run "$url" "$script")
    read -r rps p99 rest <<<"$result"
    printf '%-6s %-10s %12.0f %10.3f %s\n' "$call" "$name" "$rps" "$p99" "$rest" >&2
    echo "$rps"
}

# Rounds of the three, one right after the other; the median of each.
ROUNDS=${BENCH_ROUNDS:-3}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A SEEN
for round in $(seq 1 "$ROUNDS"); do
    for call in GET POST; do
        if [ "$call" = GET ]; then path=/pet/10 script=""; else path=/pet script="$WORK/post.lua"; fi
        for stub in plain openapi validated; do
            case $stub in plain) base=$PLAIN ;; openapi) base=$OPENAPI ;; validated) base=$VALIDATED ;; esac
            SEEN[$call.$stub]+=" $(measure "$call" "$stub" "$base$path" "$script")"
        done
    done
done
GET_PLAIN=$(median <<<"${SEEN[GET.plain]}")
GET_OPENAPI=$(median <<<"${SEEN[GET.openapi]}")
GET_VALIDATED=$(median <<<"${SEEN[GET.validated]}")
POST_PLAIN=$(median <<<"${SEEN[POST.plain]}")
POST_OPENAPI=$(median <<<"${SEEN[POST.openapi]}")
POST_VALIDATED=$(median <<<"${SEEN[POST.validated]}")

# check --contract on 200 operations (300 routes with the paired examples).
python3 - "$WORK/big" <<'EOF'
import os, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
lines = ["openapi: 3.0.3", "info: {title: big, version: '1'}", "paths:"]
for i in range(100):
    lines += [
        f"  /items{i}/{{id}}:",
        "    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]",
        f"    get:",
        f"      operationId: get{i}",
        "      parameters: [{name: q, in: query, schema: {type: string, enum: [a, b]}}]",
        "      responses:",
        "        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}}",
        "        '404': {description: none}",
        f"    put:",
        f"      operationId: put{i}",
        "      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/Item'}, examples: {one: {value: {id: 1, name: a}}}}}}",
        "      responses:",
        "        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Item'}, examples: {one: {value: {id: 1, name: a}}}}}}",
    ]
lines += ["components:", "  schemas:", "    Item:", "      type: object", "      required: [id, name]",
          "      properties:", "        id: {type: integer, minimum: 1}", "        name: {type: string, maxLength: 20}",
          "        born: {type: string, format: date-time}", "        owner: {$ref: '#/components/schemas/Owner'}",
          "    Owner:", "      type: object", "      properties:", "        email: {type: string, format: email}",
          "        items: {type: array, items: {$ref: '#/components/schemas/Item'}}"]
open(os.path.join(d, "openapi.yaml"), "w").write("\n".join(lines) + "\n")
open(os.path.join(d, "sandbox.yaml"), "w").write(
    "version: 1\nservice: { name: app, image: app:dev }\ndependencies:\n  big:\n    stub: { openapi: ./openapi.yaml, validate: true }\n")
EOF
best=""
for _ in 1 2 3; do
    start=$(date +%s.%N)
    "$BIN" check --contract -f "$WORK/big/sandbox.yaml" >"$WORK/big/out"
    took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f", e - s }')
    if [ -z "$best" ] || awk -v a="$took" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$took; fi
done

echo
echo "load average before and after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
echo "medians of $ROUNDS rounds: GET plain $GET_PLAIN, openapi $GET_OPENAPI, validated $GET_VALIDATED; POST plain $POST_PLAIN, openapi $POST_OPENAPI, validated $POST_VALIDATED answers/s"
echo "GET /pet/10: openapi $(ratio "$GET_OPENAPI" "$GET_PLAIN")x plain (target >= 0.90x), validated $(ratio "$GET_VALIDATED" "$GET_PLAIN")x plain (target >= 0.70x)"
echo "POST /pet:   openapi $(ratio "$POST_OPENAPI" "$POST_PLAIN")x plain (target >= 0.90x), validated $(ratio "$POST_VALIDATED" "$POST_PLAIN")x plain (target >= 0.70x)"
echo "check --contract, 200 operations: best of 3 ${best} s (target < 1 s): $(tail -1 "$WORK/big/out")"
