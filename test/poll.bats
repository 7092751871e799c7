#!/usr/bin/env bats
# pgx-poll: read-only health snapshots of the harness's real PostgreSQL 15.

load test_helper
load poll_helper

setup() {
	poll_setup
}

teardown() {
	poll_teardown
}

@test "pgx-poll answers --help and --version, and its options are documented" {
	assert_standard_options pgx-poll
	assert_options_documented pgx-poll
	run pgx-poll --sections nope
	assert_failure 2
	assert_output --partial 'unknown section "nope"'
	run pgx-poll --interval 5s --delta 1s
	assert_failure 2
	run pgx-poll -s pgbouncer
	assert_failure 2
	assert_output --partial "needs --pgbouncer"
}

@test "a snapshot as a pg_monitor role writes every section, each ok or degraded with a reason, then a poll record" {
	run --separate-stderr timeout 30 pgx-poll -d "$MON_DSN"
	assert_success
	assert_equal "$stderr" ""
	for t in identity prereqs settings connections activity locks statements database checkpoints wal io archiver; do
		[ -n "$(records "$t")" ] || fail "no $t record"
	done
	snap="$output"
	# every record: type first, ts second, cluster, status; degraded ones say why
	run jq -e -s 'map(select(.type != "poll")) | all(.cluster == env.PGX_PG_SOCKDIR + ":" + env.PGX_PG_PORT
		and (.status == "ok" or (.status == "degraded" and (.missing | length > 0))))' <<<"$snap"
	assert_success
	run jq -r 'keys_unsorted[0:2] | join(",")' <<<"$snap"
	assert_equal "$(sort -u <<<"$output")" "type,ts"
	run jq -r -s '.[-1] | [.type, .loop, .success, .errors, (.sections | index("locks") != null)] | @tsv' <<<"$snap"
	assert_output $'poll\tonce\ttrue\t0\ttrue'
}

@test "identity names the cluster: system identifier, stable fingerprint, version, primary role" {
	run timeout 10 pgx-poll -d "$MON_DSN" -s identity
	assert_success
	id1="$(records identity)"
	sysid="$(as_pg_owner "$PG_BINDIR/pg_controldata" "$PGX_PG_DIR/data" | awk -F': *' '/system identifier/ {print $2}')"
	assert_equal "$(jq -r .system_identifier <<<"$id1")" "$sysid"
	assert_equal "$(jq -r '[.role, .in_recovery, .version, .server_version_num >= '"$PGX_TEST_PG_VERSION"'0000, .uptime_s > 0] | @tsv' <<<"$id1")" \
		$'primary\tfalse\t'"$(psql_q -c 'SHOW server_version' | cut -d' ' -f1)"$'\ttrue\ttrue'
	run timeout 10 pgx-poll -d "$MON_DSN" -s identity
	assert_equal "$(records identity | jq -r .fingerprint)" "$(jq -r .fingerprint <<<"$id1")"
}

@test "settings carries every pg_settings row with source and pending_restart for pgx-tune" {
	run timeout 10 pgx-poll -d "$MON_DSN" -s settings
	assert_success
	assert_equal "$(records settings | jq '.settings | length')" "$(psql_q -c 'SELECT count(*) FROM pg_settings')"
	run jq -r '.settings[] | select(.name == "shared_buffers") | [.setting, .unit, .source, .context, .pending_restart] | @tsv' <<<"$(records settings)"
	assert_output $'16384\t8kB\tconfiguration file\tpostmaster\tfalse'
}

@test "a superuser is refused with exit 5 and accepted with --allow-privileged and a warning" {
	run --separate-stderr timeout 10 pgx-poll -d "$PGX_PG_DSN"
	assert_failure 5
	assert_output ""
	assert_equal "$stderr" 'pgx-poll: error: role "postgres" is a superuser (use --allow-privileged to run anyway)'
	run --separate-stderr timeout 10 pgx-poll -d "$PGX_PG_DSN" --allow-privileged -s connections
	assert_success
	assert_equal "$stderr" 'pgx-poll: warning: role "postgres" is a superuser (--allow-privileged): the session stays read-only'
	assert_equal "$(records connections | jq -r .status)" ok
}

@test "a role that can insert into one user table is refused; the table is named" {
	psql_q -c "CREATE TABLE app_t(a int); CREATE ROLE writer LOGIN; GRANT pg_monitor TO writer; GRANT INSERT ON app_t TO writer"
	run --separate-stderr timeout 10 pgx-poll -d "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=writer dbname=postgres"
	assert_failure 5
	assert_output ""
	assert_equal "$stderr" 'pgx-poll: error: role "writer" can write table public.app_t (use --allow-privileged to run anyway)'
	# owning a table is writing it too; a grant of SELECT only is fine
	psql_q -c "REVOKE INSERT ON app_t FROM writer; GRANT SELECT ON app_t TO writer"
	run timeout 10 pgx-poll -d "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=writer dbname=postgres" -s connections
	assert_success
	psql_q -c "CREATE TABLE owned(a int); ALTER TABLE owned OWNER TO writer"
	run timeout 10 pgx-poll -d "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=writer dbname=postgres" -s connections
	assert_failure 5
}

# The DSN of a role on the harness cluster, with extra conninfo.
role_dsn() {
	echo "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT dbname=postgres user=$1${2:+ $2}"
}

@test "a superuser session that sets a monitoring role in its connection options is refused" {
	# current_user is mon, but session_user postgres can SET ROLE back to itself
	run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn postgres "options='-c role=mon'")" -s connections
	assert_failure 5
	assert_output ""
	assert_equal "$stderr" 'pgx-poll: error: role "mon" runs in a session of role "postgres", which is a superuser (use --allow-privileged to run anyway)'
	# the same through a role setting: mon2 is a member of a writer and starts as it
	psql_q -c "CREATE TABLE app_t(a int); CREATE ROLE writer; GRANT INSERT ON app_t TO writer;
		CREATE ROLE mon2 LOGIN NOINHERIT; GRANT pg_monitor, writer TO mon2; ALTER ROLE mon2 SET role = 'pg_monitor'"
	run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn mon2)" -s connections
	assert_failure 5
	assert_equal "$stderr" 'pgx-poll: error: role "pg_monitor" runs in a session of role "mon2", which can SET ROLE to "writer", which can write table public.app_t (use --allow-privileged to run anyway)'
}

@test "a NOINHERIT member of a writer role is refused: it can SET ROLE to the writer" {
	psql_q -c "CREATE TABLE app_t(a int); CREATE ROLE writer; GRANT INSERT ON app_t TO writer;
		CREATE ROLE nimon LOGIN NOINHERIT; GRANT pg_monitor, writer TO nimon"
	run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn nimon)" -s connections
	assert_failure 5
	assert_output ""
	assert_equal "$stderr" 'pgx-poll: error: role "nimon" can SET ROLE to "writer", which can write table public.app_t (use --allow-privileged to run anyway)'
	# a writer two grants away is as near; a sequence it may advance counts too
	psql_q -c "REVOKE writer FROM nimon; CREATE ROLE middle NOINHERIT; GRANT writer TO middle; GRANT middle TO nimon"
	run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn nimon)" -s connections
	assert_failure 5
	assert_equal "$stderr" 'pgx-poll: error: role "nimon" can SET ROLE to "writer", which can write table public.app_t (use --allow-privileged to run anyway)'
	psql_q -c "REVOKE INSERT ON app_t FROM writer; CREATE SEQUENCE app_seq; GRANT USAGE ON app_seq TO writer"
	run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn nimon)" -s connections
	assert_failure 5
	assert_equal "$stderr" 'pgx-poll: error: role "nimon" can SET ROLE to "writer", which can write sequence public.app_seq (use --allow-privileged to run anyway)'
	run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn nimon)" -s connections --allow-privileged
	assert_success
	assert_equal "$stderr" 'pgx-poll: warning: role "nimon" can SET ROLE to "writer", which can write sequence public.app_seq (--allow-privileged): the session stays read-only'
	assert_equal "$(records connections | jq -r .status)" ok
	psql_q -c "REVOKE middle FROM nimon"
	run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn nimon)" -s connections
	assert_success
	assert_equal "$stderr" ""
}

@test "a role with CREATE on a schema or a database is refused; TEMP alone is not" {
	psql_q -c "CREATE ROLE mon2 LOGIN; GRANT pg_monitor TO mon2; GRANT CREATE ON SCHEMA public TO mon2"
	run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn mon2)" -s connections
	assert_failure 5
	assert_output ""
	assert_equal "$stderr" 'pgx-poll: error: role "mon2" has CREATE on schema public (use --allow-privileged to run anyway)'
	psql_q -c "REVOKE CREATE ON SCHEMA public FROM mon2; GRANT CREATE ON DATABASE postgres TO mon2"
	run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn mon2)" -s connections
	assert_failure 5
	assert_equal "$stderr" 'pgx-poll: error: role "mon2" has CREATE on database postgres (use --allow-privileged to run anyway)'
	psql_q -c "REVOKE CREATE ON DATABASE postgres FROM mon2; CREATE SCHEMA app AUTHORIZATION mon2"
	run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn mon2)" -s connections
	assert_failure 5
	assert_equal "$stderr" 'pgx-poll: error: role "mon2" owns schema app (use --allow-privileged to run anyway)'
	# TEMP, which PUBLIC has on every new database, is not a way to write
	psql_q -c "DROP SCHEMA app; GRANT TEMP ON DATABASE postgres TO mon2"
	run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn mon2)" -s connections
	assert_success
	assert_equal "$stderr" ""
}

