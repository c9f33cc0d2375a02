/*
 * kernels.c - plain-C kernels (the reference twins) and the dispatch of the
 * matrix products over the thread pool.
 */
#include <math.h>
#include <stdlib.h>

#include "dtype.h"
#include "kernels.h"

/* Floats per widened tile in sequence mode (8 MB a thread): sgemm packs
 * the chunk's x once per tile, so few big tiles beat cache-sized ones.
 * At 2 MB the 1.5B FFN's 8192 columns made tiles of 64 rows, and x
 * (512 x 8192) was packed 32 times: q8_0 prefill 92 -> 103 tok/s. */
#define TILE_FLOATS (1u << 21)

/* Rows per strip of the rows path: 64 rows of up to 8192 columns stay in
 * L2 while every token passes over them. */
#define ROW_STRIP 64

/* The types a native file stores: F32 .. Q4_0. */
#define N_NATIVE (ANSER_DTYPE_Q4_0 + 1)

/* Weight (r, c) of any type. */
static float wmat_get(const struct wmat *w, int r, int c)
{
	uint64_t i = w->tr ? (uint64_t)c * (uint64_t)w->rows + (uint64_t)r :
	             (uint64_t)r * (uint64_t)w->cols + (uint64_t)c;

	if (dtype_is_quant(w->dtype))
		return quant_get(w->dtype, w->data,
		                 (uint64_t)w->rows * (uint64_t)w->cols, i);
	return load_f32(w->dtype, w->data, i);
}

/* Integer dots of each block with xq's, scaled: the twin of the fast
 * quantized kernels, which must agree to float rounding. */
static void ref_rows_dot_q(const struct wmat *w, const struct qx *xq, int r0,
                           int r1, float *y)
{
	const struct qspan sp = quant_span(w->dtype, w->data,
	                                   (uint64_t)w->rows * (uint64_t)w->cols);
	const size_t qb = quant_qbytes(w->dtype);

	for (int r = r0; r < r1; r++) {
		double acc = 0.0;
		for (int b = 0; b < xq->nb; b++) {
			const size_t k = (size_t)r * (size_t)xq->nb + (size_t)b;
			const uint8_t *v = sp.q + k * qb;
			const int8_t *q = xq->q + b * QBLOCK;
			int32_t s = 0;
			if (w->dtype == ANSER_DTYPE_Q8_0) {
				for (int i = 0; i < QBLOCK; i++)
					s += (int8_t)v[i] * q[i];
			} else {
				for (int i = 0; i < QBLOCK / 2; i++)
					s += ((v[i] & 15) - 8) * q[i] +
					     ((v[i] >> 4) - 8) * q[i + QBLOCK / 2];
			}
			acc += (double)f16_to_f32(sp.d[k]) * (double)xq->d[b] *
			       (double)s;
		}
		y[r] = (float)acc;
	}
}

/* Any weight type against f32 x, accumulated in double: the reference
 * should be the more exact. */
static void ref_rows_dot_exact(const struct wmat *w, const float *x, int r0,
                               int r1, float *y)
{
	for (int r = r0; r < r1; r++) {
		double acc = 0.0;
		for (int c = 0; c < w->cols; c++)
			acc += (double)wmat_get(w, r, c) * x[c];
		y[r] = (float)acc;
	}
}

void ref_rows_dot(const struct wmat *w, const float *x, const struct qx *xq,
                  int r0, int r1, float *y)
{
	if (dtype_is_quant(w->dtype))
		ref_rows_dot_q(w, xq, r0, r1, y);
	else
		ref_rows_dot_exact(w, x, r0, r1, y);
}

