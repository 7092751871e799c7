#!/usr/bin/env bats
# pgx-logmatch --rules slowlog | pgx-report slowlog: the Top-N of statement
# shapes and the other events of a server log, checked against the generator's
# own ground truth, a real PostgreSQL 15's stderr, csvlog and jsonlog, and
# Debian's pgbadger.

load test_helper

GEN="$PGX_FIXTURES/gen-slowlog.py"

teardown() {
	[ -n "${PGX_PG_DIR:-}" ] && pg_stop || true
}

slowlog() {	# slowlog LOG [pgx-report slowlog options]
	local log="$1"
	shift
	timeout 60 pgx-logmatch -o --rules slowlog "$log" | timeout 60 pgx-report slowlog "$@"
}

grouped() {	# grouped LOG [pgx-report slowlog options]: match_group records in between
	local log="$1"
	shift
	timeout 60 pgx-logmatch -o --group --rules slowlog "$log" | timeout 60 pgx-report slowlog "$@"
}

# The same report, byte for byte, from match records and from match_group records.
assert_same_report() {	# assert_same_report LOG [pgx-report slowlog options]
	slowlog "$@" >"$BATS_TEST_TMPDIR/perline.out" || fail "per-line pipeline: exit $?"
	grouped "$@" >"$BATS_TEST_TMPDIR/grouped.out" || fail "grouped pipeline: exit $?"
	run diff "$BATS_TEST_TMPDIR/perline.out" "$BATS_TEST_TMPDIR/grouped.out"
	assert_success
}

# The Top-N computed from the generator's truth file with jq alone:
# p95 is the nearest rank (the ceil(0.95 n)-th smallest duration).
expected_top() {
	jq -sc --argjson n "$2" 'map(select(.kind == "query")) | group_by(.shape)
		| map({query: .[0].shape, count: length,
		       total_ms: (map(.ms) | add * 1000 | round / 1000),
		       max_ms: (map(.ms) | max),
		       p95_ms: (map(.ms) | sort | .[(length * 0.95 | ceil) - 1])})
		| sort_by(-.total_ms, -.count, .query) | .[:$n]' "$1"
}

@test "a generated log gives exactly the Top-N its ground truth gives" {
	python3 "$GEN" --lines 6000 --seed 11 --truth "$BATS_TEST_TMPDIR/truth.ndjson" >"$BATS_TEST_TMPDIR/pg.log"
	slowlog "$BATS_TEST_TMPDIR/pg.log" -f json -n 8 >"$BATS_TEST_TMPDIR/got.json"
	expected="$(expected_top "$BATS_TEST_TMPDIR/truth.ndjson" 8)"
	run jq -c '[.queries[] | {query, count, total_ms, max_ms, p95_ms}]' "$BATS_TEST_TMPDIR/got.json"
	assert_success
	assert_output "$expected"
	# mean and the statement count agree as well
	run jq -r '[.statements, (.queries[0] | .total_ms / .count - .mean_ms | fabs < 0.001)] | @tsv' "$BATS_TEST_TMPDIR/got.json"
	assert_output "$(jq -s 'map(select(.kind == "query")) | length' "$BATS_TEST_TMPDIR/truth.ndjson")	true"
}

@test "with --group the generated log gives the same Top-N, ground truth and report as line by line" {
	python3 "$GEN" --lines 6000 --seed 11 --truth "$BATS_TEST_TMPDIR/truth.ndjson" >"$BATS_TEST_TMPDIR/pg.log"
	grouped "$BATS_TEST_TMPDIR/pg.log" -f json -n 8 >"$BATS_TEST_TMPDIR/got.json"
	run jq -c '[.queries[] | {query, count, total_ms, max_ms, p95_ms}]' "$BATS_TEST_TMPDIR/got.json"
	assert_output "$(expected_top "$BATS_TEST_TMPDIR/truth.ndjson" 8)"
	# every field of every row and section, in each format
	for f in json table records; do
		assert_same_report "$BATS_TEST_TMPDIR/pg.log" -f "$f" -n 1000
	done
	# and every kind of event went through match_group records, none line by line
	run bash -c "pgx-logmatch -o --group --rules slowlog '$BATS_TEST_TMPDIR/pg.log' | jq -r .type | sort | uniq -c | wc -l"
	assert_output 1
	run bash -c "pgx-logmatch -o --group --rules slowlog '$BATS_TEST_TMPDIR/pg.log' | jq -r 'select(.type == \"match_group\") | .rule' | sort -u | paste -sd ' '"
	assert_output "autoanalyze autovacuum checkpoint_stats lock_wait query_duration sql_error sql_fatal temp_file"
}

@test "match_group records of two halves of a log add up to the report of the whole log" {
	python3 "$GEN" --lines 4000 --seed 19 >"$BATS_TEST_TMPDIR/pg.log"
	# cut where an entry starts (a line without a leading tab)
	cut="$(awk 'NR > 3000 && !/^\t/ { print NR; exit }' "$BATS_TEST_TMPDIR/pg.log")"
	head -n $((cut - 1)) "$BATS_TEST_TMPDIR/pg.log" >"$BATS_TEST_TMPDIR/a.log"
	tail -n +"$cut" "$BATS_TEST_TMPDIR/pg.log" >"$BATS_TEST_TMPDIR/b.log"
	for h in a b; do
		timeout 60 pgx-logmatch -o --group --rules slowlog "$BATS_TEST_TMPDIR/$h.log" >"$BATS_TEST_TMPDIR/$h.ndjson"
	done
	slowlog "$BATS_TEST_TMPDIR/pg.log" -f json -n 1000 >"$BATS_TEST_TMPDIR/whole.json"
	run pgx-report slowlog -f json -n 1000 "$BATS_TEST_TMPDIR/a.ndjson" "$BATS_TEST_TMPDIR/b.ndjson"
	assert_success
	assert_equal "$output" "$(cat "$BATS_TEST_TMPDIR/whole.json")"
	# a shape in both halves is two groups, merged into one row
	run jq -s '[.[] | select(.type == "match_group" and .key == "begin")] | length' \
		"$BATS_TEST_TMPDIR/a.ndjson" "$BATS_TEST_TMPDIR/b.ndjson"
	assert_output 2
}

