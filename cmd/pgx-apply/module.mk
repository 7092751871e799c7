# pgx-apply: ALTER SYSTEM through libpq, Patroni's REST API through libcurl.
PKGS_pgx-apply := libpq libcurl jansson
