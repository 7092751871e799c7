#!/usr/bin/env bats
# pgx-poll --advice on a real PostgreSQL 15 with pg_stat_statements and hypopg.

load test_helper

setup_file() {
	pg_start "-c autovacuum=off"
	psql_q -c "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg;
		CREATE TABLE big (id int PRIMARY KEY, cust int, note text);
		INSERT INTO big SELECT g, g % 5000, 'x' FROM generate_series(1, 100000) g;
		CREATE TABLE small (id int PRIMARY KEY, cust int);
		INSERT INTO small SELECT g, g % 100 FROM generate_series(1, 1000) g;
		CREATE TABLE \"Order Items\" (id int PRIMARY KEY, \"CustId\" int, qty int);
		INSERT INTO \"Order Items\" SELECT g, g % 3000, 1 FROM generate_series(1, 100000) g;
		CREATE TABLE parent (id int PRIMARY KEY);
		INSERT INTO parent SELECT generate_series(1, 10);
		CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id));
		CREATE TABLE child_indexed (id int PRIMARY KEY, parent_id int REFERENCES parent (id));
		CREATE INDEX ON child_indexed (parent_id);
		CREATE INDEX big_note ON big (note);
		CREATE INDEX big_note_again ON big (note);
		ANALYZE;
		CREATE ROLE monitor LOGIN; GRANT pg_monitor, pg_read_all_data TO monitor;"
	# A unique index on a column with duplicates fails and stays behind, invalid.
	psql_q -c "CREATE UNIQUE INDEX CONCURRENTLY small_cust_unique ON small (cust)" 2>/dev/null || true
	for i in $(seq 1 20); do
		psql_q -c "SELECT * FROM big WHERE cust = $i" -c "SELECT * FROM small WHERE cust = $i" \
			-c "SELECT * FROM \"Order Items\" WHERE \"CustId\" = $i AND qty > 0" >/dev/null
	done
	MONITOR_DSN="$PGX_PG_DSN user=monitor"
	export MONITOR_DSN
	timeout 120 pgx-poll -d "$MONITOR_DSN" --advice >"$BATS_FILE_TMPDIR/advice.ndjson"
}

teardown_file() {
	pg_stop
}

advice() {
	jq -c "select(.type == \"index_advice\" and $1)" "$BATS_FILE_TMPDIR/advice.ndjson"
}

@test "a 100k-row table queried by an unindexed column is suggested, and hypopg confirms the planner would use it" {
	run advice '.table == "public.big" and .kind == "seq_scan"'
	assert_success
	run jq -r '.statement, .confidence, (.columns | join(",")), .evidence.filter, .evidence.whatif.index_used' <<<"$output"
	assert_output "$(printf '%s\n' 'CREATE INDEX CONCURRENTLY ON public.big (cust)' high cust '(big.cust = $1)' true)"
	run advice '.table == "public.big" and .kind == "seq_scan" and .evidence.whatif.cost_after < .evidence.whatif.cost_before'
	assert_output --partial '"cost_before":'
	run jq -c 'select(.type == "advice") | [.status, .hypopg, .tables_checked >= 2]' "$BATS_FILE_TMPDIR/advice.ndjson"
	assert_output '["ok",true,true]'
}

@test "a 1k-row table is never suggested, and --min-rows cannot go under 10000" {
	run advice '.table == "public.small" and (.kind == "seq_scan" or .kind == "fk_without_index")'
	assert_success
	assert_output ""
	run pgx-poll -d "$MONITOR_DSN" --advice --min-rows 1000
	assert_failure 2
	run timeout 60 pgx-poll -d "$MONITOR_DSN" --advice --min-rows 200000
	assert_success
	refute_output --partial '"kind":"seq_scan"'
}

@test "mixed-case names are quoted in the statement, equality columns first" {
	run advice '.kind == "seq_scan" and (.table | test("Order"))'
	assert_success
	run jq -r '.statement, .evidence.whatif.index_used' <<<"$output"
	assert_output "$(printf '%s\n' 'CREATE INDEX CONCURRENTLY ON public."Order Items" ("CustId", qty)' true)"
}

@test "a foreign key without a supporting index is found, one with an index is not" {
	run advice '.kind == "fk_without_index"'
	assert_success
	run jq -r '[.table, .statement, .evidence.constraint, .evidence.referenced_table] | @tsv' <<<"$output"
	assert_output "$(printf 'public.child\tCREATE INDEX CONCURRENTLY ON public.child (parent_id)\tchild_parent_id_fkey\tparent')"
}

@test "duplicate and unused indexes come from pgx-poll's indexes record given with --indexes-from" {
	timeout 60 pgx-poll -d "$MONITOR_DSN" -s indexes >"$BATS_TEST_TMPDIR/indexes.ndjson"
	run timeout 120 pgx-poll -d "$MONITOR_DSN" --advice --indexes-from "$BATS_TEST_TMPDIR/indexes.ndjson"
	assert_success
	advice="$output"
	run jq -r 'select(.type == "index_advice" and .kind == "duplicate_index") | .statement' <<<"$advice"
	assert_output 'DROP INDEX CONCURRENTLY public.big_note_again'
	run jq -r 'select(.type == "index_advice" and .kind == "unused_index") | .statement' <<<"$advice"
	assert_line 'DROP INDEX CONCURRENTLY public.big_note'
	run timeout 120 pgx-poll -d "$MONITOR_DSN" --advice --indexes-from "$BATS_TEST_TMPDIR/no-such.ndjson"
	assert_failure 3
	assert_output --partial 'no-such.ndjson'
}

@test "an invalid index left by a failed CREATE INDEX CONCURRENTLY is found by the indexes section run inline" {
	run advice '.kind == "invalid_index"'
	assert_success
	run jq -r '[.table, .index, .statement, .confidence] | @tsv' <<<"$output"
	assert_output "$(printf 'public.small\tpublic.small_cust_unique\tREINDEX INDEX CONCURRENTLY public.small_cust_unique\thigh')"
}

@test "without hypopg the suggestion stands on the plan alone, at medium confidence" {
	psql_q -c "CREATE DATABASE nohypo"
	psql_q -d nohypo -c "CREATE EXTENSION pg_stat_statements;
		CREATE TABLE big (id int PRIMARY KEY, cust int);
		INSERT INTO big SELECT g, g % 5000 FROM generate_series(1, 50000) g; ANALYZE big;"
	psql_q -d nohypo -c "GRANT pg_read_all_data TO monitor" 2>/dev/null || true
	for i in 1 2 3; do psql_q -d nohypo -c "SELECT * FROM big WHERE cust = $i" >/dev/null; done
	run timeout 120 pgx-poll -d "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=monitor dbname=nohypo" --advice
	assert_success
	run jq -c 'select(.type == "index_advice") | [.statement, .confidence, (.evidence | has("whatif"))]' <<<"$output"
	assert_output '["CREATE INDEX CONCURRENTLY ON public.big (cust)","medium",false]'
}