# Lines the slow-log rules make match records of one by one (a statement
# paired later by process), one of them with a time that cannot be read,
# and one with invalid UTF-8: each said with its line number.
odd_lines() {	# odd_lines TAG
	printf '2026-11-22 10:00:00.001 UTC [4242] 00000 LOG:  statement: SELECT %s_1\n' "$1"
	printf '2026-11-22 10:00:00.002 UTC [4242] 00000 LOG:  duration: 2.000 ms\n'
	printf '2026-11-22 25:61:00.000 UTC [4243] 00000 LOG:  statement: SELECT %s_2\n' "$1"
	printf '2026-11-22 10:00:00.003 UTC [4244] 00000 LOG:  statement: SELECT %s_\xff\n' "$1"
}

@test "a log of 32 MB or more is read by two threads with --group, with the records and warnings of one" {
	log="$BATS_TEST_TMPDIR/big.log"
	{
		python3 "$GEN" --size-mb 20 --seed 3
		odd_lines early
		python3 "$GEN" --size-mb 20 --seed 4
		odd_lines late
	} >"$log"
	# a second thread, unless one CPU is all there is (LeakSanitizer cannot
	# run under strace)
	for cpus in 0 0,1; do
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" taskset -c "$cpus" \
			strace -f -qq -e trace=clone,clone3 -o "$BATS_TEST_TMPDIR/$cpus.trace" \
			pgx-logmatch -o --group --rules slowlog "$log" >/dev/null 2>&1 || true
	done
	run grep -c clone "$BATS_TEST_TMPDIR/0.trace"
	assert_output 0
	run grep -c clone "$BATS_TEST_TMPDIR/0,1.trace"
	assert_output 1
	for prefix in "" "--prefix=%m [%p] %e "; do
		# one CPU, one thread: the reference; both exit 3 (the invalid UTF-8)
		one=0 two=0
		taskset -c 0 pgx-logmatch -o --group --rules slowlog ${prefix:+"$prefix"} "$log" \
			>"$BATS_TEST_TMPDIR/one.ndjson" 2>"$BATS_TEST_TMPDIR/one.err" || one=$?
		pgx-logmatch -o --group --rules slowlog ${prefix:+"$prefix"} "$log" \
			>"$BATS_TEST_TMPDIR/two.ndjson" 2>"$BATS_TEST_TMPDIR/two.err" || two=$?
		assert_equal "$one $two" "3 3"
		# (a record whose time was not read has the time it was read)
		for n in one two; do
			jq -c 'if .ts_source == "read" then del(.ts) else . end' "$BATS_TEST_TMPDIR/$n.ndjson" \
				>"$BATS_TEST_TMPDIR/$n.cmp"
		done
		run cmp "$BATS_TEST_TMPDIR/one.cmp" "$BATS_TEST_TMPDIR/two.cmp"
		assert_success
		run grep -c match_group "$BATS_TEST_TMPDIR/two.cmp"
		assert_output 25
		run grep -c '"ts_source":"read"' "$BATS_TEST_TMPDIR/two.ndjson"
		assert_output 2
		run diff <(sort "$BATS_TEST_TMPDIR/one.err") <(sort "$BATS_TEST_TMPDIR/two.err")
		assert_success
	done
	# the later part's records carry their own line numbers and occurrences
	run jq -r 'select(.type == "match") | [.rule, .occurrence, .lineno, .captures.statement] | @tsv' \
		"$BATS_TEST_TMPDIR/two.ndjson"
	early="$(grep -n 'SELECT early_1' "$log" | cut -d: -f1)"
	late="$(grep -n 'SELECT late_1' "$log" | cut -d: -f1)"
	assert_output "$(printf 'query_statement\t1\t%s\tSELECT early_1\n' "$early")
$(printf 'query_duration_only\t1\t%s\t\n' $((early + 1)))
$(printf 'query_statement\t2\t%s\tSELECT early_2\n' $((early + 2)))
$(printf 'query_statement\t3\t%s\tSELECT early_\xef\xbf\xbd\n' $((early + 3)))
$(printf 'query_statement\t4\t%s\tSELECT late_1\n' "$late")
$(printf 'query_duration_only\t2\t%s\t\n' $((late + 1)))
$(printf 'query_statement\t5\t%s\tSELECT late_2\n' $((late + 2)))
$(printf 'query_statement\t6\t%s\tSELECT late_\xef\xbf\xbd' $((late + 3)))"
	run grep -c ":$((late + 3)): invalid UTF-8" "$BATS_TEST_TMPDIR/two.err"
	assert_output 1
	run grep -c "2 lines carry a time pgx could not read (the first, line $((early + 2))" "$BATS_TEST_TMPDIR/two.err"
	assert_output 1
}

@test "a match_group record sums its shape's runs: count, total, max, p95, first and last seen, the slowest example" {
	{
		for i in $(seq 1 20); do
			printf '2026-11-22 10:00:%02d.500 UTC [7] 00000 LOG:  duration: %d.250 ms  statement: SELECT * FROM t WHERE id = %d\n' "$i" "$i" "$((i * 7))"
		done
		echo "2026-11-22 10:01:00.000 UTC [7] 00000 LOG:  duration: 0.5 ms  statement: SELECT 1"
	} >"$BATS_TEST_TMPDIR/pg.log"
	run pgx-logmatch -o --group --rules slowlog "$BATS_TEST_TMPDIR/pg.log"
	assert_success
	assert_equal "${#lines[@]}" 2
	run jq -c 'select(.key == "select * from t where id = ?")
		| [.rule, .by, .normalize, .count, .measure, .total, .max, .p95, .first_seen, .last_seen, .example, (.values | length), .values[0], .ts == .last_seen]' <<<"$output"
	# 20 runs of i.250 ms: total 215, p95 the 19th smallest; 10:00:01.5 is 1795341601.5
	assert_output '["query_duration","statement","sql",20,"duration_ms",215,20.25,19.25,1795341601.5,1795341620.5,"SELECT * FROM t WHERE id = 140",20,1.25,true]'
}

