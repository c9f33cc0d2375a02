/*
 * quant.h - the block-quantized weight types (man/anser-format.5).
 *
 * A quantized matrix (rows, cols) is cut into blocks of 32 consecutive
 * weights of a row, each stored as small integers with one f16 scale d:
 *   q8_0: w[i] = d * q[i],        q[i] int8 in [-127, 127]
 *   q4_0: w[i] = d * (n[i] - 8),  n[i] 4 bits; byte j of a block holds n[j]
 *         in its low nibble and n[j + 16] in its high nibble
 * The tensor holds every row's integers first (row-major, cols bytes per
 * row for q8_0, cols / 2 for q4_0), then every row's scales (cols / 32 per
 * row).  Split so, a row's integers are one aligned stream that SIMD loads
 * whole, and sixteen scales load as one vector.
 *
 * Decoding multiplies such rows with an activation quantized to 8 bits the
 * same way (struct qx), so the inner loop is an integer dot product.
 */
#ifndef ANSER_QUANT_H
#define ANSER_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "anser.h"

#define QBLOCK 32

static inline int dtype_is_quant(enum anser_dtype t)
{
	return t == ANSER_DTYPE_Q8_0 || t == ANSER_DTYPE_Q4_0;
}

/* Bytes of integers per block: 32 for q8_0, 16 for q4_0. */
static inline size_t quant_qbytes(enum anser_dtype t)
{
	return t == ANSER_DTYPE_Q8_0 ? QBLOCK : QBLOCK / 2;
}

/* Where a quantized tensor of numel elements at data keeps block k's
 * integers and scale. */
struct qspan {
	const uint8_t *q;      /* block k: q + k * quant_qbytes(t) */
	const uint16_t *d;     /* block k: d[k] */
};

static inline struct qspan quant_span(enum anser_dtype t, const void *data,
                                      uint64_t numel)
{
	struct qspan s;
	s.q = (const uint8_t *)data;
	s.d = (const uint16_t *)(s.q + numel / QBLOCK * quant_qbytes(t));
	return s;
}

/* n blocks: 32 * n floats to integers q[n * qbytes] and scales d[n]. */
void quantize(enum anser_dtype t, const float *x, size_t n, uint8_t *q,
              uint16_t *d);

/* n blocks back to floats (d[k] times the integers), y[32 * n]. */
void dequantize(enum anser_dtype t, const uint8_t *q, const uint16_t *d,
                size_t n, float *y);

/* Element i of a quantized tensor of numel elements (tests, references). */
float quant_get(enum anser_dtype t, const void *data, uint64_t numel,
                uint64_t i);

/*
 * An activation vector x[cols] quantized for the integer dot products:
 * x[i] ~ d[i / 32] * q[i], with d = max |x| / 127 per block.  sum[b] is
 * d[b] times the sum of block b's q.
 */
struct qx {
	int nb;        /* blocks: cols / 32 */
	float *d;      /* [nb + 16]: zero past nb, so SIMD may read 16 at once */
	float *sum;    /* [nb] */
	int8_t *q;     /* [nb * 32], 64-byte aligned */
};

/* Bytes qx_init needs for cols (a multiple of 32), alignment included. */
size_t qx_bytes(int cols);
void qx_init(struct qx *xq, void *buf, int cols);
void ref_quantize_x(const float *x, struct qx *xq);

/*
 * Whether a model tensor may be quantized: the big matrices (the four
 * attention projections, the two FFN matrices, the embedding and the head).
 * Everything else (norms, mixing vectors, decay parameters, LoRAs) is small
 * and sensitive and stays a float type.
 */
int tensor_quantizable(const char *name);

/*
 * The type `anser convert -t target` gives a tensor by default (no
 * --head-type or --emb-type): a float target everywhere; a quantized one
 * for the block matrices, q8_0 for the head (it decides every token, and
 * q8_0 keeps its KL small), while the embedding (read a row a token) and
 * the small tensors keep `own`, as does a matrix whose rows are not whole
 * blocks (cols % 32).
 */
enum anser_dtype quant_default_type(const char *name, int ndim, int64_t cols,
                                    enum anser_dtype target,
                                    enum anser_dtype own);

#endif /* ANSER_QUANT_H */
