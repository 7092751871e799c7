#!/usr/bin/env bats
# pgx-poll storage, maintenance and replication sections on a real cluster:
# vacuum, sizes, indexes, bloat, wraparound, sequences, partitions, replication.

load test_helper
load poll_helper
load poll_storage_helper

setup_file() {
	load test_helper
	pg_start
	psql_q >/dev/null <<-'SQL'
	CREATE ROLE mon LOGIN;
	GRANT pg_monitor TO mon;
	-- vacuum: 400 of 1000 rows deleted, autovacuum off for the table
	CREATE TABLE dead_rows (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false);
	INSERT INTO dead_rows SELECT g, 'v' FROM generate_series(1, 1000) g;
	DELETE FROM dead_rows WHERE id <= 400;
	-- indexes: one never used, two identical, a unique one never scanned
	CREATE TABLE items (id int PRIMARY KEY, code text, qty int);
	INSERT INTO items SELECT g, 'c' || g, g % 10 FROM generate_series(1, 2000) g;
	CREATE INDEX items_qty_unused ON items (qty);
	CREATE INDEX items_code_a ON items (code);
	CREATE INDEX items_code_b ON items (code);
	CREATE UNIQUE INDEX items_code_id_uniq ON items (code, id);
	CREATE TABLE dupvals (v int);
	INSERT INTO dupvals VALUES (1), (1);
	-- sequences: a smallint one near its end (readable by mon), one hidden from mon
	CREATE SEQUENCE order_no AS smallint;
	SELECT setval('order_no', 32000);
	GRANT SELECT ON SEQUENCE order_no TO mon;
	CREATE SEQUENCE secret_seq;
	SELECT nextval('secret_seq');
	-- partitions: March missing by date, 2000..5000 missing by id
	CREATE TABLE events (at date NOT NULL, v int) PARTITION BY RANGE (at);
	CREATE TABLE events_2024_01 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
	CREATE TABLE events_2024_02 PARTITION OF events FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
	CREATE TABLE events_2024_04 PARTITION OF events FOR VALUES FROM ('2024-04-01') TO ('2024-05-01');
	CREATE TABLE events_default PARTITION OF events DEFAULT;
	CREATE TABLE readings (id bigint NOT NULL, v int) PARTITION BY RANGE (id);
	CREATE TABLE readings_0 PARTITION OF readings FOR VALUES FROM (0) TO (1000);
	CREATE TABLE readings_1 PARTITION OF readings FOR VALUES FROM (1000) TO (2000);
	CREATE TABLE readings_5 PARTITION OF readings FOR VALUES FROM (5000) TO (6000);
	-- bloat: half of a table deleted, readable by mon
	CREATE TABLE churn (id int, pad text) WITH (autovacuum_enabled = false);
	INSERT INTO churn SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g;
	DELETE FROM churn WHERE id % 2 = 0;
	GRANT SELECT ON churn TO mon;
	-- sizes: 30 more tables of growing size
	DO $$ BEGIN
		FOR i IN 1..30 LOOP
			EXECUTE format('CREATE TABLE filler_%s (a int, b text)', i);
			EXECUTE format('INSERT INTO filler_%s SELECT g, md5(g::text) FROM generate_series(1, %s) g',
				       i, i * 200);
		END LOOP;
	END $$;
	SQL
	# after the DELETE's statistics are flushed (its session ended)
	psql_q -c "ANALYZE churn" -c "ANALYZE items" >/dev/null
	for i in $(seq 30); do echo "ANALYZE filler_$i;"; done | psql_q >/dev/null
	psql_q -c "CREATE UNIQUE INDEX CONCURRENTLY dupvals_v_invalid ON dupvals (v)" >/dev/null 2>&1 || true
	export MON_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=mon dbname=postgres"
	export SU_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=postgres dbname=postgres"
}

teardown_file() {
	pg_stop
}

setup() {
	HOLD_PIDS=() HOLD_FDS=()
}

teardown() {
	release_sessions
	replica_stop
}