@test "superuser, CREATEROLE, CREATEDB, REPLICATION and the predefined writer roles are refused, also one SET ROLE away" {
	psql_q -c "CREATE ROLE mon2 LOGIN NOINHERIT; GRANT pg_monitor TO mon2"
	for grant in "ALTER ROLE r SUPERUSER:is a superuser" "ALTER ROLE r CREATEROLE:has the CREATEROLE attribute" \
		"ALTER ROLE r CREATEDB:has the CREATEDB attribute" "ALTER ROLE r REPLICATION:has the REPLICATION attribute"; do
		psql_q -c "CREATE ROLE r; ${grant%%:*}; GRANT r TO mon2"
		run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn mon2)" -s connections
		assert_failure 5
		assert_equal "$stderr" "pgx-poll: error: role \"mon2\" can SET ROLE to \"r\", which ${grant#*:} (use --allow-privileged to run anyway)"
		psql_q -c "DROP ROLE r"
	done
	roles="pg_write_server_files pg_execute_server_program pg_signal_backend"
	[ "$PGX_TEST_PG_VERSION" -lt 14 ] || roles="pg_write_all_data $roles"	# new in 14
	for role in $roles; do
		psql_q -c "GRANT $role TO mon2"
		run --separate-stderr timeout 10 pgx-poll -d "$(role_dsn mon2)" -s connections
		assert_failure 5
		assert_equal "$stderr" "pgx-poll: error: role \"mon2\" is a member of $role (use --allow-privileged to run anyway)"
		psql_q -c "REVOKE $role FROM mon2"
	done
	run timeout 10 pgx-poll -d "$(role_dsn mon2)" -s connections
	assert_success
}

@test "the session is read-only with the given statement and lock timeouts and names itself" {
	psql_q -c "ALTER ROLE mon SET log_statement = 'all'"
	run timeout 10 pgx-poll -d "$MON_DSN" -s connections --statement-timeout 1234 --lock-timeout 567
	assert_success
	log="$(cat "$PGX_PG_DIR/log/postgresql.log")"
	grep -q "SET statement_timeout = 1234" <<<"$log" || fail "no statement_timeout in the log"
	grep -q "SET lock_timeout = 567" <<<"$log" || fail "no lock_timeout in the log"
	grep -q "SET default_transaction_read_only = on" <<<"$log" || fail "not read-only"
	# nothing but reads after that: no statement other than SET, SELECT, WITH, SHOW,
	# whether sent as a simple query or (the sections, pipelined) an extended one,
	# a statement the session prepared
	# (each starts with pgx's mark, so pg_stat_statements can tell it from the user's,
	# and a section's then names the section)
	run grep -oE '(statement|execute [^:]*): (/\* pgx \*/ )?(/\* [a-z_]+ \*/ )?[A-Z]+' <<<"$log"
	assert_output --regexp 'execute pgx_poll_[0-9]+: /\* pgx \*/ /\* connections \*/ SELECT'
	refute_output --regexp '(statement|execute [^:]*): (/\* pgx \*/ )?(/\* [a-z_]+ \*/ )?(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE|ANALYZE|VACUUM|RESET)'
	psql_q -c "ALTER ROLE mon RESET log_statement"
	timeout --foreground 10 pgx-poll -d "$MON_DSN" -s connections --interval 0.2 >/dev/null &
	pid=$!
	wait_for 5 "SELECT string_agg(application_name, ',') FROM pg_stat_activity WHERE usename = 'mon'" pgx-poll
	kill -TERM "$pid"
	wait "$pid"
}

@test "a section cut short by --lock-timeout is degraded with the reason; the rest of the pass goes on" {
	hold_session "BEGIN; LOCK TABLE pg_catalog.pg_sequence IN ACCESS EXCLUSIVE MODE;"
	wait_for 5 "SELECT count(*) FROM pg_locks WHERE relation = 'pg_sequence'::regclass AND granted" 1
	run timeout 10 pgx-poll -d "$MON_DSN" -s connections,sequences,partitions --lock-timeout 200
	assert_success
	run jq -r 'select(.type != "poll") | [.type, .status, (.missing[0].why // "")] | @tsv' <<<"$output"
	assert_output "$(printf '%s\t%s\t%s\n' connections ok '' sequences degraded \
		'canceling statement due to lock timeout (SQLSTATE 55P03) (--lock-timeout 200 ms)' partitions ok '')"
}

@test "a 20 ms statement timeout degrades the section it cuts short and keeps the rest of the pass (exit 0)" {
	# the sequences section waits behind a lock on a catalog it reads, past
	# --statement-timeout and well before --lock-timeout
	hold_session "BEGIN; LOCK TABLE pg_catalog.pg_sequence IN ACCESS EXCLUSIVE MODE;"
	wait_for 5 "SELECT count(*) FROM pg_locks WHERE relation = 'pg_sequence'::regclass AND granted" 1
	run --separate-stderr timeout 20 pgx-poll -d "$MON_DSN" --statement-timeout 20 --lock-timeout 5000
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(records sequences | jq -r '[.status, .missing[0].why] | @tsv')" \
		$'degraded\tcanceling statement due to statement timeout (SQLSTATE 57014) (--statement-timeout 20 ms)'
	# every section is written; one the machine's load made slow too says so the same way
	for t in identity prereqs settings connections activity locks database checkpoints wal archiver \
		vacuum sizes indexes bloat wraparound partitions; do
		[ -n "$(records "$t")" ] || fail "no $t record"
	done
	snap="$output"
	run jq -e -s 'map(select(.type != "poll" and .status != "ok")) |
		all(.status == "degraded" and (.missing | length > 0))' <<<"$snap"
	assert_success
	output="$snap"
	assert_equal "$(records poll | jq -r '[.success, (.sections_degraded | index("sequences") != null)] | @tsv')" \
		$'true\ttrue'
}

@test "the probe and the privilege guard run whatever --statement-timeout: 1 ms still writes every section" {
	# a 1 ms limit cut the connection's own catalog queries before: exit 4, no records
	run --separate-stderr timeout 20 pgx-poll -d "$MON_DSN" --statement-timeout 1 -s identity,connections,vacuum,sizes
	assert_success
	assert_equal "$(jq -r 'select(.type != "poll") | .type' <<<"$output" | tr '\n' ' ')" "identity connections vacuum sizes "
	run jq -e -s 'map(select(.type != "poll")) | all(.status == "ok" or
		(.status == "degraded" and (.missing[0].why | test("statement timeout"))))' <<<"$output"
	assert_success
	# the sections run under the given limit, not under the setup's
	psql_q -c "ALTER ROLE mon SET log_statement = 'all'"
	run timeout 20 pgx-poll -d "$MON_DSN" -s connections --statement-timeout 1
	assert_success
	grep -qE "SET statement_timeout = 1($|[^0-9])" "$PGX_PG_DIR/log/postgresql.log" ||
		fail "the sections' statement_timeout was not set"
}

@test "a long transaction and an idle-in-transaction session show in activity with their ages" {
	hold_session "BEGIN; SELECT txid_current(); SELECT 'idle-marker';"
	hold_session "BEGIN; SELECT txid_current(); SELECT pg_sleep(30);"
	wait_for 10 "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()" 1
	sleep 1.2
	run timeout 10 pgx-poll -d "$MON_DSN" -s connections,activity --long-xact 1s
	assert_success
	act="$(records activity)"
	run jq -r '.by_state | [.active, .["idle in transaction"], .["idle in transaction (aborted)"], (keys | length)] | @tsv' <<<"$(records connections)"
	assert_output $'2\t1\t0\t7'	# pgx-poll itself is active too
	run jq -r '[.idle_in_xact_count, .idle_in_xact_max_age_s >= 1, .oldest_xact_age_s >= 1, .oldest_query_age_s >= 1, (.long_xacts | length)] | @tsv' <<<"$act"
	assert_output $'1\ttrue\ttrue\ttrue\t2'
	run jq -r '.long_xacts[] | [.state, .xact_age_s >= 1, (.query | test("idle-marker|pg_sleep"))] | @tsv' <<<"$act"
	assert_line $'idle in transaction\ttrue\ttrue'
	assert_line $'active\ttrue\ttrue'
	# both hold back the xmin horizon: backend holders, oldest first
	assert_equal "$(jq '[.xmin_holders[] | select(.kind == "backend")] | length' <<<"$act")" 2
	# a prepared transaction holds it too (max_prepared_transactions is 0 here: not shown)
	run timeout 10 pgx-poll -d "$MON_DSN" -s activity
	assert_equal "$(records activity | jq '.long_xacts | length')" 0
}

@test "a three-session blocking chain is one tree under its root blocker, with depths and wait times" {
	psql_q -c "CREATE TABLE t(a int); INSERT INTO t VALUES (1); CREATE TABLE u(a int)"
	hold_session "BEGIN; UPDATE t SET a = a WHERE a = 1; SELECT 'root';"
	wait_for 10 "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 1
	hold_session "BEGIN; LOCK TABLE u IN ACCESS EXCLUSIVE MODE; UPDATE t SET a = a WHERE a = 1;"
	wait_for 10 "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'" 1
	hold_session "SELECT count(*) FROM u;"
	wait_for 10 "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'" 2
	sleep 1
	run timeout 10 pgx-poll -d "$MON_DSN" -s locks
	assert_success
	locks="$(records locks)"
	root="$(psql_q -c "SELECT pid FROM pg_stat_activity WHERE state = 'idle in transaction'")"
	run jq -r '[.status, .blocked_sessions, .longest_wait_s >= 1, (.trees | length)] | @tsv' <<<"$locks"
	assert_output $'ok\t2\ttrue\t1'
	run jq -r '.trees[0] | [.root_pid, .root_state, .blocked_count, .max_wait_s >= 1] | @tsv' <<<"$locks"
	assert_output "$root"$'\tidle in transaction\t2\ttrue'
	run jq -r '.trees[0].blocked | sort_by(.depth)[] | [.depth, .locktype, (.relation // "-"), .wait_s >= 1] | @tsv' <<<"$locks"
	assert_output $'1\ttransactionid\t-\ttrue\n2\trelation\tu\ttrue'
}

