/*
 * eval.c - 'anser eval': benchmarks scored the way lm-evaluation-harness
 * v0.4.8 scores them (the scoring, data and reports live in eval/).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../eval/eval.h"
#include "cmd.h"

static const char usage[] =
	"usage: anser eval [-v] [--compare] [--no-mmap] [--data-dir dir]\n"
	"                  [--json file] [--kl-base base] [--limit n]\n"
	"                  [--prefix 0|newline|none] [--samples file] [--threads n]\n"
	"                  model task ...\n";

static const char help[] =
	"\nScore benchmarks as lm-evaluation-harness v0.4.8 does.  Tasks:\n"
	"  lambada_openai, lambada_openai_mt_{en,de,es,fr,it},\n"
	"  lambada_multilingual (the five), xstorycloze_{en,ru,zh,es,ar,hi,\n"
	"  id,te,sw,eu,my}, xstorycloze (the group), ppl FILE\n"
	"\noptions:\n"
	"      --data-dir DIR   where the benchmark files are (default $ANSER_DATA)\n"
	"      --json FILE      write the results in the harness's JSON layout\n"
	"      --kl-base BASE   ppl only: run the text through BASE too (the same\n"
	"                       model in f32, say) and report KL(BASE || model),\n"
	"                       top-1 agreement and BASE's perplexity\n"
	"      --samples FILE   one JSON line per document; rerun to resume\n"
	"      --limit N        only the first N documents of each task\n"
	"      --prefix P       before each context: 0 (token 0, the default),\n"
	"                       newline, or none\n"
	"      --threads N      threads (default: the number of cores)\n"
	"      --no-mmap        read the model (and BASE) into memory at start\n"
	"      --compare        print published numbers beside ours\n"
	"  -v, --verbose        print timing on standard error\n"
	"  -h, --help           show this help\n";

#define MAX_TASKS 32
/* Tokens per step of --kl-base: two [64][V] buffers of logits, 32 MiB for
 * the World vocab, however long the text. */
#define KL_CHUNK 64

struct opts {
	const char *data_dir, *json, *samples, *prefix_name, *kl_base;
	enum eval_prefix prefix;
	long limit;
	int threads, compare, verbose, no_mmap;
	const struct eval_task *tasks[MAX_TASKS];
	const char *ppl_file[MAX_TASKS];
	int n_tasks;
	int groups;                /* xstorycloze asked for as a group */
};

