#!/usr/bin/env bats
# pgx-report -f html: the panels of one snapshot and the time series
# (Trends) of several, from real pgx-poll captures of a throwaway PostgreSQL
# under pgbench, checked in headless Chromium.  PGX_HTML_ARTIFACTS=DIR keeps
# the pages and screenshots there (default: the test's temp dir).

load test_helper
load poll_helper

F="$PGX_FIXTURES/health/snapshot.ndjson"
PGBENCH="${PGBENCH:-$PG_BINDIR/pgbench}"

teardown() {
	[ -n "${BLOCKER_PIDS:-}" ] && kill $BLOCKER_PIDS 2>/dev/null
	[ -n "${POLL_PID:-}" ] && kill -TERM "$POLL_PID" 2>/dev/null && wait "$POLL_PID" 2>/dev/null
	pg_replica_stop
	poll_teardown
	return 0
}

artifacts() {
	ART="${PGX_HTML_ARTIFACTS:-$BATS_TEST_TMPDIR}"
	mkdir -p "$ART"
}

# poll_start FILE [ARGS]: pgx-poll --interval 1s into FILE, in the background
poll_start() {
	local out="$1"
	shift
	timeout --foreground -k 10 300 pgx-poll -d "$MON_DSN" --interval 1s "$@" \
		>"$out" 2>"$BATS_TEST_TMPDIR/poll.err" &
	POLL_PID=$!
}

# poll_until FILE N: wait until FILE holds N samples (poll records)
poll_until() {
	local deadline=$((SECONDS + 120))
	until [ "$(polls "$1")" -ge "$2" ]; do
		[ "$SECONDS" -lt "$deadline" ] || fail "only $(polls "$1") samples of $2 in $1"
		sleep 0.2
	done
}

poll_stop() {
	local rc=0
	kill -TERM "$POLL_PID"
	wait "$POLL_PID" || rc=$?
	unset POLL_PID
	assert_equal "$rc" 0
}

# One snapshot of the cluster into FILE, or with a cluster label: snap FILE [ARGS]
snap() {
	local out="$1"
	shift
	timeout 60 pgx-poll -d "$MON_DSN" "$@" >"$out"
}

# The legend of chart ID of the first cluster: "name last X, max Y" lines
legend() {
	sed -n "/<figure class=trend id=\"trend-[0-9]*-$1\">/,/<\/figure>/p" "$2" |
		grep -o '<li><span class="sw c[0-9]*"></span>[^<]*<span class=na>[^<]*' |
		sed -E 's/<li><span class="sw c[0-9]*"><\/span>//; s/ <span class=na>/ /'
}

# A formatted value ("3.04k/s", "99.5%", "1.2 MiB/s") as a plain number
number() {
	awk -v v="$1" 'BEGIN {
		m = 1
		if (v ~ /KiB/) m = 1024; else if (v ~ /MiB/) m = 1048576; else if (v ~ /GiB/) m = 1073741824
		else if (v ~ /[0-9]k/) m = 1e3; else if (v ~ /[0-9]M/) m = 1e6; else if (v ~ /[0-9]G/) m = 1e9
		sub(/[^0-9.eE+-].*/, "", v)
		printf "%.6g\n", v * m
	}'
}

# The largest value of line NAME in chart ID of PAGE, as a number
line_max() {
	local v
	v="$(legend "$1" "$3" | grep -F "$2 last" | head -1 | sed -E 's/.*, max //')"
	[ -n "$v" ] || fail "no line '$2' in chart $1"
	number "$v"
}

# Every value drawn in PAGE (the markers' tooltips), one per line
drawn_values() {
	grep -o '<title>[^<]* UTC: [^<]*</title>' "$1" | sed -E 's/.* UTC: (.*)<\/title>/\1/'
}

# chromium_clean PAGE: Chromium loads PAGE and logs no console message
# (a CSP violation, a bad SVG attribute, a script error are all logged)
chromium_console() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$BATS_TEST_TMPDIR/chr" \
		--enable-logging=stderr --v=0 --dump-dom "file://$1" 2>&1 >"$BATS_TEST_TMPDIR/dom.html" |
		grep ':CONSOLE' || true
}

