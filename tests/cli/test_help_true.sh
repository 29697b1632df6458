#!/usr/bin/env bash
# test_help_true.sh - every --help is true: for each relayprobe command (the
# table in cli/main.c) and both daemons, every long option its --help lists
# is accepted by its parser (run with a dummy value where it takes one, then
# --help, against an admin socket that does not exist), and every name in its
# source's getopt long-option table that the parser accepts is in its --help,
# with a value exactly when the table says required_argument, and in its man
# page (docs/relayprobe.1, docs/relayprobe-controller.8, docs/relayprobe-agent.8).
# No network traffic: nothing listens on the admin socket, and --help stops
# every command before it does anything.
# Usage: test_help_true.sh /path/to/relayprobe
set -euo pipefail

RP=${1:?usage: $0 /path/to/relayprobe}
BIN=$(dirname "$RP")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/rp-help-true.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export RELAYPROBE_ADMIN="ipc://$TMP/none.sock"

passed=0
failed=0
ok() {
	passed=$((passed + 1))
}
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
}

# help_options CMD...: "NAME 0|1" per long option its --help lists (1: it
# takes a value), from the option lines ("  -x, --name V" or "      --name V")
# and the usage lines (up to the first blank line). Prose is not read: it
# names other commands' options.
help_options() {
	"$@" --help 2>/dev/null | awk '
		/^$/ { in_usage = 0 }
		/^usage:/ { in_usage = 1 }
		in_usage || /^  (-[A-Za-z], |    )--[a-z]/ {
			line = $0
			if (!in_usage) line = substr(line, 1, 27)
			while (match(line, /--[a-z][a-z0-9-]*( [A-Z][^ ]*)?/)) {
				tok = substr(line, RSTART, RLENGTH)
				name = tok
				sub(/ .*/, "", name)
				print substr(name, 3), (tok != name ? 1 : 0)
				line = substr(line, RSTART + RLENGTH)
			}
		}' | sort -u | awk '{ v[$1] = v[$1] || $2 } END { for (n in v) print n, v[n] }' | sort
}

# help_shorts CMD...: "X 0|1" per short option its --help lists beside a
# long one ("  -x, --name V"; 1: it takes a value).
help_shorts() {
	"$@" --help 2>/dev/null | sed -nE 's/^  -([A-Za-z]), --[a-z][a-z0-9-]*( [A-Z][^ ]*)?.*/\1 \2/p' |
		awk '{ print $1, (NF > 1 ? 1 : 0) }' | sort -u
}

# refused OPTION VALUE(0|1) CMD...: true when the parser refuses OPTION
# (unknown, or its value missing); run as CMD OPTION [1] --help.
refused() {
	local opt=$1 val=$2
	shift 2
	rc=0
	if [[ $val == 1 ]]; then
		"$@" "$opt" 1 --help </dev/null >"$TMP/out" 2>"$TMP/err" || rc=$?
	else
		"$@" "$opt" --help </dev/null >"$TMP/out" 2>"$TMP/err" || rc=$?
	fi
	grep -qiE 'unknown option|unrecognized option|invalid option|needs a value|requires an argument' "$TMP/err"
}

# table_options FILE...: "NAME 0|1" per entry of the files' struct option
# tables (1: required_argument), the shared macros of cli/admin.h expanded.
table_options() {
	{
		grep -ohE '\{"[a-z][a-z0-9-]*", *(no|required|optional)_argument' "$@" |
			sed -E 's/\{"([^"]*)", *(no|required|optional)_argument/\1 \2/' |
			sed -E 's/ required$/ 1/; s/ (no|optional)$/ 0/'
		if grep -q 'CLI_HELP_OPTION' "$@"; then echo "help 0"; fi
		if grep -q 'ADMIN_LONG_OPTIONS' "$@"; then printf 'admin 1\nadmin-timeout 1\n'; fi
	} | sort -u
}

