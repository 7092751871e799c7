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

# share/pgx/records.yaml is the one definition of pgx's records; pgx-events(7)
# is checked against it both ways.
schema() {	# schema JQ: the definitions through jq -r
	pgx-report validate --print-schema | jq -r "$1"
}

man_fields() {	# man_fields KIND: "SECTION<TAB>NAME" lines of pgx-events(7)'s parts
	awk -f "$PGX_TEST_DIR/man-fields.awk" $(make -s -C "$top" --no-print-directory print-event-parts | \
		tr ' ' '\n' | sed "s|^|$top/|") | awk -F'\t' -v k="$1" '$1 == k' | cut -f2- | sort -u
}

@test "pgx-events(7) has a section for every record type of records.yaml, and none it does not define" {
	run diff <(man_fields section | cut -f1) <(schema '(.records | keys[]), .groups[].doc' | sort -u)
	assert_success
	assert_output ""
}

@test "every field of records.yaml is named in its record's part of pgx-events(7)" {
	run comm -23 <(schema '(.records | to_entries[] | .key as $t | (.value.fields // {}) | keys[] | [$t, .]),
		(.groups[] | .doc as $d | .fields | keys[] | [$d, .]) | select(.[1] | contains("*") | not) | @tsv' | sort -u) \
		<(man_fields word)
	assert_success
	assert_output ""
}

@test "every field pgx-events(7) lists is one records.yaml defines for that record" {
	run comm -23 <(man_fields item) <(schema '. as $s | (.records | to_entries[] | .key as $t | .value as $r |
		[$r.fields // {}, ($r.groups // [] | map($s.groups[.].fields)[]), $s.groups.every.fields,
		 (if $r.extends then $s.records[$r.extends].fields else {} end)] | map(keys[]) | .[] | [$t, .]),
		(.groups[] | .doc as $d | .fields | keys[] | [$d, .]) | @tsv' | sort -u)
	assert_success
	assert_output ""
}

@test "the man check fails on a field pgx-events(7) lacks or records.yaml lacks" {
	sed 's/^      rank: integer$/      rank: integer\n      made_up_field: integer/' "$top/share/pgx/records.yaml" >"$BATS_TEST_TMPDIR/records.yaml"
	run comm -23 <(pgx-report validate --schema "$BATS_TEST_TMPDIR/records.yaml" --print-schema |
		jq -r '.records | to_entries[] | .key as $t | (.value.fields // {}) | keys[] | [$t, .] | @tsv' | sort -u) \
		<(man_fields word)
	assert_output $'slow_query\tmade_up_field'
	sed '/^\.Ss slow_query$/,/^\.El$/s/^\.It Li rank Pq integer$/.It Li rank Pq integer\n.It Li undefined_here Pq string/' \
		"$top/man/events/pgx-report.mdoc" >"$BATS_TEST_TMPDIR/part.mdoc"
	run awk -f "$PGX_TEST_DIR/man-fields.awk" "$BATS_TEST_TMPDIR/part.mdoc"
	assert_line $'item\tslow_query\tundefined_here'
}

@test "pgx-poll's sections, their completion and pgx-report's snapshot recognition match records.yaml" {
	sections="$(schema '.poll_sections | keys_unsorted[]')"
	# the records in the poll_section group are the rows of the coverage table
	assert_equal "$(schema '.records | to_entries[] | select((.value.groups // []) | index("poll_section")) | .key' | sort)" \
		"$(sort <<<"$sections")"
	# pgx-poll: every section it prints SQL for (all but pgbouncer, which needs --pgbouncer), in order
	assert_equal "$(pgx-poll --print-sql | jq -r .section)" "$(grep -v '^pgbouncer$' <<<"$sections")"
	run pgx-poll -s pgbouncer
	assert_failure 2
	assert_output --partial "needs --pgbouncer"
	# the completion offers exactly these
	source "$top/completions/pgx-poll"
	COMP_WORDS=(pgx-poll --sections "") COMP_CWORD=2
	_pgx_poll || true	# compopt fails outside a completion; COMPREPLY is set
	assert_equal "$(printf '%s\n' "${COMPREPLY[@]}")" "$sections"
	# pgx-report takes each section's record (and pgx-poll's own) as a health snapshot
	for t in $sections poll; do
		run --separate-stderr pgx-report -f json <<<"{\"type\":\"$t\",\"ts\":1,\"src\":\"pgx-poll\",\"cluster\":\"c\",\"status\":\"ok\"}"
		assert_success
		assert_equal "$(jq -r .type <<<"$output")" health_snapshot
	done
	run pgx-report -f json <<<'{"type":"exec","ts":1,"src":"pgx-trace"}'
	assert_failure 3
}

@test "pgx-report reads a startup profile from exactly the records records.yaml says pgx-timeline writes" {
	types="$(schema '.records | to_entries[] | select(.value.writers | index("pgx-timeline")) | .key' | sort)"
	assert_equal "$types" "$(printf '%s\n' bgworker extension phase process profile script)"
	f="$PGX_FIXTURES/report/base.ndjson"
	full="$(pgx-report -f json -v "$f")"
	for t in $types; do
		[ "$(grep -v "\"type\":\"$t\"" "$f" | pgx-report -f json -v 2>/dev/null)" != "$full" ] ||
			fail "pgx-report ignores $t records"
	done
}
