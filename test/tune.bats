#!/usr/bin/env bats
# pgx-tune: golden formulas, machine detection under fixture roots, current
# settings from a real PostgreSQL 15 (record and --dbname), every format read
# back by PostgreSQL itself, bad input and pass-through.

load test_helper

TUNE_FX="$PGX_FIXTURES/tune"

setup_file() {
	load test_helper
	# A real server with a few non-default values, so current settings differ.
	pg_start "-c shared_buffers=512MB -c work_mem=4MB -c max_connections=100 -c random_page_cost=1.1"
}

teardown_file() {
	pg_stop
}

teardown() {
	if [ -n "${OWN_PG_DIR:-}" ]; then
		PGX_PG_DIR="$OWN_PG_DIR" pg_stop
	fi
	[ -z "${OWN_TMP:-}" ] || rm -rf "$OWN_TMP"
}

# The settings record pgx-poll writes, built from the real server with psql and jq.
settings_record() {
	local version
	version="$(psql_q -c 'SHOW server_version_num')"
	psql_q -c "SELECT row_to_json(s) FROM (SELECT name, setting, unit,
		pg_catalog.current_setting(name) AS value, source, context, vartype, min_val, max_val,
		enumvals, boot_val, reset_val, pending_restart FROM pg_catalog.pg_settings) s" |
		jq -cs --argjson v "$version" \
			'{type: "settings", ts: now, cluster: "test", server_version_num: $v, settings: .}'
}

# "name=value" of every recommendation, sorted.
recommended_pairs() {
	jq -r 'select(.type == "recommendation") | "\(.parameter)=\(.recommended)"' | sort
}

@test "pgx-tune answers --help, --version and rejects a bad option" {
	assert_standard_options pgx-tune
}

@test "pgx-tune documents every option in its man page and completion" {
	assert_options_documented pgx-tune
}

