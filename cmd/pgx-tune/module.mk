PKGS_pgx-tune := libpq
