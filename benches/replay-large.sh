#!/usr/bin/env bash
# Replaying a large recording: `sandbox up` of a sandbox whose dependency
# replays a recording of 10 answers of 50 MB each (500 MB of bodies, as
# files beside the recording), against the same sandbox replaying a
# recording of 10 small answers, measured in the same run. Rounds
# alternate between the two.
#
#   up       `sandbox up` wall time, large / small (goal: up <= 2 s)
#   cli      the CLI's peak memory during `up` (max RSS; goal <= 64 MiB)
#   agent    the agent container's peak memory (VmHWM) after `up` and after
#            fetching one 50 MB answer (goal <= 64 MiB)
#
#   benches/replay-large.sh [--rounds R]
# SANDBOX_BIN (default target/release/sandbox); needs /usr/bin/time, jq, curl.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    -r | --rounds) ROUNDS="$2"; shift ;;
    --rounds=*) ROUNDS="${1#*=}" ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

bench_init
need_sandbox
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (Debian: time)"
command -v jq >/dev/null || die "jq is needed"
build_bench_image

ANSWERS=10
BODY_MB=50

# make_sandbox KIND: a sandbox folder whose `api` replays a recording of
# $ANSWERS answers, large (body files) or small (inline bodies).
make_sandbox() {
  local kind="$1" dir="$BENCH_TMP/$1" name="bench-replay-$1-$BENCH_ID"
  mkdir -p "$dir/recordings/bodies"
  {
    write_manifest_head "$name"
    printf '  api:\n    replay: recordings/api.yaml\n'
  } >"$dir/sandbox.yaml"
  {
    printf 'version: 1\ninteractions:\n'
    for i in $(seq 1 "$ANSWERS"); do
      printf -- '- request:\n    method: GET\n    path: /big/%s\n  response:\n    status: 200\n' "$i"
      printf '    headers:\n      content-type: application/octet-stream\n'
      if [ "$kind" = large ]; then
        head -c $((BODY_MB * 1000 * 1000)) /dev/urandom >"$dir/recordings/bodies/partial"
        sha="$(sha256sum "$dir/recordings/bodies/partial" | cut -d' ' -f1)"
        mv "$dir/recordings/bodies/partial" "$dir/recordings/bodies/$sha"
        printf '    body_file: bodies/%s\n' "$sha"
      else
        printf '    body: small answer %s\n' "$i"
      fi
    done
  } >"$dir/recordings/api.yaml"
  SANDBOX_NAMES+=("$dir/sandbox.yaml|$name")
  echo "$dir|$name"
}

log "writing a recording of $ANSWERS x $BODY_MB MB and one of $ANSWERS small answers"
LARGE="$(make_sandbox large)"
SMALL="$(make_sandbox small)"
log "recording sizes: large $(du -sh "$BENCH_TMP/large/recordings" | cut -f1) (YAML $(stat -c %s "$BENCH_TMP/large/recordings/api.yaml") bytes), small $(stat -c %s "$BENCH_TMP/small/recordings/api.yaml") bytes"

# The agent container's peak memory: the largest VmHWM of its first process
# (an init, when the engine adds one) and that process's children.
hwm_kib() {
  local p
  for p in "$1" $(pgrep -P "$1" || true); do
    awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true
  done | sort -n | tail -1
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# one_round DIR NAME: prints "up_seconds cli_kib agent_kib agent_after_fetch_kib"
one_round() {
  local dir="$1" name="$2" start end cli agent pid url after
  start="$(now)"
  /usr/bin/time -f '%M' -o "$BENCH_TMP/time.out" \
    "$SANDBOX_BIN" up -f "$dir/sandbox.yaml" --name "$name" >>"$BENCH_LOG" 2>&1 \
    || { tail -20 "$BENCH_LOG" >&2; die "sandbox up failed ($dir)"; }
  end="$(now)"
  cli="$(tail -1 "$BENCH_TMP/time.out")"
  pid="$(docker inspect -f '{{.State.Pid}}' \
    "$(docker ps -q --filter "label=dev.sandbox.name=$name" --filter label=dev.sandbox.role=agent --filter label=dev.sandbox.kind=agent | head -1)")"
  agent="$(hwm_kib "$pid")"
  url="$("$SANDBOX_BIN" status -f "$dir/sandbox.yaml" --name "$name" --json | jq -r '.entries[] | select(.name == "api") | .host_url')"
  curl -fsS -o /dev/null "$url/big/1" || die "replay did not answer $url/big/1"
  after="$(hwm_kib "$pid")"
  "$SANDBOX_BIN" down -f "$dir/sandbox.yaml" --name "$name" >>"$BENCH_LOG" 2>&1 || true
  echo "$(elapsed "$start" "$end") $cli $agent $after"
}

UP_L=() UP_S=() CLI_L=() CLI_S=() AG_L=() AG_S=() AF_L=() AF_S=()
for round in $(seq 1 "$ROUNDS"); do
  read -r up cli agent after < <(one_round "${SMALL%%|*}" "${SMALL#*|}")
  UP_S+=("$up") CLI_S+=("$cli") AG_S+=("$agent") AF_S+=("$after")
  read -r up cli agent after < <(one_round "${LARGE%%|*}" "${LARGE#*|}")
  UP_L+=("$up") CLI_L+=("$cli") AG_L+=("$agent") AF_L+=("$after")
  log "round $round: up small ${UP_S[-1]} s, large ${UP_L[-1]} s"
done

MED_UP_L="$(median "${UP_L[@]}")" MED_UP_S="$(median "${UP_S[@]}")"
echo "replay of $ANSWERS x $BODY_MB MB (bodies as files) vs $ANSWERS small answers, $ROUNDS rounds"
echo "sandbox up: large ${UP_L[*]} s / small ${UP_S[*]} s; median $MED_UP_L s vs $MED_UP_S s = $(ratio "$MED_UP_L" "$MED_UP_S")x (goal: <= 2 s)"
echo "CLI peak RSS during up: large $(mib "$(median "${CLI_L[@]}")") MiB, small $(mib "$(median "${CLI_S[@]}")") MiB (goal <= 64 MiB)"
echo "agent peak after up: large $(mib "$(median "${AG_L[@]}")") MiB, small $(mib "$(median "${AG_S[@]}")") MiB; after one 50 MB answer: large $(mib "$(median "${AF_L[@]}")") MiB (goal <= 64 MiB)"
echo "RESULT replay-large rounds=$ROUNDS up_large=$MED_UP_L up_small=$MED_UP_S ratio_up=$(ratio "$MED_UP_L" "$MED_UP_S") cli_large_kib=$(median "${CLI_L[@]}") agent_large_kib=$(median "${AF_L[@]}")"
