#!/usr/bin/env bats
# pgx-report health outputs: Prometheus text, alerts with notifications,
# HTML, table, JSON and diff of pgx-poll snapshots.  Fixture:
# test/fixtures/health/snapshot.ndjson (gen.py there); the end-to-end tests
# run the real pgx-poll on a throwaway PostgreSQL, a real Alertmanager and a
# webhook receiver on 127.0.0.1.  PGX_HEALTH_ARTIFACTS=DIR keeps the
# Chromium screenshot and the HTML page there (default: the test's temp dir).

load test_helper
load health_helper
load poll_helper

F="$PGX_FIXTURES/health/snapshot.ndjson"

teardown() {
	hook_stop
	am_stop
	[ -n "${BLOCKER_PIDS:-}" ] && kill $BLOCKER_PIDS 2>/dev/null
	pg_stop
	[ -n "${ARCHIVE_DIR:-}" ] && rm -rf "$ARCHIVE_DIR"
	[ -n "${PGB_DIR:-}" ] && pgbouncer_stop
	return 0
}

# A directory the server (another user) can archive WAL into: ARCHIVE_DIR
archive_dir() {
	ARCHIVE_DIR="$(mktemp -d /tmp/pgx-archive.XXXXXX)"
	chmod 777 "$ARCHIVE_DIR"
}

# pg_start, plus a monitoring role for pgx-poll (it refuses a superuser).
pg_start_monitored() {
	pg_start "$@"
	psql_q -c "CREATE ROLE monitor LOGIN; GRANT pg_monitor TO monitor" >/dev/null
	MONITOR_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=monitor dbname=postgres"
}

poll() {
	timeout 60 pgx-poll -d "$MONITOR_DSN" "$@"
}

# The fixture with its timestamps moved by $1 seconds (a later sample).
shifted() {
	jq -c --argjson d "$1" 'if has("ts") then .ts += $d else . end' "$F"
}

@test "a full snapshot is Prometheus text that promtool checks without error or warning" {
	command -v promtool >/dev/null || skip "promtool not installed"
	run -0 pgx-report --format prom "$F"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/m.prom"
	run -0 promtool check metrics <"$BATS_TEST_TMPDIR/m.prom"
	assert_output ""
	run cat "$BATS_TEST_TMPDIR/m.prom"
	assert_line 'pg_connections{cluster="/tmp/pgx-fixture:5432"} 87'
	assert_line 'pg_stmt_calls_total{cluster="/tmp/pgx-fixture:5432",db="",queryid="other"} 90000'
	assert_line 'pg_relation_size_bytes{cluster="/tmp/pgx-fixture:5432",db="shop",relation="other",relkind=""} 104857600'
	assert_line 'pg_blocked_sessions{cluster="/tmp/pgx-fixture:5432"} 3'
	assert_line 'pgx_poll_duration_seconds{cluster="/tmp/pgx-fixture:5432",loop="once"} 0.183'
	assert_line '# TYPE pg_wal_bytes_written_total counter'
	# every family has HELP and TYPE; no SQL text, user name or pid as a label
	families="$(grep -v '^#' "$BATS_TEST_TMPDIR/m.prom" | sed 's/{.*//' | sort -u)"
	for fam in $families; do
		grep -q "^# HELP $fam " "$BATS_TEST_TMPDIR/m.prom" || fail "no HELP for $fam"
		grep -q "^# TYPE $fam " "$BATS_TEST_TMPDIR/m.prom" || fail "no TYPE for $fam"
	done
	refute_output --partial 'UPDATE invoices'
	refute_output --regexp '(pid|usename|user|query)="'
	refute_output --partial 'billing-worker'
}

@test "--top caps per-relation and per-query series and rolls the rest into other" {
	run -0 pgx-report --format prom --top 1 "$F"
	# shop: its top statement and the other one rolled up; the record's own rollup
	assert_equal "$(grep -c '^pg_stmt_calls_total{' <<<"$output")" 3
	assert_line 'pg_stmt_calls_total{cluster="/tmp/pgx-fixture:5432",db="shop",queryid="other"} 5400'
	assert_line 'pg_stmt_calls_total{cluster="/tmp/pgx-fixture:5432",db="",queryid="other"} 90000'
	assert_equal "$(grep -c '^pg_relation_size_bytes{' <<<"$output")" 2
}

@test "a real pgx-poll snapshot is promtool-clean Prometheus text with pgx-poll's own metrics" {
	command -v promtool >/dev/null || skip "promtool not installed"
	pg_start_monitored
	psql_q -c "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'x' FROM generate_series(1, 1000) g" >/dev/null
	poll >"$BATS_TEST_TMPDIR/snap.ndjson"
	run -0 pgx-report -f prom -o "$BATS_TEST_TMPDIR/pg.prom" "$BATS_TEST_TMPDIR/snap.ndjson"
	run -0 promtool check metrics <"$BATS_TEST_TMPDIR/pg.prom"
	assert_output ""
	run -0 cat "$BATS_TEST_TMPDIR/pg.prom"
	assert_line --regexp '^pgx_poll_last_success\{cluster="[^"]+",loop="once"\} 1$'
	assert_line --regexp '^pg_max_connections\{cluster="[^"]+"\} 100$'
	assert_line --regexp '^pg_relation_size_bytes\{cluster="[^"]+",db="postgres",relation="public.t",relkind="r"\} [0-9]+$'
}

@test "--output replaces the file atomically and a failed write leaves it alone" {
	echo "old" >"$BATS_TEST_TMPDIR/pgx.prom"
	run -0 pgx-report -f prom -o "$BATS_TEST_TMPDIR/pgx.prom" "$F"
	assert_output ""
	run grep -c '^pg_connections{' "$BATS_TEST_TMPDIR/pgx.prom"
	assert_output 1
	# no temp file left behind, readable by node_exporter (not 0600)
	assert_equal "$(ls -A "$BATS_TEST_TMPDIR" | grep -c '^\.pgx\.prom\.')" 0
	assert_equal "$(stat -c %a "$BATS_TEST_TMPDIR/pgx.prom")" "$(printf '%o' $((0666 & ~$(umask))))"
	run pgx-report -f prom -o "$BATS_TEST_TMPDIR/no/such/dir/pgx.prom" "$F"
	assert_failure 6
	assert_output --partial 'cannot write'
	# bad input: the old file stays
	run pgx-report -f prom -o "$BATS_TEST_TMPDIR/pgx.prom" /dev/null
	assert_failure 3
	assert_output --partial 'no pgx-poll record in /dev/null'
	run grep -c '^pg_connections{' "$BATS_TEST_TMPDIR/pgx.prom"
	assert_output 1
}

@test "-o writes a FIFO, a device node and a socket in place, and they stay what they were" {
	require_root "mknod"
	d="$BATS_TEST_TMPDIR"
	mkfifo "$d/fifo"
	mknod "$d/null" c 1 3
	ln -s null "$d/null-link"
	for fmt in prom html json; do
		timeout 30 cat "$d/fifo" >"$d/read.$fmt" &
		run -0 timeout 30 pgx-report -f "$fmt" -o "$d/fifo" "$F"
		wait $!
		[ -s "$d/read.$fmt" ] || fail "the reader of the FIFO got no $fmt"
		[ -p "$d/fifo" ] || fail "-f $fmt replaced the FIFO"
		run -0 pgx-report -f "$fmt" -o "$d/null" "$F"
		[ -c "$d/null" ] || fail "-f $fmt replaced the device node"
		run -0 pgx-report -f "$fmt" -o "$d/null-link" "$F"
		[ -L "$d/null-link" ] && [ -c "$d/null" ] || fail "-f $fmt replaced the link to a device"
	done
	grep -q '^pg_connections{' "$d/read.prom"
	grep -q '</html>' "$d/read.html"
	jq -e .cluster "$d/read.json" >/dev/null
	python3 - "$d/sock" "$F" <<-'PY'
	import socket, subprocess, sys
	s = socket.socket(socket.AF_UNIX)
	s.bind(sys.argv[1])
	s.listen(1)
	p = subprocess.Popen(["pgx-report", "-f", "prom", "-o", sys.argv[1], sys.argv[2]])
	c, _ = s.accept()
	c.settimeout(30)
	data = b"".join(iter(lambda: c.recv(65536), b""))
	assert p.wait(30) == 0 and b"pg_connections{" in data, "nothing read from the socket"
	PY
	[ -S "$d/sock" ] || fail "the socket was replaced"
}

