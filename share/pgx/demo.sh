#!/usr/bin/env bash
# pgx demo: profile the startup of a throwaway PostgreSQL 15 in a temp dir.
#
# The subject does what an image's entrypoint does: initdb, a temporary
# server, one init script (an extension and a table), stop, the final server.
# As root it runs under pgx-trace (eBPF: every exec and exit); otherwise the
# profile comes from log lines only.  Then:
#   pgx-logmatch | pgx-timeline | pgx-report (table, and an SVG timeline)
# and, on the running server, pgx-poll | pgx-report (table, HTML) and pgx-tune.
# Everything but the SVG lives in one temp dir, removed on the way out.
set -euo pipefail

pg_bindir="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
out_dir="${PGX_DEMO_OUT:-$PWD}"
work="$(mktemp -d /tmp/pgx-demo.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
chmod 755 "$work"
as_owner=()
if [ "$(id -u)" = 0 ]; then
	chown postgres: "$work"
	as_owner=(runuser -u postgres --)
fi

cleanup() {
	"${as_owner[@]}" "$pg_bindir/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/initdb.d"
cat >"$work/initdb.d/01-init.sql" <<'SQL'
CREATE EXTENSION pg_stat_statements;
CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric NOT NULL DEFAULT 0);
INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 100000) g;
SQL
cat >"$work/start.sh" <<SCRIPT
set -e
pg="$pg_bindir"
"\$pg/initdb" -D "$work/data" -U postgres -A trust 2>&1
opts="-c port=$port -c unix_socket_directories=$work -c log_line_prefix='%m [%p] ' -c log_statement=ddl -c shared_preload_libraries=pg_stat_statements"
"\$pg/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "-c listen_addresses= \$opts" start
for f in "$work"/initdb.d/*.sql; do
	echo "demo: running \$f"
	"\$pg/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p $port -U postgres -f "\$f" postgres
done
"\$pg/pg_ctl" -D "$work/data" -m fast -w stop
"\$pg/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "-c listen_addresses=127.0.0.1 \$opts" start
SCRIPT
chown -R "$(stat -c %U "$work")" "$work/initdb.d"

echo "pgx demo: starting a throwaway PostgreSQL 15 in $work"
if [ "$(id -u)" = 0 ] && pgx-trace --version >/dev/null 2>&1; then
	pgx-trace --no-open -- "${as_owner[@]}" sh "$work/start.sh" >"$work/events.ndjson" 2>"$work/trace.err" ||
		{ cat "$work/trace.err" >&2; exit 1; }
else
	echo "pgx demo: not root: no eBPF trace, so phases and scripts come from log lines only"
	# pgx-logmatch reads the output as it is written: lines without a time
	# of their own (initdb's) are stamped when they appear
	"${as_owner[@]}" sh "$work/start.sh" | pgx-logmatch >"$work/events.ndjson"
fi
cat "$work/events.ndjson" "$work/server.log" | pgx-logmatch | pgx-timeline -i "$work/initdb.d" -d \
	>"$work/profile.ndjson" || true
status=0
pgx-report --format table "$work/profile.ndjson" || status=$?
mkdir -p "$out_dir"
pgx-report --format svg -o "$out_dir/pgx-demo-profile.svg" "$work/profile.ndjson" 2>/dev/null || true
echo "pgx demo: SVG timeline written to $out_dir/pgx-demo-profile.svg"

# The same server, now running: a health snapshot as a read-only monitoring
# role (pgx-poll refuses a superuser), then settings recommended for this host.
echo
echo "pgx demo: a health snapshot of the running server, as a pg_monitor role"
"${as_owner[@]}" "$pg_bindir/psql" -X -q -h "$work" -p "$port" -U postgres postgres \
	-c "CREATE ROLE pgx_monitor LOGIN; GRANT pg_monitor TO pgx_monitor"
pgx-poll -d "host=$work port=$port user=pgx_monitor dbname=postgres" --with-sql \
	>"$work/health.ndjson" || status=$?
pgx-report --format table "$work/health.ndjson" || status=$?
pgx-report --format html -o "$out_dir/pgx-demo-health.html" "$work/health.ndjson" || status=$?
echo "pgx demo: health report written to $out_dir/pgx-demo-health.html"
echo
echo "pgx demo: settings recommended for this host (pgx-tune, oltp profile)"
pgx-tune --profile oltp --format table <"$work/health.ndjson" || status=$?
exit "$status"
