#!/usr/bin/env bash
# Part of `make bench`: the release binary measured from outside with wrk, on
# SQLite and (when reachable) PostgreSQL:
# - GET /auth/users/me/ with a valid access token (the cost of authenticating
#   a request), 32 connections, with tokens signed HS256 (a shared secret),
#   EdDSA (Ed25519), ES256 (P-256) and RS256 (RSA 3072);
# - POST /auth/users/reset_password/ for an address with an approved account
#   and for one without, which should look alike: the answer may not tell
#   whether an address has an account.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v wrk >/dev/null 2>&1; then
    echo "HTTP benchmarks: skipped: wrk is not installed (Debian's wrk)"
    exit 0
fi
duration="${BENCH_SECONDS:-10}"
binary="${CARGO_TARGET_DIR:-target}/release/authusers"
. deploy/scripts/serve-lib.sh

# wrk's figures as one line: LABEL, then rate, percentiles and errors.
report() {
    local rate p50 p90 p99 bad
    rate="$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")"
    p50="$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")"
    p90="$(awk '$1 == "90%" {print $2}' "$work/wrk.txt")"
    p99="$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")"
    bad="$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt")"
    printf '%-46s %9s req/s   p50 %8s   p90 %8s   p99 %8s   non-2xx %s\n' \
        "$1" "$rate" "$p50" "$p90" "$p99" "${bad:-0}"
}

# GET /auth/users/me/ on a server signing with $JWT_ALGORITHM.
measure_me() {
    local name="$1"
    start_server "$name-$JWT_ALGORITHM"
    local base="http://127.0.0.1:$port"
    local token
    token="$(curl -s -X POST "$base/auth/jwt/create/" -H 'Content-Type: application/json' \
        -d '{"email": "known@example.com", "password": "tangerine-orbit-77"}' \
        | sed -n 's/.*"access":"\([^"]*\)".*/\1/p')"
    wrk -t2 -c32 -d2s -H "Authorization: Bearer $token" "$base/auth/users/me/" >/dev/null
    wrk -t2 -c32 -d"${duration}s" --latency -H "Authorization: Bearer $token" \
        "$base/auth/users/me/" >"$work/wrk.txt"
    report "$name: GET /auth/users/me/ $JWT_ALGORITHM (32 connections)"
    stop_server
}

# One backend: a fresh database with one approved account, the server on a
# free port, then each scenario.
measure() {
    local name="$1" database_url="$2"
    export DATABASE_URL="$database_url" MAIL_TRANSPORT=log BCRYPT_COST=4 JWT_ACCESS_TTL_SECONDS=3600 \
        PASSWORD_RESET_MAILS_PER_HOUR=0 JWT_ALGORITHM=HS256 JWT_SECRET="bench-secret-bench-secret-bench-secret"
    AUTHUSERS_ADMIN_PASSWORD='tangerine-orbit-77' "$binary" create-admin \
        --email known@example.com >/dev/null
    measure_me "$name"
    for algorithm in EdDSA ES256 RS256; do
        (
            key="$work/$algorithm.pem"
            [ -f "$key" ] || "$binary" keys generate --algorithm "$algorithm" --out "$key" >/dev/null
            export JWT_ALGORITHM="$algorithm" JWT_PRIVATE_KEY_FILE="$key" JWT_SECRET=
            measure_me "$name"
        )
    done
    start_server "$name"
    local base="http://127.0.0.1:$port"

    for address in known@example.com nobody@example.com; do
        cat >"$work/request.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email": "$address"}'
LUA
        local url="$base/auth/users/reset_password/"
        wrk -t1 -c4 -d2s -s "$work/request.lua" "$url" >/dev/null
        wrk -t2 -c"${BENCH_CONNECTIONS:-8}" -d"${duration}s" --latency -s "$work/request.lua" "$url" >"$work/wrk.txt"
        report "$name: reset_password $address"
    done
    stop_server
}

on_each_backend measure "HTTP benchmarks"
