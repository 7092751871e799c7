#!/usr/bin/env bats
# pgx's read-only commands leave no ERROR or FATAL in the monitored server's
# log: a monitoring tool must not write errors into the log it is judged by.
# Runs against the version under test (PGX_TEST_PG_VERSION: 15, 13, 17); the
# server's jsonlog (csvlog before 15) carries each line's application_name,
# which is pgx-NAME for pgx's own sessions.

load test_helper

setup_file() {
	pg_start "-c autovacuum=off -c track_io_timing=on -c log_statement=all"
	# What an application's pg_stat_statements holds: DDL, maintenance, COPY, SET
	# and a bulk INSERT whose normalized text has untyped parameters, beside
	# the queries --advice should read.
	psql_q -c "CREATE EXTENSION pg_stat_statements" \
		-c "CREATE TABLE big (id int PRIMARY KEY, cust int, note text)" \
		-c "INSERT INTO big SELECT g, g % 5000, 'x' FROM generate_series(1, 100000) g" \
		-c "CREATE TABLE child (id int PRIMARY KEY, big_id int REFERENCES big (id))" \
		-c "ANALYZE big" -c "VACUUM child" -c "SET work_mem = '8MB'" \
		-c "COPY (SELECT * FROM big WHERE cust = 1) TO STDOUT" \
		-c "CREATE INDEX big_note ON big (note)" -c "REINDEX TABLE child" \
		-c "CREATE ROLE mon LOGIN; GRANT pg_monitor TO mon" \
		-c "CREATE ROLE reader LOGIN; GRANT pg_monitor TO reader" \
		-c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader" \
		-c "CREATE DATABASE other" >/dev/null
	for i in 1 2 3; do
		psql_q -c "SELECT * FROM big WHERE cust = $i" -c "UPDATE big SET note = 'y' WHERE cust = $i" \
			-c "WITH x AS (SELECT cust FROM big WHERE note = 'z') SELECT count(*) FROM x" \
			-c "SELECT * FROM big WHERE cust = $i AND id IN (SELECT big_id FROM child)" >/dev/null
	done
	# a text that would end pgx's planning block early, tried before the others
	for i in $(seq 1 10); do
		psql_q -c "SELECT count(*) FROM big /* \$pgx\$ ends the block */" >/dev/null
	done
	MON_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=mon dbname=postgres"
	READER_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=reader dbname=postgres"
	export MON_DSN READER_DSN
}

teardown_file() {
	pg_stop
}

# ERROR, FATAL and PANIC lines of pgx's own sessions in the structured log:
# "application severity: message | statement", one a line.  With
# "statements": every statement pgx's sessions sent (log_statement = all).
pgx_log_errors() {
	/usr/bin/python3 - "$PGX_PG_DIR/log" "${1:-errors}" <<'EOF'
import csv, json, os, sys
d = sys.argv[1]
def rows():
    if os.path.exists(f"{d}/postgresql.json"):
        for line in open(f"{d}/postgresql.json", encoding="utf-8", errors="replace"):
            r = json.loads(line)
            yield r.get("error_severity"), r.get("application_name", ""), r.get("message"), r.get("statement")
    else:
        for r in csv.reader(open(f"{d}/postgresql.csv", newline="", encoding="utf-8", errors="replace")):
            yield r[11], r[22], r[13], r[19]
for sev, app, msg, stmt in rows():
    if not app.startswith("pgx-"):
        continue
    if sys.argv[2] == "statements" and sev == "LOG" and msg.split(":")[0] in ("statement", "execute <unnamed>"):
        print(" ".join(msg.split()))
    elif sys.argv[2] == "errors" and sev in ("ERROR", "FATAL", "PANIC"):
        print(f"{app} {sev}: {msg} | {(stmt or '')[:200]}")
EOF
}

# The logging collector writes asynchronously: a LOG line of our own, once
# seen, means every line before it is in the file.
log_flushed() {
	local mark="pgx-test-mark-$RANDOM$RANDOM" i
	psql_q -c "DO \$\$BEGIN RAISE LOG '$mark'; END\$\$"
	for i in $(seq 1 200); do
		grep -q "$mark" "$PGX_PG_DIR/log/postgresql.log" && return 0
		sleep 0.05
	done
	fail "the server log never showed $mark"
}

