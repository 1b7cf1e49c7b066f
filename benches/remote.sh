#!/usr/bin/env bash
# A remote engine against the local one, same run: a second dockerd in its
# own network namespace (its published ports are not on our loopback, as
# with an engine on another host), reached over its unix socket and over
# ssh (sshd in that namespace, over a veth pair).
#
#   up:      `up` of a service and 20 stubbed dependencies: ratio
#            remote/local, over unix://, over ssh:// and over tcp:// with
#            TLS (median of --rounds).
#   rps:     throughput (wrk, GET /healthz) through the forwarded host URL
#            of the remote sandbox, over unix:// (the forwarder's exec path),
#            over tcp:// with TLS (the same path over a TLS connection) and
#            over ssh:// (ssh port forwarding), against the same entry's URL
#            on the local engine: the four in turn, median of --rounds.
#   context: a 50 MB build context: `up` of one service whose context holds
#            50 MB of random bytes, minus the same `up` without them, over
#            ssh:// and on the local engine's unix socket.
#
#   benches/remote.sh [--rounds R] [--duration 10s] [--connections 16]
#                     [--parts up,rps,context]
#
# Needs root, iproute2, openssh-server (sshd with its default settings),
# openssl, wrk. SANDBOX_BIN as for the other benchmarks (default
# target/release/sandbox); SKIP_SSH=1 leaves ssh out.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${SANDBOX_BIN:-$ROOT/target/release/sandbox}"
ROUNDS=3
DURATION=10s
CONNECTIONS=16
PARTS=up,rps,context
while [ $# -gt 0 ]; do
  case "$1" in
    -r | --rounds) ROUNDS="$2"; shift ;;
    --duration) DURATION="$2"; shift ;;
    --connections) CONNECTIONS="$2"; shift ;;
    --parts) PARTS="$2"; shift ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$BIN" ] || { echo "error: no sandbox binary at $BIN" >&2; exit 1; }
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null

