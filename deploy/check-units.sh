#!/usr/bin/env bash
# check-units.sh - checks deploy/systemd/*.service: installs the build into a
# scratch root (cmake --install BUILD --prefix /usr, DESTDIR), then runs
# `systemd-analyze verify --root` on the installed units (syntax, the
# ExecStart binaries, the man pages of Documentation=) and
# `systemd-analyze security --offline` with a maximum exposure score, and
# asserts the hardening settings the operator's guide promises. Exit 0 all
# good, 1 a check failed, 77 systemd-analyze missing (ctest: skipped).
#   bash deploy/check-units.sh BUILD_DIR
set -uo pipefail

BUILD=${1:?usage: check-units.sh BUILD_DIR}
MAX_EXPOSURE=${RP_UNIT_MAX_EXPOSURE:-2.0}
UNITS=(relayprobe-controller.service relayprobe-agent.service)

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "check-units: SKIPPED: systemd-analyze is not installed (apt-get install systemd)"
	exit 77
fi
STAGE=$(mktemp -d /tmp/rp-units.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
failed=0
fail() {
	echo "check-units: FAIL: $*" >&2
	failed=1
}

if ! DESTDIR="$STAGE" cmake --install "$BUILD" --prefix /usr >"$STAGE.log" 2>&1; then
	cat "$STAGE.log" >&2
	rm -f "$STAGE.log"
	echo "check-units: FAIL: cmake --install $BUILD" >&2
	exit 1
fi
rm -f "$STAGE.log"
UDIR="$STAGE/usr/lib/systemd/system"

for u in "${UNITS[@]}"; do
	[ -f "$UDIR/$u" ] || fail "$u is not installed in /usr/lib/systemd/system"
done
for f in usr/sbin/relayprobe-controller usr/sbin/relayprobe-agent usr/bin/relayprobe \
	usr/share/man/man1/relayprobe.1.gz usr/share/man/man8/relayprobe-agent.8.gz \
	usr/share/man/man8/relayprobe-controller.8.gz etc/relayprobe/controller.conf.example \
	etc/relayprobe/agent.conf.example; do
	[ -e "$STAGE/$f" ] || fail "/$f is not installed"
done
[ "$failed" -eq 0 ] || exit 1

# verify: the units' dependencies (sysinit.target...) are looked up under
# the root, so copy the host's systemd units beside ours (never over them);
# the man pages are looked up with man(1) on the host: MANPATH.
for d in /usr/lib/systemd/system /lib/systemd/system; do
	if [ -d "$d" ]; then
		cp -an "$d/." "$UDIR/" 2>/dev/null
		break
	fi
done
out=$(MANPATH="$STAGE/usr/share/man" SYSTEMD_LOG_LEVEL=notice \
	systemd-analyze verify --root="$STAGE" "${UNITS[@]/#/$UDIR/}" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	printf '%s\n' "$out" >&2
	fail "systemd-analyze verify (exit $rc; any output is a finding)"
else
	echo "check-units: systemd-analyze verify: clean"
fi

for u in "${UNITS[@]}"; do
	file="$UDIR/$u"
	# The settings the unit must carry (a later edit must not drop them).
	for want in 'User=relayprobe' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
		'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' 'CapabilityBoundingSet=' \
		'AmbientCapabilities=' 'MemoryDenyWriteExecute=yes' 'LockPersonality=yes' \
		'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' \
		'ProtectControlGroups=yes' 'RestrictNamespaces=yes' 'RestrictRealtime=yes' \
		'SystemCallFilter=@system-service' 'StateDirectory=relayprobe' \
		'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK'; do
		grep -qxF -- "$want" "$file" || grep -qx -- "${want}/agent" "$file" ||
			fail "$u: missing '$want'"
	done
	grep -q '^ExecStart=/usr/sbin/relayprobe-[a-z]* --config /etc/relayprobe/[a-z]*\.conf$' \
		"$file" || fail "$u: ExecStart is not '--config /etc/relayprobe/*.conf'"
	out=$(systemd-analyze security --offline=yes --root="$STAGE" \
		--threshold="$(awk -v m="$MAX_EXPOSURE" 'BEGIN{print int(m*10)}')" "$file" 2>&1)
	rc=$?
	score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ $rc -ne 0 ] || [ -z "$score" ]; then
		printf '%s\n' "$out" | grep -E '^✗|Overall' >&2
		fail "$u: systemd-analyze security: exposure ${score:-?} above $MAX_EXPOSURE (exit $rc)"
	else
		echo "check-units: $u: exposure $score (at most $MAX_EXPOSURE)"
	fi
done
grep -qx 'RuntimeDirectory=relayprobe' "$UDIR/relayprobe-controller.service" ||
	fail "controller: no RuntimeDirectory=relayprobe (the admin socket's directory)"
grep -qx 'RuntimeDirectoryMode=0750' "$UDIR/relayprobe-controller.service" ||
	fail "controller: RuntimeDirectoryMode is not 0750"

if [ "$failed" -ne 0 ]; then
	echo "check-units: FAILED" >&2
	exit 1
fi
echo "check-units: all checks passed"
exit 0
