#!/usr/bin/env bats
# pgx-report: table, JSON and SVG views of a profile, compare, aggregate, bad input.
# Fixtures: test/fixtures/report/, written by gen.py there.

load test_helper

F="$PGX_FIXTURES/report"

# 200 traced processes, 10 ms apart, each 0.5 s, and the profile around them.
two_hundred_processes() {
	awk 'BEGIN {
		for (i = 0; i < 200; i++) {
			t = 1795317400 + i * 0.01
			printf "{\"type\":\"process\",\"ts\":%.2f,\"src\":\"pgx-timeline\",\"pid\":%d,\"ppid\":1,", t, 1000 + i
			printf "\"comm\":\"p%d\",\"argv\":[\"worker-%d\",\"--n=%d\"],\"start\":%.2f,\"end\":%.2f,", i, i, i, t, t + 0.5
			printf "\"duration_s\":0.5,\"exit_code\":0}\n"
		}
	}'
	grep -v '"type":"profile"' "$F/base.ndjson"
	grep '"type":"profile"' "$F/base.ndjson"
}

@test "pgx-report answers --help, --version and rejects a bad option" {
	assert_standard_options pgx-report
}

@test "pgx-report documents every option in its man page and completion" {
	assert_options_documented pgx-report
	for sub in compare aggregate; do
		grep -q "$sub" "$PGX_TEST_DIR/../completions/pgx-report" || fail "completion lacks $sub"
	done
}

@test "the man page is mandoc -Tlint clean" {
	command -v mandoc >/dev/null || skip "mandoc not installed"
	run mandoc -Tlint -W warning "$PGX_TEST_DIR/../man/pgx-report.1"
	assert_success
	assert_output ""
}

@test "the table lists the phases in order with durations and percents" {
	run pgx-report "$F/base.ndjson"
	assert_success
	assert_line --index 1 "PostgreSQL Container Startup Profile"
	assert_line "Subject:   pgx-test/postgres:15"
	assert_line "Total:     5.000s (ready by ping)"
	phases="$(sed -n '/^PHASES$/,/^$/p' <<<"$output" | grep -E '^  [A-Za-z]' | tail -n +2)"
	assert_equal "$phases" "$(printf '%s\n' \
		"  Container create                  0.120s    2.4%" \
		"  Container init                    0.080s    1.6%" \
		"  initdb                            1.500s   30.0%" \
		"  Temp server start                 0.300s    6.0%" \
		"  Init scripts                      1.600s   32.0%" \
		"  Temp server stop                  0.400s    8.0%" \
		"  Final server start                1.000s   20.0%" \
		"  Total                             5.000s  100.0%")"
}

@test "the table shows the top scripts longest first, extensions and workers, within 80 columns" {
	run pgx-report --top 2 "$F/base.ndjson"
	assert_success
	assert_80_columns
	assert_line "INIT SCRIPTS (top 2 of 3 by duration)"
	scripts="$(sed -n '/^INIT SCRIPTS/,/^$/p' <<<"$output" | grep -E '^  [0-9.]' | awk '{ print $1, $2 }')"
	assert_equal "$scripts" "$(printf '%s\n' "02-sleep.sql 1.050s" "01-ext.sql 0.400s" "... 1")"
	assert_line --regexp '^  pg_stat_statements +0\.250s$'
	assert_line --regexp '^  logical replication launcher +4\.900s$'
	refute_line --partial "PROCESSES"
}

@test "extensions and workers show their server; aggregates keep the temporary and the final server's apart" {
	pgx-timeline -d "$PGX_FIXTURES/timeline/kernel-children.ndjson" |
		jq -c 'if .type == "bgworker" and .name == "logical replication launcher" then .name = "checkpointer" else . end' \
		>"$BATS_TEST_TMPDIR/run"
	run pgx-report "$BATS_TEST_TMPDIR/run"
	assert_success
	assert_80_columns
	assert_line --regexp '^  earthdistance +temporary +0\.050s$'
	assert_line --regexp '^  checkpointer +temporary +1\.200s$'
	assert_line --regexp '^  checkpointer +final +2\.500s$'
	run bash -c "pgx-report aggregate '$BATS_TEST_TMPDIR/run' '$BATS_TEST_TMPDIR/run' | jq -c 'select(.type==\"bgworker\" and .name==\"checkpointer\") | [.server, .offset_s, .runs]'"
	assert_output $'["temporary",1.2,2]\n["final",2.5,2]'
}

