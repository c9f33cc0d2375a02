/*
 * metrics.c - per-task numbers from per-document results, as the harness
 * aggregates them (eval-harness.md 2.3, 2.4).
 */
#include <math.h>
#include <stdlib.h>

#include "eval.h"

#define BOOTSTRAP_ITERS 100000

static void add(struct eval_summary *s, const char *name, double v, double se,
                int hib)
{
	if (s->n_metrics < EVAL_MAX_METRICS)
		s->m[s->n_metrics++] = (struct eval_metric){ name, v, se, hib };
}

void eval_metrics_ll(const struct eval_result *r, size_t n,
                     struct eval_summary *out)
{
	double *acc = malloc((n ? n : 1) * sizeof(double));
	double *ll = malloc((n ? n : 1) * sizeof(double));

	if (!acc || !ll) {
		free(acc);
		free(ll);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		acc[i] = r[i].greedy[0];
		ll[i] = r[i].ll[0];
	}
	out->n = n;
	add(out, "acc", eval_mean(acc, n), eval_mean_stderr(acc, n), 1);
	add(out, "perplexity", exp(-eval_mean(ll, n)),
	    eval_ppl_stderr(ll, n, BOOTSTRAP_ITERS), 0);
	free(acc);
	free(ll);
}

/* numpy argmax: the first of equal maxima. */
static int argmax(const double *x, int k)
{
	int best = 0;
	for (int j = 1; j < k; j++)
		if (x[j] > x[best])
			best = j;
	return best;
}

void eval_metrics_mc(const struct eval_doc *docs,
                     const struct eval_result *r, size_t n,
                     struct eval_summary *out)
{
	double *acc = malloc((n ? n : 1) * sizeof(double));
	double *accn = malloc((n ? n : 1) * sizeof(double));

	if (!acc || !accn) {
		free(acc);
		free(accn);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		double norm[EVAL_MAX_CHOICES];
		int k = docs[i].n_choices;
		for (int j = 0; j < k; j++) {
			/* Length in characters, without the target delimiter. */
			const char *c = docs[i].choices[j];
			size_t len = eval_codepoints(c[0] == ' ' ? c + 1 : c);
			norm[j] = r[i].ll[j] / (double)(len ? len : 1);
		}
		acc[i] = argmax(r[i].ll, k) == docs[i].gold;
		accn[i] = argmax(norm, k) == docs[i].gold;
	}
	out->n = n;
	add(out, "acc", eval_mean(acc, n), eval_mean_stderr(acc, n), 1);
	add(out, "acc_norm", eval_mean(accn, n), eval_mean_stderr(accn, n), 1);
	free(acc);
	free(accn);
}

void eval_metrics_ppl(double ll, size_t n_tokens, size_t n_bytes,
                      size_t n_words, struct eval_summary *out)
{
	out->n = n_tokens;
	add(out, "bits_per_byte", n_bytes ? -ll / ((double)n_bytes * log(2.0)) :
	    NAN, NAN, 0);
	add(out, "byte_perplexity", n_bytes ? exp(-ll / (double)n_bytes) : NAN,
	    NAN, 0);
	add(out, "token_perplexity", n_tokens ? exp(-ll / (double)n_tokens) :
	    NAN, NAN, 0);
	add(out, "word_perplexity", n_words ? exp(-ll / (double)n_words) : NAN,
	    NAN, 0);
}

void eval_metrics_group(const struct eval_summary *members, size_t k,
                        struct eval_summary *out)
{
	double acc[16] = { 0 }, se[16] = { 0 };
	size_t sizes[16] = { 0 }, total = 0;

	if (k > 16)
		k = 16;
	for (size_t i = 0; i < k; i++) {
		acc[i] = members[i].m[0].value;      /* acc is first */
		se[i] = members[i].m[0].stderr_;
		sizes[i] = members[i].n;
		total += sizes[i];
		if (out->n_subtasks < 16)
			out->subtasks[out->n_subtasks++] = members[i].name;
	}
	out->n = total;
	/* Size-weighted mean: all xStoryCloze languages have 1511 stories. */
	{
		double sum = 0;
		for (size_t i = 0; i < k; i++)
			sum += acc[i] * (double)sizes[i];
		add(out, "acc", total ? sum / (double)total : NAN,
		    eval_pooled_stderr(se, sizes, k), 1);
	}
}
