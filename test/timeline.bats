#!/usr/bin/env bats
# pgx-timeline: phases, scripts and the profile from merged streams.

load test_helper

F="$PGX_FIXTURES/timeline"

derived() {	# the derived records of a stream, compact
	pgx-timeline -d "$@"
}

@test "pgx-timeline answers --help, --version and rejects a bad option" {
	assert_standard_options pgx-timeline
}

@test "pgx-timeline documents every option in its man page and completion" {
	assert_options_documented pgx-timeline
}

@test "kernel spans give contiguous phases in order that add up to the total" {
	run derived "$F/traced-scripts.ndjson"
	assert_success
	run jq -c 'select(.type=="phase") | [.name, .start, .end, .source]' <<<"$output"
	assert_output - <<-'EOF'
	["container_create",100,100.2,"docker"]
	["container_init",100.2,100.3,"trace"]
	["initdb",100.3,101.5,"trace"]
	["temp_server_start",101.5,101.9,"trace"]
	["init_scripts",101.9,103.4,"trace"]
	["temp_server_stop",103.4,103.7,"trace"]
	["final_server_start",103.7,104.2,"ping"]
	EOF
	run bash -c "pgx-timeline -d '$F/traced-scripts.ndjson' | jq -s '[(map(select(.type==\"phase\").duration_s) | add * 1e6 | round / 1e6), (map(select(.type==\"profile\"))[0].total_s), (map(select(.type==\"phase\").pct) | add)]' -c"
	assert_output '[4.2,4.2,100]'
}

@test "init scripts are timed from the exec and exit of the processes running them" {
	run derived "$F/traced-scripts.ndjson"
	run jq -c 'select(.type=="script") | [.name, .path, .duration_s, .exit_code, .source]' <<<"$output"
	assert_output - <<-'EOF'
	["01-schema.sql","/docker-entrypoint-initdb.d/01-schema.sql",0.25,0,"trace"]
	["02-load.sh","/docker-entrypoint-initdb.d/02-load.sh",1,3,"trace"]
	EOF
}

@test "workers are placed from the start, and every process span is written" {
	run derived "$F/traced-scripts.ndjson"
	assert_equal "$(jq -c 'select(.type=="bgworker") | [.name, .offset_s]' <<<"$output")" '["logical_replication",4.1]'
	assert_equal "$(jq -s 'map(select(.type=="process")) | length' <<<"$output")" 8
	assert_equal "$(jq -c 'select(.type=="process" and .pid==1) | [.comm, .end]' <<<"$output")" '["postgres",null]'
}

@test "CREATE EXTENSION from a backend's opens: cascade inside, a view's reads and initdb's single-user run left out, logged once" {
	run derived "$F/kernel-children.ndjson"
	assert_success
	run jq -c 'select(.type=="extension") | [.name, .start, .end, .end_bound, .server, .source]' <<<"$output"
	assert_output - <<-'EOF'
	["earthdistance",101.51,101.56,"command_tag","temporary","trace"]
	["cube",101.512,101.53,"next_extension","temporary","trace"]
	["pg_trgm",102.65,102.7,"next_line","final","log"]
	EOF
}

@test "a CREATE EXTENSION without psql's command tag ends at the backend's exit" {
	run bash -c "grep -v extension_created '$F/kernel-children.ndjson' | pgx-timeline -d"
	run jq -c 'select(.type=="extension" and .name=="earthdistance") | [.end, .end_bound]' <<<"$output"
	assert_output '[101.6,"backend_exit"]'
}

@test "workers are named by their titles, placed at their forks and given their server; backends and log lines are not repeated" {
	run derived "$F/kernel-children.ndjson"
	run jq -c 'select(.type=="bgworker") | [.name, .offset_s, .server, .source, .pid]' <<<"$output"
	assert_output - <<-'EOF'
	["checkpointer",1.2,"temporary","trace",22]
	["autovacuum launcher",1.21,"temporary","trace",23]
	["logical replication launcher",2.5,"final","trace",40]
	["startup",2.51,"final","trace",41]
	EOF
	run bash -c "grep -v '\"title\"' '$F/kernel-children.ndjson' | pgx-timeline -d | jq -c 'select(.type==\"bgworker\") | [.name, .server, .source]'"
	assert_output '["logical_replication","final","log"]'
}

