#!/usr/bin/env bash
# Part of `make bench`: the list endpoints at scale, on the release binary
# measured from outside with wrk (2 threads, 8 connections, 2 s of warm-up,
# then BENCH_ROUNDS (3) rounds of BENCH_SECONDS (5) of measurement, each
# figure the median of the rounds), on SQLite and (when reachable)
# PostgreSQL, each first on an empty database (the administrator alone),
# then loaded with BENCH_SCALE_USERS (1 000 000) users, 10% of them pending
# (a generated Django dump through `authusers import django`, which also
# writes each imported balance's opening ledger entry), and
# BENCH_SCALE_LEDGER (1 000 000) ledger rows of the administrator (inserted
# with SQL; on PostgreSQL then VACUUM ANALYZE and CHECKPOINT, as autovacuum
# and the checkpointer soon would). Every
# request is the administrator's:
# - GET /balance/transactions/ (the administrator's own ledger, the one
#   loaded): the first page, a page by a deep cursor (half the list
#   behind it, found by walking `next` 500 at a time), ?offset= half of it;
# - GET /confirm-users/ (the pending users) and GET /auth/users/ (all of
#   them): the same three pages; /auth/users/?search= matching a few users
#   and matching none;
# - GET /auth/sessions/?cursor= (the caller's sessions, cursor style);
# - the console's users page, GET /admin/users/ with the console cookie,
#   and its search (?q=).
# Where a list has no deep cursor (the empty database, or a server that
# does not page by cursor), its first cursor page (?cursor=) is measured in
# its place, and the table says so. Prints how long loading took, checks
# the lists' `count` after it, and per backend one table: p50, p99 and
# requests per second empty and loaded, the p99 ratio loaded/empty, and
# the failures (empty/loaded: answers not 2xx or 3xx, socket errors and
# timeouts), which should be 0.
# BENCH_ONLY=REGEX runs only the scenarios whose label matches;
# BENCH_BACKENDS=sqlite (or postgres) runs one backend; AUTHUSERS_BINARY
# measures another binary.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v wrk >/dev/null 2>&1; then
    echo "List benchmarks at scale: skipped: wrk is not installed (Debian's wrk; make bench installs it when it can)"
    exit 0
fi
duration="${BENCH_SECONDS:-5}"
rounds="${BENCH_ROUNDS:-3}"
users="${BENCH_SCALE_USERS:-1000000}"
ledger="${BENCH_SCALE_LEDGER:-1000000}"
first_pk=1000 # the imported ids start here, past the administrator's
binary="${AUTHUSERS_BINARY:-${CARGO_TARGET_DIR:-target}/release/authusers}"
admin_email="admin@example.com"
admin_password="tangerine-orbit-77"
. deploy/scripts/serve-lib.sh

base() { echo "http://127.0.0.1:$port"; }

# $work/lists.py get PATH KEY: the KEY of the JSON object at PATH; deep
# PATH: the cursor of the `next` link once half the list is behind,
# URL-quoted, or nothing (walking `next` from PATH).
cat >"$work/lists.py" <<'PY'
import http.client, json, os, sys, urllib.parse, urllib.request
mode, path = sys.argv[1], sys.argv[2]
base, token = os.environ["BENCH_BASE"], os.environ["BENCH_TOKEN"]

def get(url):
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.load(answer)

url, seen = base + path, 0
try:
    while True:
        page = get(url)
        if mode == "get":
            print(page[sys.argv[3]])
            break
        if not isinstance(page, dict):
            break
        seen += len(page.get("results") or [])
        following = page.get("next")
        cursor = following and urllib.parse.parse_qs(urllib.parse.urlsplit(following).query).get("cursor")
        if not cursor:
            break
        if seen >= (page.get("count") or 0) // 2:
            print(urllib.parse.quote(cursor[0], safe=""))
            break
        url = urllib.parse.urljoin(base + "/", following)
except (OSError, http.client.HTTPException, KeyError, TypeError, ValueError) as e:
    print(f"{path}: {e}", file=sys.stderr)
    if mode == "get":
        sys.exit(1)
PY
lists() { BENCH_BASE="$(base)" BENCH_TOKEN="$token" python3 "$work/lists.py" "$@"; }

cookie_of() { tr -d '\r' <"$work/headers" | sed -n "s/^[Ss]et-[Cc]ookie: $1=\([^;]*\).*/\1/p" | head -n 1; }

