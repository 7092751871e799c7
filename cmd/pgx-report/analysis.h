/* analysis.h - pgx-report's query analysis views: plan trees (plan.c) and
 * client versus server time (workload.c); each takes its own options. */
#ifndef PGX_REPORT_ANALYSIS_H
#define PGX_REPORT_ANALYSIS_H

/* `pgx-report plan [OPTION]... [FILE]...`; an exit status */
int plan_main(int argc, char **argv);
/* `pgx-report workload [OPTION]... [FILE]...`; an exit status */
int workload_main(int argc, char **argv);
/* validate.c: pgx-report validate, the records against share/pgx/records.yaml */
int validate_main(int argc, char **argv);

#endif
