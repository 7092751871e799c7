-- The snapshot queries of the pgmon design (seed 002, section 10), as a DBA
-- would run them from psql: the baseline bench/poll/run times pgx-poll against.
-- Only change: pg_stat_statements 1.8+ (PostgreSQL 13+) names total_exec_time
-- and mean_exec_time what the seed calls total_time and mean_time.

-- Connections
SELECT (SELECT COUNT(*) FROM pg_stat_activity) AS connections,
       current_setting('max_connections')::int AS max_connections;

-- Long / idle-in-txn
SELECT pid, usename, state, xact_start, now() - xact_start AS age
FROM pg_stat_activity
WHERE xact_start IS NOT NULL
ORDER BY xact_start ASC
LIMIT 50;

-- Blockers vs blocked
SELECT bl.pid AS blocked_pid, ka.query AS blocked_query,
       kl.pid AS blocker_pid, aa.query AS blocker_query,
       now() - ka.query_start AS blocked_for
FROM pg_locks bl
JOIN pg_stat_activity ka ON ka.pid = bl.pid
JOIN pg_locks kl ON bl.locktype = kl.locktype
 AND bl.database IS NOT DISTINCT FROM kl.database
 AND bl.relation IS NOT DISTINCT FROM kl.relation
 AND bl.page IS NOT DISTINCT FROM kl.page
 AND bl.tuple IS NOT DISTINCT FROM kl.tuple
 AND bl.virtualxid IS NOT DISTINCT FROM kl.virtualxid
 AND bl.transactionid IS NOT DISTINCT FROM kl.transactionid
 AND bl.classid IS NOT DISTINCT FROM kl.classid
 AND bl.objid IS NOT DISTINCT FROM kl.objid
 AND bl.objsubid IS NOT DISTINCT FROM kl.objsubid
 AND bl.pid <> kl.pid
JOIN pg_stat_activity aa ON aa.pid = kl.pid
WHERE NOT bl.granted;

-- Top statements
SELECT queryid, calls, total_exec_time, mean_exec_time, rows,
       shared_blks_hit, shared_blks_read
FROM pg_stat_statements
ORDER BY total_exec_time DESC
LIMIT 50;

-- Vacuum/analyze freshness
SELECT relid::regclass AS relation, n_live_tup, n_dead_tup,
       last_vacuum, last_autovacuum, last_analyze, last_autoanalyze
FROM pg_stat_user_tables
ORDER BY n_dead_tup DESC
LIMIT 100;

-- WAL/checkpoints
SELECT checkpoints_timed, checkpoints_req, buffers_checkpoint, buffers_backend_fsync
FROM pg_stat_bgwriter;
SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_wal;

-- Temp spill
SELECT datname, temp_files, temp_bytes FROM pg_stat_database;

-- Relation sizes (Top-N)
SELECT c.oid::regclass AS relation,
       pg_total_relation_size(c.oid) AS total_bytes,
       pg_relation_size(c.oid) AS table_bytes,
       pg_total_relation_size(c.oid) - pg_relation_size(c.oid) AS index_toast_bytes
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog','information_schema')
  AND c.relkind IN ('r','m')
ORDER BY total_bytes DESC
LIMIT 100;

-- Unused indexes (snapshot)
SELECT s.relname AS table_name, i.relname AS index_name,
       si.idx_scan, pg_relation_size(i.oid) AS bytes
FROM pg_stat_user_indexes si
JOIN pg_class i ON si.indexrelid = i.oid
JOIN pg_class s ON si.relid = s.oid
WHERE si.idx_scan = 0
ORDER BY bytes DESC
LIMIT 100;

-- Wraparound
SELECT datname, age(datfrozenxid) AS tx_age
FROM pg_database
ORDER BY tx_age DESC;

-- Partition inventory
SELECT inhparent::regclass AS parent, inhrelid::regclass AS child FROM pg_inherits;
