#!/usr/bin/env bash
# Watch turnaround: from a file written in a `build:` context to the new
# answer served, `sandbox up --watch` against `docker-compose up -d --build
# web` for the same change, on the same engine.
#
# The service is shopd serving a folder baked into a FROM scratch image
# (COPY shopd, COPY www): a change to www/index.html needs a rebuild and a
# new container. Each round writes content no earlier round wrote (images
# are content-addressed, so nothing comes from a cache), then polls the
# service until it answers with it. Rounds alternate between the tools.
#
#   benches/watch.sh [-r ROUNDS] [--sandbox-only|--compose-only] [--no-warmup]
#
# Needs docker-compose (`apt-get install -y docker-compose`) and a release
# build of sandbox (or SANDBOX_BIN).

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=10
while [ $# -gt 0 ]; do
  case "$1" in
    -r|--rounds) ROUNDS="$2"; shift ;;
    *) parse_common_flag "$1" || die "unknown flag $1" ;;
  esac
  shift
done

command -v "$COMPOSE" >/dev/null || die "$COMPOSE is needed: apt-get install -y docker-compose"
command -v curl >/dev/null || die "curl is needed"
need_sandbox
bench_init

WATCH_PID=""
stop_watch() {
  if [ -n "$WATCH_PID" ]; then
    kill -INT "$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
    WATCH_PID=""
  fi
}
trap 'stop_watch; bench_cleanup' EXIT

shopd="$("$BENCH_ROOT/sandboxes/shop/build-app")"

# make_context DIR : a build context serving DIR/www.
make_context() {
  mkdir -p "$1/www"
  cp "$shopd" "$1/shopd"
  printf 'FROM scratch\nCOPY shopd /shopd\nCOPY www /www\nENTRYPOINT ["/shopd"]\n' >"$1/Dockerfile"
  printf 'first\n' >"$1/www/index.html"
}

dir="$BENCH_TMP/watch"
sname="bench-watch-$BENCH_ID"
project="benchwatch$BENCH_ID"
mkdir -p "$dir/sandbox" "$dir/compose"
make_context "$dir/sandbox/app"
make_context "$dir/compose/app"
cat >"$dir/sandbox/sandbox.yaml" <<YAML
version: 1
service:
  name: web
  build: ./app
  command: ["/shopd", "static", "--dir", "/www", "--port", "8080"]
  ports: { http: 8080 }
  health: { http: /healthz, timeout: 60s }
YAML
cat >"$dir/compose/docker-compose.yml" <<YAML
version: "2.4"
services:
  web:
    build: ./app
    command: ["static", "--dir", "/www", "--port", "8080"]
    init: true
    ports: ["127.0.0.1::8080"]
YAML
SANDBOX_NAMES+=("$dir/sandbox/sandbox.yaml|$sname")
COMPOSE_PROJECTS+=("$dir/compose/docker-compose.yml|$project")

# served URL TEXT : whether URL answers exactly TEXT.
served() { [ "$(curl -s --max-time 1 "$1/index.html" 2>/dev/null || true)" = "$2" ]; }

# The URL the watch log last gave for web (it moves with each new container).
watch_url() {
  local url
  url="$(grep -o 'now at http://127.0.0.1:[0-9]*' "$dir/watch.log" | tail -1 | sed 's/now at //')"
  [ -n "$url" ] && echo "$url" || echo "$FIRST_URL"
}

# Start watching (its own `up` is not timed).
log "sandbox up --watch ..."
"$SANDBOX_BIN" up --watch -f "$dir/sandbox/sandbox.yaml" --name "$sname" >"$dir/watch.log" 2>&1 &
WATCH_PID=$!
for _ in $(seq 600); do
  grep -q 'Ctrl-C stops watching' "$dir/watch.log" && break
  kill -0 "$WATCH_PID" 2>/dev/null || { tail -20 "$dir/watch.log" >&2; die "sandbox up --watch ended"; }
  sleep 0.1
