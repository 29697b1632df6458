# shellcheck shell=bash
# postfix_lab.sh - sourced library: a private Postfix instance on loopback
# for relayprobe's integration tests and demo. Never touches /etc/postfix:
# config, queue and data directories live under one mktemp directory, and
# nothing is ever delivered (every transport is "discard", no DNS; canary
# mode below delivers its one domain to a loopback port).
#
#   client 127.0.0.1 (or 127.0.0.5 with --bind)
#        |
#        +--> 127.0.0.1:$LAB_PORT_CLOSED        mynetworks=127.0.0.250/32, reject_unauth_destination
#        +--> 127.0.0.1:$LAB_PORT_OPEN          mynetworks=127.0.0.0/8 (trusts the client)
#        +--> 127.0.0.1:$LAB_PORT_TRUST_ONE     mynetworks=127.0.0.5/32 (open for 127.0.0.5 only)
#        +--> 127.0.0.1:$LAB_PORT_TLS           closed, STARTTLS offered (self-signed CN=mx.relayprobe.test)
#        +--> 127.0.0.1:$LAB_PORT_TLS_REQUIRED  open for 127/8, but TLS required (530 5.7.0)
#        +--> 127.0.0.1:$LAB_PORT_AUTH          relaying refused with 530 5.7.1 Authentication required
#        +--> 127.0.0.1:$LAB_PORT_STOCK         Postfix's own default: defer_unauth_destination (454 4.7.1)
#        +--> [::1]:$LAB_PORT_OPEN6             open for ::1 (only when ::1 exists; else empty)
#
# Canary mode (optional): when the caller sets LAB_CANARY_DOMAIN and
# LAB_CANARY_PORT before lab_start, mail for that domain (only) is delivered
# for real, over SMTP to [127.0.0.1]:$LAB_CANARY_PORT (a transport table in
# the lab directory; still no DNS; everything else is still discarded), the
# queue is retried every second, and two more listeners exist:
#        +--> 127.0.0.1:$LAB_PORT_ACCEPT_DROP   open for 127/8 at RCPT, but every message is
#                                               silently discarded at end of DATA (DISCARD)
#        +--> 127.0.0.1:$LAB_PORT_BACKSCATTER   closed for relaying; accepts any local part at
#                                               [127.0.0.1] (no local_recipient_maps), then the
#                                               delivery fails (content_filter=error:) and
#                                               Postfix bounces to the envelope sender
# Without those two variables the lab is exactly as above.
#
# Use:  . postfix_lab.sh; lab_start || exit 1; ...; (lab_stop runs on EXIT)
# lab_start installs "trap lab_stop EXIT" unless LAB_NO_TRAP=1; a caller with
# its own EXIT trap calls lab_stop from it. Needs root (Postfix's master).

LAB_DIR=""
# shellcheck disable=SC2034 # used by the scripts that source this file
LAB_HOST=127.0.0.1
LAB_PORT_CLOSED=""
LAB_PORT_OPEN=""
LAB_PORT_TRUST_ONE=""
LAB_PORT_TLS=""
LAB_PORT_TLS_REQUIRED=""
LAB_PORT_AUTH=""
LAB_PORT_STOCK=""
LAB_PORT_OPEN6=""
LAB_PORT_ACCEPT_DROP=""
LAB_PORT_BACKSCATTER=""
LAB_TRUSTED_SOURCE=127.0.0.5

lab_log() {
	echo "postfix_lab: $*" >&2
}

# Print N distinct free TCP ports on the loopback (asked of the kernel).
lab_free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Wait until host:port answers with a 220 greeting (up to $3 seconds).
lab_wait_banner() {
	python3 - "$1" "$2" "${3:-20}" <<'EOF'
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
end = time.time() + limit
while time.time() < end:
    try:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect((host, port))
        data = s.recv(512)
        s.sendall(b"QUIT\r\n")
        s.close()
        if data.startswith(b"220"):
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}

lab_has_ipv6() {
	[ -e /proc/net/if_inet6 ] && grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6
}

lab_master_pid() {
	[ -n "$LAB_DIR" ] && [ -r "$LAB_DIR/spool/pid/master.pid" ] &&
		tr -dc '0-9' <"$LAB_DIR/spool/pid/master.pid"
}

lab_canary_mode() {
	[ -n "${LAB_CANARY_DOMAIN:-}" ] && [ -n "${LAB_CANARY_PORT:-}" ]
}

