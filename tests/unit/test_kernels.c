/*
 * test_kernels.c - every fast kernel against its plain-C twin: rows_dot
 * (SIMD) and linear_many (pool + sgemm tiles) vs ref_rows_dot / ref_linear,
 * on odd shapes, each weight type and thread counts; and the pool itself.
 */
#include <stdatomic.h>
#include <unistd.h>

#include "../../lib/dtype.h"
#include "../../lib/kernels.h"
#include "../harness.h"

static uint32_t rng = 2463534242u;

static float frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return (float)((double)rng / 4294967296.0 * 2.0 - 1.0);
}

/* A random (rows, cols) matrix of `dtype`, values in [-1, 1). */
static struct wmat make(enum anser_dtype t, int rows, int cols)
{
	size_t n = (size_t)rows * (size_t)cols;
	float *f = malloc(n * 4);
	void *d = malloc(n * 4);
	struct wmat w = { .data = d, .dtype = t, .rows = rows, .cols = cols };

	for (size_t i = 0; i < n; i++)
		f[i] = frand();
	anser_convert_elems(ANSER_DTYPE_F32, f, t, d, n);
	free(f);
	return w;
}

static double rel_err(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
		if (!(d <= m))
			m = isnan(d) ? INFINITY : d;
	}
	return m;
}

static void test_rows_dot(void)
{
	static const int shapes[][2] = { { 1, 1 }, { 5, 7 }, { 3, 16 }, { 9, 33 },
	                                 { 64, 64 }, { 130, 768 }, { 7, 1001 } };
	for (int t = 0; t < 3; t++) {
		const char *name;
		rows_dot_fn fast = kernels_rows_dot((enum anser_dtype)t, &name);
		double worst = 0;
		for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
			struct wmat w = make((enum anser_dtype)t, shapes[s][0], shapes[s][1]);
			float *x = malloc((size_t)w.cols * 4), *y1 = calloc((size_t)w.rows + 1, 4);
			float *y2 = calloc((size_t)w.rows + 1, 4);
			for (int i = 0; i < w.cols; i++)
				x[i] = frand();
			y1[w.rows] = y2[w.rows] = 42.0f; /* a guard past the end */
			fast(&w, x, 0, w.rows, y1);
			ref_rows_dot(&w, x, 0, w.rows, y2);
			double e = rel_err(y1, y2, (size_t)w.rows + 1);
			if (e > worst)
				worst = e;
			/* A sub-range writes only its rows. */
			memset(y1, 0, (size_t)w.rows * 4);
			fast(&w, x, w.rows / 2, w.rows, y1);
			for (int r = 0; r < w.rows / 2; r++)
				if (y1[r] != 0.0f)
					worst = INFINITY;
			free((void *)w.data);
			free(x);
			free(y1);
			free(y2);
		}
		char what[128];
		snprintf(what, sizeof(what), "rows_dot %s (%s) matches the reference (rel err %.1e)",
		         anser_dtype_name((enum anser_dtype)t), name, worst);
		CHECK(worst < 1e-5, what);
	}
}

static void test_linear(int threads)
{
	struct pool *p = pool_new(threads);
	static const int shapes[][3] = { /* rows, cols, T */
		{ 1, 1, 1 }, { 7, 5, 1 }, { 7, 5, 3 }, { 100, 64, 1 }, { 100, 64, 17 },
		{ 257, 130, 33 }, { 1000, 96, 5 }, { 64, 3000, 9 },
	};
	for (int t = 0; t < 3; t++) {
		double worst = 0;
		for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
			int T = shapes[s][2];
			struct wmat w = make((enum anser_dtype)t, shapes[s][0], shapes[s][1]);
			struct wmat w2 = make((enum anser_dtype)t, shapes[s][0] / 2 + 1, shapes[s][1]);
			size_t per = linear_scratch_floats(w.cols);
			float *scratch = malloc(per * (size_t)threads * 4);
			float *x = malloc((size_t)T * (size_t)w.cols * 4);
			float *y1 = malloc((size_t)T * (size_t)w.rows * 4), *y2 = malloc((size_t)T * (size_t)w.rows * 4);
			float *z1 = malloc((size_t)T * (size_t)w2.rows * 4), *z2 = malloc((size_t)T * (size_t)w2.rows * 4);
			for (size_t i = 0; i < (size_t)T * (size_t)w.cols; i++)
				x[i] = frand();
			struct linear_job jobs[] = { { &w, x, y1 }, { &w2, x, z1 } };
			/* Small tiles (2 rows' worth) force many tiles per matrix. */
			linear_many(p, jobs, 2, T, scratch, s % 2 ? per : (size_t)w.cols * 2);
			ref_linear(&w, x, T, y2);
			ref_linear(&w2, x, T, z2);
			double e = rel_err(y1, y2, (size_t)T * (size_t)w.rows);
			double e2 = rel_err(z1, z2, (size_t)T * (size_t)w2.rows);
			if (e > worst)
				worst = e;
			if (e2 > worst)
				worst = e2;
			free((void *)w.data);
			free((void *)w2.data);
			free(scratch);
			free(x);
			free(y1);
			free(y2);
			free(z1);
			free(z2);
		}
		char what[128];
		snprintf(what, sizeof(what), "linear_many %s on %d threads matches ref_linear (rel err %.1e)",
		         anser_dtype_name((enum anser_dtype)t), threads, worst);
		/* sgemm sums 3000 products in float, in its own order. */
		CHECK(worst < 1e-4, what);
	}
	pool_free(p);
}

