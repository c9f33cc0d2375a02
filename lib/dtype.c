/*
 * dtype.c - element types: names, sizes and bulk conversion.
 */
#include <math.h>
#include <stdio.h>

#include "dtype.h"
#include "internal.h"

static const struct {
	enum anser_dtype t;
	const char *name;
	size_t block_elems, block_bytes;
} types[] = {
	{ ANSER_DTYPE_F32,  "f32",  1, 4 },
	{ ANSER_DTYPE_F16,  "f16",  1, 2 },
	{ ANSER_DTYPE_BF16, "bf16", 1, 2 },
	{ ANSER_DTYPE_Q8_0, "q8_0", 32, 34 },
	{ ANSER_DTYPE_Q4_0, "q4_0", 32, 18 },
	{ ANSER_DTYPE_F64,  "f64",  1, 8 },
	{ ANSER_DTYPE_I64,  "i64",  1, 8 },
	{ ANSER_DTYPE_I32,  "i32",  1, 4 },
	{ ANSER_DTYPE_I16,  "i16",  1, 2 },
	{ ANSER_DTYPE_I8,   "i8",   1, 1 },
	{ ANSER_DTYPE_U8,   "u8",   1, 1 },
	{ ANSER_DTYPE_BOOL, "bool", 1, 1 },
};

const char *anser_dtype_name(enum anser_dtype dtype)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].t == dtype)
			return types[i].name;
	return "?";
}

int anser_dtype_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcmp(types[i].name, name))
			return (int)types[i].t;
	return -1;
}

size_t anser_dtype_block_elems(enum anser_dtype dtype)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].t == dtype)
			return types[i].block_elems;
	return 0;
}

size_t anser_dtype_block_bytes(enum anser_dtype dtype)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].t == dtype)
			return types[i].block_bytes;
	return 0;
}

int anser_dtype_nbytes(enum anser_dtype dtype, uint64_t numel, uint64_t *out)
{
	uint64_t be = anser_dtype_block_elems(dtype);
	uint64_t bb = anser_dtype_block_bytes(dtype);

	if (!be || numel % be)
		return 0;
	return mul_u64(numel / be, bb, out);
}

int anser_shape_numel(int ndim, const int64_t *shape, uint64_t *numel)
{
	uint64_t n = 1;

	if (ndim < 0 || ndim > ANSER_MAX_DIMS)
		return 0;
	for (int i = 0; i < ndim; i++) {
		if (shape[i] < 0 || !mul_u64(n, (uint64_t)shape[i], &n) ||
		    n > (UINT64_C(1) << 62))
			return 0;
	}
	*numel = n;
	return 1;
}

char *anser_shape_str(int ndim, const int64_t *shape, char *buf, size_t size)
{
	size_t off = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	off += (size_t)snprintf(buf, size, "(");
	for (int i = 0; i < ndim && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%lld",
		                        i ? ", " : "", (long long)shape[i]);
	if (off < size)
		snprintf(buf + off, size - off, ")");
	return buf;
}

const char *anser_basename(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

uint64_t anser_convert_elems(enum anser_dtype st, const void *src,
                             enum anser_dtype dt, void *dst, uint64_t n)
{
	uint64_t overflow = 0, i;

	/* Same type: a copy.  The fast common cases get their own loops. */
	if (st == dt) {
		uint64_t nb = 0;
		anser_dtype_nbytes(st, n, &nb);
		memcpy(dst, src, nb);
		return 0;
	}
	for (i = 0; i < n; i++) {
		float f = load_f32(st, src, i);
		uint16_t h;

		if (st == ANSER_DTYPE_F64 && !isinf(((const double *)src)[i]) &&
		    isinf(f))
			overflow++;
		switch (dt) {
		case ANSER_DTYPE_F32:
			memcpy((uint8_t *)dst + 4 * i, &f, 4);
			break;
		case ANSER_DTYPE_F16:
			h = f32_to_f16(f);
			if ((h & 0x7fff) == 0x7c00 && isfinite(f))
				overflow++;
			memcpy((uint8_t *)dst + 2 * i, &h, 2);
			break;
		case ANSER_DTYPE_BF16:
			h = f32_to_bf16(f);
			if ((h & 0x7fff) == 0x7f80 && isfinite(f))
				overflow++;
			memcpy((uint8_t *)dst + 2 * i, &h, 2);
			break;
		default:
			break;
		}
	}
	return overflow;
}
