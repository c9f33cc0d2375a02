/*
 * kernels_q_x86.c - matrix-vector products with quantized weights (quant.h)
 * on x86: AVX2 (one block of 32 per 256-bit step, four rows at a time, so
 * each load of x serves four rows) and AVX-512 VNNI (two blocks per 512-bit
 * step, one row at a time, with x prepared once per call); plus x's
 * quantization and the dequantization of weight tiles.  The plain-C twins
 * are in kernels.c and quant.c.
 *
 * Both load each row's scales as a vector (8 or 16 blocks) multiplied once
 * by x's scales; a block's scale then comes out of that vector by a
 * permute.  Per row and block what remains is the integer dot product, one
 * conversion and one multiply-add.
 */
#include "dtype.h"
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw," \
                                     "avx512vl,avx512vnni")))

/* Row pointers for a group of up to four rows: a short last group repeats
 * its first row (its results are not stored). */
struct rows4 {
	const uint8_t *q[4];   /* integers of each row */
	const uint16_t *d[4];  /* scales of each row */
	int n;
};

__attribute__((always_inline))
static inline struct rows4 rows4(const struct wmat *w, int r, int r1)
{
	const struct qspan sp = quant_span(w->dtype, w->data,
	                                   (uint64_t)w->rows * (uint64_t)w->cols);
	const size_t nb = (size_t)w->cols / QBLOCK, qb = quant_qbytes(w->dtype);
	struct rows4 g;

	g.n = r1 - r < 4 ? r1 - r : 4;
	for (int k = 0; k < 4; k++) {
		size_t row = (size_t)r + (size_t)(k < g.n ? k : 0);
		g.q[k] = sp.q + row * nb * qb;
		g.d[k] = sp.d + row * nb;
	}
	return g;
}

/* ---- AVX2 ---- */

AVX2 static inline float hsum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
	                      _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* m (<= 8) f16 scales times x's: a tail reads through a copy, never past
 * the tensor. */
AVX2 static inline __m256 scales8(const uint16_t *d, int m, __m256 dx)
{
	__m128i h;

	if (m == 8) {
		h = _mm_loadu_si128((const __m128i *)d);
	} else {
		uint16_t t[8] = { 0 };
		memcpy(t, d, (size_t)m * 2);
		h = _mm_loadu_si128((const __m128i *)t);
	}
	return _mm256_mul_ps(_mm256_cvtph_ps(h), dx);
}

/* 32 signed products of w and x, summed by fours into 8 int32 lanes.
 * maddubs wants one unsigned side, so w's sign moves onto x. */
AVX2 static inline __m256i dot_i8(__m256i w, __m256i x)
{
	__m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w),
	                                 _mm256_sign_epi8(x, w));
	return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* The 32 nibbles of a q4_0 block as bytes 0..15, in element order. */
AVX2 static inline __m256i nibbles(const uint8_t *p)
{
	__m128i raw = _mm_loadu_si128((const __m128i *)p);
	__m128i m = _mm_set1_epi8(15);
	return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m),
	                        _mm_and_si128(raw, m));
}

AVX2 static inline __m256i dot_u4(__m256i n, __m256i x)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(n, x),
	                         _mm256_set1_epi16(1));
}

/*
 * q4_0's integers are n - 8 with n in 0..15: the dot takes n as it is and
 * subtracts 8 times x's sums per lane, c8, computed once per block of x.
 */
