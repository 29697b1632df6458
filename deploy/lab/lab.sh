#!/usr/bin/env bash
# lab.sh - a small internet in network namespaces for relayprobe: a core
# router, a mail network with nine real Postfix targets and one internal
# hop Postfix (each its own config dir and queue, `postfix -c DIR`) and an
# smtp-sink, three vantage networks with one relayprobe-agent each, and the
# controller with its canary (proof by delivery) in its own network.
# Addresses only from the RFC 5737 ranges; nothing leaves this machine;
# every namespace, process and file is removed by lab_down (the demo keeps
# only its report, in BINDIR/demo). Over 800 lines: the whole lab, one
# sourceable file that the tests and the demo share.
#
#                              rp-PID-core (router, ip_forward=1)
#            c-mail 192.0.2.1/24    c-partner 198.51.100.1/26    c-cloud 198.51.100.129/26
#            c-far 203.0.113.1/25   c-ctl 203.0.113.129/25
#     +--------------+---------------+---------------+---------------+
#     |              |               |               |               |
#  rp-PID-mail    rp-PID-partner  rp-PID-cloud    rp-PID-far      rp-PID-ctl
#  up0 192.0.2.x  up0 .10         up0 .130        up0 .10         up0 .130
#                 198.51.100.10   198.51.100.130  203.0.113.10    203.0.113.130
#                 agent "partner" agent "cloud"   agent "far"     relayprobe-controller
#                                                                 tcp://203.0.113.130:7411
#                                                                 canary SMTP 203.0.113.130:25
#                                                                 (canary.relayprobe.test)
#  192.0.2.10:25  closed         default relay restrictions (reject_unauth_destination)
#  192.0.2.11:25  open           mynetworks = 0.0.0.0/0: relays for anyone
#  192.0.2.12:25  partner-trust  mynetworks = 198.51.100.0/26: open for "partner" only
#  192.0.2.13:25  tls-first      smtpd_tls_security_level = encrypt (self-signed cert);
#                                relays for nobody, even after STARTTLS: closed
#  192.0.2.14:587 submission     Cyrus SASL (sasldb); relays only after AUTH, else
#                                "530 5.7.0 Authentication required": auth-required
#  192.0.2.15:25  late-reject    accepts every RCPT (mynetworks 0/0), rejects at the end
#                                of DATA (header_checks REJECT: a content filter):
#                                closed with --data (the demo), open without
#  192.0.2.16:25  accept-drop    accepts every RCPT and every message (250 after the
#                                dot), then discards it (smtpd_end_of_data_restrictions
#                                DISCARD): accepted-not-delivered
#  192.0.2.17:25  backscatter    closed for relaying, but accepts any local user (also
#                                rp-TOKEN@[192.0.2.17]) and bounces it afterwards
#                                (local_transport = error): closed, with backscatter
#  192.0.2.18:25  multihop       relays for anyone, through the hop below (transport_maps):
#                                open-confirmed, delivered to the canary from 192.0.2.19
#  192.0.2.19:25  (hop)          internal Postfix, not a target: relays for multihop only
#  192.0.2.100:25 smtp-sink      every Postfix's default/relay transport: relayed mail
#                                ends here (one file per message), never leaves
#
# Mail for canary.relayprobe.test goes, on every Postfix, through transport_maps
# (no DNS) to the controller's canary, 203.0.113.130:25, through the core
# router (mail network -> controller network); everything else to the sink.
#
# The relayprobe CLI runs in the host namespace and talks to the controller
# over its admin socket (a file: ipc://LAB_DIR/admin.sock); the agents reach
# the controller through the core router, not over loopback.
#
# Use as a command:  lab.sh up [BINDIR] | lab.sh down [LAB_DIR] | lab.sh demo [BINDIR]
# or as a library:   . deploy/lab/lab.sh; lab_up BINDIR || exit 1; ...; lab_down
# (the caller's "trap ... EXIT" calls lab_down). Needs root, iproute2, postfix,
# sasl2-bin (saslpasswd2), openssl, python3, sqlite3 (waiting for the canary).
# BINDIR holds relayprobe, relayprobe-controller and relayprobe-agent.

LAB_ID=""
LAB_DIR=""
LAB_BIN=""
LAB_RP=""
LAB_CTL_PID=""
declare -A LAB_AGENT_PID=()
LAB_SINK_PID=""

# the targets; LAB_HOPS: internal Postfix instances that are not targets
LAB_SERVERS=(closed open partner-trust tls-first submission late-reject accept-drop
	backscatter multihop)
