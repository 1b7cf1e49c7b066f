#!/usr/bin/env bash
# Benchmarks the tunnel of `sandbox up --host` on this machine, all on
# 127.0.0.1, as three processes the way the sandbox runs them:
#
#   direct   wrk -> nginx (the "host process")
#   tunnel   wrk -> agent hub (entry port) -> tunnel_session (the CLI's end)
#            -> nginx
#   proxy    wrk -> agent TCP proxy -> nginx: one user-space hop, for scale
#
# Load: wrk -t2 -c${BENCH_CONNECTIONS:-16} -d${BENCH_DURATION:-10s} --latency
# on a small static file, keep-alive. Each case runs right after a direct
# baseline so that both see the same machine. A second pass without
# keep-alive (`Connection: close`, a new carried connection per request)
# measures the cost of taking a pooled data connection. Goal: the
# forwarded path >= 0.7x the direct one (in the sandbox the direct path is
# container -> container).
#
# Usage: benches/tunnel.sh   (from anywhere; needs apt for wrk and nginx)
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
BASE=${BENCH_PORT_BASE:-18180}
WORKERS=${BENCH_NGINX_WORKERS:-1}

NGINX_STATIC=$BASE
AGENT_ADMIN=$((BASE + 10))
AGENT_TUNNEL=$((BASE + 11))
AGENT_ENTRY=$((BASE + 12))
PROXY_ADMIN=$((BASE + 20))
PROXY_PORT=$((BASE + 21))
TOKEN=bench-token

source "$(pwd)/benches/host.sh"

echo "building the release binaries ..." >&2
cargo build --release --quiet --bin sandbox --example tunnel_session
BIN=${CARGO_TARGET_DIR:-target}/release/sandbox
SESSION=${CARGO_TARGET_DIR:-target}/release/examples/tunnel_session

host_init
start_nginx "$WORKERS" "$NGINX_STATIC"

cat >"$WORK/hub.json" <<EOF
{
  "version": 1,
  "sandbox": "bench",
  "admin_port": $AGENT_ADMIN,
  "token": "$TOKEN",
  "listen": "127.0.0.1",
  "host": {"entry": "orders", "tunnel_port": $AGENT_TUNNEL,
           "ports": [{"listen": $AGENT_ENTRY, "host": $NGINX_STATIC}]}
}
EOF
cat >"$WORK/proxy.json" <<EOF
{
  "version": 1,
  "sandbox": "bench",
  "admin_port": $PROXY_ADMIN,
  "listen": "127.0.0.1",
  "served": [
    {"name": "proxy", "port": $PROXY_PORT, "private_port": 0,
     "mode": {"mode": "proxy", "target": "127.0.0.1",
              "ports": [{"listen": $PROXY_PORT, "target": $NGINX_STATIC, "http": false}]}}
  ]
}
EOF
"$BIN" agent --config "$WORK/hub.json" 2>"$WORK/hub.log" &
PIDS+=($!)
"$BIN" agent --config "$WORK/proxy.json" 2>"$WORK/proxy.log" &
PIDS+=($!)

wait_for() {
    for _ in $(seq 1 200); do
        if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "not answering: $1" >&2
    cat "$WORK"/*.log "$WORK/nginx/error.log" >&2 || true
    exit 1
}
wait_for "http://127.0.0.1:$AGENT_ADMIN/_sandbox/ready"
wait_for "http://127.0.0.1:$PROXY_ADMIN/_sandbox/ready"
wait_for "http://127.0.0.1:$NGINX_STATIC/hello.txt"

"$SESSION" "127.0.0.1:$AGENT_TUNNEL" "$TOKEN" orders "$AGENT_ENTRY:$NGINX_STATIC" >"$WORK/session.out" 2>"$WORK/session.log" &
PIDS+=($!)
for _ in $(seq 1 200); do
    grep -q '^connected' "$WORK/session.out" 2>/dev/null && break
    sleep 0.05
done
grep -q '^connected' "$WORK/session.out" || { cat "$WORK/session.log" "$WORK/hub.log" >&2; exit 1; }
wait_for "http://127.0.0.1:$AGENT_ENTRY/hello.txt"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# wrk prints "Requests/sec: N" and, with --latency, "99%  1.23ms".
run() {
    local url=$1
    shift
    local out rps p99 errors
    wrk -t2 -c"$CONNECTIONS" -d2s "$@" "$url" >/dev/null # warm-up
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v*=1000}; print v}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
    echo "$rps $p99 ${errors:-}"
}

printf '%-10s %-34s %12s %10s\n' pass path 'answers/s' 'p99 ms' >&2
measure() {
    local pass=$1 label=$2 url=$3 result
    shift 3
    result=$(run "$url" "$@")
    read -r rps p99 rest <<<"$result"
    printf '%-10s %-34s %12.0f %10.3f %s\n' "$pass" "$label" "$rps" "$p99" "$rest" >&2
    echo "$rps $p99"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }

DIRECT="http://127.0.0.1:$NGINX_STATIC/hello.txt"
TUNNEL="http://127.0.0.1:$AGENT_ENTRY/hello.txt"
PROXY="http://127.0.0.1:$PROXY_PORT/hello.txt"
read -r D1 D1P < <(measure keep-alive "direct (nginx)" "$DIRECT")
read -r T1 T1P < <(measure keep-alive "tunnel (hub + session)" "$TUNNEL")
read -r D2 D2P < <(measure keep-alive "direct (nginx)" "$DIRECT")
read -r P1 P1P < <(measure keep-alive "one-hop TCP proxy (agent)" "$PROXY")
read -r D3 D3P < <(measure close "direct (nginx)" "$DIRECT" -H 'Connection: close')
read -r T3 T3P < <(measure close "tunnel (hub + session)" "$TUNNEL" -H 'Connection: close')

echo
echo "load average before and after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
echo "nginx worker_processes = $WORKERS; wrk -t2 -c$CONNECTIONS -d$DURATION"
echo "tunnel vs direct, keep-alive:       $(ratio "$T1" "$D1")x  (p99 ${T1P} ms vs ${D1P} ms; goal >= 0.70x)"
echo "one-hop proxy vs direct, keep-alive: $(ratio "$P1" "$D2")x  (p99 ${P1P} ms vs ${D2P} ms)"
echo "tunnel vs direct, a connection per request: $(ratio "$T3" "$D3")x  (p99 ${T3P} ms vs ${D3P} ms)"
