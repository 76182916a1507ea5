# Sourced by the scripts that drive the real binary from outside
# (bench-http.sh, schemathesis.sh): a work folder that goes away on
# exit, and `authusers serve` (from $binary, with the caller's environment)
# on a free port, its log in the work folder.
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

# start_server NAME: serves, sets $server and $port; the log is $work/NAME.log.
start_server() {
    LOG_FORMAT=json RUST_LOG="${RUST_LOG:-warn},authusers_api_actix::cli=info" AUTHUSERS_PORT=0 \
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
