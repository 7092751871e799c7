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

teardown() {
	pg_stop
}

@test "an installed pgx-apply ignores PGX_APPLY_TEST_PAUSE_AFTER; only the test build has the hook" {
	dest="$BATS_TEST_TMPDIR/root"
	run make -C "$PGX_TEST_DIR/.." BUILD="$PGX_BUILD" PREFIX=/opt/pgx DESTDIR="$dest" install
	assert_success
	if grep -q PGX_APPLY_TEST_PAUSE_AFTER "$dest/opt/pgx/bin/pgx-apply"; then
		fail "the installed pgx-apply contains the test hook"
	fi
	grep -q PGX_APPLY_TEST_PAUSE_AFTER "$(command -v pgx-apply)" ||
		fail "the pgx-apply the tests run has no test hook"
	pg_start
	echo "work_mem = '16MB'" >"$BATS_TEST_TMPDIR/change.conf"
	# with the hook it would sleep 60 s after the first parameter
	PGX_STATE_DIR="$BATS_TEST_TMPDIR/state" PGX_APPLY_TEST_PAUSE_AFTER=1 run --separate-stderr \
		timeout 20 "$dest/opt/pgx/bin/pgx-apply" -d "$PGX_PG_DSN" apply --file "$BATS_TEST_TMPDIR/change.conf"
	assert_success
	[[ "$stderr" != *"test pause"* ]] || fail "the installed pgx-apply paused: $stderr"
	assert_equal "$(psql_q -Atc 'SHOW work_mem')" 16MB
}