AVX2 static inline void rows_dot_q_avx2(enum anser_dtype t,
                                        const struct wmat *w,
                                        const struct qx *xq, int r0, int r1,
                                        float *y)
{
	const int nb = xq->nb, q4 = t == ANSER_DTYPE_Q4_0;
	const size_t qb = quant_qbytes(t);

	for (int r = r0; r < r1; r += 4) {
		const struct rows4 g = rows4(w, r, r1);
		__m256 a[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(),
		                _mm256_setzero_ps(), _mm256_setzero_ps() };
		for (int b0 = 0; b0 < nb; b0 += 8) {
			const int m = nb - b0 < 8 ? nb - b0 : 8;
			const __m256 dx = _mm256_loadu_ps(xq->d + b0);
			const __m256 s0 = scales8(g.d[0] + b0, m, dx);
			const __m256 s1 = scales8(g.d[1] + b0, m, dx);
			const __m256 s2 = scales8(g.d[2] + b0, m, dx);
			const __m256 s3 = scales8(g.d[3] + b0, m, dx);
			__m256 a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
			for (int j = 0; j < m; j++) {
				const size_t b = (size_t)(b0 + j);
				const __m256i xv = _mm256_load_si256((const __m256i *)(xq->q + 32 * b));
				const __m256i idx = _mm256_set1_epi32(j);
				__m256i i0, i1, i2, i3;
				if (q4) {
					const __m256i c8 = dot_u4(_mm256_set1_epi8(8), xv);
					i0 = _mm256_sub_epi32(dot_u4(nibbles(g.q[0] + b * qb), xv), c8);
					i1 = _mm256_sub_epi32(dot_u4(nibbles(g.q[1] + b * qb), xv), c8);
					i2 = _mm256_sub_epi32(dot_u4(nibbles(g.q[2] + b * qb), xv), c8);
					i3 = _mm256_sub_epi32(dot_u4(nibbles(g.q[3] + b * qb), xv), c8);
				} else {
					i0 = dot_i8(_mm256_loadu_si256((const __m256i *)(g.q[0] + b * qb)), xv);
					i1 = dot_i8(_mm256_loadu_si256((const __m256i *)(g.q[1] + b * qb)), xv);
					i2 = dot_i8(_mm256_loadu_si256((const __m256i *)(g.q[2] + b * qb)), xv);
					i3 = dot_i8(_mm256_loadu_si256((const __m256i *)(g.q[3] + b * qb)), xv);
				}
				a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), _mm256_permutevar8x32_ps(s0, idx), a0);
				a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i1), _mm256_permutevar8x32_ps(s1, idx), a1);
				a2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i2), _mm256_permutevar8x32_ps(s2, idx), a2);
				a3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i3), _mm256_permutevar8x32_ps(s3, idx), a3);
			}
			a[0] = a0;
			a[1] = a1;
			a[2] = a2;
			a[3] = a3;
		}
		for (int k = 0; k < g.n; k++)
			y[r + k] = hsum8(a[k]);
	}
}

AVX2 static void dot_q8_0_avx2(const struct wmat *w, const float *x,
                               const struct qx *xq, int r0, int r1, float *y)
{
	(void)x;
	rows_dot_q_avx2(ANSER_DTYPE_Q8_0, w, xq, r0, r1, y);
}

AVX2 static void dot_q4_0_avx2(const struct wmat *w, const float *x,
                               const struct qx *xq, int r0, int r1, float *y)
{
	(void)x;
	rows_dot_q_avx2(ANSER_DTYPE_Q4_0, w, xq, r0, r1, y);
}

/* ---- AVX-512 VNNI ---- */

/* m (<= 16) f16 scales times x's, in 16 lanes.  Masked loads stream badly
 * from memory, so a tail goes through a copy. */
AVX512 static inline __m512 scales16(const uint16_t *d, int m, __m512 dx)
{
	__m256i h;

	if (m == 16) {
		h = _mm256_loadu_si256((const __m256i *)d);
	} else {
		uint16_t t[16] = { 0 };
		memcpy(t, d, (size_t)m * 2);
		h = _mm256_loadu_si256((const __m256i *)t);
	}
	return _mm512_mul_ps(_mm512_cvtph_ps(h), dx);
}

/* Two q4_0 blocks' 32 bytes of nibbles (or one block's 16, the rest zero)
 * as 64 bytes 0..15: the low nibbles [A0-15, B0-15], then the high ones
 * [A16-31, B16-31]: the bytes go into both halves, the upper shifted by 4. */
AVX512 static inline __m512i nibbles2(const uint8_t *p, int half)
{
	const __m512i shift = _mm512_setr_epi64(0, 0, 0, 0, 0x0004000400040004,
	                                        0x0004000400040004,
	                                        0x0004000400040004,
	                                        0x0004000400040004);
	__m256i raw = half ? _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)p)) :
	              _mm256_loadu_si256((const __m256i *)p);
	return _mm512_and_si512(_mm512_srlv_epi16(_mm512_broadcast_i64x4(raw),
	                                          shift), _mm512_set1_epi8(15));
}

/* 64 bytes at p, or 32 and zeros. */
AVX512 static inline __m512i load64(const void *p, int half)
{
	return half ? _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)p)) :
	       _mm512_loadu_si512(p);
}

/* Bytes ahead of the read position that the AVX-512 kernel asks into L2. */
#define Q_AHEAD 4096
/* Block pairs of x the AVX-512 kernel holds on its stack (128 bytes each):
 * rows of up to 16384 columns (the 13.3B FFN's); longer ones take AVX2. */
