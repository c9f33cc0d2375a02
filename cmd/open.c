/*
 * open.c - the MODEL argument of run and eval: an anser model file, or a
 * .pth checkpoint converted for this one run.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

/* The signal that interrupted a conversion, or 0. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* Converts the checkpoint at `path` into a new temporary file `tmp`. */
static int convert_for_run(const char *path, char *tmp, size_t size)
{
	struct anser_convert_opts co = { .dtype = -1, .cancel = &interrupted };
	struct sigaction sa = { .sa_handler = on_signal };
	struct anser_err err = { 0 };
	const char *dir = getenv("TMPDIR");
	enum anser_status st;
	char vocab[4096];
	int fd;

	st = anser_vocab_locate(path, NULL, vocab, sizeof(vocab), &err);
	if (st && st != ANSER_E_NOTFOUND)
		return cli_fail(&err);
	co.vocab = st ? NULL : vocab;
	snprintf(tmp, size, "%s/anser-%s-XXXXXX", dir && *dir ? dir : "/tmp",
	         cli_cmd ? cli_cmd : "run");
	fd = mkstemp(tmp);
	if (fd < 0) {
		tmp[0] = '\0';
		return cli_error("cannot create a temporary file: %s",
		                 strerror(errno));
	}
	close(fd);
	/* ^C during the conversion: stop it, remove the file, die. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	cli_note("converting '%s' for this run%s (keep the result with 'anser "
	         "convert')", path, co.vocab ? "" : ", without a vocab");
	st = anser_convert_pth(path, tmp, &co, NULL, &err);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (interrupted) {
		unlink(tmp);
		raise(interrupted);
	}
	if (st) {
		unlink(tmp);
		tmp[0] = '\0';
		return cli_fail(&err);
	}
	return 0;
}

int cli_open_model(const char *arg, int no_mmap, struct anser_model **out,
                   char *file, size_t size)
{
	const struct anser_model_opts mo = { .no_mmap = no_mmap };
	struct anser_err err = { 0 };
	enum anser_file_kind kind;
	char tmp[1024] = "", resolved[4096];
	const char *path = arg;
	int rc = 0;

	*out = NULL;
	/* A model name (anser download --list): fetched and converted once into
	 * the hub cache. */
	if (access(path, F_OK) && anser_model_lookup(path)) {
		struct anser_hub_opts ho = { .cancel = &interrupted };
		struct sigaction sa = { .sa_handler = on_signal };
		enum anser_status st;

		if (isatty(STDERR_FILENO))
			ho.progress = cli_hub_progress;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		st = anser_model_resolve(path, &ho, resolved, sizeof(resolved),
		                         &err);
		if (ho.progress)
			fprintf(stderr, "\r\033[K");
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (interrupted)
			raise(interrupted);
		if (st)
			return cli_fail(&err);
		path = resolved;
	}
	if (anser_file_kind(path, &kind, &err))
		return cli_fail(&err);
	if (kind == ANSER_FILE_PTH) {
		if (convert_for_run(path, tmp, sizeof(tmp)))
			return EXIT_FAIL;
		path = tmp;
	} else if (kind != ANSER_FILE_NATIVE) {
		return cli_error("'%s' is not an anser model file or a .pth "
		                 "checkpoint", path);
	}
	if (anser_model_open_opts(path, &mo, out, &err))
		rc = cli_fail(&err);
	/* The file the model came from: the cached native file for a name,
	 * the checkpoint itself for a converted .pth. */
	if (file)
		snprintf(file, size, "%s", tmp[0] ? arg : path);
	/* The mapping keeps a converted file alive: remove its name now, so
	 * nothing is left behind however the run ends. */
	if (tmp[0])
		unlink(tmp);
	return rc;
}
