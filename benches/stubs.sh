#!/usr/bin/env bash
# Time to all-healthy: 1 service + N stub dependencies (default 20). The
# sandbox side declares N `stub:` dependencies with one route each; the
# compose side stands in for them with N small HTTP containers (shopd
# fixtures with healthchecks), since compose has no stubs of its own.
#
#   benches/stubs.sh [N] [--rounds R] [--sandbox-only|--compose-only] [--no-warmup]
#
# Same method and environment variables as benches/up.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

n=20
while [ $# -gt 0 ]; do
  case "$1" in
    -r | --rounds) ROUNDS="$2"; shift ;;
    --rounds=*) ROUNDS="${1#*=}" ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) parse_common_flag "$1" || { [[ "$1" =~ ^[0-9]+$ ]] && n="$1"; } || { echo "unknown argument: $1" >&2; exit 2; } ;;
  esac
  shift
done

bench_init
run_sandbox && need_sandbox
build_bench_image
log "benches/stubs.sh: 1 service + $n stubs, $ROUNDS rounds ($SIDES; compose: $($COMPOSE version --short 2>/dev/null || echo '?'))"

compare stub "$n" "stubs$n"
echo
print_summary "1 svc + $n stubs"
echo "RESULT stubs n=$n rounds=$ROUNDS sandbox_up=$MED_S_UP sandbox_up_again=$MED_S_RE sandbox_down=$MED_S_DOWN compose_up=$MED_C_UP compose_down=$MED_C_DOWN ratio_up=$(ratio "$MED_S_UP" "$MED_C_UP")"
