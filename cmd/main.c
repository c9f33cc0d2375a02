/*
 * main.c - the anser program: global options, then git-style dispatch to one
 * cmd_<name> per subcommand.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "download", cmd_download, "fetch models and datasets from the Hugging Face Hub" },
	{ "convert",  cmd_convert,  "convert a PyTorch .pth checkpoint to an anser model file" },
	{ "inspect",  cmd_inspect,  "show what is inside a .pth or anser model file" },
	{ "run",      cmd_run,      "generate or score text with a model" },
	{ "eval",     cmd_eval,     "score benchmarks the way lm-evaluation-harness does" },
};

static const char usage[] =
	"usage: anser [-hV] command [argument ...]\n";

static void print_help(FILE *f)
{
	fprintf(f, "%s\nRWKV-7 language models on the CPU.\n\ncommands:\n",
	        usage);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "  %-9s %s\n", "help", "show the options of a command");
	fprintf(f, "\noptions:\n"
	        "  -h, --help      show this help\n"
	        "  -V, --version   show the version\n"
	        "\nSee 'anser help COMMAND' and man anser-COMMAND for each "
	        "command.\n");
}

static int find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return (int)i;
	return -1;
}

static int dispatch(int argc, char **argv)
{
	int i = find_command(argv[0]);

	if (i < 0)
		return cli_usage_error(usage, "unknown command '%s'", argv[0]);
	cli_cmd = commands[i].name;
	cli_reset_getopt();
	return cli_finish(commands[i].fn(argc, argv));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* Past a file size limit (ulimit -f) a write then fails with EFBIG,
	 * which every writer reports and cleans up after, instead of the
	 * process dying of SIGXFSZ with a temporary file left behind. */
	signal(SIGXFSZ, SIG_IGN);
	/* A reader that goes away (anser run ... | head) ends us quietly by
	 * SIGPIPE, as it does cat; a parent that ignored SIGPIPE (which
	 * children inherit) would leave us generating into a closed pipe. */
	signal(SIGPIPE, SIG_DFL);
	/* '+': stop at the command name; its options are its own. */
	cli_reset_getopt();
	while ((c = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			print_help(stdout);
			return cli_finish(EXIT_OK);
		case 'V':
			printf("anser %s\n", anser_version());
			return cli_finish(EXIT_OK);
		default:
			return cli_bad_option(usage, c, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "help")) {
		char help[] = "--help";
		char *args[] = { argv[1], help, NULL };

		if (argc < 2) {
			print_help(stdout);
			return cli_finish(EXIT_OK);
		}
		if (argc > 2)
			return cli_usage_error(usage, "help takes one command");
		return dispatch(2, args);
	}
	return dispatch(argc, argv);
}
