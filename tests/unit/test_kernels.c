/*
 * test_kernels.c - every fast kernel against its plain-C twin: rows_dot
 * (SIMD) and linear_many (pool + sgemm tiles) vs ref_rows_dot / ref_linear,
 * on odd shapes, each weight type and thread counts; and the pool itself.
 */
#include <dirent.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../lib/dtype.h"
#include "../../lib/kernels.h"
#include "../harness.h"

#define N_TYPES (ANSER_DTYPE_Q4_0 + 1) /* the native types */

static uint32_t rng = 2463534242u;

static float frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return (float)((double)rng / 4294967296.0 * 2.0 - 1.0);
}

/* Threads for the pool tests: n, or fewer with ANSER_TEST_THREADS=1 where
 * threads cannot start (qemu-user here hangs in pthread_create, so
 * tools/test-arm64.sh runs the NEON kernels on one thread). */
static int threads(int n)
{
	const char *e = getenv("ANSER_TEST_THREADS");

	return e && !strcmp(e, "1") ? 1 : n;
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
	if (dtype_is_quant(t)) {
		/* Integers first, then scales (quant.h). */
		uint8_t *q = d;
		quantize(t, f, n / QBLOCK, q, (uint16_t *)(q + n / QBLOCK * quant_qbytes(t)));
	} else {
		anser_convert_elems(ANSER_DTYPE_F32, f, t, d, n);
	}
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

/* Quantized types need whole blocks per row; the shapes they skip. */
static int shape_ok(int t, int cols)
{
	return !dtype_is_quant((enum anser_dtype)t) || cols % QBLOCK == 0;
}

static void test_rows_dot(void)
{
	static const int shapes[][2] = { { 1, 1 }, { 5, 7 }, { 3, 16 }, { 9, 33 },
	                                 { 64, 64 }, { 130, 768 }, { 7, 1001 },
	                                 { 1, 32 }, { 6, 96 }, { 13, 2048 } };
	for (int t = 0; t < N_TYPES; t++) {
		const char *name;
		rows_dot_fn fast = kernels_rows_dot((enum anser_dtype)t, &name);
		double worst = 0;
		for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
			if (!shape_ok(t, shapes[s][1]))
				continue;
			struct wmat w = make((enum anser_dtype)t, shapes[s][0], shapes[s][1]);
			float *x = malloc((size_t)w.cols * 4), *y1 = calloc((size_t)w.rows + 1, 4);
			float *y2 = calloc((size_t)w.rows + 1, 4);
			void *qbuf = malloc(qx_bytes(w.cols));
			struct qx xq;
			for (int i = 0; i < w.cols; i++)
				x[i] = frand();
			qx_init(&xq, qbuf, w.cols);
			ref_quantize_x(x, &xq);
			y1[w.rows] = y2[w.rows] = 42.0f; /* a guard past the end */
			fast(&w, x, &xq, 0, w.rows, y1);
			ref_rows_dot(&w, x, &xq, 0, w.rows, y2);
			double e = rel_err(y1, y2, (size_t)w.rows + 1);
			if (e > worst)
				worst = e;
			/* A sub-range writes only its rows. */
			memset(y1, 0, (size_t)w.rows * 4);
			fast(&w, x, &xq, w.rows / 2, w.rows, y1);
			for (int r = 0; r < w.rows / 2; r++)
				if (y1[r] != 0.0f)
					worst = INFINITY;
			free((void *)w.data);
			free(x);
			free(y1);
			free(y2);
			free(qbuf);
		}
		char what[128];
		snprintf(what, sizeof(what), "rows_dot %s (%s) matches the reference (rel err %.1e)",
		         anser_dtype_name((enum anser_dtype)t), name, worst);
		CHECK(worst < 1e-5, what);
	}
}

/* The integer path stays close to the exact product of the dequantized
 * weights with x: the activation's own rounding is the only difference. */
static void test_quant_dot_error(void)
{
	for (int t = ANSER_DTYPE_Q8_0; t <= ANSER_DTYPE_Q4_0; t++) {
		struct wmat w = make((enum anser_dtype)t, 64, 768);
		float x[768], y1[64];
		double num = 0, den = 0;
		for (int i = 0; i < 768; i++)
			x[i] = frand();
		ref_linear(&w, x, 1, y1); /* T == 1: the integer path */
		for (int r = 0; r < 64; r++) {
			double a = 0;
			for (int c = 0; c < 768; c++)
				a += (double)quant_get(w.dtype, w.data, 64 * 768, (uint64_t)r * 768 + c) * x[c];
			num += (y1[r] - a) * (y1[r] - a);
			den += a * a;
		}
		char what[128];
		snprintf(what, sizeof(what), "%s: integer dot within 1%% of the exact one (rms %.1e)",
		         anser_dtype_name((enum anser_dtype)t), sqrt(num / den));
		CHECK(sqrt(num / den) < 0.01, what);
		free((void *)w.data);
	}
}

