#!/usr/bin/env python3
"""Write a synthetic merged pgx stream of N records: mostly open and log
records, with exec/exit pairs and matches, as pgx-trace | pgx-logmatch emit."""
import argparse, json, random, sys

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("n", nargs="?", type=int, default=2_000_000, metavar="N",
                    help="records to write (default 2000000)")
n = parser.parse_args().n
rnd = random.Random(7)
out = sys.stdout
t = 1795300000.0
pid = 100
open_pids = []
w = out.write
for i in range(n):
    t += 0.00001
    r = rnd.random()
    ts = round(t, 6)
    if r < 0.05:
        pid += 1
        open_pids.append(pid)
        rec = {"type": "exec", "ts": ts, "src": "pgx-trace", "pid": pid, "ppid": 1, "comm": "psql",
               "filename": "/usr/bin/psql", "argv": ["psql", "-f", "/docker-entrypoint-initdb.d/%05d.sql" % pid],
               "argv_truncated": False, "cgroup_id": 4242}
    elif r < 0.10 and open_pids:
        rec = {"type": "exit", "ts": ts, "src": "pgx-trace", "pid": open_pids.pop(0), "comm": "psql",
               "code": 0, "signal": 0, "core_dumped": False, "cgroup_id": 4242}
    elif r < 0.70:
        rec = {"type": "open", "ts": ts, "src": "pgx-trace", "pid": pid, "tid": pid, "comm": "postgres",
               "path": "/var/lib/postgresql/data/base/1/%d" % rnd.randint(1000, 20000), "flags": 2,
               "result": rnd.randint(3, 60), "cgroup_id": 4242}
    elif r < 0.98:
        rec = {"type": "log", "ts": ts, "src": "pgx-docker", "container": "c0ffee", "stream": "stderr",
               "line": "2026-11-22 03:16:43.123 UTC [%d] LOG:  duration: %.3f ms  statement: SELECT 1" % (pid, rnd.random())}
    else:
        rec = {"type": "match", "ts": ts, "src": "pgx-logmatch", "rule": "checkpoint_start",
               "line": "LOG:  checkpoint starting: time", "occurrence": i, "captures": {"reason": "time"}}
    w(json.dumps(rec, separators=(",", ":")))
    w("\n")