lab_write_config() {
	local d=$1 inet_protocols=ipv4 ports
	local closed open trust tls tlsreq auth open6 stock drop bscat
	# ten ports, none of them the caller's canary port
	for _ in 1 2 3 4 5; do
		ports=$(lab_free_ports 10)
		case " $ports " in
		*" ${LAB_CANARY_PORT:-none} "*) ;;
		*) break ;;
		esac
	done
	read -r closed open trust tls tlsreq auth open6 stock drop bscat <<<"$ports"
	if ! lab_canary_mode; then
		drop=""
		bscat=""
	fi
	if lab_has_ipv6; then
		inet_protocols=all
	else
		open6=""
	fi
	cat >"$d/etc/main.cf" <<EOF
# private relayprobe test instance; see tests/integration/postfix_lab.sh
compatibility_level = 3.6
queue_directory = $d/spool
data_directory = $d/data
meta_directory = /etc/postfix
syslog_name = postfix-rplab
maillog_file = $d/maillog
maillog_file_prefixes = $d
myhostname = mx.relayprobe.test
mydomain = relayprobe.test
myorigin = relayprobe.test
mydestination = relayprobe.test
inet_interfaces = loopback-only
inet_protocols = $inet_protocols
mynetworks = 127.0.0.250/32
relayhost =
default_transport = discard
relay_transport = discard
local_transport = discard
virtual_transport = discard
disable_dns_lookups = yes
smtp_dns_support_level = disabled
alias_maps =
alias_database =
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_recipient_restrictions =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_security_level = none
smtpd_tls_cert_file = $d/tls/cert.pem
smtpd_tls_key_file = $d/tls/key.pem
smtpd_banner = \$myhostname ESMTP relayprobe test lab
biff = no
# no inflow throttling: relay tests abort every transaction with RSET, so the
# flow-control tokens are never returned and each MAIL FROM would wait 1 s
in_flow_delay = 0
# relaying refused as if authentication were required (no SASL backend needed)
rplab_auth_restrictions = permit_mynetworks, permit_auth_destination, check_recipient_access static:{530 5.7.1 Authentication required}, reject_unauth_destination
EOF
	if lab_canary_mode; then
		printf '%s\tsmtp:[127.0.0.1]:%s\n' "$LAB_CANARY_DOMAIN" "$LAB_CANARY_PORT" \
			>"$d/etc/transport"
		cat >>"$d/etc/main.cf" <<EOF
# canary mode: the canary's domain (only) is delivered, to the canary on
# loopback; retried every second so a deferral costs a second, not minutes
transport_maps = texthash:$d/etc/transport
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
EOF
	fi
	{
		echo "# listeners (smtpd; -o overrides per role)"
		echo "127.0.0.1:$closed inet n - n - - smtpd"
		echo "  -o syslog_name=postfix-rplab/closed"
		echo "127.0.0.1:$open inet n - n - - smtpd"
		echo "  -o syslog_name=postfix-rplab/open -o mynetworks=127.0.0.0/8"
		echo "127.0.0.1:$trust inet n - n - - smtpd"
		echo "  -o syslog_name=postfix-rplab/trust-one -o mynetworks=$LAB_TRUSTED_SOURCE/32"
		echo "127.0.0.1:$tls inet n - n - - smtpd"
		echo "  -o syslog_name=postfix-rplab/tls -o smtpd_tls_security_level=may"
		echo "127.0.0.1:$tlsreq inet n - n - - smtpd"
		echo "  -o syslog_name=postfix-rplab/tls-required -o mynetworks=127.0.0.0/8"
		echo "  -o smtpd_tls_security_level=encrypt"
		echo "127.0.0.1:$auth inet n - n - - smtpd"
		echo "  -o syslog_name=postfix-rplab/auth"
		echo "  -o smtpd_relay_restrictions=\$rplab_auth_restrictions"
		echo "127.0.0.1:$stock inet n - n - - smtpd"
		echo "  -o syslog_name=postfix-rplab/stock"
		echo "  -o smtpd_relay_restrictions=permit_mynetworks,permit_sasl_authenticated,defer_unauth_destination"
		if [ -n "$open6" ]; then
			echo "[::1]:$open6 inet n - n - - smtpd"
			echo "  -o syslog_name=postfix-rplab/open6 -o mynetworks=[::1]/128"
		fi
		if lab_canary_mode; then
			echo "127.0.0.1:$drop inet n - n - - smtpd"
			echo "  -o syslog_name=postfix-rplab/accept-drop -o mynetworks=127.0.0.0/8"
			echo "  -o smtpd_end_of_data_restrictions=check_client_access,static:DISCARD"
			echo "127.0.0.1:$bscat inet n - n - - smtpd"
			echo "  -o syslog_name=postfix-rplab/backscatter -o local_recipient_maps="
			echo "  -o { content_filter = error:5.1.1 unknown user }"
			echo "# the canary's transport"
			echo "smtp      unix  -       -       n       -       -       smtp"
		fi
		cat <<'EOF'
# internal services, unchrooted
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	} >"$d/etc/master.cf"
	LAB_PORT_CLOSED=$closed
	LAB_PORT_OPEN=$open
	LAB_PORT_TRUST_ONE=$trust
	LAB_PORT_TLS=$tls
	LAB_PORT_TLS_REQUIRED=$tlsreq
	LAB_PORT_AUTH=$auth
	LAB_PORT_STOCK=$stock
	LAB_PORT_OPEN6=$open6
	LAB_PORT_ACCEPT_DROP=$drop
	LAB_PORT_BACKSCATTER=$bscat
}

