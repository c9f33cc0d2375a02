/*
 * score.c - log-likelihoods of documents' continuations, as the harness
 * computes them, fast.
 *
 * A request (context, continuation) becomes tokens the harness's way
 * (eval-harness.md 2.2): trailing whitespace of the context moves to the
 * continuation; the continuation's ids are those of encode(context +
 * continuation) after the context's own ids; the input starts with the
 * prefix (token 0 by default); an empty context is token 0 alone.
 *
 * Speed comes from batching: many documents go through one anser_eval_batch
 * call so their rows share the matrix products.  A one-choice document
 * (LAMBADA) is a single sequence scored at its continuation rows.  A
 * multiple-choice document runs its context once, keeps the logits of its
 * last row (they score every choice's first token), then copies the state
 * for each choice and runs the choices' remaining tokens.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/internal.h"
#include "eval.h"

#define MAX_BATCH 256
#define DEFAULT_BUDGET (256u << 20) /* bytes of per-document states */

struct eval_scorer {
	struct anser_ctx *ctx;
	const struct anser_tokenizer *tok;
	enum eval_prefix prefix;
	int V;
	size_t state_bytes;
	size_t budget;
	struct anser_state **states; /* [MAX_BATCH * EVAL_MAX_CHOICES] */
	size_t n_states;
	const struct anser_model *model;
};

/* One document's tokens: prefix + context, then each continuation. */
struct enc {
	int32_t *ids;                  /* prefix + context + every choice */
	size_t n_ctx;                  /* prefix + context */
	size_t off[EVAL_MAX_CHOICES];  /* start of choice j in ids */
	size_t len[EVAL_MAX_CHOICES];
	int same[EVAL_MAX_CHOICES];    /* an earlier choice with the same ids,
	                                * or -1: computed once, so equal
	                                * choices tie exactly */
};

enum anser_status eval_scorer_new(struct anser_ctx *ctx,
                                  const struct anser_model *model,
                                  const struct anser_tokenizer *tok,
                                  enum eval_prefix prefix, size_t state_budget,
                                  struct eval_scorer **out,
                                  struct anser_err *err)
{
	struct eval_scorer *s = anser_calloc(1, sizeof(*s));
	struct anser_state *probe;
	enum anser_status st;
	size_t n;

	*out = NULL;
	if (!s)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	s->ctx = ctx;
	s->tok = tok;
	s->model = model;
	s->prefix = prefix;
	s->V = anser_model_hparams(model)->vocab_size;
	s->budget = state_budget ? state_budget : DEFAULT_BUDGET;
	if ((st = anser_state_new(model, &probe, err))) {
		anser_free(s);
		return st;
	}
	anser_state_data(probe, &n);
	s->state_bytes = n * sizeof(float);
	anser_state_free(probe);
	s->states = anser_calloc(MAX_BATCH * EVAL_MAX_CHOICES,
	                         sizeof(*s->states));
	if (!s->states) {
		anser_free(s);
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	}
	*out = s;
	return ANSER_OK;
}

void eval_scorer_free(struct eval_scorer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_states; i++)
		anser_state_free(s->states[i]);
	anser_free(s->states);
	anser_free(s);
}

size_t eval_scorer_batch(const struct eval_scorer *s, int n_choices)
{
	size_t per = s->state_bytes * (size_t)(n_choices > 0 ? n_choices : 1);
	/* Multiple choice also keeps one row of logits per document. */
	if (n_choices > 1)
		per += (size_t)s->V * sizeof(float);
	size_t b = s->budget / per;
	return b < 1 ? 1 : b > MAX_BATCH ? MAX_BATCH : b;
}

static enum anser_status need_states(struct eval_scorer *s, size_t n,
                                     struct anser_err *err)
{
	enum anser_status st;

	while (s->n_states < n) {
		if ((st = anser_state_new(s->model, &s->states[s->n_states], err)))
			return st;
		s->n_states++;
	}
	return ANSER_OK;
}

/* ---------------------------------------------------------------- encoding */

