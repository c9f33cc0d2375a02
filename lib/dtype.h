/*
 * dtype.h - scalar conversions between f32, f16 and bf16.  All exact where the
 * target can represent the value; narrowing rounds to nearest, ties to even.
 */
#ifndef ANSER_DTYPE_H
#define ANSER_DTYPE_H

#include <stdint.h>
#include <string.h>

#include "anser.h"
#include "quant.h"

static inline uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static inline float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* bf16 is the top half of an f32, so widening is a shift. */
static inline float bf16_to_f32(uint16_t h)
{
	return bits_f32((uint32_t)h << 16);
}

static inline uint16_t f32_to_bf16(float f)
{
	uint32_t u = f32_bits(f);

	if ((u & 0x7fffffff) > 0x7f800000) /* NaN: keep it a (quiet) NaN */
		return (uint16_t)(u >> 16 | 0x40);
	u += 0x7fff + (u >> 16 & 1);
	return (uint16_t)(u >> 16);
}

static inline float f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = h >> 10 & 0x1f, man = h & 0x3ff;

	if (exp == 0x1f) /* inf or NaN */
		return bits_f32(sign | 0x7f800000 | man << 13);
	if (exp == 0) {
		if (man == 0)
			return bits_f32(sign);
		/* Subnormal: man * 2^-24, exact in f32. */
		float f = (float)man * 0x1p-24f;
		return sign ? -f : f;
	}
	return bits_f32(sign | (exp + 112) << 23 | man << 13);
}

static inline uint16_t f32_to_f16(float f)
{
	uint32_t u = f32_bits(f);
	uint16_t sign = (uint16_t)(u >> 16 & 0x8000);
	uint32_t a = u & 0x7fffffff;

	if (a > 0x7f800000) /* NaN */
		return sign | 0x7e00 | (uint16_t)(a >> 13 & 0x3ff);
	if (a >= 0x477ff000) /* rounds to >= 65520: inf */
		return sign | 0x7c00;
	if (a < 0x38800000) { /* below the smallest normal f16, 2^-14 */
		/* Let the FPU round: value / 2^-24 to an integer, ties to even. */
		float m = bits_f32(a) * 0x1p24f;
		uint32_t q = (uint32_t)m;
		float rem = m - (float)q;
		if (rem > 0.5f || (rem == 0.5f && (q & 1)))
			q++;
		return sign | (uint16_t)q;
	}
	/* Normal: rebias the exponent and round the mantissa's low 13 bits. */
	a += 0xfff + (a >> 13 & 1) - (112u << 23);
	return sign | (uint16_t)(a >> 13);
}

/* Reads element i of a typed array as float (F32/F16/BF16/F64). */
static inline float load_f32(enum anser_dtype t, const void *p, uint64_t i)
{
	const uint8_t *b = p;
	uint16_t h;
	double d;
	float f;

	switch (t) {
	case ANSER_DTYPE_F16:
		memcpy(&h, b + 2 * i, 2);
		return f16_to_f32(h);
	case ANSER_DTYPE_BF16:
		memcpy(&h, b + 2 * i, 2);
		return bf16_to_f32(h);
	case ANSER_DTYPE_F64:
		memcpy(&d, b + 8 * i, 8);
		return (float)d;
	default:
		memcpy(&f, b + 4 * i, 4);
		return f;
	}
}

/*
 * Converts n elements.  src may be F32, F16, BF16 or F64; dst F32, F16 or
 * BF16 (quantized types have their own functions, quant.h).  Returns the
 * number of finite inputs that became infinite (overflow of the narrower
 * type), so callers can refuse a lossy conversion.
 */
uint64_t anser_convert_elems(enum anser_dtype st, const void *src,
                             enum anser_dtype dt, void *dst, uint64_t n);

#endif /* ANSER_DTYPE_H */
