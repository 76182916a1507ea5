#!/usr/bin/env bash
# The production topology on one machine, on loopback, with its own ports and
# data folders (docs/deploying.md draws it):
#
#   clients -> HAProxy :API_PORT -> authusers serve x N (replicas)
#                                       |
#              HAProxy :DB_PORT  <------+  (to the Patroni leader)
#                 |
#        Patroni pg1 / pg2 (PostgreSQL 15, leader + synchronous standby)
#                 |
#               etcd (the DCS Patroni elects its leader in)
#
# deploy/cluster/cluster.sh up [N] | down | status [--json] | kill-replica I |
#     start-replica I | kill-primary [--postgres-only] | rolling-restart | heal
#
# Runs as root (it installs haproxy, patroni, etcd-server and PostgreSQL 15
# when they are missing, and runs PostgreSQL and Patroni as `postgres`).
# Environment: CLUSTER_DIR (/var/tmp/authusers-cluster), CLUSTER_BASE_PORT
# (17000: the API on +80, the database through HAProxy on +500, replicas from
# +101, PostgreSQL on +432 and +433, Patroni's REST API on +8 and +9, etcd on
# +379 and +380, HAProxy's statistics on +404), AUTHUSERS_BINARY (the release
# build, else the debug one), SHUTDOWN_DRAIN_SECONDS (3).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${CLUSTER_DIR:-/var/tmp/authusers-cluster}"
base="${CLUSTER_BASE_PORT:-17000}"
api_port=$((base + 80))
db_port=$((base + 500))
stats_port=$((base + 404))
etcd_port=$((base + 379))
etcd_peer_port=$((base + 380))
replica_port() { echo $((base + 100 + $1)); }
pg_port() { echo $((base + 431 + $1)); }
rest_port() { echo $((base + 7 + $1)); }
drain="${SHUTDOWN_DRAIN_SECONDS:-3}"
pg_bin="/usr/lib/postgresql/15/bin"
admin_email="admin@example.com"
admin_password="${CLUSTER_ADMIN_PASSWORD:-tangerine-orbit-77}"
database="authusers"

say() { echo "cluster: $*" >&2; }
fail() {
    say "$*"
    exit 1
}

binary() {
    local candidate
    for candidate in "${AUTHUSERS_BINARY:-}" "$repo/${CARGO_TARGET_DIR:-target}/release/authusers" \
        "$repo/${CARGO_TARGET_DIR:-target}/debug/authusers"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] && { echo "$candidate"; return 0; }
    done
    fail "no authusers binary: build it (cargo build --release) or set AUTHUSERS_BINARY"
}

need_root() {
    [ "$(id -u)" = 0 ] || fail "run me as root: I install packages and run PostgreSQL as the postgres user"
}

# install: the Debian packages, when a command is missing.
install() {
    local missing=()
    command -v haproxy >/dev/null || missing+=(haproxy)
    command -v patroni >/dev/null || missing+=(patroni python3-psycopg2)
    command -v etcd >/dev/null || missing+=(etcd-server)
    [ -x "$pg_bin/postgres" ] || missing+=(postgresql-15)
    command -v curl >/dev/null || missing+=(curl)
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    # Once more after refreshing the package lists, which a new machine
    # may not have.
    if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" ||
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; }; } \
        >"$dir.apt.log" 2>&1; then
        rm -rf "$dir"
        fail "cannot install ${missing[*]} (apt-get's output: $dir.apt.log)"
    fi
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "$dir/run/$1.pid" 2>/dev/null || true; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for WHAT SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
    local what="$1" seconds="$2"
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || fail "$what did not come up within ${seconds}s (logs: $dir/log)"
        sleep 0.2
    done
}

# start NAME USER COMMAND...: in the background, detached, its log and pid
# kept under $dir.
start() {
    local name="$1" user="$2"
    shift 2
    if [ "$user" = root ]; then
        setsid "$@" >>"$dir/log/$name.log" 2>&1 </dev/null &
    else
        # setpriv runs the command in its place, so that $! is its pid.
        setsid setpriv --reuid="$user" --regid="$user" --init-groups -- "$@" \
            >>"$dir/log/$name.log" 2>&1 </dev/null &
    fi
    echo $! >"$dir/run/$name.pid"
}