void ref_widen(const struct wmat *w, int r0, int r1, float *out)
{
	const size_t cols = (size_t)w->cols, n = (size_t)(r1 - r0) * cols;

	if (w->tr) {
		/* Column c of W^T's rows r0..r1: a contiguous run per c. */
		for (size_t c = 0; c < cols; c++)
			for (int r = r0; r < r1; r++)
				out[c * (size_t)(r1 - r0) + (size_t)(r - r0)] =
					wmat_get(w, r, (int)c);
		return;
	}
	const size_t first = (size_t)r0 * cols;
	const uint16_t *h = (const uint16_t *)w->data + first;

	switch (w->dtype) {
	case ANSER_DTYPE_F16:
		for (size_t i = 0; i < n; i++)
			out[i] = f16_to_f32(h[i]);
		break;
	case ANSER_DTYPE_BF16:
		for (size_t i = 0; i < n; i++)
			out[i] = bf16_to_f32(h[i]);
		break;
	case ANSER_DTYPE_Q8_0:
	case ANSER_DTYPE_Q4_0: {
		/* Rows are whole blocks: block first / 32 starts row r0. */
		struct qspan sp = quant_span(w->dtype, w->data,
		                             (uint64_t)w->rows * cols);
		size_t k = first / QBLOCK;
		dequantize(w->dtype, sp.q + k * quant_qbytes(w->dtype), sp.d + k,
		           n / QBLOCK, out);
		break;
	}
	default:
		memcpy(out, (const float *)w->data + first, n * sizeof(float));
	}
}

void widen_rows(const struct wmat *w, int r0, int r1, float *out)
{
	kernels_widen()(w, r0, r1, out);
}

void ref_relu2(float *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float z = h[i] > 0.0f ? h[i] : 0.0f;
		h[i] = z * z;
	}
}

void ref_sigmoid(float *y, const float *a, const float *b, float scale,
                 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float z = sigmoidf(a[i] + b[i]);
		y[i] = scale != 0.0f ? expf(scale * z) : z;
	}
}

void ref_wkv(float *S, int N, const float *w, const float *kk, const float *b,
             const float *k, const float *v, const float *r, float *y)
{
	for (int i = 0; i < N; i++) {
		float *row = S + (size_t)i * (size_t)N, sa = 0.0f, acc = 0.0f;
		for (int j = 0; j < N; j++)
			sa -= row[j] * kk[j];
		for (int j = 0; j < N; j++) {
			row[j] = row[j] * w[j] + sa * b[j] + v[i] * k[j];
			acc += row[j] * r[j];
		}
		y[i] = acc;
	}
}

void ref_linear(const struct wmat *w, const float *x, int T, float *y)
{
	/* Up to KERNELS_SHORT_T tokens of quantized weights go the integer
	 * way, as decoding does; more multiply the dequantized weights. */
	if (T <= KERNELS_SHORT_T && dtype_is_quant(w->dtype)) {
		void *buf = malloc(qx_bytes(w->cols));
		struct qx xq;
		if (!buf)
			abort(); /* tests only */
		qx_init(&xq, buf, w->cols);
		for (int t = 0; t < T; t++) {
			ref_quantize_x(x + (size_t)t * (size_t)w->cols, &xq);
			ref_rows_dot_q(w, &xq, 0, w->rows,
			               y + (size_t)t * (size_t)w->rows);
		}
		free(buf);
		return;
	}
	for (int t = 0; t < T; t++)
		ref_rows_dot_exact(w, x + (size_t)t * (size_t)w->cols, 0, w->rows,
		                   y + (size_t)t * (size_t)w->rows);
}

int kernels_limit(void)
{
	const char *e = getenv("ANSER_KERNELS");

	if (!e)
		return 99;
	return !strcmp(e, "ref") ? 0 : !strcmp(e, "avx2") ? 1 : 99;
}

size_t linear_scratch_floats(int cols)
{
	/* Tiles, or the quantized x of 16 jobs of KERNELS_SHORT_T tokens. */
	size_t q = 16 * KERNELS_SHORT_T * qx_bytes(cols) / sizeof(float) + 1;
	size_t n = TILE_FLOATS > (size_t)cols * 16 ? TILE_FLOATS :
	           (size_t)cols * 16;
	return cols > 0 ? n > q ? n : q : 0;
}

/* ---- the pool jobs ---- */

