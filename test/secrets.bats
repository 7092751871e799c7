#!/usr/bin/env bats
# No secret leaves pgx: passwords in query texts, server logs, connection
# errors and the command line are masked in every output.

load test_helper
load poll_helper

SCRAM='SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$c3RvcmVka2V5c2VjcmV0:c2VydmVya2V5c2VjcmV0'

setup_file() {
	load test_helper
	pg_start "-c log_destination=stderr,csvlog,jsonlog -c log_statement=ddl -c log_min_duration_statement=0"
	psql_q -c "CREATE EXTENSION pg_stat_statements" \
		-c "CREATE ROLE mon LOGIN" -c "GRANT pg_monitor TO mon" -c "CREATE ROLE app LOGIN" \
		-c "ALTER ROLE app PASSWORD 'secret123'" \
		-c "ALTER USER app PASSWORD '$SCRAM'" \
		-c "CREATE USER bob ENCRYPTED PASSWORD E'secret\\'234'"
	export MON_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=mon dbname=postgres"
}

teardown_file() {
	pg_stop
}

setup() {
	HOLD_PIDS=() HOLD_FDS=()
}

teardown() {
	release_sessions
	psql_q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		   WHERE query LIKE '%AS conninfo, pg_sleep(30)%' AND pid <> pg_backend_pid()" >/dev/null
}

# None of the passwords above appears in $output.
refute_secrets() {
	refute_output --partial secret123
	refute_output --partial "secret\\'234"
	refute_output --partial secret456
	refute_output --partial c3RvcmVka2V5c2VjcmV0
}

# Wait until the server has written text to the stderr, csv and json logs.
wait_for_logs() {
	local deadline=$((SECONDS + 10)) f
	for f in log csv json; do
		until grep -qF "$1" "$PGX_PG_DIR/log/postgresql.$f" 2>/dev/null; do
			[ "$SECONDS" -lt "$deadline" ] || fail "no \"$1\" in postgresql.$f"
			sleep 0.1
		done
	done
}

poll_with_conninfo_session() {
	hold_session "SELECT 'host=db password=secret456' AS conninfo, pg_sleep(30);"
	wait_for 10 "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%AS conninfo, pg_sleep(30)%' AND pid <> pg_backend_pid()" 1
	timeout 30 pgx-poll -d "$MON_DSN" -s statements,activity,locks -n 1000 --long-xact 0 >"$BATS_TEST_TMPDIR/poll.ndjson"
}

@test "pgx-poll masks passwords in pg_stat_statements and pg_stat_activity texts" {
	poll_with_conninfo_session
	run cat "$BATS_TEST_TMPDIR/poll.ndjson"
	refute_secrets
	# pg_stat_statements keeps utility statements as written, constants and all
	run jq -r 'select(.type == "statements") | .items[].query' "$BATS_TEST_TMPDIR/poll.ndjson"
	assert_output --partial "ALTER ROLE app PASSWORD '***'"
	assert_output --partial "ALTER USER app PASSWORD '***'"
	assert_output --partial "CREATE USER bob ENCRYPTED PASSWORD '***'"
	run jq -r 'select(.type == "activity") | .long_xacts[].query' "$BATS_TEST_TMPDIR/poll.ndjson"
	assert_output --partial "SELECT 'host=db password=***' AS conninfo, pg_sleep(30)"
}

@test "pgx-report shows no password in table, json, html or prom, even from unmasked records" {
	poll_with_conninfo_session
	# as an older pgx-poll wrote them
	sed -e "s/PASSWORD '\*\*\*'/PASSWORD 'secret123'/g" -e "s/password=\*\*\*/password=secret456/g" \
		"$BATS_TEST_TMPDIR/poll.ndjson" >"$BATS_TEST_TMPDIR/old.ndjson"
	grep -q secret123 "$BATS_TEST_TMPDIR/old.ndjson"
	for input in poll old; do
		for format in table json html prom; do
			run pgx-report -n 1000 -f "$format" "$BATS_TEST_TMPDIR/$input.ndjson"
			assert_success
			refute_secrets
		done
		run pgx-report -n 1000 -f json "$BATS_TEST_TMPDIR/$input.ndjson"
		assert_output --partial "PASSWORD '***'"
	done
}

