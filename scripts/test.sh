#!/usr/bin/env bash
# test.sh - relayprobe's whole test suite, as root on Debian 12: installs the
# dependencies, checks formatting (clang-format) and the include rules
# (scripts/include-cycles.py), builds a normal build
# (build/) and an ASan+UBSan build (build-asan/), and runs ctest (unit, fuzz
# corpus replay, integration against real Postfix; not the benchmark) in both;
# then cppcheck over build/compile_commands.json (any finding fails) and a
# clang libFuzzer build (build-fuzz/) whose harnesses each fuzz a copy of
# their corpus for RP_FUZZ_SECONDS (a crash fails).
# Exits non-zero when any step fails; prints every ctest summary at the end.
#
#   bash scripts/test.sh            everything (what CI runs)
#   bash scripts/test.sh --quick    no ASan build, no fuzzing (developer loop)
#   options: --no-deps (skip install-deps.sh), --no-format, --no-fuzz
#   env: RP_BUILD_DIR, RP_ASAN_BUILD_DIR, RP_FUZZ_BUILD_DIR (default build,
#        build-asan, build-fuzz), RP_FUZZ_SECONDS (default 15), JOBS
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
quick=0
deps=1
format=1
fuzz=1
for arg in "$@"; do
	case "$arg" in
	--quick)
		quick=1
		fuzz=0
		;;
	--no-fuzz) fuzz=0 ;;
	--no-deps) deps=0 ;;
	--no-format) format=0 ;;
	-h | --help)
		sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "test.sh: unknown option '$arg' (try --help)" >&2
		exit 2
		;;
	esac
done

BUILD=${RP_BUILD_DIR:-build}
ASAN_BUILD=${RP_ASAN_BUILD_DIR:-build-asan}
FUZZ_BUILD=${RP_FUZZ_BUILD_DIR:-build-fuzz}
FUZZ_SECONDS=${RP_FUZZ_SECONDS:-15}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
LOGDIR=$(mktemp -d /tmp/rptest.XXXXXX)
trap 'rm -rf "$LOGDIR"' EXIT

failures=()
summaries=()

step() {
	printf '\n=== %s\n' "$*"
}

fail() {
	failures+=("$1")
	echo "test.sh: FAILED: $1" >&2
}

if [ "$deps" -eq 1 ]; then
	step "dependencies"
	bash scripts/install-deps.sh || {
		echo "test.sh: install-deps.sh failed" >&2
		exit 1
	}
fi

