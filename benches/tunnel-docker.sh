#!/usr/bin/env bash
# Benchmarks the tunnel of `sandbox up --host` through the real engine:
#
#   container   wrk container -> `target` container (an agent stub)
#   forwarded   wrk container -> `orders` container (a hub, the entry's
#               stand-in) -> its tunnel port published on 127.0.0.1 ->
#               tunnel_session (the CLI's end) -> the same agent stub run
#               on the host on 127.0.0.1
#
# Both server ends are the same program (the release `sandbox agent`
# serving one stub route), so only the path differs. wrk runs in a
# container of its own on the sandbox's network: wrk -t2
# -c${BENCH_CONNECTIONS:-16} -d${BENCH_DURATION:-10s}, keep-alive, and the
# two paths alternate ${BENCH_ROUNDS:-3} times. Goal: forwarded >= 0.7x
# container. Every object is labelled dev.sandbox.name=bench-tunnel-ID and
# removed on exit.
#
# Usage: benches/tunnel-docker.sh   (needs docker, wrk and curl on the host)
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
ROUNDS=${BENCH_ROUNDS:-3}
ID=$(date +%s)$$
NAME=bench-tunnel-$ID
LABEL=dev.sandbox.name=$NAME
NETWORK=$NAME-net
HOST_PORT=${BENCH_HOST_PORT:-18480}
TOKEN=bench-$ID

command -v docker >/dev/null || { echo "the docker CLI is needed" >&2; exit 1; }
for tool in wrk curl; do
    command -v "$tool" >/dev/null || apt-get install -y "$tool" >/dev/null
done

echo "building the release binaries ..." >&2
cargo build --release --quiet --bin sandbox --example tunnel_session
BIN=$(pwd)/${CARGO_TARGET_DIR:-target}/release/sandbox
SESSION=$(pwd)/${CARGO_TARGET_DIR:-target}/release/examples/tunnel_session

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$pid" 2>/dev/null || true; done
    ids=$(docker ps -aq --filter "label=$LABEL")
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1 || true
    docker network rm "$NETWORK" >/dev/null 2>&1 || true
    for image in $(docker images -q --filter "label=$LABEL"); do docker rmi -f "$image" >/dev/null 2>&1 || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A FROM scratch image of a host binary and the libraries ldd names.
image_of() {
    local binary=$1 tag=$2 entry=$3
    local files
    files=$(ldd "$binary" 2>/dev/null | awk '/=>/ {print $3} /^\t\// {print $1}' | grep '^/' || true)
    mkdir -p "$WORK/root-$tag/sandbox"
    tar -h -C / -cf - "${binary#/}" $(for f in $files; do echo "${f#/}"; done) | tar -C "$WORK/root-$tag" -xf -
    tar -C "$WORK/root-$tag" -cf - . | docker import --change "ENTRYPOINT [\"$entry\"]" --change "LABEL $LABEL" - "$tag" >/dev/null
}
image_of /usr/bin/wrk "sandbox-bench-wrk:$ID" /usr/bin/wrk
image_of "$BIN" "sandbox-bench-agent:$ID" "$BIN"

docker network create --label "$LABEL" "$NETWORK" >/dev/null

STUB='{"name": "target", "port": 80, "private_port": 0, "mode": {"mode": "stub", "routes": [
  {"match": {"method": "GET", "path": "/hello.txt"}, "respond": {"body": "hello from the sandbox benchmark\n"}}]}}'
cat >"$WORK/target.json" <<EOF
{"version": 1, "sandbox": "$NAME", "admin_port": 7701, "served": [$STUB]}
EOF
cat >"$WORK/host.json" <<EOF
{"version": 1, "sandbox": "$NAME", "admin_port": $((HOST_PORT + 1)), "listen": "127.0.0.1",
 "served": [$(sed "s/\"port\": 80/\"port\": $HOST_PORT/" <<<"$STUB")]}
EOF
cat >"$WORK/orders.json" <<EOF
{"version": 1, "sandbox": "$NAME", "admin_port": 7701, "token": "$TOKEN",
 "host": {"entry": "orders", "tunnel_port": 7702, "ports": [{"listen": 80, "host": $HOST_PORT}]}}