static size_t prefix_ids(const struct eval_scorer *s, int32_t *ids)
{
	switch (s->prefix) {
	case EVAL_PREFIX_EOT: ids[0] = 0; return 1;
	case EVAL_PREFIX_NEWLINE: ids[0] = 11; return 1;
	case EVAL_PREFIX_NONE: break;
	}
	return 0;
}

static enum anser_status encode_doc(const struct eval_scorer *s,
                                    const struct eval_doc *d, struct enc *e,
                                    struct anser_err *err)
{
	size_t clen = strlen(d->context), keep, moved, np, at, total = 2 + clen;
	int32_t *tmp;
	char *joined;

	memset(e, 0, sizeof(*e));
	for (int j = 0; j < d->n_choices; j++)
		total += clen + strlen(d->choices[j]);
	e->ids = anser_malloc(total * sizeof(int32_t));
	tmp = anser_malloc(total * sizeof(int32_t));
	joined = anser_malloc(total + 1);
	if (!e->ids || !tmp || !joined) {
		anser_free(e->ids);
		anser_free(tmp);
		anser_free(joined);
		e->ids = NULL;
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	}
	if (clen == 0) {
		/* The harness scores an empty context after token 0 alone. */
		e->ids[0] = 0;
		e->n_ctx = 1;
		keep = moved = np = 0;
	} else {
		size_t pre = prefix_ids(s, e->ids);
		keep = eval_split_context(d->context, clen, &moved);
		np = anser_tokenizer_encode(s->tok, d->context, keep,
		                            e->ids + pre);
		e->n_ctx = pre + np;
	}
	at = e->n_ctx;
	for (int j = 0; j < d->n_choices; j++) {
		size_t cl = strlen(d->choices[j]), n;
		/* The ids of encode(context + continuation) after the context's
		 * own ids; the moved whitespace leads the continuation. */
		memcpy(joined, d->context, keep + moved);
		memcpy(joined + keep + moved, d->choices[j], cl);
		n = clen ? anser_tokenizer_encode(s->tok, joined, keep + moved + cl,
		                                  tmp) :
		    anser_tokenizer_encode(s->tok, d->choices[j], cl, tmp);
		e->off[j] = at;
		e->len[j] = n > np ? n - np : 0;
		memcpy(e->ids + at, tmp + np, e->len[j] * sizeof(int32_t));
		at += e->len[j];
		e->same[j] = -1;
		for (int i = 0; i < j && e->same[j] < 0; i++)
			if (e->len[i] == e->len[j] &&
			    !memcmp(e->ids + e->off[i], e->ids + e->off[j],
			            e->len[j] * sizeof(int32_t)))
				e->same[j] = i;
	}
	anser_free(tmp);
	anser_free(joined);
	return ANSER_OK;
}

/* ---------------------------------------------------------------- scoring */

/* ln p(target) and whether it is the argmax (lowest id on ties). */
static double logprob(const float *row, int V, int32_t target, uint8_t *greedy,
                      int32_t *top)
{
	double max = row[0], sum = 0.0;
	int arg = 0;

	for (int i = 1; i < V; i++)
		if (row[i] > max) {
			max = row[i];
			arg = i;
		}
	for (int i = 0; i < V; i++)
		sum += exp((double)row[i] - max);
	*greedy = arg == target;
	*top = arg;
	return (double)row[target] - max - log(sum);
}

/* Per-token outputs of one batch, choice by choice. */
struct outs {
	double *lp;
	uint8_t *gr;
	int32_t *am;
	size_t *base;     /* [n * k + 1]: where document i, choice j starts */
};

static void outs_free(struct outs *o)
{
	anser_free(o->lp);
	anser_free(o->gr);
	anser_free(o->am);
	anser_free(o->base);
}

static enum anser_status outs_alloc(struct outs *o, const struct enc *e,
                                    size_t n, int k, struct anser_err *err)
{
	memset(o, 0, sizeof(*o));
	o->base = anser_calloc(n * (size_t)k + 1, sizeof(*o->base));
	if (!o->base)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < k; j++) {
			size_t q = i * (size_t)k + (size_t)j;
			o->base[q + 1] = o->base[q] + e[i].len[j];
		}
	o->lp = anser_calloc(o->base[n * (size_t)k] + 1, sizeof(*o->lp));
	o->gr = anser_calloc(o->base[n * (size_t)k] + 1, 1);
	o->am = anser_calloc(o->base[n * (size_t)k] + 1, sizeof(*o->am));
	if (!o->lp || !o->gr || !o->am)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	return ANSER_OK;
}