@test "a sort spilling to disk grows temp_files_total in the database record" {
	run timeout 10 pgx-poll -d "$MON_DSN" -s database
	before="$(records database | jq 'select(.db == "postgres") | .temp_files_total')"
	psql_q -c "SET work_mem = '64kB'; SELECT count(*) FROM (SELECT g FROM generate_series(1, 200000) g ORDER BY g DESC) s" >/dev/null
	# before 15 the statistics collector gets a backend's counters up to 0.5 s late
	for i in $(seq 1 100); do
		run timeout 10 pgx-poll -d "$MON_DSN" -s database
		assert_success
		db="$(records database | jq -c 'select(.db == "postgres")')"
		[ "$(jq .temp_files_total <<<"$db")" -gt "$before" ] && break
		sleep 0.1
	done
	[ "$(jq .temp_files_total <<<"$db")" -gt "$before" ] || fail "temp_files_total did not grow: $db"
	[ "$(jq .temp_bytes_total <<<"$db")" -gt 0 ]
	# one record per database, size only where this role may connect
	assert_equal "$(records database | jq -r .db | sort | tr '\n' ' ')" "postgres template0 template1 "
	assert_equal "$(jq '.size_bytes > 0 and .cache_hit_pct <= 100' <<<"$db")" true
}

@test "without pg_stat_statements in the database, statements is degraded with the reason and the rest is fine" {
	run timeout 10 pgx-poll -d "$MON_DSN"
	assert_success
	run jq -r '[.status, .missing[0].why] | @tsv' <<<"$(records statements)"
	assert_output $'degraded\tpg_stat_statements is not installed in this database (CREATE EXTENSION)'
	run jq -r 'select(.type != "poll" and .type != "statements" and .type != "io") | .status' <<<"$(pgx-poll -d "$MON_DSN")"
	refute_output --partial degraded
	refute_output --partial error
}

@test "pg_stat_statements installed but not preloaded degrades statements with the server's reason" {
	pg_stop
	poll_setup "-c shared_preload_libraries="
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	run timeout 10 pgx-poll -d "$MON_DSN" -s prereqs,statements,connections
	assert_success
	snap="$output"
	run jq -r 'select(.type == "statements") | [.status, (.missing[0].why | test("shared_preload_libraries"))] | @tsv' <<<"$snap"
	assert_output $'degraded\ttrue'
	run jq -r 'select(.type == "prereqs") | .checks[] | select(.name == "pg_stat_statements") | [.ok, .detail] | @tsv' <<<"$snap"
	assert_output $'false\tnot in shared_preload_libraries (restart needed)'
	assert_equal "$(jq -r 'select(.type == "connections") | .status' <<<"$snap")" ok
	# track_activity_query_size's check: the default 1kB is short of 4kB; 4kB is enough
	run jq -r 'select(.type == "prereqs") | .checks[] | select(.name == "track_activity_query_size") | [.ok, .detail] | @tsv' <<<"$snap"
	assert_output $'false\ttrack_activity_query_size = 1kB'
	pg_stop
	poll_setup "-c track_activity_query_size=4096"
	run jq -r 'select(.type == "prereqs") | .checks[] | select(.name == "track_activity_query_size") | [.ok, .detail] | @tsv' \
		<<<"$(timeout 10 pgx-poll -d "$MON_DSN" -s prereqs)"
	assert_output $'true\ttrack_activity_query_size = 4kB'
}

@test "a role without pg_monitor gets null and a reason where it cannot see, never 0" {
	psql_q -c "CREATE EXTENSION pg_stat_statements; CREATE ROLE plain LOGIN"
	psql_q -c "SELECT 'a statement of postgres'" >/dev/null
	hold_session "BEGIN; SELECT txid_current(); SELECT 'secret text';"
	wait_for 10 "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 1
	run timeout 10 pgx-poll -d "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=plain dbname=postgres" \
		-s identity,prereqs,activity,statements,connections --long-xact 0
	assert_success
	snap="$output"
	# shared_preload_libraries is hidden from it: not "not preloaded"
	run jq -r 'select(.type == "prereqs") | .checks[] | select(.name == "pg_stat_statements") | [.ok, .detail] | @tsv' <<<"$snap"
	assert_output $'false\tshared_preload_libraries is not visible to this role (pg_monitor)'
	run jq -r 'select(.type == "identity") | [.status, (.data_directory // "null"), (.missing | map(.what) | join(","))] | @tsv' <<<"$snap"
	assert_output $'degraded\tnull\tdata_directory'
	run jq -r 'select(.type == "activity") | [.status, .missing[0].what, (.long_xacts[0].query // "null")] | @tsv' <<<"$snap"
	assert_output $'degraded\tquery text\tnull'
	run jq -r 'select(.type == "statements") | [.status, .missing[0].what, .hidden_count > 0, ([.items[] | select(.query == null) | .queryid] | unique)] | @json' <<<"$snap"
	assert_output '["degraded","query text",true,[null]]'
	refute_output --partial 'secret'
}

@test "statements: Top-N by total execution time, the rest rolled up in other" {
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	for i in 1 2 3 4 5; do psql_q -c "SELECT pg_sleep(0.0$i), $i AS q$i" >/dev/null; done
	run timeout 10 pgx-poll -d "$MON_DSN" -s statements --top 2 --query-length 20
	assert_success
	st="$(records statements)"
	run jq -r '[.status, .pgss_version, (.items | length), .other.count > 0, .dealloc_total, (.items[0].exec_time_s_total >= .items[1].exec_time_s_total), (.items[0].queryid | type), (.items | all(.query | length <= 20))] | @tsv' <<<"$st"
	assert_output "$(printf 'ok\t%s\t2\ttrue\t%s\ttrue\tstring\ttrue' "$(pg_pgss_version)" \
		"$([ "$PGX_TEST_PG_VERSION" -ge 14 ] && echo 0)")"
	assert_equal "$(jq '.items[0] | has("toplevel") and .plan_time_s_total == null and .blk_read_time_s_total == null' <<<"$st")" true
	# items, other and pgx's own add up to the whole view as it was; since
	# then the snapshot's own query is in it too (one statement, one call)
	assert_equal "$(jq -r '"\((.items | length) + .other.count + .pgx_self.count + 1) \(([.items[].calls_total] | add) + .other.calls_total + .pgx_self.calls_total + 1)"' <<<"$st")" \
		"$(psql_q -c "SELECT count(*) || ' ' || sum(calls) FROM pg_stat_statements")"
}

@test "statements: temp and local block times are reported apart, and blk_read_time_s_total is not narrowed to shared blocks" {
	pg_skip_below 15 "pg_stat_statements' temp block times (1.10)"
	pg_stop
	poll_setup "-c track_io_timing=on -c work_mem=64kB"
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	psql_q -c "SELECT g FROM generate_series(1, 300000) g ORDER BY g DESC OFFSET 299999" >/dev/null
	psql_q -c "SELECT 1" >/dev/null	# a second statement, so other is not empty
	run timeout 10 pgx-poll -d "$MON_DSN" -s statements --top 1
	assert_success
	st="$(records statements)"
	run jq -c '.items[] | select(.query | test("generate_series")) |
		[.temp_blk_read_time_s_total > 0, .temp_blk_write_time_s_total > 0, .temp_blks_written_total > 0]' <<<"$st"
	assert_output '[true,true,true]'
	run jq -c '[.other.temp_blk_write_time_s_total, .other.blk_read_time_s_total] | map(type)' <<<"$st"
	assert_output '["number","number"]'
	if [ "$PGX_TEST_PG_VERSION" -ge 17 ]; then
		# 1.11 split blk_read_time: the sum still counts shared and local blocks
		run jq -c '[.items[] | select(.blk_read_time_s_total != null) |
			((.shared_blk_read_time_s_total + .local_blk_read_time_s_total) - .blk_read_time_s_total | fabs < 1e-9)] | all' <<<"$st"
		assert_output true
		run jq -c '[.items[] | has("local_blk_read_time_s_total") and .local_blk_read_time_s_total != null] | all' <<<"$st"
		assert_output true
	else
		run jq -c '[.items[] | .shared_blk_read_time_s_total, .local_blk_read_time_s_total] | unique' <<<"$st"
		assert_output '[null]'
	fi
}