patroni_config() {
    local node="$1" pg rest
    pg="$(pg_port "$node")"
    rest="$(rest_port "$node")"
    cat <<YAML
scope: authusers
namespace: /authusers-cluster/
name: pg$node
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd:
  host: 127.0.0.1:$etcd_port
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        max_connections: 200
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $dir/pg$node
  bin_dir: $pg_bin
  pgpass: $dir/run/pgpass$node
  authentication:
    superuser:
      username: postgres
    replication:
      username: replicator
    rewind:
      username: postgres
  parameters:
    unix_socket_directories: $dir/run
YAML
}

haproxy_config() {
    local replicas="$1" i
    cat <<CFG
global
    maxconn 4000
    pidfile $dir/run/haproxy.pid
    stats socket $dir/run/haproxy.sock mode 600 level admin

defaults
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 2s
    retries 3
    option redispatch 1

# The database: to the Patroni leader alone, as its REST API's /primary says.
listen postgres
    bind 127.0.0.1:$db_port
    mode tcp
    option httpchk GET /primary
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
    server pg1 127.0.0.1:$(pg_port 1) check port $(rest_port 1)
    server pg2 127.0.0.1:$(pg_port 2) check port $(rest_port 2)

# The API: to every replica whose /readyz passes; a connection refused is
# tried again on another one.
frontend api
    bind 127.0.0.1:$api_port
    mode http
    option forwardfor
    default_backend replicas

backend replicas
    mode http
    balance roundrobin
    retry-on conn-failure
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 1 rise 2
CFG
    for i in $(seq 1 "$replicas"); do
        echo "    server r$i 127.0.0.1:$(replica_port "$i") check"
    done
    cat <<CFG

listen stats
    bind 127.0.0.1:$stats_port
    mode http
    stats enable
    stats uri /
CFG
}

replica_env() {
    local i="$1"
    cat <<ENV
AUTHUSERS_ENV=production
AUTHUSERS_HOST=127.0.0.1
AUTHUSERS_PORT=$(replica_port "$i")
PUBLIC_URL=http://127.0.0.1:$api_port
DATABASE_URL=$(database_url)
DATABASE_POOL_SIZE=10
DATABASE_CONNECT_TIMEOUT_SECONDS=2
JWT_ALGORITHM=EdDSA
JWT_PRIVATE_KEY_FILE=$dir/jwt.pem
MFA_SECRET_KEY=$(cat "$dir/mfa.key")
PASSWORD_RESET_URL=http://127.0.0.1:$api_port/password/reset/confirm/{uid}/{token}
MAIL_TRANSPORT=file
MAIL_DIR=$dir/mail
TRUSTED_PROXIES=127.0.0.1
SHUTDOWN_DRAIN_SECONDS=$drain
LOG_FORMAT=json
BCRYPT_COST=${BCRYPT_COST:-10}
ENV
}

# The URL the replicas use: through HAProxy, or with CLUSTER_DATABASE_URL=
# multihost (at `up`) a libpq multi-host URL asking for the read-write node.
database_url() {
    if [ -f "$dir/run/database_url" ]; then
        cat "$dir/run/database_url"
    elif [ "${CLUSTER_DATABASE_URL:-haproxy}" = multihost ]; then
        echo "postgres://postgres@127.0.0.1:$(pg_port 1),127.0.0.1:$(pg_port 2)/$database?target_session_attrs=read-write&connect_timeout=2"
    else
        echo "postgres://postgres@127.0.0.1:$db_port/$database?connect_timeout=2"
    fi
}

start_replica() {
    local i="$1"
    replica_env "$i" >"$dir/run/r$i.env"
    # `env -i` so that nothing of the caller's environment leaks in.
    start "r$i" root env -i PATH="$PATH" $(cat "$dir/run/r$i.env") "$(binary)" serve --no-migrate
}

replica_ready() { curl -fsS -o /dev/null "http://127.0.0.1:$(replica_port "$1")/readyz"; }
leader_of() { curl -fsS -o /dev/null "http://127.0.0.1:$(rest_port "$1")/primary"; }
database_takes_writes() { psql_db postgres -c "SELECT NOT pg_is_in_recovery()" | grep -qx t; }

