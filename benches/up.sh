#!/usr/bin/env bash
# Time to all-healthy: 1 service + N real-container dependencies (shopd
# fixtures with HTTP health checks), `sandbox up` versus `docker-compose up`.
#
#   benches/up.sh [N] [--rounds R] [--growth] [--sandbox-only|--compose-only] [--no-warmup]
#
# N defaults to 20, R to 3 (env ROUNDS). The tools alternate round by round;
# one untimed warm-up round each comes first (WARMUP=0 skips it). Also timed:
# a second `sandbox up` on the unchanged running sandbox, and both downs.
# --growth adds a series of up times for N = 5, 10, 20, 50 (GROWTH="5 10").
# SANDBOX_BIN (default target/release/sandbox), COMPOSE (docker-compose),
# KEEP_IMAGE=1 keeps the image sandbox-bench-shopd:latest afterwards.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

n=20 growth=0
while [ $# -gt 0 ]; do
  case "$1" in
    -r | --rounds) ROUNDS="$2"; shift ;;
    --rounds=*) ROUNDS="${1#*=}" ;;
    --growth) growth=1 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) parse_common_flag "$1" || { [[ "$1" =~ ^[0-9]+$ ]] && n="$1"; } || { echo "unknown argument: $1" >&2; exit 2; } ;;
  esac
  shift
done

bench_init
run_sandbox && need_sandbox
build_bench_image
log "benches/up.sh: 1 service + $n real dependencies, $ROUNDS rounds ($SIDES; compose: $($COMPOSE version --short 2>/dev/null || echo '?'), $(compose_has_wait && echo 'up --wait' || echo 'up -d, then polling docker inspect health'))"

compare real "$n" "up$n"
main_s_up="$MED_S_UP" main_c_up="$MED_C_UP"
echo
print_summary "1 svc + $n deps"
echo "RESULT up n=$n rounds=$ROUNDS sandbox_up=$MED_S_UP sandbox_up_again=$MED_S_RE sandbox_down=$MED_S_DOWN compose_up=$MED_C_UP compose_down=$MED_C_DOWN ratio_up=$(ratio "$MED_S_UP" "$MED_C_UP")"

if [ "$growth" = 1 ]; then
  echo
  printf '%-10s %10s %10s %10s\n' "growth N" "sandbox up" "compose up" ratio
  for g in ${GROWTH:-5 10 20 50}; do
    if [ "$g" = "$n" ]; then
      g_s="$main_s_up" g_c="$main_c_up"   # measured above
    else
      compare real "$g" "grow$g"
      g_s="$MED_S_UP" g_c="$MED_C_UP"
    fi
    printf '%-10s %10s %10s %10s\n' "$g" "$g_s" "$g_c" "$(ratio "$g_s" "$g_c")"
    echo "RESULT growth n=$g sandbox_up=$g_s compose_up=$g_c" >>"$BENCH_TMP/growth"
  done
  cat "$BENCH_TMP/growth"
fi
