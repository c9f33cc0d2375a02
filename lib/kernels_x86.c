/*
 * kernels_x86.c - rows_dot with AVX2 + FMA (+ F16C for f16) and AVX-512,
 * chosen at run time, and the other fast kernels.  Decode streams every
 * weight once, so the matvecs aim at memory bandwidth: one row at a time,
 * front to back, with the bytes ahead asked into L2 (PREFETCH_AHEAD), and
 * four accumulators to hide the FMA latency.
 */
#include "dtype.h"
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <stdatomic.h>
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma,f16c")))

/*
 * The float matvecs read one row at a time, front to back, and ask for the
 * bytes this far ahead of the read position to be brought into L2.  The
 * loop's widening and FMAs fill the out-of-order window, so without this
 * too few cache misses are in flight to keep memory busy; the hardware
 * prefetcher alone also restarts at every 4 kB page.  Measured, 2 threads,
 * 400 MB of f16 rows of 768 columns: four rows at a time with no hint 15.7
 * GB/s, this 27-28, a plain sum of the same bytes 28.5.  Hints to L1
 * (_MM_HINT_T0) were slower: they hold the L1 fill buffers.
 */
#define PREFETCH_AHEAD 4096

/* A rows_dot_fn entry point for one type of a generic body (the type is
 * a constant there, so each instance is specialised). */
#define DOT_ENTRY(attr, name, body, type)                                  \
	attr static void name(const struct wmat *w, const float *x,        \
	                      const struct qx *xq, int r0, int r1, float *y) \
	{                                                                  \
		(void)xq;                                                  \
		body(type, w, x, r0, r1, y);                               \
	}

TARGET static inline float hsum(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
	                      _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

TARGET static inline __m256 load8(enum anser_dtype t, const void *p, size_t i)
{
	if (t == ANSER_DTYPE_F32)
		return _mm256_loadu_ps((const float *)p + i);
	__m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + i));
	if (t == ANSER_DTYPE_F16)
		return _mm256_cvtph_ps(h);
	/* bf16: the top half of an f32 */
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* One generic body; `t` is a constant in each caller, so it folds away.
 * Four accumulators hide the FMA latency. */
TARGET static inline void rows_dot_t(enum anser_dtype t, const struct wmat *w,
                                     const float *x, int r0, int r1, float *y)
{
	const size_t cols = (size_t)w->cols, cv = cols & ~(size_t)31;
	const size_t es = t == ANSER_DTYPE_F32 ? 4 : 2;

	for (int r = r0; r < r1; r++) {
		const size_t b = (size_t)r * cols;
		const char *ahead = (const char *)w->data + b * es + PREFETCH_AHEAD;
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		size_t i = 0;

		for (; i < cv; i += 32) {
			for (size_t l = 0; l < 32 * es; l += 64)
				_mm_prefetch(ahead + i * es + l, _MM_HINT_T2);
			a0 = _mm256_fmadd_ps(load8(t, w->data, b + i),
			                     _mm256_loadu_ps(x + i), a0);
			a1 = _mm256_fmadd_ps(load8(t, w->data, b + i + 8),
			                     _mm256_loadu_ps(x + i + 8), a1);
			a2 = _mm256_fmadd_ps(load8(t, w->data, b + i + 16),
			                     _mm256_loadu_ps(x + i + 16), a2);
			a3 = _mm256_fmadd_ps(load8(t, w->data, b + i + 24),
			                     _mm256_loadu_ps(x + i + 24), a3);
		}
		for (; i + 8 <= cols; i += 8)
			a0 = _mm256_fmadd_ps(load8(t, w->data, b + i),
			                     _mm256_loadu_ps(x + i), a0);
		float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1),
		                             _mm256_add_ps(a2, a3)));
		for (; i < cols; i++)
			s += load_f32(t, w->data, b + i) * x[i];
		y[r] = s;
	}
}

/* ---- AVX-512: 16 floats a vector, 32 columns a step ---- */

#define TARGET512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw," \
                                        "avx512vl")))

