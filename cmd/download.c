/*
 * download.c - 'anser download': files from the Hugging Face Hub into its
 * cache (or a folder), or a model by name with its vocab.  The local paths
 * go to stdout, one per line; a progress bar goes to stderr when it is a
 * terminal.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cmd.h"

static const char usage[] =
	"usage: anser download [-q] [--dry-run] [--force] [--list] [-j jobs] "
	"[--cache-dir dir] [--exclude glob] [--include glob] [--local-dir dir] "
	"[--repo-type type] [--revision rev] [--token token] repo [file ...]\n";

static const char help[] =
	"\nDownload files from the Hugging Face Hub into its cache, which "
	"'hf download'\nshares, or a released RWKV-7 model and the World vocab "
	"by name (see --list).\nrepo is org/name, hf://[datasets/]org/name[@rev]"
	"[/path] or a huggingface.co\nURL; a file may be a glob, and 'dir/' "
	"means everything under dir.\n"
	"\noptions:\n"
	"      --cache-dir DIR   the Hub cache (default: $HF_HUB_CACHE, or "
	"$HF_HOME/hub)\n"
	"      --dry-run         list what would be downloaded; fetch nothing\n"
	"      --exclude GLOB    skip the files matching GLOB (repeatable)\n"
	"      --force           download again even what is cached\n"
	"      --include GLOB    only the files matching GLOB (repeatable)\n"
	"  -j, --jobs N          files downloaded at once (default 8)\n"
	"      --list            list the models known by name\n"
	"      --local-dir DIR   put the files in DIR instead of the cache\n"
	"  -q, --quiet           print only the paths\n"
	"      --repo-type TYPE  model (default), dataset or space\n"
	"      --revision REV    branch, tag, refs/pr/N or commit (default: "
	"main)\n"
	"      --token TOKEN     access token (default: $HF_TOKEN, or the "
	"token file)\n"
	"  -h, --help            show this help\n";

static volatile sig_atomic_t interrupted;
static int bar_drawn;

/* huggingface_hub's truth values: 1, ON, YES, TRUE in any case. */
static int env_true(const char *name)
{
	const char *v = getenv(name);

	return v && (!strcmp(v, "1") || !strcasecmp(v, "on") ||
	             !strcasecmp(v, "yes") || !strcasecmp(v, "true"));
}

static void on_signal(int sig)
{
	/* Atomic: the library's download threads read it. */
	__atomic_store_n(&interrupted, sig, __ATOMIC_RELAXED);
}

static void draw(const struct anser_hub_progress *p, void *arg)
{
	struct winsize ws;
	int width = 80;
	char line[512];

	(void)arg;
	if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 20)
		width = ws.ws_col;
	anser_hub_progress_line(p, width - 1, line, sizeof(line));
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	bar_drawn = 1;
}

static void clear_bar(void)
{
	if (bar_drawn)
		fprintf(stderr, "\r\033[K");
	bar_drawn = 0;
}

static int list_models(void)
{
	size_t n;
	const struct anser_model_entry *t = anser_model_table(&n);
	char size[32];

	printf("%-17s %-9s %-22s %s\n", "name", "size", "", "repo/file");
	for (size_t i = 0; i < n; i++)
		printf("%-17s %-9s %-22s %s/%s\n", t[i].name,
		       cli_human_bytes(t[i].size, size, sizeof(size)), t[i].note,
		       t[i].repo, t[i].file);
	printf("\nThe World vocab (%s) comes from %s.\n", ANSER_VOCAB_FILE,
	       anser_model_vocab_repo(0));
	return EXIT_OK;
}

static void print_plan(const struct anser_hub_result *r)
{
	size_t todo = 0;
	char size[32];

	for (size_t i = 0; i < r->n_files; i++)
		todo += !r->files[i].cached;
	printf("will download %zu of %zu file%s, %s\n", todo, r->n_files,
	       r->n_files == 1 ? "" : "s",
	       cli_human_bytes(r->bytes_to_fetch, size, sizeof(size)));
	for (size_t i = 0; i < r->n_files; i++)
		printf("%-10s %10s  %s\n", r->files[i].cached ? "cached" :
		       "download", cli_human_bytes(r->files[i].size, size,
		                                   sizeof(size)),
		       r->files[i].path);
}

