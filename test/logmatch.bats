#!/usr/bin/env bats
# pgx-logmatch: rules, timestamps, formats, pass-through and bad input.

load test_helper

setup_file() {
	load test_helper
	# One real PostgreSQL run that writes stderr, csvlog and jsonlog (15 and
	# later) at once, with an error, an extension, a multi-line message and a
	# checkpoint.
	pg_start "-c log_destination=$(pg_all_log_destinations) -c log_statement=ddl -c log_checkpoints=on"
	psql_q -c 'CREATE EXTENSION pgstattuple' >/dev/null
	psql_q -c "SELECT 'two
lines' / 0" >/dev/null 2>&1 || true
	psql_q -c 'CHECKPOINT' >/dev/null
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PGX_PG_DIR/data" -m fast -w stop >/dev/null
	export PGX_LOGS="$(mktemp -d /tmp/pgx-logs.XXXXXX)"
	cp "$PGX_PG_DIR"/log/* "$PGX_LOGS/"
	pg_stop
}

teardown_file() {
	rm -rf "$PGX_LOGS"
}

@test "pgx-logmatch answers --help, --version and rejects a bad option" {
	assert_standard_options pgx-logmatch
}

@test "pgx-logmatch documents every option in its man page and completion" {
	assert_options_documented pgx-logmatch
}

@test "a real PostgreSQL 15 stderr log yields the startup, extension, error and checkpoint matches" {
	run pgx-logmatch --only-matching "$PGX_LOGS/postgresql.log"
	assert_success
	rules="$(jq -r .rule <<<"$output" | sort -u | tr '\n' ' ')"
	for r in server_starting server_listening server_ready create_extension error checkpoint_start checkpoint_complete shutdown_request server_shutdown; do
		[[ " $rules " == *" $r "* ]] || fail "rule $r did not match; got: $rules"
	done
	run jq -r 'select(.rule=="create_extension") | .captures.extension' <<<"$output"
	assert_output pgstattuple
}

@test "match timestamps are the log's own time, to the millisecond" {
	run pgx-logmatch --only-matching "$PGX_LOGS/postgresql.log"
	assert_success
	# the ts of every match equals its line's %m prefix read by date(1)
	while IFS=$'\t' read -r ts src line; do
		[ "$src" = log ] || fail "ts_source $src for: $line"
		want="$(date -u -d "${line:0:23} UTC" +%s.%3N)"
		awk -v a="$ts" -v b="$want" 'BEGIN { d = a - b; exit !(d < 0.0005 && d > -0.0005) }' ||
			fail "ts $ts, expected $want for: $line"
	done < <(jq -r '[.ts, .ts_source, .line] | @tsv' <<<"$output")
}

@test "jsonlog is read natively: same matches and times as the stderr log" {
	pg_skip_below 15 jsonlog
	run pgx-logmatch --only-matching "$PGX_LOGS/postgresql.json"
	assert_success
	json="$(jq -c 'select(.rule=="server_ready") | [.format, .ts_source, .ts, (.pid > 0)]' <<<"$output")"
	stderr_ts="$(pgx-logmatch -o "$PGX_LOGS/postgresql.log" | jq 'select(.rule=="server_ready") | .ts')"
	assert_equal "$json" "[\"jsonlog\",\"log\",$stderr_ts,true]"
	run jq -r 'select(.rule=="error") | .line' <<<"$output"
	assert_output --partial 'ERROR:  invalid input syntax for type integer: "two'
}

@test "csvlog is read natively, including a quoted message over several lines" {
	run pgx-logmatch --only-matching "$PGX_LOGS/postgresql.csv"
	assert_success
	run jq -r 'select(.format=="csvlog") | .rule' <<<"$output"
	assert_line server_ready
	assert_line checkpoint_complete
	# the failing statement spans two lines; its entry must not split
	csv_lines="$(wc -l <"$PGX_LOGS/postgresql.csv")"
	run pgx-logmatch "$PGX_LOGS/postgresql.csv"
	assert_success
	entries="$(jq -s 'map(select(.format=="csvlog")) | length' <<<"$output")"
	[ "$entries" -lt "$csv_lines" ] || fail "$entries entries for $csv_lines lines: a quoted newline was split"
	assert_equal "$(jq -c 'select(.line | startswith("lines"))' <<<"$output")" ""
	assert_equal "$(jq -c 'select(.line | endswith("\"two\nlines\"")) | .format' <<<"$output")" '"csvlog"'
}

@test "PostgreSQL timestamp prefixes with zone names, offsets, %t and %n give exact epoch times" {
	run pgx-logmatch --only-matching "$PGX_FIXTURES/timestamps.log"
	assert_success
	run jq -r '[.lineno, .ts, .ts_source] | @tsv' <<<"$output"
	assert_line $'1\t1795317403.123\tlog'
	assert_line $'2\t1795317403.25\tlog'
	assert_line $'3\t1795317403.5\tlog'
	assert_line $'4\t1795317403\tlog'
	assert_line $'5\t1795317403\tlog'
	assert_line $'6\t1795317403.123\tlog'
	assert_line $'7\t1795317403.125\tlog'
}

@test "an unknown zone abbreviation is reported once, with the count of lines, and the read time is used" {
	printf '2026-11-22 03:16:43.123 XYZT [1] LOG:  database system is shut down\n%.0s' 1 2 >"$BATS_TEST_TMPDIR/z.log"
	run --separate-stderr pgx-logmatch -o "$BATS_TEST_TMPDIR/z.log"
	assert_success
	assert_equal "$stderr" "pgx-logmatch: warning: $BATS_TEST_TMPDIR/z.log: 2 lines carry a time pgx could not read (the first, line 1: unknown time zone abbreviation \"XYZT\"); their ts is the time they were read (ts_source \"read\"), or the carrying record's"
	run jq -r .ts_source <<<"$output"
	assert_output $'read\nread'
}

@test "a file whose lines carry a time of an unknown layout is warned about with the count; a stream is not" {
	printf '11/02/2024 13:15:39 LOG:  database system is shut down\n%.0s' 1 2 3 >"$BATS_TEST_TMPDIR/us.log"
	echo 'no time at all ERROR:  boom' >>"$BATS_TEST_TMPDIR/us.log"
	run --separate-stderr pgx-logmatch -o "$BATS_TEST_TMPDIR/us.log"
	assert_success
	assert_equal "$stderr" "pgx-logmatch: warning: $BATS_TEST_TMPDIR/us.log: 3 lines carry a time pgx could not read (the first, line 1: a time the rules' timestamp specs do not know); their ts is the time they were read (ts_source \"read\"), or the carrying record's"
	assert_equal "$(jq -r .ts_source <<<"$output" | sort | uniq -c | awk '{print $1, $2}')" "4 read"
	# the same lines as a live stream: the read time is their time
	run --separate-stderr pgx-logmatch -o <"$BATS_TEST_TMPDIR/us.log"
	assert_success
	assert_equal "$stderr" ""	# with --group: the groups whose first or last seen stays null are counted
	printf '11/02/2024 13:15:39 LOG:  duration: 1 ms  statement: SELECT 1\n' >"$BATS_TEST_TMPDIR/us2.log"
	run --separate-stderr pgx-logmatch -o --group --rules slowlog "$BATS_TEST_TMPDIR/us2.log"
	assert_success
	assert_equal "$(jq -c '[.first_seen, .last_seen]' <<<"$output")" '[null,null]'
	assert_equal "$stderr" 'pgx-logmatch: warning: 1 match_group record (the first: rule query_duration, key "select ?") has a null first_seen or last_seen: its lines carry no time pgx could read'
}

@test "--prefix reads the time where log_line_prefix puts it; without it the prefix is inferred" {
	# Azure's '%t-%c-' with a zone other than UTC, and a prefix with the time second
	printf '2024-02-11 13:15:39 CET-65c8c0a3.4d2-LOG:  database system is shut down\n' >"$BATS_TEST_TMPDIR/az.log"
	printf '[77] 2024-02-11 13:15:39.250 CET app@db LOG:  database system is shut down\n' >"$BATS_TEST_TMPDIR/p.log"
	run pgx-logmatch -o "$BATS_TEST_TMPDIR/az.log"
	assert_equal "$(jq -c '[.ts, .ts_source]' <<<"$output")" '[1707653739,"log"]'
	run pgx-logmatch -o --prefix '%t-%c-' "$BATS_TEST_TMPDIR/az.log"
	assert_equal "$(jq -c '[.ts, .ts_source]' <<<"$output")" '[1707653739,"log"]'
	run --separate-stderr pgx-logmatch -o "$BATS_TEST_TMPDIR/p.log"
	assert_success
	assert_equal "$(jq -c '[.ts, .ts_source]' <<<"$output")" '[1707653739.25,"log"]'
	run pgx-logmatch -o --prefix '[%p] %m %u@%d ' "$BATS_TEST_TMPDIR/p.log"
	assert_equal "$(jq -c '[.ts, .ts_source]' <<<"$output")" '[1707653739.25,"log"]'
	# each file its own inferred prefix
	printf '2024-02-11 13:15:39 CET-65c8c0a3.4d2-LOG:  database system is shut down\n' >"$BATS_TEST_TMPDIR/az2.log"
	run --separate-stderr pgx-logmatch -o "$BATS_TEST_TMPDIR/p.log" "$BATS_TEST_TMPDIR/az2.log" "$BATS_TEST_TMPDIR/p.log"
	assert_success
	assert_equal "$(jq -c '[.ts, .ts_source]' <<<"$output" | paste -sd ' ')" \
		'[1707653739.25,"log"] [1707653739,"log"] [1707653739.25,"log"]'
	# a prefix without a time cannot say where it is
	run pgx-logmatch --prefix '%u@%d ' "$BATS_TEST_TMPDIR/p.log"
	assert_failure 2
	assert_output "pgx-logmatch: error: --prefix: log_line_prefix \"%u@%d \" has no time (%m, %t or %n)"
}

@test "a settings record of pgx-poll in the stream gives the log_line_prefix of the lines after it" {
	{
		echo '{"type":"settings","ts":1,"src":"pgx-poll","server_version_num":150000,"settings":[{"name":"log_line_prefix","setting":"<%a> %m "}]}'
		echo '<psql> 2024-02-11 13:15:39.500 UTC LOG:  database system is shut down'
	} >"$BATS_TEST_TMPDIR/s.ndjson"
	run --separate-stderr pgx-logmatch -o "$BATS_TEST_TMPDIR/s.ndjson"
	assert_success
	assert_equal "$(jq -c 'select(.type == "match") | [.ts, .ts_source]' <<<"$output")" '[1707657339.5,"log"]'
	# the settings record itself passes through
	assert_equal "$(jq -r 'select(.type == "settings") | .src' <<<"$output")" pgx-poll
}

@test "continuation lines indented with spaces or a tab join their entry; a space-led line the prefix starts does not" {
	printf '2024-02-11 13:15:39 UTC [1] LOG:  duration: 1 ms  statement: SELECT a\n    FROM t\n\tWHERE x\n2024-02-11 13:15:40 UTC [1] LOG:  duration: 2 ms  statement: SELECT 1\n' \
		>"$BATS_TEST_TMPDIR/sp.log"
	run pgx-logmatch -o --rules slowlog "$BATS_TEST_TMPDIR/sp.log"
	assert_success
	assert_equal "$(jq -c '[.lineno, .captures.statement]' <<<"$output" | paste -sd ' ')" '[1,"SELECT a\nFROM t\nWHERE x"] [4,"SELECT 1"]'
	# padded %-5p: an entry of a process with a short id starts with spaces
	printf '  12 2024-02-11 13:15:39 UTC LOG:  duration: 1 ms  statement: SELECT a\n  13 2024-02-11 13:15:40 UTC LOG:  duration: 2 ms  statement: SELECT b\n' \
		>"$BATS_TEST_TMPDIR/pad.log"
	run pgx-logmatch -o --rules slowlog --prefix '%4p %t ' "$BATS_TEST_TMPDIR/pad.log"
	assert_success
	assert_equal "$(jq -c '[.lineno, .ts, .captures.statement]' <<<"$output" | paste -sd ' ')" '[1,1707657339,"SELECT a"] [2,1707657340,"SELECT b"]'
}

@test "syslog entries join their [N-M] parts by process; the year is inferred from the file's time and said" {
	cat >"$BATS_TEST_TMPDIR/sys.log" <<-'EOF'
	Dec 31 23:59:59 db1 postgres[10]: [7-1] LOG:  duration: 1.500 ms  statement: SELECT a
	Jan  1 00:00:01 db1 postgres[11]: [3-1] LOG:  duration: 2.000 ms  statement: SELECT b
	Dec 31 23:59:59 db1 postgres[10]: [7-2] #011FROM t
	EOF
	touch -d '2025-01-01 12:00:00 UTC' "$BATS_TEST_TMPDIR/sys.log"
	run pgx-logmatch -o --rules slowlog "$BATS_TEST_TMPDIR/sys.log"
	assert_success
	# 2024-12-31 23:59:59 and 2025-01-01 00:00:01 UTC
	assert_equal "$(jq -c '[.ts, .year_inferred, .pid, .format, .captures.statement]' <<<"$output" | paste -sd ' ')" \
		'[1735689599,true,10,"syslog","SELECT a\nFROM t"] [1735689601,true,11,"syslog","SELECT b"]'
}


@test "records it does not consume pass through byte for byte and in order" {
	input=$'{"type":"exec","ts":1.0e0,"src":"pgx-trace","x":[1,2]}\n2026-11-22 03:16:43.123 UTC [1] LOG:  database system is shut down\n{ "type" : "other" }'
	run pgx-logmatch <<<"$input"
	assert_success
	assert_line --index 0 '{"type":"exec","ts":1.0e0,"src":"pgx-trace","x":[1,2]}'
	assert_line --index 2 '{ "type" : "other" }'
	run jq -r .rule <<<"${lines[1]}"
	assert_output server_shutdown
}

@test "log records carry their ts and context into the match; unmatched ones pass unchanged" {
	input=$'{"type":"log","ts":1795317403.5,"src":"pgx-docker","stream":"stderr","container":"abc","line":"CREATE EXTENSION IF NOT EXISTS vector;"}\n{"type":"log","ts":2,"src":"pgx-docker","line":"nothing here"}'
	run pgx-logmatch <<<"$input"
	assert_success
	run jq -c '[.type, .rule, .ts, .ts_source, .stream, .container, .captures.extension]' <<<"${lines[0]}"
	assert_output '["match","create_extension",1795317403.5,"record","stderr","abc","vector"]'
	run pgx-logmatch <<<"$input"
	assert_line --index 1 '{"type":"log","ts":2,"src":"pgx-docker","line":"nothing here"}'
}

@test "unmatched plain lines become log records with their position, unless --only-matching" {
	printf 'first\n2026-11-22 03:16:43.123 UTC [1] FATAL:  role "x" does not exist\nthird\n' >"$BATS_TEST_TMPDIR/a.log"
	run pgx-logmatch "$BATS_TEST_TMPDIR/a.log"
	assert_success
	run jq -c '[.type, .lineno, .line, (.rule // null)]' <<<"$output"
	assert_output - <<-EOF
	["log",1,"first",null]
	["match",2,"2026-11-22 03:16:43.123 UTC [1] FATAL:  role \"x\" does not exist","fatal"]
	["log",3,"third",null]
	EOF
	run pgx-logmatch --only-matching "$BATS_TEST_TMPDIR/a.log"
	assert_equal "${#lines[@]}" 1
}

@test "occurrence, capture lists and numbers shape the match records" {
	cat >"$BATS_TEST_TMPDIR/r.yaml" <<-'EOF'
	timestamp: read
	patterns:
	  - name: second_ready
	    regex: 'ready to accept connections'
	    occurrence: 2
	    marks_ready: true
	  - name: timing
	    regex: 'took (?<ms>\d+(?:\.\d+)?) ms in (?<phase>\w+) by (?<who>\w+)'
	    capture: [ms, phase]
	    numbers: [ms]
	EOF
	printf 'a ready to accept connections\nb ready to accept connections\nc ready to accept connections\ntook 12.5 ms in init by me\n' >"$BATS_TEST_TMPDIR/in.log"
	run pgx-logmatch -o -r "$BATS_TEST_TMPDIR/r.yaml" "$BATS_TEST_TMPDIR/in.log"
	assert_success
	run jq -c '[.rule, .lineno, .occurrence, .marks_ready, .captures]' <<<"$output"
	assert_output - <<-'EOF'
	["second_ready",2,2,true,{}]
	["timing",4,1,null,{"ms":12.5,"phase":"init"}]
	EOF
}

@test "a list key given twice in a rule keeps the second list" {
	printf 'timestamp: read\npatterns:\n  - name: t\n    regex: "took (?<ms>[0-9.]+) ms in (?<phase>[a-z]+)"\n    capture: ms\n    capture: [phase]\n' \
		>"$BATS_TEST_TMPDIR/r.yaml"
	run pgx-logmatch -o -r "$BATS_TEST_TMPDIR/r.yaml" < <(echo 'took 12.5 ms in init')
	assert_success
	assert_equal "$(jq -c .captures <<<"$output")" '{"phase":"init"}'
}

@test "a line a final rule matches is not tried on the rules after it" {
	cat >"$BATS_TEST_TMPDIR/r.yaml" <<-'EOF'
	timestamp: read
	patterns:
	  - name: any_error
	    regex: 'ERROR:  (?<m>.*)'
	  - name: duration
	    regex: 'duration: (?<ms>\d+) ms  statement: (?<sql>.*)'
	    final: true
	  - name: quoted_error
	    regex: 'ERROR:  '
	EOF
	printf "LOG:  duration: 5 ms  statement: SELECT 'ERROR:  x'\nERROR:  boom\n" >"$BATS_TEST_TMPDIR/in.log"
	run pgx-logmatch -o -r "$BATS_TEST_TMPDIR/r.yaml" "$BATS_TEST_TMPDIR/in.log"
	assert_success
	# rules before a final one still match its line; the ones after do not
	assert_equal "$(jq -c '[.lineno, .rule]' <<<"$output" | paste -sd ' ')" \
		'[1,"any_error"] [1,"duration"] [2,"any_error"] [2,"quoted_error"]'
}

@test "built-in rules are found by name and client-timing reads application timings" {
	run pgx-logmatch -o --rules client-timing <<<'GET /users elapsed=12.5ms status=200'
	assert_success
	run jq -c '[.rule, .captures.elapsed, .captures.unit]' <<<"$output"
	assert_output '["client_elapsed",12.5,"ms"]'
	run pgx-logmatch --rules no-such-rules </dev/null
	assert_failure 2
	assert_output --partial 'no rules file "no-such-rules"'
}

@test "a regex that does not compile names the file, line, rule and offset, and exits 2 before reading input" {
	printf 'timestamp: read\npatterns:\n  - name: ok\n    regex: fine\n  - name: broken\n    regex: "a(b"\n' >"$BATS_TEST_TMPDIR/bad.yaml"
	run pgx-logmatch -r "$BATS_TEST_TMPDIR/bad.yaml" <<<'2026-11-22 03:16:43.123 UTC [1] LOG:  fine'
	assert_failure 2
	assert_output --regexp "^pgx-logmatch: error: .*/bad.yaml:6: rule \"broken\": regex does not compile at offset 3: missing closing parenthesis$"
}