@test "long UTF-8 names, --verbose processes and aggregates stay within 80 columns" {
	run pgx-report --verbose "$F/escape.ndjson"
	assert_success
	assert_80_columns
	assert_line --partial "PROCESSES (exec to exit)"
	# a command line keeps its program and its end, where the file is
	assert_line --regexp '^ +81 +2\.400s +1\.050s +0  psql \.\.\.[a-z-]+initdb\.d/02-sleep\.sql$'
	assert_line --regexp '^ +84 +3\.800s +0\.100s +0  psql \.\.\.é+\.sql$'
	assert_line --regexp '^ +21 +0\.200s +1\.500s +0  initdb --username=postgres$'
	assert_line --regexp '^  \.\.\.é+\.sql +0\.100s +1\.9% +0$'
	run pgx-report aggregate "$F"/run{1,2,3}.ndjson
	assert_success
	run pgx-report --verbose <<<"$output"
	assert_success
	assert_80_columns
}

@test "phases and scripts timed from log lines only are marked as less exact" {
	sed 's/"name":"initdb",\(.*\)"source":"trace"/"name":"initdb",\1"source":"log"/; /"type":"script".*02-sleep/s/"source":"trace"/"source":"log"/' \
		"$F/base.ndjson" >"$BATS_TEST_TMPDIR/log.ndjson"
	run pgx-report "$BATS_TEST_TMPDIR/log.ndjson"
	assert_success
	assert_line --regexp '^  initdb \* +1\.500s +30\.0%$'
	assert_line --regexp '^  Temp server start +0\.300s +6\.0%$'
	assert_line --regexp '^  02-sleep\.sql \* +1\.050s'
	assert_line --regexp '^  01-ext\.sql +0\.400s'
	assert_equal "$(grep -c '^  \* timed from log lines only' <<<"$output")" 2
	run pgx-report "$F/base.ndjson"
	refute_line --partial "timed from log lines"
}

@test "json output is one document with phases in order, scripts, extensions and workers" {
	run pgx-report --format json "$F/base.ndjson"
	assert_success
	assert_equal "${#lines[@]}" 1
	run jq -c '[.subject, .total_s, .ready_source, .runs, .partial, .warnings]' <<<"$output"
	assert_output '["pgx-test/postgres:15",5,"ping",1,false,[]]'
	run jq -r '.phases[] | [.name, .duration_s, .pct, .offset_s] | @tsv' < <(pgx-report -f json "$F/base.ndjson")
	assert_output "$(printf '%s\t%s\t%s\t%s\n' container_create 0.12 2.4 0 container_init 0.08 1.6 0.12 \
		initdb 1.5 30 0.2 temp_server_start 0.3 6 1.7 init_scripts 1.6 32 2 \
		temp_server_stop 0.4 8 3.6 final_server_start 1 20 4)"
	run jq -c '[.scripts[].name], [.extensions[] | .name, .duration_s], [.bgworkers[] | .name, .offset_s], has("processes")' \
		< <(pgx-report -f json "$F/base.ndjson")
	assert_output "$(printf '%s\n' '["01-ext.sql","02-sleep.sql","03-setup.sh"]' \
		'["pg_stat_statements",0.25]' '["logical replication launcher",4.9]' false)"
}

@test "json --verbose adds the process spans" {
	run pgx-report -f json -v "$F/base.ndjson"
	assert_success
	run jq -c '[.processes[] | [.pid, .comm, .offset_s, .duration_s, .exit_code]]' <<<"$output"
	assert_output '[[21,"initdb",0.2,1.5,0],[80,"psql",2,0.4,0],[81,"psql",2.4,1.05,0],[82,"sh",3.45,0.15,0]]'
}

@test "svg output is valid XML with every phase label and duration" {
	command -v xmllint >/dev/null || skip "xmllint not installed (apt-get install libxml2-utils)"
	run pgx-report --format svg -o "$BATS_TEST_TMPDIR/p.svg" "$F/base.ndjson"
	assert_success
	assert_output ""
	run xmllint --noout "$BATS_TEST_TMPDIR/p.svg"
	assert_success
	for label in "container_create (0.120s)" "container_init (0.080s)" "initdb (1.500s)" \
		"temp_server_start (0.300s)" "init_scripts (1.600s)" "temp_server_stop (0.400s)" \
		"final_server_start (1.000s)" "02-sleep.sql (1.050s)"; do
		grep -qF ">$label</text>" "$BATS_TEST_TMPDIR/p.svg" || fail "no label \"$label\""
	done
	# one mark per second over the 5 s
	for s in 0s 1s 2s 3s 4s 5s; do
		grep -q "class=\"tick\"[^>]*>$s<" "$BATS_TEST_TMPDIR/p.svg" || fail "no grid mark $s"
	done
}

@test "svg escapes names for XML" {
	command -v xmllint >/dev/null || skip "xmllint not installed"
	run pgx-report -f svg "$F/escape.ndjson"
	assert_success
	xmllint --noout - <<<"$output" || fail "invalid XML"
	assert_output --partial "05-a&amp;b&lt;c&gt;.sql (0.200s)"
	assert_output --partial "img&lt;&amp;&quot;&apos;&gt;:15"
}

