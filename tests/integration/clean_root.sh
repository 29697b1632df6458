# shellcheck shell=bash
# clean_root.sh - a clean Debian 12 (bookworm) minbase root for the tests
# that need one (test_deb_install.sh, test_real_mtas.sh): debootstrapped
# once from the machine's Debian mirror and cached as a tarball in
# /var/cache/relayprobe-test/, then unpacked per run under a work folder
# with /proc and /dev mounted. Sourced; needs root. Every function prints
# what failed and returns non-zero; the caller decides to die or skip.
#   rp_root_cache [PKG...]   make the cache if missing (PKGs' .debs kept in it)
#   rp_root_unpack DIR       unpack the cache into DIR, mount /proc and /dev
#   rp_root_cleanup WORK     unmount everything under WORK and remove it
#   rp_root_mounts_under DIR the mount points under DIR, deepest first
# RP_ROOT_CACHE_DIR names another cache folder (a first run from scratch).

RP_ROOT_CACHE_DIR=${RP_ROOT_CACHE_DIR:-/var/cache/relayprobe-test}
RP_ROOT_CACHE=$RP_ROOT_CACHE_DIR/bookworm-minbase-v1.tar.gz

rp_root_mounts_under() {
	awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

rp_root_mount_api() { # /proc and /dev in $1
	mount -t proc proc "$1/proc" || {
		echo "clean_root: mount proc in $1" >&2
		return 1
	}
	mount --bind /dev "$1/dev" || {
		echo "clean_root: bind /dev in $1" >&2
		return 1
	}
}

rp_root_cache() {
	local work mirror
	[ -s "$RP_ROOT_CACHE" ] && return 0
	if ! command -v debootstrap >/dev/null 2>&1; then
		apt-get install -y debootstrap >/dev/null 2>&1 ||
			{ apt-get update >/dev/null 2>&1 && apt-get install -y debootstrap >/dev/null; } || {
			echo "clean_root: debootstrap is not installed and apt-get install debootstrap failed" >&2
			return 1
		}
	fi
	mirror=${RP_DEB_MIRROR:-$(grep -hoE 'https?://[^ ]+/debian/?$|https?://[^ ]+/debian ' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
		2>/dev/null | grep -v security | head -n 1 | tr -d ' ')}
	[ -n "$mirror" ] || {
		echo "clean_root: no Debian mirror in /etc/apt/sources.list* (set RP_DEB_MIRROR)" >&2
		return 1
	}
	echo "clean_root: first run: debootstrap bookworm from $mirror (a few minutes)"
	mkdir -p "$RP_ROOT_CACHE_DIR" || return 1
	work=$(mktemp -d /var/tmp/rp-boot.XXXXXX) || return 1
	if ! debootstrap --variant=minbase bookworm "$work/boot" "$mirror" >"$work/debootstrap.log" 2>&1; then
		tail -n 20 "$work/debootstrap.log" >&2
		echo "clean_root: debootstrap failed" >&2
		rp_root_cleanup "$work"
		return 1
	fi
	cp /etc/resolv.conf "$work/boot/etc/resolv.conf"
	rp_root_mount_api "$work/boot" || {
		rp_root_cleanup "$work"
		return 1
	}
	if ! chroot "$work/boot" apt-get update >"$work/apt.log" 2>&1 ||
		! chroot "$work/boot" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --download-only "$@" >>"$work/apt.log" 2>&1; then
		tail -n 20 "$work/apt.log" >&2
		echo "clean_root: apt-get in the new root" >&2
		rp_root_cleanup "$work"
		return 1
	fi
	umount "$work/boot/dev" "$work/boot/proc"
	if ! tar -C "$work/boot" -czf "$RP_ROOT_CACHE.tmp.$$" . ||
		! mv "$RP_ROOT_CACHE.tmp.$$" "$RP_ROOT_CACHE"; then
		rm -f "$RP_ROOT_CACHE.tmp.$$"
		echo "clean_root: writing $RP_ROOT_CACHE" >&2
		rp_root_cleanup "$work"
		return 1
	fi
	rp_root_cleanup "$work"
}

rp_root_unpack() {
	mkdir -p "$1" || return 1
	tar -C "$1" -xzf "$RP_ROOT_CACHE" || {
		echo "clean_root: unpacking $RP_ROOT_CACHE" >&2
		return 1
	}
	rp_root_mount_api "$1"
}

rp_root_cleanup() {
	local m
	for m in $(rp_root_mounts_under "$1"); do
		umount -l "$m" 2>/dev/null
	done
	if [ -n "$(rp_root_mounts_under "$1")" ]; then
		echo "clean_root: mounts left under $1: not removing it" >&2
		return 1
	fi
	rm -rf --one-file-system "$1"
}
