# docker_helper.bash - a dockerd and the pgx test image for the bats files.
# shellcheck shell=bash disable=SC2034  # BG_STATUS and BG_CAT are read by docker.bats
# docker_setup (from setup_file) starts dockerd when none answers and builds
# the test image when it is missing or stale; docker_teardown (from
# teardown_file) stops the daemon when a harness started it and no other bats
# file on this machine still uses it.  The harness may use the docker CLI;
# pgx-docker itself never does.

PGX_TEST_IMAGE="${PGX_TEST_IMAGE:-pgx-test/postgres:${PGX_TEST_PG_VERSION:-15}}"
PGX_DOCKERD_LOG="${PGX_DOCKERD_LOG:-/tmp/pgx-dockerd.log}"
# Shared by every bats run on the machine: a lock, the pid of a dockerd that
# a harness started, and one file per bats file that uses the daemon.
PGX_DOCKERD_RUN="${PGX_DOCKERD_RUN:-/run/pgx-dockerd}"

docker_alive() {
	timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Bridge, iptables and ip6tables off: containers use host networking only.
# The daemon must not inherit the lock (fd 9) or bats' output (fd 3).
dockerd_start() {
	local pid
	command -v dockerd >/dev/null || { echo "dockerd not installed (docker.io)" >&2; return 1; }
	setsid dockerd --bridge=none --iptables=false --ip6tables=false \
		--host unix:///var/run/docker.sock >"$PGX_DOCKERD_LOG" 2>&1 </dev/null 3>&- 9>&- &
	pid=$!
	echo "$pid" >"$PGX_DOCKERD_RUN/pid"
	for _ in $(seq 1 120); do
		docker_alive && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	echo "dockerd did not come up; its log:" >&2
	tail -n 20 "$PGX_DOCKERD_LOG" >&2
	rm -f "$PGX_DOCKERD_RUN/pid"
	return 1
}

dockerd_stop() {
	local pid
	[ -s "$PGX_DOCKERD_RUN/pid" ] || return 0
	pid="$(cat "$PGX_DOCKERD_RUN/pid")"
	rm -f "$PGX_DOCKERD_RUN/pid"
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 60); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.5
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# Cached by tag and recipe: a second run finds the image and skips debootstrap;
# a changed entrypoint or build script (for 13 and 17 also pgroot.sh) rebuilds it.
# The tag follows PGX_TEST_PG_VERSION: pgx-test/postgres:13, :15 or :17.
test_image_build() {
	local want have old
	want="$("$PGX_TEST_DIR/image/build.sh" --hash "$PGX_TEST_IMAGE")"
	have="$(docker image inspect -f '{{index .Config.Labels "org.pgx.recipe"}}' \
		"$PGX_TEST_IMAGE" 2>/dev/null)" || have=""
	[ -n "$have" ] && [ "$have" = "$want" ] && return 0
	old="$(docker image inspect -f '{{.Id}}' "$PGX_TEST_IMAGE" 2>/dev/null)" || old=""
	echo "# building $PGX_TEST_IMAGE (15: debootstrap, about a minute; 13, 17: from pgroot.sh's tree)" >&3
	"$PGX_TEST_DIR/image/build.sh" "$PGX_TEST_IMAGE" || return 1
	# The stale image lost its tag; drop it rather than leave 400 MB behind.
	[ -z "$old" ] || docker rmi "$old" >/dev/null 2>&1 || true
}

docker_setup() {
	mkdir -p "$PGX_DOCKERD_RUN/users" || return 1
	(
		flock 9
		: >"$PGX_DOCKERD_RUN/users/$$"
		docker_alive || dockerd_start || exit 1
		test_image_build
	) 9>"$PGX_DOCKERD_RUN/lock"
}

# The last user of a harness-started daemon stops it.
docker_teardown() {
	local f
	[ -d "$PGX_DOCKERD_RUN/users" ] || return 0
	(
		flock 9
		rm -f "$PGX_DOCKERD_RUN/users/$$"
		for f in "$PGX_DOCKERD_RUN"/users/*; do
			[ -e "$f" ] || continue
			kill -0 "${f##*/}" 2>/dev/null || rm -f "$f"
		done
		[ -n "$(ls -A "$PGX_DOCKERD_RUN/users")" ] || dockerd_stop
	) 9>"$PGX_DOCKERD_RUN/lock"
}

# The container a test names, removed whatever the test did.
docker_remove_container() {
	docker rm -fv "$1" >/dev/null 2>&1 || true
}

# Wait until FILE holds a record that the jq filter selects.
wait_for_record() {
	local file="$1" filter="$2" seconds="${3:-120}"
	for _ in $(seq 1 $((seconds * 10))); do
		[ -n "$(jq -c "$filter" "$file" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	echo "no record matching '$filter' in $file after ${seconds}s:" >&2
	cat "$file" >&2
	return 1
}

# Run pgx-docker in the background with its records going to FILE as they
# come: through a pipe, where pgx_emit flushes every record (a plain file
# would be block-buffered).  Sets BG_PID (pgx-docker) and BG_CAT.
pgx_docker_bg() {
	local file="$1"
	shift
	mkfifo "$file.fifo"
	cat "$file.fifo" >"$file" &
	BG_CAT=$!
	timeout 300 pgx-docker "$@" >"$file.fifo" 2>"$file.err" &
	BG_PID=$!
}

# Wait for the background pgx-docker; its exit status in BG_STATUS.
pgx_docker_bg_wait() {
	BG_STATUS=0
	wait "$BG_PID" || BG_STATUS=$?
	wait "$BG_CAT" || true
}

cgroup2_mount() {
	findmnt -n -t cgroup2 -o TARGET | head -n1
}