@test "-o refuses a symbolic link to a file, a directory and an unwritable directory" {
	d="$BATS_TEST_TMPDIR"
	echo old >"$d/target"
	ln -s target "$d/link"
	for fmt in prom html json; do
		run pgx-report -f "$fmt" -o "$d/link" "$F"
		assert_failure 6
		assert_output "pgx-report: error: cannot write \"$d/link\": is a symbolic link; refusing to replace it"
		[ -L "$d/link" ] && [ "$(cat "$d/target")" = old ] || fail "-f $fmt touched the link or its target"
	done
	ln -s nowhere "$d/dangling"
	run pgx-report -f prom -o "$d/dangling" "$F"
	assert_failure 6
	[ -L "$d/dangling" ] && [ ! -e "$d/nowhere" ] || fail "created a file through a dangling link"
	mkdir "$d/dir"
	run pgx-report -f prom -o "$d/dir" "$F"
	assert_failure 6
	assert_output "pgx-report: error: cannot write \"$d/dir\": Is a directory"
	mkdir -m 755 "$d/ro"
	chmod 555 "$d/ro"
	chmod 755 "$d"
	if [ "$(id -u)" = 0 ]; then as=(runuser -u nobody --); else as=(); fi
	run "${as[@]}" "$PGX_BUILD/bin/pgx-report" -f prom -o "$d/ro/pgx.prom" "$F"
	assert_failure 6
	assert_output "pgx-report: error: cannot write \"$d/ro/pgx.prom\": Permission denied"
	assert_equal "$(ls -A "$d/ro")" ""
}

@test "a failed write names the -o file and leaves no temporary file" {
	require_root "mknod"
	d="$BATS_TEST_TMPDIR"
	mknod "$d/full" c 1 7
	for fmt in prom html json; do
		run pgx-report -f "$fmt" -o "$d/full" "$F"
		assert_failure 6
		assert_output "pgx-report: error: cannot write \"$d/full\": No space left on device"
		[ -c "$d/full" ] || fail "-f $fmt replaced the device node"
	done
	run pgx-report diff -f json -o "$d/full" "$F" "$F"
	assert_failure 6
	assert_output "pgx-report: error: cannot write \"$d/full\": No space left on device"
	assert_equal "$(ls -A "$d" | grep -c '^\.full\.')" 0
}

@test "the table of a health snapshot fits 80 columns and shows the seed's tables" {
	run -0 pgx-report "$F"
	assert_80_columns
	assert_line 'Connections:  87 of 100 (87%)'
	assert_line --partial 'root pid 4242 (idle in transaction, xact 40m12s)'
	assert_line --regexp '^  shop\.public\.events +2\.0M +800\.0k +28\.57'
	assert_line --regexp '^  standby_b +streaming'
	run -0 pgx-report -f table "$F"
	assert_output --partial 'Top queries (by total execution time)'
}

@test "a real snapshot's table and Prometheus text show checkpoints, WAL, archiving, slots, PgBouncer, sequences, partitions, invalid indexes and settings" {
	pg_start_monitored "-c archive_mode=on -c archive_command=false"
	psql_q -c "CREATE ROLE mon LOGIN" \
		-c "CREATE SEQUENCE small_seq AS smallint" -c "SELECT setval('small_seq', 30000)" \
		-c "GRANT SELECT ON small_seq TO monitor" \
		-c "CREATE TABLE m (d date) PARTITION BY RANGE (d)" \
		-c "CREATE TABLE m_2026_01 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')" \
		-c "CREATE TABLE dup (a int)" -c "INSERT INTO dup VALUES (1), (1)" \
		-c "SELECT pg_create_physical_replication_slot('idle_slot', true)" \
		-c "ALTER SYSTEM SET work_mem = '12MB'" -c "SELECT pg_reload_conf()" >/dev/null
	psql_q -c "CREATE UNIQUE INDEX CONCURRENTLY dup_a ON dup (a)" 2>/dev/null && fail "the index was built"
	psql_q -c "SELECT pg_switch_wal()" >/dev/null
	for i in $(seq 100); do
		[ "$(psql_q -c 'SELECT failed_count > 0 FROM pg_stat_archiver')" = t ] && break
		sleep 0.1
	done
	pgbouncer_start
	"$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGB_PORT" -U mon -d postgres -c "SELECT 1" >/dev/null
	poll --pgbouncer "host=127.0.0.1 port=$PGB_PORT dbname=pgbouncer user=mon" >"$BATS_TEST_TMPDIR/s.ndjson"
	run -0 pgx-report "$BATS_TEST_TMPDIR/s.ndjson"
	assert_80_columns
	assert_line --regexp '^  checkpoints: [0-9]+ timed, [0-9]+ requested; write '
	if [ "$PGX_TEST_PG_VERSION" -ge 14 ]; then
		assert_line --regexp '^  WAL: [0-9.]+ [kMG]?B, [0-9.k]+ records, '
	else	# no pg_stat_wal before 14: its counters are null
		assert_line '  WAL: -, - records, - full-page images, - buffers full'
	fi
	assert_line --regexp '^  archive_mode on: 0 archived, last none \(never\)$'
	assert_line --regexp '^  [1-9][0-9]* failed, last 0000000100000000000000[0-9A-F]{2} \('
	assert_line --regexp '^  idle_slot +physical +no +reserved '
	assert_line --regexp '^  postgres +session +[0-9]+ +0 +[0-9]+ +[0-9]+ +0\.00s$'
	assert_line --regexp '^  postgres\.public\.small_seq +smallint +91\.56% used$'
	assert_line '  postgres.public.m: range, 1 partitions, 0 B'
	assert_line --regexp '^  invalid index postgres\.public\.dup_a on public\.dup, '
	assert_line '  work_mem = 12MB (configuration file)'
	assert_line '  archive_command = false (command line)'
	# a pg_monitor role: what would give the degraded sections their data
	assert_line '  GRANT SELECT ON ALL TABLES IN SCHEMA public TO monitor; -- bloat'
	assert_line '  CREATE EXTENSION pg_stat_statements; -- statements'
	refute_line --partial 'statement_timeout'	# pgx's own session setting
	refute_line --partial 'max_connections'	# initdb's line with the built-in value
	run -0 pgx-report -f prom "$BATS_TEST_TMPDIR/s.ndjson"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/m.prom"
	c="cluster=\"$PGX_PG_SOCKDIR:$PGX_PG_PORT\""
	assert_line --regexp "^pg_checkpoints_timed_total\\{$c\\} [0-9]+$"
	if [ "$PGX_TEST_PG_VERSION" -ge 14 ]; then
		assert_line --regexp "^pg_wal_bytes_written_total\\{$c\\} [0-9]+$"
	else
		refute_line --partial 'pg_wal_bytes_written_total'
	fi
	assert_line --regexp "^pg_archiver_failed_total\\{$c\\} [1-9][0-9]*$"
	assert_line --regexp "^pg_replication_slot_retained_bytes\\{$c,slot=\"idle_slot\"\\} [0-9]+$"
	assert_line "pgbouncer_pools_client_waiting_connections{$c,database=\"postgres\"} 0"
	assert_line "pgbouncer_pools_client_maxwait_seconds{$c,database=\"postgres\"} 0"
	assert_line --regexp "^pgbouncer_stats_queries_pooled_total\\{$c,database=\"postgres\"\\} [1-9][0-9]*$"
	assert_line "pg_sequence_used_ratio{$c,db=\"postgres\",sequence=\"public.small_seq\"} 0.9156"
	assert_line "pg_partitions{$c,db=\"postgres\",parent=\"public.m\"} 1"
	assert_line "pg_indexes_invalid{$c,db=\"postgres\"} 1"
	assert_line "pg_setting{$c,name=\"work_mem\",unit=\"kB\"} 12288"
	refute_line --partial 'name="statement_timeout"'
	if command -v promtool >/dev/null; then
		run -0 promtool check metrics <"$BATS_TEST_TMPDIR/m.prom"
		assert_output ""
	fi
}

@test "the table of a quiet snapshot without archiving, slots or PgBouncer says so, and shows no empty lists" {
	pg_start_monitored
	poll >"$BATS_TEST_TMPDIR/s.ndjson"
	run -0 pgx-report "$BATS_TEST_TMPDIR/s.ndjson"
	assert_80_columns
	assert_line '  archive_mode off: 0 archived, last none (never)'
	refute_line 'Replication'
	refute_line 'PgBouncer pools'
	refute_line --partial 'invalid index'
	refute_line --partial '% used'
}

@test "json is one snapshot document holding every section" {
	run -0 pgx-report -f json "$F"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -c '[.type, .cluster, .sections.connections.total, .sections.vacuum.shop.tables[0].relation, (.sections.database | keys), .slow_queries[0].count, (.sql | has("locks"))]' <<<"$output")" \
		'["health_snapshot","/tmp/pgx-fixture:5432",87,"public.events",["postgres","shop"],42,true]'
}

@test "startup profiles still render: the record types decide which report" {
	run -0 pgx-report -f json "$PGX_FIXTURES/report/base.ndjson"
	assert_equal "$(jq -r '.total_s' <<<"$output")" 5
	run pgx-report -f prom "$PGX_FIXTURES/report/base.ndjson"
	assert_failure 3
	assert_output --partial 'no pgx-poll record'
	run pgx-report -f svg "$F"
	assert_failure 3
}

