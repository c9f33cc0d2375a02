/*
 * kernels.h - the arithmetic of the forward pass.
 *
 * Every fast kernel has a plain-C twin (ref_*) that tests compare it with.
 * Weights stay in their stored type (f32, f16, bf16, q8_0, q4_0) and are
 * widened to f32 as they are used; all arithmetic is f32, except that decoding
 * with quantized weights takes integer dot products of 32 weights with 32
 * activations quantized to int8, then scales them in f32.
 */
#ifndef ANSER_KERNELS_H
#define ANSER_KERNELS_H

#include <math.h>

#include "internal.h"
#include "quant.h"
#include "threads.h"

/*
 * A weight matrix of the map y = W x, W (rows, cols) = (out, in), read in
 * place: row-major, or with `tr` stored transposed, (cols, rows) row-major,
 * as checkpoints store the LoRA matrices (float types only).
 */
struct wmat {
	const void *data;
	enum anser_dtype dtype;
	int rows, cols;
	int tr;
};

/*
 * y[r] = dot(W[r], x) for rows r in [r0, r1): the matrix-vector product that
 * decoding is made of.  Memory-bound: each weight is read once.  Float
 * weights use x; quantized weights use xq, x quantized to q8 blocks, and
 * sum integer products block by block, each times the two blocks' scales.
 */
typedef void (*rows_dot_fn)(const struct wmat *w, const float *x,
                            const struct qx *xq, int r0, int r1, float *y);

void ref_rows_dot(const struct wmat *w, const float *x, const struct qx *xq,
                  int r0, int r1, float *y);

/* The fastest rows_dot this CPU supports for `dtype` (ref_rows_dot when
 * nothing better exists).  `name` gets "avx2", "avx512-vnni", "ref", ... */
rows_dot_fn kernels_rows_dot(enum anser_dtype dtype, const char **name);
/* The same for a transposed w (float types): y[r] = sum_c W^T[c][r] x[c]. */
rows_dot_fn kernels_rows_dot_tr(enum anser_dtype dtype, const char **name);

/* x[cols] to q8 blocks for rows_dot on quantized weights (quant.h); the
 * fast version gives exactly ref_quantize_x's integers and scales. */
typedef void (*quantize_x_fn)(const float *x, struct qx *xq);
quantize_x_fn kernels_quantize_x(void);

/* The most a kernel may use: ANSER_KERNELS=ref in the environment forces
 * the plain-C kernels (0), =avx2 stops at AVX2 (1); else no limit. */
int kernels_limit(void);

#if defined(__x86_64__)
/* What this CPU has, asked once, within kernels_limit (kernels_x86.c). */
int cpu_avx2(void);       /* AVX2, FMA and F16C */
int cpu_avx512vnni(void); /* and AVX-512 F, BW, VL and VNNI */
/* The quantized kernels (kernels_q_x86.c); NULL when the CPU has none. */
rows_dot_fn q_rows_dot_x86(enum anser_dtype t, const char **name);
void quantize_x_avx2(const float *x, struct qx *xq);
void widen_q_avx2(const struct wmat *w, int r0, int r1, float *out);
#endif

/* Rows [r0, r1) of w as f32 into out[(r1 - r0) * cols], any type (for a
 * transposed w: out[cols][r1 - r0], its columns r0..r1): the plain-C twin
 * and the fastest this CPU has.  Sequence mode widens every weight tile
 * with it, and the embedding its rows. */
typedef void (*widen_fn)(const struct wmat *w, int r0, int r1, float *out);
void ref_widen(const struct wmat *w, int r0, int r1, float *out);
widen_fn kernels_widen(void);
void widen_rows(const struct wmat *w, int r0, int r1, float *out);

/*
 * One token of the state recurrence for one head (N x N state S, row i =
 * value channel, column j = key channel), with b = kk * a precomputed:
 *   sa_i = -sum_j S[i][j] kk[j]
 *   S[i][j] = S[i][j] w[j] + sa_i b[j] + v[i] k[j]
 *   y[i] = sum_j S[i][j] r[j]
 */
typedef void (*wkv_fn)(float *S, int N, const float *w, const float *kk,
                       const float *b, const float *k, const float *v,
                       const float *r, float *y);
void ref_wkv(float *S, int N, const float *w, const float *kk, const float *b,
             const float *k, const float *v, const float *r, float *y);
wkv_fn kernels_wkv(void);

/* h[i] = max(h[i], 0)^2 for n floats: the FFN's activation, [T][F] at a
 * time.  The plain loop compiles to a branch per element that random signs
 * mispredict half the time (5% of a prefill). */
typedef void (*relu2_fn)(float *h, size_t n);
void ref_relu2(float *h, size_t n);
relu2_fn kernels_relu2(void);

/*
 * y[i] = 1 / (1 + e^-(a[i] + b[i])) and, with scale != 0, then
 * y[i] = e^(scale * y[i]) (the decay); y may be a or b.  The fast one's
 * exponential is a polynomial within 2 ulp of expf (libm's scalar expf
 * was 4% of a prefill).
 */
typedef void (*sigmoid_fn)(float *y, const float *a, const float *b,
                           float scale, size_t n);
void ref_sigmoid(float *y, const float *a, const float *b, float scale,
                 size_t n);
sigmoid_fn kernels_sigmoid(void);

/* y[T][w.rows] = x[T][w.cols] * W^T, plain C: the twin of linear(). */
void ref_linear(const struct wmat *w, const float *x, int T, float *y);

/*
 * The same on a pool: up to KERNELS_SHORT_T tokens are split by rows over
 * threads (rows_dot, each strip of rows for every token in turn); more are
 * split into row tiles, each widened to f32 and multiplied with OpenBLAS
 * sgemm on the thread that owns it.  scratch holds linear_scratch_floats(w)
 * floats per thread.
 */
/* Up to this many tokens, matrix products take the rows path: below it,
 * widening whole tiles for sgemm costs more than it saves. */
#define KERNELS_SHORT_T 8

struct linear_job {
	const struct wmat *w;
	const float *x; /* [T][cols] */
	float *y;       /* [T][rows] */
};

void linear_many(struct pool *p, const struct linear_job *jobs, int n_jobs,
                 int T, float *scratch, size_t scratch_per_thread);
size_t linear_scratch_floats(int cols);

/* sgemm, row-major, C[m][n] = A[m][k] * B[n][k]^T, and with B[k][n] not
 * transposed (kernels_blas.c). */
void blas_sgemm_nt(int m, int n, int k, const float *a, int lda,
                   const float *b, int ldb, float *c, int ldc);
void blas_sgemm_nn(int m, int n, int k, const float *a, int lda,
                   const float *b, int ldb, float *c, int ldc);
/* Makes OpenBLAS single-threaded: our pool owns the threads. */
void blas_init(void);

/* ---- elementwise pieces of the forward pass (plain C, f32) ---- */

/* LayerNorm of x[n] into y[n]: (x - mean) / sqrt(var + eps) * g + b. */
void layer_norm(const float *x, const float *g, const float *b, int n,
                float eps, float *y);

static inline float sigmoidf(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

#endif /* ANSER_KERNELS_H */