# Run a read-only pgx command (its exit status must match $1, a regex); the
# server log must then hold no new error of pgx's own sessions.  The
# command's output stays in $cmd_output.
assert_quiet_log() {
	local want="$1" before
	shift
	log_flushed
	before="$(pgx_log_errors | wc -l)"
	run timeout 120 "$@"
	cmd_output="$output"
	[[ "$status" =~ ^($want)$ ]] || fail "'$*' exited $status: ${output:0:2000}"
	log_flushed
	run pgx_log_errors
	assert_success
	output="$(tail -n +"$((before + 1))" <<<"$output")"
	[ -z "$output" ] || fail "after '$*', PostgreSQL $PGX_TEST_PG_VERSION logged errors of pgx's sessions:
$output"
}

@test "every pgx-poll section, with SQL, leaves no error in the server log" {
	assert_quiet_log 0 pgx-poll -d "$MON_DSN" --with-sql
	assert_quiet_log 0 pgx-poll -d "$MON_DSN" --all-databases
	assert_quiet_log 0 pgx-poll -d "$MON_DSN" --delta 1s -s statements,database,wal,io,checkpoints
	assert_quiet_log 0 pgx-poll -d "$MON_DSN" -s settings
}

@test "--advice leaves no error in the server log, with SELECT on the tables or pg_monitor only" {
	assert_quiet_log 0 pgx-poll -d "$READER_DSN" --advice
	run jq -r 'select(.type == "index_advice") | .statement // empty' <<<"$cmd_output"
	assert_line 'CREATE INDEX CONCURRENTLY ON public.big (cust)'
	assert_quiet_log 0 pgx-poll -d "$MON_DSN" --advice
	assert_quiet_log 0 pgx-poll -d "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=reader dbname=other" --advice
}

@test "--advice never sends a utility statement from pg_stat_statements to be prepared" {
	run -0 psql_q -c "SELECT count(*) FROM pg_stat_statements WHERE query ~* '^(ANALYZE|VACUUM|COPY|SET|CREATE|REINDEX)'"
	[ "$output" -ge 5 ] || fail "the workload left only $output utility statements in pg_stat_statements"
	assert_quiet_log 0 pgx-poll -d "$READER_DSN" --advice
	run pgx_log_errors statements
	assert_output --partial "PREPARE pgx_advice_stmt AS ' || 'SELECT"
	refute_output --regexp "PREPARE pgx_advice_stmt AS ' \|\| E?'[[:space:]]*(ANALYZE|VACUUM|COPY|SET|CREATE|REINDEX)"
}

@test "--explain, with and without ANALYZE, leaves no error in the server log" {
	assert_quiet_log 0 pgx-poll -d "$READER_DSN" --explain "SELECT count(*) FROM big WHERE cust = 7"
	assert_quiet_log 0 pgx-poll -d "$READER_DSN" --explain "SELECT * FROM big WHERE cust = 7" --no-analyze
}

@test "pgx-apply's plan and list and the tuning pipeline leave no error in the server log" {
	local dsn="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=postgres dbname=postgres"
	pgx-poll -d "$MON_DSN" -s settings >"$BATS_TEST_TMPDIR/settings.ndjson"
	pgx-tune --profile oltp <"$BATS_TEST_TMPDIR/settings.ndjson" >"$BATS_TEST_TMPDIR/recs.ndjson"
	assert_quiet_log 0 pgx-apply -d "$dsn" --state-dir "$BATS_TEST_TMPDIR/state" plan -f "$BATS_TEST_TMPDIR/recs.ndjson"
	assert_quiet_log 0 pgx-apply -d "$dsn" --state-dir "$BATS_TEST_TMPDIR/state" list
}

@test "the check itself sees an error that a pgx session causes" {
	# A failing --explain is the user's statement, attributed to pgx-poll: the
	# log check must notice it, or it could never fail.
	run timeout 60 pgx-poll -d "$READER_DSN" --explain "SELECT * FROM no_such_table" --no-analyze
	assert_failure
	log_flushed
	run pgx_log_errors
	assert_output --partial 'no_such_table'
	assert_output --partial 'pgx-poll ERROR'
}