LAB_HOPS=(hop)
declare -A LAB_ADDR=([closed]=192.0.2.10 [open]=192.0.2.11 [partner-trust]=192.0.2.12
	[tls-first]=192.0.2.13 [submission]=192.0.2.14 [late-reject]=192.0.2.15
	[accept-drop]=192.0.2.16 [backscatter]=192.0.2.17 [multihop]=192.0.2.18
	[hop]=192.0.2.19)
declare -A LAB_PORT=([closed]=25 [open]=25 [partner-trust]=25 [tls-first]=25
	[submission]=587 [late-reject]=25 [accept-drop]=25 [backscatter]=25 [multihop]=25
	[hop]=25)
LAB_SINK=192.0.2.100
LAB_VANTAGES=(partner cloud far)
declare -A LAB_VADDR=([partner]=198.51.100.10 [cloud]=198.51.100.130 [far]=203.0.113.10)
declare -A LAB_VGW=([partner]=198.51.100.1 [cloud]=198.51.100.129 [far]=203.0.113.1)
declare -A LAB_VCORE=([partner]=198.51.100.1/26 [cloud]=198.51.100.129/26 [far]=203.0.113.1/25)
declare -A LAB_VPLEN=([partner]=26 [cloud]=26 [far]=25)
LAB_CTL_ADDR=203.0.113.130
LAB_CTL_PORT=7411
LAB_TRUSTED_NET=198.51.100.0/26
LAB_CANARY=canary.relayprobe.test
# the canary: the controller's SMTP listener in its namespace; every lab
# Postfix routes LAB_CANARY there. LAB_CANARY_WAIT: seconds after a result
# before "accepted-not-delivered" (short for the lab; the minimum is 10)
LAB_CANARY_PORT=25
LAB_CANARY_WAIT=20
# (the two below: for callers such as tests/integration/test_lab.sh)
# shellcheck disable=SC2034
LAB_TO=relaytest@$LAB_CANARY
# a recipient outside the canary domain (relayed mail to it ends in the sink)
# shellcheck disable=SC2034
LAB_SINK_TO=relaytest@elsewhere.relayprobe.test
LAB_SASL_USER=labuser@lab.relayprobe.test
LAB_SASL_PASS=lab-secret-1

lab_log() {
	echo "lab: $*" >&2
}

# Namespace name of a role: core, mail, ctl, partner, cloud, far.
lab_ns() {
	echo "rp-$LAB_ID-$1"
}

# "ADDR:PORT" of a lab server, as relayprobe takes it.
lab_target() {
	echo "${LAB_ADDR[$1]}:${LAB_PORT[$1]}"
}

