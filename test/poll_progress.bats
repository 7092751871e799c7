#!/usr/bin/env bats
# pgx-poll's progress line: databases done with --all-databases, the time
# left of a --delta window.

load test_helper
load poll_helper

setup() {
	poll_setup
}

teardown() {
	poll_teardown
}

@test "pgx-poll documents --progress and --no-progress in --help, man page and completion" {
	assert_options_documented pgx-poll
}

@test "on a terminal, --all-databases shows the databases done of all, erased; stdout has records only" {
	psql_q -c "CREATE DATABASE app"
	run_on_terminal "timeout 20 pgx-poll -d '$MON_DSN' --all-databases -s vacuum >'$BATS_TEST_TMPDIR/out'"
	assert_success
	assert_output --regexp $'^\rdatabases: 0 of 2 done, now app\e\\[K'
	[[ "$output" == *$'\r\e[K' ]] || fail "the progress line was not erased at the end"
	run jq -r -s 'map(select(.type == "vacuum") | .db) | join(" ")' "$BATS_TEST_TMPDIR/out"
	assert_output "postgres app"
}

@test "on a terminal, --delta shows the time left of its window, erased before the records" {
	run_on_terminal "timeout 20 pgx-poll -d '$MON_DSN' --delta 0.6s -s database >'$BATS_TEST_TMPDIR/out'"
	assert_success
	assert_output --regexp $'^\rdelta: 0:0[01] left of 0:01\e\\[K'
	[[ "$output" == *$'\r\e[K' ]] || fail "the progress line was not erased at the end"
	run grep -c $'\e' "$BATS_TEST_TMPDIR/out"
	assert_output 0
}

@test "pgx-poll: no progress into a pipe or with --no-progress; --progress into a file" {
	run --separate-stderr timeout 20 pgx-poll -d "$MON_DSN" --delta 0.3s -s database
	assert_success
	assert_equal "$stderr" ""
	run_on_terminal "timeout 20 pgx-poll -d '$MON_DSN' --no-progress --delta 0.3s -s database >/dev/null"
	assert_success
	assert_output ""
	timeout 20 pgx-poll -d "$MON_DSN" --progress --delta 0.3s -s database >/dev/null 2>"$BATS_TEST_TMPDIR/err"
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --regexp $'^\rdelta: 0:00 left of 0:00\e\\[K.*\r\e\\[K$'
}
