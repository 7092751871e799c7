PKGS_pgx-poll := libpq