#define Q_MAX_PAIRS 256

/*
 * One row at a time, front to back, two blocks (64 columns) a step, as the
 * float matvecs read (kernels_x86.c): four rows at a time stalled with too
 * few misses in flight (0.1B q8_0 at 2 threads 125-140 -> 146-170 tok/s,
 * 1.5B 13.6 -> 15.7; q4_0 3-6% faster).  vpdpbusd multiplies unsigned bytes
 * by signed bytes.  For q8_0 the weights go unsigned by flipping their top
 * bit (w + 128), and the accumulator starts at -128 times x's sums per
 * lane, so it ends at the signed dot.  For q4_0 the nibbles are unsigned
 * already and the start is -8 times the sums; the nibbles come in the order
 * [A0-15, B0-15, A16-31, B16-31], so x's 64 bytes are permuted to match,
 * and the scales too.  x's pairs and their starts are made once per call.
 */
AVX512 static inline void rows_dot_q_512(enum anser_dtype t,
                                           const struct wmat *w,
                                           const struct qx *xq, int r0,
                                           int r1, float *y)
{
	const int nb = xq->nb, q4 = t == ANSER_DTYPE_Q4_0;
	const size_t qb = quant_qbytes(t);
	const struct qspan sp = quant_span(t, w->data,
	                                   (uint64_t)w->rows * (uint64_t)w->cols);
	const __m512i flip = _mm512_set1_epi8((char)0x80);
	const __m512i pat = q4 ?
		_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1) :
		_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
	__m512i xs[Q_MAX_PAIRS], cs[Q_MAX_PAIRS];

	/* x's block pairs as the kernel wants them, and their corrections. */
	for (int b = 0; b < nb; b += 2) {
		const int half = b + 1 >= nb;
		__m512i xv = load64(xq->q + 32 * b, half);
		if (q4)
			xv = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 4, 5, 2, 3, 6, 7), xv);
		xs[b / 2] = xv;
		cs[b / 2] = _mm512_sub_epi32(_mm512_setzero_si512(),
		        _mm512_dpbusd_epi32(_mm512_setzero_si512(),
		                            q4 ? _mm512_set1_epi8(8) : flip, xv));
	}
	for (int r = r0; r < r1; r++) {
		const uint8_t *q = sp.q + (size_t)r * (size_t)nb * qb;
		const uint16_t *d = sp.d + (size_t)r * (size_t)nb;
		__m512 a0 = _mm512_setzero_ps(), a1 = a0;

		for (int b0 = 0; b0 < nb; b0 += 16) {
			const int m = nb - b0 < 16 ? nb - b0 : 16;
			const __m512 sc = scales16(d + b0, m, _mm512_loadu_ps(xq->d + b0));
			for (int j = 0; j < m; j += 2) {
				const int b = b0 + j, half = j + 1 >= m;
				const uint8_t *p = q + (size_t)b * qb;
				__m512i wv;
				_mm_prefetch((const char *)p + Q_AHEAD, _MM_HINT_T2);
				if (q4)
					wv = nibbles2(p, half);
				else
					wv = _mm512_xor_si512(load64(p, half), flip);
				const __m512 iv = _mm512_cvtepi32_ps(
					_mm512_dpbusd_epi32(cs[b / 2], wv, xs[b / 2]));
				const __m512 sv = _mm512_permutexvar_ps(_mm512_add_epi32(pat,
					                      _mm512_set1_epi32(j)), sc);
				if (j & 2)
					a1 = _mm512_fmadd_ps(iv, sv, a1);
				else
					a0 = _mm512_fmadd_ps(iv, sv, a0);
			}
		}
		y[r] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
	}
}

AVX512 static void dot_q8_0_512(const struct wmat *w, const float *x,
                                const struct qx *xq, int r0, int r1, float *y)
{
	(void)x;
	if (xq->nb > 2 * Q_MAX_PAIRS)
		rows_dot_q_avx2(ANSER_DTYPE_Q8_0, w, xq, r0, r1, y);
	else
		rows_dot_q_512(ANSER_DTYPE_Q8_0, w, xq, r0, r1, y);
}

