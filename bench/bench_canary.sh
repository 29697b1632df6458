#!/usr/bin/env bash
# bench_canary.sh - messages/s into the canary listener (common/canary_server.c)
# over loopback: builds bench/bench_canary.c (target bench_canary) in BUILD
# (default build-bench, configured RelWithDebInfo when missing), then runs
# it in clear and with STARTTLS. Prints one key=value line per run; fails
# only when the bench cannot run, a delivery fails, or a session's footprint
# passes 64 KiB (RP_CANARY_FOOTPRINT_MAX).
#
# The last run goes through the controller's canary (bench_canary_store -S):
# real tokens, SQLite commits, and the time until every awaiting result
# shows open-confirmed.
#   bash bench/bench_canary.sh [BUILD_DIR]
#   env: RP_BENCH_THREADS (8), RP_BENCH_MSGS per thread (1000),
#        RP_BENCH_PER_SESSION messages a session (10), RP_BENCH_TLS=0 to skip TLS
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
THREADS=${RP_BENCH_THREADS:-8}
MSGS=${RP_BENCH_MSGS:-1000}
PER=${RP_BENCH_PER_SESSION:-10}

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j2 --target bench_canary bench_canary_store >/dev/null

"$BUILD/bench_canary" -t "$THREADS" -n "$MSGS" -m "$PER"
if [ "${RP_BENCH_TLS:-1}" != 0 ]; then
	"$BUILD/bench_canary" -t "$THREADS" -n "$MSGS" -m "$PER" -T
fi
# Through the controller's canary into a SQLite store on disk (not /tmp,
# which may be tmpfs): every arrival committed (synchronous=FULL) and its
# result upgraded before its 250. 25 messages a session keep each client
# under the per-peer limit of 60 new sessions a minute.
STORE=$(mktemp -d -p "$BUILD" bench-canary-store.XXXXXX)
trap 'rm -rf "$STORE"' EXIT
"$BUILD/bench_canary_store" -S "$STORE" -t "$THREADS" -n "$MSGS" -m 25 2>/dev/null
