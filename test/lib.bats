#!/usr/bin/env bats
# lib/: the libpq helper against a real PostgreSQL 15.

load test_helper

setup_file() {
	load test_helper
	pg_start
}

teardown_file() {
	pg_stop
}

pq_check() {
	"$PGX_BUILD/test/pq_check" "$@"
}

@test "a pgx session names itself and sets statement_timeout, lock_timeout and read-only" {
	run pq_check session "$PGX_PG_DSN"
	assert_success
	run jq -c '[.type, .application_name, .statement_timeout, .lock_timeout, .default_transaction_read_only]' <<<"$output"
	assert_output '["session","pq_check","1234ms","567ms","on"]'
}

@test "an application_name in the DSN wins over the fallback" {
	run pq_check session "$PGX_PG_DSN application_name=mine"
	assert_success
	assert_equal "$(jq -r .application_name <<<"$output")" mine
}

@test "PG* environment variables apply when the DSN leaves them out" {
	run env PGHOST="$PGX_PG_SOCKDIR" PGPORT="$PGX_PG_PORT" PGUSER=postgres "$PGX_BUILD/test/pq_check" session ""
	assert_success
	assert_equal "$(jq -r .default_transaction_read_only <<<"$output")" on
}

@test "the read-only session refuses writes" {
	run pq_check write "$PGX_PG_DSN"
	assert_failure 7
	assert_output --partial 'cannot execute CREATE TABLE in a read-only transaction'
}

@test "a server error is one line with its DETAIL and HINT, without libpq's ERROR prefix" {
	run pq_check raise "$PGX_PG_DSN"
	assert_failure 7
	assert_output 'pq_check: error: boom; DETAIL: the detail; HINT: a hint; on two lines'
}

@test "SIGINT cancels a running query and the program exits 130" {
	"$PGX_BUILD/test/pq_check" sleep "$PGX_PG_DSN" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	for _ in $(seq 50); do
		[ "$(psql_q -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'")" = 1 ] && break
		sleep 0.1
	done
	start=$SECONDS
	kill -INT "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 130
	[ $((SECONDS - start)) -lt 5 ] || fail "the query was not cancelled"
	grep -q 'canceling statement due to user request' "$BATS_TEST_TMPDIR/err"
}

@test "a bad DSN or a down server is one line, exit 4, and never shows the password" {
	run pq_check session "host=127.0.0.1 port=1 user=u password=s3cret connect_timeout=2"
	assert_failure 4
	assert_equal "${#lines[@]}" 1
	assert_output --partial 'connection to server at "127.0.0.1", port 1 failed'
	refute_output --partial s3cret
	run pq_check session "postgresql://u:s3cret@127.0.0.1:1/db?sslmode=nonsense"
	assert_failure 4
	assert_equal "${#lines[@]}" 1
	refute_output --partial s3cret
}

@test "a DSN is shown with its password hidden" {
	run pq_check redact "postgresql://alice:s3cret@db.example:5433/app"
	assert_success
	refute_output --partial s3cret
	assert_output --partial "password='********'"
	assert_output --partial "user='alice'"
}

@test "ping tells a running server from a stopped one" {
	run pq_check ping "$PGX_PG_DSN"
	assert_output 0
	run pq_check ping "host=127.0.0.1 port=1"
	assert_output 2
}

@test "a NUL byte in NDJSON input is an error naming the input and line, in every command that reads records" {
	nul_input() { printf '{"type":"x","ts":1,"src":"t"}\n{"type":"x","ts":1}\0{"a":1}\n'; }
	for cmd in "pgx-report" "pgx-report slowlog" "pgx-report plan" "pgx-report workload" \
		"pgx-report alerts" "pgx-report -f prom" "pgx-timeline" "pgx-tune --memory 4G --cpus 4" \
		"pgx-apply -d host=/nonexistent plan"; do
		run --separate-stderr bash -c "$cmd" < <(nul_input)
		[ "$status" -eq 3 ] || fail "$cmd: exit $status"
		assert_equal "$(head -1 <<<"$stderr")" "${cmd%% *}: error: stdin:2: NUL byte in line"
	done
	nul_input >"$BATS_TEST_TMPDIR/in.ndjson"
	run --separate-stderr pgx-report aggregate "$BATS_TEST_TMPDIR/in.ndjson"
	assert_failure 3
	assert_equal "$(head -1 <<<"$stderr")" "pgx-report: error: $BATS_TEST_TMPDIR/in.ndjson:2: NUL byte in line"
}

