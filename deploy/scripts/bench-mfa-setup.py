"""Part of `make bench` (bench-mfa-login.sh): prepares the accounts a login
with a second factor is measured on, through the HTTP API, with pyotp
computing the codes as an authenticator app would.

    bench-mfa-setup.py enrol BASE ADMIN_TOKEN COUNT SECRETS_FILE
        registers COUNT users, has the administrator accept them, and turns
        TOTP on for each; writes "email secret" lines.
    bench-mfa-setup.py steps BASE SECRETS_FILE GROUPS OUT_PREFIX
        waits for a time step after the enrolments' own, logs each user in
        (the password step: 401 mfa_required) and writes, per group, one
        JSON body of /auth/jwt/create/mfa/ per line: the mfa_token and the
        code of the present step.
"""

import concurrent.futures
import json
import sys
import time
import urllib.error
import urllib.request

import pyotp

PASSWORD = "saffron-harbor-48"


def call(base, method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(request, data, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as refusal:
        return refusal.code, json.loads(refusal.read() or b"{}")


def expect(outcome, status, what):
    if outcome[0] != status:
        sys.exit(f"bench-mfa-setup: {what} answered {outcome[0]}: {outcome[1]}")
    return outcome[1]


def enrol_one(base, admin, index):
    email = f"mfa{index}@example.com"
    user = expect(call(base, "POST", "/auth/users/", {"email": email, "password": PASSWORD}), 201, "register")
    expect(call(base, "PATCH", f"/confirm-users/{user['id']}/", {"action": "accept"}, admin), 200, "accept")
    tokens = expect(call(base, "POST", "/auth/jwt/create/", {"email": email, "password": PASSWORD}), 200, "login")
    enrolment = expect(
        call(base, "POST", "/auth/mfa/totp/", {"current_password": PASSWORD}, tokens["access"]), 201, "begin"
    )
    secret = enrolment["secret"]
    code = pyotp.TOTP(secret).now()
    expect(call(base, "POST", "/auth/mfa/totp/confirm/", {"code": code}, tokens["access"]), 200, "confirm")
    return email, secret


def enrol(base, admin, count, secrets_file):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        enrolled = list(pool.map(lambda i: enrol_one(base, admin, i), range(count)))
    with open(secrets_file, "w") as out:
        for email, secret in enrolled:
            out.write(f"{email} {secret}\n")


def first_step(base, email):
    problem = expect(
        call(base, "POST", "/auth/jwt/create/", {"email": email, "password": PASSWORD}), 401, "the password step"
    )
    return problem["mfa_token"]


def steps(base, secrets_file, groups, out_prefix):
    users = [line.split() for line in open(secrets_file)]
    # The enrolments accepted a code of their step: wait for the next, so
    # that no code is refused as a replay.
    time.sleep(30 - time.time() % 30 + 1)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(lambda user: first_step(base, user[0]), users))
    now = time.time()
    bodies = [
        json.dumps({"mfa_token": token, "code": pyotp.TOTP(secret).at(now)})
        for (_, secret), token in zip(users, tokens)
    ]
    for group in range(groups):
        with open(f"{out_prefix}{group}", "w") as out:
            for body in bodies[group::groups]:
                out.write(body + "\n")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "enrol":
        enrol(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif command == "steps":
        steps(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(f"unknown command {command}")
