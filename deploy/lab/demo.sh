#!/usr/bin/env bash
# demo.sh - the relayprobe lab demo: builds relayprobe and its daemons if
# they are missing, starts the lab of deploy/lab/lab.sh (namespaces, nine
# Postfix targets and a hop, a controller with its canary, three agents;
# RFC 5737 addresses only), audits every lab server from every vantage with
# DATA, waits for the canary (each test message arrives, or the lab's short
# wait ends), prints the matrix (partner-trust open-confirmed from the
# partner network only: DISAGREE; accept-drop accepted-not-delivered) and
# the proof from the store (delivering address, hops, delay; backscatter),
# and tears everything down, even on failure. Root; dependencies:
# scripts/install-deps.sh.
#   bash deploy/lab/demo.sh [BUILD_DIR]  (as root; default: build)
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD=${1:-${RP_BUILD_DIR:-build}}
case "$BUILD" in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: must run as root (network namespaces, Postfix): in a root shell, bash deploy/lab/demo.sh" >&2
	exit 2
fi
need=0
for b in relayprobe relayprobe-controller relayprobe-agent; do
	[ -x "$BUILD/$b" ] || need=1
done
if [ "$need" -eq 1 ]; then
	echo "=== building relayprobe ($BUILD)"
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" \
		--target relayprobe relayprobe-controller relayprobe-agent >/dev/null
fi
exec bash "$ROOT/deploy/lab/lab.sh" demo "$BUILD"