@test "every golden case gives exactly the values worked out by hand from the formulas" {
	local failures=0 n=0
	while IFS=$'\t' read -r name mem cpus storage profile conn ver expect; do
		[[ -z "$name" || "$name" == \#* ]] && continue
		n=$((n + 1))
		args=(--profile "$profile")
		if [[ "$mem" == root:* ]]; then
			args+=(--root "$TUNE_FX/roots/${mem#root:}")
		else
			args+=(--memory "$mem")
		fi
		[ "$cpus" = - ] || args+=(--cpus "$cpus")
		[ "$storage" = - ] || args+=(--storage "$storage")
		[ "$conn" = - ] || args+=(--max-connections "$conn")
		[ "$ver" = - ] || args+=(--pg-version "$ver")
		got="$(timeout 10 pgx-tune "${args[@]}" </dev/null 2>/dev/null | recommended_pairs)"
		want="$(tr ' ' '\n' <<<"$expect" | sort)"
		if [ "$got" != "$want" ]; then
			echo "case $name: pgx-tune ${args[*]}"
			diff <(echo "$want") <(echo "$got") | sed 's/^/  /'
			failures=$((failures + 1))
		fi
	done <"$TUNE_FX/cases.tsv"
	[ "$n" -ge 20 ] || fail "only $n cases read from cases.tsv"
	[ "$failures" -eq 0 ] || fail "$failures of $n golden cases differ (< expected, > got)"
}

@test "every pgtune case gives exactly pgtune's values, units and order (212 cases from its formulas)" {
	local failures=0 n=0
	while IFS=$'\t' read -r name mem cpus storage profile conn ver size expect; do
		[[ -z "$name" || "$name" == \#* ]] && continue
		n=$((n + 1))
		args=(--profile "$profile" --memory "$mem" --cpus "$cpus" --storage "$storage" --pg-version "$ver")
		[ "$conn" = - ] || args+=(--max-connections "$conn")
		[ "$size" = - ] || args+=(--db-size "$size")
		got="$(timeout 10 pgx-tune "${args[@]}" </dev/null 2>/dev/null |
			jq -r 'select(.type == "recommendation") | "\(.parameter)=\(.recommended)"')"
		if [ "$got" != "$(tr ' ' '\n' <<<"$expect")" ]; then
			echo "case $name: pgx-tune ${args[*]}"
			diff <(tr ' ' '\n' <<<"$expect") <(echo "$got") | sed 's/^/  /'
			failures=$((failures + 1))
		fi
	done <"$TUNE_FX/pgtune-cases.tsv"
	[ "$n" -ge 200 ] || fail "only $n cases read from pgtune-cases.tsv"
	[ "$failures" -eq 0 ] || fail "$failures of $n pgtune cases differ (< pgtune, > pgx-tune)"
}

@test "the pgtune case table is what its generator writes from pgtune's formulas" {
	command -v python3 >/dev/null || skip "no python3"
	run python3 "$TUNE_FX/gen-pgtune-cases.py"
	assert_success
	assert_equal "$output" "$(cat "$TUNE_FX/pgtune-cases.tsv")"
}

@test "a cgroup v2 limit below MemTotal is the memory, found on the parent cgroup; the CPU quota rounds up" {
	run pgx-tune --root "$TUNE_FX/roots/v2-limit" </dev/null
	assert_success
	run jq -c 'select(.type == "machine") | [.memory_bytes, .memory_source, .memory_total_bytes,
		.memory_limit_bytes, .cgroup, .cgroup_path, .cpus, .cpus_source]' <<<"$output"
	assert_output '[2147483648,"cgroup2",17179869184,2147483648,"v2","/kubepods/pod1/ctr",2,"cgroup2"]'
}

@test "cgroup v2 \"max\" means unlimited: MemTotal is used and the cpuset bounds the CPUs" {
	run pgx-tune --root "$TUNE_FX/roots/v2-max" </dev/null
	assert_success
	run jq -c 'select(.type == "machine") | [.memory_bytes, .memory_source, .memory_limit_bytes, .cgroup, .cpus, .cpus_source]' <<<"$output"
	assert_output '[8589934592,"meminfo",null,"v2",4,"cpuset"]'
}

@test "a cgroup limit above MemTotal does not raise the memory; online CPUs count when nothing limits them" {
	run pgx-tune --root "$TUNE_FX/roots/v2-above-total" </dev/null
	assert_success
	run jq -c 'select(.type == "machine") | [.memory_bytes, .memory_source, .memory_limit_bytes, .cpus, .cpus_source]' <<<"$output"
	assert_output '[8589934592,"meminfo",null,6,"sysfs"]'
}

@test "cgroup v1 memory.limit_in_bytes and the CFS quota are read on a hybrid host" {
	run pgx-tune --root "$TUNE_FX/roots/v1-limit" </dev/null
	assert_success
	run jq -c 'select(.type == "machine") | [.memory_bytes, .memory_source, .cgroup, .cgroup_path, .cpus, .cpus_source]' <<<"$output"
	assert_output '[1073741824,"cgroup1","v1","/docker/0123abcd",4,"cgroup1"]'
}

@test "cgroup v1's unlimited value and a quota of -1 mean no limit" {
	run pgx-tune --root "$TUNE_FX/roots/v1-unlimited" </dev/null
	assert_success
	run jq -c 'select(.type == "machine") | [.memory_bytes, .memory_source, .memory_limit_bytes, .cpus, .cpus_source]' <<<"$output"
	assert_output '[4294967296,"meminfo",null,2,"cpuset"]'
}

@test "PGX_MEMORY and POSTGRES_MEMORY override the cgroup limit; a bare number is MB" {
	PGX_MEMORY=3GB run pgx-tune --root "$TUNE_FX/roots/v2-limit" </dev/null
	assert_success
	assert_equal "$(jq -c 'select(.type == "machine") | [.memory_bytes, .memory_source]' <<<"$output")" \
		'[3221225472,"env:PGX_MEMORY"]'
	POSTGRES_MEMORY=1024 run pgx-tune --root "$TUNE_FX/roots/v2-limit" </dev/null
	assert_success
	assert_equal "$(jq -c 'select(.type == "machine") | [.memory_bytes, .memory_source]' <<<"$output")" \
		'[1073741824,"env:POSTGRES_MEMORY"]'
	PGX_MEMORY=lots run pgx-tune --root "$TUNE_FX/roots/v2-limit" </dev/null
	assert_failure 2
	assert_line --index 0 'pgx-tune: error: invalid memory size "lots" in PGX_MEMORY (use e.g. 16GB, or a number of MB)'
}

@test "PGX_TUNE_ROOT is the default of --root" {
	PGX_TUNE_ROOT="$TUNE_FX/roots/v1-limit" run pgx-tune </dev/null
	assert_success
	assert_equal "$(jq -c 'select(.type == "machine") | [.memory_source, .root]' <<<"$output")" \
		"[\"cgroup1\",\"$TUNE_FX/roots/v1-limit\"]"
}

@test "a root with nothing readable fails with exit 3 and a hint, unless memory and CPUs are given" {
	run pgx-tune --root "$TUNE_FX/roots/empty" </dev/null
	assert_failure 3
	assert_line --partial "pgx-tune: error: cannot tell this host's memory"
	assert_line 'pgx-tune: hint: give it with --memory, e.g. --memory 16GB'
	run pgx-tune --root "$TUNE_FX/roots/empty" --memory 4GB --cpus 2 </dev/null
	assert_success
	assert_equal "$(jq -c 'select(.type == "machine") | [.memory_source, .cpus_source]' <<<"$output")" \
		'["option","option"]'
}

@test "this host's own memory and CPUs are detected within what the kernel reports" {
	run pgx-tune </dev/null
	assert_success
	total_kb="$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
	run jq -r 'select(.type == "machine") | "\(.memory_bytes) \(.cpus) \(.memory_source) \(.cpus_source)"' <<<"$output"
	read -r bytes cpus msrc csrc <<<"$output"
	[ "$bytes" -gt 0 ] && [ "$bytes" -le $((total_kb * 1024)) ] || fail "memory_bytes $bytes vs MemTotal ${total_kb}kB"
	[ "$cpus" -ge 1 ] && [ "$cpus" -le "$(nproc --all)" ] || fail "cpus $cpus vs nproc --all $(nproc --all)"
	[[ "$msrc" =~ ^(meminfo|cgroup1|cgroup2)$ ]] || fail "memory_source $msrc"
	[[ "$csrc" =~ ^(affinity|cpuset|cgroup1|cgroup2|sysconf)$ ]] || fail "cpus_source $csrc"
}

@test "a settings record from a real server gives current values; those within tolerance are skipped" {
	settings_record >"$BATS_TEST_TMPDIR/settings.ndjson"
	run pgx-tune --memory 2GB --cpus 4 --profile mixed "$BATS_TEST_TMPDIR/settings.ndjson"
	assert_success
	# the server's shared_buffers (512MB), work_mem (4MB), max_connections (100) and
	# random_page_cost (1.1) are what mixed recommends for 2GB: left out
	run jq -r 'select(.type == "recommendation") | .parameter' <<<"$output"
	refute_line shared_buffers
	refute_line work_mem
	refute_line max_connections
	refute_line random_page_cost
	assert_line effective_cache_size
	run pgx-tune --memory 2GB --cpus 4 --profile mixed "$BATS_TEST_TMPDIR/settings.ndjson"
	assert_equal "$(jq -c 'select(.parameter == "effective_cache_size") | [.current, .recommended, .status, .context, .restart]' <<<"$output")" \
		'["4GB","1536MB","change","user",false]'
	assert_equal "$(jq -c 'select(.type == "machine") | [.pg_version, .pg_version_source, .max_connections, .max_connections_source]' <<<"$output")" \
		'[15,"settings",100,"settings"]'
	# the server has lz4, so PostgreSQL 15's wal_compression=lz4 is offered
	assert_equal "$(jq -r 'select(.parameter == "wal_compression") | .recommended' <<<"$output")" lz4
}

@test "pgx-poll's settings record feeds pgx-tune, and pgx-poll's poll record passes through" {
	run --separate-stderr bash -c "pgx-poll --allow-privileged --sections settings -d '$PGX_PG_DSN' |
		pgx-tune --memory 2GB --cpus 4 --profile mixed"
	assert_success
	assert_equal "$(jq -r .type <<<"$output" | uniq -c | awk '{print $2":"$1}' | tr '\n' ' ')" \
		"poll:1 machine:1 recommendation:10 "
	# the server already has what mixed wants for shared_buffers, work_mem, wal_buffers,
	# random_page_cost, max_connections and four PostgreSQL 15 defaults
	assert_equal "$(jq -r 'select(.type == "recommendation") | .parameter' <<<"$output" | tr '\n' ' ')" \
		"effective_cache_size maintenance_work_mem effective_io_concurrency huge_pages jit wal_compression min_wal_size max_wal_size max_worker_processes max_parallel_workers "
	assert_equal "$(jq -c 'select(.parameter == "effective_cache_size") | [.current, .recommended]' <<<"$output")" \
		'["4GB","1536MB"]'
	assert_equal "$(jq -c 'select(.type == "machine") | [.pg_version_source, .max_connections]' <<<"$output")" \
		'["settings",100]'
}

@test "--all lists the skipped settings with status keep" {
	settings_record >"$BATS_TEST_TMPDIR/settings.ndjson"
	run pgx-tune --all --memory 2GB --cpus 4 --profile mixed <"$BATS_TEST_TMPDIR/settings.ndjson"
	assert_success
	run jq -c 'select(.parameter == "shared_buffers" or .parameter == "work_mem") | [.parameter, .current, .recommended, .status]' <<<"$output"
	assert_line '["shared_buffers","512MB","512MB","keep"]'
	assert_line '["work_mem","4MB","4MB","keep"]'
}

@test "--dbname reads the same current settings as the settings record" {
	settings_record >"$BATS_TEST_TMPDIR/settings.ndjson"
	from_record="$(pgx-tune --all --memory 2GB --cpus 4 <"$BATS_TEST_TMPDIR/settings.ndjson" | jq -c 'del(.ts) | del(.pg_version_source, .max_connections_source)')"
	run pgx-tune --all --memory 2GB --cpus 4 --dbname "$PGX_PG_DSN" </dev/null
	assert_success
	from_server="$(jq -c 'del(.ts) | del(.pg_version_source, .max_connections_source)' <<<"$output")"
	assert_equal "$from_server" "$from_record"
	assert_equal "$(jq -r 'select(.type == "machine") | .pg_version_source' <<<"$output")" server
}

@test "--dbname reads pg_settings in one read-only session named pgx-tune" {
	pg_start "-c log_statement=all -c log_line_prefix='[%p] %a: '"
	OWN_PG_DIR="$PGX_PG_DIR"
	run pgx-tune --memory 2GB --cpus 2 -d "$PGX_PG_DSN" </dev/null
	assert_success
	# the logging collector writes the lines a moment later
	statements() { sed -n 's/^\[[0-9]*\] pgx-tune: LOG:  statement: //p' "$PGX_PG_DIR/log/postgresql.log"; }
	for _ in $(seq 100); do [ "$(statements | wc -l)" -ge 3 ] && break; sleep 0.05; done
	run statements
	assert_equal "${#lines[@]}" 3
	# no pooler in between (its backend pid is the server's), so the settings are made
	assert_equal "${lines[0]}" "/* pgx */ /* pooler */ SELECT pg_catalog.pg_backend_pid()"
	assert_equal "${lines[1]}" "/* pgx */ SET statement_timeout = 10000; /* pgx */ SET lock_timeout = 1000; /* pgx */ SET default_transaction_read_only = on"
	assert_equal "$(cut -c1-46 <<<"${lines[2]}")" "/* pgx */ SELECT pg_catalog.json_build_object("
}

@test "an unreachable server is exit 4 with one error line" {
	run pgx-tune --memory 2GB --cpus 2 -d "host=127.0.0.1 port=$(free_port) connect_timeout=3" </dev/null
	assert_failure 4
	assert_line --index 0 --regexp '^pgx-tune: error: connection to server at "127.0.0.1", port [0-9]+ failed: Connection refused'
	[ "${#lines[@]}" -eq 1 ] || fail "more than one line: $output"
}

@test "--format sql runs in psql and the values reach pg_settings: reload, then restart" {
	pg_start
	OWN_PG_DIR="$PGX_PG_DIR"
	pgx-tune --format sql --memory 2GB --cpus 4 --profile web -d "$PGX_PG_DSN" >"$BATS_TEST_TMPDIR/tune.sql" </dev/null
	# the server's max_connections (100) is kept: (2GB - 512MB) / ((100 + 4) * 3) = 5041kB
	grep -q "^ALTER SYSTEM SET work_mem = '5041kB';$" "$BATS_TEST_TMPDIR/tune.sql" || fail "$(cat "$BATS_TEST_TMPDIR/tune.sql")"
	grep -q "^ALTER SYSTEM SET shared_buffers = '512MB';  -- needs a restart$" "$BATS_TEST_TMPDIR/tune.sql" || fail "no restart note"
	run psql_q -f "$BATS_TEST_TMPDIR/tune.sql"
	assert_success
	sleep 1
	# reloadable ones are live now; postmaster ones wait for a restart
	run psql_q -c "SELECT name || '=' || current_setting(name) || ' ' || pending_restart FROM pg_settings
		WHERE name IN ('effective_cache_size', 'random_page_cost', 'max_wal_size', 'jit', 'shared_buffers') ORDER BY name"
	assert_output "effective_cache_size=1536MB false
jit=off false
max_wal_size=4GB false
random_page_cost=1.1 false
shared_buffers=128MB true"
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PGX_PG_DIR/data" -w -t 60 restart >/dev/null
	# after the restart the server is what pgx-tune recommends: nothing left to change
	run pgx-tune --memory 2GB --cpus 4 --profile web -d "$PGX_PG_DSN" </dev/null
	assert_success
	assert_equal "$(jq -c 'select(.type == "recommendation") | [.parameter, .current, .recommended]' <<<"$output")" ""
}

@test "--format flags starts a real server with exactly the recommended values" {
	flags="$(pgx-tune --format flags --memory 1GB --cpus 4 --profile oltp </dev/null)"
	[[ "$flags" == "-c max_connections=300 -c shared_buffers=256MB "* ]] || fail "flags: $flags"
	pg_start "$flags"
	OWN_PG_DIR="$PGX_PG_DIR"
	run pgx-tune --memory 1GB --cpus 4 --profile oltp -d "$PGX_PG_DSN" </dev/null
	assert_success
	# the server took every value, wal_compression=lz4 included: nothing left to change
	assert_equal "$(jq -c 'select(.type == "recommendation") | [.parameter, .current, .recommended]' <<<"$output")" ""
	run psql_q -c "SELECT current_setting('shared_buffers') || ' ' || current_setting('work_mem') || ' ' || current_setting('max_connections')"
	assert_output "256MB 4MB 300"
}

@test "--format conf is read by postgres -C with each value in the server's base units" {
	# a copy of the cluster (postgres -C needs one), readable by its owner
	OWN_TMP="$(mktemp -d /tmp/pgx-tune-conf.XXXXXX)"
	chmod 755 "$OWN_TMP"
	cp -a "$PGX_PG_DIR/data" "$OWN_TMP/data"
	pgx-tune --format conf --memory 2GB --cpus 4 --profile mixed --pg-version 15 </dev/null >"$OWN_TMP/tune.conf"
	rm -f "$OWN_TMP/data/postmaster.pid" "$OWN_TMP/data/postgresql.auto.conf"
	echo "include '$OWN_TMP/tune.conf'" >>"$OWN_TMP/data/postgresql.conf"
	[ "$(id -u)" != 0 ] || chown -R postgres: "$OWN_TMP"
	got=""
	for p in max_connections shared_buffers effective_cache_size maintenance_work_mem wal_buffers \
		work_mem min_wal_size max_wal_size checkpoint_completion_target random_page_cost \
		effective_io_concurrency huge_pages max_worker_processes max_parallel_workers_per_gather \
		max_parallel_workers max_parallel_maintenance_workers jit default_statistics_target; do
		v="$(as_pg_owner "$PG_BINDIR/postgres" -D "$OWN_TMP/data" -C "$p")" || fail "postgres -C $p failed"
		got+="$p=$v "
	done
	# 8kB pages, kB and MB as pg_settings counts them
	assert_equal "$got" "max_connections=100 shared_buffers=65536 effective_cache_size=196608 maintenance_work_mem=131072 wal_buffers=2048 work_mem=4096 min_wal_size=1024 max_wal_size=4096 checkpoint_completion_target=0.9 random_page_cost=1.1 effective_io_concurrency=200 huge_pages=off max_worker_processes=4 max_parallel_workers_per_gather=2 max_parallel_workers=4 max_parallel_maintenance_workers=2 jit=off default_statistics_target=100 "
	grep -q '^# \[pgtune.shared_buffers, confidence high, restart\]$' "$OWN_TMP/tune.conf" || fail "no rule comment"
}

@test "no profile yields a value PostgreSQL refuses, even at 8MB or 4TB and 1 or 64 CPUs" {
	OWN_TMP="$(mktemp -d /tmp/pgx-tune-conf.XXXXXX)"
	chmod 755 "$OWN_TMP"
	cp -a "$PGX_PG_DIR/data" "$OWN_TMP/data"
	rm -f "$OWN_TMP/data/postmaster.pid" "$OWN_TMP/data/postgresql.auto.conf"
	echo "include '$OWN_TMP/tune.conf'" >>"$OWN_TMP/data/postgresql.conf"
	[ "$(id -u)" != 0 ] || chown -R postgres: "$OWN_TMP"
	local n=0
	for profile in web oltp dw desktop mixed auto conservative; do
		for mem in 8MB 4TB; do
			for cpus in 1 64; do
				pgx-tune --profile "$profile" --memory "$mem" --cpus "$cpus" --storage hdd \
					--format conf </dev/null >"$OWN_TMP/tune.conf" 2>/dev/null
				# postgres -C reads and checks every line of the configuration
				as_pg_owner "$PG_BINDIR/postgres" -D "$OWN_TMP/data" -C work_mem >/dev/null 2>"$OWN_TMP/err" ||
					fail "$profile $mem $cpus CPUs: $(cat "$OWN_TMP/err")"
				n=$((n + 1))
			done
		done
	done
	assert_equal "$n" 28
	# at 8MB pgtune's share falls below PostgreSQL's minimum: clamped, and said so
	run --separate-stderr pgx-tune --profile web --memory 8MB --cpus 1 </dev/null
	assert_equal "$(jq -r 'select(.parameter == "maintenance_work_mem") | .recommended' <<<"$output")" 1MB
	assert_equal "$(jq -r 'select(.parameter == "maintenance_work_mem") | .rationale' <<<"$output" | grep -c 'Clamped to 1MB')" 1
}

@test "--format table shows current, recommended and status columns" {
	settings_record >"$BATS_TEST_TMPDIR/settings.ndjson"
	run pgx-tune --format table --all --memory 2GB --cpus 4 "$BATS_TEST_TMPDIR/settings.ndjson"
	assert_success
	assert_line --index 0 --partial 'profile mixed; 2GB RAM (option), 4 CPUs (option)'
	assert_line --regexp '^parameter +current +recommended +status +confidence +restart +rule +why$'
	assert_line --regexp '^shared_buffers +512MB +512MB +keep +high +yes +pgtune.shared_buffers +25% '
	assert_line --regexp '^effective_cache_size +4GB +1536MB +change +high +no '
}

@test "conservative never touches max_connections, moves memory at most 2x and keeps to high confidence" {
	run --separate-stderr pgx-tune --profile conservative --memory 16GB --cpus 8 --all -d "$PGX_PG_DSN" </dev/null
	assert_success
	run jq -c 'select(.type == "recommendation") | [.parameter, .current, .recommended, .confidence]' <<<"$output"
	refute_line --partial max_connections
	refute_line --regexp '^\["work_mem"'

	# shared_buffers comes from the test server's command line: listed only with --all
	assert_line '["shared_buffers","512MB","1GB","high"]'
	assert_line '["effective_cache_size","4GB","8GB","high"]'
	refute_line --partial '"medium"'
	refute_line --partial '"low"'
}

@test "the server's own limits bound a recommendation; an enum value it lacks falls back, marked as not pgtune's" {
	settings_record | jq -c '.settings |= map(
		if .name == "effective_io_concurrency" then .max_val = "100"
		elif .name == "wal_compression" then .enumvals = ["pglz", "on", "off"] else . end)' \
		>"$BATS_TEST_TMPDIR/settings.ndjson"
	run pgx-tune --memory 2GB --cpus 4 "$BATS_TEST_TMPDIR/settings.ndjson"
	assert_success
	assert_equal "$(jq -r 'select(.parameter == "effective_io_concurrency") | .recommended' <<<"$output")" 100
	assert_equal "$(jq -r 'select(.parameter == "effective_io_concurrency") | .rationale' <<<"$output" | grep -c 'Clamped to 100')" 1
	assert_equal "$(jq -r 'select(.parameter == "effective_io_concurrency") | .deviates_from' <<<"$output")" pgtune
	# a server built without lz4: pglz ("on") instead of pgtune's lz4, and the record says so
	assert_equal "$(jq -c 'select(.parameter == "wal_compression") | [.recommended, .deviates_from]' <<<"$output")" \
		'["on","pgtune"]'
	assert_equal "$(jq -r 'select(.parameter == "wal_compression") | .rationale' <<<"$output" | grep -c "instead of pgtune's 'lz4'")" 1
	assert_equal "$(jq -r 'select(.parameter == "effective_cache_size") | .deviates_from' <<<"$output")" null
	# without a server's word, pgtune's lz4 stands
	run pgx-tune --memory 2GB --cpus 4 </dev/null
	assert_equal "$(jq -c 'select(.parameter == "wal_compression") | [.recommended, .deviates_from]' <<<"$output")" \
		'["lz4",null]'
}

# A settings record made by hand: cluster label, then name/setting/unit/source/pending_restart rows.
hand_settings() {
	local cluster="$1"
	shift
	printf '%s\n' "$@" | jq -cnR --arg c "$cluster" '{type: "settings", ts: 1, cluster: $c,
		server_version_num: 180000, settings: [inputs] | map(split("|") | {name: .[0], setting: .[1],
		unit: (if .[2] == "" then null else .[2] end), source: .[3], pending_restart: (.[4] == "t"),
		context: "postmaster", enumvals: (if .[0] == "io_method" then ["sync", "worker"] else null end)})}'
}

