#!/bin/bash
# build.sh [TAG] | --hash [TAG] - build the pgx test image without any registry: a
# minimal Debian with postgresql-VERSION from the mirror apt already uses, plus
# our entrypoint, `docker import`ed.  VERSION is PGX_IMAGE_VERSION or the tag's
# (pgx-test/postgres:17): 15 is debootstrapped from bookworm into a temp dir
# removed afterwards; 13 and 17 are imported from the tree test/image/pgroot.sh
# keeps for the tests (bullseye, trixie; debootstrapped once if missing), read
# only.  Needs root, debootstrap and a running dockerd.
set -euo pipefail

if [ "${1:-}" = --hash ]; then
	mode="hash"
	shift
fi
tag="${1:-pgx-test/postgres:15}"
version="${PGX_IMAGE_VERSION:-${tag##*:}}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite="${PGX_IMAGE_SUITE:-bookworm}"

# What the image is made from; the image carries it as a label, so a changed
# entrypoint or build script makes the cached image stale.
recipe_hash() {
	local tree=/dev/null
	[ "$version" = 15 ] || tree="$here/pgroot.sh"
	{ echo "$version"; cat "$here/build.sh" "$here/docker-entrypoint.sh" "$tree"; } |
		sha256sum | cut -c1-16
}

root=""
cleanup() {
	[ -z "$root" ] || rm -rf --one-file-system "$root" "$root.log"
}

# bookworm's postgresql-15, in a temp tree; the image holds all of it.
bootstrap_15() {
	local mirror
	mirror="${PGX_IMAGE_MIRROR:-$("$here/pgroot.sh" mirror)}"
	# No cluster at install time: the entrypoint makes one in $PGDATA.
	mkdir -p "$root/tree/etc/postgresql-common"
	echo "create_main_cluster = false" >"$root/tree/etc/postgresql-common/createcluster.conf"
	debootstrap --variant=minbase --include=postgresql-15 "$suite" "$root/tree" "$mirror" \
		>"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; exit 1; }
	rm -rf "$root/tree"/var/cache/apt/archives/*.deb "$root/tree"/var/lib/apt/lists/*
	echo "$root/tree"
}

# The tree, then the entrypoint and its init directory from a small second
# tree: one tar stream, so pgroot.sh's cached tree is never written to.
import_image() {
	local tree="$1"
	mkdir -p "$root/add/usr/local/bin" "$root/add/docker-entrypoint-initdb.d"
	install -m 755 "$here/docker-entrypoint.sh" "$root/add/usr/local/bin/docker-entrypoint.sh"
	tar --numeric-owner -c -C "$tree" . -C "$root/add" ./usr/local/bin/docker-entrypoint.sh \
		./docker-entrypoint-initdb.d | docker import \
		--change "ENV PATH=/usr/lib/postgresql/$version/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		--change 'ENV PGDATA=/var/lib/postgresql/data' \
		--change 'ENV PGPORT=5432' \
		--change 'ENV LANG=C.UTF-8' \
		--change 'VOLUME /var/lib/postgresql/data' \
		--change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
		--change 'CMD ["postgres"]' \
		--change "LABEL org.pgx.recipe=$(recipe_hash)" \
		- "$tag" >/dev/null
}

main() {
	local tree
	if [ "${mode:-}" = hash ]; then
		recipe_hash
		return
	fi
	[ "$(id -u)" = 0 ] || { echo "build.sh: needs root" >&2; exit 5; }
	root="$(mktemp -d /tmp/pgx-image.XXXXXX)"
	trap cleanup EXIT
	case "$version" in
	15) tree="$(bootstrap_15)" ;;
	13 | 17) tree="$("$here/pgroot.sh" build "$version")" ;;
	*) echo "build.sh: no recipe for PostgreSQL '$version' (13, 15 or 17)" >&2; exit 2 ;;
	esac
	import_image "$tree"
}

main "$@"
