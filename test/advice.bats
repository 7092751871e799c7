#!/usr/bin/env bats
# pgx-poll --advice on a real PostgreSQL 15 with pg_stat_statements and hypopg.
# (Not run against 13 and 17: no hypopg package in their trees; test/server_log.bats
# runs --advice on every version.)

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
		CREATE TABLE orders (id int PRIMARY KEY, big_id int REFERENCES big (id));
		INSERT INTO orders SELECT g, g % 90000 + 1 FROM generate_series(1, 100000) g;
		CREATE INDEX big_note_again ON big (note);
		ANALYZE;
		CREATE ROLE monitor LOGIN; GRANT pg_monitor, pg_read_all_data TO monitor;
		CREATE ROLE mononly LOGIN; GRANT pg_monitor TO mononly;"
	# A unique index on a column with duplicates fails and stays behind, invalid.
	psql_q -c "CREATE UNIQUE INDEX CONCURRENTLY small_cust_unique ON small (cust)" 2>/dev/null || true
	for i in $(seq 1 20); do
		psql_q -c "SELECT * FROM big WHERE cust = $i" -c "SELECT * FROM small WHERE cust = $i" \
			-c "SELECT * FROM \"Order Items\" WHERE \"CustId\" = $i AND qty > 0" \
			-c "SELECT * FROM orders WHERE big_id = $i" >/dev/null
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

@test "a small table read by sequential scans gets an explicit no-index record" {
	run advice '.table == "public.small" and .kind == "too_small"'
	assert_success
	run jq -r '[.statement, .confidence, .evidence.n_live_tup, (.evidence.note | startswith("no index: too small"))] | @tsv' <<<"$output"
	assert_output "$(printf '\thigh\t1000\ttrue')"
	run jq -c 'select(.type == "advice") | .too_small >= 1' "$BATS_FILE_TMPDIR/advice.ndjson"
	assert_output true
}

@test "a column both seq-scanned and a foreign key gets one CREATE INDEX naming both reasons" {
	run advice '.table == "public.orders" and .statement != null'
	assert_success
	assert_equal "$(wc -l <<<"$output")" 1
	run jq -r '.statement, (.reasons | join(",")), .evidence.foreign_key.constraint, .confidence' <<<"$output"
	assert_output "$(printf '%s\n' 'CREATE INDEX CONCURRENTLY ON public.orders (big_id)' seq_scan,fk_without_index orders_big_id_fkey high)"
	run jq -r 'select(.type == "index_advice" and .statement != null) | [.table, (.columns | join(","))] | @tsv' \
		"$BATS_FILE_TMPDIR/advice.ndjson"
	assert_equal "$(sort <<<"$output" | uniq -d)" ""
}

@test "a pg_monitor-only role is told it lacks SELECT on the table, not that no query filters it" {
	run timeout 120 pgx-poll -d "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=mononly dbname=postgres" --advice
	assert_success
	out="$output"
	run jq -r 'select(.type == "index_advice" and .table == "public.big" and .kind == "seq_scan") | .evidence.note' <<<"$out"
	assert_output 'permission denied: role "mononly" lacks SELECT on public.big, which planning its queries needs (GRANT SELECT on it, or pg_read_all_data on PostgreSQL 14 and later)'
	run jq -r 'select(.type == "advice") | [.status, (.missing[] | select(.what == "table privileges") | .why | startswith("permission denied"))] | @tsv' <<<"$out"
	assert_output "$(printf 'degraded\ttrue')"
	refute_output --partial 'no top pg_stat_statements query filters'
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
