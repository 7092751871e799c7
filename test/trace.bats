#!/usr/bin/env bats
# pgx-trace: real eBPF, as root.

bats_require_minimum_version 1.5.0
load test_helper

CGROOT=/sys/fs/cgroup/unified

setup() {
	TRACE_BG=""
	TRACE_CG=""
	LOOP_PID=""
}

teardown() {
	[ -n "$LOOP_PID" ] && kill "$LOOP_PID" 2>/dev/null
	[ -n "$TRACE_BG" ] && kill -INT "$TRACE_BG" 2>/dev/null && wait "$TRACE_BG" 2>/dev/null
	if [ -n "$TRACE_CG" ] && [ -d "$TRACE_CG" ]; then
		rmdir "$TRACE_CG"/*/ "$TRACE_CG" 2>/dev/null || true
	fi
	return 0
}

# Run pgx-trace with a time limit; stdout in $output, stderr in $stderr.
trace() {
	run --separate-stderr timeout 120 pgx-trace "$@"
}

# The records of $output that match a jq condition, one per line.
records() {
	jq -c "select($1)" <<<"$output"
}

count() {
	records "$1" | wc -l
}

# Start pgx-trace in the background and wait until it says it is tracing.
trace_bg() {
	pgx-trace "$@" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	TRACE_BG=$!
	for _ in $(seq 100); do
		grep -q "tracing" "$BATS_TEST_TMPDIR/err" && return 0
		kill -0 "$TRACE_BG" 2>/dev/null || break
		sleep 0.1
	done
	cat "$BATS_TEST_TMPDIR/err" >&2
	fail "pgx-trace did not start"
}

# Wait for the background pgx-trace; its status in $status, stdout in $output.
wait_bg() {
	status=0
	wait "$TRACE_BG" || status=$?
	TRACE_BG=""
	output="$(cat "$BATS_TEST_TMPDIR/out")"
	stderr="$(cat "$BATS_TEST_TMPDIR/err")"
}

@test "pgx-trace answers --help and --version and rejects an unknown option" {
	assert_standard_options pgx-trace
}

@test "every option in --help is in the man page and the completion" {
	assert_options_documented pgx-trace
}

@test "the man page is mandoc -Tlint clean" {
	command -v mandoc >/dev/null || skip "mandoc not installed"
	run mandoc -Tlint -W warning "$PGX_TEST_DIR/../man/pgx-trace.1"
	assert_success
	assert_output ""
}

@test "a shell command's execs, opens and exits are traced and its status returned" {
	require_root eBPF
	trace -- sh -c 'cat /etc/hostname; cat /nonexistent 2>/dev/null; /bin/true; exit 3'
	assert_failure 3
	# exec of sh, cat (twice) and true, with their argv
	[ "$(count '.type=="exec" and .comm=="sh" and .argv[0]=="sh" and .argv[1]=="-c"')" -eq 1 ]
	[ "$(count '.type=="exec" and .comm=="cat" and .argv==["cat","/etc/hostname"]')" -eq 1 ]
	[ "$(count '.type=="exec" and .comm=="cat" and .argv==["cat","/nonexistent"]')" -eq 1 ]
	[ "$(count '.type=="exec" and .comm=="true" and .filename=="/bin/true" and .argv_truncated==false')" -eq 1 ]
	# the successful open of /etc/hostname and the failed one
	[ "$(count '.type=="open" and .path=="/etc/hostname" and .result>=0 and (has("errno")|not)')" -eq 1 ]
	[ "$(count '.type=="open" and .path=="/nonexistent" and .result==-2 and .errno=="ENOENT"')" -eq 1 ]
	# exits with their codes: sh 3, the failed cat 1, true 0
	[ "$(count '.type=="exit" and .comm=="sh" and .code==3 and .signal==0')" -eq 1 ]
	[ "$(count '.type=="exit" and .comm=="cat" and .code==1')" -eq 1 ]
	[ "$(count '.type=="exit" and .comm=="true" and .code==0')" -eq 1 ]
	# forks of the shell, and cat's output as a log record
	[ "$(count '.type=="fork" and .child_pid>0 and .parent_pid>0')" -ge 3 ]
	[ "$(count ".type==\"log\" and .line==\"$(cat /etc/hostname)\" and .stream==\"stdout\"")" -eq 1 ]
}

@test "paths, program names and arguments that are not UTF-8 or need escapes are valid JSON" {
	require_root eBPF
	local dir="$BATS_TEST_TMPDIR" bad=$'\xff'
	cp /bin/true "$dir/t$bad"
	trace -- "$dir/t$bad" "q\"b\\s	$bad"
	assert_success
	[ "$(LC_ALL=C grep -c "$bad" <<<"$output")" -eq 0 ]	# no byte that is not UTF-8
	[ "$(count ".type==\"exec\" and .filename==\"$dir/t\\ufffd\" and .comm==\"t\\ufffd\"")" -eq 1 ]
	[ "$(count '.type=="exec" and .argv[1]=="q\"b\\s\t\ufffd"')" -eq 1 ]
	[ "$(count '.type=="exit" and .comm=="t\ufffd" and .code==0')" -eq 1 ]
	trace -- cat "$dir/no such $bad\"file"
	assert_failure 1
	[ "$(LC_ALL=C grep -c "$bad" <<<"$output")" -eq 0 ]
	[ "$(count ".type==\"open\" and .path==\"$dir/no such \\ufffd\\\"file\" and .errno==\"ENOENT\"")" -eq 1 ]
}

@test "every record has type, src, a current epoch ts and a cgroup_id, in time order" {
	require_root eBPF
	local now
	now=$(date +%s)
	trace -- sh -c 'cat /etc/hostname >/dev/null'
	assert_success
	[ "$(count 'true')" -gt 3 ]
	[ "$(count '(.ts|type)!="number" or .src!="pgx-trace" or (.type|type)!="string"')" -eq 0 ]
	[ "$(count ".ts < $now - 5 or .ts > $now + 60")" -eq 0 ]
	[ "$(count '.type!="log" and .type!="lost" and (.cgroup_id|type)!="number"')" -eq 0 ]
	run jq -s '[.[].ts] as $t | $t == ($t|sort)' <<<"$output"
	assert_output true
}

@test "the command's JSON lines pass through byte for byte and other lines become log records" {
	require_root eBPF
	trace --no-open -- sh -c 'echo "{\"type\":\"x\", \"ts\":1, \"k\":[1,  2]}"; echo plain text; printf "no newline"'
	assert_success
	assert_line '{"type":"x", "ts":1, "k":[1,  2]}'
	[ "$(count '.type=="log" and .line=="plain text" and .stream=="stdout" and .src=="pgx-trace"')" -eq 1 ]
	[ "$(count '.type=="log" and .line=="no newline"')" -eq 1 ]
}

@test "the command gets its cgroup in PGX_TRACE_CGROUP" {
	require_root eBPF
	trace --no-open -- sh -c 'echo "$PGX_TRACE_CGROUP"; grep "^0::" /proc/self/cgroup'
	assert_success
	local cg
	cg=$(records '.type=="log"' | jq -r 'select(.line|startswith("/")) | .line')
	[[ "$cg" =~ ^/([^/]+/)*pgx-trace\.[0-9]+$ ]]
	[ "$(count ".type==\"log\" and .line==\"0::$cg\"")" -eq 1 ]
	[ "$(count ".type==\"exec\" and .cgroup_id==$(records '.type=="exec"' | head -1 | jq .cgroup_id)")" -eq 2 ]
}

@test "a command that cannot be found exits 127 like a shell" {
	require_root eBPF
	run -127 --separate-stderr timeout 60 pgx-trace -- /nonexistent/pgx-no-such-command
	[[ "$stderr" == *'cannot run "/nonexistent/pgx-no-such-command"'* ]]
}

@test "a command killed by a signal gives 128 plus the signal and an exit record with it" {
	require_root eBPF
	trace --no-open -- sh -c 'kill -TERM $$'
	assert_failure 143
	[ "$(count '.type=="exit" and .comm=="sh" and .signal==15')" -eq 1 ]
}

# The cgroup pgx-trace made for its command (pgx-trace.PID, PID the parent of
# the command's first exec) is gone; other pgx-trace runs may have theirs.
assert_own_cgroup_removed() {
	local pid
	pid="$(records '.type=="exec"' | jq -s '.[0].ppid')"
	[ "$pid" -gt 0 ]
	[ "$(ls -d "$CGROOT/pgx-trace.$pid" "$CGROOT"/*/"pgx-trace.$pid" 2>/dev/null | wc -l)" -eq 0 ]
}