ID=$$
NS="sbxbench$ID"
VETH="sbxb$ID"
DIR="$(mktemp -d /tmp/sandbox-bench-remote.XXXXXX)"
UNIX_HOST="unix://$DIR/docker.sock"
SSH_HOST="ssh://root@10.213.0.2"
TLS_HOST="tcp://10.213.0.2:2376"
# Only a tcp:// engine reads these.
export DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$DIR/tls-client"
export SANDBOX_SSH_ARGS="-i $DIR/client -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no"
log() { printf '%s\n' "$*" >&2; }
now() { date +%s.%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

cleanup() {
  set +e
  for h in "$UNIX_HOST" "$TLS_HOST" ""; do
    for n in "bench-$ID" "bench-big-$ID" "bench-small-$ID" "bench-u-$ID" "bench-s-$ID" "bench-t-$ID"; do
      DOCKER_HOST="$h" "$BIN" down --name "$n" >/dev/null 2>&1
    done
  done
  [ -f "$DIR/sshd.pid" ] && kill "$(cat "$DIR/sshd.pid")"
  if [ -f "$DIR/docker.pid" ]; then
    pid="$(cat "$DIR/docker.pid")"
    kill "$pid"
    for _ in $(seq 1 100); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
  fi
  ip link del "$VETH" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting a Docker engine in network namespace $NS ..."
ip netns add "$NS"
ip -n "$NS" link set lo up
echo '{"bridge": "none", "iptables": false, "ip6tables": false}' >"$DIR/daemon.json"
# Certificates as Docker's guide to protecting the daemon socket makes them.
mkdir -p "$DIR/tls-server" "$DIR/tls-client"
(
  cd "$DIR"
  printf 'subjectAltName = IP:10.213.0.2\nextendedKeyUsage = serverAuth\n' >server.cnf
  echo 'extendedKeyUsage = clientAuth' >client.cnf
  openssl genrsa -out tls-server/ca-key.pem 2048
  openssl req -new -x509 -days 2 -key tls-server/ca-key.pem -sha256 -subj "/CN=bench CA" -out tls-server/ca.pem
  openssl genrsa -out tls-server/key.pem 2048
  openssl req -subj /CN=engine -sha256 -new -key tls-server/key.pem -out server.csr
  openssl x509 -req -days 2 -sha256 -in server.csr -CA tls-server/ca.pem -CAkey tls-server/ca-key.pem \
    -CAcreateserial -out tls-server/cert.pem -extfile server.cnf
  openssl genrsa -out tls-client/key.pem 2048
  openssl req -subj /CN=client -new -key tls-client/key.pem -out client.csr
  openssl x509 -req -days 2 -sha256 -in client.csr -CA tls-server/ca.pem -CAkey tls-server/ca-key.pem \
    -CAcreateserial -out tls-client/cert.pem -extfile client.cnf
  cp tls-server/ca.pem tls-client/ca.pem
) >/dev/null 2>&1
setsid nsenter --net="/var/run/netns/$NS" dockerd --config-file "$DIR/daemon.json" \
  -H "$UNIX_HOST" -H tcp://0.0.0.0:2376 --tlsverify --tlscacert "$DIR/tls-server/ca.pem" \
  --tlscert "$DIR/tls-server/cert.pem" --tlskey "$DIR/tls-server/key.pem" \
  --data-root "$DIR/data" --exec-root "$DIR/exec" \
  --pidfile "$DIR/docker.pid" >"$DIR/dockerd.log" 2>&1 </dev/null &
for _ in $(seq 1 300); do [ -S "$DIR/docker.sock" ] && break; sleep 0.1; done

log "starting sshd in the namespace ..."
ip link add "$VETH" type veth peer name "${VETH}p"
ip link set "${VETH}p" netns "$NS"
ip addr add 10.213.0.1/30 dev "$VETH"
ip link set "$VETH" up
ip -n "$NS" addr add 10.213.0.2/30 dev "${VETH}p"
ip -n "$NS" link set "${VETH}p" up
ssh-keygen -q -t ed25519 -N '' -f "$DIR/host"
ssh-keygen -q -t ed25519 -N '' -f "$DIR/client"
cp "$DIR/client.pub" "$DIR/authorized_keys"
cat >"$DIR/sshd_config" <<EOF
ListenAddress 10.213.0.2:22
HostKey $DIR/host
AuthorizedKeysFile $DIR/authorized_keys
PidFile $DIR/sshd.pid
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
SetEnv DOCKER_HOST=$UNIX_HOST
EOF
mkdir -p /run/sshd
nsenter --net="/var/run/netns/$NS" /usr/sbin/sshd -f "$DIR/sshd_config"

# The manifests: a service built from shopd with 20 stubbed dependencies;
# one service alone, with and without 50 MB in its build context.
SHOPD="$("$ROOT/sandboxes/shop/build-app" | tail -1)"
app() {
  mkdir -p "$1"
  cp "$SHOPD" "$1/shopd"
  printf 'FROM scratch\nCOPY shopd /shopd\nENTRYPOINT ["/shopd"]\n' >"$1/Dockerfile"
}
service() {
  cat <<YAML
version: 1
service:
  name: svc
  build: ./app
  command: ["/shopd", "fixture", "--port", "8080"]
  ports: { http: 8080 }
  health: { http: /healthz, contains: ok, timeout: 120s }
YAML
}
mkdir -p "$DIR/wide" "$DIR/big" "$DIR/small"
app "$DIR/wide/app"; app "$DIR/big/app"; app "$DIR/small/app"
head -c 50000000 /dev/urandom >"$DIR/big/app/blob"
{
  service
  echo "dependencies:"
  for i in $(seq 1 20); do
    printf '  dep%s:\n    stub:\n      routes:\n        - match: { method: GET, path: /x }\n          respond: { status: 200, json: { from: dep%s } }\n' "$i" "$i"
  done
} >"$DIR/wide/sandbox.yaml"
service >"$DIR/big/sandbox.yaml"
service >"$DIR/small/sandbox.yaml"

# up_time HOST DIR NAME: seconds `up` takes (then `down`, untimed).
up_time() {
  local t0 t1
  t0="$(now)"
  if ! DOCKER_HOST="$1" timeout 150 "$BIN" up -f "$2/sandbox.yaml" --name "$3" >"$DIR/up.out" 2>&1; then
    log "up on ${1:-the local engine} failed:"; tail -5 "$DIR/up.out" >&2; echo nan; return
  fi
  t1="$(now)"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
down() { DOCKER_HOST="$1" "$BIN" down --name "$2" >/dev/null 2>&1; }

part() { case ",$PARTS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
ssh_too() { [ -z "${SKIP_SSH:-}" ]; }
L=nan U=nan S=nan T=nan
if part up; then
  log "warming up (images built once per engine) ..."
  for h in "" "$UNIX_HOST"; do up_time "$h" "$DIR/wide" "bench-$ID" >/dev/null; down "$h" "bench-$ID"; done
  : >"$DIR/local"; : >"$DIR/unix"; : >"$DIR/ssh"; : >"$DIR/tls"
  for r in $(seq 1 "$ROUNDS"); do
    log "round $r/$ROUNDS: up of 1 + 20 dependencies, local, unix://, tcp:// with TLS, ssh:// ..."
    up_time "" "$DIR/wide" "bench-$ID" >>"$DIR/local"; down "" "bench-$ID"
    up_time "$UNIX_HOST" "$DIR/wide" "bench-$ID" >>"$DIR/unix"; down "$UNIX_HOST" "bench-$ID"
    up_time "$TLS_HOST" "$DIR/wide" "bench-$ID" >>"$DIR/tls"; down "$TLS_HOST" "bench-$ID"
    if ssh_too; then
      up_time "$SSH_HOST" "$DIR/wide" "bench-$ID" >>"$DIR/ssh"; down "$SSH_HOST" "bench-$ID"
    fi
  done
  L="$(median <"$DIR/local")"; U="$(median <"$DIR/unix")"; S="$(median <"$DIR/ssh")"; S="${S:-nan}"
  T="$(median <"$DIR/tls")"
fi

# The throughput part keeps one one-service sandbox up per link (local,
# unix://, ssh://) and measures them in turn, --rounds times: medians.
rps_up() {
  DOCKER_HOST="$1" "$BIN" up -f "$DIR/small/sandbox.yaml" --name "$2" >/dev/null 2>&1 || {
    log "up of $2 on ${1:-the local engine} failed"; return 1; }
  DOCKER_HOST="$1" "$BIN" status --name "$2" --json |
    sed -n 's/.*"host_url": *"\([^"]*\)".*/\1/p' | head -1
}
wrk_rps() { wrk -t2 -c"$CONNECTIONS" -d "$DURATION" "$1/healthz" | awk '/Requests\/sec/ { print $2 }'; }
RL=nan RU=nan RS=nan RT=nan
if part rps; then
  log "throughput through the forwarded URL ($DURATION, $CONNECTIONS connections, median of $ROUNDS): local, unix://, tcp:// with TLS, ssh:// ..."
  UL="$(rps_up "" "bench-small-$ID")"
  UU="$(rps_up "$UNIX_HOST" "bench-u-$ID")"
  UT="$(rps_up "$TLS_HOST" "bench-t-$ID")"
  US=""
  if ssh_too; then US="$(rps_up "$SSH_HOST" "bench-s-$ID")"; fi
  : >"$DIR/rl"; : >"$DIR/ru"; : >"$DIR/rs"; : >"$DIR/rt"
  for r in $(seq 1 "$ROUNDS"); do
    wrk_rps "$UL" >>"$DIR/rl"
    wrk_rps "$UU" >>"$DIR/ru"
    wrk_rps "$UT" >>"$DIR/rt"
    if [ -n "$US" ]; then wrk_rps "$US" >>"$DIR/rs"; fi
    log "round $r/$ROUNDS: local $(tail -1 "$DIR/rl"), unix:// $(tail -1 "$DIR/ru"), tcp:// TLS $(tail -1 "$DIR/rt"), ssh:// $(tail -1 "$DIR/rs" 2>/dev/null)"
  done
  RL="$(median <"$DIR/rl")"; RU="$(median <"$DIR/ru")"; RS="$(median <"$DIR/rs")"; RS="${RS:-nan}"
  RT="$(median <"$DIR/rt")"
  down "" "bench-small-$ID"; down "$UNIX_HOST" "bench-u-$ID"; down "$TLS_HOST" "bench-t-$ID"
  if ssh_too; then down "$SSH_HOST" "bench-s-$ID"; fi
fi

BIG=nan SMALL=nan LBIG=nan LSMALL=nan
if part context; then
  log "a 50 MB build context, on the local engine and over ssh ..."
  LBIG="$(up_time "" "$DIR/big" "bench-big-$ID")"; down "" "bench-big-$ID"
  LSMALL="$(up_time "" "$DIR/small" "bench-small-$ID")"; down "" "bench-small-$ID"
  if ssh_too; then
    BIG="$(up_time "$SSH_HOST" "$DIR/big" "bench-big-$ID")"; down "$SSH_HOST" "bench-big-$ID"
    SMALL="$(up_time "$SSH_HOST" "$DIR/small" "bench-small-$ID")"; down "$SSH_HOST" "bench-small-$ID"
  fi
fi
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }

part up && printf '\nup, 1 + 20 dependencies (median of %s): local %ss, unix:// %ss (%sx), tcp:// TLS %ss (%sx), ssh:// %ss (%sx)\n' \
  "$ROUNDS" "$L" "$U" "$(ratio "$U" "$L")" "$T" "$(ratio "$T" "$L")" "$S" "$(ratio "$S" "$L")"
part rps && printf 'GET /healthz through the forwarder: unix:// %s req/s (%sx), tcp:// TLS %s req/s (%sx), ssh:// %s req/s (%sx), local engine %s req/s\n' \
  "$RU" "$(ratio "$RU" "$RL")" "$RT" "$(ratio "$RT" "$RL")" "$RS" "$(ratio "$RS" "$RL")" "$RL"
part context && printf '50 MB build context: ssh:// up %ss against %ss without it (+%ss); local unix socket %ss against %ss (+%ss); ratio %sx\n' \
  "$BIG" "$SMALL" "$(minus "$BIG" "$SMALL")" "$LBIG" "$LSMALL" "$(minus "$LBIG" "$LSMALL")" \
  "$(ratio "$(minus "$BIG" "$SMALL")" "$(minus "$LBIG" "$LSMALL")")"
exit 0
