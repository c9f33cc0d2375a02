/*
 * run.c - 'anser run': generate text, chat, or score text with a model.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "textout.h"

static const char usage[] =
	"usage: anser run [-v] [--chat] [--ids] [--no-mmap] [--score] [-f file]\n"
	"                 [-n count] [--frequency-penalty x] [--penalty-decay x]\n"
	"                 [--presence-penalty x] [--seed n] [--state-in file]\n"
	"                 [--state-out file] [--stop string] [--temperature x]\n"
	"                 [--threads n] [--top-k n] [--top-p x] model [prompt]\n";

static const char help[] =
	"\nGenerate text from a prompt (the argument, -f FILE, or standard input),\n"
	"chat, or score text.  MODEL is an anser model file; a .pth checkpoint\n"
	"is converted first.\n"
	"\noptions:\n"
	"  -f, --file FILE           read the prompt (or the text to score) from FILE\n"
	"  -n, --max-tokens N        generate at most N tokens (default 256)\n"
	"      --stop STRING         stop when STRING is generated (repeatable)\n"
	"      --temperature X       sampling temperature, 0 for greedy (default 1)\n"
	"      --top-p X             nucleus sampling mass (default: see man page)\n"
	"      --top-k N             keep the N most likely tokens, 0 for all\n"
	"      --presence-penalty X  penalty for a token already generated\n"
	"      --frequency-penalty X penalty per occurrence of a token\n"
	"      --penalty-decay X     occurrences fade by X per token\n"
	"      --seed N              random seed (default: from the clock)\n"
	"      --threads N           threads (default: the number of cores)\n"
	"      --no-mmap             read the model into memory at start (2 MB\n"
	"                            pages: faster decoding, slower start)\n"
	"      --state-in FILE       start from a saved state or a state-tuning .pth\n"
	"      --state-out FILE      save the state at the end\n"
	"      --chat                interactive User/Assistant turns\n"
	"      --score               print the log-probability of each token\n"
	"      --ids                 prompt and output are token ids, not text\n"
	"  -v, --verbose             print speed figures on standard error\n"
	"  -h, --help                show this help\n";

#define MAX_STOPS 32

struct opts {
	const char *model, *prompt, *file, *state_in, *state_out;
	const char *stops[MAX_STOPS + 2];
	int n_stops, max_tokens, threads, verbose, chat, score, ids, no_mmap;
	int seed_set;
	struct anser_sampler_params sp;
};

/* What a run works with, built once. */
struct session {
	struct opts *o;
	struct anser_model *model;
	struct anser_tokenizer *tok;
	struct anser_ctx *ctx;
	struct anser_state *state;
	struct anser_sampler *sampler;
	float *logits;         /* [V] */
	int V;
	double prefill_s, decode_s;
	long prefill_n, decode_n;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return 0;
	*out = v;
	return 1;
}

static int parse_float(const char *s, double lo, double hi, float *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return 0;
	*out = (float)v;
	return 1;
}

/* ---------------------------------------------------------------- input */

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 1 << 16, n = 0, k;
	char *buf = malloc(cap + 1);

	while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			char *p = realloc(buf, cap * 2 + 1);
			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (!buf || ferror(f)) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The prompt text: the argument, -f FILE ('-' is stdin), or stdin when it
 * is not a terminal.  NULL with *len 0 means no prompt at all. */
static int get_text(const struct opts *o, char **text, size_t *len)
{
	FILE *f;

	*text = NULL;
	*len = 0;
	if (o->prompt && !o->file && !(o->score && !strcmp(o->prompt, "-"))) {
		if (o->score)
			goto from_file;
		*len = strlen(o->prompt);
		*text = strdup(o->prompt);
		return *text ? 0 : cli_error("out of memory");
	}
from_file:
	if (o->file || (o->score && o->prompt)) {
		const char *path = o->file ? o->file : o->prompt;
		if (!strcmp(path, "-"))
			goto from_stdin;
		f = fopen(path, "rb");
		if (!f)
			return cli_error("cannot open '%s': %s", path,
			                 strerror(errno));
		*text = read_all(f, len);
		fclose(f);
		return *text ? 0 : cli_error("cannot read '%s'", path);
	}
	if (isatty(STDIN_FILENO))
		return 0;
from_stdin:
	*text = read_all(stdin, len);
	return *text ? 0 : cli_error("cannot read standard input");
}

