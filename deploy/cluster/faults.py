#!/usr/bin/env python3
"""Faults under load, on a cluster that deploy/cluster/cluster.sh brought up.

Writers send `PATCH /balance/` (`in`, 1.00 real) through HAProxy, each with an
Idempotency-Key, and retry a failed write with the same key until it is
acknowledged; readers send `GET /auth/users/me/`. Meanwhile the faults run,
one after the other:

- kill-replica: replica 1 killed with SIGKILL (then started again);
- rolling-restart: every replica stopped with SIGTERM and started again;
- kill-postgres (full run only): the leader's postmaster alone killed,
  which Patroni restarts in place;
- kill-primary: the leader's Patroni and PostgreSQL killed together, so
  that the synchronous standby is promoted;
- heal (full run only): the lost node started again; it rejoins as the
  synchronous standby, so that the run can be repeated.

Then every acknowledged write is read back from the ledger (once each, never
twice) and every balance is checked against its ledger. Prints, per fault,
the requests sent, acknowledged and failed by status, and the seconds until
writes resumed after the loss of the primary; exits 1 when a rule is broken:

- kill-replica: failures at most the requests in flight (one per client),
  none once the replica is out (2 s after the kill);
- rolling-restart: no failure at all;
- kill-primary and kill-postgres: writes resume within 30 s;
- anywhere: no 500, no acknowledged write lost, none applied twice.

usage: faults.py [--short] [--writers N] [--readers N]
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(HERE, "cluster.sh")
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = os.environ.get("CLUSTER_ADMIN_PASSWORD", "tangerine-orbit-77")
# The administrator's TOTP secret: production asks administrators for a
# second factor (MFA_REQUIRED_FOR_ADMINS), so the drill enrols its own once.
ADMIN_TOTP_FILE = os.path.join(os.environ.get("CLUSTER_DIR", "/var/tmp/authusers-cluster"), "admin-totp")
WRITE_GIVE_UP_SECONDS = 90
RESUME_LIMIT_SECONDS = 30
OUT_AFTER_SECONDS = 2.0


def cluster(*args):
    done = subprocess.run([CLUSTER, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"faults: cluster.sh {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


class Client:
    """One keep-alive connection to the API, opened again when it breaks."""

    def __init__(self, api):
        url = urllib.parse.urlsplit(api)
        self.host, self.port = url.hostname, url.port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """(status, parsed body or None, headers); status 0 on a broken
        connection, with the reason in place of the body."""
        headers = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.conn.request(method, path, payload, headers)
            answer = self.conn.getresponse()
            raw = answer.read()
            if answer.getheader("connection", "").lower() == "close":
                self.close()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return answer.status, parsed, answer
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return 0, type(error).__name__, None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Log:
    """Every request's start, end, kind and status; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []  # (started, ended, kind, status)
        self.acknowledged = {}  # key -> (email, acknowledged at)
        self.given_up = []

    def add(self, started, kind, status):
        with self.lock:
            self.requests.append((started, time.monotonic(), kind, status))


def sign_in(client, email, password):
    status, body, _ = client.request("POST", "/auth/jwt/create/", {"email": email, "password": password})
    if status != 200:
        sys.exit(f"faults: {email} cannot log in: {status} {body}")
    return body["access"]


