/*
 * test_sampler.c - the sampler: seeds, greedy cases, top-p / top-k /
 * temperature against distributions worked out by hand, the repetition
 * penalties step by step, and clean failure.
 */
#include <math.h>
#include <stdint.h>

#include "../../lib/internal.h" /* anser_fail_alloc_after */
#include "../harness.h"

static struct anser_sampler *make(float temp, float top_p, int top_k,
                                  float presence, float frequency,
                                  float decay, uint64_t seed, int V)
{
	struct anser_sampler_params p = {
		.temperature = temp, .top_p = top_p, .top_k = top_k,
		.presence_penalty = presence, .frequency_penalty = frequency,
		.penalty_decay = decay, .seed = seed,
	};
	struct anser_sampler *s = NULL;
	struct anser_err err = { 0 };

	if (anser_sampler_new(&p, V, &s, &err) != ANSER_OK)
		printf("# sampler_new: %s\n", err.msg);
	return s;
}

/* Deterministic pseudo-random logits in [-4, 4). */
static void fill_logits(float *l, int V, uint32_t seed)
{
	for (int i = 0; i < V; i++) {
		seed = seed * 1664525u + 1013904223u;
		l[i] = (float)(seed >> 8) / (float)(1u << 24) * 8.0f - 4.0f;
	}
}

static void test_params(void)
{
	struct anser_sampler_params p;
	struct anser_sampler *s = (void *)&p;
	struct anser_err err = { 0 };

	anser_sampler_params_default(&p);
	CHECK(p.temperature == 1.0f && p.top_p == 0.3f && p.top_k == 0 &&
	      p.presence_penalty == 0.5f && p.frequency_penalty == 0.5f &&
	      p.penalty_decay == 0.996f && p.seed == 0,
	      "defaults are the RWKV-7 chat demo's: T 1, top-p 0.3, penalties 0.5/0.5/0.996");
	CHECK(anser_sampler_new(&p, 0, &s, &err) == ANSER_E_ARG && s == NULL,
	      "vocab size 0 is refused");
	p.temperature = -1;
	CHECK(anser_sampler_new(&p, 10, &s, &err) == ANSER_E_ARG &&
	      strstr(err.msg, "temperature"), "a negative temperature is refused");
	p.temperature = NAN;
	CHECK(anser_sampler_new(&p, 10, &s, &err) == ANSER_E_ARG,
	      "a NaN temperature is refused");
	anser_sampler_params_default(&p);
	p.top_p = 1.5f;
	CHECK(anser_sampler_new(&p, 10, &s, &err) == ANSER_E_ARG &&
	      strstr(err.msg, "top-p"), "top-p above 1 is refused");
	anser_sampler_params_default(&p);
	p.top_k = -2;
	CHECK(anser_sampler_new(&p, 10, &s, &err) == ANSER_E_ARG,
	      "a negative top-k is refused");
	anser_sampler_params_default(&p);
	p.penalty_decay = 1.5f;
	CHECK(anser_sampler_new(&p, 10, &s, &err) == ANSER_E_ARG,
	      "a penalty decay above 1 is refused");
	anser_sampler_params_default(&p);
	p.frequency_penalty = INFINITY;
	CHECK(anser_sampler_new(&p, 10, &s, &err) == ANSER_E_ARG,
	      "an infinite penalty is refused");
	CHECK(anser_sampler_new(NULL, 10, &s, &err) == ANSER_OK && s,
	      "NULL params mean the defaults");
	anser_sampler_free(s);
	anser_sampler_free(NULL);
}

