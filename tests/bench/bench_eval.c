/*
 * bench_eval.c - LAMBADA scoring speed for 'make bench'.
 *
 *   bench_eval MODEL VOCAB LAMBADA [DOCS [NAIVE_DOCS [CHUNK]]]
 *
 * Scores the first DOCS (500) documents of lambada_test.jsonl with the
 * batched scorer of 'anser eval', and the first NAIVE_DOCS (40) the naive
 * way, measured in the same run: one token at a time, full logits at every
 * step, log-softmax of the continuation rows.  Prints documents/s and
 * tokens/s of both, their ratio, and the time the whole 5153-document set
 * would take.
 */
#include <math.h>
#include <time.h>

#include "../../eval/eval.h"
#include "../../lib/internal.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The naive path: token by token, full logits each step. */
static double naive(struct anser_ctx *ctx, struct anser_state *st,
                    const struct anser_tokenizer *tok, const struct eval_doc *d,
                    int V, size_t *tokens)
{
	size_t cl = strlen(d->context), wl = strlen(d->choices[0]);
	int32_t *ids = malloc((cl + wl + 2) * sizeof(int32_t));
	float *logits = malloc((size_t)V * sizeof(float));
	size_t n_ctx, n;
	char *all = malloc(cl + wl + 1);
	double ll = 0;

	memcpy(all, d->context, cl);
	memcpy(all + cl, d->choices[0], wl);
	ids[0] = 0;
	n_ctx = 1 + anser_tokenizer_encode(tok, d->context, cl, ids + 1);
	n = 1 + anser_tokenizer_encode(tok, all, cl + wl, ids + 1);
	anser_state_reset(st);
	for (size_t t = 0; t + 1 < n; t++) {
		anser_eval(ctx, st, &ids[t], 1, NULL, logits, NULL);
		if (t + 1 >= n_ctx) {
			double mx = logits[0], sum = 0;
			for (int i = 1; i < V; i++)
				if (logits[i] > mx)
					mx = logits[i];
			for (int i = 0; i < V; i++)
				sum += exp(logits[i] - mx);
			ll += logits[ids[t + 1]] - mx - log(sum);
		}
	}
	*tokens += n;
	free(ids);
	free(logits);
	free(all);
	return ll;
}

int main(int argc, char **argv)
{
	struct anser_err err = { 0 };
	struct anser_model *m = NULL;
	struct anser_tokenizer *tok = NULL;
	struct anser_ctx *ctx = NULL;
	struct anser_state *st = NULL;
	struct eval_scorer *sc = NULL;
	struct eval_doc *docs = NULL;
	struct eval_result *res;
	size_t n = 0, want = argc > 4 ? strtoul(argv[4], NULL, 10) : 500;
	size_t n_naive = argc > 5 ? strtoul(argv[5], NULL, 10) : 40, vlen;
	size_t tok_fast = 0, tok_naive = 0;
	double t, fast_s, naive_s, diff = 0;
	struct anser_ctx_params cp = {
		.chunk = argc > 6 ? (int)strtol(argv[6], NULL, 10) : 0,
	};
	char *vocab;

	if (argc < 4) {
		fprintf(stderr, "usage: bench_eval model vocab lambada [docs [naive]]\n");
		return 2;
	}
	vocab = slurp(argv[2], &vlen);
	if (anser_model_open(argv[1], &m, &err) || !vocab ||
	    anser_tokenizer_new(vocab, vlen, &tok, &err) ||
	    anser_ctx_new(m, &cp, &ctx, &err) || anser_state_new(m, &st, &err) ||
	    eval_read_lambada(argv[3], &docs, &n, &err) ||
	    eval_scorer_new(ctx, m, tok, EVAL_PREFIX_EOT, 0, &sc, &err)) {
		fprintf(stderr, "bench_eval: %s\n", err.msg);
		return 1;
	}
	if (want > n)
		want = n;
	if (n_naive > want)
		n_naive = want;
	res = calloc(want, sizeof(*res));
	t = now();
	if (eval_score(sc, docs, res, want, NULL, NULL, NULL, &err)) {
		fprintf(stderr, "bench_eval: %s\n", err.msg);
		return 1;
	}
	fast_s = now() - t;
	for (size_t i = 0; i < want; i++)
		tok_fast += (size_t)(res[i].ctx_tokens + res[i].n_tokens[0]);
	t = now();
	for (size_t i = 0; i < n_naive; i++) {
		double ll = naive(ctx, st, tok, &docs[i],
		                  anser_model_hparams(m)->vocab_size, &tok_naive);
		if (fabs(ll - res[i].ll[0]) > diff)
			diff = fabs(ll - res[i].ll[0]);
	}
	naive_s = now() - t;
	printf("%-34s %9.1f docs/s %9.0f tok/s  (%zu documents)\n",
	       "batched scorer (anser eval)", want / fast_s, tok_fast / fast_s,
	       want);
	printf("%-34s %9.2f docs/s %9.0f tok/s  (%zu documents)\n",
	       "naive: one token, full logits", n_naive / naive_s,
	       tok_naive / naive_s, n_naive);
	printf("speed-up: %.1fx (documents/s); largest log-likelihood "
	       "difference %.1e\n", (want / fast_s) / (n_naive / naive_s), diff);
	printf("projection for all 5153 documents: %.1f minutes batched, "
	       "%.1f minutes naive\n", 5153 / (want / fast_s) / 60,
	       5153 / (n_naive / naive_s) / 60);
	eval_free_docs(docs, n);
	free(res);
	free(vocab);
	eval_scorer_free(sc);
	anser_state_free(st);
	anser_ctx_free(ctx);
	anser_tokenizer_free(tok);
	anser_model_free(m);
	return 0;
}