/* Round trips: q8_0 within half a step of each block's scale; the q4_0
 * scale search beats m / -8 (the plain choice) on random weights. */
static void test_quant_roundtrip(void)
{
	enum { N = 32 * 512 };
	static float f[N], g[N];
	static uint8_t q[N];
	static uint16_t d[N / 32];
	double e4 = 0, e4max = 0;
	int bad = 0;

	for (int i = 0; i < N; i++)
		f[i] = frand() * (i % 64 < 32 ? 1.0f : 0.001f) * (i % 97 ? 1.0f : 20.0f);
	quantize(ANSER_DTYPE_Q8_0, f, N / 32, q, d);
	dequantize(ANSER_DTYPE_Q8_0, q, d, N / 32, g);
	/* quant_get reads a tensor laid out as integers, then scales. */
	uint8_t *t = malloc(N + N / 16);
	memcpy(t, q, N);
	memcpy(t + N, d, N / 16);
	for (int i = 0; i < N; i++) {
		float s = f16_to_f32(d[i / 32]);
		if (fabsf(f[i] - g[i]) > s * 0.5001f + 1e-12f)
			bad++;
		if (g[i] != quant_get(ANSER_DTYPE_Q8_0, t, N, (uint64_t)i))
			bad++;
	}
	CHECK(bad == 0, "q8_0: every value within half a step; quant_get agrees");
	/* Tiny blocks: their scale is an f16 subnormal (under 6.1e-5). */
	int tiny_bad = 0;
	for (int k = 0; k < 200; k++) {
		float x[32], y[32];
		uint8_t v[32];
		uint16_t s;
		for (int i = 0; i < 32; i++)
			x[i] = frand() * 1e-3f * (float)(k + 1) / 200.0f;
		quantize(ANSER_DTYPE_Q8_0, x, 1, v, &s);
		dequantize(ANSER_DTYPE_Q8_0, v, &s, 1, y);
		for (int i = 0; i < 32; i++)
			if (fabsf(x[i] - y[i]) > f16_to_f32(s) * 0.5001f)
				tiny_bad++;
	}
	CHECK(tiny_bad == 0, "q8_0: tiny blocks (subnormal f16 scales) within half a step too");
	for (int i = 0; i < N; i++) /* uniform: the search gains ~16% */
		f[i] = frand() * (i % 64 < 32 ? 1.0f : 0.001f);
	quantize(ANSER_DTYPE_Q4_0, f, N / 32, q, d);
	dequantize(ANSER_DTYPE_Q4_0, q, d, N / 32, g);
	memcpy(t, q, N / 2);
	memcpy(t + N / 2, d, N / 16);
	for (int i = 0; i < N; i++) {
		e4 += (double)(f[i] - g[i]) * (f[i] - g[i]);
		if (g[i] != quant_get(ANSER_DTYPE_Q4_0, t, N, (uint64_t)i))
			bad++;
	}
	free(t);
	/* The plain choice: d = m / -8 for the value m of largest magnitude. */
	for (int b = 0; b < N / 32; b++) {
		float m = 0, s;
		for (int i = 0; i < 32; i++)
			if (fabsf(f[32 * b + i]) > fabsf(m))
				m = f[32 * b + i];
		s = f16_to_f32(f32_to_f16(m / -8.0f));
		for (int i = 0; i < 32; i++) {
			float v = f[32 * b + i], r = s ? rintf(v / s) : 0;
			r = r < -8 ? -8 : r > 7 ? 7 : r;
			e4max += (double)(v - s * r) * (v - s * r);
		}
	}
	char what[128];
	snprintf(what, sizeof(what), "q4_0: the scale search lowers the squared error to %.0f%% of max/-8's",
	         100 * e4 / e4max);
	CHECK(bad == 0 && e4 < 0.9 * e4max, what);
	/* Zeros and a lone value survive. */
	memset(f, 0, 64 * sizeof(float));
	f[40] = -3.0f;
	quantize(ANSER_DTYPE_Q4_0, f, 2, q, d);
	dequantize(ANSER_DTYPE_Q4_0, q, d, 2, g);
	CHECK(g[0] == 0 && g[40] == -3.0f && g[41] == 0, "q4_0: a zero block and a lone value round-trip");
}

