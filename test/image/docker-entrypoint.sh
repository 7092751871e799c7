#!/bin/bash
# docker-entrypoint.sh - the pgx test image's entrypoint.  It follows the flow of
# the official postgres image: initdb, a temporary server on the Unix socket
# only, every file of /docker-entrypoint-initdb.d/ in order, stop, then exec the
# final server.  With an existing data directory it goes straight to the final
# server.  The final server listens on $POSTGRES_LISTEN (127.0.0.1) and $PGPORT.
set -Eeo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
: "${PGPORT:=5432}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_LISTEN:=127.0.0.1}"
export PGDATA PGPORT POSTGRES_USER POSTGRES_DB

log() {
	printf '%s\n' "$*"
}

# Run as root: make the directories PostgreSQL needs, then come back as postgres.
prepare_dirs_as_root() {
	mkdir -p "$PGDATA" /var/run/postgresql
	chmod 00700 "$PGDATA"
	chmod 03775 /var/run/postgresql
	chown -R postgres:postgres "$PGDATA" /var/run/postgresql
}

# The password goes to initdb in a file only postgres can read, removed at
# once: the imported image has no /dev/fd for a process substitution.
init_database_dir() {
	local auth=trust pwfile=() pwpath="" rc=0

	if [ -n "${POSTGRES_PASSWORD:-}" ]; then
		auth=scram-sha-256
		pwpath="$(mktemp)"
		printf '%s\n' "$POSTGRES_PASSWORD" >"$pwpath"
		pwfile=(--pwfile="$pwpath")
	fi
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words
	initdb --username="$POSTGRES_USER" --auth-local=trust --auth-host="$auth" \
		"${pwfile[@]}" ${POSTGRES_INITDB_ARGS:-} || rc=$?
	[ -z "$pwpath" ] || rm -f "$pwpath"
	[ "$rc" = 0 ] || exit "$rc"
	printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
}

temp_server_start() {
	# No TCP listener: nothing outside can connect before the final server.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p $PGPORT" -w start
}

temp_server_stop() {
	pg_ctl -D "$PGDATA" -m fast -w stop
}

psql_init() {
	psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --no-password \
		--dbname "$POSTGRES_DB" "$@"
}

create_db() {
	[ "$POSTGRES_DB" = postgres ] && return 0
	psql_init --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
		CREATE DATABASE :"db" ;
	EOSQL
}

# The official image's rules: *.sh executed if executable, else sourced;
# *.sql through psql; *.sql.gz/xz/zst decompressed into psql.
process_init_files() {
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		[ -e "$f" ] || continue
		case "$f" in
		*.sh)
			if [ -x "$f" ]; then
				log "$0: running $f"
				"$f"
			else
				log "$0: sourcing $f"
				# shellcheck disable=SC1090
				. "$f"
			fi
			;;
		*.sql) log "$0: running $f"; psql_init -f "$f"; log ;;
		*.sql.gz) log "$0: running $f"; gunzip -c "$f" | psql_init; log ;;
		*.sql.xz) log "$0: running $f"; xz -dc "$f" | psql_init; log ;;
		*.sql.zst) log "$0: running $f"; zstd -dc "$f" | psql_init; log ;;
		*) log "$0: ignoring $f" ;;
		esac
	done
}

main() {
	if [ "${1:0:1}" = - ]; then
		set -- postgres "$@"
	fi
	if [ "$1" != postgres ]; then
		exec "$@"
	fi
	if [ "$(id -u)" = 0 ]; then
		prepare_dirs_as_root
		exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
	fi
	if [ ! -s "$PGDATA/PG_VERSION" ]; then
		init_database_dir
		temp_server_start
		create_db
		process_init_files
		temp_server_stop
		log
		log "PostgreSQL init process complete; ready for start up."
		log
	else
		log
		log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
		log
	fi
	exec "$@" -c listen_addresses="$POSTGRES_LISTEN" -p "$PGPORT"
}

main "$@"
