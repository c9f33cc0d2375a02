/*
 * stats.c - the harness's aggregate statistics (lm_eval/api/metrics.py,
 * v0.4.8): mean, mean_stderr, the bootstrap stderr of perplexity and the
 * pooled stderr of a group.
 *
 * Sums run left to right in double, as Python's sum() over floats does up
 * to 3.11 (3.12 made sum() compensated; the difference is a few ulps).
 */
#include <math.h>

#include "eval.h"
#include "../lib/internal.h"
#include "../lib/threads.h"

double eval_mean(const double *x, size_t n)
{
	double s = 0.0;

	if (!n)
		return NAN;
	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s / (double)n;
}

/*
 * Python's x ** 2 for a float: float_pow() calls the C library's pow() on
 * |x| (the sign is fixed up for odd exponents only).  glibc's pow(x, 2) is
 * not always x * x (about 1 in 1200 random values differs by an ulp), so
 * the exponent is read from a volatile to keep the compiler from folding
 * pow(x, 2.0) into x * x.
 */
static volatile double py_two = 2.0;

static double py_square(double x)
{
	return pow(fabs(x), py_two);
}

/* metrics.sample_stddev: sqrt(sum((x - mu) ** 2) / (n - 1)). */
static double sample_stddev(const double *x, size_t n)
{
	double mu = eval_mean(x, n), s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += py_square(x[i] - mu);
	return sqrt(s / (double)(n - 1));
}

double eval_mean_stderr(const double *x, size_t n)
{
	if (n < 2)
		return NAN;
	return sample_stddev(x, n) / sqrt((double)n);
}

double eval_pooled_stderr(const double *se, const size_t *sizes, size_t k)
{
	double num = 0.0;
	size_t total = 0;

	for (size_t i = 0; i < k; i++) {
		/* (size - 1) * stderr**2 * size, evaluated left to right */
		num += ((double)sizes[i] - 1.0) * py_square(se[i]) *
		       (double)sizes[i];
		total += sizes[i];
	}
	if (!k || total <= k)
		return NAN;
	return sqrt(num / (double)(total - k) / (double)total);
}

/* ---------------------------------------------------------------- MT19937 */

/*
 * CPython's random module (Modules/_randommodule.c): MT19937 seeded with
 * init_by_array, random() = (a >> 5, b >> 6) as a 53-bit fraction.  Words
 * are produced a block of 624 at a time, tempered into `out`.
 */
#define MT_N 624
#define MT_M 397

struct mt {
	uint32_t s[MT_N];
	uint32_t out[MT_N];
};

static void mt_init_by_array(struct mt *m, const uint32_t *key, size_t len)
{
	uint32_t *s = m->s;
	size_t i = 1, j = 0, k;

	s[0] = 19650218U;
	for (i = 1; i < MT_N; i++)
		s[i] = 1812433253U * (s[i - 1] ^ (s[i - 1] >> 30)) + (uint32_t)i;
	i = 1;
	for (k = MT_N > len ? MT_N : len; k; k--) {
		s[i] = (s[i] ^ ((s[i - 1] ^ (s[i - 1] >> 30)) * 1664525U)) +
		       key[j] + (uint32_t)j;
		i++;
		j++;
		if (i >= MT_N) {
			s[0] = s[MT_N - 1];
			i = 1;
		}
		if (j >= len)
			j = 0;
	}
	for (k = MT_N - 1; k; k--) {
		s[i] = (s[i] ^ ((s[i - 1] ^ (s[i - 1] >> 30)) * 1566083941U)) -
		       (uint32_t)i;
		i++;
		if (i >= MT_N) {
			s[0] = s[MT_N - 1];
			i = 1;
		}
	}
	s[0] = 0x80000000U;
}

static inline uint32_t mt_twist(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t y = (a & 0x80000000U) | (b & 0x7fffffffU);

	return c ^ (y >> 1) ^ (-(y & 1U) & 0x9908b0dfU);
}

