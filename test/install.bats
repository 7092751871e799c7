#!/usr/bin/env bats
# make install honours PREFIX and DESTDIR, and the installed tools find share/pgx.

load test_helper

@test "make install puts binaries, rules, man pages and completions under DESTDIR/PREFIX" {
	dest="$BATS_TEST_TMPDIR/root"
	run make -C "$PGX_TEST_DIR/.." BUILD="$PGX_BUILD" PREFIX=/opt/pgx DESTDIR="$dest" install
	assert_success
	for f in bin/pgx-logmatch share/pgx/rules/default.yaml share/man/man1/pgx-logmatch.1 \
		share/man/man7/pgx-events.7 share/bash-completion/completions/pgx-logmatch; do
		[ -e "$dest/opt/pgx/$f" ] || fail "missing $f"
	done
	# the installed binary finds its rules beside itself, without PGX_SHARE_DIR
	run env -u PGX_SHARE_DIR "$dest/opt/pgx/bin/pgx-logmatch" --check-rules -r client-timing
	assert_success
	run make -C "$PGX_TEST_DIR/.." BUILD="$PGX_BUILD" PREFIX=/opt/pgx DESTDIR="$dest" uninstall
	assert_success
	[ ! -e "$dest/opt/pgx/bin/pgx-logmatch" ] || fail "uninstall left the binary"
}
