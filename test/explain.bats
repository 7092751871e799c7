#!/usr/bin/env bats
# pgx-poll --explain and pgx-report plan on a real PostgreSQL 15.

load test_helper
load poll_helper

setup_file() {
	pg_start "-c autovacuum=off"
	# Statistics taken while no row has v = 42, then 100k such rows without
	# ANALYZE: the planner expects almost nothing and gets everything.
	psql_q -c "CREATE TABLE skew (id int PRIMARY KEY, v int);
		INSERT INTO skew SELECT g, g % 10 FROM generate_series(1, 1000) g;
		ANALYZE skew;
		INSERT INTO skew SELECT g, 42 FROM generate_series(1001, 101000) g;
		CREATE ROLE monitor LOGIN; GRANT pg_monitor, pg_read_all_data TO monitor;"
	# pgx-poll runs as a monitoring role; the refusal tests use the owner
	# (--allow-privileged), for whom only pgx-poll's checks stand in the way.
	MONITOR_DSN="$PGX_PG_DSN user=monitor"
	export MONITOR_DSN
}

teardown_file() {
	pg_stop
}

setup() {
	HOLD_PIDS=() HOLD_FDS=()
}

teardown() {
	release_sessions
}

# The plan record in $output shows estimates only, for a reason matching $1.
assert_analyze_skipped() {
	local got
	got="$(jq -r '[.type, .analyze, (.plan.Plan | has("Actual Rows")), .analyze_skipped] | @tsv' <<<"$output")"
	[[ "$got" =~ ^plan$'\t'false$'\t'false$'\t'$1$ ]] || fail "not skipped for /$1/: $got"
}

@test "EXPLAIN ANALYZE of a query on a misleading statistic shows the misestimate highlighted" {
	run timeout 60 pgx-poll -d "$MONITOR_DSN" --explain "SELECT * FROM skew WHERE v = 42" --cluster test
	assert_success
	plan="$output"
	run jq -r '[.type, .cluster, .analyze, (.plan.Plan["Node Type"]), (.plan.Plan["Actual Rows"]), (.execution_time_s > 0)] | @tsv' <<<"$plan"
	assert_output "$(printf 'plan\ttest\ttrue\tSeq Scan\t100000\ttrue')"
	run pgx-report plan <<<"$plan"
	assert_success
	assert_line --regexp '^!! +Seq Scan on skew +[0-9]+ +100000 +[0-9.]+x under '
	assert_output --partial 'Filter: (v = 42)'
	assert_output --partial 'Misestimates (rows off by more than 10x):'
	run pgx-report plan --format json <<<"$plan"
	assert_success
	run jq -c '[.type, .misestimates, .nodes[0].misestimate, (.nodes[0].rows_off_factor > 10)]' <<<"$output"
	assert_output '["plan_view",1,true,true]'
}

@test "the statement is planned and run with the role's settings, not those pgx-poll sets for its own queries" {
	# a role whose sessions plan any scan in parallel and sort in 64kB
	psql_q -c "CREATE ROLE app_like LOGIN IN ROLE pg_monitor, pg_read_all_data;
		ALTER ROLE app_like SET work_mem = '64kB'; ALTER ROLE app_like SET parallel_setup_cost = 0;
		ALTER ROLE app_like SET parallel_tuple_cost = 0; ALTER ROLE app_like SET min_parallel_table_scan_size = 0"
	nodes='[.plan | .. | objects | select(has("Node Type")) | .["Node Type"]] | join(",")'
	run --separate-stderr timeout 60 pgx-poll -d "$PGX_PG_DSN user=app_like" --explain "SELECT count(*) FROM skew"
	assert_success
	assert_equal "$(jq -r "$nodes" <<<"$output")" "Aggregate,Gather,Aggregate,Seq Scan"
	assert_equal "$(jq -r '.plan.Plan.Plans[0].Plans[0].Plans[0]["Parallel Aware"]' <<<"$output")" true
	run --separate-stderr timeout 60 pgx-poll -d "$PGX_PG_DSN user=app_like" --explain "SELECT id FROM skew ORDER BY v, id"
	assert_success
	# the role's 64kB sends the sort to disk; a parallel worker that started
	# late and got a few rows may still sort them in memory
	run jq -r '[.plan | .. | objects | .["Sort Method"] // empty] | unique | join(",")' <<<"$output"
	assert_output --regexp '^(external merge|external merge,quicksort)$'
	psql_q -c "DROP ROLE app_like"
}