@test "the HTML page renders in headless Chromium with the snapshot's data in every panel" {
	command -v chromium >/dev/null || skip "chromium not installed"
	out="${PGX_HEALTH_ARTIFACTS:-$BATS_TEST_TMPDIR}"
	mkdir -p "$out"
	pgx-report alerts --alerts-only "$F" >"$BATS_TEST_TMPDIR/alerts.ndjson"
	run -0 pgx-report -f html -o "$out/health.html" "$F" "$BATS_TEST_TMPDIR/alerts.ndjson"
	# self-contained: no script, no external fetch
	run grep -Eic '<script|src=|<link|url\(|https?://' "$out/health.html"
	assert_output 0
	run -0 timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$BATS_TEST_TMPDIR/chr" \
		--dump-dom "file://$out/health.html"
	dom="$output"
	for panel in Overview "Connections and activity" Locks "Top queries" Autovacuum \
		"Storage and indexes" Partitions Replication Wraparound Alerts "Slow queries (server log)"; do
		grep -q "<h2>$panel</h2>" <<<"$dom" || fail "no panel $panel"
	done
	for text in '87 / 100' 'root pid 4242' '<b>pid 5003</b> waits 12.0s for AccessShareLock' \
		'public.events_payload_idx' 'measurements_2026_12' 'standby_b' '>75.06<' \
		'blocking_locks' '50.0 GiB' 'select * from orders where customer_id = ?' \
		'SELECT * FROM orders WHERE customer_id = $1 AND created_at &gt; $2 &lt;script&gt;'; do
		grep -qF -- "$text" <<<"$dom" || fail "the page lacks: $text"
	done
	grep -q '<summary>SQL: locks</summary><pre>select pid, pg_blocking_pids' <<<"$dom" || fail "no SQL block for locks"
	grep -q '<summary>SQL: activity</summary><p class="na">not recorded' <<<"$dom" || fail "no 'not recorded' for activity"
	run -0 timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$BATS_TEST_TMPDIR/chr" \
		--screenshot="$out/health.png" --window-size=1366,900 "file://$out/health.html"
	[ "$(head -c 8 "$out/health.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "no PNG screenshot"
	[ "$(stat -c %s "$out/health.png")" -gt 20000 ] || fail "screenshot too small"
}

@test "the alert catalog has every rule of the seed plus sequences, invalid indexes, archiving, slots and PgBouncer" {
	run -0 pgx-report alerts --list
	run jq -r '.name' <<<"$output"
	for rule in connection_saturation long_transaction idle_in_transaction blocking_locks \
		dead_tuple_backlog stale_stats autovacuum_starvation checkpoint_thrash wal_surge \
		temp_surge replication_lag xid_wraparound mxid_wraparound unused_indexes \
		sequence_exhaustion invalid_indexes archive_failing archive_stale slot_retained_wal \
		slot_wal_unreserved slot_wal_lost pgbouncer_clients_waiting pgbouncer_max_wait \
		pgbouncer_pool_saturation; do
		assert_line "$rule"
	done
}

@test "pgx-report(1) lists every rule of the catalog with its default thresholds" {
	man="$PGX_TEST_DIR/../man/pgx-report.1"
	run -0 pgx-report alerts --list
	# "warn >= 1, crit >= 30, for 5m:" as the man page words a rule
	run jq -r '[.name, .record,
		(if .op == ">" then "" else .op + " " end) as $op |
		(if .warn == null then "off" else $op + (.warn | tostring) end),
		(if .crit == null then "off" else $op + (.crit | tostring) end),
		(.for_s | if . == 0 then "" elif . % 3600 == 0 then ", for \(. / 3600)h"
			elif . % 60 == 0 then ", for \(. / 60)m" else ", for \(.)s" end)] | @tsv' <<<"$output"
	assert_success
	while IFS=$'\t' read -r name record warn crit for; do
		grep -A1 -x ".It Li $name Pq Li $record" "$man" | grep -qF "warn $warn, crit $crit$for:" ||
			fail "man/pgx-report.1: no '$name ($record): warn $warn, crit $crit$for:'"
	done <<<"$output"
	assert_equal "$(grep -c '^\.It Li [a-z_]* Pq Li [a-z_]*$' "$man")" "$(wc -l <<<"$output")"
}

@test "alerts pass the input through and add an alert record after the record that fires" {
	run -0 pgx-report alerts "$F"
	assert_equal "$(grep -vEc '"type":"alert(_summary)?"' <<<"$output")" "$(wc -l <"$F")"
	# the blocking_locks alert follows the locks record
	run -0 bash -c "pgx-report alerts '$F' | jq -r '.type + \" \" + (.rule // \"\")' | grep -A1 '^locks'"
	assert_line 'alert blocking_locks'
	run -0 pgx-report alerts --alerts-only "$F"
	assert_equal "$(jq -r 'select(.rule=="blocking_locks") | [.state, .severity, .value, .message] | @tsv' <<<"$output")" \
		"$(printf 'firing\tcritical\t184.5\t3 session(s) blocked 184.5s by pid 4242 (idle in transaction)')"
}

@test "thresholds come from the catalog, a user file and PGX_ALERT_<RULE>_<WARN|CRIT|FOR>" {
	cat >"$BATS_TEST_TMPDIR/mine.yaml" <<-'YML'
	rules:
	  - name: blocking_locks
	    crit: off
	    warn: 200
	  - name: sequence_exhaustion
	    enabled: false
	YML
	run -0 pgx-report alerts --alerts-only --alerts "$BATS_TEST_TMPDIR/mine.yaml" "$F"
	refute_output --partial '"rule":"blocking_locks"'
	refute_output --partial '"rule":"sequence_exhaustion"'
	PGX_ALERT_BLOCKING_LOCKS_WARN=100 run -0 pgx-report alerts --alerts-only --alerts "$BATS_TEST_TMPDIR/mine.yaml" "$F"
	assert_equal "$(jq -r 'select(.rule=="blocking_locks") | [.state, .severity, .threshold] | @tsv' <<<"$output")" "$(printf 'firing\twarning\t100')"
	PGX_ALERT_BLOCKING_LOCKS_FOR=5m run -0 pgx-report alerts --alerts-only "$F"
	assert_equal "$(jq -r 'select(.rule=="blocking_locks") | .state' <<<"$output")" pending
}

@test "a stream of samples: pending, then firing once 'for' has passed, resolved when it clears" {
	# connection_saturation has for: 2m; samples 60 s apart
	{
		cat "$F"
		shifted 60
		shifted 120
		shifted 180 | jq -c 'if .type=="connections" then .used_pct = 50 | .total = 50 else . end'
	} >"$BATS_TEST_TMPDIR/stream.ndjson"
	run -0 pgx-report alerts --alerts-only "$BATS_TEST_TMPDIR/stream.ndjson"
	assert_equal "$(jq -r 'select(.rule=="connection_saturation") | "\(.ts - 1795000000) \(.state)"' <<<"$output")" \
		"$(printf '0 pending\n120 firing\n180 resolved')"
	# a chain that ends resolves its alert
	{
		cat "$F"
		shifted 60 | jq -c 'if .type=="locks" then .trees = [] | .blocked_sessions = 0 else . end'
	} >"$BATS_TEST_TMPDIR/ends.ndjson"
	run -0 pgx-report alerts --alerts-only "$BATS_TEST_TMPDIR/ends.ndjson"
	assert_equal "$(jq -r 'select(.rule=="blocking_locks") | .state' <<<"$output")" "$(printf 'firing\nresolved')"
	# a locks section that failed resolves nothing
	{
		cat "$F"
		shifted 60 | jq -c 'if .type=="locks" then {type, ts, cluster, status: "error", missing: [{what: "locks", why: "canceling statement due to statement timeout"}]} else . end'
	} >"$BATS_TEST_TMPDIR/failed.ndjson"
	run -0 pgx-report alerts --alerts-only "$BATS_TEST_TMPDIR/failed.ndjson"
	assert_equal "$(jq -r 'select(.rule=="blocking_locks") | .state' <<<"$output")" firing
	# nor does one a timeout left degraded without its data (pgx-poll's
	# --statement-timeout): a list rule and a value rule alike
	{
		cat "$F"
		shifted 60 | jq -c 'if .type=="locks" or .type=="connections" then {type, ts, cluster,
			status: "degraded", missing: [{what: .type, why: "canceling statement due to statement timeout (SQLSTATE 57014) (--statement-timeout 20 ms)"}]} else . end'
	} >"$BATS_TEST_TMPDIR/timeout.ndjson"
	PGX_ALERT_CONNECTION_SATURATION_FOR=0 run -0 pgx-report alerts --alerts-only "$BATS_TEST_TMPDIR/timeout.ndjson"
	assert_equal "$(jq -r 'select(.rule=="blocking_locks" or .rule=="connection_saturation") | "\(.rule) \(.state)"' <<<"$output")" \
		"$(printf 'connection_saturation firing\nblocking_locks firing')"
}