@test "broken YAML and unknown keys are reported with file and line, exit 2" {
	printf 'timestamp: read\npatterns:\n  - name: x\n    regex: [unclosed\n' >"$BATS_TEST_TMPDIR/y.yaml"
	run pgx-logmatch -r "$BATS_TEST_TMPDIR/y.yaml" </dev/null
	assert_failure 2
	assert_output --regexp 'y.yaml:[0-9]+: invalid YAML'
	printf 'timestamp: read\npatterns:\n  - name: x\n    regexp: typo\n' >"$BATS_TEST_TMPDIR/k.yaml"
	run pgx-logmatch --check-rules -r "$BATS_TEST_TMPDIR/k.yaml"
	assert_failure 2
	assert_output --partial 'k.yaml:4: unknown rule key "regexp"'
	printf 'timestamp: read\npatterns:\n  - name: [a, b]\n    regex: x\n' >"$BATS_TEST_TMPDIR/n.yaml"
	run pgx-logmatch --check-rules -r "$BATS_TEST_TMPDIR/n.yaml"
	assert_failure 2
	assert_output --partial "n.yaml:3: a rule's name must be a non-empty string"
	run pgx-logmatch --check-rules
	assert_success
}

@test "with -o, invalid UTF-8 in a line no rule can match is dropped unread, exit 0; in a candidate line it is 3" {
	printf '2024-01-01 00:00:00 UTC [1] LOG:  hello \xff\n' >"$BATS_TEST_TMPDIR/u.log"
	run --separate-stderr pgx-logmatch -o --rules slowlog "$BATS_TEST_TMPDIR/u.log"
	assert_success
	assert_equal "$output$stderr" ""
	printf '2024-01-01 00:00:00 UTC [1] LOG:  duration: 1 ms  statement: SELECT \xff\n' >"$BATS_TEST_TMPDIR/u.log"
	for group in "" --group; do
		run --separate-stderr pgx-logmatch -o $group --rules slowlog "$BATS_TEST_TMPDIR/u.log"
		assert_failure 3
		assert_equal "$stderr" "pgx-logmatch: warning: $BATS_TEST_TMPDIR/u.log:1: invalid UTF-8 at byte 69, replaced with U+FFFD"
	done
}

