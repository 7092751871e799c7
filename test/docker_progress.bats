#!/usr/bin/env bats
# pgx-docker build's progress line, on a real dockerd (root only).
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
	TAG="pgx-test/progress-$$-$BATS_TEST_NUMBER:1"
	mkdir "$BATS_TEST_TMPDIR/ctx"
	# three steps, never cached: each RUN writes this test's own value
	printf 'FROM %s\nRUN echo %s >/one\nRUN echo %s >/two\n' "$PGX_TEST_IMAGE" \
		"$$-$BATS_TEST_NUMBER-$RANDOM" "$$-$BATS_TEST_NUMBER-$RANDOM" >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
}

teardown() {
	[ "$(id -u)" = 0 ] || return 0
	docker rmi -f "$TAG" >/dev/null 2>&1 || true
}

build() {	# build [pgx-docker build options]: as a shell command line
	echo "timeout 300 pgx-docker build -f '$BATS_TEST_TMPDIR/ctx/Dockerfile' -c '$BATS_TEST_TMPDIR/ctx' -t '$TAG' $*"
}

@test "on a terminal, build shows its step and is erased; the records go to stdout only" {
	require_root dockerd
	run_on_terminal "$(build) >'$BATS_TEST_TMPDIR/out'"
	assert_success
	assert_output --regexp $'\rbuild pgx-test/progress-[0-9-]+:1: step 1/3, [0-9]+:[0-9]{2}\e\\[K'
	assert_output --regexp $'\rbuild pgx-test/progress-[0-9-]+:1: step 3/3, [0-9]+:[0-9]{2}\e\\[K'
	[[ "$output" == *$'\r\e[K' ]] || fail "the progress line was not erased at the end"
	run jq -e -s 'all(.[]; .type == "build") and (last | .image_id | startswith("sha256:"))' "$BATS_TEST_TMPDIR/out"
	assert_success
}

@test "build: no progress into a pipe or with --no-progress; --progress into a file" {
	require_root dockerd
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