@test "a change already waiting for a restart is not proposed again, in any format" {
	hand_settings /run/postgresql:5432 "shared_buffers|16384|8kB|configuration file|t" \
		"max_connections|100||configuration file|f" >"$BATS_TEST_TMPDIR/s.ndjson"
	run --separate-stderr pgx-tune --memory 4GB --cpus 4 "$BATS_TEST_TMPDIR/s.ndjson"
	assert_success
	assert_equal "$(jq -r 'select(.parameter == "shared_buffers") | .parameter' <<<"$output")" ""
	assert_equal "$stderr" "pgx-tune: warning: shared_buffers: not recommended again, a new value already waits for a restart"
	run --separate-stderr pgx-tune --all --memory 4GB --cpus 4 "$BATS_TEST_TMPDIR/s.ndjson"
	assert_equal "$(jq -c 'select(.parameter == "shared_buffers") | [.current, .recommended, .status]' <<<"$output")" \
		'["128MB","1GB","pending_restart"]'
	run pgx-tune --format sql --memory 4GB --cpus 4 "$BATS_TEST_TMPDIR/s.ndjson"
	assert_line "-- shared_buffers = '1GB' not set: a new value already waits for a restart"
	refute_line --partial "ALTER SYSTEM SET shared_buffers"
	run --separate-stderr pgx-tune --format flags --memory 4GB --cpus 4 "$BATS_TEST_TMPDIR/s.ndjson"
	refute_output --partial shared_buffers
	run pgx-tune --format conf --memory 4GB --cpus 4 "$BATS_TEST_TMPDIR/s.ndjson"
	assert_line "#shared_buffers = '1GB'	# a new value already waits for a restart"
}

