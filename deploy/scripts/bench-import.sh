#!/usr/bin/env bash
# Part of `make bench`: moving in from Django, measured on the release
# binary, on SQLite and (when reachable) PostgreSQL.
# - `authusers import django` of a generated dumpdata file of
#   BENCH_IMPORT_USERS users (1 000 000; jsonl, 10% pending, most with
#   balances, each with Django 5.2's pbkdf2_sha256 hash of the fixtures):
#   users a second, and the peak resident memory (VmHWM) of the process;
#   then the same file again, where nothing changes.
# - One login's hashing: a wrong password against a Django 5.2
#   pbkdf2_sha256 hash (1 000 000 iterations) and against bcrypt at the
#   production cost (12), each the median of five, one at a time.
set -euo pipefail
cd "$(dirname "$0")/../.."

users="${BENCH_IMPORT_USERS:-1000000}"
binary="${CARGO_TARGET_DIR:-target}/release/authusers"
fixtures="crates/api-actix/tests/fixtures/django"
. deploy/scripts/serve-lib.sh

dump="$work/users.jsonl"
python3 deploy/scripts/django-users-dump.py "$users" "$fixtures/users.json" "$dump"
printf 'import: a dumpdata file of %s users, %s MB\n' "$users" "$(( $(stat -c %s "$dump") / 1000000 ))"

# import_once NAME URL: one import, its summary, users a second, peak memory.
import_once() {
    local name="$1" what="$2" pid peak=0 hwm started finished
    started="$(date +%s.%N)"
    DATABASE_URL="$3" JWT_SECRET="bench-secret-bench-secret-bench-secret" \
        "$binary" import django "$dump" >"$work/import.out" 2>"$work/import.err" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        hwm="$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
        [ -n "$hwm" ] && peak="$hwm"
        sleep 0.2
    done
    wait "$pid" || { echo "$name: the import failed:" >&2; cat "$work/import.err" >&2; exit 1; }
    finished="$(date +%s.%N)"
    printf '%s: %s: %s\n' "$name" "$what" "$(cat "$work/import.out")"
    awk -v n="$users" -v s="$started" -v f="$finished" -v kb="$peak" -v name="$name" -v what="$what" \
        'BEGIN {printf "%s: %s: %.0f users/s over %.1f s, peak resident memory %.1f MB\n", name, what, n / (f - s), f - s, kb / 1024}'
}

bench_import() {
    local name="$1" url="$2"
    DATABASE_URL="$url" "$binary" migrate >/dev/null
    import_once "$name" "first import" "$url"
    import_once "$name" "the same file again" "$url"
}

on_each_backend bench_import "import"

# median_login_ms EMAIL PASSWORD: the median of five logins, in ms.
median_login_ms() {
    local base="http://127.0.0.1:$port" body
    body="{\"email\": \"$1\", \"password\": \"$2\"}"
    for _ in 1 2 3 4 5; do
        curl -s -o /dev/null -w '%{time_total}\n' -X POST "$base/auth/jwt/create/" \
            -H 'Content-Type: application/json' -d "$body"
    done | sort -n | awk 'NR == 3 {printf "%.0f", $1 * 1000}'
}

login_costs() {
    local name="$1" url="$2"
    export DATABASE_URL="$url" MAIL_TRANSPORT=log JWT_ALGORITHM=HS256 \
        JWT_SECRET="bench-secret-bench-secret-bench-secret" BCRYPT_COST=12
    "$binary" migrate >/dev/null
    "$binary" import django "$fixtures/users.json" >/dev/null
    AUTHUSERS_ADMIN_PASSWORD='tangerine-orbit-77' "$binary" create-admin --email bcrypt@example.com >/dev/null
    start_server "logins-$name"
    printf '%s: one login'"'"'s hash, a wrong password, median of 5: Django pbkdf2_sha256 (1 000 000 iterations) %s ms, bcrypt cost 12 %s ms\n' \
        "$name" "$(median_login_ms alice.default@example.com not-her-password)" \
        "$(median_login_ms bcrypt@example.com not-his-password)"
    stop_server
}

on_each_backend login_costs "login costs"