/* Text to ids: the tokenizer, or with --ids whitespace-separated numbers. */
static int tokenize(struct session *s, const char *text, size_t len,
                    int32_t **ids, size_t *n)
{
	*ids = malloc((len + 1) * sizeof(int32_t));
	*n = 0;
	if (!*ids)
		return cli_error("out of memory");
	if (!s->o->ids) {
		*n = anser_tokenizer_encode(s->tok, text, len, *ids);
		return 0;
	}
	for (const char *p = text; p < text + len;) {
		char *end;
		long v;
		while (p < text + len && strchr(" \t\r\n,", *p))
			p++;
		if (p >= text + len)
			break;
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno || v < 0 || v >= s->V) {
			free(*ids);
			*ids = NULL;
			return cli_error("--ids: '%.20s' is not a token id of this "
			                 "model (0..%d)", p, s->V - 1);
		}
		(*ids)[(*n)++] = (int32_t)v;
		p = end;
	}
	return 0;
}

/* ---------------------------------------------------------------- set-up */

static int open_model(struct session *s)
{
	struct anser_err err = { 0 };
	enum anser_status st;

	if (cli_open_model(s->o->model, s->o->no_mmap, &s->model, NULL, 0))
		return EXIT_FAIL;
	s->V = anser_model_hparams(s->model)->vocab_size;
	if (!s->o->ids) {
		st = anser_tokenizer_from_model(s->model, &s->tok, &err);
		if (st == ANSER_E_NOTFOUND)
			return cli_error("'%s' has no tokenizer: pass token ids "
			                 "with --ids, or convert it with a vocab",
			                 s->o->model);
		if (st)
			return cli_fail(&err);
	}
	return 0;
}

static int setup(struct session *s)
{
	struct anser_ctx_params cp = { .n_threads = s->o->threads };
	struct anser_err err = { 0 };

	if (open_model(s))
		return EXIT_FAIL;
	if (anser_ctx_new(s->model, &cp, &s->ctx, &err) ||
	    anser_state_new(s->model, &s->state, &err) ||
	    anser_sampler_new(&s->o->sp, s->V, &s->sampler, &err))
		return cli_fail(&err);
	s->logits = malloc((size_t)s->V * sizeof(float));
	if (!s->logits)
		return cli_error("out of memory");
	if (s->o->state_in && anser_state_load(s->state, s->o->state_in, &err))
		return cli_fail(&err);
	return 0;
}

static void teardown(struct session *s)
{
	free(s->logits);
	anser_sampler_free(s->sampler);
	anser_state_free(s->state);
	anser_ctx_free(s->ctx);
	anser_tokenizer_free(s->tok);
	anser_model_free(s->model);
}

/* ---------------------------------------------------------------- modes */

/* Feeds ids, leaving the last position's logits in s->logits. */
static int feed(struct session *s, const int32_t *ids, size_t n, int prefill)
{
	struct anser_err err = { 0 };
	double t0 = now();

	if (anser_eval(s->ctx, s->state, ids, n, NULL, s->logits, &err))
		return cli_fail(&err);
	if (prefill) {
		s->prefill_s += now() - t0;
		s->prefill_n += (long)n;
	} else {
		s->decode_s += now() - t0;
		s->decode_n += (long)n;
	}
	return 0;
}

/* Samples up to max_tokens after the logits in s->logits; every emitted
 * token is fed back, so the state ends after the last one. */
static int generate(struct session *s, struct textout *out)
{
	for (int i = 0; i < s->o->max_tokens; i++) {
		int32_t t = anser_sampler_sample(s->sampler, s->logits);
		int stop;

		anser_sampler_accept(s->sampler, t);
		if (t == 0) /* end of text */
			break;
		if (s->o->ids) {
			printf("%d\n", t);
			fflush(stdout);
			stop = 0;
		} else {
			size_t len;
			const uint8_t *b = anser_tokenizer_token(s->tok, t, &len);
			stop = textout_push(out, b, len);
		}
		if (feed(s, &t, 1, 0))
			return EXIT_FAIL;
		if (stop || ferror(stdout))
			break;
	}
	return 0;
}

static int run_generate(struct session *s)
{
	struct textout out;
	int32_t *ids = NULL, zero = 0;
	size_t len, n;
	char *text;
	int rc;

	if (get_text(s->o, &text, &len))
		return EXIT_FAIL;
	if (tokenize(s, text ? text : "", len, &ids, &n)) {
		free(text);
		return EXIT_FAIL;
	}
	/* An empty prompt starts a document: token 0. */
	rc = n ? feed(s, ids, n, 1) : feed(s, &zero, 1, 1);
	textout_init(&out, stdout, s->o->stops);
	if (!rc)
		rc = generate(s, &out);
	textout_finish(&out);
	textout_free(&out);
	free(ids);
	free(text);
	return rc;
}