/* --kl-base: the base model, run beside the model on each ppl text. */
struct kl_base {
	struct anser_model *model;
	struct anser_ctx *ctx;
	char sha[65];                         /* of the file opened */
	char file[4096];
	struct eval_kl_report rep[MAX_TASKS]; /* per task */
	struct eval_kl_times times[MAX_TASKS];
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- progress */

struct progress {
	const char *task;
	size_t total, done;
	double t0;
	int tty;
	struct eval_samples *samples;
	const struct eval_doc *docs;
	struct anser_err *err;
};

/* A document is scored: its line goes to --samples. */
static int on_doc(void *arg, size_t doc, const struct eval_result *r,
                  const struct eval_detail *d)
{
	struct progress *p = arg;

	p->done++;
	return p->samples && eval_samples_write(p->samples, p->task,
	                                        &p->docs[doc], doc, r, d,
	                                        p->err);
}

/* A batch is done: flush --samples (the resume point), show progress. */
static int on_batch(void *arg, size_t begin, size_t end)
{
	struct progress *p = arg;

	(void)begin;
	(void)end;
	if (p->samples && eval_samples_flush(p->samples, p->err))
		return 1;
	if (p->tty) {
		double dt = now() - p->t0, rate = dt > 0 ? p->done / dt : 0;
		double eta = rate > 0 ? (p->total - p->done) / rate : 0;
		fprintf(stderr, "\r%s: %zu/%zu documents, %.1f/s, ETA %d:%02d  ",
		        p->task, p->done, p->total, rate, (int)eta / 60,
		        (int)eta % 60);
	}
	return interrupted != 0;
}

/* ---------------------------------------------------------------- tasks */

static int parse_tasks(int argc, char **argv, struct opts *o)
{
	for (int i = 0; i < argc; i++) {
		const char *name = argv[i];
		const struct eval_task *members[16];
		size_t k = 0;

		if (!strcmp(name, "xstorycloze")) {
			k = eval_group_members("xstorycloze", members, 16);
			o->groups = 1;
		} else if (!strcmp(name, "lambada_multilingual")) {
			static const char *const mt[] = { "en", "de", "es", "fr", "it" };
			char n[64];
			for (k = 0; k < 5; k++) {
				snprintf(n, sizeof(n), "lambada_openai_mt_%s", mt[k]);
				members[k] = eval_find_task(n);
			}
		} else if ((members[0] = eval_find_task(name))) {
			k = 1;
		} else {
			return cli_usage_error(usage, "unknown task '%s'", name);
		}
		for (size_t j = 0; j < k; j++) {
			int dup = 0;
			/* A task named twice (or also in a group) runs once. */
			for (int q = 0; q < o->n_tasks; q++)
				dup |= o->tasks[q] == members[j] &&
				       members[j]->kind != EVAL_PERPLEXITY;
			if (dup)
				continue;
			if (o->n_tasks == MAX_TASKS)
				return cli_usage_error(usage, "too many tasks");
			o->tasks[o->n_tasks] = members[j];
			if (members[j]->kind == EVAL_PERPLEXITY) {
				if (i + 1 >= argc)
					return cli_usage_error(usage, "ppl needs a "
					                       "FILE");
				o->ppl_file[o->n_tasks] = argv[++i];
			}
			o->n_tasks++;
		}
	}
	if (!o->n_tasks)
		return cli_usage_error(usage, "no task given");
	return 0;
}

/*
 * Perplexity of a whole text file: token 0, then the text.  With a base
 * (kb not NULL), the same ids also go through the base, the comparison
 * lands in kb->rep[task], and the model's perplexity comes from that pass.
 */
static int run_ppl(const struct opts *o, int task, struct anser_ctx *ctx,
                   const struct anser_tokenizer *tok,
                   const struct anser_model *m, struct kl_base *kb,
                   struct eval_summary *out)
{
	const char *path = o->ppl_file[task];
	struct anser_err err = { 0 };
	struct anser_state *st = NULL, *bst = NULL;
	struct eval_kl acc = { 0 };
	FILE *f = fopen(path, "rb");
	size_t len = 0, cap = 1 << 16, n, words = 0;
	char *text = malloc(cap);
	int32_t *ids = NULL;
	double *lp = NULL, ll = 0, t0 = now();
	int rc = EXIT_FAIL, in_word = 0;

	if (!f || !text) {
		cli_error("cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	while ((n = fread(text + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			char *p = realloc(text, cap *= 2);
			if (!p) {
				cli_error("out of memory");
				goto out;
			}
			text = p;
		}
	}
	/* Words as the harness's wikitext counts them: split on whitespace. */
	for (size_t i = 0; i < len; i++) {
		int space = strchr(" \t\n\r\v\f", text[i]) != NULL;
		if (!space && !in_word)
			words++;
		in_word = !space;
	}
	ids = malloc((len + 1) * sizeof(*ids));
	lp = kb ? NULL : malloc((len + 1) * sizeof(*lp));
	if (!ids || (!kb && !lp)) {
		cli_error("out of memory");
		goto out;
	}
	ids[0] = 0;
	n = 1 + anser_tokenizer_encode(tok, text, len, ids + 1);
	if (anser_state_new(m, &st, &err)) {
		cli_fail(&err);
		goto out;
	}
	if (kb) {
		if (anser_state_new(kb->model, &bst, &err) ||
		    eval_kl_score(ctx, st, kb->ctx, bst,
		                  anser_model_hparams(m)->vocab_size, ids, n,
		                  KL_CHUNK, o->threads, &interrupted, &acc,
		                  &kb->times[task], &err)) {
			if (interrupted)
				cli_error("interrupted while scoring '%s'", path);
			else
				cli_fail(&err);
			goto out;
		}
		ll = acc.ll_model;
		eval_kl_summarize(&acc, &kb->rep[task]);
		out->kl = &kb->rep[task];
	} else {
		if (anser_score(ctx, st, anser_model_hparams(m)->vocab_size, ids,
		                n, lp, NULL, &err)) {
			cli_fail(&err);
			goto out;
		}
		for (size_t t = 0; t + 1 < n; t++)
			ll += lp[t];
	}
	eval_metrics_ppl(ll, n - 1, len, words, out);
	out->seconds = now() - t0;
	rc = 0;
out:
	if (f)
		fclose(f);
	free(text);
	free(ids);
	free(lp);
	eval_kl_free(&acc);
	anser_state_free(st);
	anser_state_free(bst);
	return rc;
}

/*
 * A task's data: in --data-dir or $ANSER_DATA when one is given; without
 * either, fetched once from its Hugging Face dataset into the hub cache.
 */
static int locate(const struct opts *o, const struct eval_task *t, char *path,
                  size_t size)
{
	const char *env = getenv("ANSER_DATA");
	const char *dirs[2] = { o->data_dir, env };
	struct anser_hub_opts ho = { .cancel = &interrupted };
	struct anser_err err = { 0 };
	enum anser_status st;

	st = eval_locate(t, dirs, 2, path, size, &err);
	if (st != ANSER_E_NOTFOUND || o->data_dir || (env && *env))
		return st ? cli_fail(&err) : 0;
	if (isatty(STDERR_FILENO))
		ho.progress = cli_hub_progress;
	st = eval_fetch(t, &ho, path, size, &err);
	if (ho.progress)
		fprintf(stderr, "\r\033[K");
	if (st)
		return cli_error("no data for %s: %s (or put %s in a folder given "
		                 "by --data-dir or $ANSER_DATA)", t->name, err.msg,
		                 t->file);
	return 0;
}

/* One document task: data, resume, scoring, metrics. */
static int run_task(const struct opts *o, const struct eval_task *t,
                    struct eval_scorer *sc, struct eval_samples *samples,
                    struct eval_summary *out)
{
	struct anser_err err = { 0 };
	struct eval_doc *docs = NULL;
	struct eval_result *res = NULL;
	size_t n = 0, n_all, loaded = 0;
	struct progress p = { .task = t->name, .tty = isatty(STDERR_FILENO),
	                      .samples = samples, .err = &err };
	char path[4096];
	int rc = EXIT_FAIL;