@test "invalid UTF-8 is reported with line and byte, replaced, and the exit status is 3" {
	printf 'ok line\nbad \xff\xfe byte ERROR:  x\nlast\n' >"$BATS_TEST_TMPDIR/u.log"
	run --separate-stderr pgx-logmatch "$BATS_TEST_TMPDIR/u.log"
	assert_failure 3
	assert_equal "$stderr" "pgx-logmatch: warning: $BATS_TEST_TMPDIR/u.log:2: invalid UTF-8 at byte 5, replaced with U+FFFD"
	assert_equal "$(jq -r 'select(.lineno==2) | .line' <<<"$output")" $'bad \uFFFD\uFFFD byte ERROR:  x'
	assert_equal "${#lines[@]}" 3
}

@test "a NUL byte in a log line is read as U+FFFD and the line matched whole; in a record it is bad input" {
	printf 'ok line\nzeroed \0\0tail ERROR:  after the NULs\n\0\0\0\0\n' >"$BATS_TEST_TMPDIR/z.log"
	run --separate-stderr pgx-logmatch "$BATS_TEST_TMPDIR/z.log"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r 'select(.lineno==2) | [.rule, .captures.message, .line] | @tsv' <<<"$output")" \
		"$(printf 'error\tafter the NULs\tzeroed \uFFFD\uFFFDtail ERROR:  after the NULs')"
	assert_equal "$(jq -r 'select(.lineno==3) | .line' <<<"$output")" $'\uFFFD\uFFFD\uFFFD\uFFFD'
	run --separate-stderr bash -c "printf '{\"type\":\"log\",\"line\":\"a\\0b\"}\\n' | pgx-logmatch"
	assert_failure 3
	assert_equal "$stderr" "pgx-logmatch: error: stdin:1: NUL byte in line; read as a plain log line"
	assert_equal "$(jq -r .type <<<"$output")" log
}

