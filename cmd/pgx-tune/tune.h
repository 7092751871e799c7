/* tune.h - pgx-tune: machine facts, current settings, profiles, recommendations */
#ifndef PGX_TUNE_H
#define PGX_TUNE_H

#include <stdbool.h>
#include <jansson.h>

#define KB_PER_MB 1024LL
#define KB_PER_GB (1024LL * 1024)

enum storage { STORAGE_SSD, STORAGE_HDD, STORAGE_SAN, STORAGE_NVME };

/* pgtune's "database size compared with RAM" input. */
enum db_size { DB_SIZE_SMALLER, DB_SIZE_SIMILAR, DB_SIZE_LARGER };

/* What the recommendations are computed from, and where each fact came from. */
struct machine {
	long long memory_kb;		/* effective memory, kB; 0 unknown */
	const char *memory_source;	/* option, env:NAME, cgroup2, cgroup1, meminfo */
	long long mem_total_kb;		/* /proc/meminfo MemTotal; 0 unknown */
	long long mem_limit_kb;		/* cgroup limit; 0 none ("max") */
	const char *cgroup;		/* "v1", "v2", or NULL */
	char *cgroup_path;		/* from /proc/self/cgroup */
	long cpus;
	const char *cpus_source;	/* option, cgroup2, cgroup1, cpuset, affinity, sysfs, sysconf */
	enum storage storage;
	const char *storage_source;	/* option, default */
	enum db_size db_size;
	const char *db_size_source;	/* option, default */
	int pg_version;			/* major: 10..18 */
	const char *pg_version_source;	/* option, settings, server, default */
	long max_connections;
	const char *max_connections_source; /* option, settings, server, profile */
	const char *root;		/* --root: /proc and /sys read under it */
};

/* Machine facts given on the command line (0 / NULL: detect). */
struct machine_opts {
	long long memory_kb;
	long cpus;
	int storage;			/* -1: not given */
	int db_size;			/* -1: not given */
	int pg_version;
	long max_connections;
	const char *root;
};

enum profile { PROF_WEB, PROF_OLTP, PROF_DW, PROF_DESKTOP, PROF_MIXED, PROF_AUTO,
	       PROF_CONSERVATIVE };

enum vkind { V_MEM, V_INT, V_REAL, V_ENUM, V_BOOL };

/* A parameter pgx-tune may recommend, with PostgreSQL's own facts about it
 * (used when the server's pg_settings row is not known). */
struct param_def {
	const char *name;
	enum vkind kind;
	const char *context;	/* pg_settings.context */
	int unit_kb;		/* V_MEM: kB per base unit (8 for pages, 1024 for MB) */
	double min, max;	/* in base units */
	int since;		/* first major version that has it */
};

/* The server's pg_settings row for one parameter, as far as known. */
struct current {
	const char *setting, *unit, *context, *vartype, *min_val, *max_val;
	const char *source;	/* pg_settings.source: "command line", ... */
	bool pending_restart;	/* a changed value waits for a restart */
	json_t *enumvals;	/* array or NULL */
	char buf[3][40];	/* numbers written as text */
};

struct rec {
	const struct param_def *def;
	enum vkind kind;
	long long ival;		/* V_MEM in kB, V_INT */
	double rval;		/* V_REAL */
	const char *sval;	/* V_ENUM, V_BOOL */
	const char *fallback;	/* V_ENUM: used when the server lacks sval */
	const char *confidence;	/* high, medium, low */
	char rule[64];		/* e.g. pgtune.shared_buffers */
	char rationale[640];	/* pgtune's reason, then what pgx knows more */
	char recommended[48];	/* PostgreSQL unit syntax */
	char current[64];	/* "" unknown */
	bool has_current;
	bool keep;		/* current within tolerance */
	bool pending_restart;	/* the server already waits to restart with a new value */
	bool command_line;	/* set on the server's command line: ALTER SYSTEM cannot change it */
	bool deviates;		/* pgx knows more than pgtune's inputs and departs from it */
	const char *context;
	bool restart;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

/* machine.c */
bool machine_detect(struct machine *m, const struct machine_opts *o);
void machine_free(struct machine *m);
bool machine_emit(const struct machine *m, const char *profile);
const char *storage_name(enum storage s);
const char *db_size_name(enum db_size d);
bool db_size_parse(const char *name, enum db_size *d);
bool parse_memory(const char *arg, long long *kb);

/* settings.c: the server's current settings */
struct settings {
	json_t *rows;		/* object: name -> pg_settings row object */
	int version_num;	/* server_version_num, 0 unknown */
	const char *origin;	/* settings, server */
	char *remote;		/* where the settings come from when not this host, else NULL */
};
bool settings_from_record(struct settings *s, json_t *rec, char *err, size_t errlen);
bool settings_from_server(struct settings *s, const char *dsn, int *exit_code);
void settings_free(struct settings *s);
bool settings_lookup(const struct settings *s, const char *name, struct current *c);
long long unit_kb(const char *unit);	/* "8kB" -> 8, "MB" -> 1024; 0 not memory */

/* rules.c */
const char *profile_name(enum profile p);
bool profile_parse(const char *name, enum profile *p);
extern const struct param_def param_defs[];
long profile_connections(enum profile p, long long memory_kb);
void recommend(const struct machine *m, enum profile p, bool conn_asked, struct recs *out);
void recs_free(struct recs *r);

/* compare.c: current values, limits, tolerance */
void recs_resolve(struct recs *r, const struct settings *s, enum profile p);
void format_mem_kb(long long kb, char *buf, size_t len);
void format_mem_human(long long kb, char *buf, size_t len);
const char *rec_status(const struct rec *x);
void note(struct rec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* format.c */
enum format { FMT_RECORDS, FMT_CONF, FMT_FLAGS, FMT_SQL, FMT_TABLE };
bool format_parse(const char *name, enum format *f);
bool output_recs(const struct recs *r, const struct machine *m, enum profile p,
		 enum format f, bool all);

#endif