@test "the state file carries 'for' timers across cron runs and --exit-status reports the worst" {
	st="$BATS_TEST_TMPDIR/state.json"
	run -1 pgx-report alerts --alerts-only --state "$st" --exit-status --alerts /dev/stdin "$F" <<-'YML'
	rules:
	  - name: long_transaction
	    enabled: false
	  - name: idle_in_transaction
	    enabled: false
	  - name: blocking_locks
	    enabled: false
	YML
	assert_equal "$(jq -r 'select(.rule=="connection_saturation") | .state' <<<"$output")" pending
	assert_equal "$(jq -r '.alerts | to_entries[] | select(.value.rule=="connection_saturation") | .value.state' "$st")" pending
	run -2 bash -c "jq -c 'if has(\"ts\") then .ts += 150 else . end' '$F' | pgx-report alerts --alerts-only --state '$st' --exit-status"
	assert_equal "$(jq -r 'select(.rule=="connection_saturation") | .state' <<<"$output")" firing
	# nothing new: no record, still firing
	run -2 bash -c "jq -c 'if has(\"ts\") then .ts += 160 else . end' '$F' | pgx-report alerts --alerts-only --state '$st' --exit-status"
	refute_output --partial connection_saturation
	# no snapshot is no verdict: UNKNOWN, not OK
	run -3 pgx-report alerts --exit-status --state "$BATS_TEST_TMPDIR/other.json" /dev/null
	assert_output --partial 'UNKNOWN: no pgx-poll snapshot in the input'
}

# The first pass of a --delta run is done once pgx-poll's session has been
# idle for a second: between the queries of a pass it is idle for moments.
wait_poll_idle() {
	local i
	for i in $(seq 1 300); do
		[ "$(psql_q -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'monitor' AND state = 'idle'
			AND now() - state_change > interval '1 s'")" = 1 ] && return 0
		sleep 0.1
	done
	fail "pgx-poll never went idle between its samples"
}

@test "--exit-status: a quiet cluster is OK (0); a server down, a refused role or a lost session is UNKNOWN (3), never OK" {
	pg_start_monitored
	run -0 --separate-stderr bash -c "timeout 60 pgx-poll -d '$MONITOR_DSN' | pgx-report alerts --alerts-only --exit-status"
	assert_output ""
	# nothing listens there: pgx-poll writes nothing and exits 4, which the pipeline loses
	run -3 --separate-stderr bash -c "timeout 60 pgx-poll -d 'host=$BATS_TEST_TMPDIR/nowhere' | pgx-report alerts --alerts-only --exit-status"
	assert_equal "$(tail -1 <<<"$stderr")" 'pgx-report: error: UNKNOWN: no pgx-poll snapshot in the input (no poll record)'
	# pgx-poll refuses a superuser (exit 5) and writes nothing
	run -3 --separate-stderr bash -c "timeout 60 pgx-poll -d '$PGX_PG_DSN' | pgx-report alerts --alerts-only --exit-status"
	grep -q 'is a superuser' <<<"$stderr" || fail "stderr: $stderr"
	assert_equal "$(tail -1 <<<"$stderr")" 'pgx-report: error: UNKNOWN: no pgx-poll snapshot in the input (no poll record)'
	# the server stops between the two samples of --delta: an error record, then the poll record
	timeout --foreground 60 pgx-poll -d "$MONITOR_DSN" --delta=10s >"$BATS_TEST_TMPDIR/lost.ndjson" 2>/dev/null 3>&- &
	poll_pid=$!
	wait_poll_idle
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PGX_PG_DIR/data" -m fast -w stop >/dev/null
	wait "$poll_pid" || true
	run -0 jq -r 'select(.type=="error") | .message' "$BATS_TEST_TMPDIR/lost.ndjson"
	assert_output 'connection lost between the samples'
	run -3 --separate-stderr pgx-report alerts --alerts-only --exit-status "$BATS_TEST_TMPDIR/lost.ndjson"
	assert_equal "$stderr" 'pgx-report: error: UNKNOWN: pgx-poll: connection lost between the samples'
}

@test "--exit-status: a section a rule reads that is degraded on the server is UNKNOWN unless a critical alert fires anyway" {
	pg_start_monitored
	# the monitoring role may not read this sequence: its use cannot be judged
	psql_q -c "CREATE SEQUENCE hidden_seq; SELECT nextval('hidden_seq')" >/dev/null
	run -3 --separate-stderr bash -c "timeout 60 pgx-poll -d '$MONITOR_DSN' | pgx-report alerts --exit-status >'$BATS_TEST_TMPDIR/out.ndjson'"
	assert_equal "$stderr" 'pgx-report: error: UNKNOWN: section sequences of postgres is degraded: last_value is hidden from this role for 1 sequence(s) (SELECT on them needed): their use is not reported; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO monitor;'
	run -0 jq -r 'select(.type=="alert_summary") | [.verdict, .firing] | @tsv' "$BATS_TEST_TMPDIR/out.ndjson"
	assert_output "$(printf 'unknown\t0')"
	psql_q -c "GRANT SELECT ON hidden_seq TO monitor" >/dev/null
	run -0 bash -c "timeout 60 pgx-poll -d '$MONITOR_DSN' | pgx-report alerts --alerts-only --exit-status"
	# a failed section beside a critical alert: CRITICAL stands
	{
		cat "$F"
		shifted 60 | jq -c 'if .type=="vacuum" then .status = "error" else . end'
	} >"$BATS_TEST_TMPDIR/partial.ndjson"
	run -2 --separate-stderr pgx-report alerts --alerts-only --exit-status "$BATS_TEST_TMPDIR/partial.ndjson"
	# only warnings: UNKNOWN, the failed section could hide a critical one
	run -3 --separate-stderr pgx-report alerts --alerts-only --exit-status "$BATS_TEST_TMPDIR/partial.ndjson" \
		--alerts /dev/stdin <<-'YML'
	rules:
	  - name: blocking_locks
	    crit: off
	  - name: idle_in_transaction
	    crit: off
	  - name: long_transaction
	    crit: off
	YML
	assert_equal "$stderr" 'pgx-report: error: UNKNOWN: section vacuum of shop is error'
}

@test "--exit-status: usage errors and a bad catalog are UNKNOWN (3), not CRITICAL" {
	run -3 pgx-report alerts --no-such-option --exit-status
	assert_output --partial "Try 'pgx-report alerts --help'"
	run -3 pgx-report alerts --exit-status --no-such-option
	PGX_ALERT_BLOCKING_LOCKS_WARN=lots run -3 pgx-report alerts --exit-status /dev/null
	assert_output --partial 'invalid value "lots" for PGX_ALERT_BLOCKING_LOCKS_WARN'
	run -2 pgx-report alerts --no-such-option
}

@test "the HTML page says alerts not evaluated without pgx-report alerts, and shows the verdict with it" {
	pg_start_monitored
	timeout 60 pgx-poll -d "$MONITOR_DSN" >"$BATS_TEST_TMPDIR/snap.ndjson"
	run -0 pgx-report -f html "$BATS_TEST_TMPDIR/snap.ndjson"
	assert_output --partial 'Alerts not evaluated'
	assert_output --partial '<div class=v>not evaluated</div><div class=l>alerts</div>'
	refute_output --partial 'alerts firing'
	# evaluated on a quiet cluster: 0 firing, said so
	pgx-report alerts "$BATS_TEST_TMPDIR/snap.ndjson" >"$BATS_TEST_TMPDIR/eval.ndjson"
	run -0 pgx-report -f html "$BATS_TEST_TMPDIR/eval.ndjson"
	assert_output --partial '<div class=v>0 (0 critical)</div><div class=l>alerts firing</div>'
	assert_output --partial 'No alert is pending or firing.'
	refute_output --partial 'not evaluated'
	# alert records as today
	pgx-report alerts "$F" >"$BATS_TEST_TMPDIR/fix.ndjson"
	run -0 pgx-report -f html "$BATS_TEST_TMPDIR/fix.ndjson"
	assert_output --regexp '<div class=v>[1-9][0-9]* \([1-9][0-9]* critical\)</div><div class=l>alerts firing</div>'
	# evaluated but blind (pgx-poll --interval lost the server): unknown, with the reason
	{
		echo '{"type":"error","ts":1795000060,"src":"pgx-poll","message":"cannot reconnect; next attempt in 1 s"}'
		jq -c 'select(.type=="poll") | .ts += 60 | .success = false | .sections = []' "$F"
	} >"$BATS_TEST_TMPDIR/blind.ndjson"
	run -0 bash -c "pgx-report alerts '$BATS_TEST_TMPDIR/blind.ndjson' | pgx-report -f html"
	assert_output --partial '<div class=v>unknown</div><div class=l>alerts</div>'
	assert_output --partial 'pgx-poll: cannot reconnect; next attempt in 1 s'
}

