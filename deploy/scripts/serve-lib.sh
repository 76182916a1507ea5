# Sourced by the scripts that drive the real binary from outside
# (bench-http.sh, bench-login-storm.sh, schemathesis.sh): a work folder that
# goes away on exit, `authusers serve` (from $binary, with the caller's
# environment) on a free port, its log in the work folder, and a run on
# each backend.
work="$(mktemp -d)"
server=""
port=""

stop_server() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=""
    fi
}

cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT

# on_each_backend FUNCTION WHAT: FUNCTION sqlite URL on a fresh SQLite file,
# then FUNCTION postgres URL on a fresh PostgreSQL database, dropped after,
# when a server is reachable; otherwise it says WHAT was skipped.
# BENCH_BACKENDS (default "sqlite postgres") may name one of them.
on_each_backend() {
    local run="$1" what="$2" pg_url database backends="${BENCH_BACKENDS:-sqlite postgres}"
    case "$backends" in *sqlite*) "$run" sqlite "sqlite://$work/$run.db" ;; esac
    case "$backends" in *postgres*) ;; *) return 0 ;; esac
    pg_url="$(CI= deploy/scripts/postgres-for-tests.sh)"
    if [ -n "$pg_url" ] && command -v psql >/dev/null 2>&1; then
        database="authusers_${run}_$$"
        psql -q "$pg_url" -c "CREATE DATABASE $database" >/dev/null
        "$run" postgres "${pg_url%/*}/$database"
        psql -q "$pg_url" -c "DROP DATABASE $database WITH (FORCE)" >/dev/null
    else
        echo "postgres: $what skipped (no PostgreSQL server or no psql)"
    fi
}

# start_server NAME: serves, sets $server and $port; the log is $work/NAME.log.
start_server() {
    LOG_FORMAT=json RUST_LOG="${RUST_LOG:-info}" AUTHUSERS_PORT=0 \
        "$binary" serve >"$work/$1.log" 2>&1 &
    server=$!
    port=""
    for _ in $(seq 1 100); do
        port="$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$work/$1.log" | head -n 1)"
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    echo "$1: the server did not start" >&2
    cat "$work/$1.log" >&2
    exit 1
}