lab_stop() {
	local pid
	[ -n "$LAB_DIR" ] || return 0
	if [ -d "$LAB_DIR/etc" ]; then
		postfix -c "$LAB_DIR/etc" abort >/dev/null 2>&1 || true
		pid=$(lab_master_pid || true)
		if [ -n "$pid" ]; then
			for _ in $(seq 50); do
				kill -0 "$pid" 2>/dev/null || break
				# a zombie (no init reaping in a container) counts as gone
				grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && break
				sleep 0.1
			done
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$LAB_DIR"
	LAB_DIR=""
}

# Start the instance; 0 when every listener greets, 1 otherwise (cleaned up).
lab_start() {
	if [ "$(id -u)" -ne 0 ]; then
		lab_log "must run as root (Postfix's master)"
		return 1
	fi
	if ! command -v postfix >/dev/null; then
		lab_log "postfix not installed (run scripts/install-deps.sh)"
		return 1
	fi
	LAB_DIR=$(mktemp -d /tmp/rplab.XXXXXX) || return 1
	if [ "${LAB_NO_TRAP:-0}" != 1 ]; then
		trap lab_stop EXIT
		trap 'lab_stop; exit 130' INT TERM
	fi
	chmod 755 "$LAB_DIR"
	mkdir -p "$LAB_DIR/etc" "$LAB_DIR/spool" "$LAB_DIR/data" "$LAB_DIR/tls"
	chown postfix "$LAB_DIR/data"
	if ! openssl req -x509 -newkey rsa:2048 -nodes -days 7 \
		-subj "/CN=mx.relayprobe.test" -addext "subjectAltName=DNS:mx.relayprobe.test" \
		-keyout "$LAB_DIR/tls/key.pem" -out "$LAB_DIR/tls/cert.pem" >/dev/null 2>&1; then
		lab_log "openssl req failed"
		lab_stop
		return 1
	fi
	chmod 600 "$LAB_DIR/tls/key.pem"
	lab_write_config "$LAB_DIR"
	# "check" creates the queue directories with Postfix's ownerships.
	postfix -c "$LAB_DIR/etc" check >/dev/null 2>&1 || true
	if ! postfix -c "$LAB_DIR/etc" start >/dev/null 2>&1; then
		lab_log "postfix start failed; log:"
		tail -n 20 "$LAB_DIR/maillog" >&2 2>/dev/null || true
		lab_stop
		return 1
	fi
	local p
	for p in $LAB_PORT_CLOSED $LAB_PORT_OPEN $LAB_PORT_TRUST_ONE $LAB_PORT_TLS \
		$LAB_PORT_TLS_REQUIRED $LAB_PORT_AUTH $LAB_PORT_STOCK \
		$LAB_PORT_ACCEPT_DROP $LAB_PORT_BACKSCATTER; do
		if ! lab_wait_banner 127.0.0.1 "$p" 20; then
			lab_log "listener 127.0.0.1:$p never greeted; log:"
			tail -n 20 "$LAB_DIR/maillog" >&2 2>/dev/null || true
			lab_stop
			return 1
		fi
	done
	if [ -n "$LAB_PORT_OPEN6" ] && ! lab_wait_banner ::1 "$LAB_PORT_OPEN6" 10; then
		lab_log "IPv6 listener [::1]:$LAB_PORT_OPEN6 did not greet; IPv6 checks skipped"
		LAB_PORT_OPEN6=""
	fi
	return 0
}

# Print the instance's log (for failure diagnostics).
lab_maillog() {
	[ -n "$LAB_DIR" ] && cat "$LAB_DIR/maillog" 2>/dev/null
}
