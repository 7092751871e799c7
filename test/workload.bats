#!/usr/bin/env bats
# pgx-report workload: a real client through a delaying TCP proxy on
# 127.0.0.1, its own timing lines (pgx-logmatch --rules client-timing) joined
# with two pgx-poll statements snapshots of a real PostgreSQL 15.

load test_helper

DELAY_MS=50	# one way, added by test/workload/proxy.py
UNITS=10	# units of work: fetch_item (3 statements) + ack_item (1 statement)

setup_file() {
	pg_start
	psql_q -c "CREATE EXTENSION pg_stat_statements;
		CREATE TABLE items (id int PRIMARY KEY, payload text, acked bool DEFAULT false);
		INSERT INTO items SELECT g, 'p' FROM generate_series(1, 100) g;
		CREATE TABLE item_tags (item_id int, tag text);
		CREATE TABLE owners (id int PRIMARY KEY, name text);
		INSERT INTO owners SELECT g, 'o' FROM generate_series(0, 4) g;
		CREATE ROLE monitor LOGIN; GRANT pg_monitor TO monitor;"
	# The same units of work through the proxy without and with the delay:
	# what the report calls network in the second run, less the first, is
	# what the delay added.
	run_client 0 direct
	run_client "$DELAY_MS" ""
	printf '%s\n' '# operation  piece of the normalized query text' \
		'fetch_item FROM items WHERE' 'fetch_item FROM item_tags' 'fetch_item FROM owners' \
		'ack_item   UPDATE items' >"$BATS_FILE_TMPDIR/map.txt"
}

# run_client DELAY PREFIX: UNITS units through a proxy adding DELAY ms each
# way, framed by two statements snapshots: PREFIX{before,after,client}.ndjson.
run_client() {
	local dir="$BATS_FILE_TMPDIR" delay="$1" p="$BATS_FILE_TMPDIR/$2" port
	rm -f "$dir/proxy.port"
	"$PGX_TEST_DIR/workload/proxy.py" "$PGX_PG_PORT" "$delay" "$dir/proxy.port" &
	echo $! >>"$dir/proxy.pids"
	for _ in $(seq 50); do [ -s "$dir/proxy.port" ] && break; sleep 0.1; done
	port="$(cat "$dir/proxy.port")"
	timeout 60 pgx-poll -d "$PGX_PG_DSN user=monitor" -s statements --top 1000 >"${p}before.ndjson"
	timeout 120 "$PGX_TEST_DIR/workload/client.py" \
		"host=127.0.0.1 port=$port user=postgres dbname=postgres" "$UNITS" >"${p}app.log"
	timeout 60 pgx-poll -d "$PGX_PG_DSN user=monitor" -s statements --top 1000 >"${p}after.ndjson"
	pgx-logmatch -o --rules client-timing "${p}app.log" >"${p}client.ndjson"
}

