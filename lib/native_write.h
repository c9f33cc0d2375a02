/*
 * native_write.h - writing a native model file from any source of tensors
 * (a .pth checkpoint, or generated weights for benchmarks and tests).
 */
#ifndef ANSER_NATIVE_WRITE_H
#define ANSER_NATIVE_WRITE_H

#include <signal.h>

#include "internal.h"

/* Tensors to write, each streamed in row-major order. */
struct tensor_source {
	const struct anser_tensor_info *info; /* [n]: names and shapes */
	size_t n;
	enum anser_status (*open)(void *ctx, size_t i, void **stream,
	                          struct anser_err *err);
	/* The next n elements of the open tensor, converted to `to`;
	 * *overflow grows by the finite values that became infinite. */
	enum anser_status (*read)(void *stream, enum anser_dtype to, void *dst,
	                          uint64_t n, uint64_t *overflow,
	                          struct anser_err *err);
	void (*close)(void *stream);
	void *ctx;
};

struct native_write_opts {
	enum anser_dtype dtype;      /* every tensor is stored as this, */
	const enum anser_dtype *dtypes; /* or [n] by source index, if set */
	const char *meta_json;       /* the metadata block */
	const char *vocab;           /* vocab text, or NULL */
	size_t vocab_len;
	volatile sig_atomic_t *cancel;
};

/*
 * Writes `out`: tensors in a fixed order (emb.weight, then layer by layer,
 * then the rest), each 64-byte aligned with its CRC32, to a temporary file
 * in the same folder, synced and renamed into place.  On failure nothing is
 * left behind.  *bytes gets the file size.
 */
enum anser_status native_write(const char *out, const struct tensor_source *src,
                               const struct native_write_opts *o,
                               uint64_t *bytes, struct anser_err *err);

#endif /* ANSER_NATIVE_WRITE_H */
