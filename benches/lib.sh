# Shared functions of the benchmark scripts (sourced, not run).
# They compare `sandbox` against docker-compose on the same topology, built
# from one locally built image of shopd (FROM scratch, no registry).

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SANDBOX_BIN="${SANDBOX_BIN:-$BENCH_ROOT/target/release/sandbox}"
COMPOSE="${COMPOSE:-docker-compose}"
BENCH_IMAGE="${BENCH_IMAGE:-sandbox-bench-shopd:latest}"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-1}"

# Unique names, so that parallel runs and leftovers never collide.
BENCH_ID="${BENCH_ID:-$(date +%s)$$}"
BENCH_TMP=""
SANDBOX_NAMES=()     # every sandbox name this run used (manifest|name)
COMPOSE_PROJECTS=()  # every compose project this run used (file|project)
BENCH_LOG=""
_CLEANED=0

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# median V... : the middle value (mean of the two middle ones for an even count)
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }

bench_init() {
  command -v docker >/dev/null || die "the docker CLI is needed"
  docker info >/dev/null 2>&1 || die "the Docker engine cannot be reached (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock})"
  BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/sandbox-bench.XXXXXX")"
  BENCH_LOG="$BENCH_TMP/log"
  : >"$BENCH_LOG"
  trap 'bench_cleanup; exit 130' INT
  trap 'bench_cleanup; exit 143' TERM
  trap 'bench_cleanup' EXIT
}