teardown_file() {
	local pid
	for pid in $(cat "$BATS_FILE_TMPDIR/proxy.pids" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	pg_stop
}

workload_json() {
	local p="$BATS_FILE_TMPDIR/${1:-}"
	pgx-report workload --map "$BATS_FILE_TMPDIR/map.txt" --format json \
		"${p}before.ndjson" "${p}after.ndjson" "${p}client.ndjson"
}

@test "the round trips of each operation are counted exactly" {
	run workload_json
	assert_success
	run jq -c '.operations[] | [.operation, .calls, .server_calls, .round_trips_per_call, .statements]' <<<"$output"
	assert_output "$(printf '%s\n' "[\"fetch_item\",$UNITS,$((3 * UNITS)),3,3]" "[\"ack_item\",$UNITS,$UNITS,1,1]")"
}

@test "the latency the proxy adds is attributed to the network within 10%" {
	run workload_json
	assert_success
	json="$output"
	direct_s="$(workload_json direct | jq .network_s)"
	# 4 round trips per unit, each 2 x DELAY_MS slower through the proxy.
	added_s="$(echo "$UNITS * 4 * 2 * $DELAY_MS / 1000" | bc -l)"
	run jq --argjson want "$added_s" --argjson direct "$direct_s" \
		'(.network_s - $direct - $want) / $want | fabs < 0.10' <<<"$json"
	assert_output true
	run jq --argjson want "$added_s" '.network_s > $want' <<<"$json"
	assert_output true
	run jq '.server_s < 0.1 * .network_s and .application_s > 0' <<<"$json"
	assert_output true
}

@test "the markdown report follows the analysis template and ranks the bottlenecks with numbers" {
	run pgx-report workload -m "$BATS_FILE_TMPDIR/map.txt" \
		"$BATS_FILE_TMPDIR/before.ndjson" "$BATS_FILE_TMPDIR/after.ndjson" "$BATS_FILE_TMPDIR/client.ndjson"
	assert_success
	report="$output"
	run grep -E '^#+ ' <<<"$report"
	assert_output "$(printf '%s\n' '# Performance Analysis Report' '## Executive Summary' '## Timing Breakdown' \
		'## Per-Operation Analysis' '### fetch_item' '### ack_item' '## Identified Bottlenecks' \
		'### 1. Network dominance' '### 2. Chatty operation fetch_item' '## Optimization Priorities')"
	run grep -E '^[|] (Network RTT [(]and driver[)]|Server Execution|Application Logic) [|] [0-9.]+ [|] [0-9.]+% [|]$' <<<"$report"
	assert_equal "${#lines[@]}" 3
	run grep -F -- "- **Round trips per call**: 3.00" <<<"$report"
	assert_success
	run grep -E -- "- \*\*Evidence\*\*: $((3 * UNITS)) statements for $UNITS calls \(3.00 per call\)" <<<"$report"
	assert_success
}

@test "without a map, an operation named like a procedure finds its statements" {
	psql_q -c "CREATE FUNCTION get_owner(i int) RETURNS text LANGUAGE sql AS 'SELECT name FROM owners WHERE id = i'"
	before="$(pgx-poll -d "$PGX_PG_DSN user=monitor" -s statements --top 1000)"
	for i in 1 2 3 4 5; do
		psql_q -c "SELECT get_owner($i)" >/dev/null
		echo "2026-11-22 06:00:0$i UTC app procedure=get_owner elapsed=2.5ms"
	done >"$BATS_TEST_TMPDIR/app.log"
	after="$(pgx-poll -d "$PGX_PG_DSN user=monitor" -s statements --top 1000)"
	run pgx-report workload -f json <(echo "$before") <(echo "$after") \
		<(pgx-logmatch -o --rules client-timing "$BATS_TEST_TMPDIR/app.log")
	assert_success
	run jq -c '.operations[] | [.operation, .calls, .server_calls, .client_mean_ms]' <<<"$output"
	assert_output '["get_owner",5,5,2.5]'
}

@test "missing client timings or statements are input errors" {
	run pgx-report workload "$BATS_FILE_TMPDIR/before.ndjson"
	assert_failure 3
	assert_output --partial 'no client timing in the input'
	run pgx-report workload "$BATS_FILE_TMPDIR/client.ndjson"
	assert_failure 3
	assert_output --partial 'no statements record'
	printf 'just-one-word\n' >"$BATS_TEST_TMPDIR/bad.map"
	run pgx-report workload --map "$BATS_TEST_TMPDIR/bad.map" "$BATS_FILE_TMPDIR/client.ndjson"
	assert_failure 2
	assert_output --partial 'bad.map:1: a mapping line is "OPERATION PATTERN"'
}

@test "polling and a server-side outlier are named with their evidence" {
	before="$(pgx-poll -d "$PGX_PG_DSN user=monitor" -s statements --top 1000)"
	timeout 60 "$PGX_TEST_DIR/workload/client.py" "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=postgres dbname=postgres" \
		30 patterns >"$BATS_TEST_TMPDIR/app.log"
	after="$(pgx-poll -d "$PGX_PG_DSN user=monitor" -s statements --top 1000)"
	printf '%s\n' 'poll_queue WHERE acked AND' 'load_report pg_sleep' >"$BATS_TEST_TMPDIR/map.txt"
	run pgx-report workload -f json -m "$BATS_TEST_TMPDIR/map.txt" <(echo "$before") <(echo "$after") \
		<(pgx-logmatch -o --rules client-timing "$BATS_TEST_TMPDIR/app.log")
	assert_success
	json="$output"
	run jq -r '.findings[] | [.pattern, .evidence] | @tsv' <<<"$json"
	assert_line --regexp $'^Polling by poll_queue\t30 calls returned 0 rows \\(0.00 per statement\\)$'
	assert_line --regexp $'^Outliers in load_report\t1 of 30 calls took 3[0-9][0-9]\\.[0-9] ms \\([0-9.]+ ms or more: 10x the median [0-9.]+ ms and the mean\\)'
	run jq -c '.operations[] | select(.operation == "load_report") | [.calls, .server_calls, (.server_s_total > 0.3)]' <<<"$json"
	assert_output '[30,30,true]'
}

@test "an outlier's impact counts every slow call, and the largest impact is the primary bottleneck" {
	# 400 calls of fetch_item, 8 of them 300 ms on the server: about 2.4 s of
	# a window of about 3 s, not the slowest call's excess alone
	before="$(pgx-poll -d "$PGX_PG_DSN user=monitor" -s statements --top 1000)"
	timeout 120 "$PGX_TEST_DIR/workload/client.py" "host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=postgres dbname=postgres" \
		400 outliers >"$BATS_TEST_TMPDIR/app.log"
	after="$(pgx-poll -d "$PGX_PG_DSN user=monitor" -s statements --top 1000)"
	printf 'fetch_item pg_sleep\n' >"$BATS_TEST_TMPDIR/map.txt"
	pgx-logmatch -o --rules client-timing "$BATS_TEST_TMPDIR/app.log" >"$BATS_TEST_TMPDIR/client.ndjson"
	run pgx-report workload -f json -m "$BATS_TEST_TMPDIR/map.txt" <(echo "$before") <(echo "$after") \
		"$BATS_TEST_TMPDIR/client.ndjson"
	assert_success
	json="$output"
	# the 8 calls of 300 ms, and maybe a call or two of a few ms (a cold
	# first statement) that are still far above the median
	client_ms="$(jq -r .captures.elapsed "$BATS_TEST_TMPDIR/client.ndjson" | paste -sd+ | bc)"
	run jq -r '.findings[] | select(.pattern == "Outliers in fetch_item") | [.rank, .impact, .evidence] | @tsv' <<<"$json"
	assert_output --regexp $'^1\tHigh\t(8|9|1[0-9]) of 400 calls took 2[0-9]{3}\\.[0-9] ms \\([0-9.]+ ms or more: 10x the median [0-9.]+ ms and the mean\\)'
	# the impact is what they took beyond a typical call: at least 8 x 290 ms
	run jq ".findings[0].impact_ms > 2320 and .findings[0].impact_ms < $client_ms" <<<"$json"
	assert_output true
	run pgx-report workload -m "$BATS_TEST_TMPDIR/map.txt" <(echo "$before") <(echo "$after") "$BATS_TEST_TMPDIR/client.ndjson"
	assert_success
	assert_output --partial 'The primary bottleneck is **Outliers in fetch_item**'
	assert_output --regexp '### 1\. Outliers in fetch_item'$'\n\n''- \*\*Impact\*\*: High - 2[0-9]{3}\.[0-9] ms'
}

@test "one statements record from pgx-poll --delta frames the window as well as two snapshots" {
	( sleep 1; timeout 60 "$PGX_TEST_DIR/workload/client.py" \
		"host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=postgres dbname=postgres" 5 >"$BATS_TEST_TMPDIR/app.log" ) &
	timeout 60 pgx-poll -d "$PGX_PG_DSN user=monitor" -s statements --top 1000 --delta 4s >"$BATS_TEST_TMPDIR/delta.ndjson"
	wait
	run pgx-report workload -f json -m "$BATS_FILE_TMPDIR/map.txt" "$BATS_TEST_TMPDIR/delta.ndjson" \
		<(pgx-logmatch -o --rules client-timing "$BATS_TEST_TMPDIR/app.log")
	assert_success
	run jq -c '[(.window_s > 3.9), (.operations[] | [.operation, .calls, .server_calls])]' <<<"$output"
	assert_output '[true,["fetch_item",5,15],["ack_item",5,5]]'
}