@test "a setting from the server's command line is said to be beyond ALTER SYSTEM, and kept out of SQL and pgx-apply's input" {
	# the shared test server runs with -c shared_buffers=512MB: 4GB of RAM wants 1GB
	run --separate-stderr pgx-tune --memory 4GB --cpus 4 --profile mixed -d "$PGX_PG_DSN" </dev/null
	assert_success
	assert_equal "$(jq -r 'select(.parameter == "shared_buffers") | .parameter' <<<"$output")" ""
	# as are work_mem (4MB, 5041kB wanted) and max_connections (kept)
	assert_equal "$stderr" "pgx-tune: warning: shared_buffers = 1GB is not written: the server's command line sets it, which ALTER SYSTEM cannot override
pgx-tune: warning: work_mem = 5041kB is not written: the server's command line sets it, which ALTER SYSTEM cannot override"
	run --separate-stderr pgx-tune --all --memory 4GB --cpus 4 --profile mixed -d "$PGX_PG_DSN" </dev/null
	assert_equal "$(jq -c 'select(.parameter == "shared_buffers") | [.current, .recommended, .status]' <<<"$output")" \
		'["512MB","1GB","command_line"]'
	assert_equal "$(jq -r 'select(.parameter == "shared_buffers") | .rationale' <<<"$output" | grep -c 'ALTER SYSTEM cannot change it')" 1
	run pgx-tune --format sql --memory 4GB --cpus 4 --profile mixed -d "$PGX_PG_DSN" </dev/null
	assert_line "-- shared_buffers = '1GB' not set: set on the server's command line, which ALTER SYSTEM cannot override"
	run pgx-tune --format flags --memory 4GB --cpus 4 --profile mixed -d "$PGX_PG_DSN" </dev/null
	assert_output --partial "-c shared_buffers=1GB"
	run pgx-tune --format table --memory 4GB --cpus 4 --profile mixed -d "$PGX_PG_DSN" </dev/null
	assert_line --regexp '^shared_buffers +512MB +1GB +command_line '
}

