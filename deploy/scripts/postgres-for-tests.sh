#!/usr/bin/env bash
# Prints the URL of a PostgreSQL server the test suite may create databases
# on, starting the local cluster if it is installed but stopped. Prints
# nothing when there is none; under CI=true that is an error, because CI must
# run the PostgreSQL suite, never skip it.
set -euo pipefail

url="${AUTHUSERS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# host and port from the URL: scheme://[user[:password]@]host[:port][/db]
authority="${url#*://}"
authority="${authority%%\?*}"
authority="${authority%%/*}"
authority="${authority##*@}"
host="${authority%%:*}"
port=5432
[ "$authority" != "$host" ] && port="${authority##*:}"

reachable() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$host" -p "$port" -t 2
    else
        (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
    fi
}

if ! reachable && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    done
    for _ in $(seq 1 20); do
        reachable && break
        sleep 0.5
    done
fi

if reachable; then
    echo "$url"
elif [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL is not reachable on $host:$port, and CI must run the PostgreSQL suite" >&2
    exit 1
else
    echo "note: PostgreSQL is not reachable on $host:$port: skipping the PostgreSQL suite" >&2
fi
