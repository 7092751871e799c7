# Helpers for test/poll_storage.bats: a streaming replica of the harness
# cluster and one-section polls.

# A physical replica of the harness cluster made with pg_basebackup -R (and
# a replication slot), as postgres, on another free port with its socket in
# its own temp dir.  Exports REPLICA_DIR, REPLICA_PORT, REPLICA_DSN.
replica_start() {
	REPLICA_DIR="$(mktemp -d /tmp/pgx-replica.XXXXXX)"
	REPLICA_PORT="$(free_port)"
	chmod 755 "$REPLICA_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$REPLICA_DIR"
	as_pg_owner "$PG_BINDIR/pg_basebackup" -h "$PGX_PG_SOCKDIR" -p "$PGX_PG_PORT" -U postgres \
		-D "$REPLICA_DIR/data" -R -X stream -c fast -C -S pollst_replica --no-sync \
		>"$REPLICA_DIR/basebackup.log" 2>&1 || { cat "$REPLICA_DIR/basebackup.log" >&2; return 1; }
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$REPLICA_DIR/data" -l "$REPLICA_DIR/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -c port=$REPLICA_PORT -c unix_socket_directories=$REPLICA_DIR \
		    -c logging_collector=off -c hot_standby=on" \
		start >/dev/null || { cat "$REPLICA_DIR/server.log" >&2; return 1; }
	REPLICA_DSN="host=$REPLICA_DIR port=$REPLICA_PORT user=mon dbname=postgres"
	export REPLICA_DIR REPLICA_PORT REPLICA_DSN
}

replica_stop() {
	[ -n "${REPLICA_DIR:-}" ] || return 0
	as_pg_owner "$PG_BINDIR/pg_ctl" -D "$REPLICA_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$REPLICA_DIR"
	unset REPLICA_DIR
	psql_q -c "SELECT pg_drop_replication_slot('pollst_replica')
	             FROM pg_replication_slots WHERE slot_name = 'pollst_replica'" >/dev/null 2>&1 || true
}

# poll_section DSN SECTION [ARGS...]: pgx-poll --once for one section into
# $output (stderr apart), bounded by a timeout so a hang fails the test.
poll_section() {
	local dsn="$1" section="$2"
	shift 2
	run --separate-stderr timeout 60 pgx-poll -d "$dsn" --sections "$section" "$@"
}

# The one record of type $1 in $output, compact.
section_record() {
	jq -c --arg t "$1" 'select(.type == $t)' <<<"$output"
}

# jq_true RECORD FILTER: the filter holds for the record (shown on failure).
jq_true() {
	jq -e "$2" <<<"$1" >/dev/null || fail "not true: $2 in $1"
}