@test "svg draws one row per process when 200 processes are shown" {
	command -v xmllint >/dev/null || skip "xmllint not installed"
	two_hundred_processes >"$BATS_TEST_TMPDIR/200.ndjson"
	run pgx-report -f svg "$BATS_TEST_TMPDIR/200.ndjson"
	assert_success
	xmllint --noout - <<<"$output" || fail "invalid XML"
	# the 200 plus the base profile's own 4
	assert_equal "$(grep -c '<rect class="process" ' <<<"$output")" 204
	assert_equal "$(grep -cE '>worker-[0-9]+ --n=[0-9]+ \[1[0-9]{3}\] \(0\.500s\)</text>' <<<"$output")" 200
	assert_output --partial ">worker-199 --n=199 [1199] (0.500s)</text>"
	# one row each: no two bars at the same height, and all within the picture
	bars="$(grep -oE '<rect class="(phase|script|extension|process|bgworker)" x="[0-9.]+" y="[0-9]+"' <<<"$output" |
		grep -oE '[0-9]+"$' | tr -d '"')"
	assert_equal "$(wc -l <<<"$bars")" 216	# 204 processes, 7 phases, 3 scripts, 1 extension, 1 worker
	assert_equal "$(sort -u <<<"$bars" | wc -l)" 216
	height="$(grep -o '<svg [^>]*height="[0-9]*"' <<<"$output" | grep -o '[0-9]*"$' | tr -d '"')"
	[ "$height" -gt "$(sort -n <<<"$bars" | tail -1)" ] || fail "bars below the height $height"
}

@test "svg of a profile lasting days keeps a handful of grid marks" {
	printf '%s\n' '{"type":"phase","name":"initdb","start":0,"end":300000}' \
		'{"type":"profile","subject":"slow","start":0,"ready":300000,"total_s":300000}' >"$BATS_TEST_TMPDIR/long.ndjson"
	run pgx-report -f svg "$BATS_TEST_TMPDIR/long.ndjson"
	assert_success
	marks="$(grep -c 'class="tick"' <<<"$output")"
	[ "$marks" -ge 4 ] && [ "$marks" -le 1000 ] || fail "$marks grid marks"
	assert_output --partial ">initdb (300000.000s)</text>"
}

@test "compare attributes a slower script's delta to it and --fail-if-slower 5 exits 1" {
	run pgx-report compare "$F/base.ndjson" "$F/slower.ndjson" --fail-if-slower 5
	assert_failure 1
	assert_line --regexp '^  Init scripts +1\.600s +2\.600s +\+1\.000s +\+62\.5%$'
	assert_line --regexp '^  Total +5\.000s +6\.000s +\+1\.000s +\+20\.0%$'
	assert_line --regexp '^  02-sleep\.sql +1\.050s +2\.050s +\+1\.000s +\+95\.2%  slower$'
	assert_line "Biggest change: script 02-sleep.sql, +1.000s (+95.2%), in phase init_scripts"
	assert_line --partial "pgx-report: candidate total is +20.0% slower than base, over the limit of 5.0%"
	assert_80_columns
}

@test "compare attributes a change to a phase without scripts to that phase, not to a script" {
	run pgx-report compare "$F/base.ndjson" "$F/mixed.ndjson"
	assert_success
	assert_line "Biggest change: phase initdb, +2.000s (+133.3%)"
	assert_line --regexp '^  02-sleep\.sql +1\.050s +1\.150s +\+0\.100s +\+9\.5%  slower$'
	run pgx-report compare -f json "$F/base.ndjson" "$F/mixed.ndjson"
	assert_equal "$(jq -c '.biggest | [.kind, .name, .delta_s, .phase]' <<<"$output")" '["phase","initdb",2,null]'
}

@test "compare of a profile with itself exits 0, and a generous limit passes" {
	run pgx-report compare "$F/base.ndjson" "$F/base.ndjson" --fail-if-slower 5
	assert_success
	assert_line "Biggest change: none"
	assert_line "Threshold: total +0.0% against a limit of +5.0%: within the limit"
	run pgx-report compare --fail-if-slower 25 "$F/base.ndjson" "$F/slower.ndjson"
	assert_success
}

@test "compare --phase applies the limit to one phase" {
	run pgx-report compare "$F/base.ndjson" "$F/slower.ndjson" --phase initdb --fail-if-slower 1
	assert_success
	run pgx-report compare "$F/base.ndjson" "$F/slower.ndjson" --phase init_scripts --fail-if-slower 50
	assert_failure 1
	run pgx-report compare "$F/base.ndjson" "$F/slower.ndjson" --phase no_such_phase --fail-if-slower 1
	assert_failure 2
	assert_output --partial 'no phase "no_such_phase"'
}