/* A transposed (rows, cols) matrix: stored (cols, rows), as LoRAs are. */
static struct wmat make_tr(enum anser_dtype t, int rows, int cols)
{
	struct wmat w = make(t, cols, rows);
	w.rows = rows;
	w.cols = cols;
	w.tr = 1;
	return w;
}

static void test_transposed(void)
{
	static const int shapes[][3] = { /* rows, cols, T */
		{ 64, 768, 1 }, { 37, 100, 1 }, { 32, 64, 5 }, { 768, 64, 3 },
		{ 96, 2048, 40 }, { 5, 7, 20 },
	};
	struct pool *p = pool_new(threads(2));
	widen_fn wfast = kernels_widen();

	for (int t = 0; t < 3; t++) {
		double worst = 0, worst_dot = 0;
		int bad = 0;
		const char *name;
		rows_dot_fn fast = kernels_rows_dot_tr((enum anser_dtype)t, &name);
		for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
			int T = shapes[s][2];
			struct wmat w = make_tr((enum anser_dtype)t, shapes[s][0], shapes[s][1]);
			size_t per = linear_scratch_floats(w.cols), n = (size_t)w.rows * (size_t)w.cols;
			float *scratch = malloc(per * 2 * 4), *x = malloc((size_t)T * (size_t)w.cols * 4);
			float *y1 = malloc((size_t)T * (size_t)w.rows * 4), *y2 = malloc((size_t)T * (size_t)w.rows * 4);
			float *a = malloc(n * 4), *b = malloc(n * 4);
			for (size_t i = 0; i < (size_t)T * (size_t)w.cols; i++)
				x[i] = frand();
			struct linear_job job = { &w, x, y1 };
			linear_many(p, &job, 1, T, scratch, per);
			ref_linear(&w, x, T, y2);
			double e = rel_err(y1, y2, (size_t)T * (size_t)w.rows);
			if (e > worst)
				worst = e;
			/* One token straight through the fast kernel, a sub-range. */
			memset(y1, 0, (size_t)w.rows * 4);
			fast(&w, x, NULL, 1, w.rows, y1);
			ref_rows_dot(&w, x, NULL, 1, w.rows, y2);
			e = rel_err(y1 + 1, y2 + 1, (size_t)w.rows - 1);
			if (e > worst_dot || y1[0] != 0.0f)
				worst_dot = y1[0] != 0.0f ? INFINITY : e;
			/* Widening columns 1..rows of W^T. */
			wfast(&w, 1, w.rows, a);
			ref_widen(&w, 1, w.rows, b);
			bad += memcmp(a, b, (size_t)(w.rows - 1) * (size_t)w.cols * 4) != 0;
			free((void *)w.data);
			free(scratch);
			free(x);
			free(y1);
			free(y2);
			free(a);
			free(b);
		}
		char what[160];
		snprintf(what, sizeof(what), "transposed %s (%s): rows_dot (rel err %.1e), linear_many "
		         "(%.1e) and widen match the reference", anser_dtype_name((enum anser_dtype)t),
		         name, worst_dot, worst);
		/* The fast paths fuse each multiply-add, the reference rounds
		 * twice: over 2048 columns that drifts up to ~2e-5. */
		CHECK(worst < 1e-4 && worst_dot < 1e-4 && bad == 0, what);
	}
	pool_free(p);
}

static void test_quantize_x(void)
{
	quantize_x_fn fast = kernels_quantize_x();
	int bad = 0;

	for (int cols = 32; cols <= 4096; cols *= 2) {
		float *x = malloc((size_t)cols * 4);
		void *b1 = malloc(qx_bytes(cols)), *b2 = malloc(qx_bytes(cols));
		struct qx q1, q2;
		for (int i = 0; i < cols; i++)
			x[i] = frand() * (i % 96 < 32 ? 100.0f : 1.0f) * (i >= 64 && i < 96 ? 0.0f : 1.0f);
		qx_init(&q1, b1, cols);
		qx_init(&q2, b2, cols);
		fast(x, &q1);
		ref_quantize_x(x, &q2);
		bad += memcmp(q1.q, q2.q, (size_t)cols) != 0;
		bad += memcmp(q1.d, q2.d, (size_t)q1.nb * 4) != 0;
		bad += memcmp(q1.sum, q2.sum, (size_t)q1.nb * 4) != 0;
		bad += ((uintptr_t)q1.q & 31) != 0;
		free(x);
		free(b1);
		free(b2);
	}
	CHECK(bad == 0, "quantize_x: the fast path gives the reference's integers and scales");
}