replica_count() { cat "$dir/run/replicas" 2>/dev/null || echo 0; }

cmd_up() {
    local replicas="${1:-3}" i p
    [[ "$replicas" =~ ^[1-9][0-9]?$ ]] || fail "up N: N is a number of replicas from 1 to 99, not '$replicas'"
    need_root
    [ ! -e "$dir/run" ] || fail "$dir is in use: run '$0 down' first"
    for p in "$etcd_port" "$etcd_peer_port" "$api_port" "$db_port" "$stats_port" \
        "$(pg_port 1)" "$(pg_port 2)" "$(rest_port 1)" "$(rest_port 2)" \
        $(for i in $(seq 1 "$replicas"); do replica_port "$i"; done); do
        port_free "$p" || fail "port $p is in use (set CLUSTER_BASE_PORT to move every port)"
    done
    mkdir -p "$dir"
    install
    local bin
    bin="$(binary)"
    mkdir -p "$dir/run" "$dir/log" "$dir/mail" "$dir/etcd"
    trap 'say "up failed: stopping what started"; cmd_down >/dev/null 2>&1 || true' ERR
    echo "$replicas" >"$dir/run/replicas"
    database_url >"$dir/run/database_url.new" && mv "$dir/run/database_url.new" "$dir/run/database_url"
    chown postgres:postgres "$dir" "$dir/run" "$dir/log"

    say "etcd on $etcd_port"
    start etcd root etcd --name etcd1 --data-dir "$dir/etcd" --enable-v2 \
        --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
        --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
        --initial-cluster "etcd1=http://127.0.0.1:$etcd_peer_port"
    wait_for etcd 30 curl -fsS "http://127.0.0.1:$etcd_port/health"

    for i in 1 2; do
        patroni_config "$i" >"$dir/run/patroni$i.yml"
        chown postgres:postgres "$dir/run/patroni$i.yml"
        say "Patroni pg$i: PostgreSQL on $(pg_port "$i"), REST on $(rest_port "$i")"
        start "patroni$i" postgres patroni "$dir/run/patroni$i.yml"
        [ "$i" = 1 ] && wait_for "the Patroni leader" 60 leader_of 1
    done

    haproxy_config "$replicas" >"$dir/run/haproxy.cfg"
    say "HAProxy: API on $api_port, database on $db_port, statistics on $stats_port"
    start haproxy root haproxy -W -db -f "$dir/run/haproxy.cfg"
    wait_for "the database through HAProxy" 30 database_takes_writes
    say "waiting for the synchronous standby"
    wait_for "the synchronous standby" 90 sync_standby_streaming

    psql_db postgres -c "CREATE DATABASE $database" >/dev/null
    "$bin" keys generate --algorithm EdDSA --out "$dir/jwt.pem" >/dev/null
    (umask 077 && head -c 32 /dev/urandom | base64 >"$dir/mfa.key")
    env -i PATH="$PATH" $(replica_env 1 | grep -v '^AUTHUSERS_PORT') "$bin" migrate >>"$dir/log/migrate.log" 2>&1 ||
        fail "authusers migrate failed (log: $dir/log/migrate.log)"
    env -i PATH="$PATH" $(replica_env 1) AUTHUSERS_ADMIN_PASSWORD="$admin_password" \
        "$bin" create-admin --email "$admin_email" >>"$dir/log/migrate.log" 2>&1 ||
        fail "create-admin failed (log: $dir/log/migrate.log)"

    for i in $(seq 1 "$replicas"); do
        start_replica "$i"
    done
    for i in $(seq 1 "$replicas"); do
        wait_for "replica $i" 60 replica_ready "$i"
    done
    wait_for "the API through HAProxy" 30 curl -fsS -o /dev/null "http://127.0.0.1:$api_port/readyz"
    trap - ERR
    say "up: the API is http://127.0.0.1:$api_port ($replicas replicas), administrator $admin_email"
}

psql_db() {
    local name="$1"
    shift
    psql -qtAX "postgres://postgres@127.0.0.1:$db_port/$name" "$@"
}