@test "compare lists new and removed scripts, also as json" {
	run pgx-report compare -f json "$F/base.ndjson" "$F/changed.ndjson"
	assert_success
	run jq -c '[.scripts[] | [.name, .status, .delta_s]], .total.delta_s, .biggest.kind' <<<"$output"
	assert_output "$(printf '%s\n' \
		'[["01-ext.sql","same",0],["02-sleep.sql","same",0],["03-setup.sh","removed",-0.15],["04-new.sql","new",0.15]]' \
		0 '"script"')"
	run pgx-report compare "$F/base.ndjson" "$F/changed.ndjson"
	assert_line --regexp '^  04-new\.sql +- +0\.150s +\+0\.150s +n/a  new$'
	assert_line --regexp '^  03-setup\.sh +0\.150s +- +-0\.150s +n/a  removed$'
}

@test "aggregate of 3 runs gives median, min and max per phase, script and total" {
	run pgx-report aggregate "$F/run1.ndjson" "$F/run2.ndjson" "$F/run3.ndjson"
	assert_success
	run jq -c 'select(.type=="phase" and .name=="initdb") | [.duration_s, .duration_min_s, .duration_max_s, .runs, .src]' <<<"$output"
	assert_output '[1.5,1.4,1.7,3,"pgx-report"]'
	run pgx-report aggregate "$F"/run{3,1,2}.ndjson
	run jq -c 'select(.type=="script" and .name=="02-sleep.sql") | [.duration_s, .duration_min_s, .duration_max_s, .runs]' <<<"$output"
	assert_output '[1.05,1,1.1,3]'
	run pgx-report aggregate "$F"/run{3,1,2}.ndjson
	run jq -c 'select(.type=="profile") | [.total_s, .total_min_s, .total_max_s, .runs, .ready_source]' <<<"$output"
	assert_output '[5,4.85,5.25,3,"ping"]'
	run pgx-report aggregate "$F"/run{3,1,2}.ndjson
	run jq -r '.type' <<<"$output"
	assert_equal "$(tail -1 <<<"$output")" profile
	# two runs: the median is the mean of both
	run pgx-report aggregate "$F/run1.ndjson" "$F/run2.ndjson"
	run jq -c 'select(.type=="phase" and .name=="initdb") | .duration_s' <<<"$output"
	assert_output 1.6
}

@test "an aggregate's profile always names the subject's kind, mixed when the runs disagree" {
	run pgx-report aggregate "$F"/run{1,2}.ndjson
	assert_success
	assert_equal "$(jq -r 'select(.type=="profile") | .subject_kind' <<<"$output")" container
	sed 's/"subject_kind":"container"/"subject_kind":"command"/' "$F/run2.ndjson" >"$BATS_TEST_TMPDIR/cmd.ndjson"
	run pgx-report aggregate "$F/run1.ndjson" "$BATS_TEST_TMPDIR/cmd.ndjson"
	assert_success
	assert_equal "$(jq -r 'select(.type=="profile") | .subject_kind' <<<"$output")" mixed
}

@test "compare on aggregates rests on medians, not on one noisy run" {
	pgx-report aggregate "$F"/run{1,2,3}.ndjson >"$BATS_TEST_TMPDIR/base.agg"
	pgx-report aggregate "$F"/cand{1,2,3}.ndjson >"$BATS_TEST_TMPDIR/cand.agg"
	pgx-report aggregate "$F"/slow{1,2,3}.ndjson >"$BATS_TEST_TMPDIR/slow.agg"
	# the outlier run alone looks 78% slower
	run pgx-report compare "$F/run1.ndjson" "$F/cand3.ndjson" --fail-if-slower 5
	assert_failure 1
	run pgx-report compare "$BATS_TEST_TMPDIR/base.agg" "$BATS_TEST_TMPDIR/cand.agg" --fail-if-slower 5
	assert_success
	assert_line --regexp '^Base: .*median of 3 runs\)$'
	assert_line --regexp '^  Total +5\.000s +5\.100s +\+0\.100s +\+2\.0%$'
	run pgx-report compare "$BATS_TEST_TMPDIR/base.agg" "$BATS_TEST_TMPDIR/slow.agg" --fail-if-slower 5
	assert_failure 1
	assert_line "Biggest change: script 02-sleep.sql, +1.000s (+95.2%), in phase init_scripts"
}

@test "an aggregate renders as a table with median, min and max" {
	run pgx-report aggregate "$F"/run{1,2,3}.ndjson
	run pgx-report <<<"$output"
	assert_success
	assert_line "Runs:      3, medians shown (total min 4.850s, max 5.250s)"
	assert_line --regexp '^  initdb +1\.500s +1\.400s +1\.700s +30\.0%$'
}