static void test_linear(int n_threads)
{
	struct pool *p = pool_new(threads(n_threads));
	static const int shapes[][3] = { /* rows, cols, T */
		{ 1, 1, 1 }, { 7, 5, 1 }, { 7, 5, 3 }, { 100, 64, 1 }, { 100, 64, 17 },
		{ 257, 130, 33 }, { 1000, 96, 5 }, { 64, 3000, 9 }, { 33, 256, 1 },
		{ 40, 2048, 4 },
	};
	for (int t = 0; t < N_TYPES; t++) {
		double worst = 0;
		for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
			int T = shapes[s][2];
			if (!shape_ok(t, shapes[s][1]))
				continue;
			struct wmat w = make((enum anser_dtype)t, shapes[s][0], shapes[s][1]);
			struct wmat w2 = make((enum anser_dtype)t, shapes[s][0] / 2 + 1, shapes[s][1]);
			size_t per = linear_scratch_floats(w.cols);
			float *scratch = malloc(per * (size_t)pool_size(p) * 4);
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
		         anser_dtype_name((enum anser_dtype)t), pool_size(p), worst);
		/* sgemm sums 3000 products in float, in its own order. */
		CHECK(worst < 1e-4, what);
	}
	pool_free(p);
}

/* relu^2: the fast one equals the plain one bit for bit, every length
 * (the tail too), NaN and -0 included. */
static void test_relu2(void)
{
	float a[45], b[45];
	int bad = 0;

	for (size_t n = 0; n <= 45; n++) {
		for (size_t i = 0; i < n; i++)
			a[i] = b[i] = (float)((int)(i * 7 % 11) - 5) * 0.37f;
		if (n > 3)
			a[3] = b[3] = NAN;
		if (n > 9)
			a[9] = b[9] = -0.0f;
		kernels_relu2()(a, n);
		ref_relu2(b, n);
		bad += memcmp(a, b, n * sizeof(float)) != 0;
	}
	CHECK(bad == 0, "relu2: fast equals plain, every length");
	b[0] = -2.0f;
	b[1] = 3.0f;
	ref_relu2(b, 2);
	CHECK(b[0] == 0.0f && b[1] == 9.0f, "relu2: max(x, 0)^2");
}

/* sigmoid (and the decay's e^(scale sigmoid)): the fast one within
 * 1e-6 of the plain one relatively (4e-38 absolutely, past e^-86), on
 * every length and on values from -100 to 100. */
static void test_sigmoid(void)
{
	static float a[203], b[203], y1[203], y2[203];
	double worst = 0;

	for (int i = 0; i < 203; i++) {
		a[i] = (float)(i - 101) * 0.99f;
		b[i] = (float)(i % 7) * 0.013f - 0.04f;
	}
	for (size_t n = 0; n <= 203; n += 29)
		for (int k = 0; k < 2; k++) {
			float sc = k ? -0.60653066f : 0.0f;
			kernels_sigmoid()(y1, a, b, sc, n);
			ref_sigmoid(y2, a, b, sc, n);
			for (size_t i = 0; i < n; i++) {
				double e = fabs((double)y1[i] - y2[i]) -
				           4e-38 - 1e-6 * fabs((double)y2[i]);
				if (e > worst)
					worst = e;
			}
		}
	CHECK(worst <= 0, "sigmoid: fast within 1e-6 of plain");
	memcpy(y1, a, sizeof(a));
	kernels_sigmoid()(y1, y1, b, 0.0f, 203);
	ref_sigmoid(y2, a, b, 0.0f, 203);
	CHECK(fabs((double)y1[150] - y2[150]) < 1e-6 && y1[101] > 0.49f &&
	      y1[101] < 0.51f, "sigmoid: in place, sigmoid(0) = 1/2");
}

