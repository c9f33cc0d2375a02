/*
 * score.c - log-probabilities of a token sequence under the model, the
 * primitive of perplexity and `anser run --score`.
 */
#include "internal.h"

enum anser_status anser_score(struct anser_ctx *ctx, struct anser_state *s,
                              int vocab_size, const int32_t *tokens, size_t n,
                              double *lp, uint8_t *greedy,
                              struct anser_err *err)
{
	struct anser_seq q = { .state = s, .tokens = tokens, .n = n,
	                       .targets = tokens + 1, .lp = lp,
	                       .greedy = greedy };
	enum anser_status st;
	uint8_t *want;

	(void)vocab_size;
	if (n < 1)
		return ANSER_OK;
	/* Position i predicts tokens[i + 1]; the last position has nothing to
	 * predict, but its token still advances the state. */
	want = anser_malloc(n);
	if (!want)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	memset(want, 1, n - 1);
	want[n - 1] = 0;
	q.want = want;
	st = anser_eval_batch(ctx, &q, 1, err);
	anser_free(want);
	return st;
}