@test "-o passes over lines without a literal yet finds one split across read buffers or on a continuation line" {
	# slowlog's tab_continuation joins the tab-led line to the one before
	pad='2026-11-22 00:00:00.000 UTC [1] LOG:  connection authorized: user=app database=app'
	for k in 0 7 14 21 28; do
		f="$BATS_TEST_TMPDIR/buf$k.log"
		# the reader's first read is 256 KiB - 1: the literal lies across its end for some k
		{ for ((i = 0; i < 3360; i++)); do echo "$pad"; done
		  printf '%s%*s checkpoint starting: time\n' "${pad:0:38}" $((k + 20)) x
		  for ((i = 0; i < 1000; i++)); do echo "$pad"; done
		  echo "$pad"; printf '\tERROR:  on a continuation\n'
		  for ((i = 0; i < 3000; i++)); do echo "$pad"; done; } >"$f"
		run --separate-stderr pgx-logmatch -o -r default -r slowlog "$f"
		assert_success
		assert_equal "$(jq -c '[.lineno, .rule]' <<<"$output" | paste -sd ' ')" '[3361,"checkpoint_start"] [4362,"error"] [4362,"sql_error"]'
		# the same records as the every-line path, which looks at each line
		assert_equal "$output" "$(pgx-logmatch -r default -r slowlog "$f" | jq -c 'select(.type == "match")')"
	done
}

