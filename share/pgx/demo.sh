#!/usr/bin/env bash
# pgx demo: profile the startup of a throwaway PostgreSQL 15 in a temp dir.
#
# initdb + start + a first query, traced by pgx-trace when run as root (eBPF),
# its log matched by pgx-logmatch, then summarised with jq.  Everything it
# creates lives in one temp dir, removed on the way out.
set -euo pipefail

pg_bindir="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
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

# The subject: what a container entrypoint does, minus the container.
cat >"$work/start.sh" <<SCRIPT
set -e
"$pg_bindir/initdb" -D "$work/data" -U postgres -A trust 2>&1
"$pg_bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
	-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$work -c log_line_prefix='%m [%p] '" start >/dev/null
"$pg_bindir/psql" -X -q -h "$work" -p "$port" -U postgres -c 'CREATE EXTENSION pg_stat_statements' postgres
SCRIPT
chmod 755 "$work/start.sh"

echo "pgx demo: starting a throwaway PostgreSQL 15 in $work"
if [ "$(id -u)" = 0 ] && command -v pgx-trace >/dev/null; then
	# initdb's output lines become log records, timed as pgx-trace reads them
	pgx-trace --filter-open '*postgresql*' -- "${as_owner[@]}" sh "$work/start.sh" >"$work/trace.ndjson"
else
	echo "pgx demo: not root, so no eBPF trace (run as root to see every exec and open)"
	"${as_owner[@]}" sh "$work/start.sh" >"$work/trace.ndjson"
fi
cat "$work/trace.ndjson" "$work/server.log" | pgx-logmatch --only-matching |
	jq -s -r -f "$(dirname "$0")/demo-summary.jq"