@test "pgx-poll's own queries write no temporary file where work_mem is small, and settings shows the server's work_mem and its source" {
	pg_stop
	poll_setup "-c work_mem=64kB"
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	# 400 distinct statements: pg_stat_statements() alone returns more than 64kB
	for ((i = 1; i <= 400; i++)); do echo "SELECT $(seq -s, "$i");"; done | psql_q >/dev/null
	run --separate-stderr timeout 20 pgx-poll -d "$MON_DSN" -s statements,settings,database
	assert_success
	assert_equal "$(records statements | jq -r '[.status, .other.count > 350] | @tsv')" $'ok\ttrue'
	# the server's values and their sources, not the ones pgx-poll's session sets
	assert_equal "$(records settings | jq -r '.settings[] | select(.name | IN("work_mem", "statement_timeout", "jit"))
		| [.name, .setting, .value, .source] | @tsv')" \
		"$(printf 'jit\ton\ton\tdefault\nstatement_timeout\t0\t0\tdefault\nwork_mem\t64\t64kB\tcommand line')"
	# pg_stat_statements counts a statement's temporary blocks before its result is sent
	assert_equal "$(psql_q -c "SELECT count(*) || ' ' || sum(temp_blks_written) FROM pg_stat_statements
		WHERE query LIKE '/* pgx */ /* statements */%'")" "1 0"
}

@test "wal: current_lsn on every version; before 14 the pg_stat_wal counters are null, the record ok" {
	run timeout 10 pgx-poll -d "$MON_DSN" -s wal
	assert_success
	wal="$(records wal)"
	run jq -r '[(.current_lsn | test("^[0-9A-F]+/[0-9A-F]+$")), .current_lsn_bytes > 0] | @tsv' <<<"$wal"
	assert_output $'true\ttrue'
	if [ "$PGX_TEST_PG_VERSION" -lt 14 ]; then
		run jq -c '[.status, .wal_records_total, .wal_bytes_total, .stats_reset_ts]' <<<"$wal"
		assert_output '["ok",null,null,null]'
	else
		run jq -r '[.status, .wal_records_total > 0] | @tsv' <<<"$wal"
		assert_output $'ok\ttrue'
	fi
}

@test "--server-version and pgx-tune's --pg-version accept the same majors, 12 to 18" {
	run pgx-poll --print-sql --server-version 110000 -s wal
	assert_failure 2
	assert_output --partial -- '--server-version'
	run pgx-poll --print-sql --server-version 190000 -s wal
	assert_failure 2
	for v in 12 18; do
		run -0 pgx-poll --print-sql --server-version "${v}0000" -s wal
		run -0 pgx-tune --pg-version "$v" --memory 4GB --cpus 2 </dev/null
	done
	run pgx-tune --pg-version 11 --memory 4GB --cpus 2 </dev/null
	assert_failure 2
	run pgx-tune --pg-version 19 --memory 4GB --cpus 2 </dev/null
	assert_failure 2
	# a settings record of a server pgx-poll would refuse is refused too
	for v in 110022 190000; do
		run pgx-tune --memory 4GB --cpus 2 <<<'{"type":"settings","ts":1,"server_version_num":'"$v"',"settings":[]}'
		assert_failure 3
		assert_output --partial "server_version_num $v, from the settings record) is not supported: pgx reads 12 to 18"
	done
}

@test "--print-sql picks each version's SQL variant without a server" {
	sql() { pgx-poll --print-sql --server-version "$1" ${3:+--pgss-version "$3"} -s "$2" | jq -r '.text // ("NULL: " + .why)'; }
	run sql 120000 statements
	assert_output --partial "s.total_time AS exec_time"
	refute_output --partial "total_exec_time"
	assert_output --partial "NULL::bool AS toplevel"
	assert_output --partial "NULL::bigint AS dealloc_total"
	run sql 130000 statements
	assert_output --partial "s.total_exec_time AS exec_time"
	assert_output --partial "NULL::bool AS toplevel"
	run sql 140000 statements
	assert_output --partial "s.toplevel AS toplevel"
	assert_output --partial '"public".pg_stat_statements_info'
	run sql 150000 statements
	assert_output --partial "s.blk_read_time AS blk_read_time"
	run sql 160000 statements
	assert_output --partial "s.blk_read_time AS blk_read_time"
	assert_output --partial "NULL::float8 AS shared_blk_read_time"
	assert_output --partial "s.temp_blk_read_time AS temp_blk_read_time"
	run sql 130000 statements
	assert_output --partial "NULL::float8 AS temp_blk_read_time"
	run sql 170000 statements
	assert_output --partial "s.shared_blk_read_time + s.local_blk_read_time AS blk_read_time"
	assert_output --partial "s.local_blk_write_time AS local_blk_write_time"
	refute_output --partial "s.blk_read_time"
	# the extension's version decides, not the server's: PG14 with an old 1.8 extension
	run sql 140000 statements 1.8
	assert_output --partial "NULL::bool AS toplevel"
	run sql 150000 statements none
	assert_output "NULL: pg_stat_statements is not installed in this database (CREATE EXTENSION)"
	run sql 160000 checkpoints
	assert_output --partial "FROM pg_catalog.pg_stat_bgwriter"
	run sql 170000 checkpoints
	assert_output --partial "FROM pg_catalog.pg_stat_checkpointer c"
	refute_output --partial "num_done"
	run sql 130000 wal
	assert_output --partial "NULL::bigint AS wal_records_total"
	assert_output --partial "pg_current_wal_lsn() END)::text AS current_lsn"
	refute_output --partial "pg_stat_wal"
	run sql 140000 wal
	assert_output --partial "wal_write AS wal_write_total"
	run sql 150000 io
	assert_output "NULL: pg_stat_io needs PostgreSQL 16"
	run sql 160000 io
	assert_output --partial "FROM pg_catalog.pg_stat_io"
	run sql 130000 locks
	refute_output --partial "waitstart"
	run sql 140000 locks
	assert_output --partial "l.waitstart"
	run sql 130000 database
	assert_output --partial "NULL::float8 AS session_time_s_total"
	run sql 140000 database
	assert_output --partial "d.session_time / 1000.0 AS session_time_s_total"
}

@test "the PG15 variants --print-sql shows are exactly what runs, ok, on the real PostgreSQL 15" {
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	run timeout 20 pgx-poll -d "$MON_DSN" --with-sql
	assert_success
	live="$output"
	printed="$(pgx-poll --print-sql --server-version "$(psql_q -c 'SHOW server_version_num')")"
	for s in identity statements database checkpoints wal locks activity settings; do
		a="$(jq -r --arg s "$s" 'select(.type == "sql" and .section == $s) | .text' <<<"$live")"
		b="$(jq -r --arg s "$s" 'select(.section == $s) | .text' <<<"$printed")"
		[ -n "$a" ] && [ "$a" = "$b" ] || fail "$s: the live SQL differs from --print-sql's"
		assert_equal "$(jq -r --arg s "$s" 'select(.type == $s) | .status' <<<"$live" | sort -u)" ok
	done
}

@test "--delta gives per-second rates, and a stats reset between samples is reported instead of rates" {
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	pg_stats_settled
	run timeout 20 pgx-poll -d "$MON_DSN" -s database,statements,wal --delta 1s
	assert_success
	db="$(records database | jq -c 'select(.db == "postgres")')"
	wal="$(records wal)"
	run jq -r '[.delta_s >= 0.9, (.xact_commit_per_s | type), .xact_commit_per_s > 0, has("reset")] | @tsv' <<<"$db"
	assert_output $'true\tnumber\ttrue\tfalse'
	if [ "$PGX_TEST_PG_VERSION" -ge 14 ]; then
		assert_equal "$(jq '.wal_bytes_per_s >= 0' <<<"$wal")" true
	else	# no pg_stat_wal: no rate rather than a made-up one
		assert_equal "$(jq '.wal_bytes_per_s' <<<"$wal")" null
	fi
	# a reset between the samples: no rates, the reason instead
	timeout --foreground 20 pgx-poll -d "$MON_DSN" -s database,statements --delta 2s >"$BATS_TEST_TMPDIR/delta" &
	sleep 1
	psql_q -c "SELECT pg_stat_reset(), pg_stat_statements_reset()" >/dev/null
	wait $!
	run jq -r 'select(.type == "database" and .db == "postgres") | [.reset, has("xact_commit_per_s")] | @tsv' "$BATS_TEST_TMPDIR/delta"
	assert_output $'stats_reset\tfalse'
	run jq -r 'select(.type == "statements") | [.reset, (.items | map(has("calls_per_s")) | any)] | @tsv' "$BATS_TEST_TMPDIR/delta"
	if [ "$PGX_TEST_PG_VERSION" -ge 14 ]; then
		assert_output $'stats_reset\tfalse'
	else	# no pg_stat_statements_info.stats_reset before 1.9: no reset to report; a
		# statement back after the reset has fewer calls and no rate, never a negative one
		run jq -r 'select(.type == "statements") | [.reset, ([.items[] | select((.calls_per_s // 0) < 0)] | length)] | @tsv' \
			"$BATS_TEST_TMPDIR/delta"
		assert_output $'\t0'
	fi
}

