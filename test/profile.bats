#!/usr/bin/env bats
# The startup profile end to end: pgx-trace -- pgx-docker run | pgx-logmatch |
# pgx-timeline (| pgx-report), on a real dockerd with eBPF (root only).

load test_helper
load docker_helper

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	docker_setup
	INITD="$(mktemp -d /tmp/pgx-initd.XXXXXX)"
	echo 'CREATE EXTENSION pg_stat_statements;' >"$INITD/01-ext.sql"
	echo 'SELECT pg_sleep(1);' >"$INITD/02-sleep.sql"
	printf '#!/bin/sh\necho setting up\nsleep 0.2\n' >"$INITD/03-setup.sh"
	chmod 755 "$INITD" "$INITD/03-setup.sh"
	chmod 644 "$INITD"/*.sql
	export INITD
}

teardown_file() {
	[ "$(id -u)" = 0 ] || return 0
	rm -rf "$INITD"
	docker_teardown
}

setup() {
	require_root "eBPF and dockerd"
	PORT="$(free_port)"
	NAME="pgx-profile-$BATS_TEST_NUMBER-$$"
	DATA="$(mktemp -d /tmp/pgx-data.XXXXXX)"
}

teardown() {
	docker_remove_container "$NAME" 2>/dev/null || true
	rm -rf "$DATA"
}

# profile [pgx-docker run options...]: the whole pipeline into $BATS_TEST_TMPDIR/profile
profile() {
	pgx-trace --no-open -- pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" -p "$PORT" \
		-v "$INITD:/docker-entrypoint-initdb.d:ro" "$@" |
		pgx-logmatch | pgx-timeline -d >"$BATS_TEST_TMPDIR/profile"
}

@test "a fresh container: every phase in order, every script, the sleeping one at 1.0 s" {
	profile --until ready --rm
	if [ "$PGX_TEST_IMAGE" = "pgx-test/postgres:$PGX_TEST_PG_VERSION" ]; then
		run -0 docker run --rm --network none --entrypoint postgres "$PGX_TEST_IMAGE" --version
		assert_output --partial "(PostgreSQL) $PGX_TEST_PG_VERSION."
	fi
	run jq -r 'select(.type=="phase") | .name' "$BATS_TEST_TMPDIR/profile"
	assert_output $'container_create\ncontainer_init\ninitdb\ntemp_server_start\ninit_scripts\ntemp_server_stop\nfinal_server_start'
	run jq -c 'select(.type=="script") | [.name, .source, .exit_code]' "$BATS_TEST_TMPDIR/profile"
	assert_output $'["01-ext.sql","trace",0]\n["02-sleep.sql","trace",0]\n["03-setup.sh","trace",0]'
	sleep_s="$(jq 'select(.type=="script" and .name=="02-sleep.sql") | .duration_s' "$BATS_TEST_TMPDIR/profile")"
	awk -v d="$sleep_s" 'BEGIN { exit !(d >= 0.95 && d <= 1.5) }' || fail "02-sleep.sql took $sleep_s s"
	run jq -s -c '[(map(select(.type=="phase").duration_s) | add), (map(select(.type=="profile"))[0].total_s)]
		| (.[0] - .[1]) / .[1] | fabs < 0.01' "$BATS_TEST_TMPDIR/profile"
	assert_output true
	run jq -c 'select(.type=="profile") | [.subject, .ready_source, .lost_events, .warnings]' "$BATS_TEST_TMPDIR/profile"
	assert_output "[\"$PGX_TEST_IMAGE\",\"ping\",0,[]]"
}

# measure_start [pgx-docker run options...]: the whole pipeline in the
# background, and beside it the test's own clock: t0 when pgx-docker is
# started (after pgx-trace has armed its probes), t1 at the first connection
# that succeeds, tried every 5 ms.  Prints "PROFILE_TOTAL MEASURED".
measure_start() {
	pgx-trace --no-open -- sh -c "date +%s.%N >'$BATS_TEST_TMPDIR/t0'; exec pgx-docker run '$PGX_TEST_IMAGE' \
		--name '$NAME' -p '$PORT' $* --until ready --stop" |
		pgx-logmatch | pgx-timeline -d >"$BATS_TEST_TMPDIR/profile" &
	pipeline=$!
	t1="$(/usr/bin/python3 - "$PORT" <<-'PY'
		import sys, time, psycopg2
		while True:
		    try:
		        psycopg2.connect(host="127.0.0.1", port=sys.argv[1], user="postgres",
		                         dbname="postgres", connect_timeout=2).close()
		        print("%.6f" % time.time())
		        break
		    except psycopg2.OperationalError:
		        time.sleep(0.005)
		PY
	)"
	wait "$pipeline"
	echo "$(jq 'select(.type=="profile") | .total_s' "$BATS_TEST_TMPDIR/profile") $(echo "$t1 - $(cat "$BATS_TEST_TMPDIR/t0")" | bc -l)"
}

# within PROFILE MEASURED PCT: |profile - measured| <= PCT% of measured, or
# 50 ms on a start too short for that: on a loaded machine (2 cores, a
# test suite beside) either clock's process waits that long for a CPU.
within() {
	awk -v p="$1" -v m="$2" -v pct="$3" 'BEGIN { d = p - m; if (d < 0) d = -d
		exit !(d <= m * pct / 100 || d <= 0.05) }' ||
		fail "profile total $1 s, measured $2 s: more than $3% (and 50 ms) apart"
}

@test "the profile's total agrees within 2% with the test's own clock, cold and warm" {
	read -r total measured < <(measure_start -v "$INITD:/docker-entrypoint-initdb.d:ro" -v "$DATA:/var/lib/postgresql/data")
	within "$total" "$measured" 2
	docker_remove_container "$NAME"
	read -r total measured < <(measure_start -v "$DATA:/var/lib/postgresql/data")
	within "$total" "$measured" 2
}

@test "an existing data directory: no initdb or temporary server, ready still found" {
	pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" -p "$PORT" -v "$DATA:/var/lib/postgresql/data" \
		--until ready --rm >/dev/null
	pgx-trace --no-open -- pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" -p "$PORT" \
		-v "$DATA:/var/lib/postgresql/data" --until ready --rm |
		pgx-logmatch | pgx-timeline -d >"$BATS_TEST_TMPDIR/profile"
	run jq -r 'select(.type=="phase") | .name' "$BATS_TEST_TMPDIR/profile"
	assert_output $'container_create\ncontainer_init\nfinal_server_start'
	assert_equal "$(jq -r 'select(.type=="profile") | .ready_source' "$BATS_TEST_TMPDIR/profile")" ping
}

@test "a container that never becomes ready: a partial profile, a warning, a non-zero exit" {
	run bash -c "pgx-docker run '$PGX_TEST_IMAGE' --name '$NAME' -p '$PORT' --until ready --rm -- sh -c 'echo broken; exit 3' |
		pgx-logmatch | pgx-timeline -d; echo \"status=\${PIPESTATUS[*]}\""
	assert_line --regexp '^status=7 0 7$'
	assert_output --partial '"never ready: the container died with exit code 3"'
}

@test "an init script that fails after the temporary server's ready line: failed, not ready, the gate refuses it" {
	local failing base
	failing="$(mktemp -d /tmp/pgx-initd-fail.XXXXXX)"
	echo 'SELECT 1/0;' >"$failing/01-fail.sql"
	chmod 755 "$failing"
	chmod 644 "$failing/01-fail.sql"
	# no pipefail: only pgx-timeline's own status reaches the shell
	run bash -c "pgx-trace --no-open -- pgx-docker run '$PGX_TEST_IMAGE' --name '$NAME' -p '$PORT' \
		-v '$failing:/docker-entrypoint-initdb.d:ro' --until ready --rm | pgx-logmatch | pgx-timeline \
		>'$BATS_TEST_TMPDIR/failed'"
	rm -rf "$failing"
	assert_failure 7
	# the temporary server did log that it was ready: the profile must not believe it
	jq -e -s 'any(.[]; .type == "match" and .rule == "server_ready")' "$BATS_TEST_TMPDIR/failed"
	run jq -c 'select(.type=="profile") | [.ready, .total_s, .ready_source]' "$BATS_TEST_TMPDIR/failed"
	assert_output '[null,null,"none"]'
	run jq -r 'select(.type=="profile") | .warnings[]' "$BATS_TEST_TMPDIR/failed"
	assert_output --regexp 'never ready: the container died with exit code [1-9]'
	run pgx-report "$BATS_TEST_TMPDIR/failed"
	assert_failure 7
	assert_line "Total:     - FAILED: never ready"
	base="$BATS_TEST_TMPDIR/base"
	profile --until ready --rm
	mv "$BATS_TEST_TMPDIR/profile" "$base"
	run pgx-report compare "$base" "$BATS_TEST_TMPDIR/failed" --fail-if-slower 10
	assert_failure 3
	assert_output --partial "never became ready"
	run pgx-report aggregate "$base" "$BATS_TEST_TMPDIR/failed"
	assert_failure 7
}

@test "a compressed init script is timed as the psql that reads it, exit status included" {
	local zipped
	zipped="$(mktemp -d /tmp/pgx-initd-gz.XXXXXX)"
	echo 'SELECT pg_sleep(1);' | gzip >"$zipped/01-sleep.sql.gz"
	chmod 755 "$zipped"
	chmod 644 "$zipped/01-sleep.sql.gz"
	INITD="$zipped" profile --until ready --rm
	rm -rf "$zipped"
	run jq -c 'select(.type=="script") | [.name, .source, .exit_code]' "$BATS_TEST_TMPDIR/profile"
	assert_output '["01-sleep.sql.gz","trace",0]'
	sleep_s="$(jq 'select(.type=="script") | .duration_s' "$BATS_TEST_TMPDIR/profile")"
	awk -v d="$sleep_s" 'BEGIN { exit !(d >= 0.95 && d <= 1.3) }' || fail "01-sleep.sql.gz took $sleep_s s"
}

@test "an init script that stops and starts the temporary server: timed right, traced and from the log alone" {
	local restart
	restart="$(mktemp -d /tmp/pgx-initd-restart.XXXXXX)"
	printf '#!/bin/sh\nset -e\npg_ctl -D "$PGDATA" -m fast -w stop\nsleep 0.5\npg_ctl -D "$PGDATA" -o "-c listen_addresses= -p $PGPORT" -w start\n' \
		>"$restart/01-restart.sh"
	echo 'SELECT pg_sleep(1);' >"$restart/02-sleep.sql"
	chmod 755 "$restart" "$restart/01-restart.sh"
	chmod 644 "$restart/02-sleep.sql"
	INITD="$restart" profile --until ready --rm
	mv "$BATS_TEST_TMPDIR/profile" "$BATS_TEST_TMPDIR/traced"
	pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" -p "$PORT" -v "$restart:/docker-entrypoint-initdb.d:ro" \
		--until ready --rm | pgx-logmatch | pgx-timeline -d >"$BATS_TEST_TMPDIR/logonly"
	rm -rf "$restart"
	for mode in traced logonly; do
		run jq -r 'select(.type=="phase") | .name' "$BATS_TEST_TMPDIR/$mode"
		assert_output $'container_create\ncontainer_init\ninitdb\ntemp_server_start\ninit_scripts\ntemp_server_stop\nfinal_server_start'
		# the scripts, restart included, lie inside init_scripts; the final server's start is short
		jq -e -s '(map(select(.type=="phase")) | INDEX(.name)) as $p
			| ([.[] | select(.type=="script")] | length) == 2
			and all(.[] | select(.type=="script"); .end <= $p.temp_server_stop.start + 0.05)
			and $p.init_scripts.duration_s >= 1.5 and $p.final_server_start.duration_s < 1' \
			"$BATS_TEST_TMPDIR/$mode" || fail "$mode: $(jq -c 'select(.type=="phase" or .type=="script") | [.type, .name, .start, .duration_s]' "$BATS_TEST_TMPDIR/$mode")"
	done
}

@test "a profile from a Dockerfile in one pipeline: the build is its own phase, cache miss then hit" {
	local tag="pgx-test/profile-built-$$:1" ctx="$BATS_TEST_TMPDIR/ctx" run
	mkdir -p "$ctx"
	printf 'FROM %s\nRUN echo %s >/built.txt\n' "$PGX_TEST_IMAGE" "$$-$BATS_TEST_NUMBER" >"$ctx/Dockerfile"
	for run in 1 2; do
		{ pgx-docker build -f "$ctx/Dockerfile" -c "$ctx" -t "$tag" &&
			pgx-docker run "$tag" --name "$NAME" -p "$PORT" --until ready --rm; } |
			pgx-logmatch | pgx-timeline -d >"$BATS_TEST_TMPDIR/built-$run"
	done
	docker rmi -f "$tag" >/dev/null 2>&1 || true
	for run in 1 2; do
		run jq -r 'select(.type=="phase") | .name' "$BATS_TEST_TMPDIR/built-$run"
		assert_line --index 0 image_build
		assert_line --index 1 container_create
		jq -e -s '(map(select(.type=="phase")) | first) as $b | (map(select(.type=="profile")) | first) as $p
			| $b.start == $p.start and $p.ready_source == "ping" and $p.total_s > $b.duration_s' \
			"$BATS_TEST_TMPDIR/built-$run"
	done
	assert_equal "$(jq -r 'select(.name=="image_build") | .cache' "$BATS_TEST_TMPDIR/built-1")" miss
	assert_equal "$(jq -r 'select(.name=="image_build") | .cache' "$BATS_TEST_TMPDIR/built-2")" hit
	run pgx-report "$BATS_TEST_TMPDIR/built-2"
	assert_success
	assert_line --regexp '^  Image build, cache hit +[0-9.]+s'
	# a build that fails: the profile says so and pgx-timeline fails, whatever the shell lost
	printf 'FROM %s\nRUN false\n' "$PGX_TEST_IMAGE" >"$ctx/Dockerfile"
	run --separate-stderr bash -c "{ pgx-docker build -f '$ctx/Dockerfile' -c '$ctx' -t '$tag' &&
		pgx-docker run '$tag' --name '$NAME' -p '$PORT' --until ready --rm; } | pgx-logmatch | pgx-timeline -d"
	assert_failure 7
	assert_equal "$(jq -r 'select(.type=="profile") | .warnings[0]' <<<"$output")" \
		"never ready: the image build failed: The command '/bin/sh -c false' returned a non-zero code: 1"
}

@test "a container with POSTGRES_PASSWORD is profiled to ready, and the password is in no record" {
	pgx-trace --no-open -- pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" -p "$PORT" \
		-e POSTGRES_PASSWORD=pr0file-s3cret --until ready --rm | pgx-logmatch | pgx-timeline \
		>"$BATS_TEST_TMPDIR/pw"
	run jq -c 'select(.type=="profile") | [.ready_source, .total_s > 0, .warnings]' "$BATS_TEST_TMPDIR/pw"
	assert_output '["ping",true,[]]'
	run grep -c 'pr0file-s3cret' "$BATS_TEST_TMPDIR/pw"
	assert_output 0
}

@test "compare on real runs: a slower script is blamed, --fail-if-slower exits 1, a run against itself 0" {
	profile --until ready --rm
	mv "$BATS_TEST_TMPDIR/profile" "$BATS_TEST_TMPDIR/base"
	slow="$(mktemp -d /tmp/pgx-initd-slow.XXXXXX)"
	cp -p "$INITD"/* "$slow/"
	chmod 755 "$slow"
	# +3 s: more than a loaded machine moves initdb or a server start
	echo 'SELECT pg_sleep(4);' >"$slow/02-sleep.sql"
	chmod 644 "$slow/02-sleep.sql"
	INITD="$slow" profile --until ready --rm
	rm -rf "$slow"
	run pgx-report compare "$BATS_TEST_TMPDIR/base" "$BATS_TEST_TMPDIR/profile" --fail-if-slower 5
	assert_failure 1
	assert_output --regexp 'Biggest change: script 02-sleep\.sql, \+(2\.[89]|3\.[0-2])[0-9]*s .* in phase init_scripts'
	run pgx-report compare "$BATS_TEST_TMPDIR/base" "$BATS_TEST_TMPDIR/profile" --phase init_scripts --fail-if-slower 50
	assert_failure 1
	run pgx-report compare "$BATS_TEST_TMPDIR/base" "$BATS_TEST_TMPDIR/base" --fail-if-slower 5
	assert_success
}

# traced: like profile, with opens (CREATE EXTENSION needs them)
traced() {
	pgx-trace -- pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" -p "$PORT" \
		-v "$INITD:/docker-entrypoint-initdb.d:ro" --until ready --rm |
		pgx-logmatch | pgx-timeline -d >"$BATS_TEST_TMPDIR/profile"
}

@test "image defaults, opens traced: CREATE EXTENSION is timed from the kernel inside its script, on the temporary server" {
	traced
	# the image logs no statement: only the backend's opens show it
	run jq -c 'select(.type=="extension") | [.name, .source, .server]' "$BATS_TEST_TMPDIR/profile"
	assert_output '["pg_stat_statements","trace","temporary"]'
	jq -e -s '(map(select(.type=="script" and .name=="01-ext.sql"))[0]) as $s
		| (map(select(.type=="extension"))[0]) as $e
		| $e.start > $s.start and $e.end <= $s.end + 0.5 and $e.duration_s > 0.001
		  and $e.duration_s < $s.duration_s + 0.5' "$BATS_TEST_TMPDIR/profile" ||
		fail "$(jq -c 'select(.type=="script" or .type=="extension") | del(.src)' "$BATS_TEST_TMPDIR/profile")"
}

@test "a traced CREATE EXTENSION agrees with the server's own duration, whose log line is not a second record" {
	local all="$BATS_TEST_TMPDIR/all" server_ms trace_ms
	pgx-trace -- pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" -p "$PORT" \
		-v "$INITD:/docker-entrypoint-initdb.d:ro" -e "PGOPTIONS=-c log_min_duration_statement=0" \
		--until ready --rm | pgx-logmatch | pgx-timeline >"$all"
	run jq -c 'select(.type=="extension") | [.name, .source]' "$all"
	assert_output '["pg_stat_statements","trace"]'
	# "duration: N ms  statement: CREATE EXTENSION pg_stat_statements;"
	server_ms="$(jq -r 'select(.type=="match" and .rule=="create_extension") | .line
		| capture("duration: (?<ms>[0-9.]+) ms").ms' "$all")"
	trace_ms="$(jq 'select(.type=="extension") | .duration_s * 1000' "$all")"
	# measured: 0.1 to 6 ms longer (the command tag follows the commit)
	awk -v s="$server_ms" -v t="$trace_ms" 'BEGIN { exit !(s > 0 && t >= s - 5 && t <= s + 100) }' ||
		fail "server $server_ms ms, trace $trace_ms ms"
}

@test "image defaults: the workers of each server are named by their titles, placed at their forks and attributed" {
	profile --until ready --rm
	for server in temporary final; do
		run jq -r --arg s "$server" 'select(.type=="bgworker" and .server==$s) | .name' "$BATS_TEST_TMPDIR/profile"
		for worker in checkpointer "background writer" walwriter "autovacuum launcher" "logical replication launcher"; do
			assert_line "$worker"
		done
	done
	# temporary workers start while the temporary server runs, final ones after it stopped
	jq -e -s '(map(select(.type=="phase")) | INDEX(.name)) as $p
		| all(.[] | select(.type=="bgworker"); .source == "trace" and
		      if .server == "temporary" then .ts >= $p.temp_server_start.start and .ts <= $p.temp_server_stop.end
		      else .ts >= $p.temp_server_stop.end end)' "$BATS_TEST_TMPDIR/profile" ||
		fail "$(jq -c 'select(.type=="bgworker" or .type=="phase") | [.type, .name, .ts, .server]' "$BATS_TEST_TMPDIR/profile")"
}
