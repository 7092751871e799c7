# Helpers for test/poll_storage.bats: a streaming replica of the harness
# cluster and one-section polls.

# A physical replica of the harness cluster made with pg_basebackup -R (and
# a replication slot), as postgres, on another free port with its socket in
# its own temp dir.  Exports REPLICA_DIR, REPLICA_PORT, REPLICA_DSN.
replica_start() {
	pg_replica pollst_replica "-c hot_standby=on" || return 1
	REPLICA_DSN="host=$REPLICA_DIR port=$REPLICA_PORT user=mon dbname=postgres"
	export REPLICA_DSN
}

replica_stop() {
	[ -n "${REPLICA_DIR:-}" ] || return 0
	pg_replica_stop
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