@test "vacuum shows a table's dead tuples with the right dead_pct and autovacuum off" {
	poll_section "$MON_DSN" vacuum
	assert_success
	rec="$(section_record vacuum)"
	jq_true "$rec" '.status == "ok" and .db == "postgres"'
	t="$(jq -c '.tables[] | select(.relation == "public.dead_rows")' <<<"$rec")"
	[ -n "$t" ] || fail "public.dead_rows not in $rec"
	jq_true "$t" '.n_dead_tup == 400 and .n_live_tup == 600 and .dead_pct == 40'
	jq_true "$t" '.autovacuum_enabled == false and .last_autovacuum_ts == null'
	# sorted by dead tuples; dead_rows was never analyzed: its statistics are stale
	jq_true "$rec" '[.tables[].n_dead_tup] == ([.tables[].n_dead_tup] | sort | reverse)'
	jq_true "$rec" '.stale_stats | any(.relation == "public.dead_rows" and .n_mod_since_analyze >= 1400)'
	jq_true "$rec" '.running | type == "array"'
	jq_true "$rec" '.other.count >= 0'
}

@test "indexes lists the never-used index but no primary key or unique index, with the stats age" {
	poll_section "$MON_DSN" indexes
	assert_success
	rec="$(section_record indexes)"
	jq_true "$rec" '.status == "ok"'
	jq_true "$rec" '.unused | any(.index == "public.items_qty_unused" and .relation == "public.items"
		and .idx_scan_total == 0 and .bytes > 0 and .stats_age_s > 0)'
	jq_true "$rec" '.unused | all(.index != "public.items_pkey" and .index != "public.items_code_id_uniq")'
	jq_true "$rec" '.stats_age_s > 0'
}

@test "two indexes on the same columns are reported as one duplicate pair" {
	poll_section "$MON_DSN" indexes
	assert_success
	rec="$(section_record indexes)"
	jq_true "$rec" '.duplicate == [{"indexes": ["public.items_code_a", "public.items_code_b"],
		"relation": "public.items", "bytes": .duplicate[0].bytes}]'
	jq_true "$rec" '.duplicate[0].bytes > 0'
}

@test "an index left by a failed CREATE UNIQUE INDEX CONCURRENTLY is reported invalid" {
	[ "$(psql_q -c "SELECT indisvalid FROM pg_index WHERE indexrelid = 'dupvals_v_invalid'::regclass")" = f ]
	poll_section "$MON_DSN" indexes
	assert_success
	rec="$(section_record indexes)"
	jq_true "$rec" '.invalid | map(.index) == ["public.dupvals_v_invalid"]'
	jq_true "$rec" '.invalid[0].relation == "public.dupvals"'
	jq_true "$rec" '.unused | all(.index != "public.dupvals_v_invalid")'
}

@test "a smallint sequence set near its maximum comes first with its used_pct" {
	poll_section "$SU_DSN" sequences --allow-privileged
	assert_success
	rec="$(section_record sequences)"
	jq_true "$rec" '.status == "ok"'
	jq_true "$rec" '.items[0] | .sequence == "public.order_no" and .data_type == "smallint"
		and .last_value == 32000 and .max_value == 32767 and .limit_value == 32767
		and .remaining_values == 767 and .used_pct == 97.66'
}

@test "partitions shows strategy, oldest, newest, the default partition and the gaps" {
	poll_section "$MON_DSN" partitions
	assert_success
	rec="$(section_record partitions)"
	jq_true "$rec" '.status == "ok"'
	ev="$(jq -c '.parents[] | select(.parent == "public.events")' <<<"$rec")"
	jq_true "$ev" '.strategy == "range" and .partitions == 4 and .default_partition == "public.events_default"'
	jq_true "$ev" '.oldest == "public.events_2024_01" and .newest == "public.events_2024_04"'
	jq_true "$ev" '.gaps == [{"after": "public.events_2024_02", "before": "public.events_2024_04",
		"from": "2024-03-01", "to": "2024-04-01"}] and .gaps_count == 1'
	rd="$(jq -c '.parents[] | select(.parent == "public.readings")' <<<"$rec")"
	jq_true "$rd" '.gaps == [{"after": "public.readings_1", "before": "public.readings_5",
		"from": "2000", "to": "5000"}] and .default_partition == null'
}

