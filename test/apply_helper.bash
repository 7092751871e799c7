# Patroni + etcd harness for test/apply.bats: one etcd and one Patroni-managed
# PostgreSQL 15, all on 127.0.0.1 free ports in a temp dir, torn down by
# patroni_stop.  Load after test_helper.

# Wait until CMD succeeds, at most $1 seconds.
wait_for() {
	local secs="$1" i
	shift
	for ((i = 0; i < secs * 4; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	return 1
}

# Start etcd (v2 API, which Debian's patroni speaks through python3-etcd) and
# Patroni bootstrapping its own cluster; PGX_PAT_AUTH=user:password makes its
# REST API ask for them on changes.  Exports PGX_PAT_DIR, PGX_PAT_URL
# (REST API), PGX_PAT_DSN, PGX_PAT_DATA.
patroni_start() {
	command -v patroni >/dev/null || skip "patroni not installed"
	command -v etcd >/dev/null || skip "etcd-server not installed"
	# Patroni runs as postgres; entering the 13 or 17 tree (pgroot.sh) needs root
	[ "$PGX_TEST_PG_VERSION" = 15 ] ||
		skip "Patroni runs the host's PostgreSQL 15 only (testing $PGX_TEST_PG_VERSION)"
	PGX_PAT_DIR="$(mktemp -d /tmp/pgx-patroni.XXXXXX)"
	chmod 755 "$PGX_PAT_DIR"
	local etcd_client etcd_peer rest pgport
	etcd_client="$(free_port)" etcd_peer="$(free_port)" rest="$(free_port)" pgport="$(free_port)"
	etcd --name pgx-test --data-dir "$PGX_PAT_DIR/etcd" --enable-v2=true \
		--listen-client-urls "http://127.0.0.1:$etcd_client" \
		--advertise-client-urls "http://127.0.0.1:$etcd_client" \
		--listen-peer-urls "http://127.0.0.1:$etcd_peer" \
		--initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
		--initial-cluster "pgx-test=http://127.0.0.1:$etcd_peer" \
		>"$PGX_PAT_DIR/etcd.log" 2>&1 &
	echo $! >"$PGX_PAT_DIR/etcd.pid"
	wait_for 30 curl -sf "http://127.0.0.1:$etcd_client/health" ||
		{ cat "$PGX_PAT_DIR/etcd.log" >&2; return 1; }
	mkdir -p "$PGX_PAT_DIR/sock"
	cat >"$PGX_PAT_DIR/patroni.yml" <<YAML
scope: pgx-test-$$
name: node1
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
$(patroni_auth_yaml)
etcd:
  host: 127.0.0.1:$etcd_client
bootstrap:
  dcs:
    ttl: 30
    loop_wait: 2
    retry_timeout: 10
    postgresql:
      use_pg_rewind: false
      parameters:
        work_mem: 4MB
  initdb:
    - encoding: UTF8
    - auth: trust
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$pgport
  connect_address: 127.0.0.1:$pgport
  data_dir: $PGX_PAT_DIR/data
  bin_dir: $PG_BINDIR
  pgpass: $PGX_PAT_DIR/pgpass
  authentication:
    superuser:
      username: postgres
    replication:
      username: replicator
  parameters:
    unix_socket_directories: $PGX_PAT_DIR/sock
    fsync: off
YAML
	chown -R postgres: "$PGX_PAT_DIR"
	# patroni.pid is Patroni's own pid (runuser does not pass SIGTERM on).
	as_pg_owner sh -c 'echo $$ >"$1/patroni.pid"; HOME="$1" exec patroni "$1/patroni.yml"' \
		sh "$PGX_PAT_DIR" >"$PGX_PAT_DIR/patroni.log" 2>&1 &
	PGX_PAT_URL="http://127.0.0.1:$rest"
	PGX_PAT_DSN="host=$PGX_PAT_DIR/sock port=$pgport user=postgres dbname=postgres"
	PGX_PAT_DATA="$PGX_PAT_DIR/data"
	export PGX_PAT_DIR PGX_PAT_URL PGX_PAT_DSN PGX_PAT_DATA
	wait_for 90 patroni_is_leader || { tail -30 "$PGX_PAT_DIR/patroni.log" >&2; return 1; }
}

patroni_auth_yaml() {
	[ -n "${PGX_PAT_AUTH:-}" ] || return 0
	printf '  authentication:\n    username: %s\n    password: %s\n' "${PGX_PAT_AUTH%%:*}" "${PGX_PAT_AUTH#*:}"
}

patroni_is_leader() {
	curl -sf --max-time 2 "$PGX_PAT_URL/leader" >/dev/null &&
		psql_q -d "$PGX_PAT_DSN" -c 'SELECT 1' >/dev/null
}

# Stop Patroni (it stops its PostgreSQL), then etcd; kill what remains.
patroni_stop() {
	[ -n "${PGX_PAT_DIR:-}" ] || return 0
	local pid
	for f in patroni etcd; do
		[ -f "$PGX_PAT_DIR/$f.pid" ] || continue
		pid="$(cat "$PGX_PAT_DIR/$f.pid")"
		kill -TERM "$pid" 2>/dev/null || true
		wait_for 30 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
	done
	[ -f "$PGX_PAT_DIR/data/postmaster.pid" ] &&
		as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PGX_PAT_DIR/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$PGX_PAT_DIR"
	unset PGX_PAT_DIR
}

# A streaming hot standby of the pg_start cluster (pg_basebackup -R, a
# physical slot apply_replica), on its own socket dir and port.  Exports
# REPLICA_DIR and REPLICA_DSN; apply_replica_stop tears it down.
apply_replica_start() {
	pg_replica apply_replica || return 1
	REPLICA_DSN="host=$REPLICA_DIR port=$REPLICA_PORT user=postgres dbname=postgres"
	export REPLICA_DSN
	# attached: the primary counts one WAL sender
	wait_for 60 test "$(psql_q -c 'SELECT count(*) FROM pg_stat_replication')" = 1 ||
		{ cat "$REPLICA_DIR/server.log" >&2; return 1; }
}

apply_replica_stop() {
	pg_replica_stop
}
