#!/usr/bin/env bash
# Says whether the browser tests (headless Chromium through chromedriver: the
# reset page and the administrator's console) can run. Without the browser they are skipped, and this says so; under CI=true
# that is an error, because CI must run them.
set -euo pipefail

chromium="${AUTHUSERS_TEST_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
driver="${AUTHUSERS_TEST_CHROMEDRIVER:-$(command -v chromedriver || true)}"

if [ -n "$chromium" ] && [ -n "$driver" ]; then
    echo "Browser tests: on ($("$chromium" --version 2>/dev/null | head -n 1 || echo "$chromium"))"
elif [ "${CI:-}" = "true" ]; then
    echo "Chromium and chromedriver are missing, and CI must run the browser tests" >&2
    echo "(install Debian's chromium and chromium-driver, as .ci/run does)" >&2
    exit 1
else
    echo "Browser tests: skipped: no chromium or chromedriver, so neither the reset page nor the console is tried in a browser (install Debian's chromium and chromium-driver to run them)"
fi
