#!/usr/bin/env bash
# test_deb_install.sh - the .deb installs into a clean Debian 12 root and both
# daemons run from it under the units' settings. Builds the package (cmake
# --build BUILD --target package), unpacks a cached debootstrap minbase root
# (tests/integration/clean_root.sh: /var/cache/relayprobe-test/, made on
# the first run from the machine's Debian mirror), apt-get installs the .deb there (its Depends resolved by
# apt), checks the files, the user and the permissions, makes keys with the
# installed `relayprobe keygen`, and starts the controller and an agent from
# the example configs (addresses changed to 127.0.0.1 only) the way the
# units would: as user relayprobe, no capabilities, no_new_privs, the unit's
# UMask, a read-only root except the unit's ReadWritePaths, a private /tmp.
# The agent must connect (agents list over the admin socket, as an operator
# in group relayprobe), an audit of a closed loopback port must come back
# unreachable, and both daemons must stop cleanly on SIGTERM.
#   bash tests/integration/test_deb_install.sh BUILD/relayprobe
# Exit 77 (skipped) when RP_SKIP_DEB=1, in a sanitizer build, or not root.
# shellcheck disable=SC2317 # cleanup() runs from the EXIT trap
set -uo pipefail

BIN=${1:?usage: test_deb_install.sh BUILD/relayprobe}
BUILD=$(cd "$(dirname "$BIN")" && pwd)
PROG=test_deb_install

skip() {
	echo "$PROG: SKIPPED: $*"
	exit 77
}
die() {
	echo "$PROG: FAIL: $*" >&2
	exit 1
}

[ "${RP_SKIP_DEB:-0}" = 1 ] && skip "RP_SKIP_DEB=1 (the .deb is tested in the normal build only)"
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot, mounts)"
[ -f "$BUILD/CMakeCache.txt" ] || die "$BUILD is not a CMake build directory"
for tool in python3 dpkg-deb unshare ss; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
grep -q '^RP_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" &&
	skip "sanitizer build: the .deb is tested in the normal build only"

WORK=$(mktemp -d /var/tmp/rp-deb.XXXXXX)
ROOT=$WORK/root
PIDS=()

# shellcheck source=clean_root.sh
. "$(dirname "$0")/clean_root.sh"
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	sleep 0.2
	for pid in "${PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	rp_root_cleanup "$WORK"
}
trap cleanup EXIT

# 1. The package.
echo "$PROG: building the package in $BUILD"
cmake --build "$BUILD" --target package >"$WORK/package.log" 2>&1 || {
	tail -n 30 "$WORK/package.log"
	die "cmake --build $BUILD --target package"
}
DEB=$(find "$BUILD" -maxdepth 1 -name "relayprobe_*.deb" -printf '%T@ %p\n' | sort -rn |
	head -n 1 | cut -d' ' -f2-)
[ -n "$DEB" ] || die "no relayprobe_*.deb in $BUILD"
dpkg-deb -I "$DEB" >/dev/null || die "dpkg-deb -I $DEB"
DEPS=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/(.*)//; s/ //g' | grep -v '^$' | tr '\n' ' ')
echo "$PROG: $DEB (Depends: $DEPS)"

# 2. The clean root: debootstrap once, cached with the dependencies' .debs.
# shellcheck disable=SC2086 # DEPS is a list of package names
rp_root_cache $DEPS || die "no clean root (tests/integration/clean_root.sh)"
rp_root_unpack "$ROOT" || die "unpacking the clean root"
in_root() { chroot "$ROOT" "$@"; }

# 3. Install: apt-get resolves Depends (from the cached .debs; the network only
# if the Depends changed since the cache was made).
cp "$DEB" "$ROOT/tmp/relayprobe.deb"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y /tmp/relayprobe.deb \
	>"$WORK/install.log" 2>&1 || {
	tail -n 30 "$WORK/install.log"
	die "apt-get install relayprobe.deb in the clean root"
}
echo "$PROG: installed into a clean bookworm root"

