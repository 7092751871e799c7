# pgx-report: libcurl for alert notifications, libyaml for the alert catalog
PKGS_pgx-report := libcurl yaml-0.1