@test "pgx-logmatch masks ALTER ROLE ... PASSWORD in stderr, csvlog and jsonlog lines and captures" {
	wait_for_logs "CREATE USER bob"
	run pgx-logmatch -o -r slowlog "$PGX_PG_DIR/log/postgresql.log" "$PGX_PG_DIR/log/postgresql.csv" \
		"$PGX_PG_DIR/log/postgresql.json"
	assert_success
	refute_secrets
	run jq -r '.line, (.captures | .. | strings)' <<<"$output"
	assert_output --partial "statement: ALTER ROLE app PASSWORD '***'"
	assert_output --partial "ALTER USER app PASSWORD '***'"
	# and as NDJSON log records, matched or passed on
	run pgx-logmatch -r slowlog < <(jq -Rc '{type: "log", ts: 1, line: .}' "$PGX_PG_DIR/log/postgresql.log")
	assert_success
	refute_secrets
	assert_output --partial "PASSWORD '***'"
}

@test "a slow log grouped by pgx-logmatch and read by pgx-report slowlog shows no password" {
	wait_for_logs "CREATE USER bob"
	pgx-logmatch -o --group --rules slowlog "$PGX_PG_DIR/log/postgresql.log" >"$BATS_TEST_TMPDIR/groups"
	run cat "$BATS_TEST_TMPDIR/groups"
	refute_secrets
	for format in table json records; do
		run pgx-report slowlog -n 1000 -f "$format" "$BATS_TEST_TMPDIR/groups"
		assert_success
		refute_secrets
	done
	assert_output --partial "PASSWORD '***'"
}

@test "a URI that libpq cannot parse is reported without its password" {
	for cmd in "pgx-poll" "pgx-tune" "pgx-apply plan"; do
		for uri in 'postgresql://mon:secret123@[::1' 'postgresql://mon:secret123%zz@host/db'; do
			run $cmd -d "$uri" </dev/null
			assert_failure 4
			refute_output --partial secret123
			assert_output --regexp '(mon:\*\*\*@|"\*\*\*")'
		done
	done
}

@test "a failed PgBouncer connection leaves no password in the pgbouncer record" {
	run pgx-poll -d "$MON_DSN" -s pgbouncer --pgbouncer 'postgresql://pgb:secret123%zz@h/pgbouncer'
	refute_output --partial secret123
	run jq -r 'select(.type == "pgbouncer") | .missing[].why' <<<"$output"
	assert_output --partial '"***"'
}

# /proc/PID/cmdline with NULs as spaces, once pgx-poll has written a record.
cmdline_after_first_record() {
	local out deadline=$((SECONDS + 20))
	out="$(mktemp "$BATS_TEST_TMPDIR/interval.XXXXXX")"
	# a pipe: pgx-poll flushes each record there, not into a file
	pgx-poll --interval 1s -s identity "$@" > >(cat >"$out") &
	POLL_PID=$!
	until grep -q '"type":"poll"' "$out"; do
		[ "$SECONDS" -lt "$deadline" ] || { kill "$POLL_PID"; fail "no poll record"; }
		sleep 0.1
	done
	tr '\0' ' ' <"/proc/$POLL_PID/cmdline"
	kill "$POLL_PID"
	wait "$POLL_PID" || true
}

@test "ps shows no password of a running pgx-poll --interval" {
	run cmdline_after_first_record -d "$MON_DSN password=secret123" \
		--pgbouncer "host=127.0.0.1 port=1 password=secret456"
	assert_output --partial "pgx-poll --interval 1s"
	refute_secrets
	assert_output --partial "password=********* "
	uri="postgresql://mon:secret123@/postgres?host=$PGX_PG_SOCKDIR&port=$PGX_PG_PORT"
	run cmdline_after_first_record "--dbname=$uri"
	refute_secrets
	assert_output --partial "postgresql://mon:*********@/postgres"
}