struct many {
	const struct linear_job *jobs;
	int n_jobs, T;
	float *scratch;
	size_t per_thread;
	int *tile_rows;   /* [n_jobs] rows per tile (sequence mode) */
	size_t *first;    /* [n_jobs + 1] first global task of each job */
	rows_dot_fn dot[N_NATIVE], dot_tr[N_NATIVE];
	struct qx *xq;    /* [n_jobs][T]: x quantized, for quantized weights */
};

/* Global task index -> (job, local index). */
static int job_of(const struct many *m, size_t task)
{
	int j = 0;
	while (task >= m->first[j + 1])
		j++;
	return j;
}

/*
 * Decode and short sequences: a task is one row of one matrix.  With T
 * tokens, each stretch of ROW_STRIP rows is multiplied with every token's x
 * before the next, so its weights are read from memory once and from cache
 * T - 1 times.
 */
static void run_rows(void *arg, size_t begin, size_t end, int thread)
{
	const struct many *m = arg;
	(void)thread;

	while (begin < end) {
		int j = job_of(m, begin);
		const struct linear_job *jb = &m->jobs[j];
		const struct wmat *w = jb->w;
		size_t stop = end < m->first[j + 1] ? end : m->first[j + 1];
		int r0 = (int)(begin - m->first[j]), r1 = (int)(stop - m->first[j]);

		for (int r = r0; r < r1; r += ROW_STRIP) {
			int re = r1 - r < ROW_STRIP ? r1 : r + ROW_STRIP;
			for (int t = 0; t < m->T; t++)
				(w->tr ? m->dot_tr : m->dot)[w->dtype](
				                 w, jb->x + (size_t)t * (size_t)w->cols,
				                 &m->xq[j * m->T + t], r, re,
				                 jb->y + (size_t)t * (size_t)w->rows);
		}
		begin = stop;
	}
}

/* Sequence mode: a task is one tile of rows of one matrix. */
static void run_tiles(void *arg, size_t begin, size_t end, int thread)
{
	const struct many *m = arg;
	float *tile = m->scratch + m->per_thread * (size_t)thread;

	for (size_t task = begin; task < end; task++) {
		int j = job_of(m, task);
		const struct linear_job *jb = &m->jobs[j];
		const struct wmat *w = jb->w;
		int r0 = (int)(task - m->first[j]) * m->tile_rows[j];
		int r1 = r0 + m->tile_rows[j] < w->rows ? r0 + m->tile_rows[j] :
		         w->rows;
		const float *b;

		if (w->tr) {
			/* W^T's columns r0..r1: y[:, r0..r1] = x W^T[:, r0..r1]. */
			int ldb = r1 - r0;
			if (w->dtype == ANSER_DTYPE_F32) {
				b = (const float *)w->data + r0;
				ldb = w->rows;
			} else {
				widen_rows(w, r0, r1, tile);
				b = tile;
			}
			blas_sgemm_nn(m->T, r1 - r0, w->cols, jb->x, w->cols, b, ldb,
			              jb->y + r0, w->rows);
			continue;
		}
		if (w->dtype == ANSER_DTYPE_F32) {
			b = (const float *)w->data + (size_t)r0 * (size_t)w->cols;
		} else {
			widen_rows(w, r0, r1, tile);
			b = tile;
		}
		blas_sgemm_nt(m->T, r1 - r0, w->cols, jb->x, w->cols, b, w->cols,
		              jb->y + r0, w->rows);
	}
}

/* Bytes for the quantized x of every job's T tokens. */
static size_t rows_path_bytes(const struct linear_job *jobs, int n_jobs,
                              int T)
{
	size_t need = 0;

	for (int j = 0; j < n_jobs; j++)
		if (dtype_is_quant(jobs[j].w->dtype))
			need += (size_t)T * qx_bytes(jobs[j].w->cols);
	return need;
}

/* Rows a piece for the rows path: whole strips, about 16 pieces a thread,
 * so that a thread that falls behind gives work away. */
static size_t rows_grain(size_t rows, int threads)
{
	size_t g = rows / ((size_t)threads * 16);

	g = (g + ROW_STRIP - 1) / ROW_STRIP * ROW_STRIP;
	return g < ROW_STRIP ? ROW_STRIP : g;
}

