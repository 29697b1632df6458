#!/usr/bin/env bash
# test_hardening.sh - the three programs are built hardened (CMakeLists.txt):
# PIE (ELF type DYN with the PIE flag), full RELRO (a GNU_RELRO
# segment and BIND_NOW), stack canaries (__stack_chk_fail imported) and
# _FORTIFY_SOURCE (fortified __*_chk functions imported, __snprintf_chk
# among them). Reads the binaries with readelf only; runs nothing.
#   bash tests/integration/test_hardening.sh BUILD/relayprobe
# relayprobe-agent and relayprobe-controller are found next to relayprobe.
# In a sanitizer build (RP_SANITIZE=ON: no _FORTIFY_SOURCE, it clashes with
# ASan) the other checks run and the test then exits 77 (skipped, not passed).
set -uo pipefail

BIN=${1:?usage: test_hardening.sh BUILD/relayprobe}
BUILD=$(cd "$(dirname "$BIN")" && pwd)
PROG=test_hardening
command -v readelf >/dev/null 2>&1 || {
	echo "$PROG: FAIL: readelf (binutils) is not installed" >&2
	exit 1
}

sanitize=0
grep -q '^RP_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null && sanitize=1

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
}
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

for name in relayprobe relayprobe-agent relayprobe-controller; do
	b=$BUILD/$name
	if [ ! -x "$b" ]; then
		not_ok "$name: built ($b missing)"
		continue
	fi
	header=$(readelf -hW "$b")
	dynamic=$(readelf -dW "$b")
	segments=$(readelf -lW "$b")
	dynsyms=$(readelf --dyn-syms -W "$b")
	check "$name: PIE (ELF type DYN)" grep -Eq '^ *Type: +DYN ' <<<"$header"
	check "$name: PIE (FLAGS_1 PIE)" grep -Eq '\(FLAGS_1\).*Flags:.* PIE' <<<"$dynamic"
	check "$name: RELRO (GNU_RELRO segment)" grep -q 'GNU_RELRO' <<<"$segments"
	check "$name: full RELRO (BIND_NOW)" grep -Eq '\(FLAGS\).*BIND_NOW|\(BIND_NOW\)' <<<"$dynamic"
	check "$name: full RELRO (FLAGS_1 NOW)" grep -Eq '\(FLAGS_1\).*Flags:.* NOW' <<<"$dynamic"
	check "$name: stack protector (__stack_chk_fail)" grep -Eq ' __stack_chk_fail(@|$)' <<<"$dynsyms"
	if [ "$sanitize" -eq 0 ]; then
		n=$(grep -Eo ' __[a-z0-9_]+_chk(@|$)' <<<"$dynsyms" | grep -vc __stack_chk_fail)
		echo "# $name: $n fortified functions imported"
		check "$name: _FORTIFY_SOURCE (__snprintf_chk)" grep -Eq ' __snprintf_chk(@|$)' <<<"$dynsyms"
	fi
done

echo "# $PROG: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
if [ "$sanitize" -eq 1 ]; then
	echo "$PROG: SKIPPED: _FORTIFY_SOURCE check (sanitizer build: not fortified, it clashes with ASan); the other $passed checks passed"
	exit 77
fi
exit 0
