/* signals.c - a stop flag for SIGINT/SIGTERM; SIGPIPE becomes EPIPE */
#include <string.h>
#include "pgx.h"

volatile sig_atomic_t pgx_stop_signal;
static void (*volatile stop_hook)(void);

static void on_stop_signal(int signo)
{
	pgx_stop_signal = signo;
	if (stop_hook)
		stop_hook();
}

void pgx_set_stop_hook(void (*hook)(void))
{
	stop_hook = hook;
}

void pgx_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}