	if (locate(o, t, path, sizeof(path)))
		return EXIT_FAIL;
	if (t->kind == EVAL_LOGLIKELIHOOD ?
	    eval_read_lambada(path, &docs, &n, &err) :
	    eval_read_xstorycloze(path, &docs, &n, &err))
		return cli_fail(&err);
	n_all = n;
	if (o->limit >= 0 && (size_t)o->limit < n)
		n = (size_t)o->limit;
	res = calloc(n ? n : 1, sizeof(*res));
	if (!res) {
		cli_error("out of memory");
		goto out;
	}
	if (samples && eval_samples_load(samples, t->name, docs, res, n,
	                                 eval_scorer_batch(sc, n ? docs[0].n_choices : 1),
	                                 &loaded, &err)) {
		cli_fail(&err);
		goto out;
	}
	if (loaded && o->verbose)
		cli_note("%s: %zu of %zu documents from '%s'", t->name, loaded, n,
		         o->samples);
	p.total = n;
	p.done = loaded;
	p.docs = docs;
	p.t0 = now();
	if (eval_score(sc, docs, res, n, on_doc, on_batch, &p, &err)) {
		if (p.tty)
			fputc('\n', stderr);
		if (interrupted)
			cli_error("interrupted after %zu of %zu documents of %s%s",
			          p.done, n, t->name, o->samples ? "; run the same "
			          "command again to resume" : "");
		else
			cli_fail(&err);
		goto out;
	}
	if (p.tty)
		fprintf(stderr, "\r%*s\r", 60, "");
	out->n_original = n_all;
	if (t->kind == EVAL_LOGLIKELIHOOD)
		eval_metrics_ll(res, n, out);
	else
		eval_metrics_mc(docs, res, n, out);
	out->seconds = now() - p.t0;
	rc = 0;
out:
	eval_free_docs(docs, n_all);
	free(res);
	return rc;
}

/* ---------------------------------------------------------------- output */

static void print_compare(const struct eval_summary *s, size_t n,
                          const char *source)
{
	int any = 0;

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < s[i].n_metrics; k++) {
			const struct eval_published *p =
				eval_published_for(source, s[i].name, s[i].m[k].name);
			if (!p)
				continue;
			if (!any++)
				printf("\nPublished numbers for %s:\n", source);
			printf("  %s %s: ours %.4f, published %.4f (%s)\n",
			       s[i].name, s[i].m[k].name, s[i].m[k].value, p->value,
			       p->source);
		}
	if (!any)
		printf("\nNo published numbers known for '%s' (known: RWKV-7 "
		       "World 0.1B, 1.5B and 2.9B releases; see anser-eval(1)).\n",
		       source);
}