lab_in() {
	local ns
	ns=$(lab_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

# Wait until ADDR:PORT greets with 220, connecting from namespace $1.
lab_wait_banner() {
	lab_in "$1" python3 - "$2" "$3" "${4:-20}" <<'EOF'
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.time() + limit
while time.time() < end:
    try:
        s = socket.create_connection((host, port), timeout=3)
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

# --- network ---------------------------------------------------------------

# (iproute2 keeps named namespaces in /run/netns)
lab_ns_exists() {
	[ -e "/run/netns/$1" ]
}

lab_ns_add() {
	local ns
	ns=$(lab_ns "$1")
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	# IPv4 only (no DAD noise), strict reverse-path filtering (routing here is
	# symmetric, so a spoofed source is dropped).
	# shellcheck disable=SC2016 # $k is the inner shell's
	ip netns exec "$ns" sh -c '
		for k in net.ipv6.conf.all.disable_ipv6 net.ipv6.conf.default.disable_ipv6; do
			sysctl -qw $k=1 2>/dev/null
		done
		sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1' || true
}

# lab_link ROLE CORE-IF CORE-CIDR: a veth between core and ROLE, created
# directly inside the two namespaces (nothing in the host's).
lab_link() {
	local core ns
	core=$(lab_ns core)
	ns=$(lab_ns "$1")
	ip link add "$2" netns "$core" type veth peer name up0 netns "$ns" || return 1
	ip -n "$core" addr add "$3" dev "$2"
	ip -n "$core" link set "$2" up
	ip -n "$ns" link set up0 up
}

lab_net_up() {
	local v core
	for v in core mail ctl "${LAB_VANTAGES[@]}"; do
		lab_ns_add "$v" || return 1
	done
	core=$(lab_ns core)
	ip netns exec "$core" sysctl -qw net.ipv4.ip_forward=1 || return 1

	lab_link mail c-mail 192.0.2.1/24 || return 1
	local s
	for s in "${LAB_SERVERS[@]}" "${LAB_HOPS[@]}"; do
		ip -n "$(lab_ns mail)" addr add "${LAB_ADDR[$s]}/24" dev up0 || return 1
	done
	ip -n "$(lab_ns mail)" addr add "$LAB_SINK/24" dev up0 || return 1
	ip -n "$(lab_ns mail)" route add default via 192.0.2.1 || return 1

	lab_link ctl c-ctl 203.0.113.129/25 || return 1
	ip -n "$(lab_ns ctl)" addr add "$LAB_CTL_ADDR/25" dev up0 || return 1
	ip -n "$(lab_ns ctl)" route add default via 203.0.113.129 || return 1

	for v in "${LAB_VANTAGES[@]}"; do
		lab_link "$v" "c-$v" "${LAB_VCORE[$v]}" || return 1
		ip -n "$(lab_ns "$v")" addr add "${LAB_VADDR[$v]}/${LAB_VPLEN[$v]}" dev up0 || return 1
		ip -n "$(lab_ns "$v")" route add default via "${LAB_VGW[$v]}" || return 1
	done
}

# Cut and restore the link between the core and a vantage (or any role):
# the core's end goes down, so packets are lost both ways, like a cable.
lab_link_cut() {
	ip -n "$(lab_ns core)" link set "c-$1" down
}

lab_link_restore() {
	ip -n "$(lab_ns core)" link set "c-$1" up
}

# --- Postfix -----------------------------------------------------------------

lab_pf_dir() {
	echo "$LAB_DIR/postfix/$1"
}

# lab_pf_write NAME: main.cf and master.cf of one instance.
lab_pf_write() {
	local name=$1 d addr port
	d=$(lab_pf_dir "$name")
	addr=${LAB_ADDR[$name]}
	port=${LAB_PORT[$name]}
	mkdir -p "$d/etc" "$d/spool" "$d/data"
	chown postfix "$d/data"
	cat >"$d/etc/main.cf" <<EOF
# relayprobe lab: Postfix instance "$name" (deploy/lab/lab.sh)
compatibility_level = 3.6
queue_directory = $d/spool
data_directory = $d/data
meta_directory = /etc/postfix
syslog_name = rplab-$name
maillog_file = $d/maillog
maillog_file_prefixes = $d
myhostname = $name.lab.relayprobe.test
mydomain = lab.relayprobe.test
myorigin = \$myhostname
mydestination = \$myhostname, localhost
inet_interfaces = $addr
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
# mail for the canary domain goes to the controller's canary (no DNS: a
# transport map), everything else relayed to the lab's smtp-sink, never out
transport_maps = inline:{$LAB_CANARY=smtp:[$LAB_CTL_ADDR]:$LAB_CANARY_PORT}
default_transport = smtp:[$LAB_SINK]:25
relay_transport = smtp:[$LAB_SINK]:25
# deferred mail (the canary down: the controller restarted) is retried
# within seconds, not minutes, so it arrives inside the canary's wait
queue_run_delay = 1s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
# a few connections per destination, each reused (the canary counts them)
smtp_destination_concurrency_limit = 4
local_transport = discard
virtual_transport = discard
smtp_bind_address = $addr
smtp_tls_security_level = none
disable_dns_lookups = yes
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_tls_security_level = none
smtpd_tls_cert_file = $LAB_DIR/tls/cert.pem
smtpd_tls_key_file = $LAB_DIR/tls/key.pem
smtpd_banner = \$myhostname ESMTP relayprobe lab ($name)
biff = no
# no DNS at all: no PTR lookup of clients (the lab has no resolver)
smtpd_peername_lookup = no
# relay tests abort every transaction with RSET: without this each MAIL FROM
# would wait for a flow-control token
in_flow_delay = 0
EOF
	# the role: settings that override the common ones above (postconf -e
	# edits them in place)
	local role=()
	case "$name" in
	closed) ;;
	open)
		role=("mynetworks = 0.0.0.0/0")
		;;
	partner-trust)
		# the classic mistake: a partner's whole network in mynetworks
		role=("mynetworks = 127.0.0.0/8, $LAB_TRUSTED_NET")
		;;
	tls-first)
		# STARTTLS required before anything; relays for nobody even after it
		role=("smtpd_tls_security_level = encrypt")
		;;
	submission)
		mkdir -p "$d/etc/sasl"
		cat >"$d/etc/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $d/etc/sasl/sasldb2
