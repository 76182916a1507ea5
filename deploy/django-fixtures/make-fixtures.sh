#!/usr/bin/env bash
# Makes the Django fixtures of the user-import tests with Django itself:
#     deploy/django-fixtures/make-fixtures.sh [OUTDIR]
# OUTDIR defaults to crates/api-actix/tests/fixtures/django. The pinned
# packages (requirements.txt) go into the virtual environment .venv-django at
# the repository's root; the databases are throwaway SQLite files in a
# temporary directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
outdir="${1:-$root/crates/api-actix/tests/fixtures/django}"
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"

venv="$root/.venv-django"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "make-fixtures: installing requirements.txt into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    echo "$want" >"$stamp"
fi

cd "$here"
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" make_fixtures.py "$outdir"
