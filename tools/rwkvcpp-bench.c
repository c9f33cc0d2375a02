/*
 * rwkvcpp-bench.c - times rwkv.cpp on one model file, for
 * tools/bench-rwkvcpp.sh.  It is the peer's half of the side-by-side
 * benchmark; 'bench_infer --model' is ours, and both follow the same
 * protocol so that their figures can be divided:
 *
 *   prompt  ids p[i] = (i * 7919) % 65000 + 1, i < PROMPT (default 512)
 *   warm-up one whole prefill and 8 single tokens, not timed (rwkv.cpp
 *           builds its graph for a sequence length on first use)
 *   prefill PROMPT tokens from the initial state, logits of the last
 *           token only; best of REPS (default 3)
 *   decode  DECODE (default 64) single tokens after the prompt, with the
 *           full logits each; best of REPS blocks
 *   check   the top token and its logit after the prompt, which should
 *           agree between the tools on the same weights
 *
 * Output is key=value lines for the script.  Not part of the build: the
 * script compiles it against $RWKV_CPP's rwkv.h and librwkv with cc.
 *
 *   rwkvcpp-bench --model FILE [--threads N] [--chunk N] [--reps N]
 *                 [--prompt N] [--decode N] [--check]
 *
 * --chunk 0 (the default) feeds the prompt to rwkv_eval_sequence in one
 * call; --chunk N uses rwkv_eval_sequence_in_chunks with N tokens a call.
 * --check also prints how far the logits after a 16-token sequence call
 * are from those of 16 single-token calls (sequence mode vs RNN mode).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "rwkv.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *msg, struct rwkv_context *ctx)
{
	fprintf(stderr, "rwkvcpp-bench: %s (rwkv.cpp error 0x%x)\n", msg,
	        (unsigned)rwkv_get_last_error(ctx));
	exit(1);
}

static long parse_count(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "rwkvcpp-bench: %s: bad value '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

struct opts {
	const char *model;
	long threads, chunk, reps, prompt, decode;
	int check;
};

/* Feeds the prompt from the initial state into state; logits of the last. */
static void prefill(struct rwkv_context *ctx, const struct opts *o,
                    const uint32_t *ids, float *state, float *logits)
{
	int ok;

	if (o->chunk > 0)
		ok = rwkv_eval_sequence_in_chunks(ctx, ids, (size_t)o->prompt,
		                                  (size_t)o->chunk, NULL, state,
		                                  logits);
	else
		ok = rwkv_eval_sequence(ctx, ids, (size_t)o->prompt, NULL, state,
		                        logits);
	if (!ok)
		die("prefill failed", ctx);
}

/* Largest |a - b| over n floats; NaN if either holds one. */
static double max_diff(const float *a, const float *b, size_t n)
{
	double m = 0;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		if (d != d)
			return d;
		if (d > m)
			m = d;
	}
	return m;
}

static void check_sequence(struct rwkv_context *ctx, const uint32_t *ids,
                           size_t n_state, size_t n_vocab)
{
	float *s1 = malloc(n_state * sizeof(float));
	float *s2 = malloc(n_state * sizeof(float));
	float *l1 = malloc(n_vocab * sizeof(float));
	float *l2 = malloc(n_vocab * sizeof(float));
	double scale = 0;

	if (!s1 || !s2 || !l1 || !l2)
		die("out of memory", NULL);
	if (!rwkv_eval_sequence(ctx, ids, 16, NULL, s1, l1))
		die("16-token sequence failed", ctx);
	rwkv_init_state(ctx, s2);
	for (int i = 0; i < 16; i++)
		if (!rwkv_eval(ctx, ids[i], s2, s2, l2))
			die("single-token eval failed", ctx);
	for (size_t i = 0; i < n_vocab; i++)
		if (fabs(l2[i]) > scale)
			scale = fabs(l2[i]);
	printf("check_logits_maxdiff=%.3g\ncheck_logits_maxabs=%.3g\n"
	       "check_state_maxdiff=%.3g\n", max_diff(l1, l2, n_vocab), scale,
	       max_diff(s1, s2, n_state));
	free(s1);
	free(s2);
	free(l1);
	free(l2);
}