TARGET512 static inline __m512 load16(enum anser_dtype t, const void *p,
                                      size_t i)
{
	if (t == ANSER_DTYPE_F32)
		return _mm512_loadu_ps((const float *)p + i);
	__m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)p + i));
	if (t == ANSER_DTYPE_F16)
		return _mm512_cvtph_ps(h);
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* rows_dot_t with 512-bit vectors: half the instructions per byte. */
TARGET512 static inline void rows_dot_512(enum anser_dtype t,
                                          const struct wmat *w,
                                          const float *x, int r0, int r1,
                                          float *y)
{
	const size_t cols = (size_t)w->cols, cv = cols & ~(size_t)63;
	const size_t es = t == ANSER_DTYPE_F32 ? 4 : 2;

	for (int r = r0; r < r1; r++) {
		const size_t b = (size_t)r * cols;
		const char *ahead = (const char *)w->data + b * es + PREFETCH_AHEAD;
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		size_t i = 0;

		for (; i < cv; i += 64) {
			for (size_t l = 0; l < 64 * es; l += 64)
				_mm_prefetch(ahead + i * es + l, _MM_HINT_T2);
			a0 = _mm512_fmadd_ps(load16(t, w->data, b + i),
			                     _mm512_loadu_ps(x + i), a0);
			a1 = _mm512_fmadd_ps(load16(t, w->data, b + i + 16),
			                     _mm512_loadu_ps(x + i + 16), a1);
			a2 = _mm512_fmadd_ps(load16(t, w->data, b + i + 32),
			                     _mm512_loadu_ps(x + i + 32), a2);
			a3 = _mm512_fmadd_ps(load16(t, w->data, b + i + 48),
			                     _mm512_loadu_ps(x + i + 48), a3);
		}
		for (; i + 16 <= cols; i += 16)
			a0 = _mm512_fmadd_ps(load16(t, w->data, b + i),
			                     _mm512_loadu_ps(x + i), a0);
		float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
		                                             _mm512_add_ps(a2, a3)));
		for (; i < cols; i++)
			s += load_f32(t, w->data, b + i) * x[i];
		y[r] = s;
	}
}

DOT_ENTRY(TARGET512, dot_f32_512, rows_dot_512, ANSER_DTYPE_F32)
DOT_ENTRY(TARGET512, dot_f16_512, rows_dot_512, ANSER_DTYPE_F16)
DOT_ENTRY(TARGET512, dot_bf16_512, rows_dot_512, ANSER_DTYPE_BF16)
DOT_ENTRY(TARGET, dot_f32, rows_dot_t, ANSER_DTYPE_F32)
DOT_ENTRY(TARGET, dot_f16, rows_dot_t, ANSER_DTYPE_F16)
DOT_ENTRY(TARGET, dot_bf16, rows_dot_t, ANSER_DTYPE_BF16)

/*
 * A transposed W (LoRAs): y[r0..r1] = sum_c x[c] W^T[c][r0..r1], 32 outputs
 * at a time held in registers while every column c passes; W^T's rows are
 * short (a rank of 32 to 320), so the whole of it stays in cache.
 */
TARGET static inline void rows_dot_tr_t(enum anser_dtype t,
                                        const struct wmat *w, const float *x,
                                        int r0, int r1, float *y)
{
	const size_t R = (size_t)w->rows;
	int r = r0;

	for (; r + 32 <= r1; r += 32) {
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		for (int c = 0; c < w->cols; c++) {
			const size_t o = (size_t)c * R + (size_t)r;
			const __m256 xc = _mm256_set1_ps(x[c]);
			a0 = _mm256_fmadd_ps(load8(t, w->data, o), xc, a0);
			a1 = _mm256_fmadd_ps(load8(t, w->data, o + 8), xc, a1);
			a2 = _mm256_fmadd_ps(load8(t, w->data, o + 16), xc, a2);
			a3 = _mm256_fmadd_ps(load8(t, w->data, o + 24), xc, a3);
		}
		_mm256_storeu_ps(y + r, a0);
		_mm256_storeu_ps(y + r + 8, a1);
		_mm256_storeu_ps(y + r + 16, a2);
		_mm256_storeu_ps(y + r + 24, a3);
	}
	for (; r + 8 <= r1; r += 8) {
		__m256 a0 = _mm256_setzero_ps();
		for (int c = 0; c < w->cols; c++)
			a0 = _mm256_fmadd_ps(load8(t, w->data, (size_t)c * R + (size_t)r),
			                     _mm256_set1_ps(x[c]), a0);
		_mm256_storeu_ps(y + r, a0);
	}
	for (; r < r1; r++) {
		float a = 0.0f;
		for (int c = 0; c < w->cols; c++)
			a += load_f32(t, w->data, (size_t)c * R + (size_t)r) * x[c];
		y[r] = a;
	}
}

