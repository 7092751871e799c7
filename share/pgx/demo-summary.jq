# Summarise pgx-trace and pgx-logmatch records of one PostgreSQL startup.
def secs: . * 1000 | round / 1000 | tostring + " s";
(map(.ts) | min) as $t0
| (map(select(.type == "exec"))) as $execs
| (map(select(.type == "match"))) as $matches
| (map(select(.type == "open"))) as $opens
| (map(select(.type == "lost")) | map(.count) | add // 0) as $lost
| [
    "",
    "PostgreSQL startup, from the first event",
    "────────────────────────────────────────────────────────────",
    (if ($execs | length) > 0 then
       "  programs run (exec): \($execs | length), files opened: \($opens | length)" +
       (if $lost > 0 then ", events lost: \($lost)" else "" end),
       "",
       "  first exec of each program:",
       ($execs | group_by(.comm) | map(min_by(.ts)) | sort_by(.ts)[:12][]
        | "    +\(.ts - $t0 | secs)  \(.comm)  \(.argv[:3] | join(" "))")
     else "  (no eBPF trace: run as root for exec/open events)" end),
    "",
    "  log milestones (pgx-logmatch, default rules):",
    ($matches | sort_by(.ts)[]
     | "    +\(.ts - $t0 | secs)  \(.rule)\(if .captures.extension then " (" + .captures.extension + ")" else "" end)"),
    "",
    "  ready after: \(($matches | map(select(.marks_ready)) | first | .ts - $t0 | secs) // "never")",
    ""
  ][]
