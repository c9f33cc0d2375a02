/*
 * kernels_arm.c - the matrix-vector products of decode with NEON (Advanced
 * SIMD, part of every ARMv8-A core, so there is nothing to detect).  The
 * plain-C twins are in kernels.c; ANSER_KERNELS=ref selects them.
 *
 * Float weights: one row at a time, front to back, four accumulators of
 * four floats so the FMA latency is hidden.  f16 widens with the
 * conversion every ARMv8 core has; bf16 is the top half of an f32.
 * Quantized weights: 32 int8 products a block with widening multiplies
 * (no dot-product extension needed), summed in int32 and scaled in f32.
 */
#include "dtype.h"
#include "kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

/* Four floats of row data at element i, widened. */
static inline float32x4_t load4(enum anser_dtype t, const void *p, size_t i)
{
	if (t == ANSER_DTYPE_F32)
		return vld1q_f32((const float *)p + i);
	uint16x4_t h = vld1_u16((const uint16_t *)p + i);
	if (t == ANSER_DTYPE_F16)
		return vcvt_f32_f16(vreinterpret_f16_u16(h));
	return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
}

/* y[r] = W[r] . x for r in [r0, r1); t is a constant in each caller. */
static inline void rows_dot_neon(enum anser_dtype t, const struct wmat *w,
                                 const float *x, int r0, int r1, float *y)
{
	const size_t cols = (size_t)w->cols, cv = cols & ~(size_t)15;

	for (int r = r0; r < r1; r++) {
		const size_t b = (size_t)r * cols;
		float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
		size_t i = 0;

		for (; i < cv; i += 16) {
			a0 = vfmaq_f32(a0, load4(t, w->data, b + i), vld1q_f32(x + i));
			a1 = vfmaq_f32(a1, load4(t, w->data, b + i + 4),
			               vld1q_f32(x + i + 4));
			a2 = vfmaq_f32(a2, load4(t, w->data, b + i + 8),
			               vld1q_f32(x + i + 8));
			a3 = vfmaq_f32(a3, load4(t, w->data, b + i + 12),
			               vld1q_f32(x + i + 12));
		}
		for (; i + 4 <= cols; i += 4)
			a0 = vfmaq_f32(a0, load4(t, w->data, b + i), vld1q_f32(x + i));
		float s = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
		for (; i < cols; i++)
			s += load_f32(t, w->data, b + i) * x[i];
		y[r] = s;
	}
}

/*
 * A transposed W (LoRAs): y[r0..r1] = sum_c x[c] W^T[c][r0..r1], 16 outputs
 * in registers while every column passes; W^T's rows (a rank of 32 to 320
 * floats) stay in cache.
 */
static inline void rows_dot_tr_neon(enum anser_dtype t, const struct wmat *w,
                                    const float *x, int r0, int r1, float *y)
{
	const size_t R = (size_t)w->rows;
	int r = r0;

	for (; r + 16 <= r1; r += 16) {
		float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
		for (int c = 0; c < w->cols; c++) {
			const size_t o = (size_t)c * R + (size_t)r;
			a0 = vfmaq_n_f32(a0, load4(t, w->data, o), x[c]);
			a1 = vfmaq_n_f32(a1, load4(t, w->data, o + 4), x[c]);
			a2 = vfmaq_n_f32(a2, load4(t, w->data, o + 8), x[c]);
			a3 = vfmaq_n_f32(a3, load4(t, w->data, o + 12), x[c]);
		}
		vst1q_f32(y + r, a0);
		vst1q_f32(y + r + 4, a1);
		vst1q_f32(y + r + 8, a2);
		vst1q_f32(y + r + 12, a3);
	}
	for (; r < r1; r++) {
		float a = 0.0f;
		for (int c = 0; c < w->cols; c++)
			a += load_f32(t, w->data, (size_t)c * R + (size_t)r) * x[c];
		y[r] = a;
	}
}

/*
 * The int32 dot of 32 weights w[32] (int8) with 32 activations q[32].
 * Both lie in [-127, 127], so a product fits int16 and so does the sum of
 * two: vmull then vmlal, then pairwise widening adds into int32.
 */
static inline int32_t dot32_i8(int8x16_t w0, int8x16_t w1, const int8_t *q)
{
	const int8x16_t q0 = vld1q_s8(q), q1 = vld1q_s8(q + 16);
	int16x8_t lo = vmull_s8(vget_low_s8(w0), vget_low_s8(q0));
	int16x8_t hi = vmull_high_s8(w0, q0);

	lo = vmlal_s8(lo, vget_low_s8(w1), vget_low_s8(q1));
	hi = vmlal_high_s8(hi, w1, q1);
	return vaddvq_s32(vpadalq_s16(vpaddlq_s16(lo), hi));
}

