#!/usr/bin/env bash
# test_admin_socket.sh - the controller's admin socket cannot be used to
# change another file's mode, on loopback only:
#
#   relayprobe-controller (tcp://127.0.0.1:$CTL_PORT) --bind--> $T/run/admin.sock
#                 ^ LD_PRELOAD swap.so: right after bind(), moves the socket
#                   away and plants admin.sock -> $T/victim (the race a
#                   chmod by path loses)
#
# Checks: the victim keeps its mode 0600 and the controller refuses to start,
# naming the path; a normal start gives a 0660 socket the CLI can use; a
# socket directory that others may write (not sticky) is refused.
# $1 = relayprobe binary; relayprobe-controller beside it.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_daemons_init "$@"

rp_tmpdir rpadm
CTL_PORT=$(lab_free_ports 1)
rp_keygen
mkdir -m 0750 "$T/run" "$T/open"
chmod 0777 "$T/open"

# write_conf SOCKET-PATH
write_conf() {
	ADMIN=ipc://$1
	rp_controller_conf
}

cat >"$T/swap.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	int (*real)(int, const struct sockaddr *, socklen_t) =
	    (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
	const char *p = getenv("RP_SWAP_PATH"), *t = getenv("RP_SWAP_TARGET");
	int rc = real(fd, sa, len);
	char moved[4096];

	if (rc == 0 && sa->sa_family == AF_UNIX && p != NULL && t != NULL &&
	    strcmp(((const struct sockaddr_un *)sa)->sun_path, p) == 0) {
		snprintf(moved, sizeof(moved), "%s.moved", p);
		if (rename(p, moved) == 0 && symlink(t, p) == 0)
			fprintf(stderr, "swap.so: %s now -> %s\n", p, t);
	}
	return rc;
}
C
if ! cc -shared -fPIC -o "$T/swap.so" "$T/swap.c" -ldl; then
	not_ok "cannot build the bind() shim"
	echo "$passed passed, $failed failed"
	exit 1
fi
# A sanitizer build needs its runtime first in the preload list.
PRELOAD=$T/swap.so
ASAN_LIB=$(ldd "$CTL" | awk '/libasan/ { print $3 }')
[[ -n $ASAN_LIB ]] && PRELOAD="$ASAN_LIB $PRELOAD"

# --- a symlink swapped in after bind(): victim untouched, start refused -------
echo secret >"$T/victim"
chmod 0600 "$T/victim"
write_conf "$T/run/admin.sock"
LD_PRELOAD=$PRELOAD RP_SWAP_PATH=$T/run/admin.sock RP_SWAP_TARGET=$T/victim \
	timeout 20 "$CTL" --config "$T/controller.conf" >"$T/swap.log" 2>&1
rc=$?
mode=$(stat -c %a "$T/victim")
if grep -q "swap.so: $T/run/admin.sock now ->" "$T/swap.log"; then
	if [[ $mode == 600 ]]; then
		ok "symlink swapped in after bind(): its target keeps mode 600"
	else
		not_ok "symlink swapped in after bind(): target mode changed to $mode"
	fi
	if [[ $rc -ne 0 && $rc -ne 124 ]] && grep -q "$T/run/admin.sock is not the socket just bound" "$T/swap.log"; then
		ok "controller refuses to start with the replaced socket (exit $rc)"
	else
		not_ok "controller with a replaced admin socket: exit $rc"
		cat "$T/swap.log"
	fi
else
	not_ok "the bind() shim did not run"
	cat "$T/swap.log"
fi
rm -f "$T/run/admin.sock" "$T/run/admin.sock.moved"

# --- a normal start: socket 0660, the CLI answers ------------------------------
"$CTL" --config "$T/controller.conf" >"$T/controller.log" 2>&1 &
CPID=$!
for _ in $(seq 1 50); do
	[[ -S $T/run/admin.sock ]] && break
	sleep 0.1
done
if [[ -S $T/run/admin.sock && $(stat -c %a "$T/run/admin.sock") == 660 ]] &&
	RELAYPROBE_ADMIN=ipc://$T/run/admin.sock "$RP" agents list >/dev/null 2>&1; then
	ok "normal start: admin socket mode 660 and answering"
else
	not_ok "normal start"
	ls -la "$T/run"
	cat "$T/controller.log"
fi
kill "$CPID" 2>/dev/null
wait "$CPID" 2>/dev/null
CPID=""

# --- a directory others may write is refused -----------------------------------
write_conf "$T/open/admin.sock"
timeout 20 "$CTL" --config "$T/controller.conf" >"$T/open.log" 2>&1
rc=$?
if [[ $rc -ne 0 && $rc -ne 124 ]] && grep -q "directory $T/open has mode 0777" "$T/open.log" &&
	[[ ! -e $T/open/admin.sock ]]; then
	ok "socket directory writable by others (mode 0777) refused (exit $rc)"
else
	not_ok "world-writable socket directory: exit $rc"
	cat "$T/open.log"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