screenshot() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$BATS_TEST_TMPDIR/chr" \
		--screenshot="$2" --window-size=1366,2600 "file://$1" >/dev/null 2>&1
	[ "$(head -c 8 "$2" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "no PNG screenshot"
	[ "$(stat -c %s "$2")" -gt 50000 ] || fail "screenshot too small"
}

@test "an --interval capture under pgbench draws every series with plausible values, and Chromium shows it without console errors" {
	command -v chromium >/dev/null || skip "chromium not installed"
	artifacts
	poll_setup "-c max_wal_senders=4"
	"$PGBENCH" -i -s 1 -q postgres >/dev/null 2>&1
	pg_replica html_standby
	poll_start "$BATS_TEST_TMPDIR/cap.ndjson"
	poll_until "$BATS_TEST_TMPDIR/cap.ndjson" 2
	# the standby stops replaying: its lag grows with the workload's WAL
	"$PG_BINDIR/psql" -X -q -h "$REPLICA_DIR" -p "$REPLICA_PORT" -U postgres -c 'SELECT pg_wal_replay_pause()' postgres
	"$PGBENCH" -c 2 -j 2 -T 6 postgres >"$BATS_TEST_TMPDIR/bench.out" 2>&1
	n=$(polls "$BATS_TEST_TMPDIR/cap.ndjson")
	poll_until "$BATS_TEST_TMPDIR/cap.ndjson" $((n + 2))
	poll_stop
	page="$ART/trends.html"
	run -0 pgx-report -f html -o "$page" "$BATS_TEST_TMPDIR/cap.ndjson"
	assert_output ""
	for id in tps rows cache conn wal lag ckpt dead; do
		grep -q "<figure class=trend id=\"trend-[0-9]*-$id\">" "$page" || fail "no chart $id"
	done
	# every chart but checkpoints (none in 10 s) has a drawn line
	[ "$(grep -c '<svg class=chart role=img' "$page")" -eq 8 ] || fail "not 8 charts drawn"
	# tps: the busiest interval is of the order of pgbench's own average
	bench_tps="$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$BATS_TEST_TMPDIR/bench.out")"
	[ -n "$bench_tps" ] || fail "pgbench: $(cat "$BATS_TEST_TMPDIR/bench.out")"
	tps="$(line_max tps commits "$page")"
	awk -v a="$tps" -v b="$bench_tps" 'BEGIN { exit !(a > 0.3 * b && a < 3 * b + 50) }' ||
		fail "commits/s max $tps, pgbench said $bench_tps"
	awk -v a="$(line_max rows inserted "$page")" 'BEGIN { exit !(a > 0) }' || fail "no rows inserted/s"
	awk -v a="$(line_max wal 'WAL written' "$page")" 'BEGIN { exit !(a > 10000) }' || fail "no WAL/s"
	awk -v a="$(line_max cache 'cache hit' "$page")" 'BEGIN { exit !(a > 50 && a <= 100) }' || fail "cache hit"
	awk -v a="$(line_max conn active "$page")" 'BEGIN { exit !(a >= 1) }' || fail "no active connection"
	awk -v a="$(line_max lag walreceiver "$page")" 'BEGIN { exit !(a > 0) }' || fail "no lag while replay paused"
	awk -v a="$(line_max dead public.pgbench_tellers "$page")" 'BEGIN { exit !(a > 0) }' || fail "no dead tuples"
	legend ckpt "$page" | grep -q '^timed last 0/min' || fail "checkpoints: $(legend ckpt "$page")"
	# the axes say their units and the time of day; each chart has a title
	grep -q '<text class=yl [^>]*>[0-9.]*k*/s</text>' "$page" || fail "no per-second y labels"
	grep -Eq '<text class="xl( end)?" [^>]*>[0-9]{2}:[0-9]{2}:[0-9]{2}</text>' "$page" || fail "no time labels"
	grep -q '<title id="tt[0-9]*">Transactions per second over time</title>' "$page" || fail "no chart title"
	run -0 drawn_values "$page"
	refute_output --regexp '^-'
	refute_output --partial 'nan'
	# one file: no script, nothing fetched
	run grep -Eic '<script|src=|<link|url\(|https?://' "$page"
	assert_output 0
	run -0 chromium_console "$page"
	assert_output ""
	grep -q '<figcaption><b>Transactions per second</b>' "$BATS_TEST_TMPDIR/dom.html"
	screenshot "$page" "$ART/trends.png"
}