@test "a time with another byte where a digit goes is not compared as text: first and last seen are the readable times" {
	# ':' and '/' are the bytes either side of the digits; "10:00:0:" would
	# sort after "10:00:05" as text, and stay last_seen (unreadable: null)
	for c in : / a; do
		{
			echo "2026-11-22 10:00:05.000 UTC [7] LOG:  duration: 1 ms  statement: SELECT 1"
			echo "2026-11-22 10:00:0$c.000 UTC [7] LOG:  duration: 2 ms  statement: SELECT 1"
			echo "2026-11-22 10:00:01.000 UTC [7] LOG:  duration: 3 ms  statement: SELECT 1"
		} >"$BATS_TEST_TMPDIR/pg.log"
		run --separate-stderr pgx-logmatch -o --group --rules slowlog "$BATS_TEST_TMPDIR/pg.log"
		assert_success
		assert_equal "$stderr" ""
		assert_equal "$(jq -c '[.count, .first_seen, .last_seen]' <<<"$output")" '[3,1795341601,1795341601]'
	done
}

@test "lines out of order, at equal times and with an unreadable time: first seen the earliest, last seen the latest" {
	# a line no earlier than last_seen skips the first_seen comparison; 03
	# comes after an unreadable time (last_seen) and is the earliest
	for t in 05 05 0: 03 07; do
		echo "2026-11-22 10:00:$t.000 UTC [7] LOG:  duration: 1 ms  statement: SELECT 1"
	done >"$BATS_TEST_TMPDIR/pg.log"
	run --separate-stderr pgx-logmatch -o --group --rules slowlog "$BATS_TEST_TMPDIR/pg.log"
	assert_success
	assert_equal "$(jq -c '[.count, .first_seen, .last_seen]' <<<"$output")" '[5,1795341603,1795341607]'
}

@test "a group of a rule names captures of its regex, and no occurrence" {
	cat >"$BATS_TEST_TMPDIR/r.yaml" <<-'EOF'
	timestamp: read
	patterns:
	  - name: slow
	    regex: 'took (?<ms>\d+) ms: (?<what>.*)'
	    group: { by: nope, measure: ms }
	EOF
	run pgx-logmatch --check-rules --rules "$BATS_TEST_TMPDIR/r.yaml"
	assert_failure 2
	assert_output --partial 'group by "nope" is not a named group of its regex'
	sed -i 's/by: nope, measure: ms/by: what, measure: ms, colour: red/' "$BATS_TEST_TMPDIR/r.yaml"
	run pgx-logmatch --check-rules --rules "$BATS_TEST_TMPDIR/r.yaml"
	assert_failure 2
	assert_output --partial 'unknown group key "colour"'
	sed -i 's/, colour: red//' "$BATS_TEST_TMPDIR/r.yaml"
	printf '    occurrence: 2\n' >>"$BATS_TEST_TMPDIR/r.yaml"
	run pgx-logmatch --check-rules --rules "$BATS_TEST_TMPDIR/r.yaml"
	assert_failure 2
	assert_output --partial 'group and occurrence do not go together'
	# without --group a rule with group: still emits one match record per line
	sed -i '$d' "$BATS_TEST_TMPDIR/r.yaml"
	run pgx-logmatch -o --rules "$BATS_TEST_TMPDIR/r.yaml" <<<$'took 5 ms: a\ntook 7 ms: a\ntook 1 ms: b'
	assert_success
	assert_equal "$(jq -r .type <<<"$output" | paste -sd ' ')" "match match match"
	run pgx-logmatch -o --group --rules "$BATS_TEST_TMPDIR/r.yaml" <<<$'took 5 ms: a\ntook 7 ms: a\ntook 1 ms: b'
	assert_success
	assert_equal "$(jq -c '[.key, .count, .total, .values]' <<<"$output" | paste -sd ' ')" '["a",2,12,[5,7]] ["b",1,1,[1]]'
}

@test "errors by SQLSTATE, lock waits, temp files, checkpoints and autovacuum runs match the ground truth" {
	t="$BATS_TEST_TMPDIR/truth.ndjson"
	python3 "$GEN" --lines 6000 --seed 12 --truth "$t" >"$BATS_TEST_TMPDIR/pg.log"
	slowlog "$BATS_TEST_TMPDIR/pg.log" -f json >"$BATS_TEST_TMPDIR/got.json"
	run jq -c '[.errors[] | {sqlstate, severity, count}] | sort_by(.sqlstate)' "$BATS_TEST_TMPDIR/got.json"
	assert_output "$(jq -sc 'map(select(.kind == "error")) | group_by(.sqlstate)
		| map({sqlstate: .[0].sqlstate, severity: .[0].severity, count: length})' "$t")"
	run jq -c '[.lock_waits.count, .lock_waits.max_wait_ms, .temp_files.count, .temp_files.total_bytes,
		    .checkpoints.count, .checkpoints.buffers, .autovacuum.vacuum, .autovacuum.analyze]' "$BATS_TEST_TMPDIR/got.json"
	assert_output "$(jq -sc '[(map(select(.kind == "lock_wait")) | length, (map(.ms) | max)),
		(map(select(.kind == "temp_file")) | length, (map(.bytes) | add)),
		(map(select(.kind == "checkpoint")) | length, (map(.buffers) | add)),
		(map(select(.kind == "autovacuum" and .what == "vacuum")) | length),
		(map(select(.kind == "autovacuum" and .what == "analyze")) | length)]' "$t")"
}

@test "a statement written over several lines is one shape, joined from its tab-led lines" {
	python3 "$GEN" --lines 3000 --seed 13 --truth "$BATS_TEST_TMPDIR/truth.ndjson" >"$BATS_TEST_TMPDIR/pg.log"
	grep -q $'^\t  FROM orders o' "$BATS_TEST_TMPDIR/pg.log" || fail "the generator wrote no multi-line statement"
	want="$(jq -s 'map(select(.kind == "query" and (.shape | startswith("select o.id")))) | length' "$BATS_TEST_TMPDIR/truth.ndjson")"
	run pgx-logmatch -o --rules slowlog "$BATS_TEST_TMPDIR/pg.log"
	assert_success
	run jq -r 'select(.rule == "query_duration" and (.captures.statement | startswith("SELECT o.id")))
		| .captures.statement' <<<"$output"
	assert_line --index 0 "SELECT o.id, c.name"
	assert_line --index 1 "  FROM orders o"
	slowlog "$BATS_TEST_TMPDIR/pg.log" -f json -n 100 >"$BATS_TEST_TMPDIR/got.json"
	run jq '.queries[] | select(.query | startswith("select o.id")) | .count' "$BATS_TEST_TMPDIR/got.json"
	assert_output "$want"
}