/* The next 624 words, tempered, into m->out.  Plain loops that vectorize. */
static void mt_block(struct mt *m)
{
	uint32_t *s = m->s, *o = m->out;
	int k;

	for (k = 0; k < MT_N - MT_M; k++)
		s[k] = mt_twist(s[k], s[k + 1], s[k + MT_M]);
	for (; k < MT_N - 1; k++)
		s[k] = mt_twist(s[k], s[k + 1], s[k + MT_M - MT_N]);
	s[MT_N - 1] = mt_twist(s[MT_N - 1], s[0], s[MT_M - 1]);
	for (k = 0; k < MT_N; k++) {
		uint32_t y = s[k];

		y ^= y >> 11;
		y ^= (y << 7) & 0x9d2c5680U;
		y ^= (y << 15) & 0xefc60000U;
		y ^= y >> 18;
		o[k] = y;
	}
}

/* ---------------------------------------------------------------- bootstrap */

struct boot {
	const double *ll;
	size_t n;
	size_t chunk;   /* resamples per chunk */
	double *res;    /* [n_chunks * chunk], in the harness's order */
};

/*
 * metrics._bootstrap_internal for chunk i: rnd = random.Random(); rnd.seed(i);
 * `chunk` times perplexity(rnd.choices(ll, k=n)), where choices picks
 * ll[floor(random() * n)] and perplexity is exp(-(sum / n)).
 */
static void boot_chunk(const struct boot *b, uint32_t seed, double *out)
{
	struct mt m;
	const double *ll = b->ll;
	const size_t n = b->n;
	const double dn = (double)n;
	size_t have = 0; /* unread words left in m.out */

	mt_init_by_array(&m, &seed, 1);
	for (size_t r = 0; r < b->chunk; r++) {
		size_t left = n;
		double sum = 0.0;

		while (left) {
			const uint32_t *w;
			size_t take;

			if (!have) {
				mt_block(&m);
				have = MT_N;
			}
			/* MT_N is even: a draw never straddles two blocks. */
			take = have / 2 < left ? have / 2 : left;
			w = m.out + (MT_N - have);
			for (size_t k = 0; k < take; k++) {
				double x = ((double)(w[2 * k] >> 5) * 67108864.0 +
				            (double)(w[2 * k + 1] >> 6)) *
				           (1.0 / 9007199254740992.0);
				size_t idx = (size_t)(x * dn);

				/* x < 1 makes idx < n; the test guards memory only. */
				sum += ll[idx < n ? idx : n - 1];
			}
			have -= 2 * take;
			left -= take;
		}
		out[r] = exp(-(sum / dn));
	}
}

static void boot_range(void *arg, size_t begin, size_t end, int thread)
{
	const struct boot *b = arg;

	(void)thread;
	for (size_t i = begin; i < end; i++)
		boot_chunk(b, (uint32_t)i, b->res + i * b->chunk);
}

double eval_ppl_stderr(const double *ll, size_t n, int iters)
{
	struct boot b;
	struct pool *p;
	size_t n_chunks, total;
	double se;

	if (n < 2 || iters < 1)
		return NAN;
	/* metrics.bootstrap_stderr: chunks of min(1000, iters), iters // chunk
	 * of them (so a remainder is dropped, as the harness drops it). */
	b.ll = ll;
	b.n = n;
	b.chunk = iters < 1000 ? (size_t)iters : 1000;
	n_chunks = (size_t)iters / b.chunk;
	total = n_chunks * b.chunk;
	if (total < 2)
		return NAN;
	b.res = anser_malloc(total * sizeof(double));
	if (!b.res)
		return NAN;
	/* Chunks are independent (each has its own seed), so threads may take
	 * them in any order; results land in the harness's order. */
	p = n_chunks > 1 ? pool_new(anser_cpu_count()) : NULL;
	if (p) {
		pool_run(p, boot_range, &b, n_chunks);
		pool_free(p);
	} else {
		boot_range(&b, 0, n_chunks, 0);
	}
	se = sample_stddev(b.res, total);
	anser_free(b.res);
	return se;
}