@test "the console check sees a page's errors (the control of the Chromium test)" {
	command -v chromium >/dev/null || skip "chromium not installed"
	pgx-report -f html -o "$BATS_TEST_TMPDIR/page.html" "$F"
	run -0 chromium_console "$BATS_TEST_TMPDIR/page.html"
	assert_output ""
	# the same page with a fetch, a script and an SVG attribute that is no number
	sed 's|</main>|<img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script><svg><polyline points="nan,1"/></svg></main>|' \
		"$BATS_TEST_TMPDIR/page.html" >"$BATS_TEST_TMPDIR/bad.html"
	run -0 chromium_console "$BATS_TEST_TMPDIR/bad.html"
	assert_output --partial 'Content Security Policy'
	assert_output --partial 'polyline'
}

@test "one snapshot: no chart, a note on what makes time series, exit 0" {
	poll_setup
	snap "$BATS_TEST_TMPDIR/one.ndjson"
	run -0 pgx-report -f html "$BATS_TEST_TMPDIR/one.ndjson"
	assert_output --partial '<h2>Trends</h2>'
	assert_output --partial 'One sample: time series need two or more (pgx-poll --interval, several snapshot files, or a directory of them).'
	refute_output --partial '<svg class=chart'
	refute_output --partial '<figure class=trend'
	assert_output --partial '<p class=note>archive_mode is off: WAL is not archived.</p>'
	# the seed's archiver: a failure yesterday, a success a minute ago
	run -0 pgx-report -f html "$F"
	assert_output --partial '<p class=note>Archiving works: the last attempt succeeded.</p>'
	assert_output --partial '<td>00000001000000030000004A</td><td class=n>1m 00s ago</td><td>000000010000000300000010</td><td class=n>23h 53m ago</td>'
}

@test "statistics reset between samples: no rate across it, a reset mark, never a negative rate" {
	poll_setup
	"$PGBENCH" -i -s 1 -q postgres >/dev/null 2>&1
	"$PGBENCH" -c 1 -t 300 postgres >/dev/null 2>&1
	snap "$BATS_TEST_TMPDIR/1.ndjson"
	"$PGBENCH" -c 1 -t 300 postgres >/dev/null 2>&1
	snap "$BATS_TEST_TMPDIR/2.ndjson"
	psql_q -c 'SELECT pg_stat_reset()' >/dev/null
	wait_for 10 "SELECT xact_commit < 100 FROM pg_stat_database WHERE datname = 'postgres'" t
	"$PGBENCH" -c 1 -t 100 postgres >/dev/null 2>&1
	snap "$BATS_TEST_TMPDIR/3.ndjson"
	"$PGBENCH" -c 1 -t 100 postgres >/dev/null 2>&1
	snap "$BATS_TEST_TMPDIR/4.ndjson"
	# files given in any order: samples go by time
	page="$BATS_TEST_TMPDIR/reset.html"
	run -0 pgx-report -f html -o "$page" "$BATS_TEST_TMPDIR"/{3,1,4,2}.ndjson
	run -0 sed -n '/id="trend-[0-9]*-tps"/,/<\/figure>/p' "$page"
	assert_output --partial '<text x='
	assert_output --partial '>reset</text>'
	assert_equal "$(grep -c '<title>counter reset before this sample' <<<"$output")" 1
	# two intervals with rates (1-2 and 3-4), none across the reset
	assert_equal "$(grep -c '<title>commits at ' <<<"$output")" 2
	run -0 drawn_values "$page"
	refute_output --regexp '^-'
	# a counter that went down with stats_reset_ts unchanged (a crash) is a reset too
	jq -c 'if .type == "database" then .xact_commit_total = 1 | .ts += 60 else .ts += 60 end' \
		"$BATS_TEST_TMPDIR/2.ndjson" >"$BATS_TEST_TMPDIR/2b.ndjson"
	run -0 pgx-report -f html "$BATS_TEST_TMPDIR"/{1,2,2b}.ndjson
	assert_equal "$(grep -c '<title>counter reset before this sample' <<<"$(sed -n '/id="trend-[0-9]*-tps"/,/<\/figure>/p' <<<"$output")")" 1
	refute_output --regexp 'UTC: -[0-9]'
}