@test "literals, parameters, IN lists, comments, case and spacing fold into one shape" {
	{
		echo "2026-11-22 10:00:00.001 UTC [1] LOG:  duration: 1.000 ms  statement: SELECT * FROM t WHERE a = 1 AND b = 'x' AND c IN (1, 2, 3)"
		echo "2026-11-22 10:00:00.002 UTC [1] LOG:  duration: 2.000 ms  statement: select *   from T where a=2.5e3 and b='it''s' and c in (7);"
		echo "2026-11-22 10:00:00.003 UTC [1] LOG:  duration: 3.000 ms  execute S_1: SELECT * FROM t /* c */ WHERE a = \$1 AND b = E'\\'q' AND c IN (\$2, \$3)"
		echo "2026-11-22 10:00:00.004 UTC [1] LOG:  duration: 4.000 ms  statement: -- header"
		printf '\tSELECT * FROM t WHERE a = -0 AND b = $$x$$ AND c IN (1,2)\n'
		echo "2026-11-22 10:00:00.005 UTC [1] LOG:  duration: 5.000 ms  statement: SELECT * FROM t WHERE a = 1 AND \"B\" = 'x' AND c IN (1)"
		echo "2026-11-22 10:00:00.006 UTC [1] LOG:  duration: 6.000 ms  statement: SELECT * FROM t2 WHERE a = 1 AND b = 'x' AND c IN (1)"
	} >"$BATS_TEST_TMPDIR/pg.log"
	run slowlog "$BATS_TEST_TMPDIR/pg.log" -f json
	assert_success
	run jq -c '.queries[] | [.query, .count, .total_ms, .max_ms]' <<<"$output"
	assert_line --index 0 '["select * from t where a = ? and b = ? and c in (...)",4,10,4]'
	assert_line --index 1 '["select * from t2 where a = ? and b = ? and c in (...)",1,6,6]'
	assert_line --index 2 '["select * from t where a = ? and \"B\" = ? and c in (...)",1,5,5]'
}

@test "log_statement and log_duration lines are paired by process" {
	cat >"$BATS_TEST_TMPDIR/pg.log" <<-'EOF'
	2026-11-22 10:00:00.001 UTC [11] LOG:  statement: SELECT 1
	2026-11-22 10:00:00.002 UTC [22] LOG:  statement: SELECT 2
	2026-11-22 10:00:00.003 UTC [22] LOG:  duration: 7.000 ms
	2026-11-22 10:00:00.004 UTC [11] LOG:  duration: 5.000 ms
	2026-11-22 10:00:00.005 UTC [33] LOG:  duration: 1.000 ms
	EOF
	run slowlog "$BATS_TEST_TMPDIR/pg.log" -f json
	assert_success
	run jq -c '[.statements, .total_ms, .unpaired_durations, .queries[0].count, .queries[0].max_ms]' <<<"$output"
	assert_output '[2,12,1,2,7]'
}

@test "the table fits 80 columns and names the slowest shape first" {
	python3 "$GEN" --lines 3000 --seed 14 --truth "$BATS_TEST_TMPDIR/truth.ndjson" >"$BATS_TEST_TMPDIR/pg.log"
	run slowlog "$BATS_TEST_TMPDIR/pg.log" -n 5
	assert_success
	while IFS= read -r line; do
		[ "${#line}" -le 80 ] || fail "${#line} columns: $line"
	done <<<"$output"
	first="$(expected_top "$BATS_TEST_TMPDIR/truth.ndjson" 1 | jq -r '.[0].query')"
	assert_line --index 0 --regexp '^Slow log: [0-9]+ statements in 12 shapes, '
	assert_line --index 1 --regexp '^from 2026-11-22 00:00:00 to 2026-11-22 00:00:[0-9]{2} UTC$'
	assert_line --index 3 --regexp '^  1 '	# $lines has no empty lines
	assert_line --index 4 "     ${first:0:75}"
	assert_line --partial "Errors by SQLSTATE"
	assert_line --regexp '^Checkpoints +[1-9]'
	assert_output --partial "more shapes; -n to show them"
}

@test "records mode writes one slow_query record per Top-N row, then a slowlog_summary" {
	python3 "$GEN" --lines 3000 --seed 15 --truth "$BATS_TEST_TMPDIR/truth.ndjson" >"$BATS_TEST_TMPDIR/pg.log"
	run slowlog "$BATS_TEST_TMPDIR/pg.log" -f records -n 3
	assert_success
	[ "${#lines[@]}" -eq 4 ] || fail "${#lines[@]} records"
	run jq -c '[.type, .rank, (keys_unsorted[:3]), (.count > 0), (.first_seen <= .last_seen), (.ts == .last_seen),
		     (has("query") and has("total_ms") and has("mean_ms") and has("p95_ms") and has("max_ms") and has("example"))]' <<<"$output"
	assert_line --index 0 '["slow_query",1,["type","ts","src"],true,true,true,true]'
	assert_line --index 2 '["slow_query",3,["type","ts","src"],true,true,true,true]'
	assert_line --index 3 --partial '["slowlog_summary",null'
}

# pgbadger keeps dollar-quoted literals (one row per value) and now and then
# splits a multi-line statement in two: the log for it has neither.
@test "the top-10 shapes and their counts are pgbadger's on the same log" {
	command -v pgbadger >/dev/null || skip "pgbadger not installed"
	python3 "$GEN" --lines 8000 --seed 16 --no-dollar-quotes --single-line >"$BATS_TEST_TMPDIR/pg.log"
	timeout 120 pgbadger --pid-dir "$BATS_TEST_TMPDIR" -q -j 1 -f stderr --prefix '%m [%p] %e ' -x json -o "$BATS_TEST_TMPDIR/pgbadger.json" \
		"$BATS_TEST_TMPDIR/pg.log"
	badger="$(jq -c '.normalyzed_info.postgres | to_entries | map([.value.count, (.value.duration * 1000 | round)])
		| sort_by(-.[1]) | .[:10]' "$BATS_TEST_TMPDIR/pgbadger.json")"
	slowlog "$BATS_TEST_TMPDIR/pg.log" -f json -n 10 >"$BATS_TEST_TMPDIR/got.json"
	run jq -c '.queries | map([.count, (.total_ms * 1000 | round)])' "$BATS_TEST_TMPDIR/got.json"
	assert_output "$badger"
	# the same statements stand behind each row: pgbadger's sample, normalized by us, is our shape
	jq -r '.normalyzed_info.postgres | to_entries | sort_by(-.value.duration) | .[:10][]
		| .value.samples | to_entries[0].value.query | gsub("\n"; " ")' "$BATS_TEST_TMPDIR/pgbadger.json" \
		>"$BATS_TEST_TMPDIR/samples"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/samples")" -eq 10 ] || fail "pgbadger has fewer than 10 top queries"
	i=0
	while IFS= read -r sample; do
		echo "2026-11-22 10:00:00.000 UTC [1] LOG:  duration: 1.000 ms  statement: $sample" >"$BATS_TEST_TMPDIR/one.log"
		shape="$(slowlog "$BATS_TEST_TMPDIR/one.log" -f json | jq -r '.queries[0].query')"
		assert_equal "$shape" "$(jq -r ".queries[$i].query" "$BATS_TEST_TMPDIR/got.json")"
		i=$((i + 1))
	done <"$BATS_TEST_TMPDIR/samples"
}

