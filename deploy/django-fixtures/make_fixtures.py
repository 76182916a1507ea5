#!/usr/bin/env python
"""Makes the Django fixtures of the user-import tests: users dumped by Django's
own dumpdata, their passwords, and simplejwt tokens. Run by make-fixtures.sh:

    python make_fixtures.py OUTDIR

Passwords, pks, names and dates are fixed; password salts, token jtis and
token times differ from one run to the next. Everything written is checked
before the script ends (hash formats, check_password, token signatures).
"""

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
UTC = dt.timezone.utc


def when(day, hour=10, minute=0, second=0, microsecond=0):
    return dt.datetime(2024, 1, day, hour, minute, second, microsecond, tzinfo=UTC)


# pk -> how the user is made. "hash" names the way the password hash is made
# (see make_hash); every password is distinct.
USERS = [
    dict(pk=3, email="alice.default@example.com", first_name="Alice", last_name="Default",
         hash="pbkdf2_sha256_default", password="pbkdf2-sha256-default-pass-3",
         real_balance="150.25", virtual_balance="10.00",
         date_joined=when(1), last_login=when(20, 8, 30, 15, 123456)),
    dict(pk=5, email="bob.lowiter@example.com", first_name="Bob", last_name="Lowiter",
         hash="pbkdf2_sha256_1000", password="pbkdf2-sha256-pass-5",
         real_balance="0.00", virtual_balance="99.99",
         date_joined=when(2, microsecond=250000), last_login=None),
    dict(pk=7, email="carol.sha1@example.com", first_name="Carol", last_name="Sha",
         hash="pbkdf2_sha1_1000", password="pbkdf2-sha1-pass-7",
         date_joined=when(3), last_login=when(21, 9)),
    dict(pk=11, email="dave.bcryptsha@example.com", first_name="Dave", last_name="Bcrypt",
         hash="bcrypt_sha256", password="bcrypt-sha256-pass-11",
         real_balance="1000000.00",
         date_joined=when(4, microsecond=7), last_login=None),
    dict(pk=12, email="erin.bcrypt@example.com", first_name="Erin", last_name="Bcrypt",
         hash="bcrypt", password="bcrypt-plain-pass-12",
         date_joined=when(5), last_login=when(22, 18, 45)),
    dict(pk=13, email="frank.argon2id@example.com", first_name="Frank", last_name="Argon",
         hash="argon2", password="argon2id-pass-13",
         real_balance="12.50", virtual_balance="0.01",
         date_joined=when(6, microsecond=999999), last_login=when(23, 7, 0, 0, 500)),
    dict(pk=14, email="grace.argon2i@example.com", first_name="Grace", last_name="Argon",
         hash="argon2i_legacy", password="argon2i-legacy-pass-14",
         date_joined=when(7), last_login=None),
    dict(pk=15, email="heidi.scrypt@example.com", first_name="Heidi", last_name="Scrypt",
         hash="scrypt", password="scrypt-pass-15",
         date_joined=when(8), last_login=when(24, 12)),
    dict(pk=20, email="admin@example.com", first_name="Ada", last_name="Admin",
         hash="pbkdf2_sha256_1000", password="administrator-pass-20",
         is_staff=True, is_superuser=True,
         date_joined=when(9), last_login=when(25, 10, 0, 1, 1000)),
    dict(pk=21, email="staff.member@example.com", first_name="Sam", last_name="Staff",
         hash="pbkdf2_sha256_1000", password="staff-only-pass-21",
         is_staff=True, groups=["staff"],
         date_joined=when(10), last_login=None),
    dict(pk=30, email="pending.user@example.com", first_name="Pat", last_name="Pending",
         hash="pbkdf2_sha256_1000", password="pending-pass-30", status="pending",
         date_joined=when(11, microsecond=123000), last_login=None),
    dict(pk=31, email="rejected.user@example.com", first_name="Rex", last_name="Rejected",
         hash="pbkdf2_sha256_1000", password="rejected-pass-31", status="rejected",
         date_joined=when(12), last_login=None),
    dict(pk=40, email="inactive.user@example.com", first_name="Ivy", last_name="Inactive",
         hash="pbkdf2_sha256_1000", password="inactive-pass-40", is_active=False,
         real_balance="42.00", virtual_balance="7.77",
         date_joined=when(13), last_login=when(26, 11)),
    dict(pk=41, email="no.password@example.com", first_name="Nora", last_name="Nopass",
         hash="unusable", password=None,
         date_joined=when(14), last_login=None),
    dict(pk=42, email="long.password@example.com", first_name="Lon", last_name="Long",
         hash="pbkdf2_sha256_1000",
         password="long-password-42-" + "abcdefghij" * 8 + "xyz",  # 100 bytes
         date_joined=when(15), last_login=None),
    dict(pk=43, email="unicode.password@example.com", first_name="Uma", last_name="Unicode",
         hash="pbkdf2_sha256_1000", password="пароль-секрет-43 ünï",
         date_joined=when(16), last_login=None),
    dict(pk=44, email="odd..dots@example.com", first_name="Otto", last_name="Dots",
         hash="pbkdf2_sha256_1000", password="odd-dots-pass-44",
         date_joined=when(17), last_login=None),
    dict(pk=1000, email="zoe.obrien@example.com", first_name="Zoë", last_name="O'Brien",
         hash="pbkdf2_sha256_1000", password="zoe-o-brien-pass-1000",
         real_balance="3.14", virtual_balance="2.72",
         date_joined=when(18, 23, 59, 59, 999000), last_login=when(27, 6)),
]

