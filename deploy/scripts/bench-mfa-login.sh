#!/usr/bin/env bash
# Part of `make bench`: a login with a second factor against one without,
# measured from outside with wrk against the release binary, on SQLite and
# (when reachable) PostgreSQL. BCRYPT_COST is 4 here, so that what the
# second factor adds is not lost in the hash (the login storm measures the
# production cost):
# - POST /auth/jwt/create/ of an account without a second factor (200);
# - the password step of one with TOTP (401 mfa_required: the hash, and the
#   sign-in step stored);
# - the second step, POST /auth/jwt/create/mfa/ with the code of the
#   present step (200: the step taken, the code checked and its time step
#   recorded, the session opened), each body used once, over
#   BENCH_MFA_USERS accounts (default 1500) enrolled through the API with
#   codes from pyotp.
# Each is measured BENCH_ROUNDS times (default 3); the median is printed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v wrk >/dev/null 2>&1; then
    echo "Login with a second factor: skipped: wrk is not installed (Debian's wrk)"
    exit 0
fi
python="$(CI= deploy/scripts/python-verifier-for-tests.sh 2>/dev/null || true)"
if [ -z "$python" ]; then
    echo "Login with a second factor: skipped: no Python with pyotp (deploy/scripts/python-verifier-for-tests.sh)"
    exit 0
fi
users="${BENCH_MFA_USERS:-1500}"
rounds="${BENCH_ROUNDS:-3}"
binary="${CARGO_TARGET_DIR:-target}/release/authusers"
. deploy/scripts/serve-lib.sh

# Counts answers by status; each request of a "bodies" run takes the next
# body of its thread's share, and the thread stops when its share is done
# (the few requests its other connections send meanwhile repeat the last
# body: they are counted apart).
cat >"$work/mfa.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local threads, counter = {}, 0
function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    table.insert(threads, thread)
end
function init(args)
    ok, refused, extra, bodies, next_body = 0, 0, 0, nil, 1
    local file = os.getenv("BODIES")
    if file and file ~= "" then
        bodies = {}
        local n, count = 0, tonumber(os.getenv("THREADS"))
        for line in io.lines(file) do
            if n % count == id then table.insert(bodies, line) end
            n = n + 1
        end
    else
        wrk.body = os.getenv("BODY")
    end
end
function request()
    if bodies then
        local body = bodies[next_body]
        if body == nil then
            extra = extra + 1
            wrk.thread:stop()
            body = bodies[#bodies]
        end
        next_body = next_body + 1
        return wrk.format(nil, nil, nil, body)
    end
    return wrk.format()
end
function response(status, headers, body)
    if status == tonumber(os.getenv("EXPECT")) then ok = ok + 1 else refused = refused + 1 end
end
function done(summary, latency, requests)
    local ok_, refused_, extra_ = 0, 0, 0
    for _, t in ipairs(threads) do
        ok_ = ok_ + t:get("ok"); refused_ = refused_ + t:get("refused"); extra_ = extra_ + t:get("extra")
    end
    io.write(string.format("answers %d expected %d other %d\n", ok_ + refused_, ok_,
        math.max(refused_ - extra_, 0)))
    io.write(string.format("ms p50 %.2f p99 %.2f rate %.1f\n", latency:percentile(50) / 1000,
        latency:percentile(99) / 1000, ok_ / (summary.duration / 1e6)))
end
LUA

# median of the numbers on stdin
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# measure NAME PATH EXPECT [BODY|@FILE]: one wrk run; prints "p50 p99 rate".
measure() {
    local name="$1" path="$2" expect="$3" body="$4" out="$work/$1.txt"
    if [ "${body#@}" != "$body" ]; then
        BODIES="${body#@}" THREADS=2 EXPECT="$expect" wrk -t2 -c8 -d3s --timeout 5s \
            -s "$work/mfa.lua" "$base$path" >"$out"
    else
        BODY="$body" EXPECT="$expect" wrk -t2 -c8 -d5s --timeout 5s -s "$work/mfa.lua" \
            "$base$path" >"$out"
    fi
    local other
    other="$(awk '/^answers/ {print $6}' "$out")"
    if [ "$other" != 0 ]; then
        echo "$name: $other answers were not $expect" >&2
        cat "$out" >&2
        exit 1
    fi
    awk '/^ms/ {print $3, $5, $7}' "$out"
}

mfa_login() {
    local name="$1" database_url="$2"
    export DATABASE_URL="$database_url" MAIL_TRANSPORT=log BCRYPT_COST=4 \
        JWT_ALGORITHM=HS256 JWT_SECRET="bench-secret-bench-secret-bench-secret" \
        MFA_SECRET_KEY="$(head -c 32 /dev/urandom | base64)" \
        REGISTRATIONS_PER_ADDRESS_PER_HOUR=0 LOGIN_MAX_FAILURES_PER_ACCOUNT=0 \
        LOGIN_MAX_FAILURES_PER_ADDRESS=0 PASSWORD_HASHING_QUEUE=256
    AUTHUSERS_ADMIN_PASSWORD='tangerine-orbit-77' "$binary" create-admin --email admin@example.com >/dev/null
    start_server "mfa-$name"
    base="http://127.0.0.1:$port"
    local admin
    admin="$(curl -s -X POST "$base/auth/jwt/create/" -H 'Content-Type: application/json' \
        -d '{"email": "admin@example.com", "password": "tangerine-orbit-77"}' \
        | sed -n 's/.*"access":"\([^"]*\)".*/\1/p')"
    "$python" deploy/scripts/bench-mfa-setup.py enrol "$base" "$admin" "$users" "$work/secrets"
    "$python" deploy/scripts/bench-mfa-setup.py steps "$base" "$work/secrets" "$rounds" "$work/steps-"

    local plain='{"email": "admin@example.com", "password": "tangerine-orbit-77"}'
    local first='{"email": "mfa0@example.com", "password": "saffron-harbor-48"}'
    local round results_plain="" results_first="" results_second=""
    for round in $(seq 0 $((rounds - 1))); do
        results_second+="$(measure "second-$name-$round" /auth/jwt/create/mfa/ 200 "@$work/steps-$round")"$'\n'
    done
    for round in $(seq 1 "$rounds"); do
        results_plain+="$(measure "plain-$name-$round" /auth/jwt/create/ 200 "$plain")"$'\n'
        results_first+="$(measure "first-$name-$round" /auth/jwt/create/ 401 "$first")"$'\n'
    done
    # A code step's body is used once and its run ends when they do (wrk
    # still waits out its 3 seconds): no rate for it.
    report() {
        local what="$1" results="$2" rate="$3"
        printf '%s: %-55s p50 %6s ms  p99 %6s ms  %9s  (median of %s)\n' "$name" "$what" \
            "$(echo -n "$results" | awk '{print $1}' | median)" \
            "$(echo -n "$results" | awk '{print $2}' | median)" "$rate" "$rounds"
    }
    rate() { echo -n "$1" | awk '{print $3}' | median | awk '{print $1 "/s"}'; }
    report "login without a second factor (200)" "$results_plain" "$(rate "$results_plain")"
    report "login with TOTP, the password step (401 mfa_required)" "$results_first" "$(rate "$results_first")"
    report "login with TOTP, the code step (200)" "$results_second" "-"
    stop_server
}

echo "Login with a second factor (wrk, 8 connections, BCRYPT_COST=4, $users accounts with TOTP):"
on_each_backend mfa_login "the login with a second factor"
