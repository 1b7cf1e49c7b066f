#!/usr/bin/env bash
# Host-entry restart turnaround under `sandbox up --host --watch`: from a
# file write in the entry's `host.dir` to the restarted process's new
# answer on 127.0.0.1, and, as the process's own share, how long the same
# process takes from exec to its first answer when started directly.
#
#   benches/host-restart.sh [--rounds R]
#
# SANDBOX_BIN (default target/release/sandbox) as for the other benchmarks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${ROUNDS:-10}"
while [ $# -gt 0 ]; do
  case "$1" in
    -r | --rounds) ROUNDS="$2"; shift ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

bench_init
need_sandbox
command -v curl >/dev/null || apt-get install -y curl >/dev/null

work="$BENCH_TMP/host-restart"
mkdir -p "$work/app" "$work/svc"
"$BENCH_ROOT/sandboxes/shop/build-app" "$work/app" >/dev/null || die "building shopd failed"
printf 'FROM scratch\nCOPY shopd /shopd\nENTRYPOINT ["/shopd"]\n' >"$work/app/Dockerfile"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
name="bench-restart-$BENCH_ID"
cat >"$work/sandbox.yaml" <<YAML
version: 1
name: $name
service:
  name: svc
  build: ./app
  command: ["/shopd", "fixture", "--port", "8080"]
  ports: { http: 8080 }
  health: { http: /healthz }
  host:
    command: [sh, -c, '. ./version.env; exec "\$0" fixture --port $port --bind 127.0.0.1', "$work/app/shopd"]
    dir: ./svc
    port: $port
dependencies:
  pay:
    stub: { routes: [{ match: { path: /x }, respond: { body: ok } }] }
YAML
SANDBOX_NAMES+=("$work/sandbox.yaml|$name")
echo "export VERSION=0" >"$work/svc/version.env"

"$SANDBOX_BIN" up --host --watch -f "$work/sandbox.yaml" >"$BENCH_TMP/up.out" 2>&1 &
up_pid=$!
for _ in $(seq 1 600); do
  grep -q 'Ctrl-C stops it' "$BENCH_TMP/up.out" && break
  kill -0 "$up_pid" 2>/dev/null || { tail -20 "$BENCH_TMP/up.out" >&2; die "up --host --watch ended"; }
  sleep 0.1
done
# Watching starts once the process is up; give the watcher its first scan.
for _ in $(seq 1 100); do grep -q 'watching' "$BENCH_TMP/up.out" && break; sleep 0.05; done

# until_answer VERSION: seconds until GET /env shows VERSION.
until_answer() {
  local want="$1" t0 t1
  t0="$(now)"
  until curl -fs "http://127.0.0.1:$port/env" 2>/dev/null | grep -q "\"VERSION\":\"$want\""; do
    sleep 0.005
  done
  t1="$(now)"
  elapsed "$t0" "$t1"
}

turnaround=()
for round in $(seq 1 "$ROUNDS"); do
  t0="$(now)"
  echo "export VERSION=$round" >"$work/svc/version.env"
  until curl -fs "http://127.0.0.1:$port/env" 2>/dev/null | grep -q "\"VERSION\":\"$round\""; do
    sleep 0.005
  done
  t1="$(now)"
  turnaround+=("$(elapsed "$t0" "$t1")")
  log "round $round: $(elapsed "$t0" "$t1") s"
  sleep 0.5
done
kill -INT "$up_pid" 2>/dev/null || true
wait "$up_pid" 2>/dev/null || true

# The process's own start: exec to first answer, started directly.
direct=()
for round in $(seq 1 "$ROUNDS"); do
  p="$(free_port)"
  t0="$(now)"
  (cd "$work/svc" && VERSION=x exec "$work/app/shopd" fixture --port "$p" --bind 127.0.0.1 >/dev/null 2>&1) &
  pid=$!
  until curl -fs "http://127.0.0.1:$p/healthz" >/dev/null 2>&1; do sleep 0.005; done
  t1="$(now)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  direct+=("$(elapsed "$t0" "$t1")")
done

med_t="$(median "${turnaround[@]}")"
med_d="$(median "${direct[@]}")"
echo "file write -> new answer (up --host --watch): $med_t s (median of $ROUNDS)"
echo "the process's own start (exec -> first answer): $med_d s"
echo "RESULT host-restart rounds=$ROUNDS turnaround=$med_t process_start=$med_d overhead=$(awk -v a="$med_t" -v b="$med_d" 'BEGIN { printf "%.3f", a - b }')"
