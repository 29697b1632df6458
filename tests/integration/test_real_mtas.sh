#!/usr/bin/env bash
# test_real_mtas.sh - `relayprobe probe` names real Exim, OpenSMTPD and
# Sendmail from what they say, and gives that software's fix. Debian's own
# packages (exim4-daemon-light, opensmtpd, sendmail-bin) are installed one
# after the other into a clean bookworm root (clean_root.sh; they conflict
# with the host's Postfix, and with each other, as mail-transport-agents),
# run from there in the foreground on 127.0.0.1 with small configurations,
# closed and open, banner shown and hidden, and probed from the host. The
# root's resolver is 127.0.0.1 (nothing answers) and every relay action
# points at a dead loopback port: no mail and no DNS query leaves the host.
#
#   host: relayprobe probe --+--> 127.0.0.1:$P1  OpenSMTPD  (root/ chroot)
#                            +--> 127.0.0.1:$P2  Exim
#                            +--> 127.0.0.1:$P3  Sendmail (from 127.0.0.1
#                                                and from 127.0.0.2)
# Exit 77 (skipped) when not root, or when the root or the packages cannot
# be had (no Debian mirror): that is said, never reported as passed.
#   bash tests/integration/test_real_mtas.sh BUILD/relayprobe
# shellcheck disable=SC2317 # rp_cleanup_hook runs from the EXIT trap
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=clean_root.sh
. "$(dirname "$0")/clean_root.sh"
rp_probe_init "$@"
PROG=test_real_mtas
skip() {
	echo "$PROG: SKIPPED: $*"
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (chroot, mounts)"
for tool in chroot python3 ss; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done

rp_tmpdir rpmtas
WORK=$(mktemp -d /var/tmp/rp-mtas.XXXXXX)
ROOT=$WORK/root
MTA_PID=""
rp_cleanup_hook() {
	stop_mta
	rp_root_cleanup "$WORK"
}
stop_mta() {
	[ -n "$MTA_PID" ] || return 0
	kill -TERM "$MTA_PID" 2>/dev/null
	for _ in $(seq 1 30); do
		kill -0 "$MTA_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$MTA_PID" 2>/dev/null
	wait "$MTA_PID" 2>/dev/null
	MTA_PID=""
	# Children (Exim's, Sendmail's, OpenSMTPD's) that outlived their parent:
	# every process whose root is the clean root.
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	return 0
}

rp_root_cache || skip "no clean Debian root could be made (no mirror?)"
rp_root_unpack "$ROOT" || skip "the clean root did not unpack"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d" # no daemon starts on install
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"

install_pkgs() { # apt-get in the root, with the host's resolver; then cut it off
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
	chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends "$@" >"$T/apt-$1.log" 2>&1
	local rc=$?
	echo "nameserver 127.0.0.1" >"$ROOT/etc/resolv.conf"
	printf '127.0.0.1 localhost\n127.0.0.2 client.rp-test.example\n' >"$ROOT/etc/hosts"
	if [ "$rc" -ne 0 ]; then
		tail -n 20 "$T/apt-$1.log"
		skip "apt-get install $* failed in the clean root (no mirror?)"
	fi
}

start_mta() { # start_mta NAME PORT COMMAND...: in the root, foreground
	local name=$1 port=$2
	shift 2
	chroot "$ROOT" "$@" >"$T/$name.out" 2>&1 &
	MTA_PID=$!
	for _ in $(seq 1 100); do
		ss -Hltn "sport = :$port" | grep -q . && return 0
		kill -0 "$MTA_PID" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/# /' "$T/$name.out"
	not_ok "$name listens on 127.0.0.1:$port"
	return 1
}

probe() { # probe NAME ARGS...: --json of one probe into $T/NAME.json
	local name=$1
	shift
	"$RP" probe -q --pause 0 --timeout 10 --tests basic,syntax --json "$@" \
		>"$T/$name.json" 2>"$T/$name.err" || true
}

expect() { # expect NAME PYTHON WHAT: PYTHON (the result in o) is true
	if python3 - "$T/$1.json" "$2" <<'PY'; then ok "$3"; else not_ok "$3"; fi
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if len(rows) != 1:
    print("# %d results" % len(rows)); sys.exit(1)
o = rows[0]
fp, adv = o.get("fingerprint", {}), o.get("advice", [])
if not eval("(" + sys.argv[2] + ")"):
    print("# verdict=%s fingerprint=%s/%s advice=%s" % (o.get("verdict"), fp.get("software"),
          fp.get("confidence"), [(a["finding"], a["software"], a["summary"]) for a in adv]))
    for t in o.get("transcript", [])[:30]:
        print("#   %s %s" % (t["dir"], t["text"]))
    sys.exit(1)
PY
}

read -r P1 P2 P3 DEAD <<<"$(lab_free_ports 4)"

# --- OpenSMTPD 6.8 (Debian's opensmtpd) ---------------------------------
install_pkgs opensmtpd
cat >"$ROOT/etc/rp-closed.conf" <<CONF
listen on 127.0.0.1 port $P1 hostname mx.rp-test.example
action "local" mbox
match from any for domain "rp-test.example" action "local"
CONF
cat >"$ROOT/etc/rp-open.conf" <<CONF
listen on 127.0.0.1 port $P1 hostname mx.rp-test.example
action "out" relay host smtp://127.0.0.1:$DEAD
match from any for any action "out"
CONF
if start_mta opensmtpd-closed "$P1" smtpd -d -f /etc/rp-closed.conf; then
	probe osmtpd_closed "127.0.0.1:$P1"
	expect osmtpd_closed "o['verdict'] == 'closed' and fp['software'] == 'opensmtpd' and
		fp['confidence'] == 'high' and adv == []" \
		"OpenSMTPD, closed: named OpenSMTPD (high), no advice"
	stop_mta
fi
if start_mta opensmtpd-open "$P1" smtpd -d -f /etc/rp-open.conf; then
	probe osmtpd_open "127.0.0.1:$P1"
	expect osmtpd_open "o['verdict'] == 'open' and fp['software'] == 'opensmtpd' and
		[a['software'] for a in adv] == ['opensmtpd'] and 'match' in adv[0]['text']" \
		"OpenSMTPD 'match from any for any action relay': open, OpenSMTPD's match rule named"
	stop_mta
fi

# --- Exim 4.96 (Debian's exim4-daemon-light) ------------------------------
# /etc/exim4/exim4.conf comes first in Debian's CONFIGURE_FILE list. The
# closed one is the ACL of Exim's own default configure file.
install_pkgs exim4-daemon-light
exim_conf() { # exim_conf RELAY_FROM_HOSTS BANNER
	cat >"$ROOT/etc/exim4/exim4.conf" <<CONF
primary_hostname = mx.rp-test.example
qualify_domain = rp-test.example
domainlist local_domains = rp-test.example
hostlist relay_from_hosts = $1
daemon_smtp_ports = $P2
local_interfaces = 127.0.0.1
host_lookup =
rfc1413_hosts =
queue_only = true
never_users = root
$2
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  accept hosts = :
  deny domains = +local_domains
       local_parts = ^[.] : ^.*[@%!/|]
       message = Restricted characters in address
  deny domains = !+local_domains
       local_parts = ^[./|] : ^.*[@%!] : ^.*/\\\\.\\\\./
       message = Restricted characters in address
  accept local_parts = postmaster
         domains = +local_domains
  accept hosts = +relay_from_hosts
         control = submission
  require message = relay not permitted
          domains = +local_domains
  require verify = recipient
  accept
begin routers
localuser:
  driver = accept
  domains = +local_domains
  local_parts = postmaster : relaytest
  transport = devnull
begin transports
devnull:
  driver = appendfile
  file = /dev/null
  user = Debian-exim
CONF
}
exim_conf 192.0.2.0/24 ""
if start_mta exim-closed "$P2" /usr/sbin/exim4 -bdf; then
	probe exim_closed "127.0.0.1:$P2"
	expect exim_closed "o['verdict'] == 'closed' and fp['software'] == 'exim' and
		fp['confidence'] == 'high' and adv == []" \
		"Exim, default ACL: closed, named Exim (high), no advice"
	stop_mta
fi
# shellcheck disable=SC2016 # Exim's own variable
exim_conf "127.0.0.1" 'smtp_banner = $smtp_active_hostname ESMTP'
if start_mta exim-open "$P2" /usr/sbin/exim4 -bdf; then
	probe exim_open "127.0.0.1:$P2"
	expect exim_open "o['verdict'] == 'open' and fp['software'] == 'exim' and
		'Exim' not in o['transcript'][2]['text'] and fp['confidence'] in ('medium', 'high') and
		[a['software'] for a in adv] == ['exim'] and 'relay_from_hosts' in adv[0]['text']" \
		"Exim with its banner hidden, relay_from_hosts holding the vantage: named Exim, relay_from_hosts named"
	stop_mta
fi

# --- Sendmail 8.17 (Debian's sendmail-bin) --------------------------------
# Sendmail lets its own host relay (a connection from localhost is
# trusted); from 127.0.0.2 (PTR client.rp-test.example) it refuses.
install_pkgs sendmail-bin sendmail-cf m4
mkdir -p "$ROOT/var/lib/sendmail/host_status"
cat >"$ROOT/etc/mail/rp.mc" <<CONF
divert(-1)dnl
include(\`/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(\`relayprobe test server')dnl
OSTYPE(\`debian')dnl
define(\`confDOMAIN_NAME', \`mx.rp-test.example')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confDELIVERY_MODE', \`queueonly')dnl
define(\`confSMTP_LOGIN_MSG', \`\$j ESMTP')dnl
define(\`SMART_HOST', \`[127.0.0.1]:$DEAD')dnl
FEATURE(\`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA-rp, Port=$P3, Addr=127.0.0.1')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
CONF
if ! chroot "$ROOT" sh -c 'm4 /etc/mail/rp.mc >/etc/mail/rp.cf' 2>"$T/m4.err"; then
	sed 's/^/# /' "$T/m4.err"
	not_ok "sendmail.cf made from rp.mc"
elif start_mta sendmail "$P3" /usr/sbin/sendmail -bD -C /etc/mail/rp.cf; then
	probe sm_local "127.0.0.1:$P3"
	expect sm_local "o['verdict'] == 'open' and fp['software'] == 'sendmail' and
		'Sendmail' not in o['transcript'][2]['text'] and fp['confidence'] in ('medium', 'high') and
		[a['software'] for a in adv] == ['sendmail']" \
		"Sendmail with its banner hidden, relaying for its own host: named Sendmail, Sendmail's advice"
	probe sm_outside --bind 127.0.0.2 "127.0.0.1:$P3"
	expect sm_outside "o['verdict'] == 'closed' and fp['software'] == 'sendmail' and adv == [] and
		any('Relaying denied' in (t['reply'] or '') for t in o['tests'])" \
		"Sendmail from another address: Relaying denied, closed, named Sendmail"
	stop_mta
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