# Wait (10 s at most) until the SQL query $1 answers $2 (default t).
wait_sql() {
	local i
	for i in $(seq 1 100); do
		[ "$(psql_q -c "$1")" = "${2:-t}" ] && return 0
		sleep 0.1
	done
	fail "never true: $1"
}

# Rules with a `for` judged at once, so that a quiet result is not just a timer
export_for_zero() {
	export PGX_ALERT_AUTOVACUUM_STARVATION_FOR=0 PGX_ALERT_CHECKPOINT_THRASH_FOR=0 \
		PGX_ALERT_CONNECTION_SATURATION_FOR=0 PGX_ALERT_DEAD_TUPLE_BACKLOG_FOR=0
}

# A snapshot (pgx-poll $POLL_ARGS) through pgx-report alerts "$@"
polled() {
	poll $POLL_ARGS | pgx-report alerts "$@"
}

# Alert records of a rule as "state severity" lines
rule_states() {
	jq -r --arg r "$1" 'select(.type=="alert" and .rule==$r) | "\(.state) \(.severity)"' <<<"$output"
}

@test "a quiet cluster with working archiving, a small idle slot and vacuumed tables fires nothing (OK)" {
	archive_dir
	pg_start "-c archive_mode=on"
	# ten manual CHECKPOINTs right after the start: lifetime counters only
	for i in $(seq 1 10); do psql_q -c CHECKPOINT; done
	psql_q -c "CREATE ROLE monitor LOGIN; GRANT pg_monitor TO monitor" >/dev/null
	MONITOR_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=monitor dbname=postgres"
	psql_q -c "ALTER SYSTEM SET archive_command = 'cp %p $ARCHIVE_DIR/%f'" -c "SELECT pg_reload_conf()" >/dev/null
	psql_q -c "SELECT pg_create_physical_replication_slot('idle_slot', true)" >/dev/null
	psql_q -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 20000) g" -c "DELETE FROM t" -c "VACUUM t" \
		-c "SELECT pg_switch_wal()" >/dev/null
	wait_sql "SELECT archived_count > 0 FROM pg_stat_archiver"
	export_for_zero
	st="$BATS_TEST_TMPDIR/state.json"
	run -0 --separate-stderr polled --alerts-only --exit-status --state "$st"
	assert_output ""
	run -0 --separate-stderr polled --alerts-only --exit-status --state "$st"
	assert_output ""
	POLL_ARGS=--delta=1s run -0 --separate-stderr polled --exit-status
	assert_equal "$(jq -r 'select(.type=="alert_summary") | .verdict' <<<"$output")" ok
	assert_equal "$(jq -c 'select(.type=="alert")' <<<"$output")" ""
	assert_equal "$(jq -r 'select(.type=="checkpoints") | .checkpoints_req_total >= 10' <<<"$output")" true
}

@test "archive_command failing fires archive_failing; a stale last success fires archive_stale" {
	archive_dir
	pg_start "-c archive_mode=on"
	# in postgresql.auto.conf, not on the command line, so that it can change
	psql_q -c "ALTER SYSTEM SET archive_command = 'false'" -c "SELECT pg_reload_conf()" >/dev/null
	psql_q -c "CREATE ROLE monitor LOGIN; GRANT pg_monitor TO monitor" >/dev/null
	MONITOR_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=monitor dbname=postgres"
	psql_q -c "CREATE TABLE t (i int)" -c "INSERT INTO t VALUES (1)" -c "SELECT pg_switch_wal()" >/dev/null
	wait_sql "SELECT failed_count > 0 FROM pg_stat_archiver"
	# never archived: every failure since the stats reset counts
	run -0 --separate-stderr polled --alerts-only
	assert_equal "$(rule_states archive_failing | cut -d' ' -f1)" firing
	assert_equal "$(jq -r 'select(.rule=="archive_failing") | .value' <<<"$output")" \
		"$(psql_q -c "SELECT failed_count FROM pg_stat_archiver")"
	assert_output --partial 'since the last success (none at never); last failed 000000010000000000000001'
	# it works again: quiet
	psql_q -c "ALTER SYSTEM SET archive_command = 'cp %p $ARCHIVE_DIR/%f'" -c "SELECT pg_reload_conf()" >/dev/null
	psql_q -c "INSERT INTO t VALUES (2)" -c "SELECT pg_switch_wal()" >/dev/null
	wait_sql "SELECT archived_count > 0 AND last_archived_time > last_failed_time FROM pg_stat_archiver"
	st="$BATS_TEST_TMPDIR/state.json"
	run -0 --separate-stderr polled --alerts-only --exit-status --state "$st"
	assert_output ""
	# it fails again: counted from the sample that saw the last success
	psql_q -c "ALTER SYSTEM SET archive_command = 'false'" -c "SELECT pg_reload_conf()" >/dev/null
	psql_q -c "INSERT INTO t VALUES (3)" -c "SELECT pg_switch_wal()" >/dev/null
	wait_sql "SELECT last_failed_time > last_archived_time FROM pg_stat_archiver"
	failed="$(psql_q -c "SELECT failed_count FROM pg_stat_archiver")"
	PGX_ALERT_ARCHIVE_STALE_WARN=0 run -1 --separate-stderr polled --alerts-only --exit-status --state "$st"
	assert_equal "$(rule_states archive_stale)" "firing warning"
	assert_output --partial 'no WAL archived for'
	assert_equal "$(rule_states archive_failing)" "firing warning"
	run -0 jq -r 'select(.rule=="archive_failing") | .value >= 1' <<<"$output"
	assert_output true
}

@test "an inactive slot retaining WAL, then past max_slot_wal_keep_size, then lost fires its rules" {
	pg_start "-c max_slot_wal_keep_size=1MB"
	psql_q -c "CREATE ROLE monitor LOGIN; GRANT pg_monitor TO monitor" >/dev/null
	MONITOR_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=monitor dbname=postgres"
	psql_q -c "SELECT pg_create_physical_replication_slot('behind', true)" >/dev/null
	psql_q -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 100000) g" -c "SELECT pg_switch_wal()" >/dev/null
	wait_sql "SELECT wal_status FROM pg_replication_slots" unreserved
	export PGX_ALERT_SLOT_RETAINED_WAL_WARN=1048576
	run -1 --separate-stderr polled --alerts-only --exit-status
	assert_equal "$(rule_states slot_retained_wal)" "firing warning"
	assert_equal "$(rule_states slot_wal_unreserved)" "firing warning"
	assert_equal "$(rule_states slot_wal_lost)" ""
	assert_output --partial 'Slot behind (physical, inactive) retains'
	psql_q -c CHECKPOINT >/dev/null
	wait_sql "SELECT wal_status FROM pg_replication_slots" lost
	run -2 --separate-stderr polled --alerts-only --exit-status
	assert_equal "$(rule_states slot_wal_lost)" "firing critical"
	assert_output --partial 'Slot behind: wal_status lost'
	# the slot is gone: quiet
	psql_q -c "SELECT pg_drop_replication_slot('behind')" >/dev/null
	run -0 --separate-stderr polled --alerts-only --exit-status
	assert_output ""
}

@test "autovacuum_starvation fires for a table never vacuumed, and no longer once it is" {
	pg_start_monitored
	psql_q -c "CREATE TABLE never (g int) WITH (autovacuum_enabled = false)" \
		-c "INSERT INTO never SELECT generate_series(1, 20000)" -c "DELETE FROM never" >/dev/null
	wait_sql "SELECT n_dead_tup >= 20000 FROM pg_stat_user_tables WHERE relname = 'never'"
	# `for` (10m) holds it pending first
	run -0 --separate-stderr polled --alerts-only
	assert_equal "$(rule_states autovacuum_starvation)" "pending warning"
	export PGX_ALERT_AUTOVACUUM_STARVATION_FOR=0
	run -1 --separate-stderr polled --alerts-only --exit-status
	assert_equal "$(rule_states autovacuum_starvation)" "firing warning"
	assert_output --partial 'postgres.public.never: 20000 dead rows (100%), last vacuum never, last autovacuum never'
	psql_q -c "VACUUM never" >/dev/null
	wait_sql "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'never'"
	run -0 --separate-stderr polled --alerts-only --exit-status
	assert_output ""
}

@test "wal_surge fires on WAL written far above its rate between earlier samples, not on the lifetime counter" {
	pg_skip_below 14 "wal_surge (the WAL rate of pg_stat_wal)"
	pg_start_monitored
	psql_q -c "CREATE TABLE t (g int)" -c "INSERT INTO t SELECT generate_series(1, 300000)" >/dev/null
	st="$BATS_TEST_TMPDIR/state.json"
	export POLL_ARGS="-s wal"
	# a quiet baseline: the first sample, then three rates; the WAL written
	# before them (tens of MB) is in the lifetime counter only
	for i in 1 2 3 4; do
		run -0 --separate-stderr polled --alerts-only --exit-status --state "$st"
		assert_output ""
	done
	psql_q -c "INSERT INTO t SELECT generate_series(1, 1000000)" >/dev/null
	run -1 --separate-stderr polled --alerts-only --exit-status --state "$st"
	assert_equal "$(rule_states wal_surge)" "firing warning"
	assert_output --partial 'above baseline + 3 sigma'
	# quiet again: it resolves
	run -0 --separate-stderr polled --alerts-only --exit-status --state "$st"
	assert_equal "$(rule_states wal_surge | cut -d' ' -f1)" resolved
}