@test "malformed NDJSON is reported as FILE:LINE and exits 3" {
	run pgx-report "$F/malformed.ndjson"
	assert_failure 3
	assert_line --partial "pgx-report: error: $F/malformed.ndjson:5: invalid JSON"
	# the rest of the input is still reported
	assert_line "Total:     5.000s (ready by ping)"
	run pgx-report compare "$F/malformed.ndjson" "$F/base.ndjson"
	assert_failure 3
	run pgx-report aggregate - <"$F/malformed.ndjson"
	assert_failure 3
	assert_line --partial "pgx-report: error: stdin:5: invalid JSON"
}

@test "input without a profile record is one error line and exits 3" {
	run pgx-report <<<'{"type":"exec","ts":1,"src":"pgx-trace","pid":1}'
	assert_failure 3
	assert_output "pgx-report: error: no profile record in stdin (pgx-report reads the output of pgx-timeline)"
	run pgx-report "$BATS_TEST_TMPDIR/missing.ndjson"
	assert_failure 3
	assert_line --partial "cannot open"
	grep -v '"src":"pgx-timeline"' "$F/base.ndjson" >"$BATS_TEST_TMPDIR/raw.ndjson"
	run pgx-report "$BATS_TEST_TMPDIR/raw.ndjson"
	assert_failure 3
	assert_output "pgx-report: error: no profile record in $BATS_TEST_TMPDIR/raw.ndjson (pgx-report reads the output of pgx-timeline)"
}

@test "SIGTERM stops pgx-report with 130" {
	sleep 2 | pgx-report >"$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	sleep 0.3
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 130
}

@test "phases without a profile record give a partial report with a warning, exit 3" {
	run pgx-report "$F/partial.ndjson"
	assert_failure 3
	assert_line "Total:     5.000s (from its phases: no profile record)"
	assert_line --regexp '^Warnings:  no profile record in'
	run pgx-report -f json "$F/partial.ndjson"
	assert_failure 3
	assert_equal "$(jq -c '[.partial, .total_s, (.phases | length)]' <<<"$output")" '[true,5,7]'
	run pgx-report aggregate "$F/run1.ndjson" "$F/partial.ndjson"
	assert_failure 3
	assert_equal "$(jq -c 'select(.type=="profile") | .runs' <<<"$output")" 2
	run pgx-report compare "$F/base.ndjson" "$F/partial.ndjson"
	assert_failure 3
	assert_line --regexp '^Warning: +candidate: no profile record in'
}

@test "a profile that never became ready is shown with its warning and exits 7" {
	run pgx-report "$F/notready.ndjson"
	assert_failure 7
	assert_line "Total:     - FAILED: never ready"
	assert_line "Warnings:  no ready: the server did not accept connections"
	refute_line --partial "Final server start"
	run pgx-report compare "$F/base.ndjson" "$F/notready.ndjson"
	assert_failure 3
	assert_output --partial "no total"
	run --separate-stderr pgx-report aggregate "$F/run1.ndjson" "$F/notready.ndjson"
	assert_failure 7
	assert_equal "$stderr" "pgx-report: error: $F/notready.ndjson: the subject never became ready"
	jq -e 'select(.type=="profile") | .runs == 2 and (.warnings | any(test("1 of 2 runs never became ready")))' <<<"$output"
}

@test "usage errors exit 2" {
	run pgx-report --format xml "$F/base.ndjson"
	assert_failure 2
	assert_output --partial 'invalid value "xml" for option --format'
	run pgx-report compare "$F/base.ndjson"
	assert_failure 2
	run pgx-report --fail-if-slower 5 "$F/base.ndjson"
	assert_failure 2
	run pgx-report compare --fail-if-slower abc "$F/base.ndjson" "$F/base.ndjson"
	assert_failure 2
	run pgx-report --top -1 "$F/base.ndjson"
	assert_failure 2
	run pgx-report aggregate -f json "$F/base.ndjson"
	assert_failure 2
}

@test "a write error on standard output exits 6" {
	[ -w /dev/full ] || skip "no /dev/full"
	run bash -c 'pgx-report "$1" >/dev/full' _ "$F/base.ndjson"
	assert_failure 6
	assert_output --partial "pgx-report: error: write error on standard output"
}

# Every view that takes -o: profile table, json and svg, compare, aggregate,
# slowlog (no input: an empty table).
o_views() {
	local out="$1"
	printf '%s\n' "-o $out $F/base.ndjson" "-f json -o $out $F/base.ndjson" \
		"-f svg -o $out $F/base.ndjson" "compare -o $out $F/base.ndjson $F/cand1.ndjson" \
		"aggregate -o $out $F/base.ndjson $F/cand1.ndjson" "slowlog -o $out /dev/null"
}

