#include "pgx.h"
#include "health.h"
void health_table_render(FILE *f, const struct snapshot *s, long top) { fputs("todo\n", f); }