DOT_ENTRY(TARGET, dot_tr_f32, rows_dot_tr_t, ANSER_DTYPE_F32)
DOT_ENTRY(TARGET, dot_tr_f16, rows_dot_tr_t, ANSER_DTYPE_F16)
DOT_ENTRY(TARGET, dot_tr_bf16, rows_dot_tr_t, ANSER_DTYPE_BF16)

/* rows_dot_tr_t with 512-bit vectors: 64 outputs in four registers while
 * the columns pass (a LoRA of 1.5B was 12% of a q8_0 token with AVX2). */
TARGET512 static inline void rows_dot_tr_512(enum anser_dtype t,
                                             const struct wmat *w,
                                             const float *x, int r0, int r1,
                                             float *y)
{
	const size_t R = (size_t)w->rows;
	int r = r0;

	for (; r + 64 <= r1; r += 64) {
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		for (int c = 0; c < w->cols; c++) {
			const size_t o = (size_t)c * R + (size_t)r;
			const __m512 xc = _mm512_set1_ps(x[c]);
			a0 = _mm512_fmadd_ps(load16(t, w->data, o), xc, a0);
			a1 = _mm512_fmadd_ps(load16(t, w->data, o + 16), xc, a1);
			a2 = _mm512_fmadd_ps(load16(t, w->data, o + 32), xc, a2);
			a3 = _mm512_fmadd_ps(load16(t, w->data, o + 48), xc, a3);
		}
		_mm512_storeu_ps(y + r, a0);
		_mm512_storeu_ps(y + r + 16, a1);
		_mm512_storeu_ps(y + r + 32, a2);
		_mm512_storeu_ps(y + r + 48, a3);
	}
	for (; r + 16 <= r1; r += 16) {
		__m512 a0 = _mm512_setzero_ps();
		for (int c = 0; c < w->cols; c++)
			a0 = _mm512_fmadd_ps(load16(t, w->data, (size_t)c * R + (size_t)r),
			                     _mm512_set1_ps(x[c]), a0);
		_mm512_storeu_ps(y + r, a0);
	}
	if (r < r1)
		rows_dot_tr_t(t, w, x, r, r1, y);
}

DOT_ENTRY(TARGET512, dot_tr_f32_512, rows_dot_tr_512, ANSER_DTYPE_F32)
DOT_ENTRY(TARGET512, dot_tr_f16_512, rows_dot_tr_512, ANSER_DTYPE_F16)
DOT_ENTRY(TARGET512, dot_tr_bf16_512, rows_dot_tr_512, ANSER_DTYPE_BF16)

/* Rows of any type to f32, 8 at a time. */
TARGET static void widen_avx2(const struct wmat *w, int r0, int r1,
                              float *out)
{
	const enum anser_dtype t = w->dtype;
	const size_t n = (size_t)(r1 - r0) * (size_t)w->cols;
	const size_t first = (size_t)r0 * (size_t)w->cols;
	size_t i = 0;

	if (w->tr) {
		/* Column c of W^T's rows r0..r1 is one contiguous run. */
		const size_t m = (size_t)(r1 - r0);
		for (size_t c = 0; c < (size_t)w->cols; c++) {
			const size_t o = c * (size_t)w->rows + (size_t)r0;
			float *dst = out + c * m;
			size_t k = 0;
			for (; t != ANSER_DTYPE_F32 && k + 8 <= m; k += 8)
				_mm256_storeu_ps(dst + k, load8(t, w->data, o + k));
			for (; k < m; k++)
				dst[k] = load_f32(t, w->data, o + k);
		}
		return;
	}
	if (dtype_is_quant(t)) {
		widen_q_avx2(w, r0, r1, out);
		return;
	}
	if (t == ANSER_DTYPE_F32) {
		memcpy(out, (const float *)w->data + first, n * sizeof(float));
		return;
	}
	const uint16_t *src = (const uint16_t *)w->data + first;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, load8(t, src, i));
	for (; i < n; i++)
		out[i] = load_f32(t, src, i);
}