@test "a higher --misestimate factor no longer marks the node" {
	run timeout 60 pgx-poll -d "$MONITOR_DSN" --explain "SELECT * FROM skew WHERE v = 42"
	assert_success
	factor="$(pgx-report plan -f json <<<"$output" | jq '.nodes[0].rows_off_factor')"
	run pgx-report plan --misestimate "$(echo "$factor * 2" | bc)" -f json <<<"$output"
	run jq -c '[.misestimates, .nodes[0].misestimate]' <<<"$output"
	assert_output '[0,false]'
}

@test "--no-analyze plans without executing and the report says so" {
	run timeout 60 pgx-poll -d "$MONITOR_DSN" --explain-file - --no-analyze <<<"SELECT count(*) FROM skew;"
	assert_success
	run jq -c '[.analyze, .execution_time_s, (.plan.Plan | has("Actual Rows")), .query]' <<<"$output"
	assert_output '[false,null,false,"SELECT count(*) FROM skew"]'
	run pgx-report plan < <(pgx-poll -d "$MONITOR_DSN" --explain "SELECT 1" --no-analyze)
	assert_success
	assert_output --partial 'estimates only (--no-analyze): nothing was executed'
}

@test "an INSERT is refused before execution and the table is unchanged" {
	before="$(psql_q -c 'SELECT count(*) FROM skew')"
	run timeout 60 pgx-poll --allow-privileged --explain "INSERT INTO skew VALUES (0, 0)"
	assert_failure 2
	assert_output --partial 'refusing to explain a statement that starts with "INSERT"'
	run timeout 60 pgx-poll --allow-privileged --explain "/* hidden */ ( INSERT INTO skew VALUES (0, 0) )"
	assert_failure 2
	assert_equal "$(psql_q -c 'SELECT count(*) FROM skew')" "$before"
	run psql_q -c "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'skew'"
	assert_output 101000
}

@test "a writable CTE is refused from its plan's ModifyTable node, nothing deleted" {
	run timeout 60 pgx-poll --allow-privileged --explain "WITH gone AS (DELETE FROM skew WHERE id < 10 RETURNING *) SELECT count(*) FROM gone"
	assert_failure 2
	assert_output --partial 'refusing a data-modifying statement: its plan has a ModifyTable node (Delete on skew)'
	assert_output --partial 'nothing was executed'
	assert_equal "$(psql_q -c 'SELECT count(*) FROM skew WHERE id < 10')" 9
	run psql_q -c "SELECT n_tup_del FROM pg_stat_user_tables WHERE relname = 'skew'"
	assert_output 0
}

@test "SELECT INTO, a second statement and a row lock never run" {
	run timeout 60 pgx-poll --allow-privileged --explain "SELECT * INTO copy_of_skew FROM skew"
	assert_failure 2
	assert_output --partial 'refusing SELECT ... INTO'
	run timeout 60 pgx-poll --allow-privileged --explain "SELECT 1; DROP TABLE skew"
	assert_failure 7
	assert_output --partial 'cannot insert multiple commands'
	run timeout 60 pgx-poll --allow-privileged --explain "SELECT * FROM skew WHERE id = 1 FOR UPDATE"
	assert_failure 7
	assert_output --partial 'read-only transaction'
	run psql_q -c "SELECT count(*) FROM pg_class WHERE relname = 'copy_of_skew'"
	assert_output 0
	run psql_q -c "SELECT count(*) FROM skew"
	assert_output 101000
}

@test "the statement_timeout stops a long EXPLAIN ANALYZE with exit 7" {
	run timeout 60 pgx-poll -d "$MONITOR_DSN" --statement-timeout 200 --explain "SELECT pg_sleep(5)"
	assert_failure 7
	assert_output --partial 'canceling statement due to statement timeout'
}

@test "explain options are checked" {
	run pgx-poll --no-analyze
	assert_failure 2
	assert_output --partial '--no-analyze applies to --explain only'
	run pgx-poll --explain "SELECT 1" --explain-file x.sql
	assert_failure 2
	run pgx-report plan </dev/null
	assert_failure 3
	assert_output --partial 'no plan record'
	run pgx-report plan --misestimate 0.5 </dev/null
	assert_failure 2
}

