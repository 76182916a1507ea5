#!/usr/bin/env bash
# Part of `make bench`: the release binary measured from outside with wrk (a
# load generator in its own process), on SQLite and (when reachable)
# PostgreSQL. Each scenario runs 2 s of warm-up, then BENCH_SECONDS (10) of
# measurement, and prints requests per second, p50, p90 and p99:
# - GET /healthz/: the HTTP stack alone, the ceiling for the others;
# - GET /auth/users/me/ with a valid access token (the token check and the
#   session-and-user read), with tokens signed HS256 (a shared secret),
#   EdDSA (Ed25519), ES256 (P-256) and RS256 (RSA 3072);
# - PATCH /balance/ `in` on one user from 16 connections: every request
#   writes the same row (on SQLite, against the file system's commit rate,
#   measured first);
# - PATCH /balance/ `convert` on that user, each with a new Idempotency-Key;
# - PATCH /balance/ `in` spread over 32 users from 32 connections;
# - POST /auth/users/reset_password/ for an address with an approved
#   account and for one without, which should look alike: the answer may
#   not tell whether an address has an account.
# BENCH_ONLY=REGEX runs only the scenarios whose label matches (say
# BENCH_ONLY='balance'); BENCH_BACKENDS=sqlite (or postgres) runs one backend.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v wrk >/dev/null 2>&1; then
    echo "HTTP benchmarks: skipped: wrk is not installed (Debian's wrk; make bench installs it when it can)"
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
    printf '%-58s %9s req/s   p50 %8s   p90 %8s   p99 %8s   non-2xx %s\n' \
        "$1" "$rate" "$p50" "$p90" "$p99" "${bad:-0}"
}

# run LABEL CONNECTIONS URL [wrk options...]: warm-up, measurement, report.
run() {
    local label="$1" connections="$2" url="$3"
    shift 3
    if [ -n "${BENCH_ONLY:-}" ] && ! [[ "$label" =~ $BENCH_ONLY ]]; then
        return 0
    fi
    wrk -t2 -c"$connections" -d2s "$@" "$url" >/dev/null
    wrk -t2 -c"$connections" -d"${duration}s" --latency "$@" "$url" >"$work/wrk.txt"
    report "$label"
}

base() { echo "http://127.0.0.1:$port"; }

post() {
    curl -s -X "$1" "$(base)$2" -H 'Content-Type: application/json' \
        ${3:+-H "Authorization: Bearer $3"} -d "$4"
}

access() { sed -n 's/.*"access":"\([^"]*\)".*/\1/p'; }

log_in() { post POST /auth/jwt/create/ "" "{\"email\": \"$1\", \"password\": \"tangerine-orbit-77\"}" | access; }

# A PATCH /balance/ script: BODY, and the tokens in FILE taken in turn; with
# "keyed", a new Idempotency-Key on every request.
balance_script() {
    local body="$1" tokens="$2" keyed="${3:-}"
    cat >"$work/balance.lua" <<LUA
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
end
tokens = {}
for line in io.lines("$tokens") do tokens[#tokens + 1] = line end
counter = 0
request = function()
    counter = counter + 1
    local headers = {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1],
    }
    if "$keyed" == "keyed" then
        headers["Idempotency-Key"] = "bench-" .. id .. "-" .. counter
    end
    return wrk.format("PATCH", "/balance/", headers, '$body')
end
LUA
}

# GET /auth/users/me/ on a server signing with $JWT_ALGORITHM.
measure_me() {
    local name="$1"
    start_server "$name-$JWT_ALGORITHM"
    local token
    token="$(log_in known@example.com)"
    run "$name: GET /auth/users/me/ $JWT_ALGORITHM (32 connections)" 32 \
        "$(base)/auth/users/me/" -H "Authorization: Bearer $token"
    stop_server
}

# One backend: a fresh database with one approved account, then each
# scenario.
measure() {
    local name="$1" database_url="$2"
    export DATABASE_URL="$database_url" MAIL_TRANSPORT=log BCRYPT_COST=4 JWT_ACCESS_TTL_SECONDS=3600 \
        SQLITE_SYNCHRONOUS="${SQLITE_SYNCHRONOUS:-full}" \
        PASSWORD_RESET_MAILS_PER_HOUR=0 REGISTRATIONS_PER_ADDRESS_PER_HOUR=0 \
        JWT_ALGORITHM=HS256 JWT_SECRET="bench-secret-bench-secret-bench-secret"
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
    run "$name: GET /healthz/ (32 connections)" 32 "$(base)/healthz/"

    local admin
    admin="$(log_in known@example.com)"
    echo "$admin" >"$work/one.txt"
    : >"$work/many.txt"
    for n in $(seq 1 32); do
        local id
        id="$(post POST /auth/users/ "" "{\"email\": \"user$n@example.com\", \"password\": \"tangerine-orbit-77\"}" \
            | sed -n 's/.*"id":\([0-9]*\).*/\1/p')"
        post PATCH "/confirm-users/$id/" "$admin" '{"action": "accept"}' >/dev/null
        echo "$(log_in "user$n@example.com")" >>"$work/many.txt"
    done
    balance_script '{"action": "in", "value_type": "real", "value": "1.25"}' "$work/one.txt"
    run "$name: PATCH /balance/ in, one user (16 connections)" 16 "$(base)/balance/" -s "$work/balance.lua"
    balance_script '{"action": "convert", "value": "0.10"}' "$work/one.txt" keyed
    run "$name: PATCH /balance/ convert, new keys (16 connections)" 16 "$(base)/balance/" -s "$work/balance.lua"
    balance_script '{"action": "in", "value_type": "real", "value": "1.25"}' "$work/many.txt"
    run "$name: PATCH /balance/ in, 32 users (32 connections)" 32 "$(base)/balance/" -s "$work/balance.lua"

    for address in known@example.com nobody@example.com; do
        cat >"$work/request.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email": "$address"}'
LUA
        run "$name: reset_password $address (${BENCH_CONNECTIONS:-8} connections)" \
            "${BENCH_CONNECTIONS:-8}" "$(base)/auth/users/reset_password/" -s "$work/request.lua"
    done
    stop_server
}

if command -v python3 >/dev/null 2>&1; then
    echo "sqlite: one-row commits on this file system (WAL, synchronous=FULL): $(python3 deploy/bench/sqlite-commit-rate.py "$work")/s"
fi
on_each_backend measure "HTTP benchmarks"
