/*
 * sampler.c - picking the next token the way the official RWKV pipeline does
 * (ChatRWKV: rwkv_pip_package/src/rwkv/utils.py, PIPELINE.sample_logits, and
 * the repetition penalty of API_DEMO_CHAT.py).  Per call, in this order:
 *
 *  1. penalties: every token accepted so far has presence_penalty +
 *     frequency_penalty * count subtracted from its logit, where count grows
 *     by 1 each time the token is accepted and every count is multiplied by
 *     penalty_decay each time any token is (decay first, then the new 1);
 *  2. softmax over the whole vocab;
 *  3. top-p: sort the probabilities in decreasing order, find the first one
 *     at which the running sum reaches top_p, and drop every token whose
 *     probability is below that one (ties with it stay);
 *  4. top-k: of what is left, keep the k most probable;
 *  5. temperature: raise the kept probabilities to 1/temperature (here as
 *     exp((logit - max) / temperature), the same numbers without underflow);
 *  6. renormalise and draw.
 *
 * Differences from the reference, all deliberate: temperature 0 (which the
 * reference turns into top_p 0, a random pick among the tied maxima) and
 * top_k 1 pick the argmax, the lowest id on ties; top_p >= 1 is off (the
 * reference's float32 running sum can stop short of 1.0 and then keeps only
 * the maximum); ties in top-k go to the lower id; the draw uses our own
 * generator, so the same seed gives the same tokens on every machine but not
 * the tokens numpy would pick.
 *
 * Cost per call: O(V) for the penalties, softmax and draw.  Sorting touches
 * only the candidates: tokens are bucketed by the binary exponent of their
 * probability, and whole buckets are taken from the top until they hold the
 * top-p mass (or k tokens); only those are sorted.  A nearly flat
 * distribution can make that every token, O(V log V) at worst.
 */
#include <math.h>

#include "internal.h"

/*
 * The defaults are those of the official RWKV-7 chat demo for World models
 * (ChatRWKV API_DEMO_CHAT.py: GEN_TEMP 1.0, GEN_TOP_P 0.3,
 * GEN_alpha_presence 0.5, GEN_alpha_frequency 0.5, GEN_penalty_decay 0.996);
 * it sets no top-k.  The seed is fixed so that runs repeat unless the caller
 * picks another.
 */
void anser_sampler_params_default(struct anser_sampler_params *p)
{
	p->temperature = 1.0f;
	p->top_p = 0.3f;
	p->top_k = 0;
	p->presence_penalty = 0.5f;
	p->frequency_penalty = 0.5f;
	p->penalty_decay = 0.996f;
	p->seed = 0;
}

/* A token still in the running: its unnormalised probability and id. */
struct cand {
	float q;
	int32_t id;
};

/* Buckets by float exponent: q = exp(x - max) is in [0, 1], so the biased
 * exponent is 0 (zero or subnormal) .. 127 (q = 1). */
#define N_BUCKETS 128

struct anser_sampler {
	struct anser_sampler_params p;
	int V;
	uint64_t rng[4];    /* xoshiro256** state */
	double *count;      /* V: decayed occurrences of each token */
	uint8_t *seen;      /* V: 1 once a token was accepted */
	int32_t *seen_ids;  /* the n_seen tokens with seen[] set */
	size_t n_seen;
	float *x;           /* V: the penalised logits of this call */
	float *q;           /* V: exp(x - max) */
	struct cand *cand;  /* V: candidates for top-p / top-k */
};

/* ---------------------------------------------------------------- PRNG */

/*
 * xoshiro256** 1.0 (Blackman and Vigna, 2018), seeded by four outputs of
 * splitmix64 as its authors recommend.  Plain 64-bit integer arithmetic, so
 * a seed gives the same numbers on every platform and compiler.
 */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t s[4])
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* Uniform in [0, 1) with 53 random bits. */
static double uniform(uint64_t s[4])
{
	return (double)(xoshiro_next(s) >> 11) * 0x1.0p-53;
}

static void seed_rng(struct anser_sampler *s)
{
	uint64_t x = s->p.seed;

	for (int i = 0; i < 4; i++)
		s->rng[i] = splitmix64(&x);
}

/* ---------------------------------------------------------------- life */

enum anser_status anser_sampler_new(const struct anser_sampler_params *p,
                                    int vocab_size, struct anser_sampler **out,
                                    struct anser_err *err)
{
	struct anser_sampler *s;
	struct anser_sampler_params def;
	size_t V = vocab_size > 0 ? (size_t)vocab_size : 0;