static void test_seeds(void)
{
	enum { V = 1000, N = 300 };
	static float logits[V], copy[V];
	int32_t a[N], b[N], c[N], d[N];
	struct anser_sampler *s1, *s2, *s3;
	int same = 1, differ = 0, restart = 1;

	fill_logits(logits, V, 7);
	memcpy(copy, logits, sizeof(logits));
	s1 = make(1.0f, 0.95f, 0, 0.2f, 0.2f, 0.99f, 42, V);
	s2 = make(1.0f, 0.95f, 0, 0.2f, 0.2f, 0.99f, 42, V);
	s3 = make(1.0f, 0.95f, 0, 0.2f, 0.2f, 0.99f, 43, V);
	if (!s1 || !s2 || !s3) {
		CHECK(0, "samplers for the seed tests");
		return;
	}
	for (int i = 0; i < N; i++) {
		a[i] = anser_sampler_sample(s1, logits);
		anser_sampler_accept(s1, a[i]);
		b[i] = anser_sampler_sample(s2, logits);
		anser_sampler_accept(s2, b[i]);
		c[i] = anser_sampler_sample(s3, logits);
		anser_sampler_accept(s3, c[i]);
		same = same && a[i] == b[i];
		differ += a[i] != c[i];
	}
	CHECK(same, "the same seed gives the same 300 tokens");
	CHECK(differ > N / 2, "another seed gives a different sequence");
	CHECK(!memcmp(copy, logits, sizeof(logits)), "sample leaves the logits alone");
	anser_sampler_reset(s1);
	for (int i = 0; i < N; i++) {
		d[i] = anser_sampler_sample(s1, logits);
		anser_sampler_accept(s1, d[i]);
		restart = restart && d[i] == a[i];
	}
	CHECK(restart, "reset forgets the penalties and restarts the sequence");
	anser_sampler_free(s1);
	anser_sampler_free(s2);
	anser_sampler_free(s3);
}

/*
 * With 16 equal logits and no truncation the draw is floor(16 u), u the
 * generator's [0, 1) double, so this pins the generator itself: the
 * expected ids come from a separate Python implementation of splitmix64 +
 * xoshiro256** (seed 12345).
 */
static void test_generator(void)
{
	static const int32_t want[20] = {
		11, 2, 15, 0, 8, 0, 2, 4, 6, 14, 12, 8, 13, 15, 2, 13, 7, 13, 8, 6,
	};
	float logits[16] = { 0 };
	struct anser_sampler *s = make(1.0f, 1.0f, 0, 0, 0, 1.0f, 12345, 16);
	int ok = s != NULL;

	for (int i = 0; ok && i < 20; i++)
		ok = anser_sampler_sample(s, logits) == want[i];
	CHECK(ok, "seed 12345 draws the ids a reference xoshiro256** gives");
	anser_sampler_free(s);
}

static void test_greedy(void)
{
	enum { V = 5000 };
	static float logits[V];
	struct anser_sampler *t0, *k1, *tiny;
	int32_t arg = 0;
	int ok0 = 1, ok1 = 1, ok2 = 1;

	fill_logits(logits, V, 99);
	for (int i = 1; i < V; i++)
		if (logits[i] > logits[arg])
			arg = i;
	t0 = make(0.0f, 1.0f, 0, 0, 0, 1.0f, 1, V);
	k1 = make(1.5f, 1.0f, 1, 0, 0, 1.0f, 2, V);
	tiny = make(1.0f, 1e-6f, 0, 0, 0, 1.0f, 3, V);
	for (int i = 0; i < 200 && t0 && k1 && tiny; i++) {
		ok0 = ok0 && anser_sampler_sample(t0, logits) == arg;
		ok1 = ok1 && anser_sampler_sample(k1, logits) == arg;
		ok2 = ok2 && anser_sampler_sample(tiny, logits) == arg;
	}
	CHECK(t0 && ok0, "temperature 0 is the argmax");
	CHECK(k1 && ok1, "top-k 1 is the argmax, whatever the temperature");
	CHECK(tiny && ok2, "a tiny top-p keeps only the argmax");
	anser_sampler_free(t0);
	anser_sampler_free(k1);
	anser_sampler_free(tiny);

	{
		float tie[6] = { 0, 3, 1, 3, -1, 2 };
		struct anser_sampler *s = make(0.0f, 1.0f, 0, 0, 0, 1.0f, 1, 6);
		CHECK(s && anser_sampler_sample(s, tie) == 1,
		      "greedy ties go to the lowest id");
		anser_sampler_free(s);
	}
	{
		/* top-p 0 keeps everything tied with the maximum, like the
		 * reference's cutoff at the first sorted probability. */
		float tie[4] = { 1, 1, 0, 0 };
		struct anser_sampler *s = make(1.0f, 0.0f, 0, 0, 0, 1.0f, 5, 4);
		int n[4] = { 0 };
		for (int i = 0; s && i < 2000; i++)
			n[anser_sampler_sample(s, tie)]++;
		CHECK(s && n[2] == 0 && n[3] == 0 && n[0] > 850 && n[1] > 850,
		      "top-p 0 draws only among the tied maxima");
		anser_sampler_free(s);
	}
	{
		float odd[5] = { NAN, -INFINITY, 0.5f, NAN, 0.25f };
		float none[3] = { -INFINITY, -INFINITY, -INFINITY };
		struct anser_sampler *s = make(1.0f, 1.0f, 0, 0, 0, 1.0f, 9, 5);
		int ok = s != NULL;
		for (int i = 0; ok && i < 500; i++) {
			int32_t t = anser_sampler_sample(s, odd);
			ok = t == 2 || t == 4;
		}
		CHECK(ok, "NaN and -inf logits are never drawn");
		anser_sampler_free(s);
		s = make(1.0f, 0.5f, 0, 0, 0, 1.0f, 9, 3);
		CHECK(s && anser_sampler_sample(s, none) == 0,
		      "all logits -inf: token 0, no crash");
		anser_sampler_free(s);
	}
}

