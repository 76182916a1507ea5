#!/usr/bin/env bash
# Part of `make test`: a Python with PyJWT, for the tests that verify this
# service's tokens as another service would (docs/examples/verify_token.py),
# and pyotp, which computes the second factor's codes for the tests where
# Debian's oathtool is not installed. They go into a virtual environment of
# the project's own, .venv-pyjwt, and its path is printed on stdout. Without
# Python or the package index the tests say they are skipped; under CI=true
# that is an error.
set -euo pipefail
cd "$(dirname "$0")/../.."

pyjwt="2.10.1"
cryptography="44.0.3"
pyotp="2.9.0"
venv=".venv-pyjwt"
python="$PWD/$venv/bin/python"
if "$python" -c "import jwt, cryptography, pyotp, sys; sys.exit(jwt.__version__ != '$pyjwt')" 2>/dev/null; then
    echo "$python"
    exit 0
fi
echo "PyJWT: installing PyJWT $pyjwt, cryptography $cryptography and pyotp $pyotp into $venv" >&2
if python3 -m venv "$venv" >&2 \
    && "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "PyJWT==$pyjwt" "cryptography==$cryptography" "pyotp==$pyotp" >&2; then
    echo "$python"
elif [ "${CI:-}" = "true" ]; then
    echo "PyJWT could not be installed, and CI must run the independent-verifier tests" >&2
    exit 1
else
    echo "PyJWT: not installed: the tests that verify tokens with it say they are skipped" >&2
fi