@test "a remote server's settings need --memory and --cpus, or --assume-local" {
	hand_settings db.example.com:5432 "max_connections|100||configuration file|f" >"$BATS_TEST_TMPDIR/remote.ndjson"
	run --separate-stderr pgx-tune --memory 4GB "$BATS_TEST_TMPDIR/remote.ndjson"
	assert_failure 2
	assert_equal "$stderr" 'pgx-tune: error: the settings are from host "db.example.com", not this host: its memory and CPUs are unknown
pgx-tune: hint: give --memory and --cpus, or --assume-local if the server runs here'
	assert_equal "$output" ""
	run pgx-tune --memory 4GB --cpus 4 "$BATS_TEST_TMPDIR/remote.ndjson"
	assert_success
	run pgx-tune --assume-local --root "$TUNE_FX/roots/v2-limit" "$BATS_TEST_TMPDIR/remote.ndjson"
	assert_success
	assert_equal "$(jq -r 'select(.type == "machine") | .memory_source' <<<"$output")" cgroup2
	# a Unix socket or the loopback is this host; a --cluster name says nothing
	for label in /run/postgresql:5432 localhost:5432 127.0.0.1:5433 ::1:5432; do
		hand_settings "$label" "max_connections|100||default|f" |
			pgx-tune --root "$TUNE_FX/roots/v2-limit" >/dev/null || fail "$label is this host"
	done
	hand_settings prod "max_connections|100||default|f" >"$BATS_TEST_TMPDIR/named.ndjson"
	run --separate-stderr pgx-tune --root "$TUNE_FX/roots/v2-limit" "$BATS_TEST_TMPDIR/named.ndjson"
	assert_failure 2
	[[ "$stderr" == *'the settings are from cluster "prod", not this host'* ]] || fail "stderr: $stderr"
}