@test "wraparound reports xid and multixact ages per database and the worst tables" {
	poll_section "$MON_DSN" wraparound
	assert_success
	rec="$(section_record wraparound)"
	jq_true "$rec" '.status == "ok" and .autovacuum_freeze_max_age == 200000000'
	jq_true "$rec" '[.databases[].datname] | contains(["postgres", "template0", "template1"])'
	jq_true "$rec" '.databases | all(.xid_age > 0 and .xid_age < 2147483648 and .mxid_age >= 0
		and .pct_to_wraparound >= 0 and .pct_to_wraparound < 100)'
	now_age="$(psql_q -c "SELECT age(datfrozenxid) FROM pg_database WHERE datname = 'postgres'")"
	jq_true "$rec" ".databases[] | select(.datname == \"postgres\") | .xid_age <= $now_age + 10"
	jq_true "$rec" '(.worst_tables | length) > 0 and ([.worst_tables[].xid_age] == ([.worst_tables[].xid_age] | sort | reverse))'
}

@test "wraparound names a TOAST table after its table, also after a rewrite, and counts the rest" {
	psql_q -c "CREATE TABLE toasty (id int, doc text)" -c "VACUUM FULL toasty" >/dev/null
	poll_section "$MON_DSN" wraparound --top 100000
	assert_success
	rec="$(section_record wraparound)"
	jq_true "$rec" '[.worst_tables[] | select(.relation == "public.toasty") | .relkind] | sort == ["r", "t"]'
	jq_true "$rec" '[.worst_tables[] | select(.relation | startswith("pg_toast."))] == [] and .other.count == 0'
	n="$(psql_q -c "SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'm', 't') AND relfrozenxid <> '0'")"
	poll_section "$MON_DSN" wraparound --top 3
	jq_true "$(section_record wraparound)" "(.worst_tables | length) == 3 and .other.count == $n - 3"
}

@test "sizes keeps the Top-N tables sized and rolls the rest into other" {
	poll_section "$MON_DSN" sizes --top 5
	assert_success
	rec="$(section_record sizes)"
	jq_true "$rec" '.status == "ok" and (.tables | length) == 5 and (.indexes | length) == 5'
	jq_true "$rec" '[.tables[].relation] | contains(["public.filler_30", "public.filler_29"])'
	jq_true "$rec" '.tables | all(.relation != "public.filler_1")'
	jq_true "$rec" '.tables | all(.total_bytes >= .table_bytes and .table_bytes > 0)'
	jq_true "$rec" '[.tables[].total_bytes] == ([.tables[].total_bytes] | sort | reverse)'
	n="$(psql_q -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm') AND n.nspname = 'public'")"
	jq_true "$rec" ".other.count == $n - 5 and .other.relpages > 0 and .skipped == []"
}

@test "a relation with an AccessExclusiveLock waiting is skipped, not waited on" {
	hold_session "BEGIN; SELECT count(*) FROM filler_7;"
	wait_for 10 "SELECT count(*) FROM pg_locks WHERE relation = 'filler_7'::regclass AND granted" 1
	hold_session "ALTER TABLE filler_7 ADD COLUMN z int;"
	wait_for 10 "SELECT count(*) FROM pg_locks WHERE relation = 'filler_7'::regclass
		AND mode = 'AccessExclusiveLock' AND NOT granted" 1
	start=$(date +%s.%N)
	poll_section "$MON_DSN" sizes,indexes,partitions,sequences --lock-timeout 20000
	elapsed=$(echo "$(date +%s.%N) - $start" | bc)
	assert_success
	echo "$elapsed < 20" | bc | grep -qx 1 || fail "poll took $elapsed s: it waited for the lock (lock timeout 20 s)"
	rec="$(section_record sizes)"
	jq_true "$rec" '.status == "ok"'
	jq_true "$rec" '.skipped == [{"relation": "public.filler_7", "why": "exclusive lock held or waiting"}]'
	jq_true "$rec" '.tables | all(.relation != "public.filler_7")'
	for s in indexes partitions; do
		jq_true "$(section_record $s)" '.status == "ok"'
	done
	jq_true "$(section_record sequences)" '.status == "degraded" and .items[0].used_pct == 97.66'

}