@test "a busy loop outside the subject produces no record" {
	require_root eBPF
	local marker="$BATS_TEST_TMPDIR/outside-marker"
	echo x >"$marker"
	(while :; do /bin/cat "$marker" >/dev/null; done) &
	LOOP_PID=$!
	trace -- sh -c 'sleep 1; cat /etc/hostname'
	kill "$LOOP_PID"
	LOOP_PID=""
	assert_success
	[ "$(count '.type=="exec" and .comm=="sleep"')" -eq 1 ]
	refute_output --partial outside-marker
	# everything traced is in the one cgroup pgx-trace made for the command
	[ "$(records '.type!="log"' | jq -s 'map(.cgroup_id) | unique | length')" -eq 1 ]
	assert_own_cgroup_removed
}

@test "--cgroup traces a process started in a child cgroup after attach, and SIGINT stops it with 130" {
	require_root eBPF
	TRACE_CG="$CGROOT/pgx-bats-$$-$BATS_TEST_NUMBER"
	mkdir "$TRACE_CG"
	trace_bg --cgroup "${TRACE_CG#"$CGROOT"/}"
	mkdir "$TRACE_CG/child"
	sh -c 'echo $$ >"$1/cgroup.procs"; exec /bin/cat /etc/hostname' sh "$TRACE_CG/child" >/dev/null
	/bin/cat /etc/hostname >/dev/null	# outside: not traced
	sleep 0.3
	kill -INT "$TRACE_BG"
	wait_bg
	[ "$status" -eq 130 ]
	local inode
	inode=$(stat -c %i "$TRACE_CG/child")
	[ "$(count ".type==\"exec\" and .argv==[\"/bin/cat\",\"/etc/hostname\"] and .cgroup_id==$inode")" -eq 1 ]
	[ "$(count '.type=="exec"')" -eq 1 ]
}