# A real server with every slow-log setting on, a known workload, and its own logs.
workload() {
	cat >"$BATS_TEST_TMPDIR/w.sql" <<-'EOF'
	CREATE TABLE t (id int PRIMARY KEY, note text);
	INSERT INTO t SELECT g, 'x' FROM generate_series(1, 2000) g;
	SELECT * FROM t WHERE id = 1;
	SELECT * FROM t WHERE id = 22;
	SELECT * FROM t WHERE id = 333;
	SELECT * FROM t WHERE id = 4444;
	SELECT * FROM t WHERE id = 5;
	SELECT count(*)
	  FROM t
	 WHERE note = 'x';
	SELECT count(*)
	  FROM t
	 WHERE note = 'y';
	SELECT count(*)
	  FROM t
	 WHERE note = 'z';
	SET work_mem = '64kB';
	SELECT count(*) FROM (SELECT g FROM generate_series(1, 100000) g ORDER BY g DESC) s;
	RESET work_mem;
	UPDATE t SET note = 'w';
	CHECKPOINT;
	EOF
	psql_q -f "$BATS_TEST_TMPDIR/w.sql" >/dev/null
	for i in 1 2; do psql_q -c "SELECT * FROM no_such_table_$i" 2>/dev/null && return 1; done
	psql_q -c "BEGIN; LOCK TABLE t; SELECT pg_sleep(1); COMMIT;" >/dev/null &
	sleep 0.3
	psql_q -c "SELECT count(*) FROM t" >/dev/null
	wait
}

wait_for_logs() {	# until every log has the marker statement and an autovacuum run
	local f i
	psql_q -c "SELECT 'pgx-end-marker'" >/dev/null
	for i in $(seq 1 300); do
		for f in "$@"; do
			grep -q "pgx-end-marker" "$f" && grep -q "automatic vacuum of table" "$f" || { sleep 0.1; continue 2; }
		done
		return 0
	done
	fail "the server logs never showed the marker and an autovacuum run"
}

@test "a real PostgreSQL 15's stderr, csvlog and jsonlog give the same shapes and counts" {
	local settings=(-c "log_destination=$(pg_all_log_destinations)" -c "log_line_prefix='%m [%p] %e '"
		-c log_min_duration_statement=0 -c log_lock_waits=on -c deadlock_timeout=100ms
		-c log_temp_files=0 -c log_checkpoints=on -c log_autovacuum_min_duration=0
		-c autovacuum_naptime=1)
	pg_start "${settings[*]}"
	workload
	wait_for_logs $(printf "$PGX_PG_DIR/log/%s " $(pg_all_log_files))
	# stopped, the server has written the same events to every log
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PGX_PG_DIR/data" -m fast -w stop >/dev/null
	d="$BATS_TEST_TMPDIR/log"
	cp -r "$PGX_PG_DIR/log" "$d"
	pg_stop
	for f in $(pg_all_log_files); do
		slowlog "$d/$f" -f json -n 1000 >"$BATS_TEST_TMPDIR/$f.json" || fail "$f: exit $?"
		run jq -c '[(.queries[] | select(.query == "select * from t where id = ?") | .count),
			    (.queries[] | select(.query == "select count(*) from t where note = ?") | .count),
			    ([.errors[] | select(.sqlstate == "42P01") | .count] | add),
			    (.lock_waits.count > 0), (.temp_files.count > 0), (.checkpoints.count > 0),
			    (.autovacuum.vacuum > 0)]' "$BATS_TEST_TMPDIR/$f.json"
		assert_output '[5,3,2,true,true,true,true]'
		# and through match_group records, the very same report
		assert_same_report "$d/$f" -f json -n 1000
	done
	# the same counts of each event in the three formats, as many as the stderr log has lines for
	for key in statements shapes lock_waits.count temp_files.count temp_files.total_bytes checkpoints.count \
		autovacuum.vacuum; do
		a="$(jq ".$key" "$BATS_TEST_TMPDIR/postgresql.log.json")"
		assert_equal "$(jq ".$key" "$BATS_TEST_TMPDIR/postgresql.csv.json")" "$a"
		[ ! -e "$BATS_TEST_TMPDIR/postgresql.json.json" ] ||
			assert_equal "$(jq ".$key" "$BATS_TEST_TMPDIR/postgresql.json.json")" "$a"
	done
	assert_equal "$(jq .temp_files.count "$BATS_TEST_TMPDIR/postgresql.log.json")" \
		"$(grep -c 'LOG:  temporary file: ' "$d/postgresql.log")"
	assert_equal "$(jq .lock_waits.count "$BATS_TEST_TMPDIR/postgresql.log.json")" \
		"$(grep -c 'still waiting for' "$d/postgresql.log")"
}