@test "--delta -n 1 ranks the statements by the window, not by lifetime totals, and other carries window rates" {
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	# the lifetime's heaviest statement, and a lighter one, before the window
	for i in 1 2 3; do psql_q -c "SELECT count(*) FROM generate_series(1, 300000) AS heavy" >/dev/null; done
	psql_q -c "SELECT 'before' AS light" >/dev/null
	run timeout 10 pgx-poll -d "$MON_DSN" -s statements -n 1
	assert_equal "$(records statements | jq -r '.items[0].query')" 'SELECT count(*) FROM generate_series($1, $2) AS heavy'
	timeout --foreground 30 pgx-poll -d "$MON_DSN" -s statements -n 1 --delta 3s >"$BATS_TEST_TMPDIR/delta" 3>&- &
	pid=$!
	# the first sample is taken when pgx-poll waits, idle, for the second
	wait_for 10 "SELECT count(*) FROM pg_stat_activity WHERE usename = 'mon' AND state = 'idle'" 1
	for i in 1 2 3 4 5; do psql_q -c "SELECT pg_sleep(0.05), $i AS only_in_window" >/dev/null; done
	psql_q -c "SELECT 'again' AS light" >/dev/null
	wait "$pid"
	st="$(jq -c 'select(.type == "statements")' "$BATS_TEST_TMPDIR/delta")"
	# the window's busiest statement (by time; wait_for's own query ran in it
	# too) is the Top-1; it began in the window, so its rates count every call
	jq -e '.items | length == 1' <<<"$st" >/dev/null || fail "not one item: $st"
	assert_equal "$(jq -r '.items[0] | [.query, .calls_total, .calls_per_s > 0, .rank] | @tsv' <<<"$st")" \
		$'SELECT pg_sleep($1), $2 AS only_in_window\t5\ttrue\t1'
	# the rest, the heavy one included, in other, with the window's rates
	# (the light statement's one call in it)
	jq -e '.other.count >= 2 and .other.calls_total >= 5 and (.other.calls_per_s | type) == "number"
		and .other.calls_per_s > 0 and .other.calls_per_s < .items[0].calls_per_s
		and (.other.exec_time_s_per_s | type) == "number"' <<<"$st" >/dev/null ||
		fail "other without window rates: $(jq -c .other <<<"$st")"
}

@test "--delta reports pg_stat_statements evicting entries between the samples (pgss_dealloc)" {
	pg_skip_below 14 "pg_stat_statements_info's dealloc count (1.9)"
	pg_stop
	poll_setup "-c pg_stat_statements.max=100"
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	# statements pg_stat_statements tells apart (IN lists of different lengths)
	distinct() { for i in $(seq "$1" "$2"); do echo "SELECT count(*) FROM generate_series(1, 2) g WHERE g IN ($(seq -s, "$i"));"; done; }
	distinct 1 95 | psql_q >/dev/null	# nearly full: 100 entries at most
	timeout --foreground 60 pgx-poll -d "$MON_DSN" -s statements --delta 6s >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	sleep 1
	distinct 96 160 | psql_q >/dev/null
	rc=0; wait "$pid" || rc=$?
	assert_equal "$rc" 0
	run jq -r 'select(.type == "statements") | [.reset, .dealloc_total > 0, (.items | map(select(has("calls_per_s") and .calls_per_s < 0)) | length)] | @tsv' "$BATS_TEST_TMPDIR/out"
	assert_output $'pgss_dealloc\ttrue\t0'
}

@test "--schedule runs the four loops, each with its budget and its sections, and SIGTERM ends it with 0" {
	timeout --foreground 30 pgx-poll -d "$MON_DSN" --schedule >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	sleep 2
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	assert_equal "$rc" 0
	output="$(cat "$BATS_TEST_TMPDIR/out")"
	run jq -r 'select(.type == "poll") | [.loop, .budget_s, .degraded, .success] | @tsv' <<<"$output"
	assert_output $'hot\t1\tfalse\ttrue\nworkload\t3\tfalse\ttrue\nstorage\t10\tfalse\ttrue\nhourly\t60\tfalse\ttrue'
	output="$(cat "$BATS_TEST_TMPDIR/out")"
	assert_equal "$(records poll | jq -c 'select(.loop == "hot") | .sections')" '["connections","activity","locks"]'
	assert_equal "$(records poll | jq -c 'select(.loop == "hourly") | .sections | index("settings") != null')" true
	# every line is whole: SIGTERM finished the current record
	jq -e . "$BATS_TEST_TMPDIR/out" >/dev/null
	# SIGINT cancels instead: exit 130
	timeout --foreground 30 pgx-poll -d "$MON_DSN" --interval 0.2s -s connections >/dev/null &
	pid=$!
	sleep 1
	kill -INT "$pid"
	rc=0; wait "$pid" || rc=$?
	assert_equal "$rc" 130
}

