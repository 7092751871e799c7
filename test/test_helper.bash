# Shared bats helpers: load with `load test_helper` from test/*.bats.
bats_require_minimum_version 1.5.0
bats_load_library bats-support 2>/dev/null || load /usr/lib/bats/bats-support/load.bash
bats_load_library bats-assert 2>/dev/null || load /usr/lib/bats/bats-assert/load.bash

PGX_TEST_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PGX_FIXTURES="$PGX_TEST_DIR/fixtures"
export LC_ALL=C.UTF-8 TZ=UTC

# The PostgreSQL major the tests run against: the host's 15, or 13 and 17 from
# Debian trees built by test/image/pgroot.sh (root only).  $PG_BINDIR is the
# server's bin directory either way; for 13 and 17 it holds wrappers that run
# the tree's programs as postgres (psql is the host's, it speaks to both).
PGX_TEST_PG_VERSION="${PGX_TEST_PG_VERSION:-15}"
pg_version_bindir() {
	local v="$PGX_TEST_PG_VERSION" dir prog
	if [ "$v" = 15 ]; then
		echo "${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
		return
	fi
	dir="${BATS_RUN_TMPDIR:-/tmp}/pg$v-bin"
	if [ ! -x "$dir/pg_ctl" ]; then
		[ "$(id -u)" = 0 ] || { echo "PostgreSQL $v tests need root (a chroot)" >&2; return 1; }
		"$PGX_TEST_DIR/image/pgroot.sh" build "$v" >/dev/null || return 1
		mkdir -p "$dir.tmp.$$"
		for prog in initdb pg_ctl postgres pg_controldata pg_basebackup pg_isready pg_resetwal; do
			printf '#!/bin/sh\nexec %q run %s /usr/lib/postgresql/%s/bin/%s "$@"\n' \
				"$PGX_TEST_DIR/image/pgroot.sh" "$v" "$v" "$prog" >"$dir.tmp.$$/$prog"
			chmod 755 "$dir.tmp.$$/$prog"
		done
		ln -s /usr/lib/postgresql/15/bin/psql "$dir.tmp.$$/psql"
		mv -T "$dir.tmp.$$" "$dir" 2>/dev/null || rm -rf "$dir.tmp.$$"
	fi
	echo "$dir"
}
PG_BINDIR="$(pg_version_bindir)" || PG_BINDIR=/nonexistent

# Skip a test whose feature the server under test does not have:
# pg_skip_below 15 "jsonlog".
pg_skip_below() {
	[ "$PGX_TEST_PG_VERSION" -ge "$1" ] || skip "$2 needs PostgreSQL $1 (testing $PGX_TEST_PG_VERSION)"
}

# make check sets PGX_VALIDATE_DIR: every pgx command copies the records it
# builds there, checked against share/pgx/records.yaml once the tests ran.
# Each test gets its own folder, so a bad record names the test that made it.
if [ -n "${PGX_VALIDATE_DIR:-}" ]; then
	export PGX_VALIDATE_ROOT="${PGX_VALIDATE_ROOT:-$PGX_VALIDATE_DIR}"
	export PGX_VALIDATE_DIR="$PGX_VALIDATE_ROOT/$(basename "${BATS_TEST_FILENAME:-bats}" .bats)-${BATS_TEST_NUMBER:-file}"
	mkdir -p "$PGX_VALIDATE_DIR" && chmod 1777 "$PGX_VALIDATE_DIR"
fi

# Skip a test that needs root (eBPF, cgroups, dockerd); CI runs as root.
require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (${1:-privileged operation})"
}

# A TCP port on 127.0.0.1 that nothing listens on, below the kernel's range
# for outgoing connections' local ports: a port bind() picks from that range
# can be taken by any connection made before the server that was to have it
# binds (Patroni's REST port was, while etcd started).  Ports handed out in
# this run are not handed out again.
free_port() {
	python3 - "${BATS_RUN_TMPDIR:-${TMPDIR:-/tmp}}/pgx-test-ports" <<'PY'
import fcntl, random, socket, sys

with open(sys.argv[1], "a+") as used_file:
    fcntl.flock(used_file, fcntl.LOCK_EX)
    used_file.seek(0)
    used = set(used_file.read().split())
    with open("/proc/sys/net/ipv4/ip_local_port_range") as r:
        low = int(r.read().split()[0])
    for port in random.sample(range(10000, low), min(200, max(low - 10000, 0))):
        if str(port) in used:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        break
    else:	# no room below the range: let the kernel choose
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    used_file.write(f"{port}\n")
print(port)
PY
}

