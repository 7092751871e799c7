# Helpers for test/poll.bats: a monitoring role, sessions held open in the
# background, a PgBouncer in front of the harness cluster.

# A pg_monitor role (what pgx-poll is meant to run as) and its DSN.
poll_setup() {
	pg_start "${1:-}"
	psql_q -c "CREATE ROLE mon LOGIN; GRANT pg_monitor TO mon"
	MON_DSN="host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT user=mon dbname=postgres"
	HOLD_PIDS=() HOLD_FDS=()
}

poll_teardown() {
	release_sessions
	[ -n "${PGB_DIR:-}" ] && pgbouncer_stop
	pg_replica_stop
	pg_stop
}

# Run SQL in a psql session that stays open (idle, or waiting, in whatever
# it began) until release_sessions: its stdin is a fifo this shell holds.
hold_session() {
	local fifo fd
	fifo="$BATS_TEST_TMPDIR/hold.${#HOLD_PIDS[@]}"
	mkfifo "$fifo"
	"$PG_BINDIR/psql" -X -q "${2:-postgres}" <"$fifo" >>"$BATS_TEST_TMPDIR/hold.log" 2>&1 3>&- &
	HOLD_PIDS+=($!)
	exec {fd}>"$fifo"
	HOLD_FDS+=("$fd")
	echo "$1" >&"$fd"
}

release_sessions() {
	local fd pid
	for fd in "${HOLD_FDS[@]}"; do exec {fd}>&-; done
	for pid in "${HOLD_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
	HOLD_PIDS=() HOLD_FDS=()
}

# wait_for SECONDS SQL EXPECTED: until the query answers EXPECTED.
wait_for() {
	local deadline=$((SECONDS + $1))
	while [ "$SECONDS" -lt "$deadline" ]; do
		[ "$(psql_q -c "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	fail "waited $1 s for: $2 = $3 (got $(psql_q -c "$2"))"
}

# PgBouncer 127.0.0.1:$PGB_PORT in a temp dir, as postgres, mon a stats user.
pgbouncer_start() {
	PGB_DIR="$(mktemp -d /tmp/pgx-pgb.XXXXXX)"
	PGB_PORT="$(free_port)"
	cat >"$PGB_DIR/pgbouncer.ini" <<-INI
	[databases]
	postgres = host=$PGX_PG_SOCKDIR port=$PGX_PG_PORT dbname=postgres ${PGB_DB_OPTIONS:-}
	[pgbouncer]
	listen_addr = 127.0.0.1
	listen_port = $PGB_PORT
	unix_socket_dir =
	auth_type = trust
	auth_file = $PGB_DIR/userlist.txt
	stats_users = mon
	pidfile = $PGB_DIR/pgbouncer.pid
	logfile = $PGB_DIR/pgbouncer.log
	INI
	printf '"mon" ""\n' >"$PGB_DIR/userlist.txt"
	[ "$(id -u)" = 0 ] && chown -R postgres: "$PGB_DIR"
	as_pg_owner pgbouncer -d "$PGB_DIR/pgbouncer.ini" || { cat "$PGB_DIR/pgbouncer.log" >&2; return 1; }
	local i
	for i in $(seq 50); do
		"$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGB_PORT" -U mon -d pgbouncer -c "SHOW VERSION" \
			>/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$PGB_DIR/pgbouncer.log" >&2
	return 1
}

pgbouncer_stop() {
	[ -f "$PGB_DIR/pgbouncer.pid" ] && kill "$(cat "$PGB_DIR/pgbouncer.pid")" 2>/dev/null
	sleep 0.2
	rm -rf "$PGB_DIR"
	unset PGB_DIR
}

# The records of one type from $output.
records() {
	jq -c --arg t "$1" 'select(.type == $t)' <<<"$output"
}

# SHOW POOLS of the PgBouncer admin console for database postgres: column $1
pgb_pool() {
	"$PG_BINDIR/psql" -X -q -A -F' ' -h 127.0.0.1 -p "$PGB_PORT" -U mon -d pgbouncer -c "SHOW POOLS" |
		awk -v col="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i } $1 == "postgres" { print $c }'
}

# pgb_queue CLIENTS MAXWAIT: CLIENTS sessions through PgBouncer (as mon) to
# database postgres each sleep a minute; waits until all but one are queued
# behind a one-connection pool and the longest has waited MAXWAIT seconds.
# Their pids are added to BLOCKER_PIDS.
pgb_queue() {
	local i waiting=$(($1 - 1))
	for i in $(seq 1 "$1"); do
		"$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGB_PORT" -U mon -d postgres -c "SELECT pg_sleep(60)" \
			>/dev/null 2>&1 3>&- &
		BLOCKER_PIDS="${BLOCKER_PIDS:-} $!"
	done
	for i in $(seq 1 200); do
		[ "$(pgb_pool cl_waiting)" = "$waiting" ] && [ "$(pgb_pool maxwait)" -ge "$2" ] && return 0
		sleep 0.1
	done
	[ "$(pgb_pool cl_waiting)" = "$waiting" ] || fail "cl_waiting: $(pgb_pool cl_waiting)"
}

# polls FILE: how many poll records FILE holds so far (a line being written is not one)
polls() {
	jq -R 'fromjson? | select(.type == "poll") | 1' "$1" 2>/dev/null | wc -l
}
