#!/usr/bin/env bash
# The forwarded path of an entry run on the host (`sandbox up --host`):
# wrk in a container on the sandbox's network calls the service by name
# (`http://svc:8080`: the forwarder, the tunnel to `up --host`, then the
# process on 127.0.0.1), against the same wrk calling a container of the
# same server directly (`http://direct:8080`). The server is shopd's
# fixture (`GET /healthz`), the same binary on both sides; wrk runs in a
# FROM scratch image made from this machine's /usr/bin/wrk and the shared
# libraries it loads.
#
#   benches/forward.sh [--rounds R] [--duration 10s] [--connections 16]
#
# SANDBOX_BIN (default target/release/sandbox) as for the other benchmarks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

duration=10s
connections=16
while [ $# -gt 0 ]; do
  case "$1" in
    -r | --rounds) ROUNDS="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --connections) connections="$2"; shift ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

bench_init
need_sandbox
if ! command -v wrk >/dev/null; then
  log "installing wrk ..."
  apt-get install -y wrk >/dev/null
fi

# wrk as a FROM scratch image: the binary and every library ldd lists.
WRK_IMAGE="sandbox-bench-wrk:$BENCH_ID"
ctx="$BENCH_TMP/wrk"
mkdir -p "$ctx"
wrk_bin="$(command -v wrk)"
for file in "$wrk_bin" $(ldd "$wrk_bin" | grep -o '/[^ ]*'); do
  mkdir -p "$ctx$(dirname "$file")"
  cp -L "$file" "$ctx$file"
done
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY . /
ENTRYPOINT ["$wrk_bin"]
DOCKERFILE
docker build -q -t "$WRK_IMAGE" --label dev.sandbox.bench=1 "$ctx" >>"$BENCH_LOG" 2>&1 \
  || { tail -20 "$BENCH_LOG" >&2; die "building the wrk image failed"; }
trap 'docker rmi -f "$WRK_IMAGE" >/dev/null 2>&1 || true; bench_cleanup' EXIT

# The sandbox: svc on the host, direct as a container, same binary.
work="$BENCH_TMP/forward"
mkdir -p "$work/app"
"$BENCH_ROOT/sandboxes/shop/build-app" "$work/app" >/dev/null || die "building shopd failed"
printf 'FROM scratch\nCOPY shopd /shopd\nENTRYPOINT ["/shopd"]\n' >"$work/app/Dockerfile"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
name="bench-forward-$BENCH_ID"
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
    command: ["./app/shopd", "fixture", "--port", "$port", "--bind", "127.0.0.1"]
    port: $port
dependencies:
  direct:
    build: ./app
    command: ["/shopd", "fixture", "--port", "8080"]
    ports: { http: 8080 }
    health: { http: /healthz }
YAML
SANDBOX_NAMES+=("$work/sandbox.yaml|$name")

# shopd logs every request; the benchmark measures the path, not a
# terminal: the host process's output goes to a file.
"$SANDBOX_BIN" up --host -f "$work/sandbox.yaml" >"$BENCH_TMP/up-host.out" 2>&1 &
up_pid=$!
for _ in $(seq 1 600); do
  grep -q 'Ctrl-C stops it' "$BENCH_TMP/up-host.out" && break
  kill -0 "$up_pid" 2>/dev/null || { tail -20 "$BENCH_TMP/up-host.out" >&2; die "up --host ended"; }
  sleep 0.1
done
grep -q 'Ctrl-C stops it' "$BENCH_TMP/up-host.out" || die "up --host did not come up"

# rps URL: requests per second of one wrk run in the sandbox's network.
rps() {
  docker run --rm --network "sandbox-$name" "$WRK_IMAGE" -t2 -c"$connections" -d"$duration" "$1" 2>&1 \
    | tee -a "$BENCH_LOG" | awk '/Requests\/sec/ { print $2 }'
}

log "benches/forward.sh: wrk -t2 -c$connections -d$duration, $ROUNDS rounds, alternating"
rps http://direct:8080/healthz >/dev/null   # warm-up
forwarded=()
direct=()
for round in $(seq 1 "$ROUNDS"); do
  f="$(rps http://svc:8080/healthz)"
  d="$(rps http://direct:8080/healthz)"
  log "round $round: forwarded $f/s, direct $d/s"
  forwarded+=("$f")
  direct+=("$d")
done
kill -INT "$up_pid" 2>/dev/null || true
wait "$up_pid" 2>/dev/null || true

med_f="$(median "${forwarded[@]}")"
med_d="$(median "${direct[@]}")"
echo "forwarded (container -> svc on the host): $med_f requests/s"
echo "direct (container -> container):          $med_d requests/s"
echo "RESULT forward rounds=$ROUNDS forwarded=$med_f direct=$med_d ratio=$(ratio "$med_f" "$med_d")"
