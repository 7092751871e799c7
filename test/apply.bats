#!/usr/bin/env bats
# pgx-apply: plan, apply, verify and roll back settings on a real PostgreSQL 15
# (and a real Patroni with etcd), with the safety rules of pgx-apply(1).

load test_helper
load apply_helper

setup() {
	export PGX_STATE_DIR="$BATS_TEST_TMPDIR/state"
}

teardown() {
	[ -n "${BG_PID:-}" ] && kill -KILL "$BG_PID" 2>/dev/null
	apply_replica_stop
	pg_stop
	patroni_stop
}

auto_conf() {
	echo "$PGX_PG_DIR/data/postgresql.auto.conf"
}

# Start a cluster and snapshot its postgresql.auto.conf.
start_cluster() {
	pg_start
	psql_q -c "ALTER SYSTEM SET work_mem = '8MB'" -c 'CREATE TABLE t (x int)' >/dev/null
	cp "$(auto_conf)" "$BATS_TEST_TMPDIR/auto.before"
}

assert_auto_conf_unchanged() {
	cmp "$(auto_conf)" "$BATS_TEST_TMPDIR/auto.before" ||
		fail "postgresql.auto.conf changed: $(cat "$(auto_conf)")"
}

# jq over the records in $output
field() {
	jq -r "$1" <<<"$output"
}

# Run pgx-apply on FILE in the background, paused after N parameters; sets BG_PID.
apply_paused() {
	local n="$1" file="$2"
	PGX_APPLY_TEST_PAUSE_AFTER="$n" pgx-apply -d "$PGX_PG_DSN" apply --file "$file" \
		>"$BATS_TEST_TMPDIR/bg.out" 2>"$BATS_TEST_TMPDIR/bg.err" &
	BG_PID=$!
	wait_for 30 grep -q 'test pause' "$BATS_TEST_TMPDIR/bg.err" ||
		fail "apply did not pause: $(cat "$BATS_TEST_TMPDIR/bg.err")"
}

@test "pgx-apply answers --help, --version and rejects a bad option" {
	assert_standard_options pgx-apply
	run pgx-apply
	assert_failure 2
	assert_output --partial "a subcommand is required"
	run pgx-apply frobnicate
	assert_failure 2
	run pgx-apply --via-patroni plan </dev/null
	assert_failure 2
	assert_output --partial "--via-patroni needs --patroni URL"
}

@test "pgx-apply documents every option in its man page and completion" {
	assert_options_documented pgx-apply
}

@test "plan shows each change from and to, restart needed, and changes nothing" {
	start_cluster
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" plan <"$PGX_FIXTURES/apply/tune.ndjson"
	assert_success
	assert_equal "$(field 'select(.type=="change") | [.parameter, .from, .to, .action, .restart] | @tsv')" \
		"$(printf 'work_mem\t4MB\t16MB\tplan\tfalse\nshared_buffers\t128MB\t256MB\tplan\ttrue')"
	assert_equal "$(field 'select(.type=="changeset") | [.operation, .status, .parameters, .id == null] | @tsv')" \
		"$(printf 'plan\tplanned\t2\ttrue')"
	assert_auto_conf_unchanged
	[ ! -e "$PGX_STATE_DIR" ] || fail "plan wrote to the state directory"
	run pgx-apply -d "$PGX_PG_DSN" plan --format table <"$PGX_FIXTURES/apply/tune.ndjson"
	assert_success
	assert_line --regexp '^PARAMETER +FROM +TO +ACTION +RESTART +REASON$'
	assert_line --regexp '^shared_buffers +128MB +256MB +plan +yes'
}

@test "records it does not consume pass through unchanged and in order" {
	start_cluster
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" plan <"$PGX_FIXTURES/apply/tune.ndjson"
	assert_success
	assert_equal "${lines[0]}" "$(sed -n 1p "$PGX_FIXTURES/apply/tune.ndjson")"
	assert_equal "${lines[1]}" "$(sed -n 4p "$PGX_FIXTURES/apply/tune.ndjson")"	# status keep
	assert_equal "$(field 'select(.type=="change") | .parameter' | grep -c random_page_cost)" 0
}

