/*
 * cmd.h - the anser program's subcommands and their shared helpers.
 *
 * Adding a subcommand:
 *  1. write cmd/<name>.c with `int cmd_<name>(int argc, char **argv)`: a usage
 *     string, a getopt_long loop, calls into lib/anser.h, printing;
 *  2. add it to commands[] in cmd/main.c and declare it below;
 *  3. write man/anser-<name>.1 whose SYNOPSIS and options match the usage;
 *  4. add tests/cli/tNNNN-<name>.sh.
 * cmd/ includes only lib/anser.h from the library, never a private header.
 */
#ifndef ANSER_CMD_H
#define ANSER_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "../lib/anser.h"

int cmd_convert(int argc, char **argv);
int cmd_download(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* Exit statuses, the same for every command. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* The running subcommand ("convert"), for message prefixes. */
extern const char *cli_cmd;

/* "anser convert: error: <msg>" on stderr; returns EXIT_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "anser convert: warning: <msg>" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "anser convert: note: <msg>" on stderr. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports a library failure; returns EXIT_FAIL. */
int cli_fail(const struct anser_err *err);

/*
 * A usage error: the message, the usage synopsis, and a pointer to -h, all on
 * stderr.  Returns EXIT_USAGE.
 */
int cli_usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Flushes stdout and turns a write failure into an error; returns status. */
int cli_finish(int status);

/* Prints s as a JSON string (with quotes). */
void cli_json_str(FILE *f, const char *s);

/* "1.2 MB", "382.1 MB", "5.9 GB" */
const char *cli_human_bytes(uint64_t n, char *buf, size_t size);

/*
 * For getopt_long's '?' and ':' answers (optstrings start with ':'): names the
 * unknown option or the one missing its value.  Returns EXIT_USAGE.
 */
int cli_bad_option(const char *usage, int c, char **argv);

/*
 * Opens MODEL for run and eval: an anser model file; a .pth converted to a
 * temporary file first (with a note; ^C removes it); or a model name from
 * 'anser download --list', fetched and converted once into the hub cache.
 * file (may be NULL) gets the path of what was opened (the checkpoint for a
 * .pth).  no_mmap (--no-mmap) reads the file into memory instead of mapping
 * it.  Prints the error and returns EXIT_FAIL, or 0.
 */
int cli_open_model(const char *arg, int no_mmap, struct anser_model **out,
                   char *file, size_t size);

/* A progress line for downloads on stderr (callers check it is a tty and
 * clear the line when done). */
void cli_hub_progress(const struct anser_hub_progress *p, void *arg);

/* Resets getopt between a global parse and a subcommand's. */
void cli_reset_getopt(void);

#endif /* ANSER_CMD_H */