/* Sums a batch's token outputs into results, and shows the details. */
static int finish(const struct enc *e, const struct outs *o, size_t n, int k,
                  struct eval_result *res, const size_t *idx,
                  eval_doc_fn doc_fn, void *arg)
{
	for (size_t i = 0; i < n; i++) {
		struct eval_detail d = { .n_choices = k };
		for (int j = 0; j < k; j++) {
			size_t q = i * (size_t)k + (size_t)j;
			if (e[i].same[j] >= 0) {
				size_t src = i * (size_t)k + (size_t)e[i].same[j];
				size_t len = o->base[q + 1] - o->base[q];
				memcpy(o->lp + o->base[q], o->lp + o->base[src],
				       len * sizeof(*o->lp));
				memcpy(o->gr + o->base[q], o->gr + o->base[src], len);
				memcpy(o->am + o->base[q], o->am + o->base[src],
				       len * sizeof(*o->am));
			}
			res[i].ll[j] = 0;
			res[i].greedy[j] = 1;
			for (size_t t = o->base[q]; t < o->base[q + 1]; t++) {
				res[i].ll[j] += o->lp[t];
				res[i].greedy[j] &= o->gr[t];
			}
			res[i].n_tokens[j] = (int)e[i].len[j];
			d.ids[j] = e[i].ids + e[i].off[j];
			d.lp[j] = o->lp + o->base[q];
			d.argmax[j] = o->am + o->base[q];
			d.len[j] = e[i].len[j];
		}
		res[i].ctx_tokens = (int)e[i].n_ctx;
		res[i].done = 1;
		if (doc_fn && doc_fn(arg, idx[i], &res[i], &d))
			return 1;
	}
	return 0;
}

/* Batch of one-choice documents: one sequence each, scored at the rows
 * that predict the continuation. */
static enum anser_status score_single(struct eval_scorer *s, struct enc *e,
                                      size_t n, struct outs *o,
                                      struct anser_err *err)
{
	struct anser_seq *q = anser_calloc(n, sizeof(*q));
	uint8_t **want = anser_calloc(n, sizeof(*want));
	enum anser_status st = ANSER_OK;

	if (!q || !want || (st = outs_alloc(o, e, n, 1, err))) {
		st = st ? st : anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t total = e[i].n_ctx + e[i].len[0];
		anser_state_reset(s->states[i]);
		want[i] = anser_calloc(total, 1);
		if (!want[i]) {
			st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
			goto out;
		}
		/* Row t predicts ids[t + 1]: rows n_ctx - 1 .. total - 2. */
		for (size_t t = e[i].n_ctx - 1; t + 1 < total; t++)
			want[i][t] = 1;
		q[i] = (struct anser_seq){
			.state = s->states[i], .tokens = e[i].ids, .n = total - 1,
			.want = want[i], .targets = e[i].ids + 1,
			.lp = o->lp + o->base[i], .greedy = o->gr + o->base[i],
			.argmax = o->am + o->base[i],
		};
	}
	st = anser_eval_batch(s->ctx, q, n, err);
out:
	for (size_t i = 0; want && i < n; i++)
		anser_free(want[i]);
	anser_free(q);
	anser_free(want);
	return st;
}

/* Batch of multiple-choice documents: contexts once, then the choices from
 * copies of each context's state. */
static enum anser_status score_choices(struct eval_scorer *s, int k,
                                       struct enc *e, size_t n,
                                       struct outs *o, struct anser_err *err)
{
	const size_t V = (size_t)s->V;
	size_t nq = n * (size_t)k, maxlen = 0;
	float *last = anser_malloc(n * V * sizeof(float));
	struct anser_seq *q = anser_calloc(nq, sizeof(*q));
	uint8_t *all = NULL;
	enum anser_status st = ANSER_OK;