@test "--explain never runs pg_terminate_backend, even for a superuser with --allow-privileged: the plan comes without ANALYZE and says why" {
	hold_session "SELECT 'victim-marker', pg_sleep(60);"
	wait_for 10 "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%victim-marker%' AND state = 'active' AND pid <> pg_backend_pid()" 1
	pid="$(psql_q -c "SELECT pid FROM pg_stat_activity WHERE query LIKE '%victim-marker%' AND pid <> pg_backend_pid()")"
	run --separate-stderr timeout 60 pgx-poll --allow-privileged \
		--explain "select set_config('role','none',false), pg_terminate_backend($pid)"
	assert_success
	assert_equal "$(tail -1 <<<"$stderr")" 'pgx-poll: warning: EXPLAIN without ANALYZE: the statement calls pg_terminate_backend(integer,bigint), which acts outside the transaction'
	assert_analyze_skipped 'calls pg_terminate_backend\(integer,bigint\), which acts outside the transaction'
	plan="$output"
	assert_equal "$(psql_q -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid")" 1
	run pgx-report plan <<<"$plan"
	assert_success
	assert_output --partial 'estimates only (ANALYZE skipped: calls pg_terminate_backend(integer,bigint), which acts outside the transaction): nothing was executed'
}

@test "--explain never resets statistics, directly or through a STABLE PL/pgSQL function" {
	psql_q -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
		CREATE FUNCTION sneaky_reset() RETURNS int LANGUAGE plpgsql STABLE AS 'BEGIN PERFORM pg_stat_reset(); RETURN 1; END'"
	before="$(psql_q -c "SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_database WHERE datname = 'postgres'") $(psql_q -c 'SELECT stats_reset FROM pg_stat_statements_info')"
	run --separate-stderr timeout 60 pgx-poll --allow-privileged --explain "SELECT pg_stat_reset()"
	assert_success
	assert_analyze_skipped 'calls pg_stat_reset\(\), which acts outside the transaction'
	run --separate-stderr timeout 60 pgx-poll --allow-privileged --explain "SELECT pg_stat_statements_reset()"
	assert_success
	assert_analyze_skipped 'calls pg_stat_statements_reset\(.*\), which acts outside the transaction'
	run --separate-stderr timeout 60 pgx-poll --allow-privileged --explain "SELECT v, sneaky_reset() FROM skew WHERE id = 1"
	assert_success
	assert_analyze_skipped 'calls sneaky_reset\(\), which is written in plpgsql, which can call anything'
	after="$(psql_q -c "SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_database WHERE datname = 'postgres'") $(psql_q -c 'SELECT stats_reset FROM pg_stat_statements_info')"
	assert_equal "$after" "$before"
}

@test "--explain never runs dblink_exec: a row it would commit in another session never appears" {
	psql_q -c "CREATE EXTENSION IF NOT EXISTS dblink; CREATE TABLE dblink_victim (a int)"
	run --separate-stderr timeout 60 pgx-poll --allow-privileged \
		--explain "SELECT dblink_exec('$PGX_PG_DSN', 'INSERT INTO dblink_victim VALUES (1)')"
	assert_success
	assert_analyze_skipped 'calls dblink_exec\(.*\), which acts outside the transaction'
	assert_equal "$(psql_q -c 'SELECT count(*) FROM dblink_victim')" 0
}

@test "--explain never advances a sequence; a SELECT calling only harmless functions still gets ANALYZE" {
	psql_q -c "CREATE SEQUENCE explain_seq"
	run --separate-stderr timeout 60 pgx-poll --allow-privileged --explain "SELECT nextval('explain_seq') FROM skew WHERE id < 5"
	assert_success
	assert_analyze_skipped 'calls nextval\(regclass\), which acts outside the transaction'
	assert_equal "$(psql_q -c 'SELECT last_value, is_called FROM explain_seq')" '1|f'
	run timeout 60 pgx-poll -d "$MONITOR_DSN" \
		--explain "SELECT count(*), now(), clock_timestamp() > now(), random() < 2, lower('A') FROM skew WHERE v = 42 AND id::text LIKE '1%'"
	assert_success
	run jq -r '[.analyze, .plan.Plan["Actual Rows"], has("analyze_skipped")] | @tsv' <<<"$output"
	assert_output $'true\t1\tfalse'
}