@test "memory detected from the host is taken in whole MB, as a person types it into pgtune" {
	PGX_MEMORY=6170888kB run pgx-tune --cpus 4 </dev/null
	assert_success
	assert_equal "$(jq -r 'select(.type == "machine") | .memory_bytes' <<<"$output")" $((6026 * 1024 * 1024))
	from_env="$(jq -r 'select(.type == "recommendation") | "\(.parameter)=\(.recommended)"' <<<"$output")"
	typed="$(pgx-tune --cpus 4 --memory 6026MB </dev/null | jq -r 'select(.type == "recommendation") | "\(.parameter)=\(.recommended)"')"
	assert_equal "$from_env" "$typed"
	assert_equal "$(grep -c '^effective_cache_size=4627968kB$' <<<"$from_env")" 1
}

@test "values from a cgroup limit below the host's memory say so and deviate from pgtune" {
	run pgx-tune --root "$TUNE_FX/roots/v2-limit" --profile web </dev/null
	assert_success
	assert_equal "$(jq -c 'select(.parameter == "shared_buffers") | [.recommended, .deviates_from]' <<<"$output")" '["512MB","pgtune"]'
	assert_equal "$(jq -r 'select(.parameter == "shared_buffers") | .rationale' <<<"$output" | grep -c "2GB cgroup limit, not the host's 16GB")" 1
	assert_equal "$(jq -c 'select(.parameter == "min_wal_size") | .deviates_from' <<<"$output")" null
	run pgx-tune --root "$TUNE_FX/roots/v2-max" --profile web </dev/null
	assert_equal "$(jq -cs '[.[] | select(.type == "recommendation") | .deviates_from] | unique' <<<"$output")" '[null]'
}