	if (!last || !q || (st = outs_alloc(o, e, n, k, err))) {
		st = st ? st : anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	/* Phase 1: every context, logits of its last row. */
	for (size_t i = 0; i < n; i++) {
		anser_state_reset(s->states[i * (size_t)k]);
		q[i] = (struct anser_seq){
			.state = s->states[i * (size_t)k], .tokens = e[i].ids,
			.n = e[i].n_ctx, .logits = last + i * V,
		};
		for (int j = 0; j < k; j++)
			if (e[i].len[j] > maxlen)
				maxlen = e[i].len[j];
	}
	if ((st = anser_eval_batch(s->ctx, q, n, err)))
		goto out;
	all = anser_malloc(maxlen + 1);
	if (!all) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	memset(all, 1, maxlen + 1);
	/* Phase 2: each choice continues from a copy of its context's state;
	 * its first token is scored by the context's last row. */
	for (size_t i = 0; i < n; i++) {
		for (int j = 0; j < k; j++) {
			size_t qi = i * (size_t)k + (size_t)j, b = o->base[qi];
			const int32_t *c = e[i].ids + e[i].off[j];
			if (e[i].same[j] >= 0) {
				/* Copied from the earlier choice in finish(). */
				q[qi] = (struct anser_seq){ .state = s->states[qi] };
				continue;
			}
			if (j > 0 && (st = anser_state_copy(s->states[qi],
			                                    s->states[i * (size_t)k],
			                                    err)))
				goto out;
			if (e[i].len[j])
				o->lp[b] = logprob(last + i * V, s->V, c[0], &o->gr[b],
				                   &o->am[b]);
			q[qi] = (struct anser_seq){
				.state = s->states[qi], .tokens = c,
				.n = e[i].len[j] ? e[i].len[j] - 1 : 0, .want = all,
				.targets = c + 1, .lp = o->lp + b + 1,
				.greedy = o->gr + b + 1, .argmax = o->am + b + 1,
			};
		}
	}
	st = anser_eval_batch(s->ctx, q, nq, err);
out:
	anser_free(last);
	anser_free(q);
	anser_free(all);
	return st;
}

enum anser_status eval_score(struct eval_scorer *s, const struct eval_doc *docs,
                             struct eval_result *res, size_t n,
                             eval_doc_fn doc_fn, eval_batch_fn batch_fn,
                             void *arg, struct anser_err *err)
{
	enum anser_status st = ANSER_OK;
	size_t at = 0;

	while (at < n && !st) {
		int k = docs[at].n_choices;
		size_t cap = eval_scorer_batch(s, k), m = 0, begin;
		size_t idx[MAX_BATCH];
		struct enc e[MAX_BATCH];
		struct eval_result r[MAX_BATCH];
		struct outs o = { 0 };

		/* The batch [begin, begin + cap), aligned, whatever is done:
		 * the same documents share a batch in every run. */
		begin = at - at % cap;
		at = begin + cap < n ? begin + cap : n;
		for (size_t i = begin; i < at; i++)
			if (!res[i].done && docs[i].n_choices == k)
				idx[m++] = i;
		if (!m)
			continue;
		if ((st = need_states(s, m * (size_t)k, err)))
			break;
		for (size_t i = 0; i < m && !st; i++) {
			st = encode_doc(s, &docs[idx[i]], &e[i], err);
			if (st)
				m = i; /* free only those encoded */
		}
		memset(r, 0, sizeof(r));
		if (!st)
			st = k > 1 ? score_choices(s, k, e, m, &o, err) :
			     score_single(s, e, m, &o, err);
		if (!st && finish(e, &o, m, k, r, idx, doc_fn, arg))
			st = anser_errf(err, ANSER_E_CANCELLED, "stopped");
		for (size_t i = 0; i < m; i++) {
			anser_free(e[i].ids);
			if (!st)
				res[idx[i]] = r[i];
		}
		outs_free(&o);
		if (!st && batch_fn && batch_fn(arg, begin, at))
			st = anser_errf(err, ANSER_E_CANCELLED, "interrupted");
	}
	return st;
}
