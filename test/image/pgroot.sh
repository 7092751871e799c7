#!/bin/bash
# pgroot.sh build VERSION          print the root of a Debian tree with PostgreSQL VERSION
# pgroot.sh run VERSION CMD...     run CMD (a path inside the tree) in that tree, as the
#                                  cluster owner postgres
# pgroot.sh mirror                 print the Debian mirror apt uses (build.sh's too)
#
# PostgreSQL 13 and 17 for the tests, beside the host's 15, without any registry:
# debootstrap a minimal Debian (bullseye has 13, trixie has 17) from the mirror apt
# already uses, once per version and recipe, cached under $PGX_TEST_CACHE
# (/var/cache/pgx-test); a lock makes parallel bats runs build it once.  `run`
# enters the tree in a private mount namespace with the host's /tmp, /dev and
# /proc bound in, so data directories, sockets and logs under /tmp have the same
# paths on both sides.  The tree's postgres user has the host's uid and gid.
# Needs root.
set -euo pipefail

cache="${PGX_TEST_CACHE:-/var/cache/pgx-test}"

die() {
	echo "pgroot.sh: $*" >&2
	exit 1
}

suite_of() {
	case "$1" in
	13) echo bullseye ;;
	17) echo trixie ;;
	*) die "no Debian suite known for PostgreSQL '$1' (13 or 17)" ;;
	esac
}

# The first Debian mirror configured for apt (deb822 or one-line format).
apt_mirror() {
	local m
	m="$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '{print $1}' | grep -v -- '-security' | head -n1)"
	[ -n "$m" ] || m="$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)"
	printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# What a tree is made from: a changed recipe makes the cached tree stale.
recipe_hash() {
	declare -f suite_of align_postgres_ids bootstrap | sha256sum | cut -c1-12
}

# The tree's postgres user gets the host's ids, so files under /tmp belong to
# the same user on both sides.
align_postgres_ids() {
	local root="$1" uid gid old_uid old_gid
	uid="$(id -u postgres)" gid="$(id -g postgres)"
	old_uid="$(awk -F: '$1 == "postgres" {print $3}' "$root/etc/passwd")"
	old_gid="$(awk -F: '$1 == "postgres" {print $3}' "$root/etc/group")"
	[ -n "$old_uid" ] && [ -n "$old_gid" ] || die "no postgres user in $root"
	sed -i -E "s/^postgres:([^:]*):$old_uid:$old_gid:/postgres:\\1:$uid:$gid:/" "$root/etc/passwd"
	sed -i -E "s/^postgres:([^:]*):$old_gid:/postgres:\\1:$gid:/" "$root/etc/group"
	find "$root" -xdev \( -uid "$old_uid" -o -gid "$old_gid" \) -exec chown -h "$uid:$gid" {} +
}

bootstrap() {
	local version="$1" dest="$2" tmp
	tmp="$(mktemp -d "$cache/.build-$version.XXXXXX")"
	# No cluster at install time: the tests make their own.
	mkdir -p "$tmp/root/etc/postgresql-common"
	echo "create_main_cluster = false" >"$tmp/root/etc/postgresql-common/createcluster.conf"
	debootstrap --variant=minbase --include="postgresql-$version" "$(suite_of "$version")" \
		"$tmp/root" "${PGX_IMAGE_MIRROR:-$(apt_mirror)}" >"$tmp/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$tmp/debootstrap.log" >&2; rm -rf --one-file-system "$tmp"; die "debootstrap failed"; }
	[ -x "$tmp/root/usr/lib/postgresql/$version/bin/postgres" ] || die "no postgres $version in the tree"
	rm -rf "$tmp/root"/var/cache/apt/archives/*.deb "$tmp/root"/var/lib/apt/lists/*
	align_postgres_ids "$tmp/root"
	mv "$tmp" "$dest"
}

build() {
	local version="$1" dest
	suite_of "$version" >/dev/null
	dest="$cache/pg$version-$(recipe_hash)"
	[ -x "$dest/root/usr/lib/postgresql/$version/bin/postgres" ] && { echo "$dest/root"; return; }
	[ "$(id -u)" = 0 ] || die "needs root to build the PostgreSQL $version tree"
	mkdir -p "$cache"
	(
		flock 9
		[ -d "$dest" ] || bootstrap "$version" "$dest"
	) 9>"$cache/pg$version.lock"
	echo "$dest/root"
}

# Binds /tmp, /dev, /proc into the tree (private namespace: the host's mounts are
# untouched) and runs the command as postgres there; a server started this way
# keeps the namespace alive until it stops.
run() {
	local version="$1" root
	shift
	root="$(build "$version")"
	exec unshare --mount --propagation private /bin/sh -c '
		root="$1"; shift
		for d in tmp dev proc; do mount --rbind "/$d" "$root/$d" || exit 1; done
		exec chroot "$root" /usr/sbin/runuser -u postgres -- /usr/bin/env \
			PATH=/usr/bin:/bin LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ="${TZ:-UTC}" "$@"' sh "$root" "$@"
}

case "${1:-}" in
build) build "$2" ;;
run) shift; run "$@" ;;
mirror) apt_mirror ;;
*) die "usage: pgroot.sh build VERSION | run VERSION CMD... | mirror" ;;
esac