@test "-o in every view writes a FIFO or a device in place and names the file a write failed on" {
	require_root "mknod"
	d="$BATS_TEST_TMPDIR"
	mkfifo "$d/fifo"
	mknod "$d/full" c 1 7
	while read -r args; do
		timeout 30 cat "$d/fifo" >"$d/read" &
		run timeout 30 pgx-report $args
		wait $!
		[ "$status" -le 1 ] || fail "pgx-report $args: exit $status: $output"
		[ -s "$d/read" ] && [ -p "$d/fifo" ] || fail "pgx-report $args: FIFO not written in place"
	done < <(o_views "$d/fifo")
	while read -r args; do
		run pgx-report $args
		assert_failure 6
		assert_line "pgx-report: error: cannot write \"$d/full\": No space left on device"
		[ -c "$d/full" ] || fail "pgx-report $args replaced the device node"
	done < <(o_views "$d/full")
}

@test "-o in every view refuses a symbolic link and replaces a regular file whole" {
	d="$BATS_TEST_TMPDIR"
	echo old >"$d/target"
	ln -s target "$d/link"
	while read -r args; do
		run pgx-report $args
		assert_failure 6
		assert_line "pgx-report: error: cannot write \"$d/link\": is a symbolic link; refusing to replace it"
		[ "$(cat "$d/target")" = old ] || fail "pgx-report $args wrote through the link"
	done < <(o_views "$d/link")
	while read -r args; do
		echo old >"$d/file"
		run pgx-report $args
		[ "$status" -le 1 ] || fail "pgx-report $args: exit $status: $output"
		[ "$(cat "$d/file")" != old ] && [ -s "$d/file" ] || fail "pgx-report $args did not replace the file"
		assert_equal "$(ls -A "$d" | grep -c '^\.file\.')" 0
	done < <(o_views "$d/file")
}

@test "pgx-report leaks nothing over every view and bad input (valgrind)" {
	require_valgrind pgx-report
	vg() {
		valgrind --quiet --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
			--error-exitcode=99 pgx-report "$@"
	}
	two_hundred_processes >"$BATS_TEST_TMPDIR/200.ndjson"
	for fmt in table json svg; do
		run vg -v -f "$fmt" "$F/base.ndjson" "$F/escape.ndjson" "$BATS_TEST_TMPDIR/200.ndjson"
		assert_success
	done
	run vg compare -f json "$F/base.ndjson" "$F/changed.ndjson" --fail-if-slower 1
	assert_success
	run vg compare "$F/base.ndjson" "$F/slower.ndjson" --fail-if-slower 1
	assert_failure 1
	run vg aggregate "$F"/run{1,2,3}.ndjson "$F/notready.ndjson"
	assert_failure 7
	run vg "$F/malformed.ndjson" "$F/partial.ndjson"
	assert_failure 3
	run vg </dev/null
	assert_failure 3
}

@test "several profiles in one stream are reported in turn" {
	run bash -c 'cat "$1" "$2" | pgx-report -f json' _ "$F/base.ndjson" "$F/slower.ndjson"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_equal "$(jq -c '[.input, .total_s]' <<<"$output")" "$(printf '%s\n' '["stdin",5]' '["stdin",6]')"
	run pgx-report "$F/base.ndjson" - <"$F/slower.ndjson"
	assert_success
	assert_equal "$(grep -c '^PostgreSQL Container Startup Profile$' <<<"$output")" 2
	assert_line "Total:     6.000s (ready by ping)"
}

@test "pgx-timeline output renders as it comes, in every format" {
	command -v pgx-timeline >/dev/null || skip "pgx-timeline not built"
	pgx-timeline "$PGX_FIXTURES/timeline/traced-scripts.ndjson" >"$BATS_TEST_TMPDIR/t.ndjson"
	run pgx-report -v "$BATS_TEST_TMPDIR/t.ndjson"
	assert_success
	assert_80_columns
	assert_line --regexp '^  initdb +[0-9]+\.[0-9]{3}s +[0-9]+\.[0-9]%$'
	run pgx-report -f json "$BATS_TEST_TMPDIR/t.ndjson"
	assert_success
	assert_equal "$(jq '(.phases | length) > 0 and .total_s > 0' <<<"$output")" true
	if command -v xmllint >/dev/null; then
		pgx-report -f svg "$BATS_TEST_TMPDIR/t.ndjson" | xmllint --noout - || fail "invalid SVG"
	fi
}

@test "Ctrl-C in a pipeline still shows the profile the stages before write on their way out" {
	# the writer sends half the stream, then the rest after pgx-report got SIGINT
	{ head -5 "$F/base.ndjson"; sleep 1; tail -n +6 "$F/base.ndjson"; } |
		pgx-report >"$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	sleep 0.4
	kill -INT "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 0
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line "Total:     5.000s (ready by ping)"
}