@test "checkpoint_thrash fires from requested checkpoints between samples (--delta or the state file)" {
	pg_start "-c max_wal_size=32MB -c min_wal_size=32MB"
	psql_q -c "CREATE ROLE monitor LOGIN; GRANT pg_monitor TO monitor" >/dev/null
	MONITOR_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=monitor dbname=postgres"
	psql_q -c "CREATE TABLE t (g int)" >/dev/null
	export PGX_ALERT_CHECKPOINT_THRASH_FOR=0
	# WAL written between the two samples of --delta forces checkpoints
	poll --delta=8s >"$BATS_TEST_TMPDIR/delta.ndjson" 3>&- &
	poll_pid=$!
	wait_poll_idle
	psql_q -c "INSERT INTO t SELECT generate_series(1, 1000000)" >/dev/null
	wait "$poll_pid"
	run -0 jq -r 'select(.type=="checkpoints") | .checkpoints_req_per_s > 0' "$BATS_TEST_TMPDIR/delta.ndjson"
	assert_output true
	run -2 --separate-stderr pgx-report alerts --alerts-only --exit-status "$BATS_TEST_TMPDIR/delta.ndjson"
	assert_equal "$(rule_states checkpoint_thrash)" "firing critical"
	assert_output --partial 'requested checkpoints per hour between samples'
	# the same from two cron runs and the state file
	st="$BATS_TEST_TMPDIR/state.json"
	run -0 --separate-stderr polled --alerts-only --exit-status --state "$st"
	psql_q -c "INSERT INTO t SELECT generate_series(1, 1000000)" >/dev/null
	run -2 --separate-stderr polled --alerts-only --exit-status --state "$st"
	assert_equal "$(rule_states checkpoint_thrash)" "firing critical"
	# nothing written since: the rate is 0, it resolves, though the lifetime counters stay high
	run -0 --separate-stderr polled --alerts-only --exit-status --state "$st"
	assert_equal "$(rule_states checkpoint_thrash | cut -d' ' -f1)" resolved
}

@test "PgBouncer clients queued behind a one-connection pool fire pgbouncer_clients_waiting, pgbouncer_max_wait and pgbouncer_pool_saturation" {
	pg_start_monitored
	psql_q -c "CREATE ROLE mon LOGIN" >/dev/null
	PGB_DB_OPTIONS="pool_size=1" pgbouncer_start
	pgb_polled() {
		poll -s pgbouncer --pgbouncer "host=127.0.0.1 port=$PGB_PORT dbname=pgbouncer user=mon" |
			pgx-report alerts --alerts-only --exit-status "$@"
	}
	"$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGB_PORT" -U mon -d postgres -c "SELECT 1" >/dev/null
	# the quiet pool: its one server connection idle, nobody waiting
	PGX_ALERT_PGBOUNCER_POOL_SATURATION_FOR=0 run -0 --separate-stderr pgb_polled
	assert_output ""
	run -0 poll -s pgbouncer --pgbouncer "host=127.0.0.1 port=$PGB_PORT dbname=pgbouncer user=mon"
	assert_equal "$(jq -c '.pools[]? | select(.database == "postgres") | [.pool_size, .saturation_pct]' <<<"$output")" '[1,0]'
	run -0 --separate-stderr pgb_polled
	# one client holds the only server connection, six queue behind it
	pgb_queue 7 2
	PGX_ALERT_PGBOUNCER_CLIENTS_WAITING_FOR=0 PGX_ALERT_PGBOUNCER_POOL_SATURATION_FOR=0 \
		run -2 --separate-stderr pgb_polled
	assert_equal "$(rule_states pgbouncer_clients_waiting)" "firing warning"
	assert_equal "$(rule_states pgbouncer_max_wait)" "firing warning"
	assert_equal "$(rule_states pgbouncer_pool_saturation)" "firing critical"
	assert_output --partial 'PgBouncer pool postgres: 100% of its server connections busy (1 active, pool_size 1 per user, 6 client(s) waiting)'
	assert_output --partial 'PgBouncer pool postgres: 6 client(s) waiting, 1 active'
	# `for` (1m) holds a queue that may be a burst pending
	run -1 --separate-stderr pgb_polled
	assert_equal "$(rule_states pgbouncer_clients_waiting)" "pending warning"
}

@test "two runs at once on one state file both count: the lock serialises them" {
	st="$BATS_TEST_TMPDIR/state.json"
	for i in 1 2 3 4; do
		pgx-report alerts --alerts-only --state "$st" "$F" >"$BATS_TEST_TMPDIR/run$i" 2>&1 &
	done
	wait
	# exactly one run saw connection_saturation first (pending); the others found it in the state
	assert_equal "$(cat "$BATS_TEST_TMPDIR"/run? | grep -c '"rule":"connection_saturation"')" 1
	run -0 jq -e '.alerts | length > 5' "$st"
}

@test "a receiver that is down gets the notification on the next run, and its URL is never printed in full" {
	st="$BATS_TEST_TMPDIR/state.json"
	port="$(free_port)"
	url="http://127.0.0.1:$port/hooks/T0KEN-SECRET"
	run -0 --separate-stderr pgx-report alerts --alerts-only --state "$st" --webhook "$url" "$F"
	assert_equal "$(jq -r '.queue | length' "$st")" 1
	grep -q "cannot deliver to webhook http://127.0.0.1:$port/...: " <<<"$stderr" || fail "stderr: $stderr"
	! grep -q 'T0KEN-SECRET' <<<"$stderr$output" || fail "the token was printed"
	! grep -q 'T0KEN-SECRET' "$st" || fail "the token is in the state file"
	HOOK_FILE="$BATS_TEST_TMPDIR/hook.log" hook_start "$port"
	run -0 pgx-report alerts --alerts-only --state "$st" --webhook "$url" /dev/null
	assert_equal "$(jq -r '.queue | length' "$st")" 0
	run -0 cut -d' ' -f1 "$BATS_TEST_TMPDIR/hook.log"
	assert_output /hooks/T0KEN-SECRET
	run -0 bash -c "cut -d' ' -f2- '$BATS_TEST_TMPDIR/hook.log' | jq -r '.alerts[] | select(.rule==\"blocking_locks\") | .state'"
	assert_output firing
	# without a state file a failed delivery is reported as lost, loudly
	run --separate-stderr pgx-report alerts --alerts-only --slack "http://127.0.0.1:$(free_port)/services/X/Y/Z" "$F"
	grep -q 'not delivered and lost' <<<"$stderr" || fail "stderr: $stderr"
}

@test "Slack gets an incoming-webhook payload" {
	HOOK_FILE="$BATS_TEST_TMPDIR/slack.log" hook_start
	run -0 pgx-report alerts --alerts-only --slack "http://127.0.0.1:$HOOK_PORT/services/T/B/X" "$F"
	run -0 bash -c "cut -d' ' -f2- '$BATS_TEST_TMPDIR/slack.log' | jq -r '.text'"
	assert_output --partial ':rotating_light: *[FIRING critical]* blocking_locks on /tmp/pgx-fixture:5432: 3 session(s) blocked'
}

