#!/usr/bin/env bats
# The pipeline tools free everything they allocate (valgrind memcheck).

load test_helper


valgrind_clean() {
	valgrind --quiet --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
		--error-exitcode=99 "$@"
}

@test "pgx-logmatch leaks nothing over every input kind, bad input included" {
	require_valgrind pgx-logmatch
	{ cat "$PGX_FIXTURES/timestamps.log"
	  printf '{"type":"log","ts":1,"line":"CREATE EXTENSION x"}\n{"type":"other"}\n{bad\n\xff\n'
	  printf '2026-11-22 03:16:43.123 UTC,"u","d",1,"h",s,1,,2026-11-22 03:16:43 UTC,,0,LOG,00000,"two\nlines",,,,,,,,,"",client,,0\n'
	  printf '{"timestamp":"2026-11-22 03:16:43.123 UTC","pid":5,"error_severity":"FATAL","message":"x"}\n'
	} >"$BATS_TEST_TMPDIR/mixed.log"
	run valgrind_clean pgx-logmatch "$BATS_TEST_TMPDIR/mixed.log"
	assert_failure 3	# the invalid JSON and UTF-8 lines; 99 would mean a leak
	run valgrind_clean pgx-logmatch -r "$BATS_TEST_TMPDIR/none.yaml" </dev/null
	assert_failure 2
}

@test "pgx-timeline leaks nothing on traced (titles and extension opens too), log-only, never-ready and malformed streams" {
	require_valgrind pgx-timeline
	run valgrind_clean pgx-timeline "$PGX_FIXTURES/timeline/traced-scripts.ndjson"
	assert_success
	run valgrind_clean pgx-timeline -d "$PGX_FIXTURES/timeline/kernel-children.ndjson"
	assert_success
	pgx-logmatch -o "$PGX_FIXTURES/timeline/container-fresh.ndjson" >"$BATS_TEST_TMPDIR/matched"
	run valgrind_clean pgx-timeline -d "$BATS_TEST_TMPDIR/matched"
	assert_success
	run valgrind_clean pgx-timeline -d <<<$'{"type":"container","ts":1,"action":"create"}\n{"type":'
	assert_failure 3	# 99 would mean a leak
}