sync_standby_streaming() {
    curl -fsS "http://127.0.0.1:$(rest_port 1)/cluster" | grep -q '"role": *"sync_standby"' ||
        curl -fsS "http://127.0.0.1:$(rest_port 2)/cluster" | grep -q '"role": *"sync_standby"'
}

# stop_pid PID SIGNAL SECONDS: signal it, wait up to SECONDS, then SIGKILL.
stop_pid() {
    local pid="$1" signal="$2" seconds="$3" deadline
    pid_alive "$pid" || return 0
    kill "-$signal" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + seconds))
    while pid_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    while pid_alive "$pid"; do sleep 0.1; done
}

cmd_down() {
    need_root
    [ -d "$dir" ] || { say "down: nothing is up"; return 0; }
    local i name
    for i in $(seq 1 "$(replica_count)"); do
        stop_pid "$(pid_of "r$i")" TERM 1
    done
    stop_pid "$(pid_of haproxy)" TERM 5
    for i in 1 2; do
        stop_pid "$(pid_of "patroni$i")" TERM 30
    done
    # A PostgreSQL whose Patroni was killed outlives it: stop it too.
    for i in 1 2; do
        if [ -f "$dir/pg$i/postmaster.pid" ]; then
            stop_pid "$(head -n 1 "$dir/pg$i/postmaster.pid")" QUIT 10
        fi
    done
    stop_pid "$(pid_of etcd)" TERM 10
    for name in $(ls "$dir/run" 2>/dev/null | sed -n 's/\.pid$//p'); do
        stop_pid "$(pid_of "$name")" KILL 1
    done
    # Anything still running from the cluster's folder (a PostgreSQL backend
    # whose postmaster was killed, say).
    pkill -KILL -f -- "$dir/" 2>/dev/null || true
    rm -rf "$dir" "$dir.apt.log"
    say "down: every process stopped, $dir removed"
}

# role_of NODE: what its Patroni says it is (leader, sync_standby, replica),
# or "down".
role_of() {
    local state
    state="$(curl -fsS -m 2 "http://127.0.0.1:$(rest_port "$1")/patroni" 2>/dev/null)" || { echo down; return; }
    case "$state" in
    *'"role": "master"'* | *'"role": "primary"'* | *'"role":"master"'* | *'"role":"primary"'*) echo leader ;;
    *) echo standby ;;
    esac
}

cmd_status() {
    [ -d "$dir/run" ] || fail "status: nothing is up (run '$0 up')"
    local json="${1:-}" i pid rows=() role alive
    row() { rows+=("$1|$2|$3|$4"); }
    row etcd "$(pid_of etcd)" dcs "$etcd_port"
    for i in 1 2; do
        role="$(role_of "$i")"
        row "patroni$i" "$(pid_of "patroni$i")" "patroni ($role)" "$(rest_port "$i")"
        pid=""
        [ -f "$dir/pg$i/postmaster.pid" ] && pid="$(head -n 1 "$dir/pg$i/postmaster.pid")"
        row "postgres$i" "$pid" "postgres ($role)" "$(pg_port "$i")"
    done
    row haproxy "$(pid_of haproxy)" "balancer (API; the database on $db_port)" "$api_port"
    for i in $(seq 1 "$(replica_count)"); do
        row "r$i" "$(pid_of "r$i")" replica "$(replica_port "$i")"
    done
    if [ "$json" = --json ]; then
        local out="" name rest
        for r in "${rows[@]}"; do
            IFS='|' read -r name pid role rest <<<"$r"
            alive=false
            pid_alive "$pid" && alive=true
            [ -n "$pid" ] || pid=null
            out+="${out:+,}{\"name\":\"$name\",\"pid\":$pid,\"alive\":$alive,\"role\":\"$role\",\"port\":$rest}"
        done
        printf '{"api":"http://127.0.0.1:%s","database_url":"%s","processes":[%s]}\n' \
            "$api_port" "$(database_url)" "$out"
    else
        echo "API          http://127.0.0.1:$api_port"
        echo "DATABASE_URL $(database_url)"
        for r in "${rows[@]}"; do
            IFS='|' read -r name pid role rest <<<"$r"
            alive=dead
            pid_alive "$pid" && alive=up
            printf '%-10s %-6s %-8s %-26s port %s\n' "$name" "$alive" "${pid:--}" "$role" "$rest"
        done
    fi
}

