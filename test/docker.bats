#!/usr/bin/env bats
# pgx-docker against a real dockerd and the pgx test image (root only).
bats_require_minimum_version 1.5.0
load test_helper
load docker_helper

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	docker_setup
}

teardown_file() {
	[ "$(id -u)" = 0 ] || return 0
	docker_teardown
}

setup() {
	WORK="$(mktemp -d /tmp/pgx-docker-test.XXXXXX)"
	PORT="$(free_port)"
	NAME="pgx-docker-test-$BATS_TEST_NUMBER-$$"
	unset DOCKER_HOST
}

teardown() {
	if [ "$(id -u)" = 0 ]; then
		docker_remove_container "$NAME"
		docker_remove_container "$NAME-2"
	fi
	rm -rf "$WORK"
}

make_init_scripts() {
	mkdir -p "$WORK/init"
	echo 'CREATE EXTENSION pg_stat_statements;' >"$WORK/init/10-extension.sql"
	echo 'SELECT pg_sleep(1);' >"$WORK/init/20-sleep.sql"
	printf '#!/bin/bash\necho "init shell script ran as $(id -un)"\n' >"$WORK/init/30-hello.sh"
	chmod +x "$WORK/init/30-hello.sh"
}

# Every record is one of ours: type, numeric ts with at most microseconds, src.
assert_records_wellformed() {
	run jq -e -s 'length > 0 and all(.[]; (.type | IN("container", "log", "build"))
		and (.ts | type == "number" and . > 1e9) and .src == "pgx-docker")' "$1"
	assert_success
}

@test "pgx-docker answers --help, --version and rejects a bad option" {
	assert_standard_options pgx-docker
}

@test "pgx-docker documents every option in its man page and completion" {
	assert_options_documented pgx-docker
}

@test "run without an image is a usage error" {
	run -2 pgx-docker run --port 5432
	assert_output --partial "run needs an IMAGE"
	assert_output --partial "Try 'pgx-docker --help'"
}

@test "a bogus DOCKER_HOST gives a one-line error and exit code 4" {
	DOCKER_HOST="unix://$WORK/no-daemon.sock" run -4 --separate-stderr \
		timeout 30 pgx-docker run "$PGX_TEST_IMAGE"
	assert_equal "$output" ""
	assert_equal "$(wc -l <<<"$stderr")" 1
	assert_regex "$stderr" "^pgx-docker: error: cannot connect to the Docker daemon at \"unix://$WORK/no-daemon.sock\""
	DOCKER_HOST="tcp://127.0.0.1:1" run -4 --separate-stderr timeout 30 pgx-docker inspect x
	assert_regex "$stderr" '^pgx-docker: error: unsupported DOCKER_HOST .*only unix://'
}

@test "a socket that refuses the user gives exit code 5" {
	require_root
	local bin
	bin="$(command -v pgx-docker)"
	setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$bin" ||
		skip "pgx-docker is not executable by nobody here"
	run -5 --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env DOCKER_HOST=unix:///var/run/docker.sock "$bin" inspect x
	assert_equal "$stderr" 'pgx-docker: error: permission denied on the Docker socket "/var/run/docker.sock"'
}

@test "a first start reports create, start with its cgroup id, initdb, both servers, ready, then die on stop" {
	require_root
	make_init_scripts
	pgx_docker_bg "$WORK/out" run "$PGX_TEST_IMAGE" --name "$NAME" --port "$PORT" \
		-v "$WORK/init:/docker-entrypoint-initdb.d:ro" --until exit
	local cpid cg id
	wait_for_record "$WORK/out" 'select(.action == "ready")' 180

	# The cgroup the kernel shows for the container's main process.
	cpid="$(jq -r 'select(.action == "start") | .pid' "$WORK/out")"
	id="$(jq -r 'select(.action == "start") | .container' "$WORK/out")"
	cg="$(sed -n 's/^0:://p' "/proc/$cpid/cgroup")"
	assert_equal "$cg" "/docker/$id"
	assert_equal "$(jq -r 'select(.action == "start") | .cgroup' "$WORK/out")" "$cg"
	assert_equal "$(jq -r 'select(.action == "start") | .cgroup_id' "$WORK/out")" \
		"$(stat -c %i "$(cgroup2_mount)$cg")"
	assert_equal "$(docker inspect -f '{{.State.Pid}}' "$NAME")" "$cpid"

	docker stop -t 20 "$NAME" >/dev/null
	pgx_docker_bg_wait
	assert_equal "$BG_STATUS" 0
	assert_records_wellformed "$WORK/out"
	run jq -r 'select(.type == "container") | .action' "$WORK/out"
	assert_output "$(printf '%s\n' create start ready die)"
	# Order: create, start, initdb, the temporary server, the init scripts,
	# the final server, then ready, then die.
	run jq -e -s '
		def at(f): [to_entries[] | select(.value | f) | .key];
		def line(re): .type == "log" and (.line | test(re));
		at(.action == "create")[0] as $create | at(.action == "start")[0] as $start |
		at(line("^The files belonging to this database system"))[0] as $initdb |
		at(line("ready to accept connections")) as $up |
		at(line("CREATE EXTENSION"))[0] as $ext | at(line("^\\(1 row\\)"))[0] as $sleep |
		at(line("^init shell script ran as postgres$"))[0] as $sh |
		at(line("listening on IPv4 address \"127.0.0.1\", port '"$PORT"'"))[0] as $final |
		at(.action == "ready")[0] as $ready | at(.action == "die")[0] as $die |
		$create == 0 and $start == 1 and $initdb > $start and ($up | length) == 2 and
		$up[0] > $initdb and $ext > $up[0] and $sleep > $ext and $sh > $sleep and
		$final > $sh and $up[1] > $final and $ready > $up[1] and $die > $ready and
		$die == length - 1 and .[$ready].ts >= .[$up[1]].ts' "$WORK/out"
	assert_success
	run jq -e -s '[.[] | select(.type == "log")] | all(.container == $id and
		(.stream | IN("stdout", "stderr")))' --arg id "$id" "$WORK/out"
	assert_success
	run jq -e -s 'map(select(.action == "ready"))[0] | .addr == "127.0.0.1:'"$PORT"'" and .elapsed > 0' "$WORK/out"
	assert_success
	run jq -e -s 'map(select(.action == "die"))[0] | .exit_code == 0 and
		(.last_lines | any(test("database system is shut down")))' "$WORK/out"
	assert_success
}