done
grep -q 'Ctrl-C stops watching' "$dir/watch.log" || die "sandbox up --watch did not start watching"
# web's row of the status table `up` printed.
FIRST_URL="$(grep -E '^web ' "$dir/watch.log" | grep -o 'http://127.0.0.1:[0-9]*' | head -1)"

log "docker-compose up -d --build web ..."
$COMPOSE -p "$project" -f "$dir/compose/docker-compose.yml" up -d --build web >>"$BENCH_LOG" 2>&1 \
  || { tail -20 "$BENCH_LOG" >&2; die "docker-compose up failed"; }

sandbox_round() {
  local text="$1" t0 t1 url lines
  lines="$(grep -c ' -> ' "$dir/watch.log" || true)"
  t0="$(now)"
  printf '%s\n' "$text" >"$dir/sandbox/app/www/index.html"
  for _ in $(seq 1200); do
    url="$(watch_url)"
    if served "$url" "$text"; then break; fi
    sleep 0.02
  done
  t1="$(now)"
  served "$(watch_url)" "$text" || { tail -20 "$dir/watch.log" >&2; die "sandbox never served the change"; }
  # The line printed for this change, and that there was exactly one.
  for _ in $(seq 100); do
    [ "$(grep -c ' -> ' "$dir/watch.log")" -gt "$lines" ] && break
    sleep 0.02
  done
  [ "$(grep -c ' -> ' "$dir/watch.log")" = $((lines + 1)) ] \
    || { tail -5 "$dir/watch.log" >&2; die "one change printed other than one line"; }
  grep ' -> ' "$dir/watch.log" | tail -1 >"$dir/last-line"
  elapsed "$t0" "$t1"
}

compose_round() {
  local text="$1" t0 t1 port
  t0="$(now)"
  printf '%s\n' "$text" >"$dir/compose/app/www/index.html"
  $COMPOSE -p "$project" -f "$dir/compose/docker-compose.yml" up -d --build web >>"$BENCH_LOG" 2>&1 \
    || { tail -20 "$BENCH_LOG" >&2; die "docker-compose up --build failed"; }
  port="$($COMPOSE -p "$project" -f "$dir/compose/docker-compose.yml" port web 8080 | sed 's/.*://')"
  for _ in $(seq 1200); do
    served "http://127.0.0.1:$port" "$text" && break
    sleep 0.02
  done
  t1="$(now)"
  served "http://127.0.0.1:$port" "$text" || die "compose never served the change"
  elapsed "$t0" "$t1"
}

s_times=() c_times=()
for ((r = 1 - WARMUP; r <= ROUNDS; r++)); do
  tag="round $r"
  [ "$r" -le 0 ] && tag="warm-up"
  for first in 0 1; do
    if [ $(((r + first) % 2)) = 0 ]; then
      run_sandbox || continue
      t="$(sandbox_round "sandbox $BENCH_ID $r")"
      log "  $tag: sandbox ${t}s  ($(cat "$dir/last-line"))"
      [ "$r" -ge 1 ] && s_times+=("$t")
    else
      run_compose || continue
      t="$(compose_round "compose $BENCH_ID $r")"
      log "  $tag: compose ${t}s"
      [ "$r" -ge 1 ] && c_times+=("$t")
    fi
  done
done

stop_watch
grep -q 'stays up' "$dir/watch.log" || log "warning: the watch did not say the sandbox stays up"

s_med="$(median "${s_times[@]+"${s_times[@]}"}")"
c_med="$(median "${c_times[@]+"${c_times[@]}"}")"
printf '%-34s %10s %10s %10s\n' "watch turnaround (median s, n=$ROUNDS)" sandbox compose ratio
printf '%-34s %10s %10s %10s\n' "file written -> new answer served" "$s_med" "$c_med" "$(ratio "$s_med" "$c_med")"
printf '%-34s %10s %10s\n' "min / max" \
  "$(printf '%s\n' "${s_times[@]+"${s_times[@]}"}" | sort -g | sed -n '1p;$p' | paste -sd/ -)" \
  "$(printf '%s\n' "${c_times[@]+"${c_times[@]}"}" | sort -g | sed -n '1p;$p' | paste -sd/ -)"
