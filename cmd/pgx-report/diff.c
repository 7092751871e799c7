#include "pgx.h"
#include "health.h"
int health_diff(const char *before, const char *after, bool json, const char *output) { return 8; }