# The separate run that conflicts.json is dumped from. Records with "edit"
# are made valid in the database and altered afterwards in the JSON, since
# the database would not hold them (or would round them).
CONFLICTS = [
    dict(pk=3, copy_from_default=True),  # the same record as in users.json
    dict(pk=50, email="Dup@Example.com", password="conflict-pass-50", date_joined=when(28)),
    dict(pk=51, email="dup@example.com", password="conflict-pass-51", date_joined=when(28, 11)),
    dict(pk=52, email="dave.bcryptsha@example.com", password="conflict-pass-52",  # pk 11's
         date_joined=when(28, 12)),
    dict(pk=5, email="bob.new.address@example.com", password="conflict-pass-5",  # pk 5, new email
         first_name="Bob", last_name="Lowiter", real_balance="0.00", virtual_balance="99.99",
         date_joined=when(2, microsecond=250000)),
    dict(pk=53, email="negative.balance@example.com", password="conflict-pass-53",
         real_balance="-5.00", date_joined=when(28, 13)),
    dict(pk=54, email="three.places@example.com", password="conflict-pass-54",
         real_balance="12.34", date_joined=when(28, 14),
         edit=lambda f: f.update(real_balance="12.345")),
    dict(pk=55, email="bad.virtual@example.com", password="conflict-pass-55",
         date_joined=when(28, 15), edit=lambda f: f.update(virtual_balance="abc")),
    dict(pk=56, email="empty.email.before.edit@example.com", password="conflict-pass-56",
         date_joined=when(28, 16), edit=lambda f: f.update(email="")),
    dict(pk=57, email="no.password.field@example.com", password="conflict-pass-57",
         date_joined=when(28, 17), edit=lambda f: f.pop("password")),
    dict(pk=58, email="bad.date@example.com", password="conflict-pass-58",
         date_joined=when(28, 18), edit=lambda f: f.update(date_joined="not-a-date")),
    dict(pk=59, email="valid.newcomer@example.com", password="conflict-pass-59",
         first_name="Val", last_name="Newcomer", real_balance="20.00", virtual_balance="5.00",
         date_joined=when(29), last_login=when(29, 12)),
]

EXPECTED_PREFIX = {
    "pbkdf2_sha256_default": "pbkdf2_sha256$1000000$",
    "pbkdf2_sha256_1000": "pbkdf2_sha256$1000$",
    "pbkdf2_sha1_1000": "pbkdf2_sha1$1000$",
    "bcrypt_sha256": "bcrypt_sha256$$2b$12$",
    "bcrypt": "bcrypt$$2b$12$",
    "argon2": "argon2$argon2id$v=19$m=102400,t=2,p=8$",
    "argon2i_legacy": "argon2$argon2i$v=19$m=102400,t=2,p=8$",
    "scrypt": "scrypt$16384$",
}

# The time every token is minted at (its iat); valid tokens expire 36500
# days later, expired_access 5 minutes later.
MINT_TIME = dt.datetime(2024, 2, 1, 12, 0, 0, tzinfo=UTC)

SECOND_KEY = "not-the-legacy-signing-key-but-another-one-0123456789"


