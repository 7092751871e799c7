/* sections.c - the catalogue of sections: name, loops, scope, collector */
#include <string.h>
#include "poll.h"

extern const char sql_connections[];

const struct section poll_sections[] = {
	{ "connections", LOOP_HOT, false, collect_connections, sql_connections },
};
const size_t poll_n_sections = sizeof(poll_sections) / sizeof(poll_sections[0]);

const struct section *section_find(const char *name, size_t *index)
{
	for (size_t i = 0; i < poll_n_sections; i++) {
		if (!strcmp(poll_sections[i].name, name)) {
			if (index)
				*index = i;
			return &poll_sections[i];
		}
	}
	return NULL;
}