@test "--pid traces the process's children forked after attach and stops after --duration" {
	require_root eBPF
	local fifo="$BATS_TEST_TMPDIR/go" pid
	mkfifo "$fifo"
	bash -c 'read -r _ <"$1"; /bin/echo child-ran >/dev/null; true' bash "$fifo" &
	pid=$!
	LOOP_PID=$pid
	trace_bg --pid "$pid" --duration 2
	/bin/echo not-traced >/dev/null
	echo go >"$fifo"
	wait_bg
	[ "$status" -eq 0 ]
	[ "$(count ".type==\"fork\" and .parent_pid==$pid")" -eq 1 ]
	[ "$(count ".type==\"exec\" and .argv==[\"/bin/echo\",\"child-ran\"] and .ppid==$pid")" -eq 1 ]
	[ "$(count ".type==\"exit\" and .pid==$pid and .code==0")" -eq 1 ]
	refute_output --partial not-traced
}

@test "a tiny --buffer-size under a burst yields a lost record with a non-zero count" {
	require_root eBPF
	# pgx-trace (the shell's parent) stopped while thousands of directories
	# are opened: a 4 KiB ring buffer fills whatever the machine's pace
	trace --buffer-size 4K -- sh -c 'kill -STOP $PPID; ls -R /usr/share >/dev/null; kill -CONT $PPID'
	assert_success
	[ "$(count '.type=="lost" and .count>0')" -ge 1 ]
	[[ "$stderr" == *"lost"*"events"* ]]
}

@test "the default buffer loses nothing on a small burst" {
	require_root eBPF
	trace -- bash -c 'for i in $(seq 2000); do : </etc/hostname; done'
	assert_success
	[ "$(count '.type=="lost"')" -eq 0 ]
	[ "$(count '.type=="open" and .path=="/etc/hostname"')" -eq 2000 ]
}

@test "--no-open, --filter-open and --comm narrow the records" {
	require_root eBPF
	trace --no-open -- sh -c 'cat /etc/hostname'
	assert_success
	[ "$(count '.type=="open"')" -eq 0 ]
	[ "$(count '.type=="exec"')" -eq 2 ]
	trace --filter-open '/etc/host*' -- sh -c 'cat /etc/hostname /etc/hosts >/dev/null'
	assert_success
	[ "$(count '.type=="open"')" -eq 2 ]
	[ "$(count '.type=="open" and (.path|startswith("/etc/host")|not)')" -eq 0 ]
	trace --comm cat -- sh -c 'cat /etc/hostname >/dev/null'
	assert_success
	[ "$(count '.type=="exec" and .comm=="cat"')" -eq 1 ]
	[ "$(count '.type!="log" and .comm!="cat"')" -eq 0 ]
}

@test "argv is cut at 32 arguments and 511 bytes each, with argv_truncated set" {
	require_root eBPF
	trace --no-open -- /bin/true $(seq 40)
	assert_success
	[ "$(count '.type=="exec" and (.argv|length)==32 and .argv[31]=="31" and .argv_truncated')" -eq 1 ]
	trace --no-open -- /bin/true "$(printf 'x%.0s' $(seq 600))"
	assert_success
	[ "$(count '.type=="exec" and (.argv[1]|length)==511 and .argv_truncated')" -eq 1 ]
}

