/*
 * download.c - 'anser download': not implemented yet; the Hugging Face Hub client arrives with its own issue.
 */
#include <getopt.h>

#include "cmd.h"

static const char usage[] = "usage: anser download [argument ...]\n";

int cmd_download(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("%s\n'anser download' (the Hugging Face Hub client) is not implemented yet.\n",
			       usage);
			return EXIT_OK;
		}
		return cli_bad_option(usage, c, argv);
	}
	return cli_error("not implemented yet (the Hugging Face Hub client is planned)");
}