@test "-o in a log where nearly every line is a candidate, then gaps of lines without a literal: the same matches" {
	# after a search ahead that passes over nothing, the next lines are not
	# searched ahead first (a back-off): none of them may be lost or added
	f="$BATS_TEST_TMPDIR/dense.log"
	dur='2026-11-22 00:00:00.000 UTC [7] LOG:  duration: 1.500 ms  statement: SELECT 1'
	pad='2026-11-22 00:00:00.000 UTC [7] LOG:  connection authorized: user=app'
	{ for ((i = 0; i < 50; i++)); do echo "$dur"; done
	  for ((gap = 1; gap <= 40; gap++)); do
		for ((i = 0; i < gap; i++)); do echo "$pad"; done
		echo "$dur"
		((gap % 3)) || printf '\tFROM t WHERE x = %d\n' "$gap"
	  done
	  for ((i = 0; i < 20; i++)); do echo "$pad"; done; } >"$f"
	run --separate-stderr pgx-logmatch -o -r slowlog "$f"
	assert_success
	assert_equal "$(jq -s 'length' <<<"$output")" 90
	assert_equal "$output" "$(pgx-logmatch -r slowlog "$f" | jq -c 'select(.type == "match")')"
	run --separate-stderr pgx-logmatch -o --group -r slowlog "$f"
	assert_success
	assert_equal "$(jq -c '[.count, .key]' <<<"$output" | paste -sd ' ')" \
		'[77,"select ?"] [13,"select ? from t where x = ?"]'
}

