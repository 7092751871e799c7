# pgx-docker: Docker Engine API over its Unix socket (libcurl), tar of the build
# context (libarchive), readiness by libpq ping.
PKGS_pgx-docker := libcurl libarchive libpq jansson