static void test_widen_wkv(void)
{
	widen_fn fast = kernels_widen();
	wkv_fn wfast = kernels_wkv();
	int bad = 0;

	for (int t = 0; t < N_TYPES; t++) {
		for (int n = 1; n < 12; n += 3) {
			/* n rows of 32 or 96 columns: widen rows 1..n-1 or all. */
			int cols = n % 2 ? 96 : 32, r0 = n > 1;
			struct wmat w = make((enum anser_dtype)t, n, cols);
			float a[12 * 96], b[12 * 96];
			fast(&w, r0, n, a);
			ref_widen(&w, r0, n, b);
			bad += memcmp(a, b, (size_t)(n - r0) * (size_t)cols * sizeof(float)) != 0;
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
		/* As the model makes them: decays w in (0.5, 1), kk of unit
		 * length, b = kk * a with a in [0, 1).  Otherwise S grows
		 * without bound and its rounding with it. */
		{
			double ss = 0;
			for (int i = 0; i < N; i++)
				ss += (double)vec[1][i] * vec[1][i];
			for (int i = 0; i < N; i++) {
				vec[0][i] = 0.5f + 0.5f * fabsf(vec[0][i]);
				vec[1][i] = (float)(vec[1][i] / sqrt(ss));
				vec[2][i] = vec[1][i] * fabsf(vec[2][i]);
			}
		}
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

/* Threads of this process other than the caller in state R (running). */
static int running_helpers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;
	long self = (long)syscall(SYS_gettid);

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[300], buf[512], *p;
		FILE *f;
		if (e->d_name[0] == '.' || strtol(e->d_name, NULL, 10) == self)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ' &&
		    p[2] == 'R')
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

static void test_pool(void)
{
	static struct count c;
	struct pool *p;
	int bad = 0;

	if (threads(4) == 1) {
		t_skip("pool: ANSER_TEST_THREADS=1");
		return;
	}
	p = pool_new(4);

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(round % 1000);
		memset(&c, 0, sizeof(c));
		pool_run(p, count_job, &c, n);
		for (size_t i = 0; i < 1000; i++)
			if (c.hits[i] != (i < n ? 1 : 0))
				bad++;
	}
	CHECK(bad == 0, "pool: 2000 jobs, every task run exactly once");
	bad = 0;
	for (int round = 0; round < 500; round++) {
		size_t n = (size_t)(round * 7 % 1000), g = (size_t)(round % 9);
		int pieces = 0;
		memset(&c, 0, sizeof(c));
		pool_run_grain(p, count_job, &c, n, g);
		for (size_t i = 0; i < 1000; i++)
			if (c.hits[i] != (i < n ? 1 : 0))
				bad++;
		for (int t = 0; t < 8; t++)
			pieces += c.threads_seen[t];
		/* Pieces of `grain` tasks (the last may be short). */
		if (g && n && pieces != (int)((n + g - 1) / g))
			bad++;
	}
	CHECK(bad == 0, "pool: 500 jobs in pieces, every task run exactly once, "
	      "in pieces of the grain");
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
	/* After a job, helpers spin only briefly, then sleep: none may be
	 * left running (state R in /proc) a while later. */
	for (int k = 0; k < 50; k++)
		pool_run(p, count_job, &c, 3);
	usleep(200000);
	CHECK(running_helpers() == 0, "pool: no helper is left spinning after a run");
	pool_free(p);
}

/* Quantized rows longer than the AVX-512 kernel's stack holds x for
 * (16384 columns) take the AVX2 kernel: still right. */
static void test_rows_dot_wide(void)
{
	const int cols = 16416;
	float *x = malloc((size_t)cols * 4), y1[4] = { 0 }, y2[4] = { 0 };
	void *qbuf = malloc(qx_bytes(cols));
	struct qx xq;
	double worst = 0;

	for (int i = 0; i < cols; i++)
		x[i] = frand();
	qx_init(&xq, qbuf, cols);
	ref_quantize_x(x, &xq);
	for (int t = ANSER_DTYPE_Q8_0; t <= ANSER_DTYPE_Q4_0; t++) {
		struct wmat w = make((enum anser_dtype)t, 3, cols);
		kernels_rows_dot((enum anser_dtype)t, NULL)(&w, x, &xq, 0, 3, y1);
		ref_rows_dot(&w, x, &xq, 0, 3, y2);
		double e = rel_err(y1, y2, 3);
		if (e > worst)
			worst = e;
		free((void *)w.data);
	}
	CHECK(worst < 1e-5, "rows_dot q8_0, q4_0: rows of 16416 columns match the reference");
	free(x);
	free(qbuf);
}

int main(void)
{
	blas_init();
	test_rows_dot();
	test_quant_dot_error();
	test_quant_roundtrip();
	test_quantize_x();
	test_linear(1);
	test_linear(3);
	test_widen_wkv();
	test_relu2();
	test_sigmoid();
	test_transposed();
	test_pool();
	/* The AVX2 kernels too, on a CPU that would pick AVX-512. */
	setenv("ANSER_KERNELS", "avx2", 1);
	test_rows_dot();
	test_linear(3);
	test_widen_wkv();
	test_transposed();
	unsetenv("ANSER_KERNELS");
	test_rows_dot_wide();
	return done();
}
