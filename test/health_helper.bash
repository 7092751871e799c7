# Helpers for test/health.bats: a real Alertmanager and a webhook receiver on
# 127.0.0.1 free ports, in temp dirs, stopped in teardown.
ALERTMANAGER_BIN="${ALERTMANAGER_BIN:-/usr/bin/prometheus-alertmanager}"

wait_http() {
	local url="$1" i
	for i in $(seq 1 100); do
		curl -sf -o /dev/null "$url" && return 0
		sleep 0.1
	done
	echo "not answering: $url" >&2
	return 1
}

# Exports AM_URL (http://127.0.0.1:PORT) and AM_DIR.
am_start() {
	[ -x "$ALERTMANAGER_BIN" ] || skip "prometheus-alertmanager not installed"
	AM_DIR="$(mktemp -d /tmp/pgx-am.XXXXXX)"
	AM_PORT="${ALERTMANAGER_PORT:-$(free_port)}"
	cat >"$AM_DIR/alertmanager.yml" <<-'YML'
	route:
	  receiver: "null"
	  group_wait: 1s
	receivers:
	  - name: "null"
	YML
	"$ALERTMANAGER_BIN" --config.file="$AM_DIR/alertmanager.yml" \
		--web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= \
		--storage.path="$AM_DIR/data" >"$AM_DIR/log" 2>&1 3>&- &
	AM_PID=$!
	AM_URL="http://127.0.0.1:$AM_PORT"
	export AM_DIR AM_URL AM_PID
	wait_http "$AM_URL/-/ready" || { cat "$AM_DIR/log" >&2; return 1; }
}

am_stop() {
	[ -n "${AM_PID:-}" ] && kill "$AM_PID" 2>/dev/null && wait "$AM_PID" 2>/dev/null
	[ -n "${AM_DIR:-}" ] && rm -rf "$AM_DIR"
	unset AM_PID AM_DIR
	return 0
}

# Alerts Alertmanager holds, active or not: "alertname severity state" lines.
am_alerts() {
	curl -sf "$AM_URL/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true" |
		jq -r '.[] | "\(.labels.alertname) \(.labels.severity) \(.status.state) \(.endsAt)"'
}

# Wait until something listens on 127.0.0.1:$1.
wait_port() {
	local i
	for i in $(seq 1 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing listens on port $1" >&2
	return 1
}

# A receiver on HOOK_PORT appending "PATH BODY" lines to HOOK_FILE.
hook_start() {
	HOOK_PORT="${1:-$(free_port)}"
	HOOK_FILE="${HOOK_FILE:-$BATS_TEST_TMPDIR/hook.log}"
	python3 "$PGX_TEST_DIR/webhook_receiver.py" "$HOOK_PORT" "$HOOK_FILE" 3>&- &
	HOOK_PID=$!
	export HOOK_PORT HOOK_FILE HOOK_PID
	wait_port "$HOOK_PORT"
}

hook_stop() {
	[ -n "${HOOK_PID:-}" ] && kill "$HOOK_PID" 2>/dev/null && wait "$HOOK_PID" 2>/dev/null
	unset HOOK_PID
	return 0
}