/* Greedy, so each step shows which adjusted logit is highest. */
static void test_penalties(void)
{
	struct anser_sampler *s;

	/* frequency 0.5, decay 0.8; logits 1.0, 0.55, 0. */
	{
		float l[3] = { 1.0f, 0.55f, 0.0f };
		s = make(0.0f, 1.0f, 0, 0.0f, 0.5f, 0.8f, 1, 3);
		CHECK(s && anser_sampler_sample(s, l) == 0, "no history: the argmax, 0");
		anser_sampler_accept(s, 0);
		/* count0 = 1 (decay first, then +1): 1 - 0.5 = 0.5 < 0.55.
		 * (+1 then decay would give 0.6 and keep 0.) */
		CHECK(anser_sampler_sample(s, l) == 1,
		      "after 0: 1.0 - 0.5*1 = 0.50 < 0.55, token 1 wins");
		anser_sampler_accept(s, 2);
		/* count0 = 0.8: 1 - 0.4 = 0.6 > 0.55; count2 = 1: 0 - 0.5. */
		CHECK(anser_sampler_sample(s, l) == 0,
		      "after 2: count 0 decays to 0.8, 1.0 - 0.4 = 0.60 > 0.55");
		anser_sampler_free(s);
	}
	/* frequency 0.2, no decay: the count adds up. */
	{
		float l[2] = { 1.0f, 0.5f };
		s = make(0.0f, 1.0f, 0, 0.0f, 0.2f, 1.0f, 1, 2);
		anser_sampler_accept(s, 0);
		anser_sampler_accept(s, 0);
		CHECK(s && anser_sampler_sample(s, l) == 0,
		      "two 0s: 1.0 - 0.4 = 0.6 > 0.5");
		anser_sampler_accept(s, 0);
		CHECK(anser_sampler_sample(s, l) == 1, "three 0s: 1.0 - 0.6 = 0.4 < 0.5");
		anser_sampler_free(s);
	}
	/* presence 0.3 only: once, however often, and never decayed. */
	{
		float l[3] = { 1.0f, 0.75f, 0.0f };
		s = make(0.0f, 1.0f, 0, 0.3f, 0.0f, 0.5f, 1, 3);
		anser_sampler_accept(s, 0);
		CHECK(s && anser_sampler_sample(s, l) == 1, "presence: 1.0 - 0.3 = 0.7 < 0.75");
		for (int i = 0; i < 20; i++)
			anser_sampler_accept(s, 2);
		CHECK(anser_sampler_sample(s, l) == 1,
		      "presence does not decay: still 0.7 < 0.75 after 20 others");
		anser_sampler_accept(s, 1);
		CHECK(anser_sampler_sample(s, l) == 0,
		      "both seen: 0.7 > 0.45, token 0 again");
		anser_sampler_accept(s, -1);
		anser_sampler_accept(s, 3);
		CHECK(anser_sampler_sample(s, l) == 0, "ids outside the vocab are ignored");
		anser_sampler_reset(s);
		CHECK(anser_sampler_sample(s, l) == 0, "reset forgets what was seen");
		anser_sampler_free(s);
	}
	/* The adjusted distribution itself: presence 0.5 + frequency 0.25 *
	 * count 2 = 1.0 off token 0's logit 1.0 leaves 0, token 1's logit:
	 * 50/50 instead of e/(e+1) = 73/27. */
	{
		float l[2] = { 1.0f, 0.0f };
		int n0 = 0;
		s = make(1.0f, 1.0f, 0, 0.5f, 0.25f, 1.0f, 77, 2);
		anser_sampler_accept(s, 0);
		anser_sampler_accept(s, 0);
		for (int i = 0; s && i < 20000; i++)
			n0 += anser_sampler_sample(s, l) == 0;
		CHECK_NEAR(n0 / 20000.0, 0.5, 0.015,
		           "penalised by exactly 1.0: logits 1 vs 0 draw 50/50");
		anser_sampler_free(s);
	}
}

