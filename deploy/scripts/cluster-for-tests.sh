#!/usr/bin/env bash
# Part of `make test`, under CI=true or with CLUSTER=on: the production
# topology (deploy/cluster/cluster.sh) on loopback with the debug binary the
# tests built, through its faults in short: up with two replicas, one
# replica killed, one failover of the database primary, down; once with the
# replicas reaching PostgreSQL through HAProxy, once through a libpq
# multi-host URL. Before that, cluster.sh's refusals: run without root, with
# a port in use, and with a package that cannot be installed, each one line
# with nothing left running. It needs root
# (it installs haproxy, patroni and etcd-server); elsewhere it says it is
# skipped, and under CI=true that is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "${CI:-}" != true ] && [ "${CLUSTER:-}" != on ]; then
    echo "Cluster faults: skipped (they run under CI=true, or with CLUSTER=on)"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "Cluster faults: cannot run: they need root (to install haproxy, patroni, etcd-server)"
    [ "${CI:-}" = true ] && exit 1
    exit 0
fi
export AUTHUSERS_BINARY="${AUTHUSERS_BINARY:-${CARGO_TARGET_DIR:-target}/debug/authusers}"
export CLUSTER_DIR="${CLUSTER_DIR:-/var/tmp/authusers-cluster-ci}"
export CLUSTER_BASE_PORT="${CLUSTER_BASE_PORT:-27000}"
cluster=deploy/cluster/cluster.sh
holder=""
trap '[ -z "$holder" ] || kill "$holder" 2>/dev/null; $cluster down >/dev/null 2>&1 || true' EXIT

# expect_refusal WHAT PATTERN COMMAND...: COMMAND fails with one line
# matching PATTERN (besides the note that it is installing packages), and
# leaves no cluster process behind.
expect_refusal() {
    local what="$1" pattern="$2" out
    shift 2
    if out="$("$@" 2>&1)"; then
        echo "Cluster faults: $what: cluster.sh succeeded" >&2
        exit 1
    fi
    # Progress ("cluster: installing ...") aside, one line.
    out="$(grep -v '^cluster: installing ' <<<"$out" || true)"
    if [ "$(printf '%s\n' "$out" | wc -l)" != 1 ] || ! grep -q -- "$pattern" <<<"$out"; then
        echo "Cluster faults: $what: expected one line matching '$pattern', got:" >&2
        printf '%s\n' "$out" >&2
        exit 1
    fi
    if pgrep -f -- "$CLUSTER_DIR/" >/dev/null; then
        echo "Cluster faults: $what: processes were left running" >&2
        exit 1
    fi
    echo "Cluster faults: $what: refused ($out)"
}

expect_refusal "without root" "run me as root" setpriv --reuid=nobody --regid=nogroup --clear-groups $cluster up 2
python3 -c "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', $CLUSTER_BASE_PORT + 80)); s.listen(); time.sleep(60)" &
holder=$!
sleep 0.5
expect_refusal "a port in use" "port $((CLUSTER_BASE_PORT + 80)) is in use" $cluster up 2
kill "$holder"
wait "$holder" 2>/dev/null || true
holder=""

# A package that cannot be installed: haproxy out of sight (no /usr/sbin on
# the PATH) and an apt-get that fails.
fake="$(mktemp -d)"
printf '#!/bin/sh\necho "E: Unable to locate package $*" >&2\nexit 100\n' >"$fake/apt-get"
chmod +x "$fake/apt-get"
expect_refusal "a package that cannot be installed" "cannot install haproxy" \
    env PATH="$fake:/usr/bin:/bin" $cluster up 2
rm -rf "$fake"

for url in haproxy multihost; do
    echo "Cluster faults: up with two replicas, the database through $url"
    CLUSTER_DATABASE_URL="$url" $cluster up 2
    deploy/cluster/faults.py --short
    $cluster down
    if pgrep -f -- "$CLUSTER_DIR/" >/dev/null; then
        echo "Cluster faults: processes were left running after down" >&2
        exit 1
    fi
done