# check NAME MANPAGE TABLEFILES -- CMD...
check() {
	local name=$1 man=$2
	shift 2
	local files=()
	while [[ $1 != -- ]]; do
		files+=("$1")
		shift
	done
	shift
	help_options "$@" >"$TMP/help"
	table_options "${files[@]}" >"$TMP/table"
	if [[ ! -s $TMP/help ]]; then
		not_ok "$name: --help lists no long option"
		return
	fi
	if [[ ! -s $TMP/table ]]; then
		not_ok "$name: no getopt long-option table in ${files[*]}"
		return
	fi
	local opt val
	# Every option --help lists is accepted, the short ones too.
	while read -r opt val; do
		if refused "-$opt" "$val" "$@"; then
			not_ok "$name: --help lists -$opt, the parser refuses it: $(head -1 "$TMP/err")"
		else
			ok
		fi
	done < <(help_shorts "$@")
	while read -r opt val; do
		if refused "--$opt" "$val" "$@"; then
			not_ok "$name: --help lists --$opt, the parser refuses it: $(head -1 "$TMP/err")"
		elif [[ $val == 0 && $rc -ne 0 ]]; then
			not_ok "$name --$opt --help: exit $rc (does --$opt take a value?)"
		else
			ok
		fi
	done <"$TMP/help"
	# Every option of the table that the parser accepts is in --help, with a
	# value as the table says, and in the man page.
	while read -r opt val; do
		if refused "--$opt" 1 "$@" && ! grep -q 'needs a value' "$TMP/err"; then
			ok # in the shared table, refused by this command
			continue
		fi
		if ! grep -q "^$opt " "$TMP/help"; then
			not_ok "$name: the parser takes --$opt, its --help does not list it"
		elif ! grep -qx "$opt $val" "$TMP/help"; then
			not_ok "$name: --$opt: the table says value=$val, --help does not"
		else
			ok
		fi
		if grep -qF -- "\\-\\-${opt//-/\\-}" "$man"; then
			ok
		else
			not_ok "$name: --$opt is not in $(basename "$man")"
		fi
	done <"$TMP/table"
}

# The commands of cli/main.c's table, with the file it names; report and
# transcript parse through cli/view.c, the inventory commands through
# cli/inv_common.c.
mapfile -t commands < <(grep -oE '^ *\{"[a-z-]+", [a-z_]+_main, "cli/[a-z_]+\.c"' "$SRC/cli/main.c" |
	sed -E 's/^ *\{"([a-z-]+)", [a-z_]+, "([^"]+)"/\1 \2/')
if [[ ${#commands[@]} -lt 10 ]]; then
	not_ok "cli/main.c: only ${#commands[@]} commands found in its table"
fi
for entry in "${commands[@]}"; do
	cmd=${entry%% *}
	file=$SRC/${entry#* }
	files=("$file")
	if grep -q 'view_parse_options' "$file"; then files+=("$SRC/cli/view.c"); fi
	if grep -q 'inv_main' "$file"; then files+=("$SRC/cli/inv_common.c"); fi
	check "relayprobe $cmd" "$SRC/docs/relayprobe.1" "${files[@]}" -- "$RP" "$cmd"
done
# relayprobe's own options (cli/main.c): --help lists --version and --help.
for opt in $(help_options "$RP" | cut -d' ' -f1); do
	rc=0
	"$RP" "--$opt" </dev/null >"$TMP/out" 2>"$TMP/err" || rc=$?
	if [[ $rc -eq 0 && -s $TMP/out ]]; then ok; else not_ok "relayprobe --$opt: exit $rc"; fi
done
check relayprobe-controller "$SRC/docs/relayprobe-controller.8" \
	"$SRC/controller/main/controller_main.c" -- "$BIN/relayprobe-controller"
check relayprobe-agent "$SRC/docs/relayprobe-agent.8" \
	"$SRC/agent/agent_main.c" -- "$BIN/relayprobe-agent"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
