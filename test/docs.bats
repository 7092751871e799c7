#!/usr/bin/env bats
# Documentation: man pages lint clean and pgx-events(7) is assembled from its parts.

load test_helper

top="$PGX_TEST_DIR/.."

@test "every man page is mandoc -Tlint clean" {
	command -v mandoc >/dev/null || skip "mandoc not installed"
	run mandoc -Tlint -W warning "$top"/man/*.1 "$top"/man/*.7
	assert_success
	assert_output ""
}

@test "pgx-events(7) is up to date with man/events/*.mdoc" {
	parts="$(make -s -C "$top" --no-print-directory print-event-parts)"
	run diff <(cd "$top" && cat $parts) "$top/man/pgx-events.7"
	assert_success
}

@test "every command has a man page and a completion, and pgx-events(7) documents its records" {
	for dir in "$top"/cmd/pgx-*; do
		cmd="$(basename "$dir")"
		[ -f "$top/man/$cmd.1" ] || fail "no man/$cmd.1"
		[ -f "$top/completions/$cmd" ] || fail "no completions/$cmd"
		grep -q "Xr $cmd 1" "$top/man/pgx-events.7" || fail "pgx-events(7) does not mention $cmd"
	done
}