# Paths to /etc/hostname of a given length, from /: "/" or "" then "./"s.
hostname_path() {	# LENGTH
	local n=$(( $1 - ${#HOSTNAME_REL} ))
	printf '%s' "$( (( n % 2 )) && echo /)"
	printf './%.0s' $(seq $(( n / 2 )))
	printf '%s' "$HOSTNAME_REL"
}

@test "open paths are recorded whole up to 511 bytes and cut there, on either side of the short record's 64" {
	require_root eBPF
	local HOSTNAME_REL=etc/hostname p63 p64 p200 p600
	p63=$(hostname_path 63)
	p64=$(hostname_path 64)
	p200=$(hostname_path 200)
	p600=$(hostname_path 600)
	[ "${#p63}" -eq 63 ] && [ "${#p64}" -eq 64 ] && [ "${#p600}" -eq 600 ]
	trace -- bash -c 'cd / && for p; do : <"$p"; done' bash "$p63" "$p64" "$p200" "$p600"
	assert_success
	[ "$(count ".type==\"open\" and .path==\"$p63\" and .result>=0")" -eq 1 ]
	[ "$(count ".type==\"open\" and .path==\"$p64\" and .result>=0")" -eq 1 ]
	[ "$(count ".type==\"open\" and .path==\"$p200\" and .result>=0")" -eq 1 ]
	[ "$(count ".type==\"open\" and .path==\"${p600:0:511}\" and .result>=0")" -eq 1 ]
}

@test "tracing a PostgreSQL startup shows initdb, postgres and the open of postgresql.conf" {
	require_root eBPF
	[ -x "$PG_BINDIR/initdb" ] || skip "PostgreSQL 15 not installed"
	# A run directory of its own, so pg_start makes its template with initdb here.
	trace -- bash -c 'load() { :; }; bats_load_library() { :; }
		BATS_RUN_TMPDIR="$(mktemp -d)"; source "$1"
		pg_start && pg_stop; rm -rf "$BATS_RUN_TMPDIR"' bash "$PGX_TEST_DIR/test_helper.bash"
	assert_success
	[ "$(count '.type=="exec" and (.filename|endswith("/initdb"))')" -eq 1 ]
	[ "$(count '.type=="exec" and (.filename|endswith("/pg_ctl"))')" -ge 1 ]
	[ "$(count '.type=="exec" and .comm=="postgres" and (.filename|endswith("/postgres"))')" -ge 1 ]
	[ "$(count '.type=="open" and .comm=="postgres" and (.path|endswith("/postgresql.conf")) and .result>=0')" -ge 1 ]
	[ "$(count '.type=="exit" and .comm=="postgres"')" -ge 1 ]
	[ "$(count '.type=="lost"')" -eq 0 ]
}

@test "without root pgx-trace exits 5 with a one-line error, whatever it traces" {
	require_root "to drop privileges"
	for subject in "-- true" "--cgroup / --duration 1" "--pid 1 --duration 1"; do
		# shellcheck disable=SC2086
		run --separate-stderr runuser -u nobody -- "$(command -v pgx-trace)" $subject
		assert_failure 5
		assert_output ""
		[ "$stderr" = "pgx-trace: error: permission denied: tracing needs root, or CAP_BPF and CAP_PERFMON" ]
	done
}

@test "bad options and subjects are usage errors (exit 2)" {
	run pgx-trace
	assert_failure 2
	assert_output --partial "nothing to trace"
	run pgx-trace --buffer-size lots -- true
	assert_failure 2
	assert_output --partial 'invalid size "lots" for option --buffer-size'
	run pgx-trace --buffer-size 2G -- true
	assert_failure 2
	assert_output --partial "--buffer-size must be between 1 and 1G"
	run pgx-trace --cgroup / --duration 0
	assert_failure 2
	assert_output --partial "--duration must be greater than 0"
	run pgx-trace --pid 0
	assert_failure 2
	run pgx-trace --duration 1 -- true
	assert_failure 2
	assert_output --partial "--duration applies to --cgroup and --pid only"
	run pgx-trace --cgroup / --pid 1
	assert_failure 2
	run pgx-trace --comm this-name-is-too-long -- true
	assert_failure 2
	run pgx-trace --cgroup pgx-no-such-cgroup
	assert_failure 2
	assert_output --partial 'cgroup "pgx-no-such-cgroup" not found'
	run pgx-trace --pid 4194303
	assert_failure 2
	assert_output --partial "no process with PID 4194303"
}

@test "a forked child that rewrites its command line gets a title record; one that execs or keeps it gets none" {
	require_root eBPF
	local stop="$BATS_TEST_TMPDIR/stop" out="$BATS_TEST_TMPDIR/out"
	# children wait for the test's signal, so they live until pgx-trace has read them
	mkfifo "$out.fifo"
	cat "$out.fifo" >"$out" &
	pgx-trace --no-open -- perl -e '
		sub child { my $rename = shift; my $p = fork; return $p if $p;
			$0 = "pgx-child: worker" if $rename;
			select(undef, undef, undef, 0.01) until -e $ARGV[0]; exit 0 }
		my @kids = (child(1), child(0)); system("true");
		waitpid($_, 0) for @kids' "$stop" >"$out.fifo" 2>"$BATS_TEST_TMPDIR/err" &
	TRACE_BG=$!
	for _ in $(seq 600); do
		grep -q '"type":"title"' "$out" && break
		sleep 0.05
	done
	touch "$stop"
	wait "$TRACE_BG"
	TRACE_BG=""
	wait
	output="$(cat "$out")"
	assert_equal "$(count '.type=="title"')" 1
	run jq -s -c '(map(select(.type=="exec" and .comm=="perl"))[0].pid) as $perl
		| (map(select(.type=="title"))[0]) as $t
		| [$t.title, $t.ppid == $perl, any(.[]; .type=="fork" and .child_pid==$t.pid and .ts < $t.ts)]' <<<"$output"
	assert_output '["pgx-child: worker",true,true]'
}

@test "a process the command leaves running is moved out and does not hold pgx-trace" {
	require_root eBPF
	trace --no-open -- sh -c 'sleep 30 & echo $! >"$1"' sh "$BATS_TEST_TMPDIR/daemon"
	local daemon
	daemon=$(cat "$BATS_TEST_TMPDIR/daemon")
	LOOP_PID=$daemon
	assert_success
	local traced="$output"
	[[ "$stderr" == *"1 process left running, moved to cgroup"* ]]
	kill -0 "$daemon"
	run grep -c pgx-trace "/proc/$daemon/cgroup"
	assert_output 0
	output="$traced" assert_own_cgroup_removed
}

@test "a closed standard output ends pgx-trace with exit 6" {
	require_root eBPF
	# seq writes more than any pipe holds (pgx-trace widens its stdout pipe to
	# 1 MiB), so it is stopped by head's exit, and pgx-trace's records of it
	# can only be written after that: a race-free closed output
	run --separate-stderr bash -c 'pgx-trace -- seq 2000000 | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 6
	[[ "$stderr" == *"pgx-trace: error: write error on standard output"* ]]
}

@test "pgx-trace mounts tracefs when it is missing and says so" {
	require_root "mount"
	if mountpoint -q /sys/kernel/tracing; then
		umount /sys/kernel/tracing 2>/dev/null || skip "tracefs is in use"
	fi
	trace --no-open -- /bin/true
	assert_success
	[ "$stderr" = "pgx-trace: mounted tracefs on /sys/kernel/tracing" ]
	mountpoint -q /sys/kernel/tracing
	[ "$(count '.type=="exec" and .filename=="/bin/true"')" -eq 1 ]
	# and so does --cgroup (pgx-docker's way in), which once went straight to
	# libbpf and failed there on a machine where nothing had mounted tracefs
	umount /sys/kernel/tracing
	TRACE_CG="$CGROOT/pgx-bats-$$-$BATS_TEST_NUMBER"
	mkdir "$TRACE_CG"
	trace --no-open --cgroup "${TRACE_CG#"$CGROOT"/}" --duration 1
	assert_success
	[ "${stderr%%$'\n'*}" = "pgx-trace: mounted tracefs on /sys/kernel/tracing" ]
	mountpoint -q /sys/kernel/tracing
}

@test "secrets in a traced command's arguments never reach the exec records" {
	require_root
	run --separate-stderr pgx-trace --no-open -- sh -c 'exit 0' -e POSTGRES_PASSWORD=tr4ce-s3cret \
		"host=db password=tr4ce-s3cret user=app" postgresql://app:tr4ce-s3cret@db/app --password tr4ce-s3cret
	assert_success
	refute_output --partial tr4ce-s3cret
	assert_equal "$(jq -c 'select(.type == "exec") | .argv[3:]' <<<"$output")" \
		'["-e","POSTGRES_PASSWORD=***","host=db password=*** user=app","postgresql://app:***@db/app","--password","***"]'
}