# sign_in NAME: the administrator's access token ($token) and console
# cookie ($console), each checked.
sign_in() {
    token="$(curl -s -X POST "$(base)/auth/jwt/create/" -H 'Content-Type: application/json' \
        -d "{\"email\": \"$admin_email\", \"password\": \"$admin_password\"}" |
        sed -n 's/.*"access":"\([^"]*\)".*/\1/p')"
    [ -n "$token" ] || { echo "$1: the administrator's login failed" >&2; exit 1; }
    local csrf secret
    curl -s -D "$work/headers" -o "$work/login.html" "$(base)/admin/login/"
    secret="$(cookie_of authusers_console_sign_in)"
    csrf="$(grep -o 'name="csrf" value="[^"]*"' "$work/login.html" | head -n 1 | sed 's/.*value="//; s/"$//')"
    curl -s -D "$work/headers" -o /dev/null -H "Cookie: authusers_console_sign_in=$secret" \
        --data-urlencode "csrf=$csrf" --data-urlencode "email=$admin_email" \
        --data-urlencode "password=$admin_password" "$(base)/admin/login/"
    console="$(cookie_of authusers_console)"
    if [ -z "$console" ] || [ "$(curl -s -o /dev/null -w '%{http_code}' \
        -H "Cookie: authusers_console=$console" "$(base)/admin/users/")" != 200 ]; then
        echo "$1: the console sign-in failed" >&2
        exit 1
    fi
}

selected() { [ -z "${BENCH_ONLY:-}" ] || [[ "$1" =~ $BENCH_ONLY ]]; }

# run PHASE LABEL PATH [NOTE [wrk options...]]: warm-up, then BENCH_ROUNDS
# (3) measurements, and a line of $results (phase, label, req/s, p50, p99,
# failures, note) holding each figure's median over the rounds (failures:
# their sum): failures are answers not 2xx or 3xx, and wrk's socket errors
# and timeouts (30 s).
run() {
    local phase="$1" label="$2" path="$3" note="${4:-}" round
    shift 3
    shift $(($# > 0 ? 1 : 0))
    selected "$label" || return 0
    [ $# -gt 0 ] || set -- -H "Authorization: Bearer $token"
    wrk -t2 -c8 -d2s --timeout 30s "$@" "$(base)$path" >/dev/null
    : >"$work/rounds.txt"
    for round in $(seq 1 "$rounds"); do
        wrk -t2 -c8 -d"${duration}s" --timeout 30s --latency "$@" "$(base)$path" >"$work/wrk.txt"
        awk '
            function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000
                             if (v ~ /s$/) return v * 1000000; if (v ~ /m$/) return v * 60000000; return v + 0 }
            /Requests\/sec/ {rate = $2} $1 == "50%" {p50 = us($2)} $1 == "99%" {p99 = us($2)}
            /Non-2xx/ {bad += $5} /Socket errors/ {bad += $4 + $6 + $8 + $10}
            END {printf "%s\t%s\t%s\t%d\n", rate, p50, p99, bad}' "$work/wrk.txt" >>"$work/rounds.txt"
    done
    awk -F'\t' -v phase="$phase" -v label="$label" -v note="$note" '
        function median(column,    i, j, t, v) {
            for (i = 1; i <= n; i++) v[i] = row[i, column] + 0
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        function ms(v) { return (v >= 1000) ? sprintf("%.2fms", v / 1000) : sprintf("%.0fus", v) }
        { n++; for (c = 1; c <= 4; c++) row[n, c] = $c; bad += $4 }
        END {printf "%s\t%s\t%.0f\t%s\t%s\t%d\t%s\n", phase, label, median(1), ms(median(2)), ms(median(3)), bad, note}' \
        "$work/rounds.txt" >>"$results"
}

# measure_phase NAME PHASE: every scenario, on a started server, signed in.
measure_phase() {
    local name="$1" phase="$2" list deep note
    echo "$name: measuring the $phase database"
    for list in /balance/transactions/:$((ledger / 2)) /confirm-users/:$((users / 20)) /auth/users/:$((users / 2)); do
        local path="${list%:*}" offset="${list#*:}"
        run "$phase" "GET $path" "$path"
        if selected "GET $path?cursor=(deep)"; then
            deep="$(lists deep "$path?limit=500&cursor=")"
            note=""
            [ -n "$deep" ] || note="first"
            run "$phase" "GET $path?cursor=(deep)" "$path?cursor=$deep" "$note"
        fi
        run "$phase" "GET $path?offset=$offset" "$path?offset=$offset"
    done
    run "$phase" "GET /auth/users/?search=bulk99999" "/auth/users/?search=bulk99999"
    run "$phase" "GET /auth/users/?search=nomatch" "/auth/users/?search=nomatch"
    run "$phase" "GET /auth/sessions/?cursor=" "/auth/sessions/?cursor="
    run "$phase" "console GET /admin/users/" "/admin/users/" "" -H "Cookie: authusers_console=$console"
    run "$phase" "console GET /admin/users/?q=bulk99999" "/admin/users/?q=bulk99999" "" \
        -H "Cookie: authusers_console=$console"
}

# counts: the `count` of the three loaded lists, space-separated.
counts() {
    echo "$(lists get '/balance/transactions/?limit=1' count) $(lists get '/confirm-users/?limit=1' count)" \
        "$(lists get '/auth/users/?limit=1' count)"
}

# load NAME URL ADMIN_ID: the users through the import, the administrator's
# ledger rows with SQL, the time each took.
load() {
    local name="$1" url="$2" admin="$3" started imported finished
    started="$(date +%s.%N)"
    "$binary" import django "$work/users.jsonl" >"$work/import.out" 2>"$work/import.err" ||
        { echo "$name: the import failed:" >&2; cat "$work/import.err" >&2; exit 1; }
    imported="$(date +%s.%N)"
    local since rows
    since=$(($(date +%s) - ledger - 60))
    rows="user_id, action, value_type, amount_cents, bonus_cents, real_balance_after_cents,
        virtual_balance_after_cents, created_at, idempotency_key"
    if [ "$name" = sqlite ]; then
        local file="${url#sqlite://}"
        sqlite3 "${file%%\?*}" <<SQL
.timeout 30000
BEGIN;
INSERT INTO balance_transactions ($rows)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ledger)
    SELECT u.id, 'in', 'real', 1, 0, u.real_balance_cents + n.i, u.virtual_balance_cents,
        strftime('%Y-%m-%d %H:%M:%S', $since + n.i, 'unixepoch'), NULL
    FROM n, users u WHERE u.id = $admin ORDER BY n.i;
UPDATE users SET real_balance_cents = real_balance_cents + $ledger WHERE id = $admin;
COMMIT;
SQL
    else
        psql -q -v ON_ERROR_STOP=1 "$url" <<SQL
BEGIN;
INSERT INTO balance_transactions ($rows)
    SELECT u.id, 'in', 'real', 1, 0, u.real_balance_cents + n, u.virtual_balance_cents,
        timestamp '1970-01-01' + ($since + n) * interval '1 second', NULL
    FROM generate_series(1, $ledger) n, users u WHERE u.id = $admin ORDER BY n;
UPDATE users SET real_balance_cents = real_balance_cents + $ledger WHERE id = $admin;
COMMIT;
SQL
        # As autovacuum soon would after a million inserts: it also moves the
        # search index's pending entries (GIN's fast-update list) into the
        # index, which every search would otherwise read through. Then a
        # checkpoint, as the next one (checkpoint_timeout) would: the load's
        # dirty pages are written before the measurement, not during it.
        psql -q -v ON_ERROR_STOP=1 "$url" -c "VACUUM ANALYZE" -c "CHECKPOINT"
    fi
    finished="$(date +%s.%N)"
    awk -v name="$name" -v s="$started" -v i="$imported" -v f="$finished" -v out="$(cat "$work/import.out")" \
        -v users="$users" -v ledger="$ledger" 'BEGIN {
            printf "%s: loading took %.1f s: %s users imported in %.1f s (%s), %s ledger rows in %.1f s\n",
                name, f - s, users, i - s, out, ledger, f - i }'
}

# table NAME: the two phases side by side.
table() {
    echo
    echo "$1: empty database vs. $users users ($pending pending) and $ledger ledger rows of the caller;" \
        "wrk -t2 -c8, ${duration} s each; the median of $rounds rounds"
    awk -F'\t' '
        function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000
                         if (v ~ /s$/) return v * 1000000; if (v ~ /m$/) return v * 60000000; return v + 0 }
        { key = $2; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
          mark = ($7 == "first") ? "*" : ""; if (mark != "") starred = 1
          cell[key, $1] = sprintf("%9s %9s %9s%1s", $4, $5, $3, mark)
          p99[key, $1] = us($5); bad[key, $1] = $6 }
        END {
            printf "%-44s %-30s %s\n", "", "----------- empty -----------", "----------- loaded ----------"
            printf "%-44s %9s %9s %9s  %9s %9s %9s  %7s %s\n", "scenario", "p50", "p99", "req/s", "p50", "p99", "req/s", "p99 x", "failed"
            for (i = 1; i <= n; i++) {
                k = order[i]
                ratio = (p99[k, "empty"] > 0 && p99[k, "loaded"] > 0) ? sprintf("%.1f", p99[k, "loaded"] / p99[k, "empty"]) : "-"
                printf "%-44s %s %s %7s %s/%s\n", k, cell[k, "empty"], cell[k, "loaded"], ratio, bad[k, "empty"] + 0, bad[k, "loaded"] + 0
            }
            if (starred) print "* no deep cursor (no `next` link with a cursor): the first cursor page, ?cursor=, measured in its place"
        }' "$results"
}

scale() {
    local name="$1" database_url="$2" admin before after expected ledger_before pending_before users_before
    if [ "$name" = sqlite ] && ! command -v sqlite3 >/dev/null 2>&1; then
        echo "sqlite: list benchmarks at scale skipped (the sqlite3 command-line tool is not installed)"
        return 0
    fi
    export DATABASE_URL="$database_url" MAIL_TRANSPORT=log BCRYPT_COST=4 JWT_ACCESS_TTL_SECONDS=3600 \
        JWT_ALGORITHM=HS256 JWT_SECRET="bench-secret-bench-secret-bench-secret" \
        LOGIN_MAX_FAILURES_PER_ACCOUNT=0 LOGIN_MAX_FAILURES_PER_ADDRESS=0 \
        REGISTRATIONS_PER_ADDRESS_PER_HOUR=0 PASSWORD_RESETS_PER_ADDRESS_PER_HOUR=0
    results="$work/$name.results"
    : >"$results"
    "$binary" migrate >/dev/null
    AUTHUSERS_ADMIN_PASSWORD="$admin_password" "$binary" create-admin --email "$admin_email" \
        >/dev/null 2>"$work/create-admin.err" || { cat "$work/create-admin.err" >&2; exit 1; }

    [ "$name" = postgres ] && dropped_at_exit="$database_url"

    start_server "$name-empty"
    sign_in "$name"
    admin="$(lists get /auth/users/me/ id)"
    before="$(counts)"
    measure_phase "$name" empty
    stop_server

    echo "$name: loading"
    load "$name" "$database_url" "$admin"

    start_server "$name-loaded"
    sign_in "$name"
    after="$(counts)"
    read -r ledger_before pending_before users_before <<<"$before"
    expected="$((ledger_before + ledger)) $((pending_before + pending)) $((users_before + users))"
    if [ "$after" = "$expected" ]; then
        echo "$name: counts: ok (ledger, pending, users: $after)"
    else
        echo "$name: counts: WRONG: ledger, pending, users are $after after loading, expected $expected" >&2
        exit 1
    fi
    measure_phase "$name" loaded
    stop_server
    dropped_at_exit="" # on_each_backend drops it
    table "$name"
}

# A PostgreSQL database left by a run that failed half-way goes too.
dropped_at_exit=""
drop_at_exit() {
    cleanup
    if [ -n "$dropped_at_exit" ]; then
        psql -q "${dropped_at_exit%/*}/postgres" -c "DROP DATABASE IF EXISTS ${dropped_at_exit##*/} WITH (FORCE)" || true
    fi
}
trap drop_at_exit EXIT

# The dump, once for both backends: ids from $first_pk, pending when the id
# is a multiple of 10.
pending=$(((first_pk + users - 1) / 10 - (first_pk - 1) / 10))
python3 deploy/scripts/django-users-dump.py --first-pk "$first_pk" "$users" \
    crates/api-actix/tests/fixtures/django/users.json "$work/users.jsonl"
on_each_backend scale "list benchmarks at scale"