@test "a restart during --interval gives an error record, then the loop reconnects and goes on" {
	timeout --foreground -k 10 60 pgx-poll -d "$MON_DSN" -s connections --interval 0.5s >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 1.5
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PGX_PG_DIR/data" -m fast -w restart >/dev/null
	deadline=$((SECONDS + 20))
	# until an error record is followed by a connections record (lines may be half written)
	until [ "$(jq -R 'fromjson? | .type' "$BATS_TEST_TMPDIR/out" 2>/dev/null | jq -s 'map(select(. != null)) |
		(index("error") != null) and (rindex("error") < rindex("connections"))' 2>/dev/null)" = true ]; do
		[ "$SECONDS" -lt "$deadline" ] || break
		sleep 0.2
	done
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	assert_equal "$rc" 0
	out="$BATS_TEST_TMPDIR/out"
	run jq -r -s 'map(select(.type == "error"))[0] | [.section, (.message | test("connection lost"))] | @tsv' "$out"
	assert_output $'connections\ttrue'
	# after the error: connections records again, and successful loops
	run jq -s 'map(.type) | rindex("error") < rindex("connections")' "$out"
	assert_output true
	assert_equal "$(jq -r -s 'map(select(.type == "poll")) | last | [.loop, .success] | @tsv' "$out")" $'interval\ttrue'
	assert_equal "$(jq -r -s 'map(select(.type == "poll") | .success) | index(false) != null' "$out")" true
}

@test "bad DSN and a server that dies between --delta samples: one error line, exit 4" {
	run --separate-stderr timeout 20 pgx-poll -d "host=127.0.0.1 port=$(free_port) user=mon connect_timeout=2"
	assert_failure 4
	assert_output ""
	assert_equal "$(wc -l <<<"$stderr")" 1
	assert_regex "$stderr" '^pgx-poll: error: connection to server at "127.0.0.1", port [0-9]+ failed: '
	timeout --foreground 20 pgx-poll -d "$MON_DSN" -s connections --delta 2s >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 0.7
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PGX_PG_DIR/data" -m immediate -w stop >/dev/null
	rc=0; wait "$pid" || rc=$?
	assert_equal "$rc" 4
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/err")" 1
	assert_regex "$(cat "$BATS_TEST_TMPDIR/err")" '^pgx-poll: error: connection to server on socket .* failed: '
	assert_equal "$(jq -r 'select(.type == "error") | .message' "$BATS_TEST_TMPDIR/out")" "connection lost between the samples"
	assert_equal "$(jq -r 'select(.type == "poll") | .success' "$BATS_TEST_TMPDIR/out")" false
}

# wait_polls FILE N: until FILE holds N poll records (20 s at most)
wait_polls() {
	local deadline=$((SECONDS + 20))
	until [ "$(polls "$1")" -ge "$2" ]; do
		[ "$SECONDS" -lt "$deadline" ] || fail "waited for $2 poll records in $1"
		sleep 0.05
	done
}

@test "a warm --interval session prepares each section's statement once, then only executes it" {
	psql_q -c "ALTER ROLE mon SET log_min_duration_statement = 0"
	log="$PGX_PG_DIR/log/postgresql.log"
	from=$(($(stat -c %s "$log") + 1))
	timeout --foreground -k 10 60 pgx-poll -d "$MON_DSN" -s connections,settings,vacuum --interval 0.2s \
		>"$BATS_TEST_TMPDIR/out" &
	pid=$!
	wait_polls "$BATS_TEST_TMPDIR/out" 4
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	psql_q -c "ALTER ROLE mon RESET log_min_duration_statement"
	assert_equal "$rc" 0
	run jq -r 'select(.type != "poll") | [.type, .status] | @tsv' "$BATS_TEST_TMPDIR/out"
	refute_output --regexp $'\t(error|degraded)'
	# the log is written by the collector: wait for the last pass's executions
	deadline=$((SECONDS + 10))
	until [ "$(tail -c +"$from" "$log" | grep -oE 'execute pgx_poll_[0-9]+' | sort | uniq -c |
		awk '$1 >= 4' | wc -l)" -ge 3 ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.1; done
	# three statements, each parsed once and executed in every pass
	run bash -c "tail -c +$from '$log' | grep -oE 'parse pgx_poll_[0-9]+' | sort | uniq -c | awk '{print \$1}'"
	assert_output $'1\n1\n1'
	run bash -c "tail -c +$from '$log' | grep -oE 'execute pgx_poll_[0-9]+' | sort | uniq -c | awk '\$1 >= 4' | wc -l"
	assert_output 3
}

# jobs_sessions: pgx-poll's sessions of role mon, now
jobs_sessions() {
	psql_q -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'mon' AND application_name = 'pgx-poll'"
}

@test "--jobs 2: a pass runs on two guarded sessions at once and writes what one session writes" {
	run --separate-stderr timeout 30 pgx-poll -d "$MON_DSN"
	assert_success
	one="$(jq -r '[.type, .db // "", .status // ""] | @tsv' <<<"$output")"
	psql_q -c "ALTER ROLE mon SET log_min_duration_statement = 0"
	log="$PGX_PG_DIR/log/postgresql.log"
	from=$(($(stat -c %s "$log") + 1))
	timeout --foreground -k 10 60 pgx-poll -d "$MON_DSN" -j 2 --interval 0.2s \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_polls "$BATS_TEST_TMPDIR/out" 3
	sessions="$(jobs_sessions)"
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	psql_q -c "ALTER ROLE mon RESET log_min_duration_statement"
	assert_equal "$rc" 0
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" ""
	assert_equal "$sessions" 2
	# the first pass's records: the same sections and statuses as with one session
	first="$(jq -r -s 'first(to_entries[] | select(.value.type == "poll") | .key) as $stop
		| .[:$stop][] | [.type, .db // "", .status // ""] | @tsv' "$BATS_TEST_TMPDIR/out")"
	assert_equal "$first" "$(grep -v '^poll' <<<"$one")"
	assert_equal "$(jq -r -s 'map(select(.type == "poll") | .success) | unique | @tsv' "$BATS_TEST_TMPDIR/out")" true
	# each session was probed and guarded, and each executed prepared section statements
	deadline=$((SECONDS + 10))
	until [ "$(tail -c +"$from" "$log" | grep -E 'execute pgx_poll_[0-9]+' | grep -oE '\[[0-9]+\]' |
		sort -u | wc -l)" -ge 2 ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.1; done
	# (the probe, the guard and the timeout are one statement, logged from its first line)
	run bash -c "tail -c +$from '$log' | grep -F 'statement: /* pgx */ /* probe */' | grep -oE '\[[0-9]+\]' | sort -u | wc -l"
	assert_output 2
	run bash -c "tail -c +$from '$log' | grep -E 'execute pgx_poll_[0-9]+' | grep -oE '\[[0-9]+\]' | sort -u | wc -l"
	assert_output 2
}

@test "--jobs: activity leaves out every pgx-poll session, not only the one its query ran on" {
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	# 500 tables and 2,000 distinct statements: the other sections run long enough to overlap
	# activity's
	psql_q -c "DO \$\$ BEGIN FOR i IN 1..500 LOOP
		EXECUTE format('CREATE TABLE t_%s (id int PRIMARY KEY, v text)', i); END LOOP; END \$\$"
	psql_q >/dev/null <<-'SQL'
		SELECT format('SELECT * FROM t_%s WHERE id = 1; SELECT v FROM t_%1$s ORDER BY id LIMIT 1;
			SELECT count(*) FROM t_%1$s WHERE v = $$x$$; SELECT max(id) FROM t_%1$s', i)
		  FROM generate_series(1, 500) i \gexec
	SQL
	timeout --foreground -k 10 60 pgx-poll -d "$MON_DSN" -j 3 --long-xact 0 --interval 0.1s \
		-s activity,statements,sizes,vacuum,wraparound >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_polls "$BATS_TEST_TMPDIR/out" 20
	# pgx-poll's backends: this server's, from their process titles (a query would be seen by
	# the passes)
	own="$(pgrep -d, -P "$(head -1 "$PGX_PG_DIR/data/postmaster.pid")" -f '^postgres: mon ')"
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	assert_equal "$rc" 0
	assert_equal "$(tr , '\n' <<<"$own" | wc -l)" 3
	# no other client runs a query meanwhile: none is the oldest, and no pgx-poll pid is listed
	run jq -c --argjson own "[$own]" 'select(.type == "activity") | [.status, .oldest_query_age_s,
		[.long_xacts[].pid, .xmin_holders[].pid | select(. as $p | $own | index($p))]]' \
		"$BATS_TEST_TMPDIR/out"
	assert_equal "$(sort -u <<<"$output")" '["ok",null,[]]'
}

@test "--jobs: a session the role's connection limit refuses is a warning, and the passes run on one" {
	psql_q -c "ALTER ROLE mon CONNECTION LIMIT 1"
	run --separate-stderr timeout 30 pgx-poll -d "$MON_DSN" -j 3 -s connections,vacuum
	psql_q -c "ALTER ROLE mon CONNECTION LIMIT -1"
	assert_success
	assert_regex "$stderr" '^pgx-poll: warning: --jobs=3: session 2 of 3 cannot be opened, passes run on 1: .*too many connections for role "mon"$'
	assert_equal "$(jq -r '[.type, .status // .success] | @tsv' <<<"$output")" $'connections\tok\nvacuum\tok\npoll\ttrue'
}

@test "--jobs: a session lost during --interval has its queries run on the first, with a warning, and no pass fails" {
	timeout --foreground -k 10 60 pgx-poll -d "$MON_DSN" -j 2 --interval 0.3s \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_polls "$BATS_TEST_TMPDIR/out" 1
	wait_for 20 "SELECT count(*) FROM pg_stat_activity WHERE usename = 'mon'" 2
	psql_q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mon'
		ORDER BY backend_start DESC LIMIT 1" >/dev/null
	deadline=$((SECONDS + 20))
	until grep -q 'lost' "$BATS_TEST_TMPDIR/err" || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.1; done
	after=$(($(polls "$BATS_TEST_TMPDIR/out") + 2))
	wait_polls "$BATS_TEST_TMPDIR/out" "$after"
	sessions="$(jobs_sessions)"
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	assert_equal "$rc" 0
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" "pgx-poll: warning: 1 --jobs session lost: the next passes run on 1"
	assert_equal "$sessions" 1
	run jq -r 'select(.type == "error" or .status == "error") | .type' "$BATS_TEST_TMPDIR/out"
	assert_output ""
	assert_equal "$(jq -r -s 'map(select(.type == "poll") | .success) | unique | @tsv' "$BATS_TEST_TMPDIR/out")" true
}

@test "--jobs: one warning for --allow-privileged, 1 to 8 sessions, and not with --print-sql" {
	run --separate-stderr timeout 10 pgx-poll -d "$PGX_PG_DSN" --allow-privileged -j 2 -s connections
	assert_success
	assert_equal "$stderr" 'pgx-poll: warning: role "postgres" is a superuser (--allow-privileged): the session stays read-only'
	run --separate-stderr pgx-poll -d "$MON_DSN" -j 9
	assert_failure 2
	assert_regex "$stderr" '^pgx-poll: error: --jobs'
	run --separate-stderr pgx-poll -j 2 --print-sql
	assert_failure 2
	assert_regex "$stderr" '^pgx-poll: error: --jobs applies to snapshots'
}

@test "in --interval, pg_settings is read again after a reload, and each pass's settings record is whole" {
	out="$BATS_TEST_TMPDIR/out"
	rows="$(psql_q -c 'SELECT count(*) FROM pg_settings')"
	timeout --foreground -k 10 60 pgx-poll -d "$MON_DSN" -s settings --interval 0.2s >"$out" &
	pid=$!
	wait_polls "$out" 3
	psql_q -c "ALTER SYSTEM SET work_mem = '7MB'" -c "SELECT pg_reload_conf()" >/dev/null
	deadline=$((SECONDS + 20))
	until grep -q '"name":"work_mem","setting":"7168"' "$out"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "no settings record with the reloaded work_mem"
		sleep 0.05
	done
	wait_polls "$out" $(($(polls "$out") + 2))
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	psql_q -c "ALTER SYSTEM RESET work_mem" -c "SELECT pg_reload_conf()" >/dev/null
	assert_equal "$rc" 0
	# every pass's record has every row; work_mem is the old value, then the new one
	run jq -r 'select(.type == "settings") | [.status, (.settings | length),
		(.settings[] | select(.name == "work_mem") | .setting)] | @tsv' "$out"
	refute_line --regexp $'^(error|degraded)'
	run jq -r 'select(.type == "settings") | .settings | length' "$out"
	assert_equal "$(sort -u <<<"$output")" "$rows"
	run jq -r 'select(.type == "settings") | .settings[] | select(.name == "work_mem") | .setting' "$out"
	assert_equal "$(uniq <<<"$output" | paste -sd ' ')" "4096 7168"
	run jq -r 'select(.type == "settings") | .settings_key // "none"' "$out"
	assert_equal "$(sort -u <<<"$output")" none
}

@test "through PgBouncer in transaction mode nothing pgx-poll or pgx-tune sets reaches the next client's session" {
	# one server connection, shared: what a session SETs stays on it for whoever comes next
	PGB_DB_OPTIONS="pool_mode=transaction pool_size=1" pgbouncer_start
	pooled="host=127.0.0.1 port=$PGB_PORT user=mon dbname=postgres"
	shown() {
		"$PG_BINDIR/psql" -X -q -A -t -d "$pooled" -c "SELECT concat_ws(' ',
			current_setting('statement_timeout'), current_setting('lock_timeout'),
			current_setting('default_transaction_read_only'), current_setting('work_mem'),
			current_setting('max_parallel_workers_per_gather'), current_setting('jit'),
			current_setting('plan_cache_mode'))"
	}
	before="$(shown)"
	assert_equal "$before" "0 0 off 4MB 2 on auto"
	run --separate-stderr timeout 30 pgx-poll -d "$pooled" -j 2 -s connections,activity,settings,sizes
	assert_success
	records="$output"
	assert_equal "$(shown)" "$before"
	assert_regex "$stderr" "^pgx-poll: warning: a connection pooler is between pgx-poll and PostgreSQL \(the server's backend pid is not the one the connection reported\)"
	assert_equal "$(jq -r '[.type, .status // .success] | @tsv' <<<"$records")" \
		"$(printf 'settings\tok\nconnections\tok\nactivity\tok\nsizes\tok\npoll\ttrue')"
	# and no statement of its own is left prepared there
	assert_equal "$("$PG_BINDIR/psql" -X -q -A -t -d "$pooled" -c "SELECT count(*) FROM pg_prepared_statements")" 0
	run --separate-stderr timeout 30 pgx-tune -d "$pooled" --memory 4GB --cpus 2
	assert_success
	assert_equal "$(shown)" "$before"
	# --explain keeps its timeout there: set for its own transaction only
	run --separate-stderr timeout 30 pgx-poll -d "$pooled" --statement-timeout 300 --explain "SELECT pg_sleep(5)"
	assert_failure 7
	assert_regex "$stderr" 'canceling statement due to statement timeout'
	assert_equal "$(shown)" "$before"
	# and a section stuck behind a lock ends at --statement-timeout or --lock-timeout, as
	# on a session of pgx's own: the server's timeouts, set for that query's transaction
	hold_session "BEGIN; LOCK TABLE pg_catalog.pg_sequence IN ACCESS EXCLUSIVE MODE;"
	wait_for 5 "SELECT count(*) FROM pg_locks WHERE relation = 'pg_sequence'::regclass AND granted" 1
	run --separate-stderr timeout -k 5 30 pgx-poll -d "$pooled" --statement-timeout 300 -s connections,sequences
	assert_success
	assert_equal "$(jq -r 'select(.type != "poll") | [.type, .status, (.missing[0].why // "")] | @tsv' <<<"$output")" \
		"$(printf '%s\t%s\t%s\n' connections ok '' sequences degraded \
		'canceling statement due to statement timeout (SQLSTATE 57014) (--statement-timeout 300 ms)')"
	run --separate-stderr timeout -k 5 30 pgx-poll -d "$pooled" --statement-timeout 20000 --lock-timeout 200 \
		-s sequences
	assert_success
	assert_equal "$(jq -r 'select(.type == "sequences") | .missing[0].why' <<<"$output")" \
		'canceling statement due to lock timeout (SQLSTATE 55P03) (--lock-timeout 200 ms)'
	# the probe at connect too: a catalog it reads is locked
	hold_session "BEGIN; LOCK TABLE pg_catalog.pg_extension IN ACCESS EXCLUSIVE MODE;"
	wait_for 5 "SELECT count(*) FROM pg_locks WHERE relation = 'pg_extension'::regclass AND granted" 1
	run --separate-stderr timeout -k 5 30 pgx-poll -d "$pooled" --lock-timeout 200 -s connections
	assert_failure 4
	assert_regex "$stderr" $'\npgx-poll: error: cannot probe the server: canceling statement due to lock timeout$'
	release_sessions
	assert_equal "$(shown)" "$before"
}

