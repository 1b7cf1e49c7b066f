#!/usr/bin/env bash
# Time of `sandbox import compose` on a generated Compose file of N services
# (default 50), written the way large projects write theirs: an `x-`
# anchor merged into every service, `${VAR:-default}` in every value, a
# `.env` file, build contexts with arguments, ports in several syntaxes,
# curl and CMD healthchecks, env files, volumes and networks to list, and
# one `app` service that depends on every other one. Each round imports,
# validates (the command does) and writes the manifest; the median of the
# rounds is printed, and the script fails when it is 1 s or more.
#
#   benches/import.sh [N] [--rounds R]
#
# SANDBOX_BIN (default target/release/sandbox, built when missing).
#
# On 2 shared cores (2026-11), 50 services (1330 lines): median 0.05 s of
# wall time, 0.01 s of CPU (release build; the rest is the fsync of the
# atomic write); 0.05 s with the debug build.
set -euo pipefail
cd "$(dirname "$0")/.."

n=50 rounds="${ROUNDS:-10}"
while [ $# -gt 0 ]; do
  case "$1" in
    -r | --rounds) rounds="$2"; shift ;;
    --rounds=*) rounds="${1#*=}" ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) [[ "$1" =~ ^[0-9]+$ ]] && n="$1" || { echo "unknown argument: $1" >&2; exit 2; } ;;
  esac
  shift
done

bin="${SANDBOX_BIN:-target/release/sandbox}"
if [ ! -x "$bin" ]; then
  cargo build --release >&2
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/sandbox-import-bench.XXXXXX")"
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT

# The project: build contexts, an env file, a .env for interpolation.
for ctx in api worker; do
  mkdir -p "$dir/$ctx"
  printf 'ARG BASE=scratch\nFROM scratch\n' >"$dir/$ctx/Dockerfile"
done
printf 'LOG_LEVEL=info\nTAG=1.0.0\nexport REGION=eu-west-1\n' >"$dir/.env"
printf 'SHARED_SECRET="dev only"\nCACHE_TTL=60 # seconds\n' >"$dir/common.env"

{
  cat <<'EOF'
name: ${PROJECT:-Bench_Stack}

x-common: &common
  restart: unless-stopped
  env_file: common.env
  environment: &common-env
    LOG_LEVEL: ${LOG_LEVEL:-warn}
    REGION: ${REGION-us-east-1}
    TRACE: "${TRACE:-false}"
  logging:
    driver: json-file
  networks: [back]

x-health: &health
  interval: ${HC_INTERVAL:-5s}
  timeout: 3s
  retries: 5
  start_period: 10s

services:
EOF
  for i in $(seq 1 $((n - 1))); do
    case $((i % 3)) in
      0) source="    image: registry.example.com/svc-$i:\${TAG:-latest}" ;;
      1) source=$'    build:\n      context: ./api\n      args:\n        - BASE=scratch\n        - VERSION=${TAG}' ;;
      2) source=$'    build:\n      context: worker\n      dockerfile: Dockerfile\n      args: { WORKERS: 4 }' ;;
    esac
    cat <<EOF
  svc_$i:
    <<: *common
$source
    command: serve --port 80$((i % 10)) --name svc-$i
    environment:
      <<: *common-env
      SERVICE_NAME: svc-$i
      PEER_URL: http://svc_$(((i % (n - 1)) + 1)):80$(((i + 1) % 10))
      DB_URL: postgres://app:\${DB_PASSWORD:-dev}@db:5432/svc_$i
      FEATURE_$i: "on"
    ports:
      - "80$((i % 10))"
      - "127.0.0.1:$((20000 + i)):9$((100 + i))"
      - target: $((7000 + i))
        published: "$((30000 + i))"
        protocol: tcp
    expose: ["$((6000 + i))"]
    healthcheck:
      <<: *health
      test: ["CMD-SHELL", "curl -fsS http://localhost:80$((i % 10))/health || exit 1"]
    volumes:
      - data-$i:/var/lib/svc
EOF
    if [ $((i % 5)) = 0 ]; then
      echo "    depends_on: [svc_$((i - 1))]"
    fi
  done
  echo "  app:"
  echo "    build: ./api"
  echo "    ports: [\"8080:8080\"]"
  echo "    healthcheck:"
  echo "      test: [\"CMD\", \"wget\", \"-qO-\", \"http://localhost:8080/healthz\"]"
  echo "    depends_on:"
  for i in $(seq 1 $((n - 1))); do
    echo "      svc_$i: { condition: service_healthy }"
  done
  echo "volumes:"
  for i in $(seq 1 $((n - 1))); do echo "  data-$i: {}"; done
  echo "networks:"
  echo "  back: {}"
} >"$dir/compose.yaml"

lines="$(wc -l <"$dir/compose.yaml")"
times=()
for _ in $(seq "$rounds"); do
  start="$(date +%s.%N)"
  "$bin" import compose "$dir/compose.yaml" -o "$dir/sandbox.yaml" --force 2>"$dir/report"
  end="$(date +%s.%N)"
  times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }')")
done
"$bin" validate -f "$dir/sandbox.yaml" >/dev/null

median="$(printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) printf "%.4f", v[(NR + 1) / 2]; else printf "%.4f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
entries="$(grep -c '^  [a-z0-9-]*:$' "$dir/sandbox.yaml" || true)"
listed="$(grep -c 'compose.yaml:[0-9]*: ' "$dir/report" || true)"
echo "import of $n services ($lines lines): median ${median}s over $rounds rounds (min $(printf '%s\n' "${times[@]}" | sort -g | head -1)s, max $(printf '%s\n' "${times[@]}" | sort -g | tail -1)s); $((entries + 1)) entries written, $listed report lines"
awk -v m="$median" 'BEGIN { exit !(m < 1.0) }' || { echo "too slow: the import must take under 1 s" >&2; exit 1; }