	*out = NULL;
	if (!p) {
		anser_sampler_params_default(&def);
		p = &def;
	}
	if (vocab_size < 1)
		return anser_errf(err, ANSER_E_ARG, "vocab size %d is not positive",
		                  vocab_size);
	/* Written to reject NaN too. */
	if (!(p->temperature >= 0 && p->temperature <= 1e6f))
		return anser_errf(err, ANSER_E_ARG, "temperature %g is not in "
		                  "[0, 1e6]", (double)p->temperature);
	if (!(p->top_p >= 0 && p->top_p <= 1))
		return anser_errf(err, ANSER_E_ARG, "top-p %g is not in [0, 1]",
		                  (double)p->top_p);
	if (p->top_k < 0)
		return anser_errf(err, ANSER_E_ARG, "top-k %d is negative",
		                  p->top_k);
	if (!isfinite(p->presence_penalty) || !isfinite(p->frequency_penalty))
		return anser_errf(err, ANSER_E_ARG, "penalties must be finite");
	if (!(p->penalty_decay >= 0 && p->penalty_decay <= 1))
		return anser_errf(err, ANSER_E_ARG, "penalty decay %g is not in "
		                  "[0, 1]", (double)p->penalty_decay);
	s = anser_calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->p = *p;
	s->V = vocab_size;
	s->count = anser_calloc(V, sizeof(*s->count));
	s->seen = anser_calloc(V, 1);
	s->seen_ids = anser_malloc(V * sizeof(*s->seen_ids));
	s->x = anser_malloc(V * sizeof(*s->x));
	s->q = anser_malloc(V * sizeof(*s->q));
	s->cand = anser_malloc(V * sizeof(*s->cand));
	if (!s->count || !s->seen || !s->seen_ids || !s->x || !s->q ||
	    !s->cand) {
		anser_sampler_free(s);
		goto nomem;
	}
	seed_rng(s);
	*out = s;
	return ANSER_OK;
nomem:
	return anser_errf(err, ANSER_E_NOMEM, "out of memory for a sampler "
	                  "over %d tokens", vocab_size);
}

void anser_sampler_free(struct anser_sampler *s)
{
	if (!s)
		return;
	anser_free(s->count);
	anser_free(s->seen);
	anser_free(s->seen_ids);
	anser_free(s->x);
	anser_free(s->q);
	anser_free(s->cand);
	anser_free(s);
}

void anser_sampler_reset(struct anser_sampler *s)
{
	for (size_t i = 0; i < s->n_seen; i++) {
		s->count[s->seen_ids[i]] = 0;
		s->seen[s->seen_ids[i]] = 0;
	}
	s->n_seen = 0;
	seed_rng(s);
}

void anser_sampler_accept(struct anser_sampler *s, int32_t token)
{
	double decay = s->p.penalty_decay;

	if (token < 0 || token >= s->V)
		return; /* not a token this sampler can pick; nothing to count */
	if (decay != 1.0)
		for (size_t i = 0; i < s->n_seen; i++)
			s->count[s->seen_ids[i]] *= decay;
	if (!s->seen[token]) {
		s->seen[token] = 1;
		s->seen_ids[s->n_seen++] = token;
	}
	s->count[token] += 1.0;
}

/* ---------------------------------------------------------------- sample */

/* Four partial sums: one running sum would wait on every add. */
static double sum(const float *v, size_t n)
{
	double a[4] = { 0, 0, 0, 0 };
	size_t i = 0;

	for (; i + 4 <= n; i += 4)
		for (int k = 0; k < 4; k++)
			a[k] += v[i + k];
	for (; i < n; i++)
		a[0] += v[i];
	return (a[0] + a[1]) + (a[2] + a[3]);
}

/* Most probable first; the lower id first among equals. */
static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->q != y->q)
		return x->q > y->q ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* The biased binary exponent of a non-negative float. */
static int bucket_of(float q)
{
	uint32_t bits;

	memcpy(&bits, &q, sizeof(bits));
	return (int)(bits >> 23) & (N_BUCKETS - 1);
}

/* Weight of a kept token after temperature: p^(1/T) up to a constant. */
static float weight(const struct anser_sampler *s, int32_t id, float xmax)
{
	if (s->p.temperature == 1.0f)
		return s->q[id];
	return expf((s->x[id] - xmax) / s->p.temperature);
}

