#!/usr/bin/env bash
# Part of `make test`: schemathesis over /openapi.json, every check and every
# phase (stateful included), once as an administrator and once as a user,
# against the real binary on a fresh SQLite file. It runs under CI=true (or
# with SCHEMATHESIS=on); otherwise it says it is skipped. The tool goes into
# a virtual environment of the project's own, .venv-schemathesis.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "${CI:-}" != "true" ] && [ "${SCHEMATHESIS:-}" != "on" ]; then
    echo "Schemathesis: skipped (it runs under CI=true, or with SCHEMATHESIS=on)"
    exit 0
fi
version="4.32.5"
venv=".venv-schemathesis"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    echo "Schemathesis: installing schemathesis $version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

# The same build as `make test`'s (`--workspace --all-targets --all-features`,
# and AUTHUSERS_TEST_POSTGRES_URL, which infra-diesel's build script reads),
# so that after it this is a no-op: `-p authusers-api-actix` alone would
# resolve features apart from the workspace's and compile the dependency
# tree a second time.
cargo build --quiet --locked --workspace --all-targets --all-features
binary="${CARGO_TARGET_DIR:-target}/debug/authusers"
. deploy/scripts/serve-lib.sh

# Failed logins are not limited here: the run sends the document's example
# credentials, which are the user's address, thousands of times, and the
# hook must still log in. Registrations stay limited, so 429 is exercised.
export DATABASE_URL="sqlite://$work/schemathesis.db" MAIL_TRANSPORT=log BCRYPT_COST=4 \
    JWT_ACCESS_TTL_SECONDS=3600 METRICS_TOKEN=schemathesis-metrics-token \
    LOGIN_MAX_FAILURES_PER_ACCOUNT=0 LOGIN_MAX_FAILURES_PER_ADDRESS=0
AUTHUSERS_ADMIN_PASSWORD='tangerine-orbit-77' "$binary" create-admin --email admin@example.com >/dev/null
start_server schemathesis
base="http://127.0.0.1:$port"

post() { curl -s -X "$1" "$base$2" -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$4"; }
access() { sed -n 's/.*"access":"\([^"]*\)".*/\1/p'; }
admin="$(post POST /auth/jwt/create/ "" '{"email": "admin@example.com", "password": "tangerine-orbit-77"}' | access)"
# The user's password is none of the document's examples, so that the
# examples of set_password and delete_account do not succeed and end the
# account the run is logged in as.
user_password='saffron-harbor-48'
user_id="$(post POST /auth/users/ "" "{\"email\": \"ann@example.com\", \"password\": \"$user_password\"}" \
    | sed -n 's/.*"id":\([0-9]*\).*/\1/p')"
post PATCH "/confirm-users/$user_id/" "$admin" '{"action": "accept"}' >/dev/null
[ -n "$admin" ] && [ -n "$user_id" ] || { echo "Schemathesis: no administrator token or user" >&2; exit 1; }

# The bearer token comes from auth_hooks.py, which logs in again when the
# run has ended its session.
export PYTHONPATH="$PWD/deploy/schemathesis" SCHEMATHESIS_HOOKS=auth_hooks AUTHUSERS_BASE_URL="$base"
status=0
for who in administrator user; do
    AUTHUSERS_EMAIL=admin@example.com AUTHUSERS_PASSWORD=tangerine-orbit-77
    [ "$who" = user ] && AUTHUSERS_EMAIL=ann@example.com AUTHUSERS_PASSWORD="$user_password"
    export AUTHUSERS_EMAIL AUTHUSERS_PASSWORD
    echo "Schemathesis: as the $who"
    "$venv/bin/schemathesis" --config-file deploy/schemathesis/schemathesis.toml \
        run "$base/openapi.json" || status=1
done
if [ "$status" -ne 0 ]; then
    echo "Schemathesis found failures; the server's log:" >&2
    tail -n 50 "$work/schemathesis.log" >&2
fi
exit "$status"