static char *command_line(int argc, char **argv)
{
	size_t len = 16;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	snprintf(s, len, "anser");
	for (int i = 0; i < argc; i++) {
		size_t at = strlen(s);
		snprintf(s + at, len - at, " %s", argv[i]);
	}
	return s;
}

/* ---------------------------------------------------------------- main */

/* Opens --kl-base (a file or a name, as the model) beside the model `m`,
 * checks the two can be compared, and gives it a context of its own. */
static int open_base(const struct opts *o, const char *model_arg,
                     const struct anser_model *m, struct kl_base **out)
{
	struct anser_ctx_params cp = { .n_threads = o->threads };
	struct anser_err err = { 0 };
	struct kl_base *kb = calloc(1, sizeof(*kb));

	*out = kb;
	if (!kb)
		return cli_error("out of memory");
	if (cli_open_model(o->kl_base, o->no_mmap, &kb->model, kb->file,
	                   sizeof(kb->file)))
		return EXIT_FAIL;
	if (eval_kl_check(m, kb->model, &err))
		return cli_error("base '%s' does not match '%s': %s", o->kl_base,
		                 model_arg, err.msg);
	if (anser_ctx_new(kb->model, &cp, &kb->ctx, &err) ||
	    (o->json && anser_sha256_file(kb->file, kb->sha, &err)))
		return cli_fail(&err);
	return 0;
}

static void free_base(struct kl_base *kb)
{
	if (!kb)
		return;
	anser_ctx_free(kb->ctx);
	anser_model_free(kb->model);
	free(kb);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "json", required_argument, NULL, 'j' },
		{ "kl-base", required_argument, NULL, 'k' },
		{ "samples", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "compare", no_argument, NULL, 'c' },
		{ "no-mmap", no_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o->data_dir = optarg; break;
		case 'j': o->json = optarg; break;
		case 'k': o->kl_base = optarg; break;
		case 's': o->samples = optarg; break;
		case 'c': o->compare = 1; break;
		case 'M': o->no_mmap = 1; break;
		case 'v': o->verbose = 1; break;
		case 'l':
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end ||
			    v < (c == 'l' ? 0 : 1) || v > (c == 'l' ? 1L << 30 : 256))
				return cli_usage_error(usage, "'%s' is not a valid "
				                       "value for %s", optarg,
				                       argv[optind - 1]);
			if (c == 'l')
				o->limit = v;
			else
				o->threads = (int)v;
			break;
		case 'p':
			o->prefix_name = optarg;
			if (!strcmp(optarg, "0"))
				o->prefix = EVAL_PREFIX_EOT;
			else if (!strcmp(optarg, "newline"))
				o->prefix = EVAL_PREFIX_NEWLINE;
			else if (!strcmp(optarg, "none"))
				o->prefix = EVAL_PREFIX_NONE;
			else
				return cli_usage_error(usage, "--prefix is 0, "
				                       "newline or none, not '%s'",
				                       optarg);
			break;
		case 'h':
			printf("%s%s", usage, help);
			return -1;
		default:
			return cli_bad_option(usage, c, argv);
		}
	}
	if (argc - optind < 2)
		return cli_usage_error(usage, argc == optind ? "no model given" :
		                       "no task given");
	if ((c = parse_tasks(argc - optind - 1, argv + optind + 1, o)))
		return c;
	/* The comparison needs every position's logits: only ppl has them. */
	for (int i = 0; o->kl_base && i < o->n_tasks; i++)
		if (o->tasks[i]->kind != EVAL_PERPLEXITY)
			return cli_usage_error(usage, "--kl-base applies to ppl "
			                       "only, not %s", o->tasks[i]->name);
	return 0;
}

