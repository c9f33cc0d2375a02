/*
 * kl.c - quality accounting: how far a model's next-token distributions are
 * from a base model's (normally the same weights in f32) over one text,
 * as KL(base || model), top-1 agreement and both perplexities.
 *
 * Both models see the same token ids, a chunk at a time, with the logits of
 * every row kept: two [chunk][V] buffers of float, the only memory that
 * depends on the vocab (64 x 65536 x 4 bytes x 2 = 32 MiB for the World
 * vocab).  Each position's KL is kept (8 bytes) for the percentile.
 */
#include <assert.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "../lib/internal.h"
#include "../lib/threads.h"
#include "eval.h"

/* ---------------------------------------------------------------- one row */

void eval_kl_row(const float *base, const float *model, size_t V,
                 int32_t target, struct eval_kl_pos *out)
{
	double mb = base[0], mm = model[0], sb = 0.0, sm = 0.0, t = 0.0;
	double lse_b, lse_m, kl;
	size_t ab = 0, am = 0;

	assert(V > 0 && target >= 0 && (size_t)target < V);
	/* Argmaxes (strictly greater: the lowest id wins a tie), and the
	 * maxima that keep exp() in range. */
	for (size_t i = 1; i < V; i++) {
		if (base[i] > mb) {
			mb = base[i];
			ab = i;
		}
		if (model[i] > mm) {
			mm = model[i];
			am = i;
		}
	}
	/*
	 * With lb_i = b_i - lse_b and lm_i = m_i - lse_m the two log-softmaxes,
	 * KL = sum_i p_i (lb_i - lm_i) = sum_i p_i (b_i - m_i) - (lse_b - lse_m)
	 * since sum_i p_i = 1.  One pass over the row then needs two exp()
	 * per entry, not three, and equal rows give t = 0 and lse_b == lse_m,
	 * so exactly 0.  A logit of -inf has p_i = 0 and adds nothing.
	 */
	for (size_t i = 0; i < V; i++) {
		double eb = exp((double)base[i] - mb);
		sb += eb;
		sm += exp((double)model[i] - mm);
		if (eb > 0.0)
			t += eb * ((double)base[i] - (double)model[i]);
	}
	lse_b = mb + log(sb);
	lse_m = mm + log(sm);
	kl = t / sb - (lse_b - lse_m);
	/* KL >= 0; a result a few ulps below is rounding. */
	out->kl = kl < 0.0 ? 0.0 : kl;
	out->lp_base = (double)base[target] - lse_b;
	out->lp_model = (double)model[target] - lse_m;
	out->top_base = (int32_t)ab;
	out->top_model = (int32_t)am;
}

/* ---------------------------------------------------------------- totals */

enum anser_status eval_kl_add(struct eval_kl *k, const struct eval_kl_pos *p,
                              struct anser_err *err)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 1024;
		double *kl = cap > SIZE_MAX / sizeof(double) ? NULL :
		             anser_realloc(k->kl, cap * sizeof(double));
		if (!kl)
			return anser_errf(err, ANSER_E_NOMEM, "out of memory");
		k->kl = kl;
		k->cap = cap;
	}
	k->kl[k->n++] = p->kl;
	k->agree += p->top_base == p->top_model;
	k->ll_base += p->lp_base;
	k->ll_model += p->lp_model;
	return ANSER_OK;
}

void eval_kl_free(struct eval_kl *k)
{
	anser_free(k->kl);
	memset(k, 0, sizeof(*k));
}

/* Ascending, NaN (a model that produced NaN logits) last. */
static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return (x > y) - (x < y);
}

void eval_kl_summarize(struct eval_kl *k, struct eval_kl_report *out)
{
	const double n = (double)k->n;

	memset(out, 0, sizeof(*out));
	out->n = k->n;
	out->agree = k->agree;
	if (!k->n) {
		out->kl_mean = out->kl_mean_stderr = out->kl_p99 = NAN;
		out->kl_max = out->top1 = out->top1_stderr = NAN;
		out->base_ppl = out->model_ppl = NAN;
		return;
	}
	/* Mean and stderr in position order, before the sort. */
	out->kl_mean = eval_mean(k->kl, k->n);
	out->kl_mean_stderr = eval_mean_stderr(k->kl, k->n);
	out->top1 = (double)k->agree / n;
	/* The stderr of a mean of 0s and 1s, as eval_mean_stderr would give
	 * it: sqrt(p (1 - p) n / (n - 1)) / sqrt(n). */
	out->top1_stderr = k->n < 2 ? NAN :
	                   sqrt(out->top1 * (1.0 - out->top1) / (n - 1.0));
	out->base_ppl = exp(-k->ll_base / n);
	out->model_ppl = exp(-k->ll_model / n);
	qsort(k->kl, k->n, sizeof(double), by_value);
	/* Nearest rank: the smallest value with at least 99% of the positions
	 * at or below it. */
	out->kl_p99 = k->kl[(size_t)ceil(0.99 * n) - 1];
	out->kl_max = k->kl[k->n - 1];
}

/* ---------------------------------------------------------------- scoring */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The rows of one chunk, compared on the pool's threads. */
struct kl_job {
	const float *base, *model;  /* [m][V] */
	size_t V;
	const int32_t *targets;     /* [m] */
	struct eval_kl_pos *pos;    /* [m] */
};

static void kl_rows(void *arg, size_t begin, size_t end, int thread)
{
	const struct kl_job *j = arg;

	(void)thread;
	for (size_t r = begin; r < end; r++)
		eval_kl_row(j->base + r * j->V, j->model + r * j->V, j->V,
		            j->targets[r], &j->pos[r]);
}