@test "an over-long line is skipped with its line number and the rest is still read" {
	{ echo first; head -c 5000 /dev/zero | tr '\0' x; echo; echo 'third ERROR:  boom'; } >"$BATS_TEST_TMPDIR/long.log"
	run --separate-stderr pgx-logmatch -L 1K "$BATS_TEST_TMPDIR/long.log"
	assert_failure 3
	assert_equal "$stderr" "pgx-logmatch: error: $BATS_TEST_TMPDIR/long.log:2: line longer than 1024 bytes, skipped"
	run jq -c '[.lineno, .type]' <<<"$output"
	assert_output $'[1,"log"]\n[3,"match"]'
}

@test "malformed NDJSON is reported with its position and kept as a log line" {
	run --separate-stderr pgx-logmatch <<<$'{"type":"log","line":"ok"}\n{"type": "log", "line": oops}'
	assert_failure 3
	assert_equal "$stderr" "pgx-logmatch: error: stdin:2: invalid JSON at column 28: invalid token near 'oops'; read as a plain log line"
	run jq -r .line <<<"${lines[1]}"
	assert_output '{"type": "log", "line": oops}'
}

@test "an unreadable input file is named, the others are still read, exit 3" {
	run --separate-stderr pgx-logmatch /nonexistent/file "$PGX_FIXTURES/timestamps.log"
	assert_failure 3
	assert_equal "$stderr" 'pgx-logmatch: error: cannot open "/nonexistent/file": No such file or directory'
	assert_equal "${#lines[@]}" 7
}

@test "a last line without a newline is reported and still matched" {
	run --separate-stderr pgx-logmatch -o < <(printf 'x\n2026-11-22 03:16:43.123 UTC [1] PANIC:  disk gone')
	assert_success
	assert_equal "$stderr" 'pgx-logmatch: warning: stdin:2: last line has no newline (truncated?)'
	assert_equal "$(jq -r .rule <<<"$output")" panic
}

@test "a closed stdout is a clear write error with exit status 6" {
	# An endless input: the output can never fit in the pipe's buffer before head exits.
	run bash -c 'while cat "$1"; do :; done | pgx-logmatch | head -n 1 >/dev/null
		echo "status=${PIPESTATUS[1]}"' _ "$PGX_LOGS/postgresql.log"
	assert_line 'status=6'
	assert_line 'pgx-logmatch: error: write error on standard output: Broken pipe'
}

@test "records are flushed while the input pipe stays open" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	{ echo '2026-11-22 03:16:43.123 UTC [1] LOG:  database system is shut down'; sleep 5; } >"$BATS_TEST_TMPDIR/in" &
	writer=$!
	run timeout 3 head -n 1 < <(pgx-logmatch <"$BATS_TEST_TMPDIR/in")
	kill "$writer" 2>/dev/null || true
	assert_success
	assert_equal "$(jq -r .rule <<<"$output")" server_shutdown
}

@test "--follow reads lines appended to a growing file and stops on SIGTERM with 130" {
	log="$BATS_TEST_TMPDIR/grow.log"
	: >"$log"
	pgx-logmatch -o -f "$log" >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	sleep 0.5
	echo '2026-11-22 03:16:43.123 UTC [1] LOG:  database system is ready to accept connections' >>"$log"
	for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/out" ] && break; sleep 0.1; done
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 130
	assert_equal "$(jq -r .rule "$BATS_TEST_TMPDIR/out")" server_ready
}