def make_hash(kind, password):
    from django.contrib.auth.hashers import (
        PBKDF2PasswordHasher,
        PBKDF2SHA1PasswordHasher,
        make_password,
    )

    if kind == "pbkdf2_sha256_default":
        return make_password(password, hasher="pbkdf2_sha256")
    if kind == "pbkdf2_sha256_1000":
        h = PBKDF2PasswordHasher()
        return h.encode(password, h.salt(), iterations=1000)
    if kind == "pbkdf2_sha1_1000":
        h = PBKDF2SHA1PasswordHasher()
        return h.encode(password, h.salt(), iterations=1000)
    if kind in ("bcrypt_sha256", "bcrypt", "argon2", "scrypt"):
        return make_password(password, hasher=kind)
    if kind == "argon2i_legacy":
        # What Django < 3.2 (before argon2id) wrote: "argon2" + argon2-cffi's
        # string of an argon2i hash.
        import argon2

        ph = argon2.PasswordHasher(
            type=argon2.low_level.Type.I, time_cost=2, memory_cost=102400, parallelism=8
        )
        return "argon2" + ph.hash(password)
    raise ValueError(kind)


def django_json(objects, indent=None):
    """Serializes a list of {"model","pk","fields"} as Django's json serializer
    (django/core/serializers/json.py) writes it in dumpdata."""
    out = ["["]
    kwargs = dict(ensure_ascii=False)
    if indent:
        kwargs.update(indent=indent, separators=(",", ": "))
    for i, obj in enumerate(objects):
        if i:
            out.append("," if indent else ", ")
        if indent:
            out.append("\n")
        out.append(json.dumps(obj, **kwargs))
    if indent:
        out.append("\n")
    out.append("]")
    if indent:
        out.append("\n")
    return "".join(out)


def dumpdata(*args, database="default"):
    """python manage.py dumpdata ..., as a separate process, its stdout."""
    cmd = [sys.executable, "manage.py", "dumpdata", "users.user", "auth.group",
           "--database", database, *args]
    return subprocess.run(cmd, cwd=HERE, check=True, capture_output=True,
                          env=os.environ.copy()).stdout.decode("utf-8")