@test "compare names the phase when its largest script explains less than half of its change" {
	# init_scripts +0.278 s, of which 02-sleep.sql only +0.053 s: the rest went between scripts
	jq -c 'if .type == "phase" and .name == "init_scripts" then .duration_s += 0.278
		elif .type == "script" and .name == "02-sleep.sql" then .duration_s += 0.053
		elif .type == "profile" then .total_s += 0.278 else . end' "$F/base.ndjson" \
		>"$BATS_TEST_TMPDIR/between.ndjson"
	run pgx-report compare "$F/base.ndjson" "$BATS_TEST_TMPDIR/between.ndjson"
	assert_success
	assert_line "Biggest change: phase init_scripts, +0.278s (+17.4%)"
}

@test "a profile that never became ready is red on a terminal, plain in a pipe or with NO_COLOR" {
	run script -qec "pgx-report '$F/notready.ndjson'" /dev/null
	assert_failure 7
	assert_output --partial $'Total:     \e[1;31m- FAILED: never ready\e[0m'
	run script -qec "NO_COLOR=1 pgx-report '$F/notready.ndjson'" /dev/null
	assert_output --partial $'Total:     - FAILED: never ready\r'
	run pgx-report "$F/notready.ndjson"
	assert_line "Total:     - FAILED: never ready"
}

@test "a critical alert is exit 2 only under alerts --exit-status; without it the run exits 0, and 2 means usage" {
	H="$PGX_FIXTURES/health/snapshot.ndjson"
	run --separate-stderr pgx-report alerts --alerts-only --exit-status "$H"
	assert_failure 2
	assert_equal "$(jq -r 'select(.state=="firing") | .severity' <<<"$output" | sort -u | head -1)" critical
	run --separate-stderr pgx-report alerts --alerts-only "$H"
	assert_success
	assert_equal "$(jq -r 'select(.state=="firing") | .severity' <<<"$output" | sort -u | head -1)" critical
	run --separate-stderr pgx-report alerts --no-such-option "$H"
	assert_failure 2
	run --separate-stderr pgx-report alerts --exit-status --no-such-option "$H"
	assert_failure 3
}

@test "a format made for one kind of input reads it as that kind, without looking: prom and html a snapshot, svg a profile" {
	H="$PGX_FIXTURES/health/snapshot.ndjson"
	run --separate-stderr pgx-report -f prom "$F/base.ndjson"
	assert_failure 3
	assert_equal "$stderr" "pgx-report: error: no pgx-poll record in $F/base.ndjson (this format reads the output of pgx-poll)"
	run --separate-stderr pgx-report -f svg "$H"
	assert_failure 3
	assert_equal "$stderr" "pgx-report: error: no profile record in $H (pgx-report reads the output of pgx-timeline)"
	run --separate-stderr pgx-report -f json "$H"
	assert_success
	assert_equal "$(jq -r 'has("sections")' <<<"$output")" true
	run --separate-stderr pgx-report diff -f svg "$H" "$H"
	assert_failure 2
	assert_equal "$(head -1 <<<"$stderr")" "pgx-report: error: diff takes two snapshot files, BEFORE and AFTER, and writes a table or json"
	run --separate-stderr pgx-report -f json alerts "$H"
	assert_failure 2
	assert_equal "$(head -1 <<<"$stderr")" "pgx-report: error: alerts comes first: pgx-report alerts [OPTION]... [FILE]..."
}

@test "validate answers --help and --version, and its options are documented" {
	run pgx-report validate --help
	assert_success
	assert_output --partial "pgx-report validate [OPTION]... [FILE]..."
	run pgx-report validate --version
	assert_output --regexp '^pgx-report \(pgx\) '
	run pgx-report validate --no-such-option
	assert_failure 2
	for opt in --schema --print-schema; do
		grep -q -- "Fl ${opt#-}" "$PGX_TEST_DIR/../man/pgx-report.1" || fail "$opt not in pgx-report(1)"
		grep -q -- "$opt" "$PGX_TEST_DIR/../completions/pgx-report" || fail "$opt not in the completion"
	done
}

@test "validate passes the records pgx writes and other tools' records, from files or stdin" {
	pgx-report aggregate "$F/run1.ndjson" "$F/run2.ndjson" "$F/run3.ndjson" >"$BATS_TEST_TMPDIR/median.ndjson"
	printf '%s\n' '{"type":"exec","pid":"not pgx"}' '{"level":"info","msg":"another tool"}' '' \
		>"$BATS_TEST_TMPDIR/foreign.ndjson"
	run pgx-report validate "$BATS_TEST_TMPDIR/median.ndjson" "$BATS_TEST_TMPDIR/foreign.ndjson"
	assert_success
	assert_output ""
	run pgx-report validate <"$BATS_TEST_TMPDIR/median.ndjson"
	assert_success
}