fails=0
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
	else
		echo "not ok - $what" >&2
		fails=$((fails + 1))
	fi
}
# shellcheck disable=SC2016 # dpkg-query's own ${Status}
[ "$(in_root dpkg-query -W -f='${Status}' relayprobe)" = "install ok installed" ] ||
	die "dpkg says relayprobe is not installed"
for f in /usr/bin/relayprobe /usr/sbin/relayprobe-controller /usr/sbin/relayprobe-agent \
	/usr/lib/systemd/system/relayprobe-controller.service \
	/usr/lib/systemd/system/relayprobe-agent.service \
	/usr/share/man/man1/relayprobe.1.gz /usr/share/man/man8/relayprobe-controller.8.gz \
	/usr/share/man/man8/relayprobe-agent.8.gz /usr/share/doc/relayprobe/examples/agent.conf.example \
	/etc/relayprobe/controller.conf.example /etc/relayprobe/agent.conf.example; do
	check "installed $f" test -s "$ROOT$f"
done
check "man page relayprobe-agent(8) is roff" \
	bash -c "zcat '$ROOT/usr/share/man/man8/relayprobe-agent.8.gz' | grep -q '^\.TH RELAYPROBE.-AGENT 8'"
check "both example configs are conffiles" bash -c \
	"[ \$(chroot '$ROOT' dpkg-query -W -f='\${Conffiles}' relayprobe | grep -c 'conf.example') -eq 2 ]"
check "the binaries find their libraries" in_root /usr/sbin/relayprobe-controller --version
check "relayprobe-agent --version" in_root /usr/sbin/relayprobe-agent --version
check "postinst made the system user relayprobe" bash -c \
	"chroot '$ROOT' getent passwd relayprobe | awk -F: '\$3 < 1000 && \$7 ~ /nologin/' | grep -q ."
check "/etc/relayprobe is root:relayprobe 0750" \
	test "$(in_root stat -c '%a %U %G' /etc/relayprobe)" = "750 root relayprobe"

# 4. Keys and configs, as the operator's guide says.
in_root relayprobe keygen --role controller --name controller --out /etc/relayprobe >/dev/null ||
	die "keygen controller"
in_root relayprobe keygen --role agent --name agent1 --out /etc/relayprobe >"$WORK/keygen" ||
	die "keygen agent1"
in_root chown relayprobe:relayprobe /etc/relayprobe/controller.secret /etc/relayprobe/agent1.secret
FPR=$(sed -n 's/^fingerprint: //p' "$WORK/keygen")
[ -n "$FPR" ] || die "keygen printed no fingerprint"
port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
PORT=$((20000 + RANDOM % 20000))
while ! port_free "$PORT"; do PORT=$((PORT + 1)); done
CLOSED=$((PORT + 1))
while ! port_free "$CLOSED"; do CLOSED=$((CLOSED + 1)); done
sed "s|^listen = .*|listen = tcp://127.0.0.1:$PORT|" "$ROOT/etc/relayprobe/controller.conf.example" \
	>"$ROOT/etc/relayprobe/controller.conf"
# The test's mail listener is on loopback, which the agent never dials
# unless [scope] allow_special names it.
sed -e "s|^controller = .*|controller = tcp://127.0.0.1:$PORT|" \
	-e "s|^allow_special =.*|allow_special = loopback|" "$ROOT/etc/relayprobe/agent.conf.example" \
	>"$ROOT/etc/relayprobe/agent.conf"
grep -q "^allow_special = loopback" "$ROOT/etc/relayprobe/agent.conf" ||
	die "agent.conf.example no longer has an allow_special line: update this test"
grep -q "^keys = /etc/relayprobe/agent1.secret" "$ROOT/etc/relayprobe/agent.conf" ||
	die "agent.conf.example no longer names agent1.secret: update this test"