@test "two clusters in one input: series of each apart, the panels of the newest, said so" {
	poll_setup
	snap "$BATS_TEST_TMPDIR/a1.ndjson" --cluster alpha
	snap "$BATS_TEST_TMPDIR/b1.ndjson" --cluster beta
	"$PGBENCH" -i -s 1 -q postgres >/dev/null 2>&1
	snap "$BATS_TEST_TMPDIR/a2.ndjson" --cluster alpha
	snap "$BATS_TEST_TMPDIR/b2.ndjson" --cluster beta
	cat "$BATS_TEST_TMPDIR"/{a1,b1,a2,b2}.ndjson >"$BATS_TEST_TMPDIR/both.ndjson"
	run -0 pgx-report -f html "$BATS_TEST_TMPDIR/both.ndjson"
	assert_output --partial '<p class=warn>This input holds samples of 2 clusters (alpha, beta). The panels show beta, the cluster of the newest sample; Trends shows each cluster apart.</p>'
	assert_output --partial '<h1>PostgreSQL health: beta</h1>'
	assert_output --partial '<h3>Cluster alpha</h3>'
	assert_output --partial '<h3>Cluster beta</h3>'
	# each cluster's own two samples: one interval per rate, not four samples of one
	assert_equal "$(grep -c '<title>commits at ' <<<"$output")" 2
	assert_equal "$(grep -o '<p>2 samples from ' <<<"$output" | wc -l)" 2
	refute_output --partial 'reset</text>'
}

@test "a directory of cron snapshots is read as its files; an empty one is an error" {
	poll_setup
	mkdir "$BATS_TEST_TMPDIR/cron" "$BATS_TEST_TMPDIR/empty"
	"$PGBENCH" -i -s 1 -q postgres >/dev/null 2>&1
	for i in 1 2 3; do
		"$PGBENCH" -c 1 -t 200 postgres >/dev/null 2>&1
		snap "$BATS_TEST_TMPDIR/cron/snap-$i.ndjson"
	done
	touch "$BATS_TEST_TMPDIR/cron/.hidden"
	run -0 pgx-report -f html "$BATS_TEST_TMPDIR/cron"
	assert_output --partial '<p>3 samples from '
	assert_equal "$(grep -c '<title>commits at ' <<<"$output")" 2
	run pgx-report -f html "$BATS_TEST_TMPDIR/empty"
	assert_failure 3
	assert_output "pgx-report: error: no file in directory \"$BATS_TEST_TMPDIR/empty\""
}

@test "connections with no state are labelled, never 'null'" {
	jq -c 'if .type == "connections" then .by_state.null = 2 else . end' "$F" >"$BATS_TEST_TMPDIR/null.ndjson"
	run -0 pgx-report -f html "$BATS_TEST_TMPDIR/null.ndjson"
	assert_output --partial '>no state yet (connecting)</text>'
	refute_output --partial '>null<'
}