/* q8_0 and q4_0 (quant.h): per row and block the integer dot, times the
 * row's f16 scale and x's scale, summed in f32. */
static inline void rows_dot_q_neon(enum anser_dtype t, const struct wmat *w,
                                   const struct qx *xq, int r0, int r1,
                                   float *y)
{
	const struct qspan sp = quant_span(t, w->data,
	                                   (uint64_t)w->rows * (uint64_t)w->cols);
	const size_t qb = quant_qbytes(t), nb = (size_t)xq->nb;

	for (int r = r0; r < r1; r++) {
		const size_t k0 = (size_t)r * nb;
		float acc = 0.0f;

		for (size_t b = 0; b < nb; b++) {
			const uint8_t *v = sp.q + (k0 + b) * qb;
			int8x16_t w0, w1;
			if (t == ANSER_DTYPE_Q8_0) {
				w0 = vld1q_s8((const int8_t *)v);
				w1 = vld1q_s8((const int8_t *)v + 16);
			} else {
				/* Byte i: element i low, element i + 16 high. */
				const uint8x16_t n = vld1q_u8(v), eight = vdupq_n_u8(8);
				w0 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(n, vdupq_n_u8(15)),
				                                  eight));
				w1 = vreinterpretq_s8_u8(vsubq_u8(vshrq_n_u8(n, 4), eight));
			}
			acc += f16_to_f32(sp.d[k0 + b]) * xq->d[b] *
			       (float)dot32_i8(w0, w1, xq->q + b * QBLOCK);
		}
		y[r] = acc;
	}
}

/* A rows_dot_fn entry point for one type of a generic body. */
#define DOT_ENTRY(name, body, type)                                        \
	static void name(const struct wmat *w, const float *x,             \
	                 const struct qx *xq, int r0, int r1, float *y)    \
	{                                                                  \
		(void)xq;                                                  \
		body(type, w, x, r0, r1, y);                               \
	}

DOT_ENTRY(dot_f32_neon, rows_dot_neon, ANSER_DTYPE_F32)
DOT_ENTRY(dot_f16_neon, rows_dot_neon, ANSER_DTYPE_F16)
DOT_ENTRY(dot_bf16_neon, rows_dot_neon, ANSER_DTYPE_BF16)
DOT_ENTRY(dot_tr_f32_neon, rows_dot_tr_neon, ANSER_DTYPE_F32)
DOT_ENTRY(dot_tr_f16_neon, rows_dot_tr_neon, ANSER_DTYPE_F16)
DOT_ENTRY(dot_tr_bf16_neon, rows_dot_tr_neon, ANSER_DTYPE_BF16)

static void dot_q8_0_neon(const struct wmat *w, const float *x,
                          const struct qx *xq, int r0, int r1, float *y)
{
	(void)x;
	rows_dot_q_neon(ANSER_DTYPE_Q8_0, w, xq, r0, r1, y);
}

static void dot_q4_0_neon(const struct wmat *w, const float *x,
                          const struct qx *xq, int r0, int r1, float *y)
{
	(void)x;
	rows_dot_q_neon(ANSER_DTYPE_Q4_0, w, xq, r0, r1, y);
}

rows_dot_fn kernels_rows_dot(enum anser_dtype dtype, const char **name)
{
	static const rows_dot_fn fast[] = { dot_f32_neon, dot_f16_neon,
	                                    dot_bf16_neon };
	const char *dummy;

	if (!name)
		name = &dummy;
	if (kernels_limit() >= 1) {
		*name = "neon";
		if ((unsigned)dtype < ARRAY_SIZE(fast))
			return fast[dtype];
		if (dtype == ANSER_DTYPE_Q8_0)
			return dot_q8_0_neon;
		if (dtype == ANSER_DTYPE_Q4_0)
			return dot_q4_0_neon;
	}
	*name = "ref";
	return ref_rows_dot;
}

rows_dot_fn kernels_rows_dot_tr(enum anser_dtype dtype, const char **name)
{
	static const rows_dot_fn fast[] = { dot_tr_f32_neon, dot_tr_f16_neon,
	                                    dot_tr_bf16_neon };
	const char *dummy;

	if (!name)
		name = &dummy;
	if (kernels_limit() >= 1 && (unsigned)dtype < ARRAY_SIZE(fast)) {
		*name = "neon";
		return fast[dtype];
	}
	*name = "ref";
	return ref_rows_dot;
}

/* The rest (x's quantization, widening, wkv, relu^2, sigmoid) is plain C
 * on ARM, chosen in kernels_x86.c: decode's time is in the products above. */

#endif /* __aarch64__ */