@test "apply: work_mem is verified live, shared_buffers pending restart; rollback restores auto.conf byte for byte" {
	start_cluster
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <"$PGX_FIXTURES/apply/tune.ndjson"
	assert_success
	assert_equal "$(field 'select(.type=="change") | [.parameter, .action] | @tsv')" \
		"$(printf 'work_mem\tverified\nshared_buffers\tpending_restart')"
	id="$(field 'select(.type=="changeset") | .id')"
	assert_equal "$(field 'select(.type=="changeset") | [.status, .restart_needed] | @tsv')" "$(printf 'applied\ttrue')"
	assert_equal "$(psql_q -c 'SHOW work_mem')" 16MB
	assert_equal "$(psql_q -c "SELECT pending_restart FROM pg_settings WHERE name = 'shared_buffers'")" t
	# the changeset on disk: private, with the prior values
	file="$(echo "$PGX_STATE_DIR"/*/changesets/"$id".json)"
	assert_equal "$(stat -c %a "$file")" 600
	assert_equal "$(ls -A "$(dirname "$file")")" "$id.json"	# no temp file left
	assert_equal "$(jq -c '[.parameters[] | [.name, .in_auto_conf, .auto_conf_value, .from]]' "$file")" \
		'[["work_mem",true,"8MB","4MB"],["shared_buffers",false,null,"128MB"]]'

	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" rollback "$id"
	assert_success
	assert_equal "$(field 'select(.type=="change") | [.parameter, .from, .to, .action] | @tsv')" \
		"$(printf 'work_mem\t16MB\t8MB\trolled_back\nshared_buffers\t256MB\t128MB\trolled_back')"
	assert_auto_conf_unchanged
	assert_equal "$(psql_q -c 'SHOW work_mem')" 8MB
	assert_equal "$(psql_q -c "SELECT pending_restart FROM pg_settings WHERE name = 'shared_buffers'")" f
	run pgx-apply -d "$PGX_PG_DSN" rollback "$id"
	assert_failure 1
	assert_output --partial "already rolled back"
}

@test "pgx-tune's recommendations for a 4GB, 4-CPU OLTP server plan, apply and roll back cleanly" {
	command -v pgx-tune >/dev/null || skip "pgx-tune not built"
	start_cluster
	pgx-tune -d "$PGX_PG_DSN" --memory 4GB --cpus 4 --profile oltp >"$BATS_TEST_TMPDIR/tune.ndjson"
	wanted="$(jq -r 'select(.type=="recommendation" and .status=="change") | .parameter' "$BATS_TEST_TMPDIR/tune.ndjson")"
	[ "$(wc -l <<<"$wanted")" -ge 5 ] || fail "too few recommendations: $wanted"
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <"$BATS_TEST_TMPDIR/tune.ndjson"
	assert_success
	assert_equal "$(field 'select(.type=="change") | .parameter')" "$wanted"
	assert_equal "$(field 'select(.type=="change") | .action' | sort -u | tr '\n' ' ')" "pending_restart verified "
	assert_equal "$(field 'select(.type=="machine") | .type')" machine	# passed through
	assert_equal "$(psql_q -c 'SHOW shared_buffers')" 128MB	# until a restart
	assert_equal "$(psql_q -c 'SHOW random_page_cost')" 1.1
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" rollback "$(field 'select(.type=="changeset") | .id')"
	assert_success
	assert_auto_conf_unchanged
	assert_equal "$(psql_q -c 'SHOW random_page_cost')" 4
}

@test "a changeset file in postgresql.conf syntax is applied, and list shows it" {
	start_cluster
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" --file "$PGX_FIXTURES/apply/changeset.conf" apply </dev/null
	assert_success
	assert_equal "$(field 'select(.type=="change") | [.parameter, .to, .action] | @tsv')" \
		"$(printf 'work_mem\t16MB\tverified\nshared_buffers\t256MB\tpending_restart\nmaintenance_work_mem\t128MB\tverified')"
	assert_equal "$(psql_q -c 'SHOW maintenance_work_mem')" 128MB
	id="$(field 'select(.type=="changeset") | .id')"
	run --separate-stderr pgx-apply list
	assert_success
	assert_equal "$(field '[.id, .status, .parameters] | @tsv')" "$(printf '%s\tapplied\t3' "$id")"
}

@test "an out-of-range value and an unknown parameter are refused before any change" {
	start_cluster
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<-'EOF'
		work_mem = 32MB
		shared_buffers = 8kB
		no_such_parameter = 1
		EOF
	assert_failure 3
	assert_equal "$(field 'select(.type=="change") | .action' | sort -u | tr '\n' ' ')" "plan refused "
	assert_equal "$(field 'select(.parameter=="shared_buffers") | .reason')" \
		"invalid value: '8kB' is outside the valid range 16 .. 1073741823 8kB"
	assert_equal "$(field 'select(.parameter=="no_such_parameter") | .reason')" \
		"unknown parameter (not in pg_settings)"
	assert_equal "$(field 'select(.type=="changeset") | .status')" refused
	assert_auto_conf_unchanged
	assert_equal "$(psql_q -c 'SHOW work_mem')" 4MB
	[ -z "$(ls "$PGX_STATE_DIR"/*/changesets/ 2>/dev/null)" ] || fail "a refused apply wrote a changeset"
	# units and enums are checked the way PostgreSQL does
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" plan <<-'EOF'
		work_mem = 16mb
		wal_level = loud
		checkpoint_timeout = 10min
		EOF
	assert_failure 3
	assert_equal "$(field 'select(.type=="change") | [.parameter, .action] | @tsv')" \
		"$(printf 'work_mem\trefused\nwal_level\trefused\ncheckpoint_timeout\tplan')"
	assert_equal "$(field 'select(.parameter=="work_mem") | .reason')" \
		"invalid value: '16mb': valid units for this parameter are \"TB\", \"GB\", \"MB\", \"kB\", \"B\""
}