# Run as the cluster owner: PostgreSQL refuses to run as root.
as_pg_owner() {
	if [ "$PGX_TEST_PG_VERSION" != 15 ] && [ "${1%/*}" = "$PG_BINDIR" ]; then
		"$@"	# the tree's wrappers switch to postgres themselves
	elif [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# initdb costs seconds; pg_start copies one data directory made once per bats
# run instead (the clusters then share a system identifier; ports tell them apart).
pg_template() {
	local tpl="$BATS_RUN_TMPDIR/pg-template-$PGX_TEST_PG_VERSION" tmp
	(
		flock 9
		[ -d "$tpl" ] && exit 0
		tmp="$(mktemp -d /tmp/pgx-pg-template.XXXXXX)"
		chmod 755 "$tmp"
		[ "$(id -u)" = 0 ] && chown postgres: "$tmp"
		as_pg_owner "$PG_BINDIR/initdb" -D "$tmp/data" -U postgres -A trust --no-sync \
			>"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; rm -rf "$tmp"; exit 1; }
		mv "$tmp/data" "$tpl" && rm -rf "$tmp"
	) 9>"$BATS_RUN_TMPDIR/pg-template-$PGX_TEST_PG_VERSION.lock"
}

# Start a throwaway PostgreSQL ($PGX_TEST_PG_VERSION) in a temp dir: Unix socket
# in that dir plus 127.0.0.1 on a free port, pg_stat_statements preloaded, stderr
# and jsonlog (csvlog before 15: postgresql.csv) logs under $PGX_PG_DIR/log;
# both carry each line's application_name.  Exports PGX_PG_DIR, PGX_PG_PORT, PGX_PG_SOCKDIR,
# PGX_PG_DSN and the PG* variables for psql.  Extra server flags: $1.
# Before 15 the statistics collector creates a database's entry (and sets its
# stats_reset) on the first counters it receives, up to 0.5 s after a session
# sent them: a --delta sample taken before that sees a reset.  Wait for it.
pg_stats_settled() {
	local i
	[ "$PGX_TEST_PG_VERSION" -lt 15 ] || return 0
	for i in $(seq 1 100); do
		[ "$(psql_q -c "SELECT stats_reset IS NOT NULL FROM pg_stat_database WHERE datname = current_database()")" = t ] &&
			return 0
		sleep 0.1
	done
	fail "the statistics collector never created the database's entry"
}

# The pg_stat_statements version the server under test ships.
pg_pgss_version() {
	case "$PGX_TEST_PG_VERSION" in 13) echo 1.8 ;; 14) echo 1.9 ;; 15) echo 1.10 ;; *) echo 1.11 ;; esac
}

# Every log destination the server under test has, and the file each writes.
pg_all_log_destinations() {
	if [ "$PGX_TEST_PG_VERSION" -ge 15 ]; then echo stderr,csvlog,jsonlog; else echo stderr,csvlog; fi
}
pg_all_log_files() {
	if [ "$PGX_TEST_PG_VERSION" -ge 15 ]; then echo postgresql.log postgresql.csv postgresql.json
	else echo postgresql.log postgresql.csv; fi
}

pg_structured_log() {
	if [ "$PGX_TEST_PG_VERSION" -ge 15 ]; then echo jsonlog; else echo csvlog; fi
}

pg_start() {
	local extra="${1:-}"
	PGX_PG_DIR="$(mktemp -d /tmp/pgx-pg.XXXXXX)"
	PGX_PG_PORT="$(free_port)"
	PGX_PG_SOCKDIR="$PGX_PG_DIR"
	chmod 755 "$PGX_PG_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$PGX_PG_DIR"
	pg_template || return 1
	cp -a "$BATS_RUN_TMPDIR/pg-template-$PGX_TEST_PG_VERSION" "$PGX_PG_DIR/data"
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PGX_PG_DIR/data" -l "$PGX_PG_DIR/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -c port=$PGX_PG_PORT -c unix_socket_directories=$PGX_PG_SOCKDIR \
		    -c shared_preload_libraries=pg_stat_statements -c logging_collector=on \
		    -c log_destination=stderr,$(pg_structured_log) -c log_directory=$PGX_PG_DIR/log \
		    -c log_filename=postgresql.log -c log_line_prefix='%m [%p] ' -c fsync=off $extra" \
		start >/dev/null || { cat "$PGX_PG_DIR/server.log" >&2; return 1; }
	PGX_PG_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=postgres dbname=postgres"
	export PGX_PG_DIR PGX_PG_PORT PGX_PG_SOCKDIR PGX_PG_DSN
	export PGHOST="$PGX_PG_SOCKDIR" PGPORT="$PGX_PG_PORT" PGUSER=postgres PGDATABASE=postgres
	# Before 15 every role may CREATE in public, and pgx-poll refuses a role
	# that can write: the suites' monitoring roles get 15's default.
	if [ "$PGX_TEST_PG_VERSION" -lt 15 ]; then
		psql_q -d template1 -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" &&
			psql_q -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" || return 1
	fi
}