enum anser_status eval_kl_score(struct anser_ctx *model_ctx,
                                struct anser_state *model_state,
                                struct anser_ctx *base_ctx,
                                struct anser_state *base_state, int V,
                                const int32_t *ids, size_t n, size_t chunk,
                                int n_threads,
                                const volatile sig_atomic_t *cancel,
                                struct eval_kl *k, struct eval_kl_times *times,
                                struct anser_err *err)
{
	const size_t v = V > 0 ? (size_t)V : 0;
	struct eval_kl_times t = { 0 };
	float *lm = NULL, *lb = NULL;      /* [chunk][V] each */
	uint8_t *want = NULL;              /* [chunk], all 1: every row */
	struct eval_kl_pos *pos = NULL;    /* [chunk] */
	struct pool *pool = NULL;
	enum anser_status st = ANSER_OK;

	if (!v || !chunk)
		return anser_errf(err, ANSER_E_ARG, "no vocab or no chunk");
	/* The last id is only a target, which anser_eval does not see. */
	for (size_t i = 0; i < n; i++)
		if (ids[i] < 0 || (size_t)ids[i] >= v)
			return anser_errf(err, ANSER_E_ARG, "token id %d is outside "
			                  "the vocab (0..%zu)", ids[i], v - 1);
	anser_state_reset(model_state);
	anser_state_reset(base_state);
	if (n < 2)
		return ANSER_OK;
	if (chunk > n - 1)
		chunk = n - 1;
	if (chunk > SIZE_MAX / sizeof(float) / v)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	lm = anser_malloc(chunk * v * sizeof(float));
	lb = anser_malloc(chunk * v * sizeof(float));
	want = anser_malloc(chunk);
	pos = anser_malloc(chunk * sizeof(*pos));
	if (n_threads < 1)
		n_threads = anser_cpu_count();
	/* Each row costs about 2V exp(); below a few rows' worth a pool is
	 * not worth its threads. */
	if (n_threads > 1 && chunk > 1)
		pool = pool_new(n_threads);
	if (!lm || !lb || !want || !pos || (n_threads > 1 && chunk > 1 && !pool)) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	memset(want, 1, chunk);
	/* Row t of the whole stream predicts ids[t + 1]: feed ids[0 .. n - 1);
	 * the last id is only ever a target. */
	for (size_t at = 0; at + 1 < n; at += chunk) {
		size_t m = n - 1 - at < chunk ? n - 1 - at : chunk;
		struct kl_job j = { lb, lm, v, ids + at + 1, pos };
		double t0;

		if (cancel && *cancel) {
			st = anser_errf(err, ANSER_E_CANCELLED, "interrupted");
			goto out;
		}
		t0 = now();
		if ((st = anser_eval(model_ctx, model_state, ids + at, m, want,
		                     lm, err)))
			goto out;
		t.model += now() - t0;
		t0 = now();
		if ((st = anser_eval(base_ctx, base_state, ids + at, m, want,
		                     lb, err)))
			goto out;
		t.base += now() - t0;
		t0 = now();
		if (pool)
			pool_run(pool, kl_rows, &j, m);
		else
			kl_rows(&j, 0, m, 0);
		/* Added in order, whatever the threads: the same sums. */
		for (size_t r = 0; r < m && !st; r++)
			st = eval_kl_add(k, &pos[r], err);
		t.kl += now() - t0;
		if (st)
			goto out;
	}
out:
	if (times) {
		times->model += t.model;
		times->base += t.base;
		times->kl += t.kl;
	}
	pool_free(pool);
	anser_free(lm);
	anser_free(lb);
	anser_free(want);
	anser_free(pos);
	return st;
}

/* ---------------------------------------------------------------- checks */

enum anser_status eval_kl_check(const struct anser_model *model,
                                const struct anser_model *base,
                                struct anser_err *err)
{
	const struct anser_hparams *a = anser_model_hparams(model);
	const struct anser_hparams *b = anser_model_hparams(base);
	const struct anser_model_meta *ma = anser_model_meta(model);
	const struct anser_model_meta *mb = anser_model_meta(base);
	/* The vocab first: it is what makes the comparison meaningless. */
	const struct {
		const char *what;
		int base, model;
	} dims[] = {
		{ "vocab size", b->vocab_size, a->vocab_size },
		{ "layers", b->n_layer, a->n_layer },
		{ "width", b->n_embd, a->n_embd },
		{ "heads", b->n_head, a->n_head },
		{ "head size", b->head_size, a->head_size },
		{ "feed-forward size", b->ffn_size, a->ffn_size },
		{ "decay LoRA size", b->lora_decay, a->lora_decay },
		{ "in-context LoRA size", b->lora_iclr, a->lora_iclr },
		{ "value LoRA size", b->lora_value, a->lora_value },
		{ "gate LoRA size", b->lora_gate, a->lora_gate },
	};

	for (size_t i = 0; i < ARRAY_SIZE(dims); i++)
		if (dims[i].base != dims[i].model)
			return anser_errf(err, ANSER_E_SHAPE, "%s %d, the model's %d",
			                  dims[i].what, dims[i].base, dims[i].model);
	if (strcmp(ma->tokenizer, mb->tokenizer))
		return anser_errf(err, ANSER_E_ARG, "tokenizer %s, the model's %s",
		                  mb->tokenizer, ma->tokenizer);
	if (strcmp(ma->vocab_sha256, mb->vocab_sha256))
		return anser_errf(err, ANSER_E_ARG, "another vocab (sha256 %.12s, "
		                  "the model's %.12s)", mb->vocab_sha256,
		                  ma->vocab_sha256);
	return ANSER_OK;
}