AVX512 static void dot_q4_0_512(const struct wmat *w, const float *x,
                                const struct qx *xq, int r0, int r1, float *y)
{
	(void)x;
	if (xq->nb > 2 * Q_MAX_PAIRS)
		rows_dot_q_avx2(ANSER_DTYPE_Q4_0, w, xq, r0, r1, y);
	else
		rows_dot_q_512(ANSER_DTYPE_Q4_0, w, xq, r0, r1, y);
}

/* ---- x, and tiles ---- */

/* ref_quantize_x, 32 at a time: the same float operations, so the same
 * integers (cvtps rounds to nearest even, like lrintf). */
AVX2 void quantize_x_avx2(const float *x, struct qx *xq)
{
	const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));

	for (int b = 0; b < xq->nb; b++) {
		const float *v = x + 32 * b;
		__m256 f[4], m;
		__m256i i[4], s16, s8;
		float amax, inv;
		for (int k = 0; k < 4; k++)
			f[k] = _mm256_loadu_ps(v + 8 * k);
		m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(f[0], abs), _mm256_and_ps(f[1], abs)),
		                  _mm256_max_ps(_mm256_and_ps(f[2], abs), _mm256_and_ps(f[3], abs)));
		__m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
		h = _mm_max_ps(h, _mm_movehl_ps(h, h));
		h = _mm_max_ss(h, _mm_movehdup_ps(h));
		amax = _mm_cvtss_f32(h);
		inv = amax > 0.0f ? 127.0f / amax : 0.0f;
		for (int k = 0; k < 4; k++)
			i[k] = _mm256_cvtps_epi32(_mm256_mul_ps(f[k], _mm256_set1_ps(inv)));
		/* Sum of the integers, before packing. */
		__m256i t = _mm256_add_epi32(_mm256_add_epi32(i[0], i[1]),
		                             _mm256_add_epi32(i[2], i[3]));
		__m128i t4 = _mm_add_epi32(_mm256_castsi256_si128(t),
		                           _mm256_extracti128_si256(t, 1));
		t4 = _mm_add_epi32(t4, _mm_shuffle_epi32(t4, 0x4e));
		t4 = _mm_add_epi32(t4, _mm_shuffle_epi32(t4, 0xb1));
		/* Packing works per 128-bit lane; the permute restores order. */
		s16 = _mm256_packs_epi32(i[0], i[1]);
		s8 = _mm256_packs_epi16(s16, _mm256_packs_epi32(i[2], i[3]));
		s8 = _mm256_permutevar8x32_epi32(s8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
		_mm256_store_si256((__m256i *)(xq->q + 32 * b), s8);
		xq->d[b] = amax / 127.0f;
		xq->sum[b] = xq->d[b] * (float)_mm_cvtsi128_si32(t4);
	}
}

/* Rows [r0, r1) of a quantized w to f32, a block at a time. */
AVX2 void widen_q_avx2(const struct wmat *w, int r0, int r1, float *out)
{
	const struct qspan sp = quant_span(w->dtype, w->data,
	                                   (uint64_t)w->rows * (uint64_t)w->cols);
	const size_t qb = quant_qbytes(w->dtype);
	const size_t k0 = (size_t)r0 * (size_t)w->cols / QBLOCK;
	const size_t k1 = (size_t)r1 * (size_t)w->cols / QBLOCK;

	for (size_t k = k0; k < k1; k++, out += 32) {
		const __m256 d = _mm256_set1_ps(_cvtsh_ss(sp.d[k]));
		__m256i q;
		if (w->dtype == ANSER_DTYPE_Q8_0)
			q = _mm256_loadu_si256((const __m256i *)(sp.q + k * qb));
		else
			q = _mm256_sub_epi8(nibbles(sp.q + k * qb), _mm256_set1_epi8(8));
		__m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
		_mm256_storeu_ps(out, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
		_mm256_storeu_ps(out + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(
			_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
		_mm256_storeu_ps(out + 16, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
		_mm256_storeu_ps(out + 24, _mm256_mul_ps(d, _mm256_cvtepi32_ps(
			_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
	}
}

rows_dot_fn q_rows_dot_x86(enum anser_dtype t, const char **name)
{
	if (cpu_avx512vnni()) {
		*name = "avx512-vnni";
		return t == ANSER_DTYPE_Q8_0 ? dot_q8_0_512 : dot_q4_0_512;
	}
	if (cpu_avx2()) {
		*name = "avx2";
		return t == ANSER_DTYPE_Q8_0 ? dot_q8_0_avx2 : dot_q4_0_avx2;
	}
	return NULL;
}

#endif