@test "a second start on the same data volume runs only the final server and still reports ready" {
	require_root
	mkdir -p "$WORK/data"
	run --separate-stderr timeout 180 pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" \
		--port "$PORT" -v "$WORK/data:/var/lib/postgresql/data" --until ready --stop --rm
	assert_success
	run --separate-stderr timeout 180 pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME-2" \
		--port "$PORT" -v "$WORK/data:/var/lib/postgresql/data" --until ready --stop --rm
	assert_success
	echo "$output" >"$WORK/out"
	assert_records_wellformed "$WORK/out"
	run jq -r 'select(.type == "container") | .action' "$WORK/out"
	assert_output "$(printf '%s\n' create start ready stop die remove)"
	run jq -e -s '
		def at(f): [to_entries[] | select(.value | f) | .key];
		at(.type == "log" and (.line | contains("ready to accept connections"))) as $up |
		($up | length) == 1 and at(.action == "ready")[0] > $up[0] and
		(at(.type == "log" and (.line | test("^The files belonging|init process complete"))) | length) == 0 and
		(at(.type == "log" and (.line | contains("Skipping initialization"))) | length) == 1' "$WORK/out"
	assert_success
	run docker ps -aq --filter "name=^/$NAME-2\$"
	assert_output ""
}

@test "a container that exits at once yields a die record with its code and last lines, and exit 7" {
	require_root
	run -7 --separate-stderr timeout 120 pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" \
		--port "$PORT" --until ready --rm -- sh -c 'echo starting; echo "fatal: no config" >&2; exit 3'
	assert_equal "$(wc -l <<<"$stderr")" 1
	assert_regex "$stderr" '^pgx-docker: error: container [0-9a-f]{12} exited with code 3 before it was ready$'
	echo "$output" >"$WORK/out"
	assert_records_wellformed "$WORK/out"
	run jq -r 'select(.type == "container") | .action' "$WORK/out"
	assert_output "$(printf '%s\n' create start die remove)"
	run jq -e -s 'map(select(.action == "die"))[0] | .exit_code == 3 and
		(.last_lines | sort) == ["fatal: no config", "starting"]' "$WORK/out"
	assert_success
	# stdout and stderr are separate pipes: their relative order is not fixed.
	run jq -e -s '[.[] | select(.type == "log")] | map([.stream, .line]) | sort ==
		[["stderr", "fatal: no config"], ["stdout", "starting"]]' "$WORK/out"
	assert_success
}

@test "an image that is not present is an error that promises no registry pull, exit 3" {
	require_root
	run -3 --separate-stderr timeout 60 pgx-docker run pgx-test/no-such-image:1 --port "$PORT"
	assert_equal "$output" ""
	assert_equal "$stderr" 'pgx-docker: error: image "pgx-test/no-such-image:1" not found locally; no registry pull is attempted unless --pull is given'
}