# 5. The units' settings, read from the installed units.
unit_get() { # unit_get UNIT KEY: the last value of KEY= in the installed unit
	sed -n "s/^$2=//p" "$ROOT/usr/lib/systemd/system/$1" | tail -n 1
}
prepare_dirs() { # StateDirectory / RuntimeDirectory, as systemd makes them
	local unit=$1 user group kind d mode
	user=$(unit_get "$unit" User)
	group=$(unit_get "$unit" Group)
	for kind in State:/var/lib Runtime:/run; do
		d=$(unit_get "$unit" "${kind%%:*}Directory")
		[ -n "$d" ] || continue
		mode=$(unit_get "$unit" "${kind%%:*}DirectoryMode")
		[ -d "$ROOT$(dirname "${kind#*:}/$d")" ] ||
			in_root install -d -m 0755 "$(dirname "${kind#*:}/$d")"
		in_root install -d -o "$user" -g "$group" -m "${mode:-0755}" "${kind#*:}/$d"
	done
}
start_unit() { # start_unit UNIT LOG: runs ExecStart as the unit would; pid in PIDS
	local unit=$1 log=$2 user group umask exec rw setup p
	user=$(unit_get "$unit" User)
	group=$(unit_get "$unit" Group)
	umask=$(unit_get "$unit" UMask)
	exec=$(unit_get "$unit" ExecStart)
	rw=$(unit_get "$unit" ReadWritePaths)
	[ "$(unit_get "$unit" NoNewPrivileges)" = yes ] || die "$unit: NoNewPrivileges is not yes"
	[ "$(unit_get "$unit" ProtectSystem)" = strict ] || die "$unit: ProtectSystem is not strict"
	prepare_dirs "$unit"
	# ProtectSystem=strict + ReadWritePaths, PrivateTmp, ProtectHome.
	setup="mount --make-rprivate / && mount --rbind '$ROOT' '$ROOT' &&
		mount -o remount,bind,ro '$ROOT' && mount -t tmpfs -o mode=1777 tmpfs '$ROOT/tmp' &&
		mount -t tmpfs -o ro tmpfs '$ROOT/home' && mount -t tmpfs -o ro tmpfs '$ROOT/root'"
	for p in $rw; do
		setup="$setup && mount --bind '$ROOT$p' '$ROOT$p' && mount -o remount,bind,rw '$ROOT$p'"
	done
	# CapabilityBoundingSet= and AmbientCapabilities= empty, NoNewPrivileges=yes.
	# shellcheck disable=SC2016 # $0/$@ expand in the inner sh
	unshare --mount -- bash -c "$setup && exec chroot '$ROOT' setpriv --reuid='$user' \
		--regid='$group' --init-groups --no-new-privs --bounding-set=-all --inh-caps=-all \
		-- sh -c 'umask $umask; exec \"\$0\" \"\$@\"' $exec" >"$log" 2>&1 &
	PIDS+=($!)
}
json_true() { # json_true FILE EXPR: EXPR (Python, the JSON in j) is true
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null
}
as_operator() { # the CLI as a member of group relayprobe, not root
	in_root setpriv --reuid=rpoperator --regid=rpoperator --init-groups relayprobe "$@"
}
in_root useradd --no-create-home --shell /usr/sbin/nologin -G relayprobe rpoperator ||
	die "useradd rpoperator"
in_root useradd --no-create-home --shell /usr/sbin/nologin rpoutsider || die "useradd rpoutsider"

start_unit relayprobe-controller.service "$WORK/controller.log"
CPID=${PIDS[0]}
for _ in $(seq 1 100); do
	[ -S "$ROOT/run/relayprobe/admin.sock" ] && break
	kill -0 "$CPID" 2>/dev/null || break
	sleep 0.1
done
[ -S "$ROOT/run/relayprobe/admin.sock" ] || {
	cat "$WORK/controller.log"
	die "the controller made no admin socket"
}
status_of() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
RPUID=$(in_root id -u relayprobe)
check "controller runs as relayprobe" test "$(status_of "$CPID" Uid | awk '{print $2}')" = "$RPUID"
check "controller has no_new_privs" test "$(status_of "$CPID" NoNewPrivs)" = 1
check "controller has an empty bounding set" test "$(status_of "$CPID" CapBnd)" = 0000000000000000
mount_opts() { # mount_opts PID PATH: the options of the mount at PATH for PID
	awk -v p="$2" '$5 == p { print $6 }' "/proc/$1/mountinfo" | tail -n 1
}
check "controller sees / read-only (ProtectSystem=strict)" \
	test "$(mount_opts "$CPID" / | cut -c1-2)" = ro
check "controller may write /var/lib/relayprobe and /run/relayprobe only" \
	test "$(mount_opts "$CPID" /var/lib/relayprobe | cut -c1-2)$(mount_opts "$CPID" /run/relayprobe | cut -c1-2)" = rwrw
check "admin socket is 0660 relayprobe:relayprobe" \
	test "$(in_root stat -c '%a %U %G' /run/relayprobe/admin.sock)" = "660 relayprobe relayprobe"
check "/run/relayprobe is 0750" test "$(in_root stat -c '%a' /run/relayprobe)" = 750
check "a user outside group relayprobe cannot use the admin socket" bash -c \
	"if chroot '$ROOT' setpriv --reuid=rpoutsider --regid=rpoutsider --init-groups \
		relayprobe agents list >'$WORK/outsider.log' 2>&1; then exit 1; fi
		grep -q 'Permission denied' '$WORK/outsider.log'"
as_operator agents import /etc/relayprobe/agent1.pub >"$WORK/import.log" 2>&1 || {
	cat "$WORK/import.log" "$WORK/controller.log"
	die "agents import as an operator in group relayprobe"
}

start_unit relayprobe-agent.service "$WORK/agent.log"
APID=${PIDS[1]}
connected=0
for _ in $(seq 1 150); do
	if as_operator agents list --json >"$WORK/agents.json" 2>"$WORK/agents.err" &&
		json_true "$WORK/agents.json" "any(a.get('name') == 'agent1' and
			a.get('status') == 'approved' and a.get('connected') is True and
			a.get('fingerprint') == '$FPR' for a in j.get('agents', []))"; then
		connected=1
		break
	fi
	kill -0 "$APID" 2>/dev/null || break
	sleep 0.2
done
if [ "$connected" -ne 1 ]; then
	cat "$WORK/agents.json" "$WORK/agents.err" "$WORK/agent.log" "$WORK/controller.log"
	die "agent1 is not listed as approved and connected with fingerprint $FPR"
fi
echo "ok - agent1 connected (agents list: approved, connected, fingerprint $FPR)"
check "agent runs as relayprobe with no capabilities" \
	test "$(status_of "$APID" Uid | awk '{print $2}')/$(status_of "$APID" CapBnd)" = "$RPUID/0000000000000000"

# An audit of a closed loopback port: the order goes out, the signed result
# comes back, the cell is unreachable (exit 3: inconclusive).
as_operator audit --json --wait --wait-timeout 60 --tests null-sender \
	"127.0.0.1:$CLOSED" >"$WORK/report.json" 2>"$WORK/audit.err"
rc=$?
check "audit exit status 3 (inconclusive), got $rc" test "$rc" -eq 3
check "report: 127.0.0.1:$CLOSED unreachable from agent1" json_true "$WORK/report.json" \
	"j['targets'][0]['cells']['agent1'] == 'unreachable'"

# 6. Stop both: SIGTERM, exit 0; their files where the units put them.
kill -TERM "$APID"
wait "$APID"
check "agent exits 0 on SIGTERM" test $? -eq 0
kill -TERM "$CPID"
wait "$CPID"
check "controller exits 0 on SIGTERM" test $? -eq 0
PIDS=()
check "database /var/lib/relayprobe/controller.db is 0600 relayprobe" \
	test "$(in_root stat -c '%a %U' /var/lib/relayprobe/controller.db)" = "600 relayprobe"
check "agent state /var/lib/relayprobe/agent is 0700 relayprobe" \
	test "$(in_root stat -c '%a %U' /var/lib/relayprobe/agent)" = "700 relayprobe"

if [ "$fails" -ne 0 ]; then
	echo "--- controller.log"
	cat "$WORK/controller.log"
	echo "--- agent.log"
	cat "$WORK/agent.log"
	echo "--- the outsider's agents list"
	cat "$WORK/outsider.log"
	die "$fails check(s) failed"
fi
echo "$PROG: PASS"
exit 0
