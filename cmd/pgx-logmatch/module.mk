# libarchive: compressed logs (gzip, bzip2, xz, zstd) read as they are
PKGS_pgx-logmatch := yaml-0.1 libpcre2-8 libarchive