static void test_widen_wkv(void)
{
	widen_fn fast = kernels_widen();
	wkv_fn wfast = kernels_wkv();
	int bad = 0;

	for (int t = 0; t < 3; t++) {
		for (size_t n = 0; n < 70; n += 7) {
			struct wmat w = make((enum anser_dtype)t, 1, (int)n + 1);
			float a[80], b[80];
			fast((enum anser_dtype)t, w.data, a, n + 1);
			ref_widen((enum anser_dtype)t, w.data, b, n + 1);
			bad += memcmp(a, b, (n + 1) * sizeof(float)) != 0;
			free((void *)w.data);
		}
	}
	CHECK(bad == 0, "widen: the fast path equals the reference exactly");
	for (int N = 8; N <= 64; N += 56) {
		float S1[64 * 64], S2[64 * 64], vec[7][64], y1[64], y2[64];
		double worst = 0;
		for (int i = 0; i < N * N; i++)
			S1[i] = S2[i] = frand();
		for (int k = 0; k < 7; k++)
			for (int i = 0; i < N; i++)
				vec[k][i] = frand();
		for (int step = 0; step < 5; step++) {
			wfast(S1, N, vec[0], vec[1], vec[2], vec[3], vec[4], vec[5], y1);
			ref_wkv(S2, N, vec[0], vec[1], vec[2], vec[3], vec[4], vec[5], y2);
		}
		double e = rel_err(S1, S2, (size_t)N * N), e2 = rel_err(y1, y2, (size_t)N);
		worst = e > e2 ? e : e2;
		char what[96];
		snprintf(what, sizeof(what), "wkv N=%d: five steps match the reference (rel err %.1e)",
		         N, worst);
		CHECK(worst < 1e-5, what);
	}
}

struct count {
	atomic_int hits[1000];
	atomic_int threads_seen[8];
};

static void count_job(void *arg, size_t b, size_t e, int thread)
{
	struct count *c = arg;
	for (size_t i = b; i < e; i++)
		atomic_fetch_add(&c->hits[i], 1);
	atomic_fetch_add(&c->threads_seen[thread], 1);
}

static void test_pool(void)
{
	static struct count c;
	struct pool *p = pool_new(4);
	int bad = 0;

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(round % 1000);
		memset(&c, 0, sizeof(c));
		pool_run(p, count_job, &c, n);
		for (size_t i = 0; i < 1000; i++)
			if (c.hits[i] != (i < n ? 1 : 0))
				bad++;
	}
	CHECK(bad == 0, "pool: 2000 jobs, every task run exactly once");
	memset(&c, 0, sizeof(c));
	pool_run(p, count_job, &c, 100);
	CHECK(c.threads_seen[0] == 1 && c.threads_seen[1] == 1 &&
	      c.threads_seen[2] == 1 && c.threads_seen[3] == 1,
	      "pool: 100 tasks on 4 threads give each thread one range");
	pool_free(p);
	p = pool_new(1);
	memset(&c, 0, sizeof(c));
	pool_run(p, count_job, &c, 10);
	CHECK(c.hits[9] == 1 && c.threads_seen[0] == 1, "pool of one runs on the caller");
	pool_free(p);
	/* Sleep between jobs: helpers must wake up again. */
	p = pool_new(3);
	memset(&c, 0, sizeof(c));
	pool_run(p, count_job, &c, 3);
	usleep(50000);
	pool_run(p, count_job, &c, 3);
	CHECK(c.hits[0] == 2 && c.hits[2] == 2, "pool: helpers that went to sleep wake for the next job");
	pool_free(p);
}

int main(void)
{
	blas_init();
	test_rows_dot();
	test_linear(1);
	test_linear(3);
	test_widen_wkv();
	test_pool();
	return done();
}