/*
 * One repo: download, then print the paths (or the plan).  With `quiet_miss`
 * a missing repo or file is not reported, only returned as -1 (the vocab
 * has fallbacks).
 */
static int fetch(const char *repo, struct anser_hub_opts *o, int dry_run,
                 int quiet_miss)
{
	struct anser_hub_result res;
	struct anser_err err = { 0 };
	enum anser_status st;

	st = anser_hub_download(repo, o, &res, &err);
	clear_bar();
	if (st) {
		int miss = res.error == ANSER_HUB_E_FILE ||
		           res.error == ANSER_HUB_E_REPO;
		anser_hub_result_free(&res);
		return quiet_miss && miss ? -1 : cli_fail(&err);
	}
	if (dry_run)
		print_plan(&res);
	else
		for (size_t i = 0; i < res.n_files; i++)
			printf("%s\n", res.files[i].local_path);
	anser_hub_result_free(&res);
	return EXIT_OK;
}

int cmd_download(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "dry-run",   no_argument,       NULL, 'n' },
		{ "exclude",   required_argument, NULL, 'x' },
		{ "force",     no_argument,       NULL, 'f' },
		{ "include",   required_argument, NULL, 'i' },
		{ "jobs",      required_argument, NULL, 'j' },
		{ "list",      no_argument,       NULL, 'l' },
		{ "local-dir", required_argument, NULL, 'L' },
		{ "quiet",     no_argument,       NULL, 'q' },
		{ "repo-type", required_argument, NULL, 't' },
		{ "revision",  required_argument, NULL, 'r' },
		{ "token",     required_argument, NULL, 'T' },
		{ "help",      no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct anser_hub_opts o = { .cancel = &interrupted };
	struct anser_hub_ref ref;
	struct anser_err err = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	const char **inc = calloc((size_t)argc + 1, sizeof(*inc));
	const char **exc = calloc((size_t)argc + 1, sizeof(*exc));
	const char **files = calloc((size_t)argc + 2, sizeof(*files));
	const char *type = NULL, *repo;
	const struct anser_model_entry *model;
	int c, list = 0, quiet = 0, nfiles = 0, folders = 0, status;
	char *end;
	long jobs;

	if (!inc || !exc || !files) {
		status = cli_error("out of memory");
		goto out;
	}
	while ((c = getopt_long(argc, argv, ":j:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'C': o.cache_dir = optarg; break;
		case 'n': o.dry_run = 1; break;
		case 'x': exc[o.n_exclude++] = optarg; break;
		case 'f': o.force = 1; break;
		case 'i': inc[o.n_include++] = optarg; break;
		case 'l': list = 1; break;
		case 'L': o.local_dir = optarg; break;
		case 'q': quiet = 1; break;
		case 't': type = optarg; break;
		case 'r': o.revision = optarg; break;
		case 'T': o.token = optarg; break;
		case 'j':
			jobs = strtol(optarg, &end, 10);
			if (*end || end == optarg || jobs < 1 || jobs > 64) {
				status = cli_usage_error(usage, "--jobs takes a number "
				                         "from 1 to 64, not '%s'",
				                         optarg);
				goto out;
			}
			o.jobs = (int)jobs;
			break;
		case 'h':
			printf("%s%s", usage, help);
			status = EXIT_OK;
			goto out;
		default:
			status = cli_bad_option(usage, c, argv);
			goto out;
		}
	}
	o.include = inc;
	o.exclude = exc;
	if (list) {
		status = argc > optind ?
		         cli_usage_error(usage, "--list takes no repo") :
		         list_models();
		goto out;
	}
	if (argc == optind) {
		status = cli_usage_error(usage, "no repo given");
		goto out;
	}
	if (o.local_dir && o.cache_dir) {
		status = cli_usage_error(usage, "--local-dir and --cache-dir "
		                         "conflict: the cache is shared, a local "
		                         "dir is yours");
		goto out;
	}
	if (type) {
		int t = anser_repo_type_parse(type);
		if (t < 0) {
			status = cli_usage_error(usage, "unknown repo type '%s' "
			                         "(model, dataset or space)", type);
			goto out;
		}
		o.repo_type = (enum anser_repo_type)t;
	}
	repo = argv[optind];
	for (int i = optind + 1; i < argc; i++) {
		files[nfiles++] = argv[i];
		folders += argv[i][0] && argv[i][strlen(argv[i]) - 1] == '/';
	}

	/* A model by name: its checkpoint, then the World vocab. */
	model = strchr(repo, '/') || strchr(repo, ':') ? NULL :
	        anser_model_lookup(repo);
	if (model) {
		if (nfiles || type || o.revision || o.n_include || o.n_exclude) {
			status = cli_usage_error(usage, "'%s' is a model name: it "
			                         "takes no files, --repo-type, "
			                         "--revision, --include or --exclude",
			                         repo);
			goto out;
		}
	} else {
		if (anser_hub_parse_ref(repo, getenv("HF_ENDPOINT"), &ref, &err)) {
			status = cli_fail(&err);
			goto out;
		}
		int dup_type = type && ref.has_type;
		if (strcmp(ref.repo_id, repo) &&
		    (dup_type || (o.revision && ref.has_revision))) {
			status = cli_usage_error(usage, "'%s' already says the %s; "
			                         "drop %s", repo, dup_type ? "type" :
			                         "revision", dup_type ? "--repo-type" :
			                         "--revision");
			goto out;
		}
		if (ref.has_type)
			o.repo_type = ref.type;
		if (ref.has_revision)
			o.revision = ref.revision;
		if (ref.path[0]) {
			if (nfiles) {
				status = cli_usage_error(usage, "'%s' names a file "
				                         "already; name no others",
				                         repo);
				goto out;
			}
			files[nfiles++] = ref.path;
			folders += ref.path[strlen(ref.path) - 1] == '/';
		}
	}
	if (folders && (o.n_include || o.n_exclude)) {
		status = cli_usage_error(usage, "a folder argument cannot be "
		                         "combined with --include or --exclude; "
		                         "use --include 'dir/*' instead");
		goto out;
	}
	if (nfiles > folders && (o.n_include || o.n_exclude)) {
		if (!quiet)
			cli_warn("--include and --exclude are ignored when files "
			         "are named");
		o.n_include = o.n_exclude = 0;
	}
	o.files = files;
	o.n_files = (size_t)nfiles;
	if (!quiet && !o.dry_run && isatty(STDERR_FILENO) &&
	    !env_true("HF_HUB_DISABLE_PROGRESS_BARS"))
		o.progress = draw;

	/* ^C stops cleanly: the partial file stays for the next run. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (model) {
		const char *ckpt = model->file, *voc = ANSER_VOCAB_FILE;
		o.files = &ckpt;
		o.n_files = 1;
		status = fetch(model->repo, &o, o.dry_run, 0);
		o.files = &voc;
		/* The vocab from the first repo that has it. */
		for (size_t i = 0; status == EXIT_OK; i++) {
			int more = anser_model_vocab_repo(i + 1) != NULL;
			status = fetch(anser_model_vocab_repo(i), &o, o.dry_run,
			               more);
			if (status >= 0)
				break;
			status = EXIT_OK;
		}
	} else {
		status = fetch(ref.repo_id, &o, o.dry_run, 0);
	}
	if (interrupted) {
		fflush(stdout);
		free(inc);
		free(exc);
		free(files);
		signal(interrupted, SIG_DFL);
		raise(interrupted);
	}
out:
	free(inc);
	free(exc);
	free(files);
	return status;
}
