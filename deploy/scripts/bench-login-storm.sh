#!/usr/bin/env bash
# Part of `make bench`: a login storm against the release binary at the
# production bcrypt cost, measured from outside with wrk, on SQLite and (when
# reachable) PostgreSQL:
# - one login at a time, for the seconds a hash takes, and so the bound
#   bcrypt sets: hashing threads / seconds per hash;
# - 8 connections logging in at once (the right password): a burst the
#   hashing threads can serve within the wait, which should all be served;
# - 64 connections logging in (the right password) while 8 connections read
#   GET /auth/users/me/: how many logins are accepted against that bound,
#   how fast the rest are refused (503 overloaded), client time-outs, and
#   the readers' latency;
# - a throttled login (the account has had its failures): its latency.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v wrk >/dev/null 2>&1; then
    echo "Login storm: skipped: wrk is not installed (Debian's wrk)"
    exit 0
fi
duration="${BENCH_SECONDS:-10}"
binary="${CARGO_TARGET_DIR:-target}/release/authusers"
. deploy/scripts/serve-lib.sh

password='tangerine-orbit-77'
body='{"email": "storm@example.com", "password": "'"$password"'"}'

# wrk's script for logins: counts answers by status, and reports the latency
# of the refusals. Refused answers (503) are all faster than any accepted one
# (which takes a whole hash), so they are the fastest share of the latency
# distribution: its percentile at their share is their slowest.
cat >"$work/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("LOGIN_BODY")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0 shed = 0 throttled = 0 other = 0 end
function response(status, headers, body)
    if status == 200 then ok = ok + 1
    elseif status == 503 then shed = shed + 1
    elseif status == 429 then throttled = throttled + 1
    else other = other + 1 end
end
function done(summary, latency, requests)
    local ok_, shed_, throttled_, other_ = 0, 0, 0, 0
    for _, t in ipairs(threads) do
        ok_ = ok_ + t:get("ok"); shed_ = shed_ + t:get("shed")
        throttled_ = throttled_ + t:get("throttled"); other_ = other_ + t:get("other")
    end
    local total = ok_ + shed_ + throttled_ + other_
    local seconds = summary.duration / 1e6
    io.write(string.format("accepted %d (%.2f/s) shed %d throttled %d other %d timeouts %d\n",
        ok_, ok_ / seconds, shed_, throttled_, other_, summary.errors.timeout))
    io.write(string.format("accepted_per_second %.3f\n", ok_ / seconds))
    io.write(string.format("timeouts %d\n", summary.errors.timeout))
    if throttled_ > 0 and shed_ == 0 and ok_ == 0 and other_ == 0 then
        io.write(string.format("throttled_ms p50 %.2f p99 %.2f max %.2f\n", latency:percentile(50) / 1000,
            latency:percentile(99) / 1000, latency.max / 1000))
    end
    if throttled_ > 0 and shed_ > 0 and ok_ == 0 and other_ == 0 then
        -- Refusals for load wait a 20 ms pause: the throttled answers are the fastest share.
        local share = 100 * throttled_ / total
        io.write(string.format("throttled_ms p50 %.2f p99 %.2f\n", latency:percentile(share * 0.5) / 1000,
            latency:percentile(share * 0.99) / 1000))
    end
    if shed_ > 0 and total > 0 and ok_ > 0 then
        local share = 100 * shed_ / total
        io.write(string.format("shed_ms p50 %.2f p99 %.2f max %.2f\n",
            latency:percentile(share * 0.5) / 1000, latency:percentile(share * 0.99) / 1000,
            latency:percentile(share) / 1000))
    end
    io.write(string.format("all_ms p50 %.2f p99 %.2f mean %.2f\n", latency:percentile(50) / 1000,
        latency:percentile(99) / 1000, latency.mean / 1000))
end
LUA

