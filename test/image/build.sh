#!/bin/bash
# build.sh TAG | --hash - build the pgx test image without any registry: debootstrap a
# minimal Debian with postgresql-15 from the mirror apt already uses, add our
# entrypoint, and `docker import` the tree.  Needs root, debootstrap and a
# running dockerd.  The tree lives in a temp dir that is removed afterwards.
set -euo pipefail

tag="${1:-pgx-test/postgres:15}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite="${PGX_IMAGE_SUITE:-bookworm}"

# The first Debian mirror configured for apt (deb822 or one-line format).
apt_mirror() {
	local m
	m="$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '{print $1}' | grep -v -- '-security' | head -n1)"
	[ -n "$m" ] || m="$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)"
	printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# What the image is made from; the image carries it as a label, so a changed
# entrypoint or build script makes the cached image stale.
recipe_hash() {
	cat "$here/build.sh" "$here/docker-entrypoint.sh" | sha256sum | cut -c1-16
}

root=""
cleanup() {
	[ -z "$root" ] || rm -rf --one-file-system "$root" "$root.log"
}

main() {
	local mirror
	if [ "$tag" = --hash ]; then
		recipe_hash
		return
	fi
	[ "$(id -u)" = 0 ] || { echo "build.sh: needs root" >&2; exit 5; }
	mirror="${PGX_IMAGE_MIRROR:-$(apt_mirror)}"
	root="$(mktemp -d /tmp/pgx-image.XXXXXX)"
	trap cleanup EXIT
	# No cluster at install time: the entrypoint makes one in $PGDATA.
	mkdir -p "$root/etc/postgresql-common"
	echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.conf"
	debootstrap --variant=minbase --include=postgresql-15 "$suite" "$root" "$mirror" \
		>"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; exit 1; }
	install -m 755 "$here/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
	mkdir -p "$root/docker-entrypoint-initdb.d"
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
	tar -C "$root" --numeric-owner -c . | docker import \
		--change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV PGDATA=/var/lib/postgresql/data' \
		--change 'ENV PGPORT=5432' \
		--change 'ENV LANG=C.UTF-8' \
		--change 'VOLUME /var/lib/postgresql/data' \
		--change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
		--change 'CMD ["postgres"]' \
		--change "LABEL org.pgx.recipe=$(recipe_hash)" \
		- "$tag" >/dev/null
}

main "$@"