def totp(secret, at):
    """RFC 6238's code of the base-32 `secret` at `at` (SHA-1, 6 digits, 30 s)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def admin_sign_in(client):
    """The administrator's access token, with the second factor: enrolled on
    the first run (its secret kept in ADMIN_TOTP_FILE), proved on later ones."""
    login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    status, body, _ = client.request("POST", "/auth/jwt/create/", login)
    if status == 401 and body and body.get("code") == "mfa_required":
        with open(ADMIN_TOTP_FILE) as stored:
            secret = stored.read().strip()
        for _ in range(2):
            status, pair, _ = client.request(
                "POST", "/auth/jwt/create/mfa/", {"mfa_token": body["mfa_token"], "code": totp(secret, time.time())})
            if status == 200:
                return pair["access"]
            # The code of this step was used by the run before: the next one.
            time.sleep(30 - time.time() % 30 + 1)
        sys.exit(f"faults: the administrator's second step: {status} {pair}")
    if status != 200:
        sys.exit(f"faults: {ADMIN_EMAIL} cannot log in: {status} {body}")
    token = body["access"]
    auth = {"Authorization": "Bearer " + token}
    status, enrolment, _ = client.request("POST", "/auth/mfa/totp/", {"current_password": ADMIN_PASSWORD}, auth)
    if status != 201:
        sys.exit(f"faults: enrolling the administrator: {status} {enrolment}")
    status, body, _ = client.request(
        "POST", "/auth/mfa/totp/confirm/", {"code": totp(enrolment["secret"], time.time())}, auth)
    if status != 200:
        sys.exit(f"faults: confirming the administrator's second factor: {status} {body}")
    fd = os.open(ADMIN_TOTP_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as stored:
        stored.write(enrolment["secret"])
    return token


def make_users(api, count):
    """`count` approved users, each with an access token."""
    client = Client(api)
    admin = {"Authorization": "Bearer " + admin_sign_in(client)}
    users = []
    run = uuid.uuid4().hex[:8]
    for i in range(count):
        email, password = f"load-{run}-{i}@example.com", f"amber-harbour-{run}-{i}"
        status, body, _ = client.request("POST", "/auth/users/", {"email": email, "password": password})
        if status != 201:
            sys.exit(f"faults: registering {email}: {status} {body}")
        status, body, _ = client.request(
            "PATCH", f"/confirm-users/{body['id']}/", {"action": "accept"}, admin)
        if status != 200:
            sys.exit(f"faults: approving {email}: {status} {body}")
        users.append((email, sign_in(client, email, password)))
    return run, users


def writer(api, email, token, log, stop):
    client = Client(api)
    auth = {"Authorization": "Bearer " + token}
    while not stop.is_set():
        key = str(uuid.uuid4())
        first = time.monotonic()
        while True:
            started = time.monotonic()
            status, body, answer = client.request(
                "PATCH", "/balance/", {"action": "in", "value_type": "real", "value": "1.00"},
                {**auth, "Idempotency-Key": key})
            log.add(started, "write", status)
            if status == 200:
                with log.lock:
                    log.acknowledged[key] = (email, time.monotonic())
                break
            if status in (400, 401, 403, 409, 422):
                sys.stderr.write(f"faults: a write was refused for good: {status} {body}\n")
                os._exit(1)
            if time.monotonic() - first > WRITE_GIVE_UP_SECONDS:
                with log.lock:
                    log.given_up.append(key)
                break
            wait = 0.2
            if answer is not None and (answer.getheader("retry-after") or "").isdigit():
                wait = min(1.0, float(answer.getheader("retry-after")))
            time.sleep(wait)


def reader(api, token, log, stop):
    client = Client(api)
    auth = {"Authorization": "Bearer " + token}
    while not stop.is_set():
        started = time.monotonic()
        status, _, _ = client.request("GET", "/auth/users/me/", None, auth)
        log.add(started, "read", status)
        if status != 200:
            time.sleep(0.2)


def psql(database_url, sql):
    done = subprocess.run(["psql", "-qtAX", "-F", "\t", database_url, "-c", sql],
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"faults: psql failed: {done.stderr.strip()}")
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def leader_writes_resumed(log, since):
    """Seconds from `since` to the first acknowledged write sent after it."""
    with log.lock:
        times = [ended for started, ended, kind, status in log.requests
                 if kind == "write" and status == 200 and started >= since]
    return min(times) - since if times else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true",
                        help="CI's run: one replica killed, one failover")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    args = parser.parse_args()

    status = json.loads(cluster("status", "--json"))
    api, database_url = status["api"], status["database_url"]
    replicas = sum(1 for p in status["processes"] if p["role"] == "replica")
    run, users = make_users(api, args.writers + args.readers)
    ours = f"load-{run}-%"
    log, stop = Log(), threading.Event()
    threads = [threading.Thread(target=writer, args=(api, e, t, log, stop))
               for e, t in users[:args.writers]]
    threads += [threading.Thread(target=reader, args=(api, t, log, stop))
                for _, t in users[args.writers:]]
    for thread in threads:
        thread.start()

    phases = []  # (name, started, ended, extra)

    def phase(name, action, settle):
        started = time.monotonic()
        extra = action()
        time.sleep(settle)
        phases.append((name, started, time.monotonic(), extra))
        print(f"faults: {name} done", file=sys.stderr)

    def wait_for_writes(since):
        deadline = since + RESUME_LIMIT_SECONDS + 30
        while time.monotonic() < deadline:
            resumed = leader_writes_resumed(log, since)
            if resumed is not None:
                return resumed
            time.sleep(0.2)
        return None

    def kill_primary(*flags):
        def act():
            cluster("kill-primary", *flags)
            # The kill is the script's last step.
            since = time.monotonic()
            return {"resumed_after": wait_for_writes(since)}
        return act

    time.sleep(3)
    phases.append(("steady", 0.0, time.monotonic(), {}))
    phase("kill-replica", lambda: cluster("kill-replica", "1"), 5)
    if not args.short:
        phase("start-replica", lambda: cluster("start-replica", "1"), 2)
        phase("rolling-restart", lambda: cluster("rolling-restart"), 2)
        phase("kill-postgres", kill_primary("--postgres-only"), 5)
    phase("kill-primary", kill_primary(), 5)
    if not args.short:
        phase("heal", lambda: cluster("heal"), 3)
    stop.set()
    for thread in threads:
        thread.join()

    # Every acknowledged write read back, once; every balance equal to its
    # ledger (each write is 1.00).
    rows = psql(database_url, "SELECT u.email, t.idempotency_key FROM balance_transactions t "
                f"JOIN users u ON u.id = t.user_id WHERE u.email LIKE '{ours}' "
                "AND t.idempotency_key IS NOT NULL")
    applied = {}
    for email, key in rows:
        applied[key] = applied.get(key, 0) + 1
    lost = [k for k in log.acknowledged if applied.get(k, 0) == 0]
    twice = [k for k, n in applied.items() if n > 1]
    unacknowledged = [k for k in applied if k not in log.acknowledged]
    balances = psql(database_url, "SELECT u.email, u.real_balance_cents, "
                    "(SELECT count(*) FROM balance_transactions t WHERE t.user_id = u.id) "
                    f"FROM users u WHERE u.email LIKE '{ours}'")
    unbalanced = [email for email, cents, entries in balances if int(cents) != 100 * int(entries)]

    broken = []
    print(f"{'phase':<16} {'sent':>6} {'acked':>6}  failed by status")
    for name, started, ended, extra in phases:
        inside = [r for r in log.requests if started <= r[0] < ended]
        failed = {}
        for _, _, _, code in inside:
            if code != 200:
                label = "no answer" if code == 0 else str(code)
                failed[label] = failed.get(label, 0) + 1
        acked = sum(1 for r in inside if r[3] == 200)
        notes = ""
        if "resumed_after" in extra:
            resumed = extra["resumed_after"]
            notes = "writes resumed after " + ("never" if resumed is None else f"{resumed:.1f} s")
            if resumed is None or resumed > RESUME_LIMIT_SECONDS:
                broken.append(f"{name}: writes did not resume within {RESUME_LIMIT_SECONDS} s")
        print(f"{name:<16} {len(inside):>6} {acked:>6}  {json.dumps(failed, sort_keys=True)} {notes}")
        if name == "kill-replica":
            late = [r for r in inside if r[3] != 200 and r[0] >= started + OUT_AFTER_SECONDS]
            if sum(failed.values()) > args.writers + args.readers:
                broken.append(f"kill-replica: {sum(failed.values())} failures, more than the "
                              f"{args.writers + args.readers} requests that can be in flight")
            if late:
                broken.append(f"kill-replica: {len(late)} failures after the replica was out")
        if name == "rolling-restart" and failed:
            broken.append(f"rolling-restart: {sum(failed.values())} failed requests")
    every = log.requests
    if any(r[3] == 500 for r in every):
        broken.append(f"{sum(1 for r in every if r[3] == 500)} answers were 500")
    print(f"{'all':<16} {len(every):>6} {sum(1 for r in every if r[3] == 200):>6}")
    print(f"writes acknowledged {len(log.acknowledged)}, applied {len(applied)}, lost {len(lost)}, "
          f"applied twice {len(twice)}, applied but never acknowledged {len(unacknowledged)}, "
          f"given up {len(log.given_up)}; balances off their ledger {len(unbalanced)} "
          f"({replicas} replicas, {args.writers} writers, {args.readers} readers)")
    if lost:
        broken.append(f"{len(lost)} acknowledged writes lost")
    if twice:
        broken.append(f"{len(twice)} writes applied twice")
    if unbalanced:
        broken.append(f"{len(unbalanced)} balances differ from their ledger")
    if log.given_up:
        broken.append(f"{len(log.given_up)} writes never acknowledged")
    for line in broken:
        print("BROKEN: " + line)
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