@test "a blocking chain held past the threshold fires at Alertmanager and the webhook, then resolves; Slack, down meanwhile, gets both" {
	pg_start_monitored
	am_start
	HOOK_FILE="$BATS_TEST_TMPDIR/hook.log" hook_start
	psql_q -c "CREATE TABLE t (id int); GRANT SELECT ON t TO monitor" >/dev/null
	# the root holds an exclusive lock; a reader queues behind it
	"$PG_BINDIR/psql" -X -q -c "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120)" >/dev/null 2>&1 3>&- &
	BLOCKER_PIDS="$!"
	sleep 0.5
	"$PG_BINDIR/psql" -X -q -c "SELECT count(*) FROM t" >/dev/null 2>&1 3>&- &
	BLOCKER_PIDS="$BLOCKER_PIDS $!"
	for i in $(seq 1 50); do
		[ "$(psql_q -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")" = 1 ] && break
		sleep 0.1
	done
	export PGX_ALERT_BLOCKING_LOCKS_WARN=1 PGX_ALERT_BLOCKING_LOCKS_CRIT=off PGX_ALERT_BLOCKING_LOCKS_FOR=1s
	st="$BATS_TEST_TMPDIR/state.json"
	slack_port="$(free_port)"	# nothing listens there yet
	check() {
		poll -s locks | pgx-report alerts --alerts-only --state "$st" \
			--alertmanager "$AM_URL" --webhook "http://127.0.0.1:$HOOK_PORT/pgx" \
			--slack "http://127.0.0.1:$slack_port/services/T0/B0/SECRET"
	}
	sleep 1.2
	run -0 check
	assert_equal "$(jq -r 'select(.rule=="blocking_locks") | .state' <<<"$output")" pending
	sleep 1.2
	run -0 --separate-stderr check
	assert_equal "$(jq -r 'select(.rule=="blocking_locks") | [.state, .severity] | @tsv' <<<"$output")" "$(printf 'firing\twarning')"
	grep -qF "cannot deliver to slack http://127.0.0.1:$slack_port/..." <<<"$stderr" || fail "stderr: $stderr"
	assert_equal "$(jq -r '[.queue[] | .target] | join(",")' "$st")" slack
	run -0 am_alerts
	assert_line --regexp '^blocking_locks warning active '
	run -0 bash -c "cut -d' ' -f2- '$HOOK_FILE' | jq -r '.alerts[] | [.rule, .state] | @tsv'"
	assert_line "$(printf 'blocking_locks\tfiring')"
	# the chain ends
	psql_q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()" >/dev/null
	for i in $(seq 1 50); do
		[ "$(psql_q -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")" = 0 ] && break
		sleep 0.1
	done
	python3 "$PGX_TEST_DIR/webhook_receiver.py" "$slack_port" "$BATS_TEST_TMPDIR/slack.log" 3>&- &
	BLOCKER_PIDS="$BLOCKER_PIDS $!"
	wait_port "$slack_port"
	run -0 --separate-stderr check
	assert_equal "$(jq -r 'select(.rule=="blocking_locks") | .state' <<<"$output")" resolved
	assert_equal "$(jq -r '.queue | length' "$st")" 0
	run -0 bash -c "cut -d' ' -f2- '$HOOK_FILE' | jq -r '.alerts[] | [.rule, .state] | @tsv'"
	assert_line "$(printf 'blocking_locks\tresolved')"
	# Slack: the queued firing first, then the resolution
	run -0 bash -c "cut -d' ' -f2- '$BATS_TEST_TMPDIR/slack.log' | jq -r '.text'"
	assert_line --index 0 --partial '*[FIRING warning]* blocking_locks'
	assert_line --index 1 --partial '*[RESOLVED]* blocking_locks'
	sleep 0.5
	run -0 am_alerts
	refute_output --regexp 'blocking_locks [a-z]+ active'
}

# wait_stats_have DB...: until pg_stat_database counts commits in each DB.
# Before 15 the statistics collector hears of them up to ~0.5 s late, and
# starts a database's stats_reset when it first does: a reset in a diff.
wait_stats_have() {
	local dbs
	dbs="$(printf "'%s'," "$@")"
	wait_for 10 "SELECT count(*) FROM pg_stat_database WHERE datname IN (${dbs%,}) AND xact_commit > 0" "$#"
}

@test "diff of two snapshots around an ALTER TABLE and a settings change" {
	pg_start_monitored
	psql_q -c "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g; GRANT SELECT ON t TO monitor" >/dev/null
	wait_stats_have postgres
	poll -s settings,sizes,indexes,database >"$BATS_TEST_TMPDIR/before.ndjson"
	psql_q -c "ALTER TABLE t ADD COLUMN n float8 DEFAULT random()" >/dev/null
	psql_q -c "CREATE INDEX t_n ON t (n)" >/dev/null
	psql_q -c "ALTER SYSTEM SET work_mem = '64MB'" -c "SELECT pg_reload_conf()" >/dev/null
	wait_for 10 "SHOW work_mem" 64MB
	commits=$(jq -r 'select(.type=="database" and .db=="postgres") | .xact_commit_total' "$BATS_TEST_TMPDIR/before.ndjson")
	wait_for 10 "SELECT xact_commit > ${commits:?} FROM pg_stat_database WHERE datname = 'postgres'" t
	poll -s settings,sizes,indexes,database >"$BATS_TEST_TMPDIR/after.ndjson"
	run -0 pgx-report diff "$BATS_TEST_TMPDIR/before.ndjson" "$BATS_TEST_TMPDIR/after.ndjson"
	assert_line '  settings work_mem value: 4MB -> 64MB'
	assert_line --regexp '^  added indexes public\.t_n$'
	assert_line '  tables public.t'
	assert_line --regexp '^    total_bytes: .* -> '
	run -0 pgx-report diff -f json "$BATS_TEST_TMPDIR/before.ndjson" "$BATS_TEST_TMPDIR/after.ndjson"
	assert_equal "$(jq -r '.changes[] | select(.item=="tables public.t" and .field=="total_bytes") | .delta > 0' <<<"$output")" true
	assert_equal "$(jq -r '.changes[] | select(.section=="settings" and .item=="settings work_mem") | .after' <<<"$output")" 64MB
	assert_equal "$(jq -r '[.changes[] | select(.field=="xact_commit_total") | .rate_per_s > 0] | any' <<<"$output")" true
}

@test "diff pairs statements by database, user and queryid, shows a reset as a reset, and hides changes without news unless --all" {
	pg_start_monitored
	# two databases copied from one template: the same table OID, so the same
	# statement has the same queryid in both (as in clusters built alike)
	psql_q -c "CREATE EXTENSION pg_stat_statements" -c "CREATE ROLE alice LOGIN" \
		-c "CREATE DATABASE tpl" >/dev/null
	psql_q -d tpl -c "CREATE TABLE kv (k int PRIMARY KEY, v int); GRANT ALL ON kv TO alice" >/dev/null
	psql_q -c "CREATE DATABASE app TEMPLATE tpl" >/dev/null
	psql_q -c "CREATE DATABASE shop TEMPLATE tpl" >/dev/null
	upsert() {	# DB USER TIMES: the same statement, so one queryid everywhere
		local i
		for i in $(seq "$3"); do
			psql_q -d "$1" -U "$2" -c "INSERT INTO kv VALUES ($i, 1) ON CONFLICT (k) DO UPDATE SET v = kv.v + 1"
		done
	}
	upsert shop postgres 1; upsert app postgres 1; upsert shop alice 1
	wait_stats_have postgres tpl app shop
	poll --all-databases -s statements,database,vacuum,sizes,wraparound >"$BATS_TEST_TMPDIR/1.ndjson"
	upsert shop postgres 3; upsert app postgres 5; upsert shop alice 2
	poll --all-databases -s statements,database,vacuum,sizes,wraparound >"$BATS_TEST_TMPDIR/2.ndjson"
	run -0 pgx-report diff -f json "$BATS_TEST_TMPDIR/1.ndjson" "$BATS_TEST_TMPDIR/2.ndjson"
	json="$output"
	run jq -r '.changes[] | select(.section == "statements" and .field == "calls_total") |
		[.item, .delta, .rate_per_s > 0] | @tsv' <<<"$json"
	assert_equal "$(sort <<<"$output" | sed -E 's/^items -?[0-9]+ /items Q /')" "$(printf '%s\n' \
		$'items Q (db app, user postgres)\t5\ttrue' \
		$'items Q (db shop, user alice)\t2\ttrue' \
		$'items Q (db shop, user postgres)\t3\ttrue')"
	# one queryid, three items; nothing moved between databases, no rate below zero
	assert_equal "$(jq -r '[.changes[] | select(.section == "statements") | .item | split(" ")[1]] | unique | length' <<<"$json")" 1
	assert_equal "$(jq '[.changes[] | select(.field == "dbname" or .field == "username" or (.rate_per_s // 0) < 0)] | length' <<<"$json")" 0
	# no news: null -> 0, ranks, ageing, catalog relations; --all has them all
	assert_equal "$(jq '[.changes[] | select((.before == null and .after == 0) or .field == "rank"
		or (.item // "" | test(" (pg_catalog|information_schema|pg_toast)\\.")))] | length' <<<"$json")" 0
	hidden="$(jq .hidden <<<"$json")"
	[ "$hidden" -gt 0 ] || fail "nothing hidden"
	run -0 pgx-report diff --all -f json "$BATS_TEST_TMPDIR/1.ndjson" "$BATS_TEST_TMPDIR/2.ndjson"
	assert_equal "$(jq '.changes | length' <<<"$output")" "$(( $(jq '.changes | length' <<<"$json") + hidden ))"
	cd "$BATS_TEST_TMPDIR"
	run -0 pgx-report diff 1.ndjson 2.ndjson
	assert_line --regexp '^  items -?[0-9]+ \(db app, user postgres\)$'
	refute_output --partial '(reset)'
	# three statements in five databases: about 80 lines (1,000 before)
	[ "${#lines[@]}" -le 120 ] || fail "${#lines[@]} lines"
	assert_80_columns
	# a reset of pg_stat_statements: counters that went down are shown as a reset, no rate
	psql_q -c "SELECT pg_stat_statements_reset()" >/dev/null
	upsert app postgres 1
	poll --all-databases -s statements >"$BATS_TEST_TMPDIR/3.ndjson"
	run -0 pgx-report diff -f json "$BATS_TEST_TMPDIR/2.ndjson" "$BATS_TEST_TMPDIR/3.ndjson"
	assert_equal "$(jq -r '.changes[] | select(.section == "statements" and .field == "calls_total"
		and (.item | test("db app"))) | [.change, .before, .after, has("rate_per_s")] | @tsv' <<<"$output")" \
		$'reset\t6\t1\tfalse'
	run -0 pgx-report diff "$BATS_TEST_TMPDIR/2.ndjson" "$BATS_TEST_TMPDIR/3.ndjson"
	assert_line '    calls_total: 6 -> 1 (reset)'
}