@test "through PgBouncer in transaction mode a new server connection between passes loses no pass: nothing is prepared" {
	PGB_DB_OPTIONS="pool_mode=transaction" pgbouncer_start
	out="$BATS_TEST_TMPDIR/out"
	timeout --foreground -k 10 60 pgx-poll -d "host=127.0.0.1 port=$PGB_PORT user=mon dbname=postgres" \
		-s connections,settings --interval 0.5s >"$out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_polls "$out" 2
	# right after a pass: PgBouncer's server connection ends between passes, the
	# client's stays; the next pass gets a new server connection
	n=$(($(polls "$out") + 1))
	wait_polls "$out" "$n"
	psql_q -c "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'mon'" >/dev/null
	wait_polls "$out" $((n + 3))
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	assert_equal "$rc" 0
	# no pass lost its connection, and each pass after the new server connection is whole
	run jq -r 'select(.type == "error") | .message' "$out"
	assert_output ""
	run jq -r -s --argjson n "$n" '[.[] | select(.type == "poll")][$n:] | map(.success) | unique | @tsv' "$out"
	assert_output true
	run jq -r 'select(.type == "connections" or .type == "settings") | .status' "$out"
	refute_output --partial error
	# every statement ran as the unnamed one: none was missing on the new server connection
	run grep -c 'prepared statement "pgx_poll_[0-9]*" does not exist' "$PGX_PG_DIR/log/postgresql.log"
	assert_output 0
}

@test "a restart between --delta samples is reported as postmaster_restart instead of rates" {
	timeout --foreground 30 pgx-poll -d "$MON_DSN" -s database,wal --delta 3s >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	sleep 0.5
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PGX_PG_DIR/data" -m fast -w restart >/dev/null
	rc=0; wait "$pid" || rc=$?
	assert_equal "$rc" 0
	run jq -r 'select(.type == "database" and .db == "postgres") | [.reset, has("xact_commit_per_s")] | @tsv' "$BATS_TEST_TMPDIR/out"
	assert_output $'postmaster_restart\tfalse'
	run jq -r 'select(.type == "wal") | [.reset, has("wal_bytes_per_s")] | @tsv' "$BATS_TEST_TMPDIR/out"
	assert_output $'postmaster_restart\tfalse'
}

@test "pgbouncer: pools per database without user names, stats and lists from the admin console" {
	pgbouncer_start
	"$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGB_PORT" -U mon -d postgres -c "SELECT 1" >/dev/null
	run --separate-stderr timeout 10 pgx-poll -d "$MON_DSN" --pgbouncer "host=127.0.0.1 port=$PGB_PORT dbname=pgbouncer user=mon" -s pgbouncer
	assert_success
	pgb="$(records pgbouncer)"
	run jq -r '[.status, (.pools | map(.database) | index("postgres") != null), (.pools | all(has("user") | not)), (.stats | map(select(.database == "postgres"))[0].xact_count_total >= 1), (.lists | has("databases"))] | @tsv' <<<"$pgb"
	assert_output $'ok\ttrue\ttrue\ttrue\ttrue'
	refute_output --partial '"mon"'
	# all sections include pgbouncer when --pgbouncer is given
	run timeout 10 pgx-poll -d "$MON_DSN" --pgbouncer "host=127.0.0.1 port=$PGB_PORT dbname=pgbouncer user=mon"
	assert_success
	[ -n "$(records pgbouncer)" ]
	# an unreachable console degrades the section only
	run timeout 20 pgx-poll -d "$MON_DSN" --pgbouncer "host=127.0.0.1 port=$(free_port) dbname=pgbouncer user=mon connect_timeout=2" -s pgbouncer,connections
	assert_success
	assert_equal "$(records pgbouncer | jq -r .status)" error
	assert_equal "$(records connections | jq -r .status)" ok
}

@test "--all-databases runs per-database sections in every connectable database" {
	psql_q -c "CREATE DATABASE app"
	psql_q -d app -c "CREATE TABLE big(a int); INSERT INTO big SELECT generate_series(1, 1000)"
	run timeout 20 pgx-poll -d "$MON_DSN" --all-databases -s connections,vacuum
	assert_success
	assert_equal "$(records vacuum | jq -r .db | tr '\n' ' ')" "postgres app "
	assert_equal "$(records connections | wc -l)" 1
	assert_equal "$(records poll | jq -r .success)" true
}

@test "--all-databases: a role that can write in another database is refused there before anything is written (exit 5)" {
	psql_q -c "CREATE DATABASE app"
	psql_q -d app -c "CREATE TABLE t(a int); GRANT INSERT ON t TO mon"
	for mode in "" "--delta 0.2s"; do
		run --separate-stderr timeout 20 pgx-poll -d "$MON_DSN" --all-databases -s connections,vacuum $mode
		assert_failure 5
		assert_output ""
		assert_equal "$stderr" 'pgx-poll: error: in database "app", role "mon" can write table public.t (use --allow-privileged to run anyway)'
	done
	# the quiet case: nothing writable anywhere, every database polled
	psql_q -d app -c "REVOKE INSERT ON t FROM mon"
	run timeout 20 pgx-poll -d "$MON_DSN" --all-databases -s vacuum
	assert_success
	assert_equal "$(records vacuum | jq -r '[.db, .status] | @tsv' | tr '\n' ' ')" $'postgres\tok app\tok '
}

@test "--all-databases: a database the role may not CONNECT to is degraded there with the GRANT to run; the rest is written (exit 0)" {
	psql_q -c "CREATE DATABASE \"Locked Db\"" -c "REVOKE CONNECT ON DATABASE \"Locked Db\" FROM PUBLIC"
	run --separate-stderr timeout 20 pgx-poll -d "$MON_DSN" --all-databases -s connections,vacuum,sequences
	assert_success
	assert_equal "$stderr" ""
	grant='GRANT CONNECT ON DATABASE "Locked Db" TO mon;'
	assert_equal "$(records vacuum | jq -r 'select(.db == "postgres") | .status')" ok
	run jq -r 'select(.db == "Locked Db") | [.type, .status, .missing[0].why] | @tsv' <<<"$output"
	assert_output "$(printf '%s\tdegraded\trole "mon" lacks CONNECT on database "Locked Db": %s\n' vacuum "$grant" sequences "$grant")"
	# the printed GRANT is what gives the sections their data
	psql_q -c "$grant"
	run timeout 20 pgx-poll -d "$MON_DSN" --all-databases -s vacuum
	assert_success
	assert_equal "$(records vacuum | jq -r 'select(.db == "Locked Db") | .status')" ok
}

@test "the README's one-time setup of the monitoring role gives every section its data, and the role stays read-only" {
	psql_q -c "CREATE TABLE t (a int); INSERT INTO t VALUES (1); ANALYZE t; CREATE SEQUENCE s; SELECT nextval('s')" >/dev/null
	awk '/^```sql$/ { on = 1; next } /^```$/ { on = 0 } on' "$PGX_TEST_DIR/../README.md" >"$BATS_TEST_TMPDIR/setup.sql"
	grep -q 'GRANT pg_monitor TO monitor;' "$BATS_TEST_TMPDIR/setup.sql" || fail "no setup block in README.md"
	psql_q -v ON_ERROR_STOP=1 -f "$BATS_TEST_TMPDIR/setup.sql" >/dev/null
	run --separate-stderr timeout 30 pgx-poll -d "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=monitor dbname=postgres" \
		-s prereqs,statements,activity,bloat,sequences,identity
	assert_success
	assert_equal "$(records prereqs | jq -c .grants)" '[]'
	run jq -r 'select(.type != "poll") | [.type, .status] | @tsv' <<<"$output"
	assert_output "$(printf '%s\tok\n' identity prereqs activity statements bloat sequences)"
}

