# Shared by the benchmarks that run the agent on the host beside nginx
# (benches/agent.sh, benches/faults.sh): the tools, a work folder removed on
# exit with every process started here (stopped by PID), a small static
# file, and nginx serving it. Source it, then call `host_init` and
# `start_nginx`.

need() {
    if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$1" ]; then
        echo "installing $1 ..." >&2
        if [ "$(id -u)" = 0 ]; then apt-get install -y "$1" >/dev/null; else sudo apt-get install -y "$1" >/dev/null; fi
    fi
}

# The same small body everywhere.
BODY='hello from the sandbox benchmark'

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}

# Installs wrk, nginx and curl when missing; makes $WORK with $WORK/www/hello.txt.
host_init() {
    need wrk
    need nginx
    need curl
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    WORK=$(mktemp -d)
    PIDS=()
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$WORK/www" "$WORK/nginx"
    printf '%s\n' "$BODY" >"$WORK/www/hello.txt"
    # nginx workers run as an unprivileged user when started as root.
    chmod 755 "$WORK" "$WORK/www"
    chmod 644 "$WORK/www/hello.txt"
}

# start_nginx WORKERS STATIC_PORT [EXTRA_HTTP_CONFIG]: nginx, non-daemon,
# serving $WORK/www on 127.0.0.1:STATIC_PORT, plus whatever the extra
# configuration adds inside `http { }`.
start_nginx() {
    local workers=$1 static_port=$2 extra=${3:-}
    cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes $workers;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$static_port;
        root $WORK/www;
        default_type text/plain;
    }
$extra
}
CONF
    "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
    PIDS+=($!)
}