@test "PostgreSQL 18 without io_uring gets io_method=worker, marked as not pgtune's" {
	hand_settings /run/postgresql:5432 "io_method|worker||default|f" >"$BATS_TEST_TMPDIR/s.ndjson"
	run --separate-stderr pgx-tune --memory 16GB --cpus 16 "$BATS_TEST_TMPDIR/s.ndjson"
	assert_success
	assert_equal "$(jq -c 'select(.type == "machine") | [.pg_version, .pg_version_source]' <<<"$output")" '[18,"settings"]'
	# already worker: nothing to change, and --all shows why it is not pgtune's io_uring
	assert_equal "$(jq -r 'select(.parameter == "io_method") | .parameter' <<<"$output")" ""
	run --separate-stderr pgx-tune --all --memory 16GB --cpus 16 "$BATS_TEST_TMPDIR/s.ndjson"
	assert_equal "$(jq -c 'select(.parameter == "io_method") | [.recommended, .status, .deviates_from]' <<<"$output")" \
		'["worker","keep","pgtune"]'
	assert_equal "$(jq -c 'select(.parameter == "io_workers") | .recommended' <<<"$output")" '"4"'
}

@test "the table says 1 CPU, and marks a value cut at 24 characters" {
	hand_settings /run/postgresql:5432 "huge_pages|a-value-from-some-future-release||default|f" >"$BATS_TEST_TMPDIR/s.ndjson"
	run pgx-tune --format table --memory 2GB --cpus 1 "$BATS_TEST_TMPDIR/s.ndjson"
	assert_success
	assert_line --index 0 --partial '2GB RAM (option), 1 CPU (option)'
	assert_line --regexp '^huge_pages +a-value-from-some-fut\.\.\. +off +change '
	run pgx-tune --format table --memory 2GB --cpus 2 </dev/null
	assert_line --index 0 --partial '2 CPUs (option)'
}