@test "a container seen through its log alone still gets phases, scripts and a warning" {
	pgx-logmatch -o "$F/container-fresh.ndjson" >"$BATS_TEST_TMPDIR/in"
	run derived "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -r 'select(.type=="phase") | .name' <<<"$output"
	assert_output $'container_create\ncontainer_init\ninitdb\ntemp_server_start\ninit_scripts\ntemp_server_stop\nfinal_server_start'
	run derived "$BATS_TEST_TMPDIR/in"
	sleep_s="$(jq 'select(.type=="script" and .name=="02-sleep.sql") | .duration_s' <<<"$output")"
	awk -v d="$sleep_s" 'BEGIN { exit !(d >= 1.0 && d <= 1.1) }' || fail "02-sleep.sql took $sleep_s s"
	run jq -c 'select(.type=="profile") | [.subject, .subject_kind, .ready_source, .total_s > 2, (.warnings | length)]' <<<"$output"
	assert_output '["pgx-test/postgres:15","container","ping",true,1]'
}

@test "an existing data directory has no initdb or temporary server phases" {
	jq -c 'select(.type=="container" or (.type=="log" and (.line | test("ready to accept|starting PostgreSQL|Skipping"))))' \
		"$F/container-fresh.ndjson" | tail -n 6 >"$BATS_TEST_TMPDIR/existing"
	run bash -c "pgx-logmatch -o '$BATS_TEST_TMPDIR/existing' | pgx-timeline -d | jq -r 'select(.type==\"phase\") | .name'"
	refute_output --partial initdb
	refute_output --partial temp_server
	assert_output --partial final_server_start
}

@test "a subject that never becomes ready gives a partial profile, a warning and exit 7" {
	printf '%s\n' '{"type":"container","ts":1,"src":"pgx-docker","action":"create","image":"bad"}' \
		'{"type":"container","ts":1.5,"src":"pgx-docker","action":"start","image":"bad"}' \
		'{"type":"container","ts":2,"src":"pgx-docker","action":"die","image":"bad","exit_code":1}' >"$BATS_TEST_TMPDIR/dead"
	run derived "$BATS_TEST_TMPDIR/dead"
	assert_failure 7
	run jq -c 'select(.type=="profile") | [.ready, .ready_source, .warnings[0]]' <<<"$output"
	assert_output '[null,"none","never ready: the container died with exit code 1"]'
}

@test "every input record passes through unchanged and first, derived records follow" {
	run pgx-timeline "$F/traced-scripts.ndjson"
	assert_success
	n="$(wc -l <"$F/traced-scripts.ndjson")"
	assert_equal "$(head -n "$n" <<<"$output")" "$(cat "$F/traced-scripts.ndjson")"
	assert_equal "$(tail -n 1 <<<"$output" | jq -r .type)" profile
}

@test "malformed input is reported with its position and exit 3" {
	run --separate-stderr pgx-timeline -d <<<$'{"type":"container","ts":1,"action":"create"}\n{"type":'
	assert_failure 3
	assert_equal "$stderr" "pgx-timeline: error: stdin:2: invalid JSON at column 8: unexpected token near end of file"
}

@test "a traced local cluster start is profiled: initdb, server start, ready by pg_ctl" {
	require_root "eBPF"
	dir="$(mktemp -d /tmp/pgx-tl.XXXXXX)"
	chmod 755 "$dir"; chown postgres: "$dir"
	run --separate-stderr bash -c "pgx-trace --no-open -- runuser -u postgres -- sh -c '$PG_BINDIR/initdb -D $dir/d -U postgres -A trust --no-sync >/dev/null && $PG_BINDIR/pg_ctl -D $dir/d -l $dir/log -w -o \"-c listen_addresses= -c unix_socket_directories=$dir\" start >/dev/null' | pgx-timeline -d"
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$dir/d" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	assert_success
	assert_equal "$(jq -r 'select(.type=="phase") | .name' <<<"$output" | tr '\n' ' ')" "command_init initdb final_server_start "
	run jq -c 'select(.type=="profile") | [.subject_kind, .ready_source, (.total_s > 0.3)]' <<<"$output"
	assert_output '["command","pg_ctl",true]'
}

@test "empty input is an error that says so, not a silent exit 7" {
	run --separate-stderr pgx-timeline </dev/null
	assert_failure 3
	assert_equal "$stderr" "pgx-timeline: error: no timed records in the input: nothing to profile"
	assert_output ""
	run --separate-stderr pgx-timeline <<<'{"type":"note","text":"no time"}'
	assert_failure 3
	assert_output '{"type":"note","text":"no time"}'
}

