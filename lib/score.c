/*
 * score.c - log-probabilities of a token sequence under the model, the
 * primitive of perplexity, `anser run --score` and the benchmarks.
 */
#include <math.h>

#include "internal.h"

#define WINDOW 128 /* positions whose logits are held at once: WINDOW * V floats */

/* log p(token) from one row of logits, in double; *greedy = token is argmax
 * (ties count as greedy only for the lowest id, like torch.argmax). */
static double logprob(const float *row, size_t V, int32_t token, int *greedy)
{
	double max = row[0], sum = 0.0;
	size_t arg = 0;

	for (size_t i = 1; i < V; i++)
		if (row[i] > max) {
			max = row[i];
			arg = i;
		}
	for (size_t i = 0; i < V; i++)
		sum += exp((double)row[i] - max);
	*greedy = arg == (size_t)token;
	return (double)row[token] - max - log(sum);
}

enum anser_status anser_score(struct anser_ctx *ctx, struct anser_state *s,
                              int vocab_size, const int32_t *tokens, size_t n,
                              double *lp, uint8_t *greedy,
                              struct anser_err *err)
{
	const size_t V = (size_t)vocab_size;
	float *logits;
	enum anser_status st = ANSER_OK;

	if (n < 1)
		return ANSER_OK;
	logits = anser_malloc(WINDOW * V * sizeof(float));
	if (!logits)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	/* Position i's logits predict tokens[i + 1]; the last position has
	 * nothing to predict, but its token still advances the state. */
	for (size_t at = 0; at < n && !st; at += WINDOW) {
		size_t w = n - at < WINDOW ? n - at : WINDOW;
		uint8_t want[WINDOW];
		size_t rows = 0;

		for (size_t t = 0; t < w; t++) {
			want[t] = at + t + 1 < n;
			rows += want[t];
		}
		st = anser_eval(ctx, s, tokens + at, w, want, rows ? logits : NULL,
		                err);
		for (size_t t = 0; !st && t < rows; t++) {
			int g;
			lp[at + t] = logprob(logits + t * V, V, tokens[at + t + 1], &g);
			if (greedy)
				greedy[at + t] = (uint8_t)g;
		}
	}
	anser_free(logits);
	return st;
}