@test "a streaming replica shows on the primary with its lag, and the replica polls as a standby" {
	replica_start
	# streaming, and the replica has reported where it wrote, flushed and replayed
	wait_for 30 "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'
		AND write_lsn IS NOT NULL AND flush_lsn IS NOT NULL AND replay_lsn IS NOT NULL" 1
	poll_section "$MON_DSN" replication
	assert_success
	rec="$(section_record replication)"
	jq_true "$rec" '.status == "ok" and .role == "primary" and (.replicas | length) == 1'
	jq_true "$rec" '.replicas[0] | .state == "streaming" and .sync_state == "async"
		and (.sent_lag_bytes | type) == "number" and (.replay_lag_bytes | type) == "number"
		and has("write_lag_s") and has("flush_lag_s") and has("replay_lag_s")
		and (.replay_lsn | test("^[0-9A-F]+/[0-9A-F]+$"))'
	jq_true "$rec" '.slots | any(.slot_name == "pollst_replica" and .slot_type == "physical"
		and .active and .wal_status == "reserved" and .retained_bytes >= 0)'

	psql_q -c "CREATE TABLE after_replica (x int)" >/dev/null
	lsn="$(psql_q -c "SELECT pg_current_wal_lsn()")"
	# The replica has replayed past $lsn and all it received; a background WAL
	# record of the primary (a standby snapshot) may still arrive, so poll until
	# pgx-poll itself sees the replica caught up.
	local deadline=$((SECONDS + 30))
	until [ "$(psql_q -h "$REPLICA_DIR" -p "$REPLICA_PORT" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'
			AND pg_last_wal_replay_lsn() = pg_last_wal_receive_lsn()")" = t ] &&
		poll_section "$REPLICA_DSN" replication && [ "$status" = 0 ] && rec="$(section_record replication)" &&
		jq -e '.caught_up' <<<"$rec" >/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || fail "the replica did not catch up in 30 s: $rec"
		sleep 0.1
	done
	jq_true "$rec" '.status == "ok" and .role == "standby" and .wal_receiver_status == "streaming"'
	jq_true "$rec" '(.receive_lsn | test("^[0-9A-F]+/[0-9A-F]+$")) and (.replay_lsn | test("^[0-9A-F]+/[0-9A-F]+$"))'
	jq_true "$rec" '.caught_up == true and .replay_lag_bytes == 0 and .replay_lag_s == 0'
	jq_true "$rec" '.last_replay_ts > 0'
}

@test "a primary and its streaming standby share the cluster fingerprint (system identifier) and differ in node_fingerprint" {
	replica_start
	wait_for 30 "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 1
	poll_section "$MON_DSN" identity
	assert_success
	primary="$(section_record identity)"
	poll_section "$REPLICA_DSN" identity
	assert_success
	standby="$(section_record identity)"
	sysid="$(as_pg_owner "$PG_BINDIR/pg_controldata" "$PGX_PG_DIR/data" | awk -F': *' '/system identifier/ {print $2}')"
	jq_true "$primary" '.role == "primary" and .fingerprint_source == "system_identifier"'
	jq_true "$standby" '.role == "standby" and .fingerprint_source == "system_identifier"'
	assert_equal "$(jq -r .system_identifier <<<"$standby")" "$sysid"
	assert_equal "$(jq -r .fingerprint <<<"$primary")" "$(printf %s "$sysid" | md5sum | cut -d' ' -f1)"
	assert_equal "$(jq -r .fingerprint <<<"$standby")" "$(jq -r .fingerprint <<<"$primary")"
	[ "$(jq -r .node_fingerprint <<<"$standby")" != "$(jq -r .node_fingerprint <<<"$primary")" ] ||
		fail "the standby has the primary's node_fingerprint"
	# a node's identity is stable from one snapshot to the next
	poll_section "$REPLICA_DSN" identity
	assert_equal "$(section_record identity | jq -r .node_fingerprint)" "$(jq -r .node_fingerprint <<<"$standby")"
}