void linear_many(struct pool *p, const struct linear_job *jobs, int n_jobs,
                 int T, float *scratch, size_t scratch_per_thread)
{
	size_t first[16 + 1];
	int tile_rows[16];
	struct qx xq[16 * KERNELS_SHORT_T];
	struct many m = {
		.jobs = jobs, .n_jobs = n_jobs, .T = T, .scratch = scratch,
		.per_thread = scratch_per_thread, .tile_rows = tile_rows,
		.first = first, .xq = xq,
	};

	if (n_jobs > 16) { /* callers pass a handful; split larger batches */
		linear_many(p, jobs, 16, T, scratch, scratch_per_thread);
		linear_many(p, jobs + 16, n_jobs - 16, T, scratch,
		            scratch_per_thread);
		return;
	}
	first[0] = 0;
	if (T <= KERNELS_SHORT_T) {
		/* Sequence mode's tiles are idle now: quantized x goes there,
		 * or, past a small scratch (tests), into memory of its own. */
		size_t need = rows_path_bytes(jobs, n_jobs, T);
		void *own = need > scratch_per_thread * (size_t)pool_size(p) *
		            sizeof(float) ? malloc(need) : NULL;
		uint8_t *q = own ? own : (uint8_t *)scratch;
		quantize_x_fn quant_x = kernels_quantize_x();
		for (int d = 0; d < N_NATIVE; d++) {
			m.dot[d] = kernels_rows_dot((enum anser_dtype)d, NULL);
			m.dot_tr[d] = kernels_rows_dot_tr((enum anser_dtype)d, NULL);
		}
		for (int j = 0; j < n_jobs; j++) {
			const int cols = jobs[j].w->cols;
			first[j + 1] = first[j] + (size_t)jobs[j].w->rows;
			if (!dtype_is_quant(jobs[j].w->dtype))
				continue;
			for (int t = 0; t < T; t++) {
				qx_init(&xq[j * T + t], q, cols);
				quant_x(jobs[j].x + (size_t)t * (size_t)cols,
				        &xq[j * T + t]);
				q += qx_bytes(cols);
			}
		}
		pool_run_grain(p, run_rows, &m, first[n_jobs],
		               rows_grain(first[n_jobs], pool_size(p)));
		free(own);
		return;
	}
	for (int j = 0; j < n_jobs; j++) {
		const struct wmat *w = jobs[j].w;
		int cols = w->cols, rows = w->rows, nt = pool_size(p), tiles;
		/* f32 weights are used in place; others are widened into a
		 * tile of the thread's scratch. */
		int tr = w->dtype == ANSER_DTYPE_F32 ? rows :
		         (int)(scratch_per_thread / (size_t)cols);
		if (tr < 1)
			tr = 1;
		/* A whole number of equal tiles per thread: the pool splits
		 * tasks by count, and 5 tiles over 2 threads made one do 3
		 * (the FFN matrices of 0.1B: 20% longer than an even split). */
		tiles = (rows + tr - 1) / tr;
		tiles = (tiles + nt - 1) / nt * nt;
		tr = (rows + tiles - 1) / tiles;
		tile_rows[j] = tr;
		first[j + 1] = first[j] + (size_t)((rows + tr - 1) / tr);
	}
	/* Tiles taken one at a time: the jobs of one call differ in cost per
	 * tile, and an even split by count left one thread waiting (0.1B
	 * prefill 1280 -> 1480 tok/s). */
	pool_run_grain(p, run_tiles, &m, first[n_jobs], 1);
}

void layer_norm(const float *x, const float *g, const float *b, int n,
                float eps, float *y)
{
	float mean = 0.0f, var = 0.0f, inv;

	for (int i = 0; i < n; i++)
		mean += x[i];
	mean /= (float)n;
	for (int i = 0; i < n; i++) {
		float d = x[i] - mean;
		var += d * d;
	}
	var /= (float)n;
	inv = 1.0f / sqrtf(var + eps);
	for (int i = 0; i < n; i++)
		y[i] = (x[i] - mean) * inv * g[i] + b[i];
}