storm() {
    local name="$1" database_url="$2"
    # The production cost and hashing queue; the limits at their defaults.
    export DATABASE_URL="$database_url" MAIL_TRANSPORT=log JWT_ACCESS_TTL_SECONDS=3600 \
        JWT_ALGORITHM=HS256 JWT_SECRET="bench-secret-bench-secret-bench-secret"
    unset BCRYPT_COST
    AUTHUSERS_ADMIN_PASSWORD="$password" "$binary" create-admin --email storm@example.com >/dev/null
    start_server "storm-$name"
    local base="http://127.0.0.1:$port" threads token
    threads="$(nproc)"
    token="$(curl -s -X POST "$base/auth/jwt/create/" -H 'Content-Type: application/json' -d "$body" \
        | sed -n 's/.*"access":"\([^"]*\)".*/\1/p')"

    # One login at a time: the seconds a hash takes (and a little more).
    LOGIN_BODY="$body" wrk -t1 -c1 -d5s -s "$work/login.lua" "$base/auth/jwt/create/" >"$work/alone.txt"
    local hash_ms bound
    hash_ms="$(awk '/^all_ms/ {print $7}' "$work/alone.txt")"
    bound="$(awk -v t="$threads" -v ms="$hash_ms" 'BEGIN {printf "%.2f", t / (ms / 1000)}')"
    printf '%s: one login alone: %s ms (bcrypt bound with %s threads: %s logins/s)\n' \
        "$name" "$hash_ms" "$threads" "$bound"

    # Eight clients logging in at once: a burst the hashing threads serve
    # within PASSWORD_HASHING_MAX_WAIT_MS, which should wait, not fail.
    LOGIN_BODY="$body" wrk -t2 -c8 -d"${duration}s" --timeout 5s -s "$work/login.lua" \
        "$base/auth/jwt/create/" >"$work/burst.txt"
    printf '%s: 8 connections logging in: %s\n' "$name" "$(grep "^accepted " "$work/burst.txt")"
    printf '%s:   every answer in: %s\n' "$name" "$(awk '/^all_ms/ {$1=""; print}' "$work/burst.txt")"
    sleep 1

    # The storm, and the readers beside it. An admitted login may wait up
    # to PASSWORD_HASHING_MAX_WAIT_MS (2 s) and then hash: the client waits
    # 5 s, so that a time-out is a stall, not a wait the service chose.
    LOGIN_BODY="$body" wrk -t2 -c64 -d"${duration}s" --timeout 5s -s "$work/login.lua" \
        "$base/auth/jwt/create/" >"$work/storm.txt" &
    local storm_pid=$!
    wrk -t1 -c8 -d"${duration}s" --timeout 2s --latency -H "Authorization: Bearer $token" \
        "$base/auth/users/me/" >"$work/readers.txt"
    wait "$storm_pid"
    local accepted share
    accepted="$(awk '/^accepted_per_second/ {print $2}' "$work/storm.txt")"
    share="$(awk -v a="$accepted" -v b="$bound" 'BEGIN {printf "%.0f", 100 * a / b}')"
    printf '%s: storm, 64 connections logging in: %s\n' "$name" "$(grep "^accepted " "$work/storm.txt")"
    printf '%s:   accepted %s logins/s = %s%% of the bcrypt bound\n' "$name" "$accepted" "$share"
    printf '%s:   refused (503) answered in: %s\n' "$name" "$(awk '/^shed_ms/ {$1=""; print}' "$work/storm.txt")"
    printf '%s:   8 readers of GET /auth/users/me/ beside it: %s req/s, p50 %s, p99 %s, time-outs %s\n' "$name" \
        "$(awk '/Requests\/sec/ {print $2}' "$work/readers.txt")" \
        "$(awk '$1 == "50%" {print $2}' "$work/readers.txt")" \
        "$(awk '$1 == "99%" {print $2}' "$work/readers.txt")" \
        "$(awk '/timeout/ {print $NF; found=1} END {if (!found) print 0}' "$work/readers.txt")"

    # A throttled login: the account's failures from here reach the limit
    # (ten wrong passwords answered 401, once the storm's last logins, which
    # would start the count again, are done).
    sleep 3
    local wrong='{"email": "storm@example.com", "password": "not-the-password"}' failures=0 status
    while [ "$failures" -lt 10 ]; do
        status="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/auth/jwt/create/" \
            -H 'Content-Type: application/json' -d "$wrong")"
        case "$status" in
            401) failures=$((failures + 1)) ;;
            503) sleep 0.5 ;;
            *) echo "$name: a wrong password answered $status" >&2; exit 1 ;;
        esac
    done
    status="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/auth/jwt/create/" \
        -H 'Content-Type: application/json' -d "$body")"
    [ "$status" = 429 ] || { echo "$name: the right password after ten failures answered $status" >&2; exit 1; }
    LOGIN_BODY="$body" wrk -t2 -c8 -d"${duration}s" -s "$work/login.lua" "$base/auth/jwt/create/" \
        >"$work/throttled.txt"
    printf '%s: throttled logins (429), 8 connections: %s\n' "$name" "$(grep "^accepted " "$work/throttled.txt")"
    printf '%s:   the throttled answers in: %s\n' "$name" "$(awk '/^throttled_ms/ {$1=""; print}' "$work/throttled.txt")"
    stop_server
}

on_each_backend storm "login storm"
