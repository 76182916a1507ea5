# AuthUsers: the two commands are `make run` and `make test`.

CARGO ?= cargo
DATABASE_URL ?= authusers.db
MAIL_TRANSPORT ?= file
MAIL_DIR ?= var/mail
JWT_ISSUER ?= http://127.0.0.1:8000
RUN_ENV = DATABASE_URL=$(DATABASE_URL) MAIL_TRANSPORT=$(MAIL_TRANSPORT) MAIL_DIR=$(MAIL_DIR) \
	JWT_ISSUER=$(JWT_ISSUER)

.PHONY: run test lint fmt build release bench clean

## Build and serve on a local SQLite file (authusers.db); mail is written as
## .eml files into var/mail/; tokens are signed with an Ed25519 key made into
## var/ on the first run.
run:
	$(RUN_ENV) $(CARGO) run --locked -p authusers-api-actix --bin authusers -- serve

## Every test: domain units, repositories and HTTP on SQLite and PostgreSQL,
## and the pages in headless Chromium. PostgreSQL is started if it is
## installed but stopped; without one the PostgreSQL tests say they are
## skipped, and without Chromium and chromedriver so do the browser tests
## (both fail under CI=true). Tokens are also verified by PyJWT, as another
## service would, and the second factor's codes computed by oathtool or
## pyotp, never by the service (both installed into .venv-pyjwt). Then, under CI=true or with
## SCHEMATHESIS=on, schemathesis over the OpenAPI document (installed into
## .venv-schemathesis), and the cluster's faults in short (deploy/cluster/:
## HAProxy, Patroni, etcd; as root, installed when missing).
test:
	@pg_url="$$(deploy/scripts/postgres-for-tests.sh)" || exit 1; \
	if [ -n "$$pg_url" ]; then echo "PostgreSQL suite: on ($$pg_url)"; fi; \
	deploy/scripts/browser-for-tests.sh || exit 1; \
	pyjwt="$$(deploy/scripts/python-verifier-for-tests.sh)" || exit 1; \
	if [ -n "$$pyjwt" ]; then echo "PyJWT verifier: on ($$pyjwt)"; fi; \
	AUTHUSERS_TEST_POSTGRES_URL="$$pg_url" AUTHUSERS_TEST_PYJWT="$$pyjwt" \
	$(CARGO) test --locked --workspace --all-targets --all-features && \
	AUTHUSERS_TEST_POSTGRES_URL="$$pg_url" deploy/scripts/schemathesis.sh && \
	deploy/scripts/cluster-for-tests.sh

## Throughput and latency of the release binary, measured from outside with
## wrk (installed from Debian's packages when it is missing and this runs
## as root), on SQLite and PostgreSQL: GET /healthz/, GET /auth/users/me/
## per signing algorithm, PATCH /balance/ on one user, with new idempotency
## keys and over 32 users, reset_password with and without an account; then
## a login storm at the production bcrypt cost beside readers of
## GET /auth/users/me/; then moving in from Django: importing a million
## users (BENCH_IMPORT_USERS) and a login's hash, Django's against bcrypt;
## then lists at scale: a million users (10% pending) and a million ledger
## rows against an empty database (BENCH_SCALE_USERS, BENCH_SCALE_LEDGER);
## then a login with a second factor (TOTP) against one without.
bench: release
	@{ command -v wrk && command -v sqlite3; } >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& echo "Installing wrk and sqlite3 (Debian's packages)" && apt-get install -y -qq wrk sqlite3 >/dev/null; } || true
	@deploy/scripts/bench-http.sh
	@deploy/scripts/bench-login-storm.sh
	@deploy/scripts/bench-import.sh
	@deploy/scripts/bench-scale.sh
	@deploy/scripts/bench-mfa-login.sh

## Formatting and lints, as CI checks them.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --workspace --all-targets --all-features -- -D warnings

fmt:
	$(CARGO) fmt --all

build:
	$(CARGO) build --locked --workspace

release:
	$(CARGO) build --locked --release -p authusers-api-actix --bin authusers

clean:
	$(CARGO) clean