@test "build streams a two-line Dockerfile as build records, and the image runs" {
	require_root
	local tag="pgx-test/built-$$:1"
	mkdir -p "$WORK/ctx"
	printf 'FROM %s\nCOPY 10-hello.sql /docker-entrypoint-initdb.d/\n' "$PGX_TEST_IMAGE" >"$WORK/Dockerfile"
	echo "SELECT 'built image init ran' AS msg;" >"$WORK/ctx/10-hello.sql"
	run --separate-stderr timeout 300 pgx-docker build --dockerfile "$WORK/Dockerfile" \
		--context "$WORK/ctx" --tag "$tag"
	assert_success
	echo "$output" >"$WORK/build"
	assert_records_wellformed "$WORK/build"
	run jq -e -s 'all(.[]; .type == "build" and .tag == $tag) and
		any(.[]; .step == 1 and .steps == 2 and (.line | startswith("Step 1/2 : FROM"))) and
		any(.[]; .step == 2 and (.line // "" | startswith("Step 2/2 : COPY"))) and
		(last | .image_id | startswith("sha256:"))' --arg tag "$tag" "$WORK/build"
	assert_success
	run --separate-stderr timeout 180 pgx-docker run "$tag" --name "$NAME" --port "$PORT" \
		--until ready --stop --rm
	docker rmi -f "$tag" >/dev/null 2>&1 || true
	assert_success
	echo "$output" >"$WORK/out"
	run jq -e -s 'any(.[]; .type == "log" and .line == " built image init ran") and
		any(.[]; .action == "ready")' "$WORK/out"
	assert_success
}

@test "a failing build step yields a build error record and exit 7" {
	require_root
	mkdir -p "$WORK/ctx"
	printf 'FROM %s\nRUN exit 3\n' "$PGX_TEST_IMAGE" >"$WORK/ctx/Dockerfile"
	run -7 --separate-stderr timeout 300 pgx-docker build --dockerfile "$WORK/ctx/Dockerfile" \
		--context "$WORK/ctx" --tag "pgx-test/failing-$$:1"
	assert_regex "$stderr" '^pgx-docker: error: build of "pgx-test/failing-[0-9]+:1" failed: '
	run jq -e -s 'last | .type == "build" and .step == 2 and
		(.error | test("returned a non-zero code: 3"))' <<<"$output"
	assert_success
	run docker image inspect "pgx-test/failing-$$:1"
	assert_failure
}

@test "inspect and logs report a container that already exists" {
	require_root
	run --separate-stderr timeout 180 pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" \
		--port "$PORT" --until ready
	assert_success
	local id
	id="$(jq -r 'select(.action == "create") | .container' <<<"$output")"
	run --separate-stderr timeout 60 pgx-docker inspect "$NAME"
	assert_success
	run jq -r -s 'map(.action + " " + .container + " " + .name) | join(",")' <<<"$output"
	assert_output "create $id $NAME,start $id $NAME"
	run --separate-stderr timeout 60 pgx-docker logs "$NAME"
	assert_success
	run jq -e -s 'all(.[]; .type == "log" and .container == $id) and
		([.[] | select(.line | contains("ready to accept connections"))] | length) == 2' \
		--arg id "$id" <<<"$output"
	assert_success
	docker stop -t 20 "$NAME" >/dev/null
	run --separate-stderr timeout 60 pgx-docker inspect "$NAME"
	assert_success
	run jq -r -s 'map(.action) | join(",")' <<<"$output"
	assert_output "create,start,die"
}

@test "SIGINT stops streaming cleanly and --rm removes the container, even after a second SIGINT" {
	require_root
	pgx_docker_bg "$WORK/out" run "$PGX_TEST_IMAGE" --name "$NAME" --port "$PORT" --rm
	wait_for_record "$WORK/out" 'select(.action == "ready")' 180
	kill -INT "$BG_PID"
	# A second one (an impatient user) must not leave the container behind.
	sleep 0.2
	kill -INT "$BG_PID" 2>/dev/null || true
	pgx_docker_bg_wait
	assert_equal "$BG_STATUS" 130
	assert_equal "$(cat "$WORK/out.err")" ""
	run jq -r 'select(.type == "container") | .action' "$WORK/out"
	assert_output "$(printf '%s\n' create start ready stop die remove)"
	run docker ps -aq --filter "name=^/$NAME\$"
	assert_output ""
}

@test "a closed stdout ends the run with exit 6 and --rm still removes the container" {
	require_root
	run bash -c 'timeout 180 pgx-docker run "$1" --name "$2" --port "$3" --until ready --rm 2>/dev/null |
		head -n 2 >/dev/null; echo "${PIPESTATUS[0]}"' _ "$PGX_TEST_IMAGE" "$NAME" "$PORT"
	assert_success
	assert_output 6
	run docker ps -aq --filter "name=^/$NAME\$"
	assert_output ""
}

@test "--until SECONDS stops streaming after that time and --stop stops the container" {
	require_root
	run --separate-stderr timeout 120 pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" \
		--port "$PORT" --until 1s --stop -- sh -c 'trap "exit 0" TERM; echo tick; sleep 30 & wait'
	assert_success
	run jq -r -s 'map(select(.type == "container") | .action) | join(",")' <<<"$output"
	assert_output "create,start,stop,die"
	assert_equal "$(docker inspect -f '{{.State.Running}}' "$NAME")" false
}

@test "a long line split by Docker, invalid UTF-8 and a last line without newline come out whole" {
	require_root
	run --separate-stderr timeout 120 pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" --rm -- \
		bash -c 'head -c 40000 /dev/zero | tr "\0" a; echo; printf "bad \xff byte\n"; printf "no newline at end"'
	assert_success
	run jq -e -s '[.[] | select(.type == "log") | .line] as $l |
		($l | length) == 3 and ($l[0] | length) == 40000 and ($l[0] | test("^a+$")) and
		$l[1] == "bad \ufffd byte" and $l[2] == "no newline at end"' <<<"$output"
	assert_success
}

@test "--env and --cgroup-parent reach the container, and ready means psql can connect" {
	require_root
	local parent="/pgx-test-$$" start
	run --separate-stderr timeout 180 pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" \
		--port "$PORT" --env POSTGRES_DB=pgxdb -e GREETING=hello --cgroup-parent "$parent" \
		--until ready
	assert_success
	start="$(jq -c 'select(.action == "start")' <<<"$output")"
	assert_regex "$(jq -r .cgroup <<<"$start")" "^$parent/[0-9a-f]{64}\$"
	assert_equal "$(jq -r .cgroup_id <<<"$start")" \
		"$(stat -c %i "$(cgroup2_mount)$(sed -n 's/^0:://p' "/proc/$(jq -r .pid <<<"$start")/cgroup")")"
	run psql_q -h 127.0.0.1 -p "$PORT" -U postgres -d pgxdb -c 'SELECT current_database()'
	assert_success
	assert_output pgxdb
	run docker exec "$NAME" printenv GREETING
	assert_output hello
	docker_remove_container "$NAME"
	find /sys/fs/cgroup -maxdepth 2 -type d -name "${parent#/}" -exec rmdir {} + 2>/dev/null || true
}

@test "under pgx-trace the container goes below PGX_TRACE_CGROUP unless --cgroup-parent says otherwise" {
	require_root
	local parent="/pgx-test-env-$$"
	PGX_TRACE_CGROUP="$parent" run --separate-stderr timeout 60 pgx-docker run "$PGX_TEST_IMAGE" \
		--name "$NAME" --rm -- sleep 2
	assert_success
	assert_regex "$(jq -r 'select(.action == "start") | .cgroup' <<<"$output")" "^$parent/[0-9a-f]{64}\$"
	PGX_TRACE_CGROUP="$parent" run --separate-stderr timeout 60 pgx-docker run "$PGX_TEST_IMAGE" \
		--name "$NAME" --rm --cgroup-parent "$parent-own" -- sleep 2
	assert_success
	assert_regex "$(jq -r 'select(.action == "start") | .cgroup' <<<"$output")" "^$parent-own/[0-9a-f]{64}\$"
	find /sys/fs/cgroup -maxdepth 2 -type d \( -name "${parent#/}" -o -name "${parent#/}-own" \) \
		-exec rmdir {} + 2>/dev/null || true
}

@test "the official image's variables: POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, POSTGRES_INITDB_ARGS" {
	require_root
	run --separate-stderr timeout 180 pgx-docker run "$PGX_TEST_IMAGE" --name "$NAME" --port "$PORT" \
		-e POSTGRES_PASSWORD=s3cret-pw -e POSTGRES_USER=app -e POSTGRES_DB=appdb \
		-e POSTGRES_INITDB_ARGS=--data-checksums --until ready
	assert_success
	run env PGPASSWORD=s3cret-pw "$PG_BINDIR/psql" -X -A -t -h 127.0.0.1 -p "$PORT" -U app -d appdb \
		-c 'SELECT current_user, current_database(), current_setting($$data_checksums$$)'
	assert_success
	assert_output 'app|appdb|on'
	run env PGPASSWORD=wrong "$PG_BINDIR/psql" -X -A -t -h 127.0.0.1 -p "$PORT" -U app -d appdb -c 'SELECT 1'
	assert_failure
	assert_output --partial 'password authentication failed for user "app"'
	run docker exec "$NAME" sh -c 'ls /tmp | wc -l'
	assert_output 0
}

@test "pgx-docker's readiness probes are never counted as the server's fatals" {
	require_root
	run --separate-stderr bash -c "timeout 180 pgx-docker run '$PGX_TEST_IMAGE' --name '$NAME' --port '$PORT' \
		--until ready --rm | pgx-logmatch -o"
	assert_success
	jq -e -s 'any(.[]; .rule == "server_ready") and all(.[]; .rule != "fatal")' <<<"$output"
}