def main():
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else
                  HERE.parent.parent / "crates/api-actix/tests/fixtures/django").resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(prefix="oldservice-fixtures-")
    os.environ["OLDSERVICE_DB_DIR"] = tmp.name
    os.environ["DJANGO_SETTINGS_MODULE"] = "oldservice.settings"
    sys.path.insert(0, str(HERE))
    os.chdir(HERE)

    import django

    django.setup()

    import bcrypt
    import jwt
    import rest_framework
    import rest_framework_simplejwt
    from importlib.metadata import version
    from django.conf import settings
    from django.contrib.auth.hashers import check_password, identify_hasher
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

    from users.models import User

    versions = {
        "python": sys.version.split()[0],
        "Django": django.__version__,
        "djangorestframework": rest_framework.__version__,
        "djangorestframework-simplejwt": version("djangorestframework_simplejwt"),
        "PyJWT": jwt.__version__,
        "argon2-cffi": version("argon2-cffi"),
        "bcrypt": bcrypt.__version__,
    }

    call_command("migrate", database="default", verbosity=0)
    call_command("migrate", database="conflicts", verbosity=0)

    # ---- the users of users.json ----
    staff = Group.objects.create(pk=1, name="staff")
    passwords = {}
    for spec in USERS:
        u = User(
            pk=spec["pk"], email=spec["email"],
            first_name=spec.get("first_name", ""), last_name=spec.get("last_name", ""),
            is_staff=spec.get("is_staff", False), is_superuser=spec.get("is_superuser", False),
            is_active=spec.get("is_active", True), status=spec.get("status", "approved"),
            real_balance=Decimal(spec.get("real_balance", "0.00")),
            virtual_balance=Decimal(spec.get("virtual_balance", "0.00")),
            date_joined=spec["date_joined"], last_login=spec["last_login"],
        )
        if spec["hash"] == "unusable":
            u.set_unusable_password()
        else:
            u.password = make_hash(spec["hash"], spec["password"])
            assert u.password.startswith(EXPECTED_PREFIX[spec["hash"]]), u.password
            assert check_password(spec["password"], u.password), spec["pk"]
            passwords[str(spec["pk"])] = {
                "password": spec["password"],
                "hasher": u.password.split("$", 1)[0],
            }
        u.save(force_insert=True)
        for g in spec.get("groups", []):
            u.groups.add(Group.objects.get(name=g))
    assert len("long-password-42-" + "abcdefghij" * 8 + "xyz") == 100
    assert staff.user_set.count() == 1

    users_json = dumpdata("--format", "json", "--indent", "2")
    users_jsonl = dumpdata("--format", "jsonl")
    users_compact = dumpdata("--format", "json")

    # ---- the separate run of conflicts.json ----
    conflict_passwords = {}
    for spec in CONFLICTS:
        if spec.get("copy_from_default"):
            u = User.objects.using("default").get(pk=spec["pk"])
            u.save(using="conflicts", force_insert=True)
            continue
        u = User(
            pk=spec["pk"], email=spec["email"],
            first_name=spec.get("first_name", ""), last_name=spec.get("last_name", ""),
            status="approved",
            real_balance=Decimal(spec.get("real_balance", "0.00")),
            virtual_balance=Decimal(spec.get("virtual_balance", "0.00")),
            date_joined=spec["date_joined"], last_login=spec.get("last_login"),
        )
        u.password = make_hash("pbkdf2_sha256_1000", spec["password"])
        u.save(using="conflicts", force_insert=True)
        if spec["pk"] != 57:  # 57 loses its password key
            conflict_passwords[str(spec["pk"])] = {"password": spec["password"],
                                                   "hasher": "pbkdf2_sha256"}
    # Both spellings are held: Django's unique is case-sensitive.
    assert User.objects.using("conflicts").filter(email__iexact="dup@example.com").count() == 2

    conflicts = json.loads(dumpdata("--format", "json", "--indent", "2", database="conflicts"))
    edits = {spec["pk"]: spec["edit"] for spec in CONFLICTS if "edit" in spec}
    for obj in conflicts:
        if obj["model"] == "users.user" and obj["pk"] in edits:
            edits.pop(obj["pk"])(obj["fields"])
    assert not edits
    conflicts_json = django_json(conflicts, indent=2)

    # ---- tokens ----
    def decode(token, key=settings.SECRET_KEY):
        return jwt.decode(token, key, algorithms=["HS256"])

    # simplejwt reads the clock once per token (tokens.aware_utcnow); it is
    # held at MINT_TIME so that every iat/exp is fixed and in the past of any
    # machine's clock. Only the jtis differ between runs.
    import rest_framework_simplejwt.tokens as simplejwt_tokens

    simplejwt_tokens.aware_utcnow = lambda: MINT_TIME

    tokens = {
        "signing_key": settings.SECRET_KEY,
        "algorithm": "HS256",
        "simplejwt_version": versions["djangorestframework-simplejwt"],
    }
    for pk in (3, 13, 20, 40, 41):
        refresh = RefreshToken.for_user(User.objects.get(pk=pk))
        tokens[str(pk)] = {"access": str(refresh.access_token), "refresh": str(refresh)}
    simplejwt_user_id = decode(tokens["3"]["access"])["user_id"]

    # The opposite kind of user_id to what this simplejwt writes (5.5.1 writes
    # a string; up to 5.5.0 an integer pk was written as a number), same claims.
    now = MINT_TIME
    opposite = 5 if isinstance(simplejwt_user_id, str) else "5"
    tokens["int_user_id_access" if isinstance(opposite, int) else "str_user_id_access"] = jwt.encode(
        {
            "token_type": "access",
            "exp": int((now + dt.timedelta(days=36500)).timestamp()),
            "iat": int(now.timestamp()),
            "jti": uuid.uuid4().hex,
            "user_id": opposite,
        },
        settings.SECRET_KEY, algorithm="HS256",
    )

    expired = AccessToken.for_user(User.objects.get(pk=3))
    expired.set_exp(from_time=MINT_TIME, lifetime=dt.timedelta(minutes=5))
    tokens["expired_access"] = str(expired)

    unknown = AccessToken()
    unknown["user_id"] = "999999" if isinstance(simplejwt_user_id, str) else 999999
    tokens["unknown_user_access"] = str(unknown)

    tokens["wrong_key_access"] = jwt.encode(
        decode(tokens["3"]["access"]), SECOND_KEY, algorithm="HS256")
    tokens["wrong_key"] = SECOND_KEY

    # ---- write ----
    files = {
        "users.json": users_json,
        "users.jsonl": users_jsonl,
        "users-compact.json": users_compact,
        "passwords.json": json.dumps(passwords, indent=2, ensure_ascii=False) + "\n",
        "conflicts.json": conflicts_json,
        "conflicts-passwords.json":
            json.dumps(conflict_passwords, indent=2, ensure_ascii=False) + "\n",
        "not-a-dump.json": '{"hello": "world"}\n',
        "garbage.json": "this is not JSON, it is what a broken export might leave behind\n"
                        "[{\"model\": \"users.user\", \"pk\": 3,,, }\n",
        "tokens.json": json.dumps(tokens, indent=2) + "\n",
    }

    # truncated.json: users.json cut in the middle of the 5th user record.
    raw = users_json.encode("utf-8")
    starts = [i + 1 for i in range(len(raw)) if raw[i:i + 3] == b"\n{\n"]
    fifth_start, fifth_end = starts[4], starts[5]
    cut = (fifth_start + fifth_end) // 2
    files["truncated.json"] = raw[:cut].decode("utf-8")

    for name, text in files.items():
        (outdir / name).write_text(text, encoding="utf-8")
    (outdir / "README.md").write_text(readme(versions, simplejwt_user_id), encoding="utf-8")

    # ---- checks of what was written ----
    assert django_json(json.loads(users_json), indent=2) == users_json
    assert django_json(json.loads(users_compact)) == users_compact
    dumped = json.loads((outdir / "users.json").read_text())
    assert [o["model"] for o in dumped].count("auth.group") == 1
    assert json.loads(users_compact) == dumped
    assert [json.loads(line) for line in users_jsonl.splitlines()] == dumped
    by_pk = {o["pk"]: o["fields"] for o in dumped if o["model"] == "users.user"}
    assert sorted(by_pk) == sorted(s["pk"] for s in USERS)
    for spec in USERS:
        stored = by_pk[spec["pk"]]["password"]
        if spec["hash"] == "unusable":
            assert stored.startswith("!") and str(spec["pk"]) not in passwords
            continue
        assert stored.startswith(EXPECTED_PREFIX[spec["hash"]]), stored
        entry = passwords[str(spec["pk"])]
        assert check_password(entry["password"], stored), spec["pk"]
        assert not check_password(entry["password"] + "x", stored), spec["pk"]
        assert identify_hasher(stored).algorithm == entry["hasher"]
    try:
        json.loads(files["truncated.json"])
        raise AssertionError("truncated.json parses")
    except json.JSONDecodeError:
        pass
    cpk = {o["pk"]: o["fields"] for o in json.loads(conflicts_json) if o["model"] == "users.user"}
    assert cpk[3] == by_pk[3]
    assert cpk[52]["email"] == by_pk[11]["email"] and cpk[5]["email"] != by_pk[5]["email"]
    assert cpk[54]["real_balance"] == "12.345" and cpk[55]["virtual_balance"] == "abc"
    assert cpk[56]["email"] == "" and "password" not in cpk[57]
    assert cpk[58]["date_joined"] == "not-a-date" and cpk[53]["real_balance"] == "-5.00"
    for pk, entry in conflict_passwords.items():
        assert check_password(entry["password"], cpk[int(pk)]["password"]), pk
    for pk in ("3", "13", "20", "40", "41"):
        a, r = decode(tokens[pk]["access"]), decode(tokens[pk]["refresh"])
        assert a["token_type"] == "access" and r["token_type"] == "refresh"
        assert a["user_id"] == r["user_id"] == str(pk)
        assert a["iat"] == r["iat"] == int(MINT_TIME.timestamp())
        assert a["exp"] == r["exp"] == int((MINT_TIME + dt.timedelta(days=36500)).timestamp())
        assert list(a) == list(r) == ["token_type", "exp", "iat", "jti", "user_id"]
        assert a["jti"] != r["jti"]
    assert decode(tokens["int_user_id_access"])["user_id"] == 5
    try:
        decode(tokens["expired_access"])
        raise AssertionError("expired_access is not expired")
    except jwt.ExpiredSignatureError:
        pass
    assert decode(tokens["unknown_user_access"])["user_id"] == "999999"
    try:
        decode(tokens["wrong_key_access"])
        raise AssertionError("wrong_key_access verifies with the signing key")
    except jwt.InvalidSignatureError:
        pass
    assert decode(tokens["wrong_key_access"], SECOND_KEY)["user_id"] == "3"

    for name in sorted(p.name for p in outdir.iterdir()):
        print(f"{(outdir / name).stat().st_size:8d}  {outdir / name}")
    tmp.cleanup()