EOF
chmod 644 "$WORK"/*.json

run_agent() {
    local name=$1 config=$2
    shift 2
    docker run -d --init --label "$LABEL" --name "$NAME-$name" --network "$NETWORK" \
        --network-alias "$name" -v "$config:/sandbox/agent.json:ro" "$@" \
        "sandbox-bench-agent:$ID" agent --config /sandbox/agent.json >/dev/null
}
run_agent target "$WORK/target.json"
run_agent orders "$WORK/orders.json" -p 127.0.0.1::7702 -p 127.0.0.1::7701
"$BIN" agent --config "$WORK/host.json" 2>"$WORK/host.log" &
HOST_PID=$!
PIDS+=($HOST_PID)

TUNNEL=$(docker port "$NAME-orders" 7702/tcp | head -1)
ADMIN=$(docker port "$NAME-orders" 7701/tcp | head -1)
for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "http://$ADMIN/_sandbox/ready" 2>/dev/null && break
    sleep 0.05
done
"$SESSION" "$TUNNEL" "$TOKEN" orders "80:$HOST_PORT" >"$WORK/session.out" 2>"$WORK/session.log" &
SESSION_PID=$!
PIDS+=($SESSION_PID)
for _ in $(seq 1 200); do
    grep -q '^connected' "$WORK/session.out" 2>/dev/null && break
    sleep 0.05
done
grep -q '^connected' "$WORK/session.out" || { cat "$WORK/session.log" >&2; docker logs "$NAME-orders" >&2; exit 1; }

wrk_in_network() {
    docker run --rm --label "$LABEL" --network "$NETWORK" "sandbox-bench-wrk:$ID" \
        -t2 -c"$CONNECTIONS" "$@"
}
measure() {
    local url=$1 out
    wrk_in_network -d2s "$url" >/dev/null # warm-up
    out=$(wrk_in_network -d"$DURATION" --latency "$url")
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
        grep 'Non-2xx\|Socket errors' <<<"$out" >&2
    fi
    awk '/^Requests\/sec:/ {rps = $2} $1 == "99%" {p99 = $2} END {print rps, p99}' <<<"$out"
}

# CPU time of each process on the forwarded path: the hub (the agent under
# the container's init), the engine's user-land proxy of the tunnel port
# (when the engine runs one), the session and the host process.
init_of() { docker inspect -f '{{.State.Pid}}' "$1"; }
child_of() { cat "/proc/$1/task/$1/children" 2>/dev/null | awk '{print $1}'; }
HUB_PID=$(child_of "$(init_of "$NAME-orders")")
TARGET_PID=$(child_of "$(init_of "$NAME-target")")
PROXY_PID=$(pgrep -f "docker-proxy .*-host-port ${TUNNEL##*:} " || true)
ticks() { if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo 0; fi; }
snapshot() { echo "$(ticks "$HUB_PID") $(ticks "$PROXY_PID") $(ticks "$SESSION_PID") $(ticks "$HOST_PID") $(ticks "$TARGET_PID")"; }
# us_per_request TICKS_BEFORE TICKS_AFTER REQUESTS_PER_SECOND
us_per_request() {
    awk -v a="$1" -v b="$2" -v rps="$3" -v d="${DURATION%s}" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / (rps * d) }'
}

echo "user-land proxy of the tunnel port: ${PROXY_PID:-none}" >&2
printf '%-6s %-12s %12s %10s\n' round path 'answers/s' 'p99' >&2
RATIOS=()
for round in $(seq 1 "$ROUNDS"); do
    read -r T0 <<<"$(snapshot | awk '{print $5}')"
    read -r C CP < <(measure http://target:80/hello.txt)
    read -r T1 <<<"$(snapshot | awk '{print $5}')"
    printf '%-6s %-12s %12.0f %10s   target %s us/request\n' "$round" container "$C" "$CP" \
        "$(us_per_request "$T0" "$T1" "$C")" >&2
    read -r H0 X0 S0 P0 _ <<<"$(snapshot)"
    read -r F FP < <(measure http://orders:80/hello.txt)
    read -r H1 X1 S1 P1 _ <<<"$(snapshot)"
    printf '%-6s %-12s %12.0f %10s   hub %s, engine proxy %s, session %s, host process %s us/request\n' \
        "$round" forwarded "$F" "$FP" "$(us_per_request "$H0" "$H1" "$F")" "$(us_per_request "$X0" "$X1" "$F")" \
        "$(us_per_request "$S0" "$S1" "$F")" "$(us_per_request "$P0" "$P1" "$F")" >&2
    RATIOS+=("$(awk -v a="$F" -v b="$C" 'BEGIN { printf "%.2f", a / b }')")
done
echo "forwarded vs container, per round: ${RATIOS[*]} (goal >= 0.70); $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