# Removes everything this run created, whatever state it is in.
bench_cleanup() {
  [ "$_CLEANED" = 1 ] && return 0
  _CLEANED=1
  trap - INT TERM
  local entry file name ids
  for entry in "${SANDBOX_NAMES[@]+"${SANDBOX_NAMES[@]}"}"; do
    file="${entry%%|*}" name="${entry#*|}"
    if [ -x "$SANDBOX_BIN" ]; then
      timeout 60 "$SANDBOX_BIN" down -f "$file" --name "$name" >>"${BENCH_LOG:-/dev/null}" 2>&1 || true
    fi
    # Belt and braces: the labels are all the state a sandbox has.
    ids="$(docker ps -aq --filter "label=dev.sandbox.name=$name" 2>/dev/null || true)"
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1 || true
    ids="$(docker network ls -q --filter "label=dev.sandbox.name=$name" 2>/dev/null || true)"
    [ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1 || true
    ids="$(docker volume ls -q --filter "label=dev.sandbox.name=$name" 2>/dev/null || true)"
    [ -n "$ids" ] && docker volume rm -f $ids >/dev/null 2>&1 || true
  done
  for entry in "${COMPOSE_PROJECTS[@]+"${COMPOSE_PROJECTS[@]}"}"; do
    file="${entry%%|*}" name="${entry#*|}"
    timeout 60 $COMPOSE -p "$name" -f "$file" down --remove-orphans -t 5 >>"${BENCH_LOG:-/dev/null}" 2>&1 || true
    ids="$(docker ps -aq --filter "label=com.docker.compose.project=$name" 2>/dev/null || true)"
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1 || true
    ids="$(docker network ls -q --filter "label=com.docker.compose.project=$name" 2>/dev/null || true)"
    [ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1 || true
  done
  if [ "${KEEP_IMAGE:-0}" != 1 ] && [ "${_BENCH_BUILT_IMAGE:-0}" = 1 ]; then
    docker rmi -f "$BENCH_IMAGE" >/dev/null 2>&1 || true
  fi
  [ -n "$BENCH_TMP" ] && rm -rf "$BENCH_TMP"
  return 0
}

# Builds shopd (static) and the image $BENCH_IMAGE: FROM scratch, /shopd.
build_bench_image() {
  local ctx="$BENCH_TMP/image"
  mkdir -p "$ctx"
  log "building shopd and $BENCH_IMAGE"
  "$BENCH_ROOT/sandboxes/shop/build-app" "$ctx" >/dev/null || die "building shopd failed"
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY shopd /shopd
ENTRYPOINT ["/shopd"]
CMD ["fixture", "--port", "8080"]
DOCKERFILE
  printf '*\n!shopd\n!Dockerfile\n' >"$ctx/.dockerignore"
  docker build -q -t "$BENCH_IMAGE" --label dev.sandbox.bench=1 "$ctx" >>"$BENCH_LOG" 2>&1 \
    || { tail -20 "$BENCH_LOG" >&2; die "docker build of $BENCH_IMAGE failed"; }
  _BENCH_BUILT_IMAGE=1
}

need_sandbox() {
  [ -x "$SANDBOX_BIN" ] || die "no sandbox binary at $SANDBOX_BIN (cargo build --release, or set SANDBOX_BIN)"
}

# ------------------------------------------------------------- generators

# manifest_header NAME SERVICE_YAML... : the top of a sandbox.yaml whose
# service is a shopd fixture with a real HTTP health check.
write_manifest_head() {
  cat <<YAML
version: 1
name: $1
owner: bench
service:
  name: svc
  image: $BENCH_IMAGE
  command: ["/shopd", "fixture", "--port", "8080"]
  ports: { http: 8080 }
  health: { http: /healthz, contains: ok, timeout: 300s }
dependencies:
YAML
}

# Real-container dependency dep1..depN.
write_manifest_real_deps() {
  local i
  for ((i = 1; i <= $1; i++)); do
    cat <<YAML
  dep$i:
    image: $BENCH_IMAGE
    command: ["/shopd", "fixture", "--port", "8080"]
    ports: { http: 8080 }
    health: { http: /healthz, contains: ok, timeout: 300s }
YAML
  done
}

# Stub dependency dep1..depN, one route each.
write_manifest_stub_deps() {
  local i
  for ((i = 1; i <= $1; i++)); do
    cat <<YAML
  dep$i:
    stub:
      routes:
        - match: { method: GET, path: "/items/{id}" }
          respond: { status: 200, json: { id: "{{path.id}}", from: dep$i } }
YAML
  done
}

# The equivalent compose file: svc plus dep1..depN, each a shopd fixture
# with a Docker healthcheck (scratch has no curl: shopd probes itself), svc
# starting once every dependency is healthy.
write_compose() {
  local n="$1" i
  cat <<YAML
version: "2.4"
services:
  svc:
    image: $BENCH_IMAGE
    command: ["fixture", "--port", "8080"]
    init: true
    ports: ["127.0.0.1::8080"]
    healthcheck: &hc
      test: ["CMD", "/shopd", "probe", "http://127.0.0.1:8080/healthz"]
      interval: 1s
      timeout: 1s
      retries: 30
YAML
  if [ "$n" -gt 0 ]; then
    echo "    depends_on:"
    for ((i = 1; i <= n; i++)); do
      echo "      dep$i: { condition: service_healthy }"
    done
  fi
  for ((i = 1; i <= n; i++)); do
    cat <<YAML
  dep$i:
    image: $BENCH_IMAGE
    command: ["fixture", "--port", "8080"]
    init: true
    ports: ["127.0.0.1::8080"]
    healthcheck: *hc
YAML
  done
}

# ---------------------------------------------------------------- timing

# sandbox_up FILE NAME : prints seconds to all-healthy; fails loudly.
# (Run in $(...): the caller registers NAME for cleanup first.)
sandbox_up() {
  local file="$1" name="$2" t0 t1 out="$BENCH_TMP/sandbox-up.out"
  local rc=0
  t0="$(now)"
  "$SANDBOX_BIN" up -f "$file" --name "$name" >"$out" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    log ""
    log "error: \`$SANDBOX_BIN up -f $file --name $name\` failed (exit $rc); its last lines:"
    tail -25 "$out" | sed 's/^/  | /' >&2
    exit 1
  fi
  t1="$(now)"
  cat "$out" >>"$BENCH_LOG"
  elapsed "$t0" "$t1"
}

sandbox_down() {
  local file="$1" name="$2" t0 t1 out="$BENCH_TMP/sandbox-down.out"
  local rc=0
  t0="$(now)"
  "$SANDBOX_BIN" down -f "$file" --name "$name" >"$out" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    log "error: \`$SANDBOX_BIN down -f $file --name $name\` failed (exit $rc); its last lines:"
    tail -25 "$out" | sed 's/^/  | /' >&2
    exit 1
  fi
  t1="$(now)"
  elapsed "$t0" "$t1"
}

compose_has_wait() {
  $COMPOSE up --help 2>/dev/null | grep -q -- '--wait'
}

# compose_up FILE PROJECT EXPECTED : seconds until EXPECTED containers of the
# project are running and healthy.
compose_up() {
  local file="$1" project="$2" expected="$3" t0 t1 out="$BENCH_TMP/compose-up.out"
  t0="$(now)"
  if compose_has_wait; then
    $COMPOSE -p "$project" -f "$file" up -d --wait >"$out" 2>&1 \
      || { tail -25 "$out" >&2; die "docker-compose up --wait failed"; }
  else
    $COMPOSE -p "$project" -f "$file" up -d >"$out" 2>&1 \
      || { tail -25 "$out" >&2; die "docker-compose up failed"; }
    wait_compose_healthy "$project" "$expected" 600 || die "compose project $project did not become healthy"
  fi
  t1="$(now)"
  cat "$out" >>"$BENCH_LOG"
  elapsed "$t0" "$t1"
}

# Polls `docker inspect` until EXPECTED containers are healthy.
wait_compose_healthy() {
  local project="$1" expected="$2" limit="$3" start ids states healthy
  start="$(date +%s)"
  while :; do
    ids="$(docker ps -aq --filter "label=com.docker.compose.project=$project")"
    if [ -n "$ids" ]; then
      states="$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' $ids)"
      healthy="$(grep -c '^healthy$' <<<"$states" || true)"
      [ "$healthy" -ge "$expected" ] && return 0
      if grep -q '^unhealthy$' <<<"$states"; then
        log "a container of $project is unhealthy"
        return 1
      fi
    fi
    [ $(($(date +%s) - start)) -ge "$limit" ] && return 1
    sleep 0.1
  done
}

compose_down() {
  local file="$1" project="$2" t0 t1 out="$BENCH_TMP/compose-down.out"
  t0="$(now)"
  $COMPOSE -p "$project" -f "$file" down --remove-orphans >"$out" 2>&1 \
    || { tail -25 "$out" >&2; die "docker-compose down failed"; }
  t1="$(now)"
  elapsed "$t0" "$t1"
}

# Nothing of the given sandbox or project may be left.
assert_gone() {
  local label="$1" left
  left="$(docker ps -aq --filter "label=$label"; docker network ls -q --filter "label=$label")"
  [ -z "$left" ] || die "objects with label $label are left after down: $(echo $left)"
}

# ------------------------------------------------------------ the comparison

# Which halves to run: both (default), sandbox, compose.
SIDES="${SIDES:-both}"
run_sandbox() { [ "$SIDES" = both ] || [ "$SIDES" = sandbox ]; }
run_compose() { [ "$SIDES" = both ] || [ "$SIDES" = compose ]; }

# compare KIND N LABEL : KIND is `real` or `stub` dependencies. Runs WARMUP
# untimed rounds then ROUNDS timed rounds, the two tools alternating (which one
# goes first alternates too), and prints the medians. Sets MED_* globals.
compare() {
  local kind="$1" n="$2" label="$3"
  local dir="$BENCH_TMP/$label" sname="bench-$label-$BENCH_ID" project
  project="bench${label//[^a-z0-9]/}${BENCH_ID}"
  mkdir -p "$dir"
  { write_manifest_head "$sname"
    if [ "$kind" = stub ]; then write_manifest_stub_deps "$n"; else write_manifest_real_deps "$n"; fi
  } >"$dir/sandbox.yaml"
  write_compose "$n" >"$dir/docker-compose.yml"
  local expected=$((n + 1))
  # Registered before anything starts, so that the exit trap removes them.
  SANDBOX_NAMES+=("$dir/sandbox.yaml|$sname")
  COMPOSE_PROJECTS+=("$dir/docker-compose.yml|$project")

  local s_up=() s_re=() s_down=() c_up=() c_down=() r t1 t2 t3 first
  for ((r = 1 - WARMUP; r <= ROUNDS; r++)); do
    local tag="round $r"
    [ "$r" -le 0 ] && tag="warm-up"
    for first in 0 1; do
      if [ $(((r + first) % 2)) = 0 ]; then
        run_sandbox || continue
        t1="$(sandbox_up "$dir/sandbox.yaml" "$sname")"
        t2="$(sandbox_up "$dir/sandbox.yaml" "$sname")"
        t3="$(sandbox_down "$dir/sandbox.yaml" "$sname")"
        assert_gone "dev.sandbox.name=$sname"
        log "  $label $tag: sandbox up ${t1}s, again ${t2}s, down ${t3}s"
        if [ "$r" -ge 1 ]; then s_up+=("$t1") s_re+=("$t2") s_down+=("$t3"); fi
      else
        run_compose || continue
        t1="$(compose_up "$dir/docker-compose.yml" "$project" "$expected")"
        t3="$(compose_down "$dir/docker-compose.yml" "$project")"
        assert_gone "com.docker.compose.project=$project"
        log "  $label $tag: compose up ${t1}s, down ${t3}s"
        if [ "$r" -ge 1 ]; then c_up+=("$t1") c_down+=("$t3"); fi
      fi
    done
  done
  MED_S_UP="$(median "${s_up[@]+"${s_up[@]}"}")" MED_S_RE="$(median "${s_re[@]+"${s_re[@]}"}")"
  MED_S_DOWN="$(median "${s_down[@]+"${s_down[@]}"}")"
  MED_C_UP="$(median "${c_up[@]+"${c_up[@]}"}")" MED_C_DOWN="$(median "${c_down[@]+"${c_down[@]}"}")"
  if [ ${#s_up[@]} = 0 ]; then MED_S_UP=nan MED_S_RE=nan MED_S_DOWN=nan; fi
  if [ ${#c_up[@]} = 0 ]; then MED_C_UP=nan MED_C_DOWN=nan; fi
  return 0
}

print_summary() {
  local label="$1"
  printf '%-22s %10s %10s %10s\n' "$label (median s)" sandbox compose ratio
  printf '%-22s %10s %10s %10s\n' "up to all healthy" "$MED_S_UP" "$MED_C_UP" "$(ratio "$MED_S_UP" "$MED_C_UP")"
  printf '%-22s %10s %10s %10s\n' "up again (no change)" "$MED_S_RE" "-" "-"
  printf '%-22s %10s %10s %10s\n' "down" "$MED_S_DOWN" "$MED_C_DOWN" "$(ratio "$MED_S_DOWN" "$MED_C_DOWN")"
}

# Common flags: -r/--rounds R, --sandbox-only, --compose-only, --no-warmup.
parse_common_flag() {
  case "$1" in
    --sandbox-only) SIDES=sandbox ;;
    --compose-only) SIDES=compose ;;
    --no-warmup) WARMUP=0 ;;
    *) return 1 ;;
  esac
}