/*
 * Finds the candidates that can survive top-p and top-k: whole exponent
 * buckets from the most probable down, until they hold top_p of the mass or
 * k tokens.  Fills s->cand sorted and returns how many are kept.
 */
static size_t keep_candidates(struct anser_sampler *s, double z)
{
	double mass[N_BUCKETS] = { 0 }, cum = 0;
	size_t cnt[N_BUCKETS] = { 0 }, num = 0, m = 0, keep;
	double top_p = s->p.top_p;
	size_t k = (size_t)s->p.top_k;
	int lowest = 0;

	for (int i = 0; i < s->V; i++) {
		int b = bucket_of(s->q[i]);
		mass[b] += s->q[i];
		cnt[b]++;
	}
	for (int b = N_BUCKETS - 1; b >= 0; b--) {
		cum += mass[b] / z;
		num += cnt[b];
		if ((top_p < 1 && cum >= top_p) || (k > 0 && num >= k)) {
			lowest = b;
			break;
		}
	}
	for (int i = 0; i < s->V; i++)
		if (bucket_of(s->q[i]) >= lowest)
			s->cand[m++] = (struct cand){ s->q[i], i };
	qsort(s->cand, m, sizeof(*s->cand), cand_cmp);

	keep = m;
	if (top_p < 1) {
		cum = 0;
		for (size_t j = 0; j < m; j++) {
			cum += s->cand[j].q / z;
			if (cum >= top_p) {
				/* Everything as probable as the cutoff stays. */
				keep = j + 1;
				while (keep < m && s->cand[keep].q == s->cand[j].q)
					keep++;
				break;
			}
		}
	}
	if (k > 0 && keep > k)
		keep = k;
	return keep;
}

int32_t anser_sampler_sample(struct anser_sampler *s, const float *logits)
{
	const struct anser_sampler_params *p = &s->p;
	float xmax = -INFINITY;
	int32_t arg = 0;
	double z = 0, total = 0, u;

	memcpy(s->x, logits, (size_t)s->V * sizeof(*s->x));
	if (p->presence_penalty != 0 || p->frequency_penalty != 0) {
		for (size_t i = 0; i < s->n_seen; i++) {
			int32_t id = s->seen_ids[i];
			s->x[id] -= (float)(p->presence_penalty +
			                    s->count[id] * p->frequency_penalty);
		}
	}
	for (int i = 0; i < s->V; i++) {
		if (isnan(s->x[i]))
			s->x[i] = -INFINITY; /* a NaN can never be picked */
		if (s->x[i] > xmax) {
			xmax = s->x[i];
			arg = i;
		}
	}
	/* Greedy; also the only sane answer when no logit is finite or one
	 * is +inf (the softmax would be NaN). */
	if (p->temperature == 0 || p->top_k == 1 || !isfinite(xmax))
		return arg;

	for (int i = 0; i < s->V; i++)
		s->q[i] = expf(s->x[i] - xmax);
	z = sum(s->q, (size_t)s->V);
	/* Weights after temperature overwrite the q they came from; the
	 * argmax always survives with weight 1, so the total is >= 1. */
	u = uniform(s->rng);
	if (p->top_p < 1 || (p->top_k > 0 && p->top_k < s->V)) {
		size_t keep = keep_candidates(s, z);
		for (size_t j = 0; j < keep; j++) {
			s->cand[j].q = weight(s, s->cand[j].id, xmax);
			total += s->cand[j].q;
		}
		u *= total;
		for (size_t j = 0; j < keep; j++) {
			u -= s->cand[j].q;
			if (u < 0 && s->cand[j].q > 0)
				return s->cand[j].id;
		}
		/* Rounding left u just >= 0: the last token that could be drawn. */
		while (keep > 1 && !(s->cand[keep - 1].q > 0))
			keep--;
		return s->cand[keep - 1].id;
	}
	if (p->temperature != 1.0f)
		for (int i = 0; i < s->V; i++)
			s->q[i] = weight(s, i, xmax);
	total = sum(s->q, (size_t)s->V);
	u *= total;
	for (int i = 0; i < s->V; i++) {
		u -= s->q[i];
		if (u < 0 && s->q[i] > 0)
			return i;
	}
	for (int i = s->V - 1; i >= 0; i--) /* as above */
		if (s->q[i] > 0)
			return i;
	return arg;
}