@test "failing archiving, a PgBouncer queue, sequences, partitions, an invalid index and a changed setting each reach their panel" {
	poll_setup "-c archive_mode=on"
	psql_q -c "ALTER SYSTEM SET archive_command = 'false'" -c "ALTER SYSTEM SET work_mem = '24MB'" \
		-c "SELECT pg_reload_conf()" >/dev/null
	psql_q -c "CREATE TABLE t (i int)" -c "INSERT INTO t VALUES (1), (1)" -c "SELECT pg_switch_wal()" >/dev/null
	run psql_q -c "CREATE UNIQUE INDEX CONCURRENTLY t_i_idx ON t (i)"
	assert_failure
	psql_q -c "CREATE SEQUENCE s1" -c "CREATE SEQUENCE s2" -c "SELECT nextval('s1'), nextval('s2')" \
		-c "GRANT SELECT ON SEQUENCE s1 TO mon" \
		-c "CREATE TABLE m (d date) PARTITION BY RANGE (d)" \
		-c "CREATE TABLE m_2026_01 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')" >/dev/null
	wait_for 30 "SELECT failed_count > 0 FROM pg_stat_archiver" t
	# one client holds the only server connection, two queue behind it
	PGB_DB_OPTIONS="pool_size=1" pgbouncer_start
	pgb_queue 3 1
	snap "$BATS_TEST_TMPDIR/s1.ndjson" --pgbouncer "host=127.0.0.1 port=$PGB_PORT dbname=pgbouncer user=mon"
	snap "$BATS_TEST_TMPDIR/s2.ndjson" --pgbouncer "host=127.0.0.1 port=$PGB_PORT dbname=pgbouncer user=mon"
	page="$BATS_TEST_TMPDIR/s.html"
	pgx-report -f html -o "$page" "$BATS_TEST_TMPDIR"/s{1,2}.ndjson
	awk -v a="$(line_max pgbouncer postgres "$page")" 'BEGIN { exit !(a == 2) }' ||
		fail "PgBouncer waiting: $(legend pgbouncer "$page")"
	run -0 cat "$page"
	for panel in "WAL archiving" "Checkpoints, WAL and I/O" PgBouncer "Non-default settings" Partitions; do
		assert_output --partial "<h2>$panel</h2>"
	done
	assert_output --partial '<p class=warn>Failing: the last attempt failed and no WAL was archived since the statistics were reset.</p>'
	assert_output --regexp '<td>0000000100000000000000(01|02)</td>'
	assert_output --partial '<p class=warn>Degraded: io &mdash; io: pg_stat_io needs PostgreSQL 16</p>'
	assert_output --regexp '<th>current LSN</th>.*</tr></thead><tbody>'
	assert_output --partial '<div class=v>2</div><div class=l>clients waiting</div>'
	assert_output --regexp '<tr><td>postgres</td><td class=n>1</td><td class=n>1</td><td class=n>2</td>'
	assert_output --partial '<tr><td>work_mem</td><td>24MB</td><td>configuration file</td><td>no</td></tr>'
	assert_output --partial '<td>archive_mode</td><td>on</td><td>command line</td>'
	refute_output --partial '<td>application_name</td>'
	assert_output --partial '<td>public.t_i_idx</td>'
	assert_output --partial '<td>public.s1</td>'
	refute_output --partial '<td>public.s2</td>'
	assert_output --regexp '<p class=warn>Degraded: sequences &mdash; [^<]*</p>'
	# and at a glance in the overview, one line per section
	assert_output --regexp '<div class=warn>Sections not fully read:<ul>.*<li>io: pg_stat_io needs PostgreSQL 16</li>'
	assert_output --regexp '<li>sequences \(postgres\): [^<]+</li>'
	assert_output --partial '<td>public.m</td><td>range</td>'
}

# rates CASE: the commits/s drawn for samples "ts:xact_commit_total:stats_reset_ts ..."
rates() {
	local s ts v r
	for s in $1; do
		IFS=: read -r ts v r <<<"$s"
		printf '{"type":"database","ts":%s,"cluster":"c","db":"d","xact_commit_total":%s,"stats_reset_ts":%s}\n' \
			"$((1795000000 + ts))" "$v" "$r"
	done >"$BATS_TEST_TMPDIR/case.ndjson"
	pgx-report -f html "$BATS_TEST_TMPDIR/case.ndjson" >"$BATS_TEST_TMPDIR/case.html"
	sed -n '/id="trend-[0-9]*-tps"/,/<\/figure>/p' "$BATS_TEST_TMPDIR/case.html" |
		grep -oE '<title>commits at [^<]*: [^<]*</title>|>reset</text>' |
		sed -E 's/.*: ([^<]*)<\/title>/\1/; s/>reset<\/text>/reset/' | sort | tr '\n' ' '
}

@test "rates between samples, table-driven: resets, statistics resets, duplicates, uneven intervals" {
	while IFS='|' read -r samples expected; do
		[ -n "$samples" ] || continue
		got="$(rates "$samples")"
		[ "$got" = "$expected" ] || fail "samples $samples: got '$got', expected '$expected'"
	done <<-'CASES'
	0:0:1 1:100:1 3:300:1|100/s 100/s 
	0:100:1 1:50:1 2:150:1|100/s reset 
	0:0:1 1:100:1 2:150:2 3:250:2|100/s 100/s reset 
	0:0:1 1:100:1 1:100:1 2:300:1|100/s 200/s 
	0:0:null 2:1000:null|500/s 
	0:5:1 10:5:1|0/s 
	0:null:1 1:null:1 2:null:1|
	0:null:1 1:100:1 2:300:1|200/s 
	CASES
}