@test "records are read as jansson reads them: escaped and repeated keys count, bad lines are errors" {
	printf '%s\n' '{"typ\u0065":"exec","ts":3.5,"pid":7,"comm":"x","argv":["a"]}' \
		'{"type":"log","type":"exec","ts":4,"pid":8,"comm":"y","argv":["b"]}' \
		'{"type":"ex\u0065c","ts":4.5,"pid":9,"comm":"z","argv":["c"]}' \
		'{"type":"log","ts":5,"line":"\ud800"}' \
		'{"type":"log","ts":01}' \
		'{"type":"open","ts":5.5,"path":"/x","result":3} x' >"$BATS_TEST_TMPDIR/odd"
	printf '{"type":"log","ts":6,"line":"\xff"}\n' >>"$BATS_TEST_TMPDIR/odd"
	run --separate-stderr pgx-timeline "$BATS_TEST_TMPDIR/odd"
	assert_failure 3
	run jq -sc 'map(select(.type=="process") | .pid)' <<<"$output"
	assert_output '[7,8,9]'
	assert_equal "$(grep -c '"ts":[56]' <<<"$output" || true)" 0
	for n in 4 5 6 7; do
		assert_equal "$(grep -c "odd:$n: invalid JSON" <<<"$stderr")" 1
	done
}

@test "an exit is read as jansson reads it: a real pid is no pid, a signal makes the code 128+N" {
	printf '%s\n' '{"type":"exec","ts":1,"pid":10,"comm":"a","argv":["a"]}' \
		'{"type":"exit","ts":2,"pid":10.0,"code":1}' \
		'{"type":"exit","ts":3,"pid":10,"code":3.0,"signal":9}' >"$BATS_TEST_TMPDIR/exits"
	run derived "$BATS_TEST_TMPDIR/exits"
	run jq -c 'select(.type=="process") | [.pid, .end, .exit_code]' <<<"$output"
	assert_output '[10,3,137]'
}

# execs of N short processes, 300 at a time, on 600 random pids (some share
# hash slots), inside one that runs throughout
# (its exec is on disk long before its exit); expected spans to $2
spans_stream() {
	/usr/bin/python3 - "$1" "$2" <<-'PY'
	import json, random, sys
	n, expected = int(sys.argv[1]), open(sys.argv[2], "w")
	out = sys.stdout
	def rec(**r): out.write(json.dumps(r) + "\n")
	rec(type="exec", ts=0.5, pid=1, ppid=0, comm="long", argv=["long", "-x"])
	spans, running, t = [], [], 1.0
	pids = random.Random(7).sample(range(2, 4194304), 600)
	for i in range(n):
	    t = round(t + 0.001, 6)
	    if len(running) == 300:	# the oldest exits: its pid comes back later
	        pid = running.pop(0)
	        rec(type="exit", ts=t, pid=pid, code=i % 5, signal=0)
	        spans[-300][2:] = [t, i % 5]
	        t = round(t + 0.001, 6)
	    pid = pids[i % 600]
	    rec(type="exec", ts=t, pid=pid, ppid=1, comm="psql", argv=["psql", "-c", "select %d" % i])
	    spans.append([pid, t, None, None])
	    running.append(pid)
	t = round(t + 1, 6)
	rec(type="exit", ts=t, pid=1, code=3, signal=0)
	for s in [[1, 0.5, t, 3]] + spans:
	    s = [int(x) if isinstance(x, float) and x.is_integer() else x for x in s if x is not None]
	    expected.write(json.dumps(s).replace(" ", "") + "\n")	# as jq prints numbers
	PY
}

@test "process spans are kept on disk: a long process's end is patched after its exec went out, pids come back" {
	spans_stream 20000 "$BATS_TEST_TMPDIR/expected" >"$BATS_TEST_TMPDIR/stream"
	run bash -c "pgx-timeline -d '$BATS_TEST_TMPDIR/stream' | jq -c 'select(.type==\"process\") | [.pid, .start] + if .end then [.end, .exit_code] else [] end'"
	assert_output "$(cat "$BATS_TEST_TMPDIR/expected")"
}

@test "a temporary file that cannot be created or written stops pgx-timeline with exit 6 and says why" {
	spans_stream 20000 /dev/null >"$BATS_TEST_TMPDIR/stream"
	run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/missing" pgx-timeline -d "$BATS_TEST_TMPDIR/stream"
	assert_failure 6
	assert_equal "$stderr" "pgx-timeline: error: cannot create a temporary file in $BATS_TEST_TMPDIR/missing: No such file or directory"
	assert_output ''
	require_root "mount"
	mkdir "$BATS_TEST_TMPDIR/ro" "$BATS_TEST_TMPDIR/full"
	mount -t tmpfs -o ro,size=64k tmpfs "$BATS_TEST_TMPDIR/ro"
	mount -t tmpfs -o size=64k tmpfs "$BATS_TEST_TMPDIR/full"
	run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/ro" pgx-timeline -d "$BATS_TEST_TMPDIR/stream"
	ro_status=$status ro_stderr=$stderr
	run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/full" pgx-timeline -d "$BATS_TEST_TMPDIR/stream"
	umount "$BATS_TEST_TMPDIR/ro" "$BATS_TEST_TMPDIR/full"
	assert_equal "$ro_status" 6
	assert_equal "$ro_stderr" "pgx-timeline: error: cannot create a temporary file in $BATS_TEST_TMPDIR/ro: Read-only file system"
	assert_failure 6
	assert_equal "$stderr" "pgx-timeline: error: cannot write a temporary file in $BATS_TEST_TMPDIR/full: No space left on device"
	assert_output ''
}