@test "validate names the file, line, record type and field of each record that does not match, and exits 1" {
	good='"ppid":1,"comm":"sh","filename":"/bin/sh","argv":["sh"],"argv_truncated":false,"cgroup_id":7'
	printf '%s\n' \
		"{\"type\":\"exec\",\"ts\":1.5,\"src\":\"pgx-trace\",\"pid\":22,$good}" \
		"{\"type\":\"exec\",\"ts\":1.5,\"src\":\"pgx-trace\",\"pid\":\"22\",$good,\"undocumented\":1}" \
		"{\"type\":\"exec\",\"ts\":1.5,\"src\":\"pgx-trace\",$good}" \
		'{"type":"exek","ts":1.5,"src":"pgx-trace"}' \
		"{\"type\":\"exec\",\"ts\":1.5,\"src\":\"pgx-poll\",\"pid\":22,$good}" \
		'{"type":"connections","ts":1,"src":"pgx-poll","cluster":"c","status":"ok","total":null,"xact_commit_per_s":"fast"}' \
		>"$BATS_TEST_TMPDIR/bad.ndjson"
	run --separate-stderr pgx-report validate "$BATS_TEST_TMPDIR/bad.ndjson"
	assert_failure 1
	assert_output ""
	output="$stderr" lines=("${stderr_lines[@]}")
	f="$BATS_TEST_TMPDIR/bad.ndjson"
	refute_line --partial "bad.ndjson:1:"
	assert_line "pgx-report: error: $f:2: exec.pid: integer expected, got string"
	assert_line "pgx-report: error: $f:2: exec.undocumented: not in the schema"
	assert_line "pgx-report: error: $f:3: exec.pid: required field missing"
	assert_line "pgx-report: error: $f:4: exek: unknown pgx record type (src pgx-trace)"
	assert_line "pgx-report: error: $f:5: exec.src: pgx-poll does not write exec records (writers: pgx-trace)"
	assert_line "pgx-report: error: $f:6: connections.xact_commit_per_s: number or null expected, got string"
	assert_line --partial "6 problem(s) in 6 pgx record(s)"
}

@test "validate: a line that is not JSON is an input error with its position (exit 3); the rest is still checked" {
	printf '%s\n' '{"type":"exek","ts":1,"src":"pgx-trace"}' '{"type":"exec",' 'plain text' >"$BATS_TEST_TMPDIR/broken.ndjson"
	run --separate-stderr pgx-report validate "$BATS_TEST_TMPDIR/broken.ndjson"
	assert_failure 3
	output="$stderr" lines=("${stderr_lines[@]}")
	assert_line --partial "broken.ndjson:1: exek: unknown pgx record type"
	assert_line --partial "broken.ndjson:2: invalid JSON"
	assert_line --partial "broken.ndjson:3: not a JSON object"
	run pgx-report validate "$BATS_TEST_TMPDIR/missing.ndjson"
	assert_failure 3
}

@test "validate refuses definitions it cannot read or that say something it does not know (exit 2)" {
	printf 'records:\n  exec:\n    writers: [pgx-trace]\n    fields:\n      pid: int\n' >"$BATS_TEST_TMPDIR/typo.yaml"
	run pgx-report validate --schema "$BATS_TEST_TMPDIR/typo.yaml" </dev/null
	assert_failure 2
	assert_output --partial 'field pid: "int" is not TYPE'
	printf 'records:\n  exec:\n    fields:\n      pid: integer\n' >"$BATS_TEST_TMPDIR/nowriter.yaml"
	run pgx-report validate --schema "$BATS_TEST_TMPDIR/nowriter.yaml" </dev/null
	assert_failure 2
	assert_output --partial "records.exec: writers must list"
	printf 'records: [\n' >"$BATS_TEST_TMPDIR/broken.yaml"
	run pgx-report validate --schema "$BATS_TEST_TMPDIR/broken.yaml" </dev/null
	assert_failure 2
	assert_output --partial "broken.yaml:"
	PGX_SHARE_DIR="$BATS_TEST_TMPDIR" run pgx-report validate </dev/null
	assert_failure 2
	assert_output --partial "records.yaml not found"
}

@test "PGX_VALIDATE_DIR gets a copy of each record a command builds, and nothing without it" {
	dir="$BATS_TEST_TMPDIR/copies"
	mkdir "$dir"
	PGX_VALIDATE_DIR="$dir" pgx-report aggregate "$F/run1.ndjson" "$F/run2.ndjson" >"$BATS_TEST_TMPDIR/out.ndjson"
	run cat "$dir"/pgx-report.*.ndjson
	assert_output "$(cat "$BATS_TEST_TMPDIR/out.ndjson")"
	# a closed stdout is still a write error, not the copy
	run bash -c 'PGX_VALIDATE_DIR="$1" pgx-report aggregate "$2" >&- 2>/dev/null; echo $?' sh "$dir" "$F/run1.ndjson"
	assert_output 6
	rm -f "$dir"/*
	env -u PGX_VALIDATE_DIR pgx-report aggregate "$F/run1.ndjson" >/dev/null
	run ls -A "$dir"
	assert_output ""
}