@test "pgx-poll leaks nothing over a snapshot, the SQL printer and a delta (valgrind)" {
	require_valgrind pgx-poll
	vg=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	run timeout 120 "${vg[@]}" pgx-poll -d "$MON_DSN" --with-sql
	assert_success
	run timeout 60 "${vg[@]}" pgx-poll --print-sql --server-version 170000
	assert_success
	run timeout 120 "${vg[@]}" pgx-poll -d "$MON_DSN" -s database,statements,locks,activity --delta 0.5s
	assert_success
	run timeout 60 "${vg[@]}" pgx-poll -d "$PGX_PG_DSN"
	assert_failure 5
}

@test "a quiet server's statements Top-N holds none of pgx's own statements; pgx_self counts them" {
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	for i in 1 2 3; do
		pgx-poll -d "$MON_DSN" >/dev/null
	done
	pgx-poll -d "$MON_DSN" --explain "SELECT count(*) FROM pg_class" >/dev/null
	psql_q -c "SELECT 'the user''s own statement'" >/dev/null
	run --separate-stderr timeout 30 pgx-poll -d "$MON_DSN" -s statements -n 100
	assert_success
	rec="$(records statements)"
	# pgx's texts start with its mark; none of them is ranked or in other
	jq -e '[.items[].query | select(startswith("/* pgx */"))] | length == 0' <<<"$rec"
	jq -e '[.items[].query | select(test("pg_stat_statements\\(true\\)"))] | length == 0' <<<"$rec"
	jq -e '[.items[].query | select(test("^(EXPLAIN|BEGIN|ROLLBACK|SAVEPOINT)"))] | length == 0' <<<"$rec"
	jq -e 'any(.items[]; .query == "SELECT $1")' <<<"$rec"
	jq -e '.pgx_self.count > 5 and .pgx_self.calls_total >= 3 and .pgx_self.exec_time_s_total > 0' <<<"$rec"
	run --separate-stderr timeout 30 pgx-poll -d "$MON_DSN" -s statements -n 100 --include-self
	assert_success
	rec="$(records statements)"
	jq -e 'any(.items[]; .query | startswith("/* pgx */")) and .pgx_self.count == 0' <<<"$rec"
	# the table shows pgx's cost on a line of its own
	run bash -c "pgx-poll -d '$MON_DSN' -s statements | pgx-report"
	assert_line --regexp '^ +[0-9]+ +[0-9.]+ +-  pgx itself \([0-9]+ statements, not ranked\)$'
}

@test "each statement names its section after pgx's mark: pg_stat_statements tells what each section costs" {
	psql_q -c "CREATE EXTENSION pg_stat_statements"
	psql_q -c "SELECT pg_stat_statements_reset()" >/dev/null
	run --separate-stderr timeout 60 pgx-poll -d "$MON_DSN"
	assert_success
	ran="$(records poll | jq -r '.sections[]' | sort)"
	tags="$(psql_q -A -t -c "SELECT DISTINCT substring(s.query FROM '^/\\* pgx \\*/ /\\* ([a-z_]+) \\*/ ')
		FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
		WHERE r.rolname = 'mon' AND s.query LIKE '/* pgx */ %' AND s.query NOT LIKE '/* pgx */ SET %'" | sort)"
	# the probe and the guard, and the sections that have a query on this server
	for name in probe guard identity settings statements database vacuum sizes wraparound; do
		grep -qx "$name" <<<"$tags"
	done
	# every query of mon's but its SETs names one of them, or the pooler check
	run comm -23 <(echo "$tags") <(printf '%s\nprobe\nguard\npooler\n' "$ran" | sort)
	assert_output ""
	run psql_q -A -t -c "SELECT count(*) FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
		WHERE r.rolname = 'mon' AND s.query NOT LIKE '/* pgx */ /* %' AND s.query NOT LIKE '/* pgx */ SET %'"
	assert_output 0
	# the sql records (--with-sql, --print-sql) hold the section's SQL alone
	run --separate-stderr pgx-poll --print-sql -s sizes
	assert_success
	jq -e 'select(.type == "sql") | .text | startswith("WITH ")' <<<"$output"
}

# The coverage table of share/pgx/records.yaml (poll_sections) against the
# renderers: a real snapshot with something in every section, rendered as
# table, html and prom with and without each section's records.
coverage_snapshot() {
	# mon may read public, not private: prereqs then has a GRANT to suggest
	psql_q -c "CREATE EXTENSION pg_stat_statements;
		CREATE SCHEMA private; CREATE TABLE private.hidden (id int);
		CREATE TABLE churn (id int PRIMARY KEY, pad text);
		INSERT INTO churn SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
		DELETE FROM churn WHERE id % 10 <> 0;
		CREATE INDEX churn_pad ON churn (pad);
		CREATE SEQUENCE nearly_done MAXVALUE 100; SELECT setval('nearly_done', 95);
		CREATE TABLE events (at date) PARTITION BY RANGE (at);
		CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
		GRANT SELECT ON ALL TABLES IN SCHEMA public TO mon; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO mon;
		ANALYZE; SELECT count(*) FROM churn" >/dev/null
	pg_replica coverage_slot
	wait_for 60 "SELECT state FROM pg_stat_replication" streaming
	pgbouncer_start
	"$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGB_PORT" -U mon -d postgres -c "SELECT 1" >/dev/null
	timeout 60 pgx-poll -d "$MON_DSN" --pgbouncer "host=127.0.0.1 port=$PGB_PORT dbname=pgbouncer user=mon" |
		# PostgreSQL 15 has no pg_stat_io (degraded): one row in the shape 16 gives
		jq -c 'if .type == "io" then (.status = "ok" | del(.missing) | .items = [{"backend_type":"client backend",
			"object":"relation","context":"normal","reads_total":12,"writes_total":3,"writebacks_total":0,
			"extends_total":1,"hits_total":900,"evictions_total":0,"reuses_total":null,"fsyncs_total":0,
			"read_time_s_total":null,"write_time_s_total":null,"op_bytes":8192}]) else . end'
}

# The section's own status line (pgx_section_ok) is not its data.
render_without() {	# render_without FORMAT SNAPSHOT SECTION
	jq -c --arg s "$3" 'select(.type != $s)' "$2" | pgx-report -f "$1" | grep -v '^pgx_section_ok'
}

@test "every section reaches exactly the outputs the coverage table of records.yaml says, and none reaches nothing unnoticed" {
	coverage_snapshot >"$BATS_TEST_TMPDIR/snap.ndjson"
	snap="$BATS_TEST_TMPDIR/snap.ndjson"
	for t in $(pgx-report validate --print-schema | jq -r '.poll_sections | keys[]'); do
		[ -n "$(jq -c --arg t "$t" 'select(.type == $t)' "$snap")" ] || fail "no $t record in the snapshot"
	done
	for fmt in table html prom; do
		render_without "$fmt" "$snap" none >"$BATS_TEST_TMPDIR/full.$fmt"
	done
	pgx-report alerts --list >"$BATS_TEST_TMPDIR/rules.ndjson"
	pgx-report validate --print-schema | jq -r '.poll_sections | to_entries[] | .key as $s |
		[$s, (.value | .table, .html, .prom, .alerts, (.gap // ""))] | @tsv' >"$BATS_TEST_TMPDIR/coverage.tsv"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/coverage.tsv")" -eq 21 ] || fail "the table has $(wc -l <"$BATS_TEST_TMPDIR/coverage.tsv") rows"
	while IFS=$'\t' read -r sec table html prom alerts gap; do
		reached=""
		for fmt in table html prom alerts; do
			# prom renders pg_stat_wal's counters, null before 14 (current_lsn is no metric)
			[ "$sec.$fmt" != wal.prom ] || [ "$PGX_TEST_PG_VERSION" -ge 14 ] || continue
			verdict="${!fmt}"
			[ "$verdict" = rendered ] || [[ "$verdict" == "not rendered, because "?* ]] ||
				fail "$sec.$fmt says \"$verdict\", not rendered or not rendered, because ..."
			if [ "$fmt" = alerts ]; then
				jq -s -e --arg s "$sec" 'any(.[]; .record == $s)' "$BATS_TEST_TMPDIR/rules.ndjson" >/dev/null && r=yes || r=no
			else
				render_without "$fmt" "$snap" "$sec" >"$BATS_TEST_TMPDIR/without.$fmt"
				cmp -s "$BATS_TEST_TMPDIR/without.$fmt" "$BATS_TEST_TMPDIR/full.$fmt" && r=no || r=yes
			fi
			[ "$r" = yes ] && reached="$reached $fmt"
			[ "$r" = yes ] || [ "$verdict" != rendered ] || fail "$sec is marked rendered in $fmt, but reaches nothing there"
			[ "$r" = no ] || [ "$verdict" = rendered ] || fail "$sec reaches $fmt, but the table says: $verdict"
		done
		[ -n "$reached" ] || [ -n "$gap" ] || fail "$sec is collected and reaches no output, and the table has no gap: for it"
		[ -z "$reached" ] || [ -z "$gap" ] || fail "$sec reaches$reached now: remove its gap: from the table"
	done <"$BATS_TEST_TMPDIR/coverage.tsv"
}
