#include "pgx.h"
#include "health.h"
int alerts_main(int argc, char **argv) { return 8; }
