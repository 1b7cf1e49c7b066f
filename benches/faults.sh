#!/usr/bin/env bash
# Benchmarks the accuracy and the cost of the agent's limits and faults, with
# the agent on the host (as in benches/agent.sh), in one run:
#
#   limiter  a stub limited at rate 100/s, burst 10, per_caller false, under
#            a constant 1000/s offered load for 10 s (wrk -t1 -c10 with
#            benches/faults/constant_rate.lua). Accepted (2xx) answers vs the
#            expected 100 x duration + burst; target: within 5 %.
#   latency  a stub with faults {latency: 50ms} at low load (wrk -t1 -c4
#            --latency); p50 vs 50 ms, target: within 5 ms; p99 shown too.
#   proxy    nginx serving a small static file directly vs through an agent
#            `proxy` dependency (HTTP port, no limits, no faults) in front of
#            that nginx, wrk -t2 -c16, one right after the other; target:
#            proxied / direct >= 0.9.
#
# Each case ends with a `RESULT ...` line. Everything listens on 127.0.0.1
# high ports (override with BENCH_PORT_BASE); nginx runs non-daemon from a
# config in a temporary folder, and every process started here is stopped
# by PID on exit.
#
# Environment: SANDBOX_BIN (default target/release/sandbox, built with
# `cargo build --release` only when missing), BENCH_DURATION (default 10,
# seconds), BENCH_PORT_BASE (default 18180).
#
# Usage: benches/faults.sh   (from anywhere; needs apt for wrk and nginx)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DURATION=${BENCH_DURATION:-10}
DURATION=${DURATION%s}
BASE=${BENCH_PORT_BASE:-18180}
THREADS=$(nproc)
BIN=${SANDBOX_BIN:-target/release/sandbox}
LUA="$ROOT/benches/faults/constant_rate.lua"

# The limiter case.
RATE=100
BURST=10
OFFERED=1000
OFFER_CONNS=10
# The latency case.
LATENCY_MS=50

NGINX_STATIC=$BASE
AGENT_ADMIN=$((BASE + 10))
AGENT_LIMITED=$((BASE + 11))
AGENT_SLOW=$((BASE + 12))
AGENT_PROXY=$((BASE + 13))

source "$ROOT/benches/host.sh"

if [ ! -x "$BIN" ]; then
    echo "building the release binary ..." >&2
    cargo build --release --quiet
fi

host_init
start_nginx "$THREADS" "$NGINX_STATIC"

# threads 0: one tokio worker per CPU (at most 4), as nginx's workers.
cat >"$WORK/agent.json" <<EOF
{
  "version": 1,
  "sandbox": "bench-faults",
  "admin_port": $AGENT_ADMIN,
  "listen": "127.0.0.1",
  "threads": 0,
  "callers": [],
  "served": [
    {"name": "limited", "port": $AGENT_LIMITED, "private_port": 0,
     "mode": {"mode": "stub", "routes": [
       {"match": {"path": "/hello.txt"}, "respond": {"status": 200, "body": "$BODY\n"}}
     ]},
     "limits": {"rate": "$RATE/s", "burst": $BURST, "per_caller": false}},
    {"name": "slow", "port": $AGENT_SLOW, "private_port": 0,
     "mode": {"mode": "stub", "routes": [
       {"match": {"path": "/hello.txt"}, "respond": {"status": 200, "body": "$BODY\n"}}
     ]},
     "faults": {"latency": "${LATENCY_MS}ms"}},
    {"name": "real", "port": $AGENT_PROXY, "private_port": 0,
     "mode": {"mode": "proxy", "target": "127.0.0.1", "ports": [
       {"listen": $AGENT_PROXY, "target": $NGINX_STATIC, "http": true}
     ]}}
  ]
}
EOF
"$BIN" agent --config "$WORK/agent.json" 2>"$WORK/agent.log" &
PIDS+=($!)

wait_for() {
    for _ in $(seq 1 400); do
        if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "not answering: $1" >&2
    cat "$WORK/agent.log" "$WORK/nginx/error.log" >&2 || true
    exit 1
}
wait_for "http://127.0.0.1:$AGENT_ADMIN/_sandbox/ready"
wait_for "http://127.0.0.1:$NGINX_STATIC/hello.txt"
wait_for "http://127.0.0.1:$AGENT_PROXY/hello.txt"
wait_for "http://127.0.0.1:$AGENT_SLOW/hello.txt"
# The limited stub is not touched before its run: its bucket is full (burst)
# from the agent's start, as the expected count assumes.