@test "a name or value carrying SQL is refused or stored literally, never executed" {
	start_cluster
	# postgresql.conf syntax: text after the quoted value is a syntax error
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<"work_mem = '1MB'; DROP TABLE t"
	assert_failure 3
	assert_equal "$stderr" "pgx-apply: error: stdin:1: unexpected text after the value: work_mem = '1MB'; DROP TABLE t"
	# as records: an unknown name, an invalid value, a line break
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<-'EOF'
		{"type":"recommendation","parameter":"work_mem = '1MB'; DROP TABLE t; --","recommended":"1MB"}
		{"type":"recommendation","parameter":"work_mem","recommended":"1MB'; DROP TABLE t; --"}
		{"type":"recommendation","parameter":"archive_command","recommended":"true\nDROP TABLE t"}
		EOF
	assert_failure 3
	assert_equal "$(field 'select(.type=="change") | .action' | sort -u)" refused
	assert_output --partial "unknown parameter"
	assert_output --partial "a line break"
	assert_auto_conf_unchanged
	# a string value with quotes, backslashes and SQL is stored as it is
	value="x'); DROP TABLE t; -- \\ \"q\" ''"
	jq -nc --arg v "$value" '{type:"recommendation",parameter:"archive_cleanup_command",recommended:$v}' \
		>"$BATS_TEST_TMPDIR/literal.ndjson"
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <"$BATS_TEST_TMPDIR/literal.ndjson"
	assert_success
	assert_equal "$(field 'select(.type=="change") | .action')" verified
	assert_equal "$(psql_q -c 'SHOW archive_cleanup_command')" "$value"
	# as ALTER SYSTEM writes it: quotes and backslashes doubled
	IFS= read -r stored <<-'EOF'
		archive_cleanup_command = 'x''); DROP TABLE t; -- \\ "q" '''''
		EOF
	grep -qxF "$stored" "$(auto_conf)" || fail "not stored literally: $(cat "$(auto_conf)")"
	assert_equal "$(psql_q -c "SELECT count(*) FROM pg_class WHERE relname = 't'")" 1
}

@test "an input line in an error is cut short with control bytes escaped; a NUL byte is an error" {
	long="$(printf 'x%.0s' {1..100})"
	run --separate-stderr pgx-apply -d host=/nonexistent plan < <(printf "work_mem = '1MB' \e[31mred\tx %s\n" "$long")
	assert_failure 3
	assert_equal "$stderr" "pgx-apply: error: stdin:1: unexpected text after the value: work_mem = '1MB' \\x1b[31mred\\tx ${long:0:32}..."
	# a NUL once cut the line silently: this applied work_mem = 1MB
	run --separate-stderr pgx-apply -d host=/nonexistent plan < <(printf "checkpoint_timeout = 5min\nwork_mem = '1MB'\0; DROP TABLE t\n")
	assert_failure 3
	assert_equal "$stderr" "pgx-apply: error: stdin:2: NUL byte in line"
	# a parameter name from a record, quoted in a warning
	rec='{"type":"recommendation","parameter":"a\u001b[2Jb","recommended":1}'
	run --separate-stderr pgx-apply -d host=/nonexistent plan < <(printf '%s\n%s\n' "$rec" "$rec")
	assert_equal "$(head -1 <<<"$stderr")" "pgx-apply: warning: stdin:2: 'a\\x1b[2Jb' given again; the last value wins"
}

@test "a failure midway undoes the steps already made" {
	start_cluster
	# log_timezone passes the prechecks (a string the session cannot SET, so
	# only ALTER SYSTEM validates it) but ALTER SYSTEM refuses the zone
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<$'work_mem = 16MB\nlog_timezone = \'Not/A_Zone\'\nmaintenance_work_mem = 1GB'
	assert_failure 7
	assert_equal "$(field 'select(.type=="change") | [.parameter, .action] | @tsv')" \
		"$(printf 'work_mem\trolled_back\nlog_timezone\trolled_back\nmaintenance_work_mem\tskipped')"
	assert_equal "$(field 'select(.parameter=="log_timezone") | .reason')" \
		'invalid value for parameter "log_timezone": "Not/A_Zone"'
	assert_equal "$(field 'select(.type=="changeset") | .status')" failed
	assert_equal "$stderr" "pgx-apply: error: changeset $(field 'select(.type=="changeset") | .id') failed; undoing the 2 change(s) made"
	assert_auto_conf_unchanged
	assert_equal "$(psql_q -c 'SHOW work_mem')" 8MB	# auto.conf's, reloaded by the undo
}

@test "list and string values are sent item by item, verified in the server's spelling, and rolled back byte for byte" {
	pg_start
	psql_q -c "ALTER SYSTEM SET search_path = 'a', 'B c'" >/dev/null
	cp "$(auto_conf)" "$BATS_TEST_TMPDIR/auto.before"
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<$'DateStyle = \'iso,dmy\'\nsearch_path = \'"$user",Public, "x""y"\''
	assert_success
	assert_equal "$(field 'select(.type=="change") | .action' | sort -u)" verified
	grep -qxF "search_path = '\"\$user\", public, \"x\"\"y\"'" "$(auto_conf)" ||
		fail "search_path not written item by item: $(cat "$(auto_conf)")"
	assert_equal "$(psql_q -c 'SHOW search_path')" '"$user", public, "x""y"'
	assert_equal "$(psql_q -c 'SHOW DateStyle')" 'ISO, DMY'
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" rollback "$(field 'select(.type=="changeset") | .id')"
	assert_success
	assert_auto_conf_unchanged
	# the session validates what it may SET before anything changes
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<$'work_mem = 16MB\nTimeZone = \'Not/A_Zone\'\nsearch_path = \'"open, x\''
	assert_failure 3
	assert_equal "$(field 'select(.type=="change") | .reason' | tail -2)" \
		"$(printf '%s\n%s' 'invalid value: invalid value for parameter "TimeZone": "Not/A_Zone"' \
			'invalid value: '\''"open, x'\'' is not a valid list (comma-separated, "quoted" items)')"
	assert_auto_conf_unchanged
}

@test "a parameter set on the server's command line is refused with the reason" {
	start_cluster
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<"log_line_prefix = '%m %p '"
	assert_failure 1
	assert_equal "$(field 'select(.type=="change") | .reason')" \
		"set on the server's command line (source 'command line'), which overrides postgresql.auto.conf: ALTER SYSTEM would have no effect"
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" plan <<<"server_version = 99"
	assert_failure 1
	assert_output --partial "context 'internal'"
	assert_auto_conf_unchanged
}

@test "a role without privilege is refused per parameter" {
	pg_skip_below 15 "GRANT ALTER SYSTEM ON PARAMETER"
	start_cluster
	psql_q -c "CREATE ROLE bob LOGIN" -c "GRANT ALTER SYSTEM ON PARAMETER work_mem TO bob" \
		-c "GRANT pg_read_all_settings TO bob" \
		-c "GRANT EXECUTE ON FUNCTION pg_reload_conf() TO bob" >/dev/null
	# without superuser only the live value's source is visible: make it the file's
	psql_q -c 'SELECT pg_reload_conf()' >/dev/null
	bob="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=bob dbname=postgres"
	run --separate-stderr pgx-apply -d "$bob" apply <"$PGX_FIXTURES/apply/tune.ndjson"
	assert_failure 5
	assert_equal "$(field 'select(.type=="change") | [.parameter, .action] | @tsv')" \
		"$(printf 'work_mem\tplan\nshared_buffers\trefused')"
	assert_equal "$(field 'select(.parameter=="shared_buffers") | .reason')" \
		"role 'bob' may not ALTER SYSTEM SET shared_buffers (needs superuser or GRANT ALTER SYSTEM ON PARAMETER)"
	assert_auto_conf_unchanged
	# what was granted is applied, and rolled back
	run --separate-stderr pgx-apply -d "$bob" apply <<<"work_mem = 24MB"
	assert_success
	assert_equal "$(psql_q -c 'SHOW work_mem')" 24MB
	run --separate-stderr pgx-apply -d "$bob" rollback "$(field 'select(.type=="changeset") | .id')"
	assert_success
	assert_auto_conf_unchanged
}

@test "a concurrent apply is refused with the holder shown; an interrupted apply undoes its steps" {
	start_cluster
	apply_paused 1 "$PGX_FIXTURES/apply/tune.ndjson"
	run pgx-apply -d "$PGX_PG_DSN" apply <<<"work_mem = 32MB"
	assert_failure 1
	assert_output --regexp "error: cluster is locked by pid $BG_PID on host '[^']+' \(apply - since [0-9T:-]+Z\)"
	run pgx-apply -d "$PGX_PG_DSN" rollback no-such-id
	assert_failure 3
	kill -TERM "$BG_PID"
	wait "$BG_PID" || status=$?
	BG_PID=
	assert_equal "$status" 130
	assert_auto_conf_unchanged
	assert_equal "$(jq -r 'select(.type=="change") | [.parameter, .action, .reason] | @tsv' "$BATS_TEST_TMPDIR/bg.out")" \
		"$(printf 'work_mem\trolled_back\t\nshared_buffers\tskipped\tinterrupted')"
	assert_equal "$(jq -r 'select(.type=="changeset") | .status' "$BATS_TEST_TMPDIR/bg.out")" failed
	assert_equal "$(psql_q -c 'SHOW work_mem')" 8MB	# auto.conf's, reloaded by the undo
	[ ! -e "$PGX_STATE_DIR"/*/lock ] || fail "the lock was left behind"
}

@test "kill -9 in the middle of an apply, then rollback returns every parameter" {
	start_cluster
	apply_paused 2 "$PGX_FIXTURES/apply/changeset.conf"
	grep -q "work_mem = '16MB'" "$(auto_conf)" || fail "work_mem not applied before the pause"
	grep -q "shared_buffers = '256MB'" "$(auto_conf)" || fail "shared_buffers not applied before the pause"
	kill -KILL "$BG_PID"
	wait "$BG_PID" || true
	killed=$BG_PID BG_PID=
	run --separate-stderr pgx-apply list
	assert_equal "$(field '[.status, .parameters] | @tsv')" "$(printf 'applying\t3')"
	id="$(field .id)"
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" rollback "$id"
	assert_success
	[[ "$stderr" =~ ^"pgx-apply: warning: taking over the stale lock of pid $killed on host '"[^\']+"' (apply - since "[0-9T:-]+"Z): that process is gone"$ ]] ||
		fail "no stale-lock warning: $stderr"
	assert_equal "$(field 'select(.type=="change") | .action' | sort -u)" rolled_back
	assert_auto_conf_unchanged
	assert_equal "$(psql_q -c 'SHOW work_mem')" 8MB
	assert_equal "$(psql_q -c 'SHOW maintenance_work_mem')" 64MB
}

@test "changesets undo in reverse order: an older one waits while a newer one on the same parameter is in effect" {
	start_cluster
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<"work_mem = 16MB"
	assert_success
	first="$(field 'select(.type=="changeset") | .id')"
	sleep 0.01
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<$'work_mem = 32MB\nrandom_page_cost = 1.1'
	assert_success
	second="$(field 'select(.type=="changeset") | .id')"
	run pgx-apply -d "$PGX_PG_DSN" rollback "$first"
	assert_failure 1
	assert_line "pgx-apply: error: changeset '$second' is newer and also changes work_mem"
	assert_equal "$(psql_q -c 'SHOW work_mem')" 32MB
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" rollback "$second"
	assert_success
	assert_equal "$(psql_q -c 'SHOW work_mem')" 16MB
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" rollback "$first"
	assert_success
	assert_auto_conf_unchanged
	run --separate-stderr pgx-apply list --format records
	assert_equal "$(field '.status' | sort -u)" rolled_back
}

@test "an unreachable server or Patroni REST API is exit 4; a changeset of another cluster is refused" {
	run pgx-apply -d "host=$BATS_TEST_TMPDIR port=1 connect_timeout=2" plan <<<"work_mem = 16MB"
	assert_failure 4
	assert_output --partial "pgx-apply: error: connection to server on socket"
	start_cluster
	run pgx-apply -d "$PGX_PG_DSN" --patroni "http://127.0.0.1:$(free_port)" plan <<<"work_mem = 16MB"
	assert_failure 4
	assert_output --regexp "^pgx-apply: error: Patroni GET http://127.0.0.1:[0-9]+/patroni failed: "
	mkdir -p "$PGX_STATE_DIR/other-1/changesets"
	echo '{"id":"x-1","cluster":"other-1","method":"alter_system","status":"applied","parameters":[]}' \
		>"$PGX_STATE_DIR/other-1/changesets/x-1.json"
	run pgx-apply -d "$PGX_PG_DSN" rollback x-1
	assert_failure 3
	assert_output --regexp "^pgx-apply: error: changeset 'x-1' belongs to cluster 'other-1', not to this one \('[0-9]+-$PGX_PG_PORT'\)$"
	run pgx-apply -d "$PGX_PG_DSN" rollback ../../etc/passwd
	assert_failure 3
}

@test "a lock held on another host is never taken over; a stale one on this host is" {
	start_cluster
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" plan <<<"work_mem = 16MB"
	dir="$PGX_STATE_DIR/$(field 'select(.type=="changeset") | .cluster')"
	mkdir -p "$dir"
	echo '{"pid":1,"host":"db-admin-2","started":1795300000,"pid_start":0,"operation":"apply","id":null}' >"$dir/lock"
	run pgx-apply -d "$PGX_PG_DSN" apply <<<"work_mem = 16MB"
	assert_failure 1
	assert_line "pgx-apply: error: cluster is locked by pid 1 on host 'db-admin-2' (apply - since 2026-11-21T22:26:40Z)"
	assert_auto_conf_unchanged
	# pid 1 is alive here but started at another time: a reused pid, so stale
	echo "{\"pid\":1,\"host\":\"$(hostname)\",\"started\":1795300000,\"pid_start\":1,\"operation\":\"rollback\",\"id\":\"x\"}" >"$dir/lock"
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<"work_mem = 16MB"
	assert_success
	assert_equal "$stderr" "pgx-apply: warning: taking over the stale lock of pid 1 on host '$(hostname)' (rollback x since 2026-11-21T22:26:40Z): that process is gone"
	[ ! -e "$dir/lock" ] || fail "lock left behind"
}

@test "a data directory holding Patroni's files is taken as managed by Patroni" {
	start_cluster
	touch "$PGX_PG_DIR/data/patroni.dynamic.json"
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<"work_mem = 16MB"
	assert_failure 1
	assert_equal "$(field 'select(.type=="change") | .reason')" \
		"cluster managed by Patroni ('$PGX_PG_DIR/data/patroni.dynamic.json' exists): ALTER SYSTEM would only drift this node; apply through PATCH /config with --via-patroni"
	assert_auto_conf_unchanged
}

@test "a cluster under Patroni: ALTER SYSTEM refused with the PATCH plan; --via-patroni applies and rolls back" {
	patroni_start
	auto="$PGX_PAT_DATA/postgresql.auto.conf"
	cp "$auto" "$BATS_TEST_TMPDIR/pat.auto.before"
	run --separate-stderr pgx-apply -d "$PGX_PAT_DSN" apply <<<"work_mem = 24MB"
	assert_failure 1
	assert_output --partial "cluster managed by Patroni"
	[[ "$stderr" == *'PATCH -d '\''{"postgresql":{"parameters":{"work_mem":"24MB"}}}'\'* ]] ||
		fail "no PATCH plan: $stderr"
	assert_equal "$(field 'select(.type=="changeset") | .patroni_patch.postgresql.parameters.work_mem')" 24MB
	cmp "$auto" "$BATS_TEST_TMPDIR/pat.auto.before"

	run --separate-stderr pgx-apply -d "$PGX_PAT_DSN" --patroni "$PGX_PAT_URL" --via-patroni apply \
		<<<$'work_mem = 24MB\nmax_connections = 150'
	assert_success
	assert_equal "$(field 'select(.type=="change") | [.parameter, .action, .method] | @tsv')" \
		"$(printf 'work_mem\tverified\tpatroni\nmax_connections\tpending_restart\tpatroni')"
	assert_equal "$(psql_q -d "$PGX_PAT_DSN" -c 'SHOW work_mem')" 24MB
	assert_equal "$(curl -sf "$PGX_PAT_URL/config" | jq -c '.postgresql.parameters | [.work_mem, .max_connections]')" \
		'["24MB","150"]'
	cmp "$auto" "$BATS_TEST_TMPDIR/pat.auto.before"
	id="$(field 'select(.type=="changeset") | .id')"

	run --separate-stderr pgx-apply -d "$PGX_PAT_DSN" --patroni "$PGX_PAT_URL" rollback "$id"
	assert_success
	assert_equal "$(field 'select(.type=="change") | .action' | sort -u)" rolled_back
	assert_equal "$(psql_q -d "$PGX_PAT_DSN" -c 'SHOW work_mem')" 4MB
	assert_equal "$(curl -sf "$PGX_PAT_URL/config" | jq -c '.postgresql.parameters | [.work_mem, .max_connections]')" \
		'["4MB",null]'
}

@test "statement_timeout, lock_timeout, default_transaction_read_only and application_name are read as the server has them" {
	start_cluster
	export PGAPPNAME=someone PGOPTIONS='-c lock_timeout=3s'	# the user's session settings are not the server's
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<-'EOF'
		statement_timeout = 60s
		lock_timeout = 7s
		default_transaction_read_only = on
		application_name = 'nightly'
		EOF
	assert_success
	assert_equal "$(field 'select(.type=="change") | [.parameter, .from, .to, .action] | @tsv')" \
		"$(printf 'statement_timeout\t0\t60s\tverified\nlock_timeout\t0\t7s\tverified\ndefault_transaction_read_only\toff\ton\tverified\napplication_name\t\tnightly\tverified')"
	unset PGAPPNAME PGOPTIONS
	assert_equal "$(psql_q -c 'SHOW statement_timeout' -c 'SHOW default_transaction_read_only')" "$(printf '1min\non')"
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" rollback "$(field 'select(.type=="changeset") | .id')"
	assert_success
	assert_equal "$(field 'select(.type=="change") | .action' | sort -u)" rolled_back
	assert_auto_conf_unchanged
	assert_equal "$(psql_q -c 'SHOW default_transaction_read_only')" off
}

@test "a value already in place is unchanged, never ALTERed; empty input has nothing to apply" {
	start_cluster
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<$'random_page_cost = 4\nmaintenance_work_mem = 64MB'
	assert_success
	assert_equal "$(field 'select(.type=="change") | [.parameter, .action] | @tsv')" \
		"$(printf 'random_page_cost\tunchanged\nmaintenance_work_mem\tunchanged')"
	assert_equal "$(field 'select(.type=="changeset") | [.status, .unchanged, .id] | @tsv')" "$(printf 'unchanged\t2\t')"
	assert_equal "$stderr" "pgx-apply: nothing to apply: every value is already in place"
	[ -z "$(ls "$PGX_STATE_DIR"/*/changesets/ 2>/dev/null)" ] || fail "a changeset was written"
	assert_auto_conf_unchanged
	# live 4MB, but auto.conf holds 8MB for the next reload: a change
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" plan <<<"work_mem = 4MB"
	assert_equal "$(field 'select(.type=="change") | .action')" plan
	# one changed among unchanged ones: only it is ALTERed, only it rolled back
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<$'random_page_cost = 4\nmaintenance_work_mem = 96MB'
	assert_success
	assert_equal "$(field 'select(.type=="change") | [.parameter, .action] | @tsv')" \
		"$(printf 'random_page_cost\tunchanged\nmaintenance_work_mem\tverified')"
	! grep -q random_page_cost "$(auto_conf)" || fail "random_page_cost ALTERed: $(cat "$(auto_conf)")"
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" rollback "$(field 'select(.type=="changeset") | .id')"
	assert_success
	assert_equal "$(field 'select(.type=="change") | [.parameter, .action] | @tsv')" \
		"$(printf 'random_page_cost\tunchanged\nmaintenance_work_mem\trolled_back')"
	assert_auto_conf_unchanged
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" plan </dev/null
	assert_failure 1
	assert_equal "$stderr" "pgx-apply: error: nothing to apply: the input holds no parameter"
	assert_equal "$(field 'select(.type=="changeset") | [.status, .parameters] | @tsv')" "$(printf 'empty\t0')"
}

@test "rollback stops on a value changed since the apply, showing all three, unless --force" {
	start_cluster
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<"work_mem = 5MB"
	assert_success
	id="$(field 'select(.type=="changeset") | .id')"
	psql_q -c "ALTER SYSTEM SET work_mem = '77MB'" -c 'SELECT pg_reload_conf()' >/dev/null
	wait_for 10 test "$(psql_q -c 'SHOW work_mem')" = 77MB
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" rollback "$id"
	assert_failure 1
	assert_equal "$stderr" "$(printf '%s\n%s' \
		"pgx-apply: error: work_mem changed since the apply: the server has '77MB', the changeset set '5MB', before it was '8MB'" \
		"pgx-apply: hint: nothing was rolled back; --force rolls back anyway and loses the later value")"
	assert_equal "$(field 'select(.type=="change") | [.from, .to, .action] | @tsv')" "$(printf '5MB\t8MB\tconflict')"
	assert_equal "$(psql_q -c 'SHOW work_mem')" 77MB
	run --separate-stderr pgx-apply list
	assert_equal "$(field .status)" applied
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" --force rollback "$id"
	assert_success
	assert_auto_conf_unchanged
	assert_equal "$(psql_q -c 'SHOW work_mem')" 8MB
}

@test "the lock is on the server too: an apply from another state directory is refused with the holder" {
	start_cluster
	# the holder comes over TCP, so it has a client address
	PGX_PG_DSN="host=127.0.0.1 port=$PGX_PG_PORT user=postgres dbname=postgres" \
		apply_paused 1 "$PGX_FIXTURES/apply/tune.ndjson"
	PGX_STATE_DIR="$BATS_TEST_TMPDIR/other-host" run pgx-apply -d "$PGX_PG_DSN" apply <<<"work_mem = 32MB"
	assert_failure 1
	holder="$(psql_q -c "SELECT pid || ' ' || to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
		FROM pg_locks JOIN pg_stat_activity USING (pid) WHERE locktype = 'advisory' AND objid = 1")"
	assert_line "pgx-apply: error: cluster is locked on the server by backend pid ${holder% *} (application_name 'pgx-apply', client 127.0.0.1, backend_start ${holder#* })"
	kill -TERM "$BG_PID"
	wait "$BG_PID" || true
	BG_PID=
	# released with the apply: the other one goes through now
	PGX_STATE_DIR="$BATS_TEST_TMPDIR/other-host" run --separate-stderr pgx-apply -d "$PGX_PG_DSN" apply <<<"work_mem = 32MB"
	assert_success
}

@test "a hot standby is refused unless --allow-standby; hot_standby off there never" {
	start_cluster
	apply_replica_start
	run --separate-stderr pgx-apply -d "$REPLICA_DSN" apply <<<"work_mem = 16MB"
	assert_failure 1
	assert_equal "$(field 'select(.type=="change") | .reason')" \
		"the server is a hot standby: a change there makes this node alone drift from its primary (--allow-standby to mean it, or change it through Patroni)"
	run --separate-stderr pgx-apply -d "$REPLICA_DSN" --allow-standby apply <<<"hot_standby = off"
	assert_failure 1
	assert_equal "$(field 'select(.type=="change") | .reason')" \
		"hot_standby off on a standby would close it to every read-only session"
	run --separate-stderr pgx-apply -d "$REPLICA_DSN" --allow-standby apply <<<"work_mem = 16MB"
	assert_success
	assert_equal "$(field 'select(.type=="change") | .action')" verified
	assert_equal "$(psql_q -d "$REPLICA_DSN" -c 'SHOW work_mem')" 16MB
}

@test "a change that would break the attached standby or its slot is refused at plan and apply" {
	start_cluster
	apply_replica_start
	for cmd in plan apply; do
		run --separate-stderr pgx-apply -d "$PGX_PG_DSN" "$cmd" <<-'EOF'
			wal_level = minimal
			max_wal_senders = 0
			max_replication_slots = 0
			EOF
		assert_failure 1
		assert_equal "$(field 'select(.type=="change") | [.parameter, .action, .reason] | @tsv')" "$(printf '%s\t%s\t%s\n' \
			wal_level refused "wal_level 'minimal' would break replication: 1 WAL sender(s) in use, 1 replication slot(s); they need 'replica' or more" \
			max_wal_senders refused "max_wal_senders 0 is below the 1 WAL sender(s) in use (pg_stat_replication)" \
			max_replication_slots refused "max_replication_slots 0 is below the 1 replication slot(s) that exist (pg_replication_slots)")"
	done
	assert_auto_conf_unchanged
	# a logical slot needs wal_level logical
	apply_replica_stop
	pg_stop
	pg_start "-c wal_level=logical"
	psql_q -c "SELECT pg_create_logical_replication_slot('apply_logical', 'test_decoding')" >/dev/null
	run --separate-stderr pgx-apply -d "$PGX_PG_DSN" plan <<<"wal_level = replica"
	assert_failure 1
	assert_equal "$(field 'select(.type=="change") | .reason')" \
		"wal_level 'replica' would break 1 logical replication slot(s), which need 'logical'"
	psql_q -c "SELECT pg_drop_replication_slot('apply_logical')" >/dev/null
}

@test "the table marks a value cut at 24 characters" {
	start_cluster
	run pgx-apply -d "$PGX_PG_DSN" plan --format table <<<"archive_cleanup_command = 'echo 0123456789012345678901234567890'"
	assert_success
	assert_line --regexp '^archive_cleanup_command +echo 0123456789012345\.\.\. +plan +no'
	run pgx-apply -d "$PGX_PG_DSN" plan --format table <<<"archive_cleanup_command = 'echo 0123456789012345678'"
	assert_line --regexp '^archive_cleanup_command +echo 0123456789012345678 +plan +no'
}

@test "a reader that closes early is one write error, exit 6, as in every pgx command" {
	start_cluster
	# far more than a pipe holds, so the writer meets the closed pipe
	for i in $(seq 2000); do printf '{"type":"x","n":%d,"pad":"%0500d"}\n' "$i" 0; done >"$BATS_TEST_TMPDIR/big.ndjson"
	echo 'work_mem = 16MB' >>"$BATS_TEST_TMPDIR/big.ndjson"
	run --separate-stderr bash -c 'pgx-apply -d "$1" apply <"$2" | head -1 >/dev/null; echo "${PIPESTATUS[0]}"' \
		_ "$PGX_PG_DSN" "$BATS_TEST_TMPDIR/big.ndjson"
	assert_output 6
	assert_equal "$stderr" "pgx-apply: error: write error on standard output: Broken pipe"
	assert_auto_conf_unchanged	# the output failed before anything changed
}

@test "Patroni credentials: a 401 is exit 5 in one line; taken from the environment or netrc, for the rollback too" {
	PGX_PAT_AUTH=admin:s3cret patroni_start
	run --separate-stderr pgx-apply -d "$PGX_PAT_DSN" --patroni "$PGX_PAT_URL" --via-patroni apply <<<"work_mem = 24MB"
	assert_failure 5
	assert_equal "$stderr" "pgx-apply: error: Patroni PATCH $PGX_PAT_URL/config: HTTP 401, credentials missing or refused (URL user:password@, PGX_PATRONI_USER and PGX_PATRONI_PASSWORD, or netrc)"
	assert_equal "$(curl -sf "$PGX_PAT_URL/config" | jq -r .postgresql.parameters.work_mem)" 4MB
	PGX_PATRONI_USER=admin PGX_PATRONI_PASSWORD=s3cret \
		run --separate-stderr pgx-apply -d "$PGX_PAT_DSN" --patroni "$PGX_PAT_URL" --via-patroni apply <<<"work_mem = 24MB"
	assert_success
	id="$(field 'select(.type=="changeset") | .id')"
	assert_equal "$(curl -sf "$PGX_PAT_URL/config" | jq -r .postgresql.parameters.work_mem)" 24MB
	! grep -rq s3cret "$PGX_STATE_DIR" || fail "the password was written to the state directory"
	# the rollback finds Patroni in the changeset and the credentials in netrc
	printf 'machine elsewhere login x password y\nmachine 127.0.0.1 login admin password s3cret\n' >"$BATS_TEST_TMPDIR/netrc"
	NETRC="$BATS_TEST_TMPDIR/netrc" run --separate-stderr pgx-apply -d "$PGX_PAT_DSN" rollback "$id"
	assert_success
	assert_equal "$(field 'select(.type=="change") | .action')" rolled_back
	assert_equal "$(curl -sf "$PGX_PAT_URL/config" | jq -r .postgresql.parameters.work_mem)" 4MB
}

@test "pgx-apply leaks nothing on plan, refused input and list" {
	require_valgrind pgx-apply
	start_cluster
	vg() { valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$@"; }
	run vg pgx-apply -d "$PGX_PG_DSN" plan <"$PGX_FIXTURES/apply/tune.ndjson"
	assert_success
	run vg pgx-apply -d "$PGX_PG_DSN" apply <<<$'work_mem = 1TB\nnope = 1'
	assert_failure 3
	run vg pgx-apply -d "$PGX_PG_DSN" apply <<<"work_mem = 12MB"
	assert_success
	run vg pgx-apply list
	assert_success
}
