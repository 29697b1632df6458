#!/usr/bin/env bash
# test_probe_table.sh - `relayprobe probe`'s text table stays aligned when a
# name is longer than the old fixed 40-column TARGET column (issue 13).
# Runs in its own network namespace with only lo up and the resolver on
# 127.0.0.1 where nothing listens: the names fail to resolve at once, and no
# packet leaves the namespace.
set -u
. "$(dirname "$0")/lib.sh"
rp_probe_init "$@"
rp_tmpdir rptable

NS=rptable-$$
rp_cleanup_hook() {
	ip netns del "$NS" 2>/dev/null || true
}
if ! ip netns add "$NS" 2>/dev/null; then
	echo "skipped: cannot create a network namespace (needs root)"
	exit 77
fi
ip -n "$NS" link set lo up
echo "nameserver 127.0.0.1" >"$T/resolv.conf"

long=a-rather-long-mail-host-name-for-the-table.example.com
ip netns exec "$NS" "$RP" probe --resolv-conf "$T/resolv.conf" "$long" short.example.com \
	>"$T/out" 2>"$T/err"
# the ADDRESS:PORT column starts at the same offset in the header and each row
col=$(head -1 "$T/out" | awk '{ print index($0, "ADDRESS:PORT") }')
bad=$(awk -v c="$col" 'NR > 1 && /^[a-z]/ && substr($0, c - 1, 2) != " -" { print }' "$T/out")
rows=$(grep -c '^[a-z]' "$T/out")
if [ "$col" -gt 41 ] && [ -z "$bad" ] && [ "$rows" -eq 2 ]; then
	ok "a name past 40 columns keeps the table aligned"
else
	not_ok "a name past 40 columns keeps the table aligned (column $col)"
	cat "$T/out" "$T/err"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
