/*
 * run.c - 'anser run': not implemented yet; inference arrives with its own issue.
 */
#include <getopt.h>

#include "cmd.h"

static const char usage[] = "usage: anser run [argument ...]\n";

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("%s\n'anser run' (inference) is not implemented yet.\n",
			       usage);
			return EXIT_OK;
		}
		return cli_bad_option(usage, c, argv);
	}
	return cli_error("not implemented yet (inference is planned)");
}
