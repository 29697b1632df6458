#!/usr/bin/env bash
# test_port25_blocked.sh - a vantage whose port-25 connects all time out
# (issue 13): `relayprobe probe` run in a network namespace that routes the
# documentation ranges to a gateway whose MAC no interface has, so every SYN
# is dropped unanswered (no RST, no ICMP) and every connect times out for
# real; nothing leaves the namespace (no iptables/nft needed).
#
#   netns rp25-PID:
#     v0 203.0.113.249/30 ==veth== v1 (up, no address: frames for the
#                                    gateway's MAC are not its own; dropped)
#     192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 via 203.0.113.250 dev v0
#     neigh 203.0.113.250 lladdr 02:00:5e:00:25:02 permanent
#
# Checks: four port-25 targets there print "port 25 looks blocked at this
# vantage: 4 of 4 connects timed out" (text: stderr; --json: a `vantage`
# line); two targets (below the minimum) and port 587 do not.
set -u
. "$(dirname "$0")/lib.sh"
rp_probe_init "$@"
rp_tmpdir rp25

NS=rp25-$$
rp_cleanup_hook() {
	ip netns del "$NS" 2>/dev/null || true
}
if ! ip netns add "$NS" 2>/dev/null; then
	echo "skipped: cannot create a network namespace (needs root)"
	exit 77
fi
ip -n "$NS" link set lo up
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" addr add 203.0.113.249/30 dev v0
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up
ip -n "$NS" neigh add 203.0.113.250 lladdr 02:00:5e:00:25:02 dev v0 nud permanent
for net in 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24; do
	ip -n "$NS" route add "$net" via 203.0.113.250 dev v0
done

probe() { # probe ARGS...: stdout in $T/out, stderr in $T/err
	ip netns exec "$NS" "$RP" probe --connect-timeout 1 --no-mx "$@" >"$T/out" 2>"$T/err"
}
four=(192.0.2.25 192.0.2.26 198.51.100.25 203.0.113.25)
line="port 25 looks blocked at this vantage: 4 of 4 connects timed out"

probe "${four[@]}"
if grep -qxF "$line" "$T/err" && ! grep -qF "looks blocked" "$T/out"; then
	ok "four silent port-25 addresses: the line on stderr"
else
	not_ok "four silent port-25 addresses: the line on stderr"
	cat "$T/out" "$T/err"
fi

probe --json "${four[@]}"
if grep -q '^{"vantage":{"port25_blocked":true,"connects":4,"timed_out":4,' "$T/out" &&
	[ "$(grep -c '"vantage"' "$T/out")" -eq 1 ]; then
	ok "--json: one vantage object"
else
	not_ok "--json: one vantage object"
	cat "$T/out" "$T/err"
fi

probe 192.0.2.25 192.0.2.26
if ! grep -qF "looks blocked" "$T/err" "$T/out"; then
	ok "two addresses (below the minimum): no line"
else
	not_ok "two addresses (below the minimum): no line"
fi

probe --port 587 "${four[@]}"
if ! grep -qF "looks blocked" "$T/err" "$T/out"; then
	ok "port 587 timing out says nothing about port 25"
else
	not_ok "port 587 timing out says nothing about port 25"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