/* 20000 draws from softmax(ln p) = p, transformed by hand. */
static void check_freq(float temp, float top_p, int top_k, const double want[4],
                       const char *what)
{
	static const double p[4] = { 0.5, 0.25, 0.15, 0.10 };
	float l[4];
	int n[4] = { 0 };
	struct anser_sampler *s = make(temp, top_p, top_k, 0, 0, 1.0f, 2024, 4);
	double worst = 0;
	int zero_ok = 1;

	for (int i = 0; i < 4; i++)
		l[i] = (float)log(p[i]);
	for (int i = 0; s && i < 20000; i++)
		n[anser_sampler_sample(s, l)]++;
	for (int i = 0; i < 4; i++) {
		double d = fabs(n[i] / 20000.0 - want[i]);
		if (d > worst)
			worst = d;
		if (want[i] == 0 && n[i] != 0)
			zero_ok = 0;
	}
	if (!CHECK(s && zero_ok && worst < 0.015, what))
		printf("#   got %d %d %d %d\n", n[0], n[1], n[2], n[3]);
	anser_sampler_free(s);
}

static void test_distribution(void)
{
	/* No truncation: p itself. */
	static const double plain[4] = { 0.5, 0.25, 0.15, 0.10 };
	/* top-p 0.8: running sums 0.5, 0.75, 0.90 reach 0.8 at 0.15, so
	 * {0.5, 0.25, 0.15} stay: divided by 0.9. */
	static const double p08[4] = { 0.5 / 0.9, 0.25 / 0.9, 0.15 / 0.9, 0 };
	/* ...then temperature 0.5 squares them: 0.25, 0.0625, 0.0225 over
	 * 0.335. */
	static const double p08_t05[4] = { 0.25 / 0.335, 0.0625 / 0.335,
	                                   0.0225 / 0.335, 0 };
	/* top-k 3, temperature 2: square roots of 0.5, 0.25, 0.15. */
	double r = sqrt(0.5) + sqrt(0.25) + sqrt(0.15);
	double k3_t2[4] = { sqrt(0.5) / r, sqrt(0.25) / r, sqrt(0.15) / r, 0 };
	/* top-p 0.6 (stops at 0.25) and top-k 3: top-p is the tighter. */
	static const double p06_k3[4] = { 0.5 / 0.75, 0.25 / 0.75, 0, 0 };

	check_freq(1.0f, 1.0f, 0, plain, "plain softmax: 0.5 0.25 0.15 0.10");
	check_freq(1.0f, 0.8f, 0, p08, "top-p 0.8: 0.556 0.278 0.167 0");
	check_freq(0.5f, 0.8f, 0, p08_t05,
	           "top-p 0.8 then temperature 0.5: 0.746 0.187 0.067 0");
	check_freq(2.0f, 1.0f, 3, k3_t2, "top-k 3, temperature 2: 0.444 0.314 0.243 0");
	check_freq(1.0f, 0.6f, 3, p06_k3, "top-p 0.6 with top-k 3: 0.667 0.333 0 0");
}

