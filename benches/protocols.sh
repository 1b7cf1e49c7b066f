#!/usr/bin/env bash
# Benchmarks the agent's protocol paths on this machine, in one run:
#
#   redis   redis-benchmark GET, 50 connections, through a `faults: {}` TCP
#           proxy vs redis-server directly (goal >= 0.8x)
#   record  the agent's peak memory (VmHWM) while recording 4 parallel
#           50 MB downloads from nginx (goal <= 32 MiB): bodies stream to
#           files beside the recording
#   replay  the agent's peak memory replaying that recording (4 parallel)
#
# Direct and proxied Redis runs alternate (3 rounds) so both see the same
# machine; the figure is the ratio of the medians.
#
# Usage: benches/protocols.sh   (needs nginx, curl, redis-server, redis-benchmark)
set -euo pipefail

cd "$(dirname "$0")/.."
BASE=${BENCH_PORT_BASE:-18180}
REQUESTS=${BENCH_REQUESTS:-200000}
THREADS=$(nproc)

NGINX_STATIC=$BASE
REDIS=$((BASE + 1))
AGENT_ADMIN=$((BASE + 10))
AGENT_TCP=$((BASE + 11))
AGENT_RECORD=$((BASE + 12))
AGENT_REPLAY=$((BASE + 13))
REPLAY_ADMIN=$((BASE + 14))

source "$(pwd)/benches/host.sh"
need redis-server
command -v redis-benchmark >/dev/null || need redis-tools

echo "building the release binary ..." >&2
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/sandbox

host_init
head -c $((50 * 1000 * 1000)) /dev/urandom >"$WORK/www/big.bin"
chmod 644 "$WORK/www/big.bin"
start_nginx "$THREADS" "$NGINX_STATIC"
redis-server --port "$REDIS" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >/dev/null &
PIDS+=($!)
mkdir -p "$WORK/rec"

cat >"$WORK/agent.json" <<EOF
{
  "version": 1, "sandbox": "bench", "admin_port": $AGENT_ADMIN, "listen": "127.0.0.1",
  "served": [
    {"name": "cache", "port": $AGENT_TCP, "private_port": 0, "faults": {},
     "mode": {"mode": "proxy", "target": "127.0.0.1", "ports": [
       {"listen": $AGENT_TCP, "target": $REDIS, "http": false}]}},
    {"name": "web", "port": $AGENT_RECORD, "private_port": 0,
     "mode": {"mode": "record", "upstream": "http://127.0.0.1:$NGINX_STATIC",
              "to": "$WORK/rec/web.yaml", "redact": []}}
  ]
}
EOF
"$BIN" agent --config "$WORK/agent.json" 2>"$WORK/agent.log" &
AGENT_PID=$!
PIDS+=($AGENT_PID)

wait_for() {
    for _ in $(seq 1 200); do
        if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "not answering: $1" >&2
    cat "$WORK/agent.log" >&2 || true
    exit 1
}
wait_for "http://127.0.0.1:$AGENT_ADMIN/_sandbox/ready"
wait_for "http://127.0.0.1:$NGINX_STATIC/big.bin"
until redis-cli -p "$REDIS" ping >/dev/null 2>&1; do sleep 0.05; done
redis-cli -p "$REDIS" set key:__rand_int__ value >/dev/null

rps() {
    redis-benchmark -p "$1" -c 50 -n "$REQUESTS" -t get -q --csv | awk -F'"' '/GET/ {print $4}'
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
DIRECT=()
PROXIED=()
for _ in 1 2 3; do
    DIRECT+=("$(rps "$REDIS")")
    PROXIED+=("$(rps "$AGENT_TCP")")
done
DIRECT_MEDIAN=$(printf '%s\n' "${DIRECT[@]}" | median)
PROXIED_MEDIAN=$(printf '%s\n' "${PROXIED[@]}" | median)

hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
BEFORE=$(hwm_kib "$AGENT_PID")
for i in 1 2 3 4; do
    curl -fsS -o /dev/null "http://127.0.0.1:$AGENT_RECORD/big.bin?n=$i" &
done
wait $(jobs -p | tail -4) 2>/dev/null || true
RECORD_HWM=$(hwm_kib "$AGENT_PID")
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
RECORDING_SIZE=$(stat -c %s "$WORK/rec/web.yaml")

# Replay the recording just made (its bodies are files) in a fresh agent.
python3 - "$WORK" "$REPLAY_ADMIN" "$AGENT_REPLAY" <<'PY'
import json, sys
work, admin, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
interactions = []
# The recording is YAML the agent wrote; its shape is simple enough to read
# as lines: what replay needs is method, path, query, status, body_file.
current = None
for line in open(f"{work}/rec/web.yaml"):
    s = line.strip()
    if s.startswith("- request:"):
        current = {"request": {"method": "GET", "query": {}}, "response": {"status": 200}}
        interactions.append(current)
    elif s.startswith("path:"):
        current["request"]["path"] = s.split(": ", 1)[1]
    elif s.startswith("'n':") or s.startswith("n:"):
        current["request"]["query"]["n"] = s.split(": ", 1)[1].strip("'\"")
    elif s.startswith("body_file:"):
        current["response"]["body_file"] = s.split(": ", 1)[1]
json.dump({"version": 1, "sandbox": "bench", "admin_port": admin, "listen": "127.0.0.1",
           "served": [{"name": "web", "port": port, "private_port": 0,
                       "mode": {"mode": "replay", "bodies": f"{work}/rec",
                                "recording": {"version": 1, "interactions": interactions}}}]},
          open(f"{work}/replay.json", "w"))
PY
"$BIN" agent --config "$WORK/replay.json" 2>"$WORK/replay.log" &
REPLAY_PID=$!
PIDS+=($REPLAY_PID)
wait_for "http://127.0.0.1:$REPLAY_ADMIN/_sandbox/ready"
for i in 1 2 3 4; do
    curl -fsS -o "$WORK/replayed.$i" "http://127.0.0.1:$AGENT_REPLAY/big.bin?n=$i" &
done
wait $(jobs -p | tail -4) 2>/dev/null || true
REPLAY_HWM=$(hwm_kib "$REPLAY_PID")
cmp -s "$WORK/www/big.bin" "$WORK/replayed.1" && SAME=yes || { SAME=NO; head -30 "$WORK/rec/web.yaml" >&2; curl -sS "http://127.0.0.1:$AGENT_REPLAY/big.bin?n=1" | head -5 >&2; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "redis GET, 50 connections: direct ${DIRECT[*]} / proxied ${PROXIED[*]} answers/s"
echo "redis through a faults: {} proxy vs direct: $(ratio "$PROXIED_MEDIAN" "$DIRECT_MEDIAN")x (goal >= 0.80x)"
echo "record 4 x 50 MB in parallel: agent peak $(mib "$RECORD_HWM") MiB (idle peak $(mib "$BEFORE") MiB; goal <= 32 MiB); recording file $RECORDING_SIZE bytes"
echo "replay 4 x 50 MB in parallel: agent peak $(mib "$REPLAY_HWM") MiB; bodies identical: $SAME"