# pg_replica SLOT [FLAGS]: a streaming hot standby of the pg_start cluster
# (pg_basebackup -R, physical slot SLOT) on a free port, its socket in its own
# temp dir; extra server FLAGS.  Exports REPLICA_DIR and REPLICA_PORT;
# pg_replica_stop tears it down.
pg_replica() {
	REPLICA_DIR="$(mktemp -d /tmp/pgx-replica.XXXXXX)"
	REPLICA_PORT="$(free_port)"
	export REPLICA_DIR REPLICA_PORT
	chmod 755 "$REPLICA_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$REPLICA_DIR"
	as_pg_owner "$PG_BINDIR/pg_basebackup" -h "$PGX_PG_SOCKDIR" -p "$PGX_PG_PORT" -U postgres \
		-D "$REPLICA_DIR/data" -R -X stream -c fast -C -S "$1" --no-sync \
		>"$REPLICA_DIR/basebackup.log" 2>&1 || { cat "$REPLICA_DIR/basebackup.log" >&2; return 1; }
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$REPLICA_DIR/data" -l "$REPLICA_DIR/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -c port=$REPLICA_PORT -c unix_socket_directories=$REPLICA_DIR \
		    -c logging_collector=off ${2:-}" \
		start >/dev/null || { cat "$REPLICA_DIR/server.log" >&2; return 1; }
}

pg_replica_stop() {
	[ -n "${REPLICA_DIR:-}" ] || return 0
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$REPLICA_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$REPLICA_DIR"
	unset REPLICA_DIR
}

pg_stop() {
	[ -n "${PGX_PG_DIR:-}" ] || return 0
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PGX_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$PGX_PG_DIR"
	unset PGX_PG_DIR
}

psql_q() {
	"$PG_BINDIR/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

# Every line of $output is at most 80 columns (characters, not bytes).
assert_80_columns() {
	local line n=0
	while IFS= read -r line; do
		n=$((n + 1))
		[ "${#line}" -le 80 ] || fail "line $n has ${#line} columns: $line"
	done <<<"$output"
	[ "$n" -gt 10 ] || fail "only $n lines"
}

# Every command answers --help and --version, and rejects a bad option with 2.
assert_standard_options() {
	local cmd="$1"
	run "$cmd" --help
	assert_success
	assert_output --partial "Usage:"
	run "$cmd" -h
	assert_success
	assert_output --partial "Usage:"
	# a help or version nobody could read is a write error, exit 6
	run sh -c '"$1" --help >/dev/full' sh "$cmd"
	assert_failure 6
	run sh -c '"$1" --version >/dev/full' sh "$cmd"
	assert_failure 6
	run "$cmd" --version
	assert_success
	assert_output --regexp "^$cmd \(pgx\) [0-9]+\.[0-9]+\.[0-9]+$"
	run "$cmd" --no-such-option
	assert_failure 2
	assert_output --partial "Try '$cmd --help'"
}

# The options in --help, the man page and the bash completion agree.
assert_options_documented() {
	local cmd="$1" opt
	local help_opts man_opts comp_opts
	help_opts="$("$cmd" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)"
	man_opts="$(grep -oE -- 'Fl -[a-z][a-z0-9-]+' "$PGX_TEST_DIR/../man/$cmd.1" |
		sed -E 's/^Fl -/--/' | sort -u)"
	comp_opts="$(grep -oE -- '--[a-z][a-z0-9-]+' "$PGX_TEST_DIR/../completions/$cmd" | sort -u)"
	for opt in $help_opts; do
		grep -qx -- "$opt" <<<"$man_opts" || fail "$cmd: $opt in --help but not in man/$cmd.1"
		grep -qx -- "$opt" <<<"$comp_opts" || fail "$cmd: $opt in --help but not in completions/$cmd"
	done
}

# valgrind runs the plain build only; a sanitizer build checks leaks itself.
require_valgrind() {
	command -v valgrind >/dev/null || skip "valgrind not installed"
	! ldd "$(command -v "$1")" | grep -q libasan || skip "a sanitizer build (ASan checks leaks there)"
}

# Run a shell command line with stdout and stderr on a terminal of its own
# (script(1)); $output is what the terminal showed.
run_on_terminal() {
	run script -qec "$1" /dev/null
}
