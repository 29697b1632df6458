#!/usr/bin/env bash
# install-deps.sh - install every Debian 12 package that relayprobe's build,
# test suite and benchmark need. Run as root. Idempotent: when everything is
# already installed it only checks and returns; otherwise apt-get update and
# install, non-interactively. The system Postfix is never started by this
# script (services are held back during the install, and Postfix is preseeded
# to "No configuration"); the tests run private Postfix instances on loopback.
set -euo pipefail

PACKAGES=(
	# build
	build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
	# static analysis in scripts/test.sh (docs/dependencies.md)
	cppcheck
	libc-ares-dev libjansson-dev libssl-dev libsodium-dev libzmq3-dev
	libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev
	# controller/hook_webhook.c: the webhook (libcurl multi interface)
	libcurl4-openssl-dev
	# tests
	libcmocka-dev postfix openssl python3 valgrind iproute2 procps
	# the lab (deploy/lab/lab.sh): saslpasswd2 and the PLAIN/LOGIN plugins (submission server);
	# the sqlite3 CLI (the lab polls the store for the canary's verdicts)
	sasl2-bin libsasl2-modules sqlite3
	# packaging tests: a clean Debian root for the .deb, systemd-analyze for the units
	debootstrap systemd
	# benchmark (nmap: the comparison; time: peak RSS with /usr/bin/time)
	nmap time
	# tests/integration/test_report_html.sh: renders the HTML report headless (DOM, screenshot)
	chromium
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root (as root: bash scripts/install-deps.sh)" >&2
	exit 2
fi
if [ ! -r /etc/debian_version ]; then
	echo "install-deps.sh: this script targets Debian 12; install the equivalents of: ${PACKAGES[*]}" >&2
	exit 2
fi

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps.sh: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi
echo "install-deps.sh: installing ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
# Postfix: no configuration, so the package neither asks questions nor sets up
# a listener on port 25.
if command -v debconf-set-selections >/dev/null; then
	debconf-set-selections <<'EOF'
postfix postfix/main_mailer_type select No configuration
postfix postfix/mailname string relayprobe.invalid
EOF
fi

# Hold back service start-ups during the install (the Debian policy-rc.d
# convention): no package starts a daemon. Removed again on exit, only if we
# created it.
policy=/usr/sbin/policy-rc.d
created_policy=0
postfix_was_running=0
if pgrep -x master >/dev/null 2>&1 && postfix status >/dev/null 2>&1; then
	postfix_was_running=1
fi
cleanup() {
	if [ "$created_policy" -eq 1 ]; then
		rm -f "$policy"
	fi
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi

apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Belt and braces: if the system Postfix runs now and did not before, stop it
# and keep it from starting at boot. Our tests never use port 25.
if [ "$postfix_was_running" -eq 0 ] && postfix status >/dev/null 2>&1; then
	echo "install-deps.sh: stopping the system Postfix started by the package"
	postfix stop >/dev/null 2>&1 || true
	if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
		systemctl disable --now postfix >/dev/null 2>&1 || true
	fi
fi
echo "install-deps.sh: done"
