#!/usr/bin/env python3
"""A Django dumpdata file (jsonl) of COUNT generated users, for the benchmarks.

    django-users-dump.py [--first-pk K] COUNT FIXTURE OUT

Users K .. K+COUNT-1 (K is 1 unless told), each `bulk{pk}@example.com`,
pending when pk is a multiple of 10 (else approved), most with balances,
and all with the password hash of the user with pk 3 in FIXTURE (a Django
dumpdata file, such as crates/api-actix/tests/fixtures/django/users.json).
"""
import argparse
import json


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("fixture")
    parser.add_argument("out")
    parser.add_argument("--first-pk", type=int, default=1)
    args = parser.parse_args()

    with open(args.fixture) as f:
        records = json.load(f)
    password = next(r for r in records if r["model"] == "users.user" and r["pk"] == 3)["fields"]["password"]
    with open(args.out, "w") as f:
        for pk in range(args.first_pk, args.first_pk + args.count):
            fields = {
                "password": password, "last_login": None, "is_superuser": False,
                "email": f"bulk{pk}@example.com", "first_name": "Bulk", "last_name": f"User {pk}",
                "is_staff": False, "is_active": True, "date_joined": "2024-01-01T10:00:00Z",
                "status": "pending" if pk % 10 == 0 else "approved",
                "real_balance": f"{pk % 1000}.{pk % 100:02d}",
                "virtual_balance": "0.00" if pk % 3 == 0 else f"{pk % 7}.50",
                "groups": [], "user_permissions": [],
            }
            f.write(json.dumps({"model": "users.user", "pk": pk, "fields": fields}) + "\n")


if __name__ == "__main__":
    main()