@test "csvlog and jsonlog carry the SQLSTATE into match records" {
	printf '%s\n' '2026-11-22 10:00:00.123 UTC,"app","db",4242,"[local]",1,1,"SELECT",2026-11-22 10:00:00 UTC,3/4,0,ERROR,42P01,"relation ""x"" does not exist",,,,,,"SELECT * FROM x",15,,"psql","client backend",,0' >"$BATS_TEST_TMPDIR/pg.csv"
	run pgx-logmatch -o --rules slowlog "$BATS_TEST_TMPDIR/pg.csv"
	assert_success
	run jq -c '[.rule, .sqlstate, .pid, .captures.message]' <<<"$output"
	assert_output '["sql_error","42P01",4242,"relation \"x\" does not exist"]'
	echo '{"timestamp":"2026-11-22 10:00:00.123 UTC","pid":7,"error_severity":"ERROR","state_code":"23505","message":"dup"}' >"$BATS_TEST_TMPDIR/pg.json"
	run pgx-logmatch -o --rules slowlog "$BATS_TEST_TMPDIR/pg.json"
	assert_success
	run jq -c '[.rule, .sqlstate, .pid]' <<<"$output"
	assert_output '["sql_error","23505",7]'
}

@test "without tab_continuation (the default rules) tab-led lines stay lines of their own" {
	printf '2026-11-22 10:00:00.001 UTC [1] ERROR:  a\n\tb\n' >"$BATS_TEST_TMPDIR/pg.log"
	run pgx-logmatch "$BATS_TEST_TMPDIR/pg.log"
	assert_success
	[ "${#lines[@]}" -eq 2 ] || fail "${#lines[@]} records"
	run pgx-logmatch -o --rules slowlog "$BATS_TEST_TMPDIR/pg.log"
	assert_success
	run jq -c '.captures.message' <<<"$output"
	assert_output '"a"'
}

@test "a plain log given to pgx-report slowlog is bad input with a hint" {
	python3 "$GEN" --lines 50 >"$BATS_TEST_TMPDIR/pg.log"
	run timeout 10 pgx-report slowlog "$BATS_TEST_TMPDIR/pg.log"
	assert_failure 3
	assert_line --index 0 --regexp "^pgx-report: error: .*/pg.log:1: "
	assert_output --partial "stopped reading it"
	assert_output --partial "pgx-report: hint: pgx-report slowlog reads records: pgx-logmatch"
	[ "$(grep -c 'error: .*pg.log:[0-9]*:' <<<"$output")" -eq 5 ] || fail "not five line errors"
}

@test "records longer than 1 MiB are skipped as in every other view, unless --max-line-length allows them" {
	# one shape run 300000 times: its match_group record is about 1.2 MB
	python3 -c '
import json
head = {"type": "match_group", "ts": 2, "src": "pgx-logmatch", "rule": "query_duration",
        "by": "statement", "normalize": "sql", "key": "select ?", "count": 300000,
        "first_seen": 1, "last_seen": 2, "example": "SELECT 1", "measure": "duration_ms",
        "total": 2250000, "max": 12.5, "p95": 12.5}
line = json.dumps(head, separators=(",", ":"))[:-1]
print(line + ",\"values\":[" + ",".join(["7.5"] * 300000) + "]}")' >"$BATS_TEST_TMPDIR/big.ndjson"
	[ "$(wc -c <"$BATS_TEST_TMPDIR/big.ndjson")" -gt $((1 << 20)) ]
	run --separate-stderr pgx-report slowlog -f json "$BATS_TEST_TMPDIR/big.ndjson"
	assert_failure 3
	assert_equal "$(head -1 <<<"$stderr")" "pgx-report: error: $BATS_TEST_TMPDIR/big.ndjson:1: line longer than 1048576 bytes, skipped"
	assert_equal "$(jq -c '[.statements, .queries]' <<<"$output")" '[0,[]]'
	run --separate-stderr pgx-report slowlog -L 2M -f json "$BATS_TEST_TMPDIR/big.ndjson"
	assert_success
	assert_equal "$(jq -c '.queries[0] | [.count, .total_ms, .p95_ms]' <<<"$output")" '[300000,2250000,7.5]'
	run pgx-report slowlog --max-line-length 2G /dev/null
	assert_failure 2
}

@test "usage errors: an unknown format, a bad -n, options before slowlog, a missing file" {
	run pgx-report slowlog -f svg
	assert_failure 2
	assert_output --partial 'invalid value "svg" for option --format (use table, json or records)'
	run pgx-report slowlog -n 0
	assert_failure 2
	run pgx-report -n 3 slowlog
	assert_failure 2
	assert_output --partial "slowlog comes first"
	run pgx-report slowlog "$BATS_TEST_TMPDIR/missing.ndjson"
	assert_failure 3
	assert_output --partial "missing.ndjson"
	run pgx-report slowlog --help
	assert_success
	assert_output --partial "Usage:"
	assert_output --partial "slowlog [OPTION]... [FILE]..."
}

@test "input without slowlog records is an empty report with a warning, not an error" {
	echo '{"type":"phase","ts":1,"name":"initdb"}' >"$BATS_TEST_TMPDIR/other.ndjson"
	run pgx-report slowlog -f json "$BATS_TEST_TMPDIR/other.ndjson"
	assert_success
	assert_line --index 0 --partial "warning: no slowlog match records"
	run jq -c '[.statements, .queries]' <<<"${lines[1]}"
	assert_output '[0,[]]'
}

@test "pgx-logmatch --rules slowlog and pgx-report slowlog leak nothing (valgrind)" {
	require_valgrind pgx-report
	vg=(valgrind --quiet --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99)
	python3 "$GEN" --lines 1500 --seed 17 >"$BATS_TEST_TMPDIR/pg.log"
	printf '2026-11-22 10:00:00.001 UTC [11] LOG:  statement: SELECT 1\n2026-11-22 10:00:00.002 UTC [12] LOG:  duration: 1.000 ms\n' \
		>>"$BATS_TEST_TMPDIR/pg.log"
	run "${vg[@]}" pgx-logmatch -o --rules slowlog "$BATS_TEST_TMPDIR/pg.log"
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/m.ndjson"
	for f in table json records; do
		run "${vg[@]}" pgx-report slowlog -f "$f" -n 3 "$BATS_TEST_TMPDIR/m.ndjson"
		assert_success
	done
	run "${vg[@]}" pgx-logmatch -o --group --rules slowlog "$BATS_TEST_TMPDIR/pg.log"
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/g.ndjson"
	run "${vg[@]}" pgx-report slowlog -f json "$BATS_TEST_TMPDIR/g.ndjson" "$BATS_TEST_TMPDIR/m.ndjson"
	assert_success
	run "${vg[@]}" pgx-report slowlog "$BATS_TEST_TMPDIR/pg.log"
	assert_failure 3	# not NDJSON; 99 would mean a leak or a memory error
}