int cmd_eval(int argc, char **argv)
{
	struct opts o = { .limit = -1, .prefix_name = "0" };
	struct anser_err err = { 0 };
	struct anser_model *m = NULL;
	struct anser_tokenizer *tok = NULL;
	struct anser_ctx *ctx = NULL;
	struct eval_scorer *sc = NULL;
	struct eval_samples *samples = NULL;
	struct kl_base *kb = NULL;
	struct eval_summary sum[MAX_TASKS], group = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	char sha[65], model_file[4096];
	double t0 = now();
	int rc;

	memset(sum, 0, sizeof(sum));
	rc = parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	/* Find (or fetch) every data file before loading the model. */
	for (int i = 0; i < o.n_tasks; i++) {
		char path[4096];
		if (o.tasks[i]->kind != EVAL_PERPLEXITY &&
		    locate(&o, o.tasks[i], path, sizeof(path)))
			return EXIT_FAIL;
	}
	if (cli_open_model(argv[optind], o.no_mmap, &m, model_file,
	                   sizeof(model_file)))
		return EXIT_FAIL;
	rc = EXIT_FAIL;
	{
		struct anser_ctx_params cp = { .n_threads = o.threads };
		enum anser_status st = anser_tokenizer_from_model(m, &tok, &err);
		if (st == ANSER_E_NOTFOUND) {
			cli_error("'%s' has no tokenizer: convert it with the World "
			          "vocab", argv[optind]);
			goto out;
		}
		if (st || anser_ctx_new(m, &cp, &ctx, &err) ||
		    eval_scorer_new(ctx, m, tok, o.prefix, 0, &sc, &err) ||
		    anser_sha256_file(model_file, sha, &err)) {
			cli_fail(&err);
			goto out;
		}
	}
	if (o.kl_base && open_base(&o, argv[optind], m, &kb))
		goto out;
	if (o.samples && eval_samples_open(o.samples, sha, o.prefix_name,
	                                   &samples, &err)) {
		cli_fail(&err);
		goto out;
	}
	/* ^C: finish the batch, keep what --samples has, exit. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (int i = 0; i < o.n_tasks; i++) {
		const struct eval_task *t = o.tasks[i];
		sum[i].name = t->name;
		/* The harness indents a group's members under it. */
		sum[i].alias = t->name;
		sum[i].version = t->version;
		if (t->kind == EVAL_PERPLEXITY ?
		    run_ppl(&o, i, ctx, tok, m, kb, &sum[i]) :
		    run_task(&o, t, sc, samples, &sum[i]))
			goto out;
	}
	eval_print_table(stdout, sum, (size_t)o.n_tasks, 0);
	if (o.groups) {
		struct eval_summary members[16];
		size_t k = 0;
		for (int i = 0; i < o.n_tasks && k < 16; i++)
			if (o.tasks[i]->group)
				members[k++] = sum[i];
		group.name = group.alias = "xstorycloze";
		group.version = 1.0;
		group.is_group = 1;
		eval_metrics_group(members, k, &group);
		putchar('\n');
		eval_print_table(stdout, &group, 1, 1);
	}
	for (int i = 0; kb && i < o.n_tasks; i++)
		eval_print_kl(stdout, o.ppl_file[i], o.kl_base, &kb->rep[i]);
	if (o.compare)
		print_compare(sum, (size_t)o.n_tasks,
		              anser_model_meta(m)->source_file);
	if (o.json) {
		char *cl = command_line(argc, argv);
		struct eval_run_info info = {
			.model_path = argv[optind], .model_sha256 = sha,
			.source_file = anser_model_meta(m)->source_file,
			.source_sha256 = anser_model_meta(m)->source_sha256,
			.prefix = o.prefix_name, .limit = o.limit,
			.threads = o.threads, .command_line = cl ? cl : "",
			.seconds = now() - t0,
		};
		if (kb) {
			info.kl_base_path = o.kl_base;
			info.kl_base_sha256 = kb->sha;
			info.kl_base_source = anser_model_meta(kb->model)->source_file;
			info.kl_base_source_sha256 =
				anser_model_meta(kb->model)->source_sha256;
		}
		if (eval_write_json(o.json, sum, (size_t)o.n_tasks, &group,
		                    o.groups ? 1 : 0, &info, &err)) {
			free(cl);
			cli_fail(&err);
			goto out;
		}
		free(cl);
	}
	fflush(stdout);
	if (o.verbose)
		for (int i = 0; i < o.n_tasks; i++) {
			fprintf(stderr, "anser: %s: %zu documents in %.2f s (%.1f/s)\n",
			        sum[i].name, sum[i].n, sum[i].seconds,
			        sum[i].seconds > 0 ? sum[i].n / sum[i].seconds : 0.0);
			if (kb)
				fprintf(stderr, "anser: %s: model %.2f s, base %.2f s, "
				        "kl %.2f s\n", sum[i].name,
				        kb->times[i].model, kb->times[i].base,
				        kb->times[i].kl);
		}
	rc = 0;
out:
	eval_samples_close(samples);
	eval_scorer_free(sc);
	free_base(kb);
	anser_ctx_free(ctx);
	anser_tokenizer_free(tok);
	anser_model_free(m);
	if (interrupted) {
		signal(interrupted, SIG_DFL);
		raise(interrupted);
	}
	return rc;
}
