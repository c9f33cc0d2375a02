/*
 * cli.c - messages, usage errors and output checks shared by all commands.
 * Messages follow git's rules: lower case, no full stop, the failure first.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

const char *cli_cmd;

static void vmsg(const char *level, const char *fmt, va_list ap)
{
	fflush(stdout);
	if (cli_cmd)
		fprintf(stderr, "anser %s: %s: ", cli_cmd, level);
	else
		fprintf(stderr, "anser: %s: ", level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("error", fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning", fmt, ap);
	va_end(ap);
}

void cli_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("note", fmt, ap);
	va_end(ap);
}

int cli_fail(const struct anser_err *err)
{
	return cli_error("%s", err->msg[0] ? err->msg :
	                 anser_status_str(err->code));
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("error", fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s", usage);
	if (cli_cmd)
		fprintf(stderr, "try 'anser %s -h' for more information\n",
		        cli_cmd);
	else
		fprintf(stderr, "try 'anser -h' for more information\n");
	return EXIT_USAGE;
}

int cli_finish(int status)
{
	/* A full disk or a closed file shows only when the buffer is flushed;
	 * a reader that went away (EPIPE) is not our failure. */
	if (fflush(stdout) || ferror(stdout)) {
		if (errno == EPIPE)
			return status;
		cli_error("write failure on standard output: %s",
		          strerror(errno));
		return EXIT_FAIL;
	}
	return status;
}

void cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

const char *cli_human_bytes(uint64_t n, char *buf, size_t size)
{
	if (n < 1000)
		snprintf(buf, size, "%llu B", (unsigned long long)n);
	else if (n < 1000000)
		snprintf(buf, size, "%.1f kB", n / 1e3);
	else if (n < 1000000000)
		snprintf(buf, size, "%.1f MB", n / 1e6);
	else
		snprintf(buf, size, "%.2f GB", n / 1e9);
	return buf;
}

void cli_reset_getopt(void)
{
	optind = 0; /* glibc: 0 also resets its internal state */
	opterr = 0; /* we word the messages ourselves */
}

int cli_bad_option(const char *usage, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return cli_usage_error(usage, "option '%s' needs a value", arg);
	if (optopt && strncmp(arg, "--", 2))
		return cli_usage_error(usage, "unknown option '-%c'", optopt);
	return cli_usage_error(usage, "unknown option '%s'", arg);
}

void cli_hub_progress(const struct anser_hub_progress *p, void *arg)
{
	char line[256];

	(void)arg;
	anser_hub_progress_line(p, 79, line, sizeof(line));
	fprintf(stderr, "\r%s\033[K", line);
}