@test "an empty statement first in a log (a driver's keep-alive) is counted, not a crash" {
	printf '2024-01-01 00:00:00 UTC [1] LOG:  duration: 0.027 ms  statement: \n2024-01-01 00:00:01 UTC [1] LOG:  duration: 1.5 ms  statement: SELECT 1\n' \
		>"$BATS_TEST_TMPDIR/keepalive.log"
	run pgx-logmatch -o --group --rules slowlog "$BATS_TEST_TMPDIR/keepalive.log"
	assert_success
	assert_equal "$(jq -s -c 'map([.key, .count])' <<<"$output")" '[["",1],["select ?",1]]'
	run bash -c "pgx-logmatch -o --rules slowlog '$BATS_TEST_TMPDIR/keepalive.log' | pgx-report slowlog"
	assert_success
	assert_line --index 0 "Slow log: 2 statements in 2 shapes, 0.002 s in all"
}

@test "slowlog --help, the man page and the completion list the same options" {
	local opt
	run pgx-report slowlog --help
	assert_success
	for opt in $(grep -oE -- '^ +(-[a-zA-Z], )?--[a-z][a-z0-9-]+' <<<"$output" | grep -oE -- '--[a-z0-9-]+'); do
		grep -q -- "Fl ${opt#-}" "$PGX_TEST_DIR/../man/pgx-report.1" || fail "$opt not in man/pgx-report.1"
		grep -q -- "$opt" "$PGX_TEST_DIR/../completions/pgx-report" || fail "$opt not in completions/pgx-report"
	done
}

progress_input() {	# match records of a log with a few thousand entries
	python3 "$GEN" --lines 6000 --seed 21 >"$BATS_TEST_TMPDIR/pg.log"
	pgx-logmatch -o --rules slowlog "$BATS_TEST_TMPDIR/pg.log" >"$BATS_TEST_TMPDIR/matches.ndjson"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/matches.ndjson")" -ge 1024 ] || fail "too few records to show progress"
}

@test "on a terminal, slowlog shows its progress through a file, erased before the report" {
	progress_input
	run_on_terminal "pgx-report slowlog '$BATS_TEST_TMPDIR/matches.ndjson'"
	assert_success
	assert_output --regexp $'^\rmatches\\.ndjson: [0-9.]+ [KM]iB of [0-9.]+ [KM]iB \\([0-9]+%\\), [0-9]+ lines, .*left\e\\[K'
	assert_output --regexp $'\r\e\\[KSlow log: '
}

@test "slowlog: no progress from a pipe or into a pipe, --no-progress on a terminal, --progress into a file" {
	progress_input
	run_on_terminal "cat '$BATS_TEST_TMPDIR/matches.ndjson' | pgx-report slowlog -f json >/dev/null"
	assert_success
	assert_output ""
	run_on_terminal "pgx-report slowlog --no-progress -f json '$BATS_TEST_TMPDIR/matches.ndjson' >/dev/null"
	assert_success
	assert_output ""
	run --separate-stderr pgx-report slowlog -f json "$BATS_TEST_TMPDIR/matches.ndjson"
	assert_success
	assert_equal "$stderr" ""
	pgx-report slowlog --progress -f json "$BATS_TEST_TMPDIR/matches.ndjson" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --regexp $'^\rmatches\\.ndjson: .* lines, .*\r\e\\[K$'
	jq -e .statements "$BATS_TEST_TMPDIR/out" >/dev/null || fail "stdout is not the JSON report"
}

# test/fixtures/logformats: one small log written in every format pgx-logmatch
# reads (README.md there says where each layout comes from).
SAMPLES="stderr.log stderr-prefix.log rds.log azure.log postgresql.csv postgresql.json syslog.log logplex.log
	cloudsql.ndjson cnpg.ndjson"

samples_copy() {	# the samples in $BATS_TEST_TMPDIR/s; syslog's year inferred from a 2024 mtime
	cp -r "$PGX_FIXTURES/logformats" "$BATS_TEST_TMPDIR/s"
	touch -d '2024-12-31 00:00:00 UTC' "$BATS_TEST_TMPDIR/s/syslog.log"
}

@test "every log format gives the same report per line and with --group, first and last seen included" {
	samples_copy
	for f in $SAMPLES; do
		for fmt in json table; do
			assert_same_report "$BATS_TEST_TMPDIR/s/$f" -f "$fmt" -n 10
		done
		slowlog "$BATS_TEST_TMPDIR/s/$f" -f json -n 10 >"$BATS_TEST_TMPDIR/$f.json" || fail "$f: exit $?"
		# the same statements in every format; the DELETE shape's second line
		# (13:15:44) is stamped before its first (13:15:48): its first and last seen
		run jq -c '[.statements, .shapes, (.queries | map([.query, .count, .total_ms])),
			    (.queries[] | select(.query | startswith("delete")) | [.first_seen, .last_seen] | map(floor))]' \
			"$BATS_TEST_TMPDIR/$f.json"
		assert_output '[11,4,[["select count(*) from orders where status = ?",2,560.5],["select * from item where id = ?",4,30],["delete from cart where session = ?",2,9],["update item set qty = qty - ? where id = ?",3,7]],[1707657344,1707657348]]'
		# and so says its match_group record (the report would hide a swap)
		run bash -c "pgx-logmatch -o --group --rules slowlog '$BATS_TEST_TMPDIR/s/$f' |
			jq -c 'select(.key == \"delete from cart where session = ?\") | [.first_seen, .last_seen] | map(floor)'"
		assert_output '[1707657344,1707657348]'
	done
	# syslog has no year: inferred, and the records say so
	run bash -c "pgx-logmatch -o --rules slowlog '$BATS_TEST_TMPDIR/s/syslog.log' | jq -c '[.format, .year_inferred, .ts]' | head -1"
	assert_output '["syslog",true,1707657339]'
	run bash -c "pgx-logmatch -o --group --rules slowlog '$BATS_TEST_TMPDIR/s/syslog.log' | jq -c .year_inferred | sort -u"
	assert_output 'true'
}