@test "a cluster of its own (another initdb) has another fingerprint" {
	local other port
	other="$(mktemp -d /tmp/pgx-other.XXXXXX)"
	port="$(free_port)"
	chmod 755 "$other"
	[ "$(id -u)" = 0 ] && chown postgres: "$other"
	as_pg_owner "$PG_BINDIR/initdb" -D "$other/data" -U postgres -A trust --no-sync >/dev/null 2>&1
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$other/data" -l "$other/log" -w -t 60 \
		-o "-c listen_addresses='' -c port=$port -c unix_socket_directories=$other" start >/dev/null
	run --separate-stderr timeout 60 pgx-poll -d "host=$other port=$port user=postgres dbname=postgres" \
		-s identity --allow-privileged
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$other/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$other"
	assert_success
	theirs="$(section_record identity)"
	poll_section "$MON_DSN" identity
	ours="$(section_record identity)"
	[ "$(jq -r .fingerprint <<<"$theirs")" != "$(jq -r .fingerprint <<<"$ours")" ] || fail "one fingerprint for two clusters"
	[ "$(jq -r .node_fingerprint <<<"$theirs")" != "$(jq -r .node_fingerprint <<<"$ours")" ] || fail "one node_fingerprint for two nodes"
}

@test "a pg_monitor role gets bloat and sequences degraded with a reason, not zeros" {
	poll_section "$MON_DSN" bloat,sequences
	assert_success
	rec="$(section_record bloat)"
	jq_true "$rec" '.status == "degraded" and .unreadable_tables > 0'
	jq_true "$rec" '.missing[0].what == "bloat" and (.missing[0].why | test("not readable"))'
	# only the table mon may read is estimated; none of the others shows as 0
	jq_true "$rec" '[.tables[].relation] == ["public.churn"] and .tables[0].bloat_pct > 20'
	rec="$(section_record sequences)"
	jq_true "$rec" '.status == "degraded" and .unreadable_sequences == 1'
	jq_true "$rec" '.missing[0].what == "sequences" and (.missing[0].why | test("hidden"))'
	jq_true "$rec" '[.items[].sequence] == ["public.order_no"]'

	# the same as a superuser: every table estimated, nothing missing
	poll_section "$SU_DSN" bloat,sequences --allow-privileged
	assert_success
	jq_true "$(section_record bloat)" '.status == "ok" and .unreadable_tables == 0
		and (.tables | any(.relation == "public.items"))'
	jq_true "$(section_record sequences)" '.status == "ok" and (.items | any(.sequence == "public.secret_seq" and .last_value == 1))'
}

@test "prereqs prints the GRANTs a pg_monitor-only role lacks; run as printed, bloat and sequences are no longer degraded" {
	psql_q -c "CREATE ROLE fresh LOGIN" -c "GRANT pg_monitor TO fresh" -c "CREATE ROLE bare LOGIN" >/dev/null
	fresh="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=fresh dbname=postgres"
	poll_section "$fresh" prereqs,bloat,sequences
	assert_success
	jq_true "$(section_record bloat)" '.status == "degraded"
		and (.missing[0].why | endswith("; GRANT SELECT ON ALL TABLES IN SCHEMA public TO fresh;"))'
	jq_true "$(section_record sequences)" '.status == "degraded"
		and (.missing[0].why | endswith("; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO fresh;"))'
	grants="$(section_record prereqs | jq -r '.grants[] | [.section, .sql] | @tsv')"
	assert_equal "$grants" "$(printf '%s\t%s\n' \
		statements 'CREATE EXTENSION pg_stat_statements;' \
		bloat 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO fresh;' \
		sequences 'GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO fresh;')"
	# the DBA runs them as printed (the extension left out: other tests want
	# it absent); the role is still read-only, and sees it all
	grep -v EXTENSION <<<"$grants" | cut -f2 | psql_q -v ON_ERROR_STOP=1 >/dev/null
	poll_section "$fresh" prereqs,bloat,sequences
	assert_success
	jq_true "$(section_record bloat)" '.status == "ok" and .unreadable_tables == 0'
	jq_true "$(section_record sequences)" '.status == "ok" and .unreadable_sequences == 0
		and (.items | any(.sequence == "public.secret_seq" and .last_value == 1))'
	jq_true "$(section_record prereqs)" '[.grants[].section] == ["statements"]'
	# a role without pg_monitor is told to get it first
	poll_section "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=bare dbname=postgres" prereqs
	assert_success
	jq_true "$(section_record prereqs)" '.grants[0].sql == "GRANT pg_monitor TO bare;"'
}