/* One "User: ... / Assistant:" turn per line of input, state kept. */
static int run_chat(struct session *s)
{
	const char *stops[MAX_STOPS + 2];
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	int tty = isatty(STDIN_FILENO), n = 0;

	for (int i = 0; i < s->o->n_stops; i++)
		stops[n++] = s->o->stops[i];
	stops[n++] = "\n\n"; /* the end of an assistant turn */
	stops[n] = NULL;
	for (;;) {
		struct textout out;
		char *msg;
		int32_t *ids;
		int ended;
		size_t nids, len;
		int rc;

		if (tty) {
			fputs("User: ", stdout);
			fflush(stdout);
		}
		if ((got = getline(&line, &cap, stdin)) < 0)
			break;
		while (got && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = '\0';
		if (!got)
			continue;
		/* One line is one message, so it holds no blank line (which
		 * would end the turn early). */
		len = (size_t)got + 32;
		msg = malloc(len);
		if (!msg)
			return cli_error("out of memory");
		snprintf(msg, len, "User: %s\n\nAssistant:", line);
		if (tokenize(s, msg, strlen(msg), &ids, &nids)) {
			free(msg);
			return EXIT_FAIL;
		}
		rc = feed(s, ids, nids, 1);
		free(ids);
		free(msg);
		if (rc)
			return EXIT_FAIL;
		fputs("Assistant:", stdout);
		textout_init(&out, stdout, stops);
		rc = generate(s, &out);
		ended = out.stopped;
		textout_finish(&out);
		textout_free(&out);
		fputs("\n\n", stdout);
		fflush(stdout);
		if (rc)
			return EXIT_FAIL;
		/* The state must hold the turn's end, "\n\n", as the model
		 * wrote it; when it stopped otherwise, feed it. */
		if (!ended) {
			int32_t nl[2];
			size_t k = anser_tokenizer_encode(s->tok, "\n\n", 2, nl);
			if (feed(s, nl, k, 1))
				return EXIT_FAIL;
		}
	}
	free(line);
	return 0;
}

/* Token 0, then the text; one line per text token on stdout. */
static int run_score(struct session *s)
{
	struct anser_err err = { 0 };
	int32_t *ids = NULL;
	double *lp = NULL, total = 0, t0;
	size_t len, n;
	char *text;
	int rc = EXIT_FAIL;

	if (get_text(s->o, &text, &len))
		return EXIT_FAIL;
	if (!text)
		return cli_error("no text to score: give a file, '-' or pipe it "
		                 "in");
	if (tokenize(s, text, len, &ids, &n))
		goto out;
	memmove(ids + 1, ids, n * sizeof(*ids));
	ids[0] = 0;
	n++;
	lp = malloc(n * sizeof(*lp));
	if (!lp) {
		cli_error("out of memory");
		goto out;
	}
	t0 = now();
	if (anser_score(s->ctx, s->state, s->V, ids, n, lp, NULL, &err)) {
		cli_fail(&err);
		goto out;
	}
	s->prefill_s += now() - t0;
	s->prefill_n += (long)n;
	for (size_t i = 1; i < n; i++) {
		printf("%d\t%.6f\t", ids[i], lp[i - 1]);
		if (s->tok) {
			size_t tl;
			const uint8_t *b = anser_tokenizer_token(s->tok, ids[i], &tl);
			print_escaped(stdout, b, tl);
		}
		putchar('\n');
		total += lp[i - 1];
	}
	fprintf(stderr, "anser run: %zu tokens, log-probability %.4f, "
	        "perplexity %.4f\n", n - 1, total,
	        n > 1 ? exp(-total / (double)(n - 1)) : 1.0);
	rc = 0;
out:
	free(lp);
	free(ids);
	free(text);
	return rc;
}

/* ---------------------------------------------------------------- main */

enum {
	O_CHAT = 256, O_IDS, O_SCORE, O_STOP, O_TEMP, O_TOPP, O_TOPK, O_PRES,
	O_FREQ, O_DECAY, O_SEED, O_THREADS, O_SIN, O_SOUT, O_NOMMAP,
};

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "max-tokens", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "chat", no_argument, NULL, O_CHAT },
		{ "ids", no_argument, NULL, O_IDS },
		{ "score", no_argument, NULL, O_SCORE },
		{ "stop", required_argument, NULL, O_STOP },
		{ "temperature", required_argument, NULL, O_TEMP },
		{ "top-p", required_argument, NULL, O_TOPP },
		{ "top-k", required_argument, NULL, O_TOPK },
		{ "presence-penalty", required_argument, NULL, O_PRES },
		{ "frequency-penalty", required_argument, NULL, O_FREQ },
		{ "penalty-decay", required_argument, NULL, O_DECAY },
		{ "seed", required_argument, NULL, O_SEED },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "state-in", required_argument, NULL, O_SIN },
		{ "state-out", required_argument, NULL, O_SOUT },
		{ "no-mmap", no_argument, NULL, O_NOMMAP },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	while ((c = getopt_long(argc, argv, ":f:n:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': o->file = optarg; break;
		case 'v': o->verbose = 1; break;
		case O_CHAT: o->chat = 1; break;
		case O_IDS: o->ids = 1; break;
		case O_SCORE: o->score = 1; break;
		case O_SIN: o->state_in = optarg; break;
		case O_SOUT: o->state_out = optarg; break;
		case O_NOMMAP: o->no_mmap = 1; break;
		case 'n':
			if (!parse_long(optarg, 0, 1L << 30, &v))
				return cli_usage_error(usage, "-n wants a count "
				                       "of 0 or more, not '%s'", optarg);
			o->max_tokens = (int)v;
			break;
		case O_STOP:
			if (o->n_stops == MAX_STOPS || !*optarg)
				return cli_usage_error(usage, "--stop wants a "
				                       "non-empty string (at most "
				                       "%d)", MAX_STOPS);
			o->stops[o->n_stops++] = optarg;
			break;
		case O_TEMP:
			if (!parse_float(optarg, 0, 100, &o->sp.temperature))
				return cli_usage_error(usage, "--temperature wants "
				                       "0..100, not '%s'", optarg);
			break;
		case O_TOPP:
			if (!parse_float(optarg, 0, 1, &o->sp.top_p))
				return cli_usage_error(usage, "--top-p wants 0..1, "
				                       "not '%s'", optarg);
			break;
		case O_TOPK:
			if (!parse_long(optarg, 0, 1L << 30, &v))
				return cli_usage_error(usage, "--top-k wants a count, "
				                       "not '%s'", optarg);
			o->sp.top_k = (int)v;
			break;
		case O_PRES:
		case O_FREQ:
		case O_DECAY: {
			float *dst = c == O_PRES ? &o->sp.presence_penalty :
			             c == O_FREQ ? &o->sp.frequency_penalty :
			             &o->sp.penalty_decay;
			if (!parse_float(optarg, c == O_DECAY ? 0 : -100,
			                 c == O_DECAY ? 1 : 100, dst))
				return cli_usage_error(usage, "'%s' is not a valid "
				                       "value for %s", optarg,
				                       argv[optind - 1]);
			break;
		}
		case O_SEED:
			if (!parse_long(optarg, 0, LONG_MAX, &v))
				return cli_usage_error(usage, "--seed wants a "
				                       "number, not '%s'", optarg);
			o->sp.seed = (uint64_t)v;
			o->seed_set = 1;
			break;
		case O_THREADS:
			if (!parse_long(optarg, 1, 256, &v))
				return cli_usage_error(usage, "--threads wants 1..256, "
				                       "not '%s'", optarg);
			o->threads = (int)v;
			break;
		case 'h':
			printf("%s%s", usage, help);
			return -1;
		default:
			return cli_bad_option(usage, c, argv);
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(usage, "no model given");
	if (argc - optind > 2)
		return cli_usage_error(usage, "too many arguments (quote the "
		                       "prompt)");
	o->model = argv[optind];
	o->prompt = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (o->chat + o->score > 1)
		return cli_usage_error(usage, "--chat and --score conflict");
	if (o->chat && (o->prompt || o->file || o->ids))
		return cli_usage_error(usage, "--chat reads its turns from "
		                       "standard input, as text");
	if (o->file && o->prompt)
		return cli_usage_error(usage, "give the prompt or -f, not both");
	if (o->ids && o->n_stops)
		return cli_usage_error(usage, "--stop works on text, not with "
		                       "--ids");
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct opts o = { .max_tokens = 256 };
	struct session s = { .o = &o };
	struct anser_err err = { 0 };
	int rc;

	anser_sampler_params_default(&o.sp);
	rc = parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (!o.seed_set)
		o.sp.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	rc = setup(&s);
	if (!rc)
		rc = o.score ? run_score(&s) : o.chat ? run_chat(&s) :
		     run_generate(&s);
	if (!rc && o.state_out &&
	    anser_state_save(s.state, o.state_out, &err))
		rc = cli_fail(&err);
	if (!rc && o.verbose)
		fprintf(stderr, "anser: prefill %ld tokens in %.3f s (%.2f tok/s), "
		        "decode %ld tokens in %.3f s (%.2f tok/s)\n",
		        s.prefill_n, s.prefill_s,
		        s.prefill_s > 0 ? s.prefill_n / s.prefill_s : 0.0,
		        s.decode_n, s.decode_s,
		        s.decode_s > 0 ? s.decode_n / s.decode_s : 0.0);
	teardown(&s);
	return rc;
}
