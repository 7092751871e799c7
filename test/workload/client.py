#!/usr/bin/python3
"""A small application: N units of work, each two operations, timed by itself.

Usage: client.py DSN N [patterns]

fetch_item runs three statements (three round trips), ack_item one; each
operation logs "TIMESTAMP op=NAME elapsed=X.XXXms" on stdout, the format
share/pgx/rules/client-timing.yaml reads.  Autocommit, so no BEGIN/COMMIT
round trips hide in the driver.  With "patterns": N calls of poll_queue,
a read that finds nothing, and N calls of load_report, one of which waits
300 ms on the server (an outlier).  With "outliers": N calls of
fetch_item, every 50th of them waiting 300 ms on the server.
"""
import sys
import time

import psycopg2


def timed(cur, name, statements):
    start = time.perf_counter()
    for sql, args in statements:
        cur.execute(sql, args)
        if cur.description:
            cur.fetchall()
    ms = (time.perf_counter() - start) * 1000
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    print(f"{stamp} UTC app op={name} elapsed={ms:.3f}ms", flush=True)


def patterns(cur, n):
    for i in range(1, n + 1):
        timed(cur, "poll_queue", [("SELECT id FROM items WHERE acked AND id < %s", (0,))])
        timed(cur, "load_report", [("SELECT pg_sleep(%s)", (0.3 if i == n // 2 else 0.001,))])


def outliers(cur, n):
    for i in range(1, n + 1):
        timed(cur, "fetch_item", [("SELECT id, payload, pg_sleep(%s) FROM items WHERE id = %s",
                                   (0.3 if i % 50 == 0 else 0, i % 100 + 1))])


def main():
    dsn, n = sys.argv[1], int(sys.argv[2])
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    if sys.argv[3:] == ["patterns"]:
        patterns(cur, n)
        return
    if sys.argv[3:] == ["outliers"]:
        outliers(cur, n)
        return
    for i in range(1, n + 1):
        timed(cur, "fetch_item", [
            ("SELECT id, payload FROM items WHERE id = %s", (i,)),
            ("SELECT count(*) FROM item_tags WHERE item_id = %s", (i,)),
            ("SELECT name FROM owners WHERE id = %s", (i % 5,)),
        ])
        timed(cur, "ack_item", [("UPDATE items SET acked = true WHERE id = %s", (i,))])
        time.sleep(0.01)
    conn.close()


if __name__ == "__main__":
    main()