# wrk's duration in seconds: "N requests in 10.00s, ..." (also ms/m forms).
wrk_field() { # OUTPUT FIELD: requests | seconds | non2xx | rps | sockerr
    awk -v f="$2" '
        function secs(v) {
            if (v ~ /ms$/) { sub(/ms$/, "", v); return v / 1000 }
            if (v ~ /m$/)  { sub(/m$/, "", v);  return v * 60 }
            sub(/s$/, "", v); return v + 0
        }
        / requests in / { req = $1; t = $4; sub(/,$/, "", t); dur = secs(t) }
        /Non-2xx or 3xx responses:/ { non = $NF }
        /^Requests\/sec:/ { rps = $2 }
        /Socket errors:/ { sock = $0; sub(/^ *Socket errors: */, "", sock) }
        END {
            if (f == "requests") print req + 0
            else if (f == "seconds") print dur + 0
            else if (f == "non2xx") print non + 0
            else if (f == "rps") print rps + 0
            else if (f == "sockerr") print (sock == "" ? "none" : sock)
        }' <<<"$1"
}
# wrk's latency percentiles ("50%   50.12ms") in milliseconds.
wrk_pct() { # OUTPUT PERCENT
    awk -v p="$2%" '$1 == p {
        v = $2
        if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v) }
        else if (v ~ /m$/) { sub(/m$/, "", v); v *= 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
        printf "%.3f", v }' <<<"$1"
}
calc() { awk "BEGIN { $1 }"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "agent $BIN, tokio workers = nginx worker_processes = $THREADS; ${DURATION}s per run; load before: $LOAD_BEFORE"

# 1. Limiter accuracy ---------------------------------------------------------
echo
echo "== limiter: rate $RATE/s, burst $BURST, per_caller false; offered ${OFFERED}/s (wrk -t1 -c$OFFER_CONNS, constant rate) for ${DURATION}s"
OUT=$(wrk -t1 -c"$OFFER_CONNS" -d"${DURATION}s" -s "$LUA" "http://127.0.0.1:$AGENT_LIMITED/hello.txt" -- "$OFFERED")
printf '%s\n' "$OUT" | sed 's/^/  wrk| /'
REQS=$(wrk_field "$OUT" requests)
SECS=$(wrk_field "$OUT" seconds)
NON2XX=$(wrk_field "$OUT" non2xx)
SOCKERR=$(wrk_field "$OUT" sockerr)
ACCEPTED=$((REQS - NON2XX))
EXPECTED=$(calc "printf \"%.0f\", $RATE * $SECS + $BURST")
ERR_PCT=$(calc "printf \"%+.2f\", ($ACCEPTED - $EXPECTED) * 100 / $EXPECTED")
ACHIEVED=$(calc "printf \"%.1f\", $REQS / $SECS")
LIMITER_OK=$(calc "e = $ACCEPTED - $EXPECTED; if (e < 0) e = -e; print (e * 100 / $EXPECTED <= 5) ? \"ok\" : \"MISSED\"")
OFFER_OK=$(calc "print ($REQS / $SECS >= 0.95 * $OFFERED) ? \"ok\" : \"LOW\"")
echo "  requests $REQS in ${SECS}s, 2xx $ACCEPTED, refused (non-2xx) $NON2XX, socket errors: $SOCKERR"
echo "RESULT limiter accepted=$ACCEPTED expected=$EXPECTED error=${ERR_PCT}% (target within 5%: $LIMITER_OK) offered=${ACHIEVED}/s of ${OFFERED}/s ($OFFER_OK) duration=${SECS}s"

# 2. Latency injection accuracy ----------------------------------------------
echo
echo "== latency: faults {latency: ${LATENCY_MS}ms}, wrk -t1 -c4 -d${DURATION}s --latency"
OUT=$(wrk -t1 -c4 -d"${DURATION}s" --latency "http://127.0.0.1:$AGENT_SLOW/hello.txt")
printf '%s\n' "$OUT" | sed 's/^/  wrk| /'
P50=$(wrk_pct "$OUT" 50)
P90=$(wrk_pct "$OUT" 90)
P99=$(wrk_pct "$OUT" 99)
NON2XX=$(wrk_field "$OUT" non2xx)
DIFF=$(calc "printf \"%+.3f\", $P50 - $LATENCY_MS")
LATENCY_OK=$(calc "d = $P50 - $LATENCY_MS; if (d < 0) d = -d; print (d <= 5) ? \"ok\" : \"MISSED\"")
echo "RESULT latency p50=${P50}ms diff=${DIFF}ms (target within 5 ms: $LATENCY_OK) p90=${P90}ms p99=${P99}ms non2xx=$NON2XX"

# 3. The proxy's cost with nothing configured --------------------------------
echo
echo "== proxy: nginx static file directly vs through an agent proxy (no limits, no faults), wrk -t2 -c16 -d${DURATION}s"
proxy_run() { # URL -> prints the wrk output
    wrk -t2 -c16 -d2s "$1" >/dev/null # warm-up
    wrk -t2 -c16 -d"${DURATION}s" --latency "$1"
}
OUT=$(proxy_run "http://127.0.0.1:$NGINX_STATIC/hello.txt")
DIRECT_RPS=$(wrk_field "$OUT" rps)
DIRECT_P99=$(wrk_pct "$OUT" 99)
DIRECT_NON=$(wrk_field "$OUT" non2xx)
OUT=$(proxy_run "http://127.0.0.1:$AGENT_PROXY/hello.txt")
PROXY_RPS=$(wrk_field "$OUT" rps)
PROXY_P99=$(wrk_pct "$OUT" 99)
PROXY_NON=$(wrk_field "$OUT" non2xx)
RATIO=$(calc "printf \"%.2f\", $PROXY_RPS / $DIRECT_RPS")
PROXY_OK=$(calc "print ($PROXY_RPS / $DIRECT_RPS >= 0.9) ? \"ok\" : \"MISSED\"")
printf '  %-28s %12.0f answers/s  p99 %8.3f ms  non-2xx %s\n' "nginx static, direct" "$DIRECT_RPS" "$DIRECT_P99" "$DIRECT_NON"
printf '  %-28s %12.0f answers/s  p99 %8.3f ms  non-2xx %s\n' "agent proxy -> nginx" "$PROXY_RPS" "$PROXY_P99" "$PROXY_NON"
echo "RESULT proxy direct=$(calc "printf \"%.0f\", $DIRECT_RPS")/s proxied=$(calc "printf \"%.0f\", $PROXY_RPS")/s ratio=$RATIO (target >= 0.90: $PROXY_OK) p99 direct=${DIRECT_P99}ms proxied=${PROXY_P99}ms"

echo
echo "load average before and after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