# How pgbadger reads each sample: its -f (and --prefix), or, for the JSON of
# managed services it has no reader for, the sample turned into a format it
# reads (Cloud SQL's textPayload is a stderr line; CloudNativePG's record has
# the csvlog columns, renamed to jsonlog's).
badger_reads() {	# badger_reads SAMPLE OUT.json
	local s="$BATS_TEST_TMPDIR/s/$1" args
	case "$1" in
	stderr.log) args=(-f stderr --prefix '%m [%p] ') ;;
	stderr-prefix.log) args=(-f stderr --prefix '%t [%p]: user=%u,db=%d,app=%a,client=%h ') ;;
	rds.log) args=(-f rds) ;;
	azure.log) args=(-f stderr --prefix '%t-%c-') ;;
	postgresql.csv) args=(-f csv) ;;
	postgresql.json) args=(-f jsonlog) ;;
	syslog.log) args=(-f syslog --prefix 'user=%u,db=%d ') ;;
	logplex.log) args=(-f logplex) ;;
	cloudsql.ndjson)
		jq -r .textPayload "$s" >"$BATS_TEST_TMPDIR/cloudsql.log"
		s="$BATS_TEST_TMPDIR/cloudsql.log" args=(-f stderr --prefix '%m [%p]: [%l-1] db=%d,user=%u ') ;;
	cnpg.ndjson)
		jq -c '.record | {timestamp: .log_time, user: .user_name, dbname: .database_name,
			pid: (.process_id | tonumber), session_id, line_num: (.session_line_num | tonumber),
			ps: .command_tag, session_start: .session_start_time, vxid: .virtual_transaction_id,
			txid: (.transaction_id | tonumber), error_severity, state_code: .sql_state_code, message,
			statement: .query, application_name, backend_type} | with_entries(select(.value != null))' \
			"$s" >"$BATS_TEST_TMPDIR/cnpg.log"
		s="$BATS_TEST_TMPDIR/cnpg.log" args=(-f jsonlog) ;;
	esac
	timeout 120 pgbadger --pid-dir "$BATS_TEST_TMPDIR" -q -j 1 "${args[@]}" -x json -o "$2" "$s"
}

# Where pgbadger is wrong: in logplex.log it keeps the header of a message's
# continued part ("... app[postgres.4101]: [DATABASE] [3-2]") inside the
# statement, so its shape of the multi-line statement is compared by count and
# total only (both sides' text blanked for that sample's multi-line shape).
blank_logplex_multiline='map(if .[0] | test("app\\[postgres\\.|^select count") then .[0] = "(multi-line)" else . end)'

@test "each format's statement count, totals and top shapes are pgbadger's on the same sample" {
	command -v pgbadger >/dev/null || skip "pgbadger not installed"
	samples_copy
	for f in $SAMPLES; do
		fix='.'
		[ "$f" = logplex.log ] && fix="$blank_logplex_multiline"
		badger_reads "$f" "$BATS_TEST_TMPDIR/badger.json" || fail "pgbadger on $f: exit $?"
		badger="$(jq -c '[.overall_stat.queries_number, (.normalyzed_info.postgres | to_entries
			| sort_by(-.value.duration) | map([(.key | rtrimstr(";")), .value.count, (.value.duration * 1000 | round)])
			| '"$fix"')]' "$BATS_TEST_TMPDIR/badger.json")"
		[ "$badger" != '[0,[]]' ] || fail "pgbadger read nothing from $f"
		ours="$(slowlog "$BATS_TEST_TMPDIR/s/$f" -f json -n 10 | jq -c '[.statements,
			(.queries | map([.query, .count, (.total_ms * 1000 | round)]) | '"$fix"')]')"
		assert_equal "$f: $ours" "$f: $badger"
	done
}

@test "--min-mean-ms and --min-total-ms leave the shapes under them out of the Top-N, and say how many" {
	f="$PGX_FIXTURES/logformats/stderr.log"
	run bash -c "pgx-logmatch -o --rules slowlog '$f' | pgx-report slowlog -f json --min-mean-ms 5"
	assert_success
	# means: 280.25, 7.5, 4.5 and 2.333 ms; the statements still count them all
	assert_equal "$(jq -c '[.statements, .shapes, .shapes_below_threshold, (.queries | map(.mean_ms))]' <<<"$output")" \
		'[11,4,2,[280.25,7.5]]'
	run bash -c "pgx-logmatch -o --group --rules slowlog '$f' | pgx-report slowlog -f json --min-total-ms 9"
	assert_equal "$(jq -c '[.shapes_below_threshold, (.queries | map(.total_ms))]' <<<"$output")" '[1,[560.5,30,9]]'
	run bash -c "pgx-logmatch -o --rules slowlog '$f' | pgx-report slowlog --min-total-ms 100000"
	assert_success
	assert_line '(4 shapes below --min-mean-ms or --min-total-ms)'
	assert_same_report "$f" --min-mean-ms 4.5 -f table
	run pgx-report slowlog --min-mean-ms -1 </dev/null
	assert_failure 2
	assert_output --partial 'invalid value "-1" for option --min-mean-ms (milliseconds, 0 or more)'
}

@test "log_statement and log_duration lines are paired by the process of --prefix's %c (Azure's '%t-%c-')" {
	printf '%s\n' '2024-02-11 13:15:39 UTC-65c8c72a.1005-LOG:  statement: SELECT * FROM a WHERE id = 1' \
		'2024-02-11 13:15:39 UTC-65c8c72a.1006-LOG:  statement: UPDATE b SET x = 2' \
		'2024-02-11 13:15:40 UTC-65c8c72a.1005-LOG:  duration: 1.500 ms' \
		'2024-02-11 13:15:40 UTC-65c8c72a.1006-LOG:  duration: 7.500 ms' >"$BATS_TEST_TMPDIR/az.log"
	run bash -c "pgx-logmatch -o --rules slowlog --prefix '%t-%c-' '$BATS_TEST_TMPDIR/az.log' | pgx-report slowlog -f json"
	assert_success
	assert_equal "$(jq -c '[.statements, .unpaired_durations, (.queries | map([.query, .total_ms]))]' <<<"$output")" \
		'[2,0,[["update b set x = ?",7.5],["select * from a where id = ?",1.5]]]'
	# the processes 0x1005 and 0x1006 are on the records
	run bash -c "pgx-logmatch -o --rules slowlog --prefix '%t-%c-' '$BATS_TEST_TMPDIR/az.log' | jq -c .pid | paste -sd ' '"
	assert_output '4101 4102 4101 4102'
}