int main(int argc, char **argv)
{
	struct opts o = { NULL, 2, 0, 3, 512, 64, 0 };
	struct rwkv_context *ctx;
	struct rusage ru;
	uint32_t *ids;
	float *state, *logits;
	size_t n_state, n_vocab, argmax;
	double maxlogit;
	double best_prefill = 0, best_decode = 0, load;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--check")) {
			o.check = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "usage: rwkvcpp-bench --model FILE [--threads N] "
			        "[--chunk N] [--reps N] [--prompt N] [--decode N] [--check]\n");
			return 2;
		}
		if (!strcmp(a, "--model"))
			o.model = v;
		else if (!strcmp(a, "--threads"))
			o.threads = parse_count(a, v, 1, 256);
		else if (!strcmp(a, "--chunk"))
			o.chunk = parse_count(a, v, 0, 1 << 16);
		else if (!strcmp(a, "--reps"))
			o.reps = parse_count(a, v, 1, 1000);
		else if (!strcmp(a, "--prompt"))
			o.prompt = parse_count(a, v, 16, 1 << 16);
		else if (!strcmp(a, "--decode"))
			o.decode = parse_count(a, v, 1, 1 << 20);
		else {
			fprintf(stderr, "rwkvcpp-bench: unknown option '%s'\n", a);
			return 2;
		}
		i++;
	}
	if (!o.model) {
		fprintf(stderr, "rwkvcpp-bench: --model FILE is required\n");
		return 2;
	}

	load = now();
	ctx = rwkv_init_from_file(o.model, (uint32_t)o.threads, 0);
	if (!ctx)
		die("cannot load the model", NULL);
	load = now() - load;
	n_state = rwkv_get_state_len(ctx);
	n_vocab = rwkv_get_logits_len(ctx);
	ids = malloc((size_t)o.prompt * sizeof(*ids));
	state = malloc(n_state * sizeof(float));
	logits = malloc(n_vocab * sizeof(float));
	if (!ids || !state || !logits)
		die("out of memory", NULL);
	for (long i = 0; i < o.prompt; i++)
		ids[i] = (uint32_t)((i * 7919) % 65000 + 1) % (uint32_t)n_vocab;

	if (o.check)
		check_sequence(ctx, ids, n_state, n_vocab);

	/* Warm-up: builds the sequence graph, faults the weights in. */
	prefill(ctx, &o, ids, state, logits);
	for (int i = 0; i < 8; i++)
		if (!rwkv_eval(ctx, ids[i], state, state, logits))
			die("decode failed", ctx);

	for (long r = 0; r < o.reps; r++) {
		double t = now();

		prefill(ctx, &o, ids, state, logits);
		t = now() - t;
		if (o.prompt / t > best_prefill)
			best_prefill = o.prompt / t;
	}
	argmax = 0;
	for (size_t i = 1; i < n_vocab; i++)
		if (logits[i] > logits[argmax])
			argmax = i;
	maxlogit = logits[argmax];
	/* The state now holds the prompt; decode continues from it. */
	for (long r = 0; r < o.reps; r++) {
		double t = now();

		for (long i = 0; i < o.decode; i++)
			if (!rwkv_eval(ctx, ids[i % o.prompt], state, state, logits))
				die("decode failed", ctx);
		t = now() - t;
		if (o.decode / t > best_decode)
			best_decode = o.decode / t;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("system_info=%s\n", rwkv_get_system_info_string());
	printf("tool=rwkv.cpp\nthreads=%ld\nchunk=%ld\nreps=%ld\n"
	       "load_s=%.3f\nprefill_tokens=%ld\nprefill_tok_s=%.2f\n"
	       "decode_tokens=%ld\ndecode_tok_s=%.2f\npeak_rss_mb=%.0f\n"
	       "prompt_argmax=%zu\nprompt_maxlogit=%.4f\n", o.threads, o.chunk,
	       o.reps, load, o.prompt, best_prefill, o.decode, best_decode,
	       ru.ru_maxrss / 1024.0, argmax, maxlogit);
	free(ids);
	free(state);
	free(logits);
	rwkv_free(ctx);
	return 0;
}