mask_check() {
	"$PGX_BUILD/test/mask_check" "$@"
}

@test "the masker hides every kind of password in its table of cases and leaves other texts alone" {
	run mask_check table "$PGX_TEST_DIR/unit/mask_cases.tsv"
	assert_success
	assert_output --regexp '^[0-9]+ cases, 0 failed$'
}

@test "a DSN argument keeps its length and loses its password; the private copy keeps it" {
	run mask_check arg "postgresql://mon:secret123@db/app"
	assert_success
	assert_equal "${lines[0]}" "postgresql://mon:*********@db/app"
	assert_equal "${lines[1]}" "postgresql://mon:secret123@db/app"
	run mask_check arg "host=db password='se cret' user=mon"
	assert_equal "${lines[0]}" "host=db password='*******' user=mon"
	assert_equal "${lines[1]}" "host=db password='se cret' user=mon"
}

@test "a libpq message that quotes a fragment of the DSN loses the password in it" {
	run mask_check conn 'invalid percent-encoded token: "secret%zz"' 'postgresql://mon:secret%zz@host/db'
	assert_output 'invalid percent-encoded token: "***"'
	run mask_check conn 'matching "]" in URI: "postgresql://mon:secret123@[::1"' 'postgresql://mon:secret123@[::1'
	assert_output 'matching "]" in URI: "postgresql://mon:***@[::1"'
}

@test "a failed connection never echoes the password, whatever libpq could not parse" {
	for dsn in 'postgresql://mon:secret123@[::1' 'postgresql://mon:secret%zz@host/db' \
		"host=$PGX_PG_SOCKDIR port=1 password=secret123"; do
		run pq_check session "$dsn"
		assert_failure 4
		refute_output --partial secret
	done
}

@test "--help, -h, --version and -V print and exit 0 in every command, and exit 6 when the text cannot be written" {
	[ -w /dev/full ] || skip "no /dev/full"
	for cmd in pgx-apply pgx-docker pgx-logmatch pgx-poll pgx-report pgx-timeline pgx-trace pgx-tune \
		"pgx-report slowlog" "pgx-report alerts" "pgx-report plan" "pgx-report workload" \
		"pgx-docker run" "pgx-docker build" "pgx-docker logs" "pgx-docker inspect"; do
		for opt in --help -h; do
			run $cmd $opt
			assert_success
			assert_output --partial 'Usage:'
			run bash -c "$cmd $opt >/dev/full"
			[ "$status" -eq 6 ] || fail "$cmd $opt >/dev/full: exit $status, not 6"
			assert_output "${cmd%% *}: error: write error on standard output: No space left on device"
		done
	done
	for cmd in pgx-apply pgx-docker pgx-logmatch pgx-poll pgx-report pgx-timeline pgx-trace pgx-tune; do
		for opt in --version -V; do
			run $cmd $opt
			assert_success
			assert_output "$cmd (pgx) $(pgx-report --version | awk '{print $3}')"
			run bash -c "$cmd $opt >/dev/full"
			[ "$status" -eq 6 ] || fail "$cmd $opt >/dev/full: exit $status, not 6"
		done
	done
}

@test "options that exclude each other are a usage error naming them all" {
	run pgx-poll --interval 1s --delta 1s
	assert_failure 2
	assert_line -n 0 'pgx-poll: error: --interval, --schedule, --delta and --print-sql exclude each other'
	run pgx-poll --explain 'SELECT 1' --advice
	assert_failure 2
	assert_line -n 0 'pgx-poll: error: --explain and --advice exclude each other'
	run pgx-trace --cgroup /x --pid 1
	assert_failure 2
	assert_line -n 0 'pgx-trace: error: -- COMMAND, --cgroup and --pid exclude each other'
	run pgx-trace --no-open --filter-open '*.conf' --pid 1
	assert_failure 2
	assert_line -n 0 'pgx-trace: error: --filter-open and --no-open exclude each other'
}