# N processes each running one of N/3 init scripts (a file run again,
# sometimes at the same time as another), and log lines of init scripts,
# some traced, some not; the script records expected to $2
scripts_stream() {
	/usr/bin/python3 - "$1" "$2" <<-'PY'
	import json, random, sys
	n, expected = int(sys.argv[1]), open(sys.argv[2], "w")
	rnd = random.Random(11)
	def rec(**r): print(json.dumps(r))
	runs, t = [], 10.0
	for i in range(n):
	    t = round(t + rnd.choice([0, 0.001, 0.002]), 6)	# 0: two scripts start together
	    name = "%04d.sql" % rnd.randrange(n // 3)
	    end, code = round(t + rnd.choice([0.0005, 0.003]), 6), rnd.randrange(3)
	    rec(type="exec", ts=t, pid=10 + i, ppid=1, comm="psql", argv=["psql", "-f", "/docker-entrypoint-initdb.d/" + name])
	    rec(type="exit", ts=end, pid=10 + i, code=code, signal=0)
	    runs.append((name, t, end, code))
	folded = {}
	for name, start, end, code in runs:
	    f = folded.setdefault(name, [start, end, code])
	    f[0] = min(f[0], start)
	    if end > f[1]:
	        f[1:] = [end, code]
	marks = [(round(t + 1 + k * 0.5, 6), "%04d.sql" % (n // 3 - 5 + k * 2)) for k in range(6)]
	for ts, name in marks:
	    rec(type="match", ts=ts, rule="init_script", captures={"script": name})
	done = round(marks[-1][0] + 0.5, 6)	# the last logged script's end
	rec(type="match", ts=done, rule="init_complete")
	scripts = [(f[0], name, [f[1], f[2], "trace"]) for name, f in sorted(folded.items())]
	for i, (ts, name) in enumerate(marks):
	    if name not in folded:
	        scripts.append((ts, name, [marks[i + 1][0] if i + 1 < len(marks) else done, "log"]))
	for start, name, rest in sorted(scripts, key=lambda s: s[0]):
	    row = [name, start] + rest
	    row = [int(x) if isinstance(x, float) and x.is_integer() else x for x in row]
	    expected.write(json.dumps(row).replace(" ", "") + "\n")	# as jq prints numbers
	PY
}

@test "many init scripts: each file's processes fold into one script, in order of start, traced or logged" {
	scripts_stream 15000 "$BATS_TEST_TMPDIR/expected" >"$BATS_TEST_TMPDIR/stream"
	run bash -c "pgx-timeline -d '$BATS_TEST_TMPDIR/stream' | jq -c 'select(.type==\"script\") | [.name, .start] + if .end then [.end] else [] end + if .exit_code then [.exit_code] else [] end + [.source]'"
	assert_output "$(cat "$BATS_TEST_TMPDIR/expected")"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/expected")" -gt 4096 ]	# more than one run of scriptsort.c
}

@test "a script still running when the stream ends has no end, and its record is valid" {
	{
		printf '%s\n' '{"type":"exec","ts":10.0,"pid":20,"ppid":1,"comm":"psql","argv":["psql","-f","/docker-entrypoint-initdb.d/01-slow.sql"]}'
		printf '%s\n' '{"type":"match","ts":10.5,"rule":"init_script","captures":{"script":"02-last.sh"}}'
	} >"$BATS_TEST_TMPDIR/stream"
	run --separate-stderr pgx-timeline -d "$BATS_TEST_TMPDIR/stream"
	echo "$output" >"$BATS_TEST_TMPDIR/out"
	run jq -c 'select(.type=="script") | [.name, .source, has("start"), has("end"), has("duration_s")]' "$BATS_TEST_TMPDIR/out"
	assert_output "$(printf '%s\n' '["01-slow.sql","trace",true,false,false]' '["02-last.sh","log",true,false,false]')"
	run pgx-report validate "$BATS_TEST_TMPDIR/out"
	assert_success
}