def readme(versions, simplejwt_user_id):
    kind = "a string" if isinstance(simplejwt_user_id, str) else "a number"
    v = "\n".join(f"- {k} {val}" for k, val in versions.items())
    return f"""# Django fixtures for the user-import tests

Made by Django itself with `deploy/django-fixtures/make-fixtures.sh` (re-run it
to make them anew; nothing here is edited by hand). Passwords, pks, names and
dates are fixed, and so are token times; only salts and token `jti`s change
on each run.

| file | what it is |
|---|---|
| `users.json` | `manage.py dumpdata users.user auth.group --format json --indent 2`: 18 users (pks 3..1000) and the group "staff" |
| `users.jsonl` | the same with `--format jsonl` |
| `users-compact.json` | the same with `--format json` (one line) |
| `passwords.json` | `{{"<pk>": {{"password", "hasher"}}}}` for every user of users.json with a usable password (not 41); `hasher` is the prefix as stored |
| `conflicts.json` | a dump (json, indent 2) of a separate database: 3 unchanged, 50/51 `Dup@Example.com`/`dup@example.com`, 52 with pk 11's email, 5 with another email, 53 `real_balance` -5.00; post-edited in the JSON: 54 `real_balance` "12.345", 55 `virtual_balance` "abc", 56 email "", 57 no `password` key, 58 `date_joined` "not-a-date"; 59 valid |
| `conflicts-passwords.json` | the passwords of conflicts.json's users whose password is intact (3 is in passwords.json) |
| `truncated.json` | users.json cut in the middle of its 5th user record (pk 12) |
| `not-a-dump.json`, `garbage.json` | valid JSON that is not a dump; text that is not JSON |
| `tokens.json` | simplejwt `RefreshToken.for_user(u)` and its `.access_token` for pks 3, 13, 20, 40 (inactive), 41; `int_user_id_access` (pk 5, `user_id` a JSON number, as simplejwt up to 5.5.0 wrote it; this simplejwt writes {kind}), `expired_access` (pk 3), `unknown_user_access` (user_id 999999), `wrong_key_access` (pk 3's claims signed with `wrong_key`); `signing_key` (HS256, the old SECRET_KEY), `simplejwt_version`. Every token is minted at 2024-02-01T12:00:00Z (`iat`); the valid ones expire 36500 days later, `expired_access` 5 minutes later |

Hashes: pk 3 pbkdf2_sha256 at 1,000,000 iterations (Django 5.2's default);
5, 20, 21, 30, 31, 40, 42, 43, 44, 1000 pbkdf2_sha256 at 1000; 7 pbkdf2_sha1 at
1000; 11 bcrypt_sha256; 12 bcrypt; 13 argon2 (argon2id); 14 argon2 holding an
argon2i hash as Django < 3.2 wrote it; 15 scrypt; 41 unusable ("!...").
42's password is 100 bytes; 43's has non-ASCII letters; 44's email is
`odd..dots@example.com`; 1000 is "Zoë" "O'Brien"; 21 is in the group
"staff" (`"groups": [1]`).

Formats as stored (`<salt>` and `<hash>` vary):
- `pbkdf2_sha256$<iterations>$<salt>$<base64 sha256 dk>` (pbkdf2_sha1 alike)
- `bcrypt_sha256$$2b$12$<22+31 chars>`: bcrypt of the hex SHA-256 of the password
- `bcrypt$$2b$12$<22+31 chars>`: bcrypt of the password itself
- `argon2$argon2id$v=19$m=102400,t=2,p=8$<salt>$<hash>` (14: `argon2$argon2i$...`)
- `scrypt$16384$<salt>$8$5$<base64 64-byte dk>`: N, salt, r, p, in that order
- `!<40 chars>`: unusable

dumpdata writes datetimes to the millisecond, microseconds cut, not rounded
(pk 11 joined at 10:00:00.000007, written "...T10:00:00.000Z"; a whole second
has no fraction), UTC as "Z", and decimals as strings. Its jsonl separates
keys with "," but values with ": ".

Versions:
{v}
"""


if __name__ == "__main__":
    main()