cmd_kill_replica() {
    local i="${1:-}"
    need_root
    [[ "$i" =~ ^[0-9]+$ ]] && [ "$i" -ge 1 ] && [ "$i" -le "$(replica_count)" ] ||
        fail "kill-replica I: I is a replica from 1 to $(replica_count), not '$i'"
    pid_alive "$(pid_of "r$i")" || fail "replica $i is not running"
    kill -KILL "$(pid_of "r$i")"
    say "replica $i killed (SIGKILL)"
}

# start-replica I: starts a replica that was killed again.
cmd_start_replica() {
    local i="${1:-}"
    need_root
    [[ "$i" =~ ^[0-9]+$ ]] && [ "$i" -ge 1 ] && [ "$i" -le "$(replica_count)" ] ||
        fail "start-replica I: I is a replica from 1 to $(replica_count), not '$i'"
    pid_alive "$(pid_of "r$i")" && fail "replica $i is running"
    start_replica "$i"
    wait_for "replica $i" 60 replica_ready "$i"
    say "replica $i started"
}

# kill-primary: the loss of the leader's machine: its Patroni and its
# PostgreSQL killed together (SIGKILL), so that the standby is promoted;
# with --postgres-only, the postmaster alone, which Patroni restarts in place.
cmd_kill_primary() {
    need_root
    local i leader="" pm
    for i in 1 2; do
        [ "$(role_of "$i")" = leader ] && leader="$i"
    done
    [ -n "$leader" ] || fail "kill-primary: no node is the leader now"
    pm="$(head -n 1 "$dir/pg$leader/postmaster.pid")"
    if [ "${1:-}" = --postgres-only ]; then
        kill -KILL "$pm"
        say "pg$leader's postmaster ($pm) killed; Patroni restarts it"
        return 0
    fi
    # Every process of the node at once: Patroni, the postmaster and its
    # children.
    kill -KILL "$(pid_of "patroni$leader")" "$pm" $(pgrep -P "$pm") 2>/dev/null || true
    say "pg$leader (the leader) killed with its Patroni: the standby takes over"
    echo "$leader"
}

# heal: a database node whose machine was lost comes back: its Patroni starts
# again and rejoins as the synchronous standby (rewinding what its old
# timeline had that the new leader has not).
cmd_heal() {
    need_root
    local i healed=""
    for i in 1 2; do
        pid_alive "$(pid_of "patroni$i")" && continue
        if [ -f "$dir/pg$i/postmaster.pid" ]; then
            stop_pid "$(head -n 1 "$dir/pg$i/postmaster.pid")" KILL 1
        fi
        start "patroni$i" postgres patroni "$dir/run/patroni$i.yml"
        healed="$healed pg$i"
    done
    [ -n "$healed" ] || { say "heal: both database nodes are up"; return 0; }
    wait_for "the synchronous standby" 120 sync_standby_streaming
    say "heal:$healed back, as the synchronous standby"
}

cmd_rolling_restart() {
    need_root
    local i
    for i in $(seq 1 "$(replica_count)"); do
        # SIGTERM: readiness fails, HAProxy takes it out, it drains and stops.
        stop_pid "$(pid_of "r$i")" TERM $((drain + 40))
        start_replica "$i"
        wait_for "replica $i" 60 replica_ready "$i"
        # Until HAProxy has it back in (rise 2 checks).
        sleep 1.5
        say "replica $i restarted"
    done
}

case "${1:-}" in
up) cmd_up "${2:-3}" ;;
down) cmd_down ;;
status) cmd_status "${2:-}" ;;
kill-replica) cmd_kill_replica "${2:-}" ;;
start-replica) cmd_start_replica "${2:-}" ;;
kill-primary) cmd_kill_primary "${2:-}" ;;
rolling-restart) cmd_rolling_restart ;;
heal) cmd_heal ;;
*)
    echo "usage: $0 up [N] | down | status [--json] | kill-replica I | start-replica I | kill-primary [--postgres-only] | rolling-restart | heal" >&2
    exit 2
    ;;
esac