TARGET static inline float dot64(const float *a, const float *b, int n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = s0;
	int j = 0;

	for (; j + 16 <= n; j += 16) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8),
		                     _mm256_loadu_ps(b + j + 8), s1);
	}
	float s = hsum(_mm256_add_ps(s0, s1));
	for (; j < n; j++)
		s += a[j] * b[j];
	return s;
}

/* The recurrence of one head for one token (see ref_wkv). */
TARGET static void relu2_avx2(float *h, size_t n)
{
	const __m256 zero = _mm256_setzero_ps();
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 z = _mm256_max_ps(_mm256_loadu_ps(h + i), zero);
		_mm256_storeu_ps(h + i, _mm256_mul_ps(z, z));
	}
	ref_relu2(h + i, n - i);
}

/*
 * e^x for 8 floats: x = n ln2 + r, |r| <= ln2 / 2, e^r by its degree-6
 * Taylor polynomial (error below 2e-7 relative), times 2^n built in the
 * exponent bits.  x is clamped to [-86, 88], where 2^n stays a normal
 * float: e^-86 is 4.5e-38, where expf would go on into subnormals.
 */
TARGET static inline __m256 exp8(__m256 x)
{
	const __m256 log2e = _mm256_set1_ps(1.44269504089f);
	const __m256 ln2hi = _mm256_set1_ps(0.693359375f);
	const __m256 ln2lo = _mm256_set1_ps(-2.12194440e-4f);
	__m256 n, r, p;

	x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-86.0f)),
	                  _mm256_set1_ps(88.0f));
	n = _mm256_round_ps(_mm256_mul_ps(x, log2e),
	                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm256_fnmadd_ps(n, ln2hi, x);
	r = _mm256_fnmadd_ps(n, ln2lo, r);
	p = _mm256_set1_ps(1.0f / 720);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
	return _mm256_castsi256_ps(_mm256_add_epi32(
		_mm256_castps_si256(p),
		_mm256_slli_epi32(_mm256_cvtps_epi32(n), 23)));
}

TARGET static void sigmoid_avx2(float *y, const float *a, const float *b,
                                float scale, size_t n)
{
	const __m256 one = _mm256_set1_ps(1.0f), sc = _mm256_set1_ps(scale);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 z = _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		z = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(
		        _mm256_setzero_ps(), z))));
		if (scale != 0.0f)
			z = exp8(_mm256_mul_ps(sc, z));
		_mm256_storeu_ps(y + i, z);
	}
	ref_sigmoid(y + i, a + i, b + i, scale, n - i);
}

TARGET static void wkv_avx2(float *S, int N, const float *w, const float *kk,
                            const float *b, const float *k, const float *v,
                            const float *r, float *y)
{
	if (N % 8) {
		ref_wkv(S, N, w, kk, b, k, v, r, y);
		return;
	}
	for (int i = 0; i < N; i++) {
		float *row = S + (size_t)i * (size_t)N;
		__m256 sa = _mm256_set1_ps(-dot64(row, kk, N));
		__m256 vi = _mm256_set1_ps(v[i]);
		__m256 acc = _mm256_setzero_ps();
		for (int j = 0; j < N; j += 8) {
			__m256 s = _mm256_mul_ps(_mm256_loadu_ps(row + j),
			                         _mm256_loadu_ps(w + j));
			s = _mm256_fmadd_ps(sa, _mm256_loadu_ps(b + j), s);
			s = _mm256_fmadd_ps(vi, _mm256_loadu_ps(k + j), s);
			_mm256_storeu_ps(row + j, s);
			acc = _mm256_fmadd_ps(s, _mm256_loadu_ps(r + j), acc);
		}
		y[i] = hsum(acc);
	}
}