@test "pgx-tune | head -1 ends like every pgx command on a closed pipe: exit 6, one clear line" {
	# an endless input passes through, so the reader always closes first
	run bash -c 'yes "{\"type\":\"x\",\"ts\":1}" | pgx-tune --memory 2GB --cpus 4 | head -n 1
		echo "status=${PIPESTATUS[1]}"'
	assert_line --index 0 '{"type":"x","ts":1}'
	assert_line 'status=6'
	assert_line 'pgx-tune: error: write error on standard output: Broken pipe'
	assert_equal "${#lines[@]}" 3
}

@test "records it does not consume pass through unchanged and in order; the settings record is consumed" {
	settings_record >"$BATS_TEST_TMPDIR/settings.ndjson"
	{
		echo '{"type":"poll","ts":1.5,"weird":  [1, 2.50]}'
		cat "$BATS_TEST_TMPDIR/settings.ndjson"
		echo '{"type":"alert","ts":2,"name":"x"}'
	} >"$BATS_TEST_TMPDIR/in.ndjson"
	run pgx-tune --memory 2GB --cpus 4 <"$BATS_TEST_TMPDIR/in.ndjson"
	assert_success
	assert_line --index 0 '{"type":"poll","ts":1.5,"weird":  [1, 2.50]}'
	assert_line --index 1 '{"type":"alert","ts":2,"name":"x"}'
	assert_equal "$(jq -r .type <<<"$output" | grep -c '^settings$')" 0
	assert_equal "$(jq -r .type <<<"$output" | sed -n 3p)" machine
	# a rendered format carries no records
	run pgx-tune --format flags --memory 2GB --cpus 4 <"$BATS_TEST_TMPDIR/in.ndjson"
	assert_success
	refute_output --partial '"type"'
}

@test "invalid input lines are exit 3 with FILE:LINE, and the recommendations are still written" {
	printf '{"type":"x","ts":1}\nnot json\n{"type":"settings","ts":1,"settings":7}\n' >"$BATS_TEST_TMPDIR/bad.ndjson"
	run --separate-stderr pgx-tune --memory 2GB --cpus 4 "$BATS_TEST_TMPDIR/bad.ndjson"
	assert_failure 3
	[[ "$stderr" == *"bad.ndjson:2: "* ]] || fail "stderr: $stderr"
	[[ "$stderr" == *'bad.ndjson:3: settings record without a "settings" array'* ]] || fail "stderr: $stderr"
	assert_equal "$(jq -r .type <<<"$output" | sort | uniq -c | awk '{print $2":"$1}' | tr '\n' ' ')" \
		"machine:1 recommendation:19 x:1 "
}

@test "bad options are exit 2 with one clear error line" {
	for args in "--profile fast" "--memory lots" "--memory 1MB" "--storage floppy" "--cpus 0" "--db-size huge" \
		"--pg-version 9" "--max-connections 5" "--format yaml" "--root /nonexistent/pgx"; do
		run pgx-tune $args </dev/null
		assert_failure 2
		[[ "${lines[0]}" == "pgx-tune: error: "* ]] || fail "$args: ${lines[0]}"
		assert_line --index 1 "Try 'pgx-tune --help' for more information."
	done
	run pgx-tune --profile fast </dev/null
	assert_line --index 0 'pgx-tune: error: unknown profile "fast" (use web, oltp, dw, desktop, mixed, auto or conservative)'
}

@test "RAM outside pgtune's range is warned about on stderr, not in the records" {
	run --separate-stderr pgx-tune --memory 128MB --cpus 1 </dev/null
	assert_success
	assert_equal "$stderr" "pgx-tune: warning: 128MB of memory is below the 256MB pgtune's formulas are made for"
	run --separate-stderr pgx-tune --memory 256MB --cpus 1 --profile auto </dev/null
	assert_equal "$stderr" "pgx-tune: warning: 256MB of memory is below the 512MB the aza-pg auto-configuration requires"
}

@test "a closed stdout is exit 6" {
	run bash -c 'exec 3>&1; pgx-tune --memory 2GB --cpus 4 </dev/null >&- 2>/dev/null; echo $?'
	assert_output 6
}

@test "pgx-tune does not leak under valgrind" {
	require_valgrind pgx-tune
	settings_record >"$BATS_TEST_TMPDIR/settings.ndjson"
	run valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		pgx-tune --all --memory 2GB --cpus 4 --format table "$BATS_TEST_TMPDIR/settings.ndjson"
	assert_success
	run valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		pgx-tune --memory 2GB -d "$PGX_PG_DSN" </dev/null
	assert_success
}