# make_tables DB FROM TO: tables t_FROM..t_TO with a primary key and a few rows.
make_tables() {
	local db="$1" from="$2" to="$3" i
	for ((i = from; i <= to; i += 100)); do
		echo "DO \$\$ BEGIN FOR i IN $i..$((i + 99 < to ? i + 99 : to)) LOOP
			EXECUTE format('CREATE TABLE t_%s (id int PRIMARY KEY, v text)', i);
			EXECUTE format('INSERT INTO t_%s SELECT g, ''x'' FROM generate_series(1, %s) g', i, i % 50 + 1);
		END LOOP; END \$\$;"
	done | psql_q -d "$db" >/dev/null
	psql_q -d "$db" -c "ANALYZE" >/dev/null
}

@test "with --top 5 the records stay the same size from 200 to 2,000 tables" {
	psql_q -c "CREATE DATABASE many" >/dev/null
	make_tables many 1 200
	dsn="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=mon dbname=many"
	sections=vacuum,sizes,indexes,bloat,wraparound,sequences,partitions,replication
	run --separate-stderr timeout 60 pgx-poll -d "$dsn" --top 5 --sections "$sections"
	assert_success
	small="$(jq -c '{(.type): (tojson | length)}' <<<"$output" | jq -s add)"
	make_tables many 201 2000
	[ "$(psql_q -d many -c "SELECT count(*) FROM pg_class WHERE relname ~ '^t_[0-9]+$'")" = 2000 ]
	run --separate-stderr timeout 60 pgx-poll -d "$dsn" --top 5 --sections "$sections"
	assert_success
	big="$(jq -c '{(.type): (tojson | length)}' <<<"$output" | jq -s add)"
	# a few bytes for longer names and wider numbers, nothing per table
	jq -e -n --argjson s "$small" --argjson b "$big" \
		'$b | to_entries | all(.value <= ($s[.key] + 200) and .value < 8192)' >/dev/null ||
		fail "record sizes grew with the table count: 200 tables $small, 2000 tables $big"
	jq -e '.other.count >= 1995 and (.tables | length) == 5' <<<"$(section_record sizes)" >/dev/null ||
		fail "sizes: $(section_record sizes)"
}

@test "the SQL follows the server version: PostgreSQL 17's dead-item columns, no wal_status before 13" {
	run pgx-poll --print-sql --server-version 170000 --sections vacuum
	assert_success
	jq_true "$output" '.text | test("p.num_dead_item_ids") and test("p.dead_tuple_bytes")
		and (test("num_dead_tuples") | not)'
	run pgx-poll --print-sql --server-version 120000 --sections vacuum,replication
	assert_success
	vac="$(jq -c 'select(.section == "vacuum")' <<<"$output")"
	jq_true "$vac" '.text | test("p.num_dead_tuples") and (test("dead_tuple_bytes AS") | not)'
	rep="$(jq -c 'select(.section == "replication")' <<<"$output")"
	jq_true "$rep" '.text | test("wal_status AS") | not'
}

@test "the SQL built for PostgreSQL 12 to 16 runs on this server as pg_monitor" {
	sections=vacuum,sizes,indexes,bloat,wraparound,sequences,partitions,replication
	for v in 120000 130000 140000 150000 160000; do
		run pgx-poll --print-sql --server-version "$v" --sections "$sections"
		assert_success
		[ "$(jq -s 'map(select(.type == "sql" and .text != null)) | length' <<<"$output")" = 8 ] ||
			fail "not 8 sections' SQL for $v: $output"
		while IFS= read -r text; do
			printf 'PREPARE q(bigint, int) AS %s;\nEXECUTE q(5, 100);\n' "$text" |
				psql_q -d "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=mon dbname=postgres" >/dev/null ||
				fail "server_version $v: this query fails here: $text"
		done < <(jq -r 'select(.type == "sql") | .text | split("\n;\n")[] | gsub("\n"; " ")' <<<"$output")
	done
}
