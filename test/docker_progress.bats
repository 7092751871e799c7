#!/usr/bin/env bats
# pgx-docker build's progress line, against a stand-in daemon (no dockerd).

load test_helper

setup() {
	SOCK="$BATS_TEST_TMPDIR/docker.sock"
	mkfifo "$BATS_TEST_TMPDIR/ready"
	python3 "$PGX_FIXTURES/fake-dockerd.py" "$SOCK" "$BATS_TEST_TMPDIR/ready" &
	FAKE_PID=$!
	timeout 10 cat "$BATS_TEST_TMPDIR/ready" >/dev/null
	export DOCKER_HOST="unix://$SOCK"
	mkdir "$BATS_TEST_TMPDIR/ctx"
	printf 'FROM scratch\n' >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
}

teardown() {
	kill "$FAKE_PID" 2>/dev/null || true
	wait "$FAKE_PID" 2>/dev/null || true
}

build() {	# build [pgx-docker build options]: as a shell command line
	echo "pgx-docker build -f '$BATS_TEST_TMPDIR/ctx/Dockerfile' -c '$BATS_TEST_TMPDIR/ctx' -t pgx-test/progress:1 $*"
}

@test "on a terminal, build shows its step and is erased; the records go to stdout only" {
	run_on_terminal "$(build) >'$BATS_TEST_TMPDIR/out'"
	assert_success
	assert_output --regexp $'^\rbuild pgx-test/progress:1: step 1/3, 0:00\e\\[K'
	assert_output --partial $'\rbuild pgx-test/progress:1: step 3/3, 0:00\e[K'
	[[ "$output" == *$'\r\e[K' ]] || fail "the progress line was not erased at the end"
	run jq -e -s 'length == 8 and (last | .image_id == "sha256:2222")' "$BATS_TEST_TMPDIR/out"
	assert_success
}

@test "build: no progress into a pipe or with --no-progress; --progress into a file" {
	run --separate-stderr sh -c "$(build)"
	assert_success
	assert_equal "$stderr" ""
	run_on_terminal "$(build --no-progress) >/dev/null"
	assert_success
	assert_output ""
	sh -c "$(build --progress) >'$BATS_TEST_TMPDIR/out' 2>'$BATS_TEST_TMPDIR/err'"
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "step 2/3"
	run grep -c $'\e' "$BATS_TEST_TMPDIR/out"
	assert_output 0
}

@test "pgx-docker documents --progress in --help, man page and completion" {
	assert_options_documented pgx-docker
}
