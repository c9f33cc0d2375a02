/*
 * native.h - the anser model file, byte by byte (man/anser-format.5 is the
 * specification; this header is its C form).  All integers little-endian.
 *
 *   offset  size  field
 *   0       8     magic "ANSERMDL"
 *   8       4     version (1)
 *   12      4     header size (128)
 *   16      8     file size in bytes
 *   24      8,8   metadata offset, size      (UTF-8 JSON object)
 *   40      8,8   vocab offset, size         (0, 0 when there is no vocab)
 *   56      8,8   tensor index offset, size  (n_tensors * 128)
 *   72      8,8   data offset, size          (offset multiple of 64; ends the file)
 *   88      4     n_tensors
 *   92      4     CRC32 of the metadata
 *   96      4     CRC32 of the vocab
 *   100     4     CRC32 of the tensor index
 *   104     4     flags (0; a reader refuses bits it does not know)
 *   108     16    reserved, zero
 *   124     4     CRC32 of bytes 0..123
 *
 * Tensor index entry (128 bytes):
 *   0   64  name, NUL-terminated and NUL-padded (at most 63 bytes)
 *   64  4   dtype (enum anser_dtype)
 *   68  4   ndim (0..4)
 *   72  32  shape[4], u64, outermost first; unused dims 0
 *   104 8   offset of the data from the data section's start (multiple of 64)
 *   112 8   size of the data in bytes
 *   120 4   CRC32 of the data
 *   124 4   reserved, zero
 */
#ifndef ANSER_NATIVE_H
#define ANSER_NATIVE_H

#include "../lib/internal.h"

#define NATIVE_MAGIC "ANSERMDL"
#define NATIVE_VERSION 1
#define NATIVE_HEADER_SIZE 128
#define NATIVE_ENTRY_SIZE 128
#define NATIVE_NAME_MAX 63
#define NATIVE_ALIGN 64
#define NATIVE_MAX_TENSORS (1u << 20)
#define NATIVE_MAX_META (16u << 20)
#define NATIVE_MAX_VOCAB (64u << 20)

struct native_header {
	uint32_t version;
	uint64_t file_size;
	uint64_t meta_off, meta_size;
	uint64_t vocab_off, vocab_size;
	uint64_t index_off, index_size;
	uint64_t data_off, data_size;
	uint32_t n_tensors;
	uint32_t meta_crc, vocab_crc, index_crc;
	uint32_t flags;
};

struct native_tensor {
	struct anser_tensor_info info;
	char name[NATIVE_NAME_MAX + 1];
	uint64_t offset; /* from the start of the file */
	uint64_t nbytes;
	uint32_t crc;
};

/* A parsed file: points into the caller's buffer, owns only `t`. */
struct native_file {
	struct native_header h;
	const uint8_t *buf;
	uint64_t len;
	const char *meta;  /* not NUL-terminated: meta_size bytes */
	const char *vocab; /* NULL when vocab_size is 0 */
	struct native_tensor *t; /* [h.n_tensors] */
};

void native_header_encode(const struct native_header *h,
                          uint8_t out[NATIVE_HEADER_SIZE]);
void native_entry_encode(const struct native_tensor *t, uint64_t data_off,
                         uint8_t out[NATIVE_ENTRY_SIZE]);

/*
 * Validates buf[0..len) (a whole file, usually mmapped) and indexes it:
 * magic, version, header CRC, section bounds and overlaps, metadata, vocab and
 * index CRCs, every tensor entry (name, type, shape, size, alignment, bounds,
 * no two tensors overlapping, unique names).  Tensor data CRCs are checked by
 * native_verify, which reads everything.
 */
enum anser_status native_parse(const uint8_t *buf, uint64_t len,
                               struct native_file *f, struct anser_err *err);
enum anser_status native_verify(const struct native_file *f,
                                struct anser_err *err);
void native_free(struct native_file *f);

/* CRC32 (zlib's) of a buffer of any size. */
uint32_t native_crc32(const void *p, uint64_t n);

#endif /* ANSER_NATIVE_H */