EOF
		echo "$LAB_SASL_PASS" | saslpasswd2 -p -c -f "$d/etc/sasl/sasldb2" \
			-u "${LAB_SASL_USER#*@}" "${LAB_SASL_USER%@*}" || return 1
		chown postfix "$d/etc/sasl/sasldb2"
		chmod 640 "$d/etc/sasl/sasldb2"
		# port 587: AUTH (Cyrus SASL, sasldb) offered, relaying only after AUTH.
		# Debian's Postfix reads $config_directory/sasl/smtpd.conf
		role=("smtpd_tls_security_level = may" "smtpd_sasl_auth_enable = yes"
			"smtpd_sasl_type = cyrus" "smtpd_sasl_path = smtpd"
			"cyrus_sasl_config_path = $d/etc/sasl"
			"smtpd_relay_restrictions = permit_sasl_authenticated, check_client_access static:{530 5.7.0 Authentication required}, reject")
		;;
	late-reject)
		# every RCPT accepted, every message refused at the end of DATA by a
		# content filter (header_checks: every header line matches REJECT):
		# nothing is ever relayed
		role=("mynetworks = 0.0.0.0/0"
			"header_checks = static:{REJECT message refused by the content filter}")
		;;
	accept-drop)
		# every RCPT accepted, every message accepted at the end of DATA (250)
		# and silently discarded (access(5) DISCARD): nothing ever arrives
		role=("mynetworks = 0.0.0.0/0"
			"smtpd_end_of_data_restrictions = check_client_access static:{DISCARD accepted and dropped}")
		;;
	backscatter)
		# relays for nobody, but takes mail for any local user (no
		# local_recipient_maps; an address literal of its own interface is
		# local) and bounces it after the fact, to a sender it never checked
		# (not local_transport = error:, which smtpd applies at RCPT: the
		# "nouser" pipe in master.cf exits EX_NOUSER, so the bounce comes
		# after the 250, from MAILER-DAEMON to the envelope sender)
		role=("local_transport = nouser")
		;;
	multihop)
		# relays for anyone, but the canary's mail goes through the internal
		# hop, which delivers it: the canary sees the hop's address
		role=("mynetworks = 0.0.0.0/0"
			"transport_maps = inline:{$LAB_CANARY=smtp:[${LAB_ADDR[hop]}]:${LAB_PORT[hop]}}")
		;;
	hop)
		# not a target: relays for multihop only (to the canary, by the
		# common transport map)
		role=("mynetworks = 127.0.0.0/8, ${LAB_ADDR[multihop]}/32")
		;;
	esac
	if [ ${#role[@]} -gt 0 ] && ! postconf -c "$d/etc" -e "${role[@]}"; then
		lab_log "postconf -e failed for $name"
		return 1
	fi
	{
		echo "$addr:$port inet n - n - - smtpd"
		cat <<'EOF'
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
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
		# backscatter's local delivery: every mailbox unknown, after the fact
		if [ "$name" = backscatter ]; then
			echo 'nouser    unix  -       n       n       -       -       pipe flags= user=nobody argv=/bin/sh -c {exit 67}'
		fi
	} >"$d/etc/master.cf"
}

# Start (or restart) one instance inside the mail namespace; wait for 220.
lab_postfix_start() {
	local d
	d=$(lab_pf_dir "$1")
	if [ "${LAB_PF_CHECKED:-0}" != 1 ]; then
		lab_in mail postfix -c "$d/etc" check >/dev/null 2>&1 || true
	fi
	if ! lab_in mail postfix -c "$d/etc" start >/dev/null 2>&1; then
		lab_log "postfix $1 did not start; its log:"
		tail -n 20 "$d/maillog" >&2 2>/dev/null
		return 1
	fi
	if ! lab_wait_banner mail "${LAB_ADDR[$1]}" "${LAB_PORT[$1]}" 20; then
		lab_log "postfix $1 never greeted on $(lab_target "$1"); its log:"
		tail -n 20 "$d/maillog" >&2 2>/dev/null
		return 1
	fi
}

# Stop one instance (abort: no queue flush); returns when its master is gone.
lab_postfix_stop() {
	local d pid
	d=$(lab_pf_dir "$1")
	[ -d "$d/etc" ] || return 0
	pid=$(tr -dc '0-9' <"$d/spool/pid/master.pid" 2>/dev/null)
	lab_in mail postfix -c "$d/etc" abort >/dev/null 2>&1 || true
	if [ -n "$pid" ]; then
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && break
			sleep 0.1
		done
	fi
}

# Messages the smtp-sink received (one file each).
lab_sink_count() {
	find "$LAB_DIR/sink" -type f 2>/dev/null | wc -l
}

lab_mail_up() {
	mkdir -p "$LAB_DIR/tls" "$LAB_DIR/postfix" "$LAB_DIR/sink"
	chown postfix "$LAB_DIR/sink"
	if ! openssl req -x509 -newkey rsa:2048 -nodes -days 7 \
		-subj "/CN=tls-first.lab.relayprobe.test" \
		-addext "subjectAltName=DNS:tls-first.lab.relayprobe.test,DNS:submission.lab.relayprobe.test" \
		-keyout "$LAB_DIR/tls/key.pem" -out "$LAB_DIR/tls/cert.pem" >/dev/null 2>&1; then
		lab_log "openssl req failed"
		return 1
	fi
	chmod 600 "$LAB_DIR/tls/key.pem"
	ip netns exec "$(lab_ns mail)" smtp-sink -u postfix -d "$LAB_DIR/sink/%H%M%S." "$LAB_SINK:25" 64 \
		>"$LAB_DIR/sink.log" 2>&1 &
	LAB_SINK_PID=$!
	local s pids=()
	for s in "${LAB_SERVERS[@]}" "${LAB_HOPS[@]}"; do
		lab_pf_write "$s" || return 1
		# "check" creates the queue directories with Postfix's ownerships;
		# about 2 s each, so all at once
		ip netns exec "$(lab_ns mail)" postfix -c "$(lab_pf_dir "$s")/etc" check \
			>/dev/null 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	for s in "${LAB_SERVERS[@]}" "${LAB_HOPS[@]}"; do
		LAB_PF_CHECKED=1 lab_postfix_start "$s" || return 1
	done
	lab_wait_banner mail "$LAB_SINK" 25 10 || {
		lab_log "smtp-sink never greeted"
		return 1
	}
}

# --- controller and agents ---------------------------------------------------

lab_controller_start() {
	ip netns exec "$(lab_ns ctl)" "$LAB_BIN/relayprobe-controller" --config "$LAB_DIR/controller.conf" \
		>>"$LAB_DIR/controller.log" 2>&1 &
	LAB_CTL_PID=$!
	for _ in $(seq 100); do
		[ -S "$LAB_DIR/admin.sock" ] && "$LAB_RP" agents list >/dev/null 2>&1 && return 0
		kill -0 "$LAB_CTL_PID" 2>/dev/null || break
		sleep 0.1
	done
	lab_log "controller did not start; its log:"
	tail -n 20 "$LAB_DIR/controller.log" >&2
	return 1
}

lab_controller_kill9() {
	[ -n "$LAB_CTL_PID" ] || return 0
	kill -9 "$LAB_CTL_PID" 2>/dev/null
	wait "$LAB_CTL_PID" 2>/dev/null
	LAB_CTL_PID=""
}

lab_agent_start() {
	ip netns exec "$(lab_ns "$1")" "$LAB_BIN/relayprobe-agent" --config "$LAB_DIR/agent-$1.conf" \
		>>"$LAB_DIR/agent-$1.log" 2>&1 &
	LAB_AGENT_PID[$1]=$!
}

# lab_wait_connected N [SECONDS]: until N agents show as connected.
lab_wait_connected() {
	local n i limit=$((${2:-15} * 10))
	for ((i = 0; i < limit; i++)); do
		n=$("$LAB_RP" agents list --json 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin)["agents"] if a.get("connected")))' 2>/dev/null)
		[ "${n:-0}" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

lab_relayprobe_up() {
	local v
	mkdir -p "$LAB_DIR/keys"
	"$LAB_RP" keygen --role controller --name ctl --out "$LAB_DIR/keys" >/dev/null || return 1
	cat >"$LAB_DIR/controller.conf" <<EOF
[controller]
listen = tcp://$LAB_CTL_ADDR:$LAB_CTL_PORT
keys = $LAB_DIR/keys/ctl.secret
database = $LAB_DIR/controller.db
admin = ipc://$LAB_DIR/admin.sock

[canary]
listen = $LAB_CTL_ADDR:$LAB_CANARY_PORT
domains = $LAB_CANARY
wait = ${LAB_CANARY_WAIT}s
hostname = $LAB_CANARY
contact = relayprobe lab (deploy/lab/lab.sh): test message, nothing to do
# a lab relay delivers some 20 test messages per vantage and audit, several
# audits a minute: over the per-peer defaults meant for the internet
peer_sessions = 32
peer_messages_per_minute = 2000
EOF
	lab_controller_start || return 1
	# the canary, from the mail network through the core router
	lab_wait_banner mail "$LAB_CTL_ADDR" "$LAB_CANARY_PORT" 10 || {
		lab_log "the canary $LAB_CTL_ADDR:$LAB_CANARY_PORT does not greet the mail network; controller log:"
		tail -n 10 "$LAB_DIR/controller.log" >&2
		return 1
	}
	for v in "${LAB_VANTAGES[@]}"; do
		"$LAB_RP" keygen --role agent --name "$v" --out "$LAB_DIR/keys" >/dev/null || return 1
		"$LAB_RP" agents import "$LAB_DIR/keys/$v.pub" >/dev/null || return 1
		mkdir -p "$LAB_DIR/state-$v"
		chmod 700 "$LAB_DIR/state-$v"
		cat >"$LAB_DIR/agent-$v.conf" <<EOF
[agent]
controller = tcp://$LAB_CTL_ADDR:$LAB_CTL_PORT
controller_key = $LAB_DIR/keys/ctl.pub
keys = $LAB_DIR/keys/$v.secret
state = $LAB_DIR/state-$v
bind = ${LAB_VADDR[$v]}
labels = network=$v

[limits]
targets_per_order = 100
concurrency = 50
rate = 0
allow_data = yes
canary_domains = $LAB_CANARY

[scope]
allow = 192.0.2.0/24
EOF
		lab_agent_start "$v"
	done
	if ! lab_wait_connected ${#LAB_VANTAGES[@]} 20; then
		lab_log "the agents did not all connect; logs:"
		for v in "${LAB_VANTAGES[@]}"; do tail -n 5 "$LAB_DIR/agent-$v.log" >&2; done
		return 1
	fi
}

# --- up / down ----------------------------------------------------------------

# lab_up BINDIR: everything; 0 when the lab is ready, 1 otherwise (the caller's
# EXIT trap runs lab_down). Exports RELAYPROBE_ADMIN for the CLI.
lab_up() {
	local v
	LAB_BIN=$(readlink -f "${1:?lab_up BINDIR}")
	LAB_RP=$LAB_BIN/relayprobe
	if [ "$(id -u)" -ne 0 ]; then
		lab_log "must run as root (namespaces, Postfix)"
		return 1
	fi
	for v in ip postfix smtp-sink saslpasswd2 openssl python3 sqlite3; do
		command -v "$v" >/dev/null || {
			lab_log "$v not found (run scripts/install-deps.sh)"
			return 1
		}
	done
	for v in relayprobe relayprobe-controller relayprobe-agent; do
		[ -x "$LAB_BIN/$v" ] || {
			lab_log "$LAB_BIN/$v not built"
			return 1
		}
	done
	LAB_ID=${LAB_ID:-$$}
	LAB_DIR=$(mktemp -d /tmp/rplab-net.XXXXXX) || return 1
	chmod 755 "$LAB_DIR"
	echo "LAB_ID=$LAB_ID" >"$LAB_DIR/lab.env"
	export RELAYPROBE_ADMIN=ipc://$LAB_DIR/admin.sock
	lab_net_up || {
		lab_log "network setup failed"
		return 1
	}
	lab_mail_up || return 1
	for v in "${LAB_VANTAGES[@]}"; do
		lab_wait_banner "$v" "${LAB_ADDR[closed]}" 25 5 || {
			lab_log "no route from $v to the mail network"
			return 1
		}
	done
	lab_relayprobe_up || return 1
}

# Tear down everything lab_up made (safe to call twice, and after a
# partial lab_up). Processes are ended by pid: the ones we started, then
# whatever still runs in our own namespaces.
lab_down() {
	local ns p pids s
	[ -n "$LAB_ID" ] || return 0
	for p in "${LAB_AGENT_PID[@]}" $LAB_CTL_PID $LAB_SINK_PID; do
		kill "$p" 2>/dev/null
	done
	if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR/postfix" ]; then
		for s in "${LAB_SERVERS[@]}" "${LAB_HOPS[@]}"; do
			lab_postfix_stop "$s"
		done
	fi
	for ns in core mail ctl "${LAB_VANTAGES[@]}"; do
		ns=$(lab_ns "$ns")
		lab_ns_exists "$ns" || continue
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086 # a list of pids
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	sleep 0.2
	for ns in core mail ctl "${LAB_VANTAGES[@]}"; do
		ns=$(lab_ns "$ns")
		lab_ns_exists "$ns" || continue
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086 # a list of pids
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	for p in "${LAB_AGENT_PID[@]}" $LAB_CTL_PID $LAB_SINK_PID; do
		wait "$p" 2>/dev/null
	done
	LAB_AGENT_PID=()
	LAB_CTL_PID=""
	LAB_SINK_PID=""
	if [ -n "$LAB_DIR" ]; then
		if [ "${RP_KEEP_TMP:-0}" = 1 ]; then
			lab_log "kept $LAB_DIR"
		else
			rm -rf "$LAB_DIR"
		fi
	fi
	LAB_DIR=""
	LAB_ID=""
}

# --- the canary's proof ---------------------------------------------------------

# lab_sql SQL: a read-only query of the controller's store (sqlite3 CLI).
lab_sql() {
	sqlite3 -readonly -cmd '.timeout 5000' "$LAB_DIR/controller.db" "$@"
}

# lab_audit_awaiting AUDIT: results of the audit still awaiting their test
# message (accepted through DATA, nothing arrived, the wait not over).
lab_audit_awaiting() {
	lab_sql "SELECT count(*) FROM results r JOIN orders o ON o.id = r.order_id
		WHERE o.audit_id = $1 AND r.canary = 'awaiting'"
}

# lab_wait_canary AUDIT [SECONDS]: until no result of the audit awaits its
# message (each ends open-confirmed or, after [canary] wait,
# accepted-not-delivered); polls the store.
lab_wait_canary() {
	local i n limit=$((${2:-$((LAB_CANARY_WAIT + 15))} * 4))
	for ((i = 0; i < limit; i++)); do
		n=$(lab_audit_awaiting "$1" 2>/dev/null)
		[ "$n" = 0 ] && return 0
		sleep 0.25
	done
	return 1
}

# --- the demo -----------------------------------------------------------------

# Audit every lab server from every vantage (with --data: the late-reject
# server's refusal at the end of DATA counts, and the test messages go to
# the canary), wait for the canary, print the matrix and the proof.
lab_demo() {
	local s targets=() rc a t1
	for s in "${LAB_SERVERS[@]}"; do
		targets+=("$(lab_target "$s")")
	done
	echo
	echo "=== the lab's mail servers (namespace $(lab_ns mail))"
	for s in "${LAB_SERVERS[@]}"; do
		printf '    %-16s %s\n' "$(lab_target "$s")" "$s"
	done
	echo "    (multihop relays through ${LAB_ADDR[hop]}, an internal Postfix that is not a target)"
	echo "=== vantages: partner ${LAB_VADDR[partner]} (the network partner-trust trusts)," \
		"cloud ${LAB_VADDR[cloud]}, far ${LAB_VADDR[far]}"
	echo "=== keys from relayprobe keygen, agents enrolled with relayprobe agents import;" \
		"controller on tcp://$LAB_CTL_ADDR:$LAB_CTL_PORT (namespace $(lab_ns ctl)), its canary" \
		"on $LAB_CTL_ADDR:$LAB_CANARY_PORT for $LAB_CANARY (wait ${LAB_CANARY_WAIT} s)"
	echo "=== relayprobe agents list"
	"$LAB_RP" agents list
	echo
	echo "=== relayprobe audit --wait --data --tests all ${targets[*]}"
	t1=$SECONDS
	"$LAB_RP" audit --wait --wait-timeout 120 --data --tests all --timeout 10 \
		"${targets[@]}" >"$LAB_DIR/demo-audit.txt" 2>&1
	rc=$?
	sed -n '1,/^$/p' "$LAB_DIR/demo-audit.txt"
	echo "(exit status $rc: 1 = an open relay was found; results in after $((SECONDS - t1)) s)"
	"$LAB_RP" report --latest --json >"$LAB_DIR/demo-report.json" 2>/dev/null
	a=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["audit"])' \
		"$LAB_DIR/demo-report.json" 2>/dev/null)
	echo
	echo "=== waiting for the canary: each accepted message arrives, or the ${LAB_CANARY_WAIT} s wait ends"
	if ! lab_wait_canary "${a:-0}"; then
		echo "demo: results of audit ${a:-?} still await their message"
		return 1
	fi
	echo "    settled $((SECONDS - t1)) s after the audit began"
	echo
	echo "=== relayprobe report --latest"
	"$LAB_RP" report --latest >"$LAB_DIR/demo-report.txt" 2>&1
	sed -n '/^TARGET/,/^$/p' "$LAB_DIR/demo-report.txt"
	echo "=== the canary's proof (relayprobe report: each delivery, its delivering IP, hops and"
	echo "    delay; bounces as backscatter; accept-drop is accepted-not-delivered above)"
	sed -n '/^Proof by delivery/,/^$/p' "$LAB_DIR/demo-report.txt"
	"$LAB_RP" report --latest --json >"$LAB_DIR/demo-report.json" 2>/dev/null
	echo
	python3 - "$LAB_DIR/demo-report.json" "$(lab_target partner-trust)" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
t = {x["target"]: x for x in r["targets"]}
pt = t.get(sys.argv[2], {})
cells = pt.get("cells", {})
if pt.get("disagree") and cells.get("partner") == "open-confirmed" and \
        all(v == "closed" for k, v in cells.items() if k != "partner"):
    print("demo: as expected, partner-trust relays for the partner network only (DISAGREE), proven by delivery")
else:
    print("demo: unexpected partner-trust row: %s" % json.dumps(pt))
    sys.exit(1)
EOF
	local ok=$?
	echo "demo: the smtp-sink received $(lab_sink_count) relayed message(s) for other domains (nothing left the lab)"
	lab_demo_leave
	return $ok
}

# What the demo leaves: the report in three forms in $LAB_BIN/demo; what next.
lab_demo_leave() {
	local out=$LAB_BIN/demo
	mkdir -p "$out" || return 0
	cp "$LAB_DIR/demo-report.txt" "$out/report.txt" 2>/dev/null
	cp "$LAB_DIR/demo-report.json" "$out/report.json" 2>/dev/null
	"$LAB_RP" report --latest --format html --output "$out/report.html" >/dev/null 2>&1
	echo "=== the demo left (the lab itself is torn down next):"
	[ -s "$out/report.txt" ] && echo "    $out/report.txt    the audit's report (relayprobe report)"
	[ -s "$out/report.json" ] && echo "    $out/report.json   the same as JSON"
	[ -s "$out/report.html" ] && echo "    $out/report.html   the same as one HTML page"
	echo "    $LAB_BIN/relayprobe (and relayprobe-controller, relayprobe-agent)"
	echo "=== next: test a server you run, from this machine (use a recipient domain you control):"
	echo "    $LAB_BIN/relayprobe probe --to postmaster@your-domain.example mx.your-domain.example"
}

# --- command line ---------------------------------------------------------------

lab_main() {
	local cmd=${1:-} here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	case "$cmd" in
	up)
		trap 'lab_down' EXIT
		trap 'exit 130' INT TERM
		lab_up "${2:-$here/../../build}" || exit 1
		trap - EXIT
		echo "LAB_DIR=$LAB_DIR" >>"$LAB_DIR/lab.env"
		echo "lab is up: namespaces rp-$LAB_ID-*, state in $LAB_DIR"
		echo "  export RELAYPROBE_ADMIN=$RELAYPROBE_ADMIN"
		echo "  tear down: $0 down $LAB_DIR"
		;;
	down)
		local dir=${2:-}
		if [ -z "$dir" ] || [ ! -r "$dir/lab.env" ]; then
			echo "usage: lab.sh down LAB_DIR (as printed by lab.sh up)" >&2
			exit 2
		fi
		LAB_ID=$(sed -n 's/^LAB_ID=\([0-9]*\)$/\1/p' "$dir/lab.env")
		LAB_DIR=$dir
		[ -n "$LAB_ID" ] || exit 2
		lab_down
		;;
	demo)
		trap 'lab_down' EXIT
		trap 'exit 130' INT TERM
		local t0=$SECONDS
		echo "=== starting the lab (namespaces rp-$$-*)"
		lab_up "${2:-$here/../../build}" || exit 1
		echo "    ready in $((SECONDS - t0)) s"
		lab_demo
		local rc=$?
		echo "=== tearing the lab down (demo took $((SECONDS - t0)) s)"
		exit $rc
		;;
	*)
		echo "usage: lab.sh up [BINDIR] | down LAB_DIR | demo [BINDIR]" >&2
		exit 2
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -uo pipefail
	lab_main "$@"
fi