@test "an unknown key in an alert file and a PGX_ALERT_ variable naming no rule are errors with file:line or the variable" {
	printf 'rules:\n  - name: blocking_locks\n    warn: 5\n    critical: 9\n' >"$BATS_TEST_TMPDIR/typo.yaml"
	run pgx-report alerts --alerts "$BATS_TEST_TMPDIR/typo.yaml" "$F"
	assert_failure 2
	assert_output "pgx-report: error: $BATS_TEST_TMPDIR/typo.yaml:4: unknown key \"critical\" in an alert rule (known: name, summary, record, each, value, op, when, warn, crit, sigma, for, window, rate, message, key, enabled)"
	printf 'rule:\n  - name: blocking_locks\n    warn: 5\n' >"$BATS_TEST_TMPDIR/top.yaml"
	run pgx-report alerts --alerts "$BATS_TEST_TMPDIR/top.yaml" "$F"
	assert_failure 2
	assert_output "pgx-report: error: $BATS_TEST_TMPDIR/top.yaml:1: unknown key \"rule\" (an alert file has \"rules:\" only)"
	sed 's/^    warn:/    warning:/' "$PGX_SHARE_DIR/alerts.yaml" >"$BATS_TEST_TMPDIR/catalog.yaml"
	run pgx-report alerts --catalog "$BATS_TEST_TMPDIR/catalog.yaml" --list
	assert_failure 2
	assert_output --regexp "^pgx-report: error: $BATS_TEST_TMPDIR/catalog.yaml:[0-9]+: unknown key \"warning\""
	for var in PGX_ALERT_BLOCKING_LOKS_WARN PGX_ALERT_BLOCKING_LOCKS_WARNING PGX_ALERT_; do
		run env "$var=5" pgx-report alerts --alerts-only "$F"
		assert_failure 2
		assert_output "pgx-report: error: $var names no alert rule (PGX_ALERT_<RULE>_WARN, _CRIT or _FOR; pgx-report alerts --list shows the rules)"
	done
	# a rule the user file adds can be overridden too
	printf 'rules:\n  - name: my-rule\n    record: connections\n    value: "1"\n' >"$BATS_TEST_TMPDIR/mine.yaml"
	PGX_ALERT_MY_RULE_WARN=5 run -0 pgx-report alerts --alerts-only --alerts "$BATS_TEST_TMPDIR/mine.yaml" "$F"
}

@test "bad input, a bad catalog and bad options are errors with their exit codes" {
	printf '{"type":"connections","ts":1,"total":3}\nnot json\n' >"$BATS_TEST_TMPDIR/bad.ndjson"
	run pgx-report -f prom "$BATS_TEST_TMPDIR/bad.ndjson"
	assert_failure 3
	assert_output --partial "$BATS_TEST_TMPDIR/bad.ndjson:2: not a JSON object"
	run pgx-report alerts --alerts-only "$BATS_TEST_TMPDIR/bad.ndjson"
	assert_failure 3
	printf 'rules:\n  - name: x\n    record: locks\n    value: "max_wait_s +"\n' >"$BATS_TEST_TMPDIR/r.yaml"
	run pgx-report alerts --alerts "$BATS_TEST_TMPDIR/r.yaml" /dev/null
	assert_failure 2
	assert_output --partial 'alert rule "x": value: expected a number, a field or a function'
	printf 'rules:\n  - name: x\n    record: replication\n    value: "1"\n    when: "wal_status > '"'lost'"'"\n' >"$BATS_TEST_TMPDIR/s.yaml"
	run pgx-report alerts --alerts "$BATS_TEST_TMPDIR/s.yaml" /dev/null
	assert_failure 2
	assert_output --partial 'alert rule "x": when: a string compares with == or != only, not >'
	printf 'rules:\n  - name: x\n    record: archiver\n    value: "since(failed_count_total)"\n' >"$BATS_TEST_TMPDIR/f.yaml"
	run pgx-report alerts --alerts "$BATS_TEST_TMPDIR/f.yaml" /dev/null
	assert_failure 2
	assert_output --partial "alert rule \"x\": value: expected ','"
	printf 'rules:\n  - name: [\n' >"$BATS_TEST_TMPDIR/y.yaml"
	run pgx-report alerts --alerts "$BATS_TEST_TMPDIR/y.yaml" /dev/null
	assert_failure 2
	assert_output --partial "$BATS_TEST_TMPDIR/y.yaml:"
	PGX_ALERT_BLOCKING_LOCKS_WARN=lots run pgx-report alerts /dev/null
	assert_failure 2
	assert_output --partial 'invalid value "lots" for PGX_ALERT_BLOCKING_LOCKS_WARN'
	echo '{broken' >"$BATS_TEST_TMPDIR/state.json"
	run pgx-report alerts --state "$BATS_TEST_TMPDIR/state.json" /dev/null
	assert_failure 3
	assert_output --partial 'not a pgx-report alerts state file'
	run pgx-report diff "$F"
	assert_failure 2
	run pgx-report diff "$F" "$PGX_FIXTURES/report/base.ndjson"
	assert_failure 3
	assert_output --partial 'no pgx-poll record in'
	run pgx-report -f bogus "$F"
	assert_failure 2
	run pgx-report alerts --no-such-option
	assert_failure 2
}

@test "the health views, diff and alerts free everything they allocate (valgrind)" {
	require_valgrind pgx-report
	vg() {
		valgrind --quiet --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
			--error-exitcode=99 "$@"
	}
	for fmt in prom html table json; do
		run vg pgx-report -f "$fmt" -o "$BATS_TEST_TMPDIR/out.$fmt" "$F"
		assert_success
	done
	run vg pgx-report diff -f json -o "$BATS_TEST_TMPDIR/d.json" "$F" "$F"
	assert_success
	run vg pgx-report alerts --state "$BATS_TEST_TMPDIR/st.json" --slack "http://127.0.0.1:$(free_port)/x" "$F"
	assert_success
	refute_output --partial 'definitely lost'
	run vg pgx-report alerts --state "$BATS_TEST_TMPDIR/st.json" /dev/null
	assert_success
	run bash -c "cat '$F' | valgrind --quiet --leak-check=full --errors-for-leak-kinds=all --error-exitcode=99 pgx-report >/dev/null"
	assert_success
}

@test "Alertmanager down for several runs gets one folded delivery when it is back" {
	st="$BATS_TEST_TMPDIR/state.json"
	port="$(free_port)"
	for ts in 0 60 120; do
		jq -c --argjson d "$ts" 'if has("ts") then .ts += $d else . end' "$F" |
			pgx-report alerts --alerts-only --state "$st" --alertmanager "http://127.0.0.1:$port" >/dev/null 2>"$BATS_TEST_TMPDIR/err"
	done
	grep -q "cannot deliver to alertmanager http://127.0.0.1:$port/...: " "$BATS_TEST_TMPDIR/err" || fail "$(cat "$BATS_TEST_TMPDIR/err")"
	assert_equal "$(jq -r '[.queue[] | select(.target=="alertmanager")] | length' "$st")" 1
	# start it on that port
	ALERTMANAGER_PORT="$port" am_start
	run -0 pgx-report alerts --alerts-only --state "$st" --alertmanager "$AM_URL" /dev/null
	assert_equal "$(jq -r '.queue | length' "$st")" 0
	run -0 am_alerts
	assert_line --regexp '^blocking_locks critical active '
	assert_line --regexp '^sequence_exhaustion warning active '
}

@test "a multi-line statement is one line in the terminal table" {
	printf '%s\n' '{"type":"statements","ts":1795300000,"src":"pgx-poll","cluster":"c","status":"ok","items":[{"queryid":"1","calls_total":3,"exec_time_s_total":1.5,"mean_exec_time_s":0.5,"query":"SELECT a,\n\tb\n  FROM t\r\n WHERE x = $1"}]}' \
		'{"type":"poll","ts":1795300001,"src":"pgx-poll","cluster":"c","loop":"once","success":true}' >"$BATS_TEST_TMPDIR/st.ndjson"
	run pgx-report "$BATS_TEST_TMPDIR/st.ndjson"
	assert_success
	assert_line --regexp '^ +3 +1\.50 +500\.00  SELECT a, b FROM t WHERE x = \$1$'
	refute_line --regexp '^\s*(FROM|WHERE) '
}
