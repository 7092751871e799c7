#include "pgx.h"
#include "health.h"
void html_render(FILE *f, const struct snapshot *s, long top) { fputs("todo\n", f); }