@test "numbers are written with the fewest digits that read back exactly; strings are untouched" {
	run pgx-logmatch -o -r default -r client-timing <<<'2026-11-22 03:16:43.123457 UTC say "1.10" \ elapsed=79.4ms'
	assert_success
	assert_output --partial '"ts":1795317403.123457,'
	assert_output --partial '"captures":{"elapsed":79.4,"unit":"ms"}'
	assert_output --partial '"line":"2026-11-22 03:16:43.123457 UTC say \"1.10\" \\ elapsed=79.4ms"'
}

@test "numbers of 17 digits are written whole and leave the fields after them intact" {
	printf 'timestamp: read\npatterns:\n  - name: big\n    regex: "a=(?<a>\\\\d+) b=(?<b>\\\\d+) c=(?<c>\\\\d+) (?<rest>\\\\w+)"\n    numbers: [a, b, c]\n' >"$BATS_TEST_TMPDIR/big.yaml"
	run pgx-logmatch -o -r "$BATS_TEST_TMPDIR/big.yaml" <<<'a=45819590486778240 b=45819590486778240 c=45819590486778240 after'
	assert_success
	assert_output --partial '"captures":{"a":4.581959048677824e16,"b":4.581959048677824e16,"c":4.581959048677824e16,"rest":"after"}'
	run jq -c .captures.rest <<<"$output"
	assert_output '"after"'
}

@test "a FATAL that only says the server is starting up or shutting down is connection_not_ready, not fatal" {
	run pgx-logmatch -o <<-'EOF'
	2026-11-22 03:16:43.123 UTC [10] FATAL:  the database system is starting up
	2026-11-22 03:16:43.223 UTC [11] FATAL:  password authentication failed for user "x"
	2026-11-22 03:16:43.323 UTC [12] FATAL:  the database system is shutting down
	2026-11-22 03:16:43.423 UTC [13] FATAL:  the database system is not yet accepting connections
	EOF
	assert_success
	assert_equal "$(jq -r '[.rule, (.captures.state // .captures.message)] | @tsv' <<<"$output")" \
		"$(printf 'connection_not_ready\tstarting up\nfatal\tpassword authentication failed for user "x"\nconnection_not_ready\tshutting down\nconnection_not_ready\tnot yet accepting connections')"
}

@test "a rules file without a time source is an error; timestamp: read says so on purpose" {
	printf 'patterns:\n  - name: x\n    regex: took\n' >"$BATS_TEST_TMPDIR/t.yaml"
	run pgx-logmatch --check-rules -r "$BATS_TEST_TMPDIR/t.yaml"
	assert_failure 2
	assert_output --regexp "^pgx-logmatch: error: .*/t.yaml:1: no timestamp: section \(a regex and format for the lines' own time, or \"timestamp: read\" to stamp lines with the time they are read\)$"
	printf 'timestamp: read\npatterns:\n  - name: x\n    regex: took\n' >"$BATS_TEST_TMPDIR/t.yaml"
	run pgx-logmatch -o -r "$BATS_TEST_TMPDIR/t.yaml" <<<'took 3 ms'
	assert_success
	assert_equal "$(jq -r .rule <<<"$output")" x
	for rules in default slowlog client-timing; do
		run pgx-logmatch --check-rules -r "$rules"
		assert_success
	done
}

@test "a capture runs on through an invalid UTF-8 byte, repaired, in -o and --group forms" {
	printf '2024-01-01 00:00:00 UTC [1] ERROR:  bad \xff byte here\n' >"$BATS_TEST_TMPDIR/bad.log"
	run --separate-stderr pgx-logmatch -o "$BATS_TEST_TMPDIR/bad.log"
	assert_failure 3
	assert_equal "$(jq -r .captures.message <<<"$output")" $'bad \uFFFD byte here'
	assert_equal "$stderr" "pgx-logmatch: warning: $BATS_TEST_TMPDIR/bad.log:1: invalid UTF-8 at byte 41, replaced with U+FFFD"
}

@test "gzip, bzip2, xz and zstd logs are read by their content, whatever their names" {
	local log="$BATS_TEST_TMPDIR/server.log" z
	python3 "$PGX_TEST_DIR/../bench/gen-pglog.py" 1 | head -n 3000 >"$log"
	pgx-logmatch -o --rules slowlog "$log" >"$BATS_TEST_TMPDIR/plain"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/plain")" -gt 1000 ]
	for z in gzip bzip2 xz zstd; do
		command -v "$z" >/dev/null || fail "$z not installed"
		"$z" -c "$log" >"$BATS_TEST_TMPDIR/rotated.1"	# no telling suffix
		run --separate-stderr pgx-logmatch -o --rules slowlog "$BATS_TEST_TMPDIR/rotated.1"
		assert_success
		assert_equal "$(jq -c 'del(.input)' <<<"$output" | sha256sum)" \
			"$(jq -c 'del(.input)' "$BATS_TEST_TMPDIR/plain" | sha256sum)"
	done
}