if [ "$format" -eq 1 ]; then
	step "format (clang-format --dry-run --Werror)"
	mapfile -t srcs < <(find common wire cli tests bench agent controller -type f \
		\( -name '*.c' -o -name '*.h' \) ! -name '*.pb-c.*' 2>/dev/null | sort)
	if [ ${#srcs[@]} -eq 0 ]; then
		fail "format: no sources found"
	elif clang-format --dry-run --Werror "${srcs[@]}"; then
		echo "format: ${#srcs[@]} files clean"
	else
		fail "format (run: clang-format -i on the files above)"
	fi
fi

# The include rules: folders only include downwards, and no two modules of
# a folder include each other (scripts/include-cycles.py).
step "include rules (scripts/include-cycles.py)"
if python3 scripts/include-cycles.py; then
	echo "include rules: no upward include, no circle"
else
	fail "include rules (scripts/include-cycles.py)"
fi

# build_and_test NAME DIR [cmake args...]
build_and_test() {
	local name=$1 dir=$2 log
	shift 2
	step "$name: configure + build ($dir)"
	if ! cmake -S "$ROOT" -B "$dir" "$@" >"$LOGDIR/$name.cmake" 2>&1; then
		cat "$LOGDIR/$name.cmake"
		fail "$name: cmake configure"
		return
	fi
	if ! cmake --build "$dir" -j"$JOBS"; then
		fail "$name: build"
		return
	fi
	step "$name: ctest -LE bench"
	log="$LOGDIR/$name.ctest"
	(cd "$dir" && ctest --output-on-failure -LE bench) 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local s
	s=$(grep -E 'tests passed|tests failed|No tests were found' "$log" | tail -n 1)
	summaries+=("$name: ${s:-no ctest summary}")
	if [ "$rc" -ne 0 ]; then
		fail "$name: ctest"
	elif grep -q 'No tests were found' "$log"; then
		fail "$name: no tests found"
	fi
}

build_and_test normal "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo

if [ "$quick" -eq 0 ]; then
	# Leaks are reported at exit; UBSan stops at the first error.
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	# The .deb install test (tests/integration/test_deb_install.sh) packages
	# the build: it runs in the normal build only (reported as skipped here).
	export RP_SKIP_DEB=1
	build_and_test asan+ubsan "$ASAN_BUILD" -DCMAKE_BUILD_TYPE=Debug -DRP_SANITIZE=ON
fi

# Static analysis: cppcheck on what the normal build compiles (its
# compile_commands.json; generated protobuf code left out), the system macros
# it must know in tests/cppcheck/relayprobe.cfg, suppressions (each with its
# reason) in tests/cppcheck/suppressions.txt. Any finding fails.
static_analysis() {
	local log=$LOGDIR/cppcheck.log
	step "static analysis (cppcheck)"
	if [ ! -f "$BUILD/compile_commands.json" ]; then
		fail "cppcheck: no $BUILD/compile_commands.json"
		return
	fi
	if ! cppcheck --project="$BUILD/compile_commands.json" -j"$JOBS" --quiet \
		--enable=warning,portability --inline-suppr --error-exitcode=1 \
		--suppressions-list=tests/cppcheck/suppressions.txt --library=tests/cppcheck/relayprobe.cfg \
		-i"$BUILD/proto" --cppcheck-build-dir="$LOGDIR" \
		--template='{file}:{line}: {severity}: {id}: {message}' 2>"$log"; then
		cat "$log"
		fail "cppcheck: $(grep -c ': ' "$log") finding(s)"
		return
	fi
	echo "cppcheck: clean"
}
static_analysis

# libFuzzer: clang, ASan+UBSan, every harness fuzzing a scratch copy of its
# committed corpus (the corpus in the tree is not changed). A crash, leak,
# timeout or out-of-memory fails; the crashing input is kept in $LOGDIR/..
run_fuzzers() {
	local dir=$FUZZ_BUILD name corpus work
	step "fuzz: clang libFuzzer build ($dir), ${FUZZ_SECONDS}s per harness"
	if ! CC=clang cmake -S "$ROOT" -B "$dir" -DCMAKE_C_COMPILER=clang \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRP_FUZZ=ON -DRP_SANITIZE=ON \
		>"$LOGDIR/fuzz.cmake" 2>&1; then
		cat "$LOGDIR/fuzz.cmake"
		fail "fuzz: cmake configure"
		return
	fi
	mapfile -t harnesses < <(cd "$ROOT" && ls tests/fuzz/*_fuzzer.c tests/wire/*_fuzzer.c |
		xargs -n1 basename | sed 's/\.c$//' | sort)
	if ! cmake --build "$dir" -j"$JOBS" --target "${harnesses[@]}"; then
		fail "fuzz: build"
		return
	fi
	work=$(mktemp -d /tmp/rpfuzz.XXXXXX)
	for name in "${harnesses[@]}"; do
		corpus=${name%_fuzzer}
		mkdir -p "$work/$corpus" "$work/$corpus.artifacts"
		cp -r "$ROOT/tests/fuzz/corpus/$corpus/." "$work/$corpus/"
		echo "fuzz: $name (${FUZZ_SECONDS}s)"
		if "$dir/$name" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
			-max_len=8192 -print_final_stats=1 -artifact_prefix="$work/$corpus.artifacts/" \
			"$work/$corpus" >"$LOGDIR/$name.fuzz" 2>&1; then
			grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$LOGDIR/$name.fuzz" |
				tail -n 2 | sed "s/^/  $name: /"
		else
			tail -n 40 "$LOGDIR/$name.fuzz"
			echo "fuzz: $name: crashing input kept in $work/$corpus.artifacts/" >&2
			fail "fuzz: $name"
			continue
		fi
		rm -rf "${work:?}/$corpus" "${work:?}/$corpus.artifacts"
	done
	rmdir "$work" 2>/dev/null || true
}
if [ "$fuzz" -eq 1 ]; then
	run_fuzzers
fi

step "summary"
for s in "${summaries[@]}"; do
	echo "$s"
done
if [ ${#failures[@]} -ne 0 ]; then
	echo "test.sh: ${#failures[@]} step(s) failed:"
	for f in "${failures[@]}"; do
		echo "  - $f"
	done
	exit 1
fi
echo "test.sh: all steps passed"
exit 0
