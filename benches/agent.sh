#!/usr/bin/env bash
# Benchmarks the sandbox agent against nginx on this machine, in one run:
#
#   stub    agent stub route           vs nginx serving a small static file
#   record  agent record proxy         vs nginx keep-alive reverse proxy
#           (both forward to the same nginx static server)
#   replay  agent replay of a recording vs nginx serving the static file
#   memory  the agent's idle RSS (VmRSS), before any load
#
# Load: wrk -t2 -c16 -d${BENCH_DURATION:-10s} --latency. Everything listens
# on 127.0.0.1 high ports (override with BENCH_PORT_BASE). nginx runs as a
# non-daemon process with worker_processes equal to the agent's tokio worker
# threads (one per CPU, the agent's default), from a config in a
# temporary folder. Targets: stub >= 1.0x nginx with p99 <= 2 ms, record >=
# 1.0x the nginx proxy, replay >= 0.8x nginx, idle RSS <= 10 MiB.
#
# Usage: benches/agent.sh   (from anywhere; needs apt for wrk and nginx)
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10s}
BASE=${BENCH_PORT_BASE:-18080}
THREADS=$(nproc)

NGINX_STATIC=$BASE
NGINX_PROXY=$((BASE + 1))
AGENT_ADMIN=$((BASE + 10))
AGENT_STUB=$((BASE + 11))
AGENT_RECORD=$((BASE + 12))
AGENT_REPLAY=$((BASE + 13))

source "$(pwd)/benches/host.sh"

echo "building the release binary ..." >&2
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/sandbox

host_init
start_nginx "$THREADS" "$NGINX_STATIC" "
    upstream backend {
        server 127.0.0.1:$NGINX_STATIC;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$NGINX_PROXY;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"

cat >"$WORK/agent.json" <<EOF
{
  "version": 1,
  "sandbox": "bench",
  "admin_port": $AGENT_ADMIN,
  "listen": "127.0.0.1",
  "served": [
    {"name": "stub", "port": $AGENT_STUB, "private_port": 0,
     "mode": {"mode": "stub", "routes": [
       {"match": {"method": "POST", "path": "/other"}, "respond": {"status": 201}},
       {"match": {"method": "GET", "path": "/hello.txt"}, "respond": {"body": "$BODY\n"}}
     ]}},
    {"name": "record", "port": $AGENT_RECORD, "private_port": 0,
     "mode": {"mode": "record", "upstream": "http://127.0.0.1:$NGINX_STATIC",
              "to": "$WORK/recording.yaml", "redact": []}},
    {"name": "replay", "port": $AGENT_REPLAY, "private_port": 0,
     "mode": {"mode": "replay", "recording": {"version": 1, "interactions": [
       {"request": {"method": "GET", "path": "/hello.txt"},
        "response": {"status": 200, "headers": {"content-type": "text/plain"}, "body": "$BODY\n"}}
     ]}}}
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
    cat "$WORK/agent.log" "$WORK/nginx/error.log" >&2 || true
    exit 1
}
wait_for "http://127.0.0.1:$AGENT_ADMIN/_sandbox/ready"
wait_for "http://127.0.0.1:$NGINX_STATIC/hello.txt"
wait_for "http://127.0.0.1:$NGINX_PROXY/hello.txt"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
IDLE_RSS=$(rss_kib "$AGENT_PID")

# wrk prints "Requests/sec: N" and, with --latency, "99%  1.23ms".
run() {
    local url=$1 out
    wrk -t2 -c16 -d2s "$url" >/dev/null # warm-up
    out=$(wrk -t2 -c16 -d"$DURATION" --latency "$url")
    local rps p99 errors
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v*=1000}; print v}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
    echo "$rps $p99 ${errors:-}"
}

printf '%-8s %-30s %12s %10s\n' case server 'answers/s' 'p99 ms' >&2
measure() {
    local name=$1 label=$2 url=$3 result
    result=$(run "$url")
    read -r rps p99 rest <<<"$result"
    printf '%-8s %-30s %12.0f %10.3f %s\n' "$name" "$label" "$rps" "$p99" "$rest" >&2
    echo "$rps $p99"
}

# Each agent case runs right after its nginx baseline, so that both see the
# same machine (other work on a shared machine moves the figures a lot).
read -r NGINX_STATIC_RPS NGINX_STATIC_P99 < <(measure stub "nginx static" "http://127.0.0.1:$NGINX_STATIC/hello.txt")
read -r STUB_RPS STUB_P99 < <(measure stub "agent stub" "http://127.0.0.1:$AGENT_STUB/hello.txt")
read -r NGINX_STATIC2_RPS NGINX_STATIC2_P99 < <(measure replay "nginx static" "http://127.0.0.1:$NGINX_STATIC/hello.txt")
read -r REPLAY_RPS REPLAY_P99 < <(measure replay "agent replay" "http://127.0.0.1:$AGENT_REPLAY/hello.txt")
# Record last: its recording keeps being written for a moment after the load.
read -r NGINX_PROXY_RPS NGINX_PROXY_P99 < <(measure record "nginx keep-alive proxy" "http://127.0.0.1:$NGINX_PROXY/hello.txt")
read -r RECORD_RPS RECORD_P99 < <(measure record "agent record" "http://127.0.0.1:$AGENT_RECORD/hello.txt")
LOADED_RSS=$(rss_kib "$AGENT_PID")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "load average before and after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
echo "threads: agent tokio workers = nginx worker_processes = $THREADS; wrk -t2 -c16 -d$DURATION"
echo "stub   vs nginx static: $(ratio "$STUB_RPS" "$NGINX_STATIC_RPS")x  (agent p99 ${STUB_P99} ms, nginx p99 ${NGINX_STATIC_P99} ms; target >= 1.00x, p99 <= 2 ms)"
echo "record vs nginx proxy:  $(ratio "$RECORD_RPS" "$NGINX_PROXY_RPS")x  (agent p99 ${RECORD_P99} ms, nginx p99 ${NGINX_PROXY_P99} ms; target >= 1.00x)"
echo "replay vs nginx static: $(ratio "$REPLAY_RPS" "$NGINX_STATIC2_RPS")x  (agent p99 ${REPLAY_P99} ms, nginx p99 ${NGINX_STATIC2_P99} ms; target >= 0.80x)"
echo "agent idle RSS: $(awk -v k="$IDLE_RSS" 'BEGIN { printf "%.1f", k / 1024 }') MiB (goal <= 10 MiB); after the load: $(awk -v k="$LOADED_RSS" 'BEGIN { printf "%.1f", k / 1024 }') MiB (journal and recording in memory)"