@test "--explain sees calls behind operators, casts, aggregates and views, and foreign tables" {
	psql_q -c "CREATE SCHEMA trap;
		CREATE FUNCTION trap.eq(int, int) RETURNS bool LANGUAGE plpgsql AS 'BEGIN PERFORM pg_stat_reset(); RETURN \$1 = \$2; END';
		CREATE OPERATOR trap.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = trap.eq);
		CREATE TYPE trap.boxed AS (a int);
		CREATE FUNCTION trap.box(int) RETURNS trap.boxed LANGUAGE plpgsql AS 'BEGIN PERFORM pg_stat_reset(); RETURN row(\$1); END';
		CREATE CAST (int AS trap.boxed) WITH FUNCTION trap.box(int);
		CREATE FUNCTION trap.step(int, int) RETURNS int LANGUAGE plpgsql AS 'BEGIN PERFORM pg_stat_reset(); RETURN \$1; END';
		CREATE AGGREGATE trap.agg(int) (SFUNC = trap.step, STYPE = int);
		CREATE VIEW trap.v AS SELECT id, pg_cancel_backend(0) AS c FROM skew;
		GRANT USAGE ON SCHEMA trap TO monitor; GRANT SELECT ON trap.v TO monitor"
	before="$(psql_q -c "SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_database WHERE datname = 'postgres'")"
	run --separate-stderr timeout 60 pgx-poll -d "$MONITOR_DSN" --explain "SELECT id FROM skew WHERE id OPERATOR(trap.===) 1"
	assert_analyze_skipped 'calls trap.eq\(integer,integer\), which is volatile: it may act outside the transaction'
	run --separate-stderr timeout 60 pgx-poll -d "$MONITOR_DSN" --explain "SELECT id::trap.boxed FROM skew WHERE id < 3"
	assert_analyze_skipped 'calls trap.box\(integer\), which is volatile: it may act outside the transaction'
	run --separate-stderr timeout 60 pgx-poll -d "$MONITOR_DSN" --explain "SELECT trap.agg(id) FROM skew"
	assert_analyze_skipped 'calls trap.step\(integer,integer\), which is volatile: it may act outside the transaction'
	run --separate-stderr timeout 60 pgx-poll -d "$MONITOR_DSN" --explain "SELECT * FROM trap.v WHERE id = 1"
	assert_analyze_skipped 'calls pg_cancel_backend\(integer\), which acts outside the transaction'
	psql_q -c "CREATE EXTENSION postgres_fdw;
		CREATE SERVER loopback FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'postgres');
		CREATE FOREIGN TABLE trap.remote (id int) SERVER loopback OPTIONS (table_name 'skew')"
	run --separate-stderr timeout 60 pgx-poll --allow-privileged --explain "SELECT count(*) FROM trap.remote"
	assert_success
	assert_analyze_skipped 'reads foreign data \(Aggregate on \(trap.remote\)\), which its wrapper fetches outside the transaction'
	run --separate-stderr timeout 60 pgx-poll --allow-privileged --explain "SELECT id FROM trap.remote WHERE id = 1"
	assert_analyze_skipped 'reads foreign data \(remote\), which its wrapper fetches outside the transaction'
	# a sort, a hash or a GROUP BY may call an operator class's functions unseen:
	# a user-defined one that is unsafe blocks ANALYZE of any statement
	psql_q -c "CREATE FUNCTION trap.cmp(int, int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS 'BEGIN PERFORM pg_stat_reset(); RETURN btint4cmp(\$1, \$2); END';
		CREATE OPERATOR CLASS trap.int_ops FOR TYPE int USING btree AS OPERATOR 1 <, OPERATOR 3 =, OPERATOR 5 >, FUNCTION 1 trap.cmp(int, int)"
	run --separate-stderr timeout 60 pgx-poll -d "$MONITOR_DSN" --explain "SELECT id FROM skew ORDER BY id USING OPERATOR(pg_catalog.<)"
	assert_analyze_skipped 'calls trap.cmp\(integer,integer\), which is written in plpgsql, which can call anything'
	assert_equal "$(psql_q -c "SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_database WHERE datname = 'postgres'")" "$before"
	assert_equal "$(psql_q -c "SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_database WHERE datname = 'postgres'")" "$before"
}
