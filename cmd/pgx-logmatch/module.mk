PKGS_pgx-logmatch := yaml-0.1 libpcre2-8