@test "a truncated compressed log is an error naming the file, after what it held was read" {
	python3 "$PGX_TEST_DIR/../bench/gen-pglog.py" 1 | gzip | head -c 20000 >"$BATS_TEST_TMPDIR/cut.gz"
	run --separate-stderr pgx-logmatch -o "$BATS_TEST_TMPDIR/cut.gz"
	assert_failure 3
	[ "${#lines[@]}" -gt 10 ]
	assert_equal "${stderr##*$'\n'}" "pgx-logmatch: error: $BATS_TEST_TMPDIR/cut.gz: cannot decompress: truncated gzip input"
}

@test "on a terminal, progress shows bytes of the size, lines, rate and time left, then is erased" {
	python3 "$PGX_TEST_DIR/../bench/gen-pglog.py" 1 >"$BATS_TEST_TMPDIR/big.log"
	run_on_terminal "pgx-logmatch -o '$BATS_TEST_TMPDIR/big.log' >'$BATS_TEST_TMPDIR/out'"
	assert_success
	assert_output --regexp $'\rbig\\.log: [0-9.]+ (KiB|MiB) of [0-9.]+ MiB \\([0-9]+%\\), [0-9]+ lines, [0-9.]+ [KMG]?i?B/s, [0-9]+:[0-9]{2} left\e\\[K'
	[[ "$output" == *$'\r\e[K' ]] || fail "the progress line was not erased at the end"
	run grep -c $'\e' "$BATS_TEST_TMPDIR/out"
	assert_output 0
}

@test "no progress when stderr is a pipe, or with --no-progress on a terminal" {
	python3 "$PGX_TEST_DIR/../bench/gen-pglog.py" 1 >"$BATS_TEST_TMPDIR/big.log"
	run --separate-stderr pgx-logmatch -o "$BATS_TEST_TMPDIR/big.log"
	assert_success
	assert_equal "$stderr" ""
	run_on_terminal "pgx-logmatch -o --no-progress '$BATS_TEST_TMPDIR/big.log' >/dev/null"
	assert_success
	assert_output ""
}

@test "--progress forces it into a file, on a compressed log by its compressed bytes" {
	python3 "$PGX_TEST_DIR/../bench/gen-pglog.py" 1 | gzip >"$BATS_TEST_TMPDIR/big.log.gz"
	pgx-logmatch -o --progress "$BATS_TEST_TMPDIR/big.log.gz" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	size="$(stat -c %s "$BATS_TEST_TMPDIR/big.log.gz")"
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --regexp $'^\rbig\\.log\\.gz: [0-9.]+ K?i?B of [0-9.]+ KiB \\([0-9]+%\\), [0-9]+ lines'
	assert_output --partial "of $(awk -v s="$size" 'BEGIN { printf "%.1f KiB", s / 1024 }')"
	[[ "$output" == *$'\r\e[K' ]] || fail "the progress line was not erased at the end"
	run grep -c $'\e' "$BATS_TEST_TMPDIR/out"
	assert_output 0
}

@test "a warning erases the progress line before it is written" {
	{ python3 "$PGX_TEST_DIR/../bench/gen-pglog.py" 1; printf 'no newline'; } >"$BATS_TEST_TMPDIR/cut.log"
	run --separate-stderr pgx-logmatch -o --progress "$BATS_TEST_TMPDIR/cut.log"
	assert_success
	[[ "$stderr" == *$' left\e[K\r\e[Kpgx-logmatch: warning: '*'last line has no newline'* ]] ||
		fail "warning not after an erased line: $(cat -v <<<"$stderr")"
}

@test "a csvlog whose times are quoted (as a csv tool rewrites it) is read with the log's own times" {
	printf '%s\n' '"2024-02-11 13:15:39.500 UTC","app","db",4242,"[local]",1,1,"SELECT",2024-02-11 13:10:00 UTC,3/4,0,LOG,00000,"database system is shut down",,,,,,,,,"psql","client backend",,0' \
		>"$BATS_TEST_TMPDIR/q.csv"
	run --separate-stderr pgx-logmatch -o "$BATS_TEST_TMPDIR/q.csv"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.rule, .ts, .ts_source, .format, .pid]' <<<"$output")" '["server_shutdown",1707657339.5,"log","csvlog",4242]'
}

@test "CloudNativePG and Cloud SQL JSON lines are PostgreSQL entries, not foreign records" {
	for f in cnpg.ndjson cloudsql.ndjson; do
		run --separate-stderr pgx-logmatch -o --rules slowlog "$PGX_FIXTURES/logformats/$f"
		assert_success
		assert_equal "$(jq -c 'select(.rule == "query_duration")' <<<"$output" | wc -l)" 11
		assert_equal "$(jq -c 'select(.rule == "query_duration") | [.format, .ts, .ts_source]' <<<"$output" | head -1)" \
			"[\"${f%.ndjson}\",1707657339.123,\"log\"]"
	done
}