/*
 * The state recurrence with 512-bit vectors for N = 64: a row of S is four
 * registers, loaded once for both its dot with kk and its update (the AVX2
 * one reads it twice).
 */
TARGET512 static void wkv_512(float *S, int N, const float *w, const float *kk,
                              const float *b, const float *k, const float *v,
                              const float *r, float *y)
{
	if (N != 64) {
		wkv_avx2(S, N, w, kk, b, k, v, r, y);
		return;
	}
	const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
	const __m512 w2 = _mm512_loadu_ps(w + 32), w3 = _mm512_loadu_ps(w + 48);
	const __m512 q0 = _mm512_loadu_ps(kk), q1 = _mm512_loadu_ps(kk + 16);
	const __m512 q2 = _mm512_loadu_ps(kk + 32), q3 = _mm512_loadu_ps(kk + 48);
	for (int i = 0; i < 64; i++) {
		float *row = S + (size_t)i * 64;
		__m512 s0 = _mm512_loadu_ps(row), s1 = _mm512_loadu_ps(row + 16);
		__m512 s2 = _mm512_loadu_ps(row + 32), s3 = _mm512_loadu_ps(row + 48);
		__m512 d = _mm512_add_ps(_mm512_fmadd_ps(s0, q0, _mm512_mul_ps(s1, q1)),
		                         _mm512_fmadd_ps(s2, q2, _mm512_mul_ps(s3, q3)));
		const __m512 sa = _mm512_set1_ps(-_mm512_reduce_add_ps(d));
		const __m512 vi = _mm512_set1_ps(v[i]);
#define UPD(j) s##j = _mm512_fmadd_ps(vi, _mm512_loadu_ps(k + 16 * j), \
		          _mm512_fmadd_ps(sa, _mm512_loadu_ps(b + 16 * j), \
		                          _mm512_mul_ps(s##j, w##j)));
		UPD(0) UPD(1) UPD(2) UPD(3)
#undef UPD
		_mm512_storeu_ps(row, s0);
		_mm512_storeu_ps(row + 16, s1);
		_mm512_storeu_ps(row + 32, s2);
		_mm512_storeu_ps(row + 48, s3);
		d = _mm512_add_ps(
		        _mm512_fmadd_ps(s0, _mm512_loadu_ps(r), _mm512_mul_ps(s1, _mm512_loadu_ps(r + 16))),
		        _mm512_fmadd_ps(s2, _mm512_loadu_ps(r + 32), _mm512_mul_ps(s3, _mm512_loadu_ps(r + 48))));
		y[i] = _mm512_reduce_add_ps(d);
	}
}


/* AVX2, FMA and F16C, and the OS saving the YMM registers (CPUID and
 * XGETBV directly: compilers differ in the feature names they accept). */
static int detect_avx2(void)
{
	unsigned a, b, c, d;
	uint32_t xcr0_lo, xcr0_hi;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & (1u << 12)) || !(c & (1u << 27)) || !(c & (1u << 28)) ||
	    !(c & (1u << 29)))
		return 0; /* FMA, OSXSAVE, AVX, F16C */
	__asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
	if ((xcr0_lo & 6) != 6)
		return 0; /* XMM and YMM state */
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b >> 5) & 1; /* AVX2 */
}

