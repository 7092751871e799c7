#!/usr/bin/env python3
"""Write a synthetic PostgreSQL stderr log of at least SIZE_MB to stdout.

The mix follows a busy server logging with log_min_duration_statement=0:
mostly "duration:" lines, with connections, checkpoints, errors and a few
startup lines, so both grep and pgx-logmatch have real work to do."""
import argparse, random, sys

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("size_mb", nargs="?", type=int, default=500, metavar="SIZE_MB",
                    help="megabytes to write at least (default 500)")
size = parser.parse_args().size_mb * 1024 * 1024
rnd = random.Random(42)
queries = [
    "SELECT * FROM accounts WHERE id = $1",
    "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
    "INSERT INTO history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, now())",
    "SELECT a.id, b.name FROM orders a JOIN customers b ON b.id = a.customer_id WHERE a.created_at > $1 ORDER BY a.created_at DESC LIMIT 50",
    "BEGIN", "COMMIT",
]
def block(t0):
    out = []
    t = t0
    for i in range(20000):
        t += rnd.random() * 0.01
        sec = int(t)
        ts = "2026-11-22 %02d:%02d:%02d.%03d UTC" % ((sec // 3600) % 24, (sec // 60) % 60, sec % 60, int((t - sec) * 1000))
        pid = rnd.randint(1000, 99999)
        r = rnd.random()
        if r < 0.80:
            out.append("%s [%d] LOG:  duration: %.3f ms  statement: %s" % (ts, pid, rnd.random() * 50, rnd.choice(queries)))
        elif r < 0.90:
            out.append("%s [%d] LOG:  connection authorized: user=app database=app application_name=web" % (ts, pid))
        elif r < 0.97:
            out.append("%s [%d] LOG:  disconnection: session time: 0:00:0%d.%03d user=app database=app host=127.0.0.1 port=%d" % (ts, pid, rnd.randint(0, 9), rnd.randint(0, 999), rnd.randint(30000, 60000)))
        elif r < 0.985:
            out.append("%s [%d] ERROR:  duplicate key value violates unique constraint \"accounts_pkey\"" % (ts, pid))
            out.append("%s [%d] DETAIL:  Key (id)=(%d) already exists." % (ts, pid, rnd.randint(1, 10**6)))
        elif r < 0.995:
            out.append("%s [%d] LOG:  checkpoint starting: time" % (ts, pid))
            out.append("%s [%d] LOG:  checkpoint complete: wrote %d buffers (0.1%%); 0 WAL file(s) added, 0 removed, 1 recycled; write=0.101 s, sync=0.002 s, total=0.110 s; sync files=3, longest=0.001 s, average=0.001 s; distance=%d kB, estimate=%d kB" % (ts, pid, rnd.randint(1, 5000), rnd.randint(1, 10**5), rnd.randint(1, 10**5)))
        else:
            out.append("%s [%d] FATAL:  password authentication failed for user \"app\"" % (ts, pid))
    return "\n".join(out) + "\n", t

written, t = 0, 0.0
chunk, t = block(t)
data = chunk.encode()
while written < size:
    sys.stdout.buffer.write(data)
    written += len(data)
