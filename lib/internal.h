/*
 * internal.h - helpers shared by lib/, formats/ and eval/; never by cmd/,
 * which sees only anser.h.
 */
#ifndef ANSER_INTERNAL_H
#define ANSER_INTERNAL_H

/* System headers first: banned.h (included last) must not rename their
 * declarations. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anser.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Records a failure in err (when not NULL) and returns `code`, so that
 * `return anser_errf(err, ANSER_E_FORMAT, "...", ...);` is the idiom.
 */
enum anser_status anser_errf(struct anser_err *err, enum anser_status code,
                             const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like anser_errf, with ": strerror(errno)" appended. */
enum anser_status anser_errno(struct anser_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Prefixes an existing message with more context: "in 'x.pth': <msg>".  Keeps
 * err->code.  Returns err->code (ANSER_E_ARG when err is NULL... never; callers
 * pass the status they got).
 */
enum anser_status anser_err_prefix(struct anser_err *err,
                                   enum anser_status code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Allocation.  Every library allocation goes through these so that a test can
 * make the Nth one fail (anser_fail_alloc_after) and check clean failure.
 */
void *anser_malloc(size_t n);
void *anser_calloc(size_t n, size_t size);
void *anser_realloc(void *p, size_t n);
char *anser_strdup(const char *s);
char *anser_strndup(const char *s, size_t n);
void anser_free(void *p);
void anser_fail_alloc_after(long n); /* tests only; -1 disables */

/* a*b and a+b for sizes: return 0 and leave *out alone on overflow. */
static inline int mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	if (a && b > UINT64_MAX / a)
		return 0;
	*out = a * b;
	return 1;
}

static inline int add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b > UINT64_MAX - a)
		return 0;
	*out = a + b;
	return 1;
}

static inline uint64_t align_up64(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

/* Little-endian loads and stores, whatever the host. */
static inline uint16_t rd_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t rd_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t rd_u64(const uint8_t *p)
{
	return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32;
}

static inline void wr_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void wr_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void wr_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Byte size of `numel` elements of a type (block types: whole blocks only). */
int anser_dtype_nbytes(enum anser_dtype dtype, uint64_t numel, uint64_t *out);

/* numel of a shape, failing on negative dims or overflow past 2^62. */
int anser_shape_numel(int ndim, const int64_t *shape, uint64_t *numel);

/* "(768, 64)" into buf; returns buf. */
char *anser_shape_str(int ndim, const int64_t *shape, char *buf, size_t size);

/* The last path component of `path` (borrowed from path). */
const char *anser_basename(const char *path);

/* SHA-256 (FIPS 180-4). */
struct anser_sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t nbuf;
};
void anser_sha256_init(struct anser_sha256 *s);
/* Compresses `blocks` 64-byte blocks into h: the plain-C twin and, where the
 * CPU has them, the SHA extensions (NULL when there is no fast path). */
typedef void (*sha256_blocks_fn)(uint32_t h[8], const uint8_t *p,
                                 size_t blocks);
void sha256_blocks_ref(uint32_t h[8], const uint8_t *p, size_t blocks);
sha256_blocks_fn sha256_blocks_fast(const char **name);
void anser_sha256_update(struct anser_sha256 *s, const void *data, size_t n);
void anser_sha256_final(struct anser_sha256 *s, uint8_t digest[32]);
void anser_hex(const uint8_t *bytes, size_t n, char *out);

/*
 * Hyperparameter inference over a list of tensors, shared by .pth and native
 * files.  `arch` gets the short architecture name (see anser_pth_architecture).
 */
const char *anser_arch_detect(const struct anser_tensor_info *t, size_t n);
enum anser_status anser_arch_hparams(const struct anser_tensor_info *t,
                                     size_t n, struct anser_hparams *hp,
                                     struct anser_err *err);

/*
 * Writes an RWKV-7 model with random weights (deterministic in seed) to a
 * native file at `path`: n_layer, n_embd, head_size, vocab_size, ffn_size and
 * the four LoRA ranks of hp are used.  For benchmarks and tests.
 */
enum anser_status anser_random_model(const char *path,
                                     const struct anser_hparams *hp,
                                     enum anser_dtype dtype, uint64_t seed,
                                     struct anser_err *err);

#include "banned.h"

#endif /* ANSER_INTERNAL_H */