/*
 * A large vocab against brute force: every draw must come from the top-p /
 * top-k set computed by sorting everything.
 */
static void test_large(void)
{
	enum { V = 65536 };
	static float logits[V];
	static int32_t order[V];
	static uint8_t allowed[V];
	static const struct { float top_p; int top_k; float temp; } cases[] = {
		{ 0.85f, 0, 1.0f }, { 0.3f, 0, 0.7f }, { 1.0f, 40, 1.3f },
		{ 0.95f, 500, 1.0f },
	};
	int bad = 0;

	fill_logits(logits, V, 4242);
	for (int i = 0; i < 50; i++) /* a few strong candidates */
		logits[(i * 7919) % V] += 6.0f + 0.1f * (float)i;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		double z = 0, cum = 0, cutoff;
		size_t keep = V;
		struct anser_sampler *s = make(cases[c].temp, cases[c].top_p,
		                               cases[c].top_k, 0, 0, 1.0f, 11, V);
		float mx = logits[0];

		for (int i = 0; i < V; i++) {
			order[i] = i;
			if (logits[i] > mx)
				mx = logits[i];
		}
		for (int i = 0; i < V; i++)
			z += exp((double)logits[i] - mx);
		/* The reference: every token sorted, descending (Shell sort). */
		for (int gap = V / 2; gap > 0; gap /= 2)
			for (int i = gap; i < V; i++) {
				int32_t x = order[i];
				int j = i;
				while (j >= gap && logits[order[j - gap]] < logits[x]) {
					order[j] = order[j - gap];
					j -= gap;
				}
				order[j] = x;
			}
		if (cases[c].top_p < 1) {
			for (size_t j = 0; j < (size_t)V; j++) {
				cum += exp((double)logits[order[j]] - mx) / z;
				if (cum >= cases[c].top_p) {
					keep = j + 1;
					break;
				}
			}
		}
		cutoff = logits[order[keep - 1]];
		if (cases[c].top_k > 0 && keep > (size_t)cases[c].top_k) {
			keep = (size_t)cases[c].top_k;
			cutoff = logits[order[keep - 1]];
		}
		memset(allowed, 0, sizeof(allowed));
		for (size_t j = 0; j < keep; j++)
			allowed[order[j]] = 1;
		for (int i = 0; s && i < 300; i++) {
			int32_t t = anser_sampler_sample(s, logits);
			/* Ties at the cutoff may go either way. */
			if (t < 0 || t >= V || (!allowed[t] && logits[t] != cutoff))
				bad++;
		}
		if (!s)
			bad++;
		anser_sampler_free(s);
	}
	CHECK(bad == 0, "65536 tokens: draws stay inside the brute-force top-p/top-k set");
}

static void test_alloc_failures(void)
{
	struct anser_sampler *s = NULL;
	enum anser_status st;
	long n;
	int bad = 0;

	for (n = 0; n < 100; n++) {
		struct anser_err err = { 0 };
		anser_fail_alloc_after(n);
		st = anser_sampler_new(NULL, 1000, &s, &err);
		anser_fail_alloc_after(-1);
		if (st == ANSER_OK)
			break;
		if (st != ANSER_E_NOMEM || s != NULL)
			bad++;
	}
	CHECK(bad == 0 && n > 2 && n < 100,
	      "every failed allocation in sampler_new fails cleanly");
	anser_sampler_free(s);
}

int main(void)
{
	test_params();
	test_seeds();
	test_generator();
	test_greedy();
	test_penalties();
	test_distribution();
	test_large();
	test_alloc_failures();
	return done();
}