/* AVX-512 F, BW, VL and VNNI, and the OS saving the opmask and ZMM state. */
static int detect_avx512vnni(void)
{
	unsigned a, b, c, d;
	uint32_t xcr0_lo, xcr0_hi;

	if (!detect_avx2() || !__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	if (!(b & (1u << 16)) || !(b & (1u << 30)) || !(b & (1u << 31)) ||
	    !(c & (1u << 11)))
		return 0;
	__asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
	return (xcr0_lo & 0xe6) == 0xe6;
}

/* Asked once: CPUID is slow, and in a virtual machine every one traps to
 * the hypervisor, while kernels are chosen on every matrix product. */
static int have(_Atomic int *known, int (*detect)(void))
{
	int v = atomic_load_explicit(known, memory_order_relaxed);

	if (v < 0) {
		v = detect();
		atomic_store_explicit(known, v, memory_order_relaxed);
	}
	return v;
}

static _Atomic int known_avx2 = -1, known_512 = -1;

int cpu_avx2(void)
{
	return kernels_limit() >= 1 && have(&known_avx2, detect_avx2);
}

int cpu_avx512vnni(void)
{
	return kernels_limit() >= 2 && have(&known_512, detect_avx512vnni);
}

rows_dot_fn kernels_rows_dot(enum anser_dtype dtype, const char **name)
{
	static const rows_dot_fn fast[] = { dot_f32, dot_f16, dot_bf16 };
	static const rows_dot_fn fast512[] = { dot_f32_512, dot_f16_512,
	                                       dot_bf16_512 };
	const char *dummy;
	rows_dot_fn f;

	if (!name)
		name = &dummy;
	if (dtype_is_quant(dtype) && (f = q_rows_dot_x86(dtype, name)))
		return f;
	if ((unsigned)dtype < ARRAY_SIZE(fast512) && cpu_avx512vnni()) {
		*name = "avx512";
		return fast512[dtype];
	}
	if ((unsigned)dtype < ARRAY_SIZE(fast) && cpu_avx2()) {
		*name = "avx2";
		return fast[dtype];
	}
	*name = "ref";
	return ref_rows_dot;
}

rows_dot_fn kernels_rows_dot_tr(enum anser_dtype dtype, const char **name)
{
	static const rows_dot_fn fast[] = { dot_tr_f32, dot_tr_f16, dot_tr_bf16 };
	static const rows_dot_fn fast512[] = { dot_tr_f32_512, dot_tr_f16_512,
	                                       dot_tr_bf16_512 };
	const char *dummy;

	if (!name)
		name = &dummy;
	if ((unsigned)dtype < ARRAY_SIZE(fast512) && cpu_avx512vnni()) {
		*name = "avx512";
		return fast512[dtype];
	}
	if ((unsigned)dtype < ARRAY_SIZE(fast) && cpu_avx2()) {
		*name = "avx2";
		return fast[dtype];
	}
	*name = "ref";
	return ref_rows_dot;
}

widen_fn kernels_widen(void)
{
	return cpu_avx2() ? widen_avx2 : ref_widen;
}

quantize_x_fn kernels_quantize_x(void)
{
	return cpu_avx2() ? quantize_x_avx2 : ref_quantize_x;
}

wkv_fn kernels_wkv(void)
{
	return cpu_avx512vnni() ? wkv_512 : cpu_avx2() ? wkv_avx2 : ref_wkv;
}

relu2_fn kernels_relu2(void)
{
	return cpu_avx2() ? relu2_avx2 : ref_relu2;
}

sigmoid_fn kernels_sigmoid(void)
{
	return cpu_avx2() ? sigmoid_avx2 : ref_sigmoid;
}

#else /* not x86-64: plain C, but for ARM64's NEON matvecs (kernels_arm.c) */

quantize_x_fn kernels_quantize_x(void)
{
	return ref_quantize_x;
}

widen_fn kernels_widen(void)
{
	return ref_widen;
}

wkv_fn kernels_wkv(void)
{
	return ref_wkv;
}

relu2_fn kernels_relu2(void)
{
	return ref_relu2;
}

sigmoid_fn kernels_sigmoid(void)
{
	return ref_sigmoid;
}

#if !defined(__aarch64__)
rows_dot_fn kernels_rows_dot(enum anser_dtype dtype, const char **name)
{
	(void)dtype;
	if (name)
		*name = "ref";
	return ref_rows_dot;
}

rows_dot_fn kernels_rows_dot_tr(enum anser_dtype dtype, const char **name)
{
	return kernels_rows_dot(dtype, name);
}
#endif

#endif
