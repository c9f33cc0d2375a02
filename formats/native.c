/*
 * native.c - encoding and validating the native model file (native.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "native.h"

uint32_t native_crc32(const void *p, uint64_t n)
{
	const uint8_t *b = p;
	uLong crc = crc32(0L, Z_NULL, 0);

	/* zlib takes a uInt length: feed it in pieces. */
	while (n) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
		crc = crc32(crc, b, k);
		b += k;
		n -= k;
	}
	return (uint32_t)crc;
}

void native_header_encode(const struct native_header *h,
                          uint8_t out[NATIVE_HEADER_SIZE])
{
	memset(out, 0, NATIVE_HEADER_SIZE);
	memcpy(out, NATIVE_MAGIC, 8);
	wr_u32(out + 8, h->version);
	wr_u32(out + 12, NATIVE_HEADER_SIZE);
	wr_u64(out + 16, h->file_size);
	wr_u64(out + 24, h->meta_off);
	wr_u64(out + 32, h->meta_size);
	wr_u64(out + 40, h->vocab_off);
	wr_u64(out + 48, h->vocab_size);
	wr_u64(out + 56, h->index_off);
	wr_u64(out + 64, h->index_size);
	wr_u64(out + 72, h->data_off);
	wr_u64(out + 80, h->data_size);
	wr_u32(out + 88, h->n_tensors);
	wr_u32(out + 92, h->meta_crc);
	wr_u32(out + 96, h->vocab_crc);
	wr_u32(out + 100, h->index_crc);
	wr_u32(out + 104, h->flags);
	wr_u32(out + 124, native_crc32(out, 124));
}

void native_entry_encode(const struct native_tensor *t, uint64_t data_off,
                         uint8_t out[NATIVE_ENTRY_SIZE])
{
	memset(out, 0, NATIVE_ENTRY_SIZE);
	memcpy(out, t->info.name, strlen(t->info.name));
	wr_u32(out + 64, (uint32_t)t->info.dtype);
	wr_u32(out + 68, (uint32_t)t->info.ndim);
	for (int d = 0; d < t->info.ndim; d++)
		wr_u64(out + 72 + 8 * d, (uint64_t)t->info.shape[d]);
	wr_u64(out + 104, t->offset - data_off);
	wr_u64(out + 112, t->nbytes);
	wr_u32(out + 120, t->crc);
}

static enum anser_status bad(struct anser_err *err, const char *what)
{
	return anser_errf(err, ANSER_E_FORMAT, "corrupt anser file: %s", what);
}

/* [off, off+size) inside [lo, len)? */
static int inside(uint64_t off, uint64_t size, uint64_t lo, uint64_t len)
{
	uint64_t end;
	return off >= lo && add_u64(off, size, &end) && end <= len;
}

static int is_native_type(uint32_t t)
{
	return t == ANSER_DTYPE_F32 || t == ANSER_DTYPE_F16 ||
	       t == ANSER_DTYPE_BF16 || t == ANSER_DTYPE_Q8_0 ||
	       t == ANSER_DTYPE_Q4_0;
}

static enum anser_status parse_entry(const struct native_file *f, uint32_t i,
                                     struct native_tensor *t,
                                     struct anser_err *err)
{
	const uint8_t *e = f->buf + f->h.index_off + (uint64_t)i * NATIVE_ENTRY_SIZE;
	uint32_t dtype = rd_u32(e + 64), ndim = rd_u32(e + 68);
	uint64_t off = rd_u64(e + 104), need;
	size_t namelen;

	namelen = strnlen((const char *)e, 64);
	if (namelen == 0 || namelen > NATIVE_NAME_MAX)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "corrupt anser file: tensor %u has no valid name",
		                  i);
	for (size_t k = namelen; k < 64; k++)
		if (e[k])
			return bad(err, "tensor name not NUL-padded");
	memcpy(t->name, e, namelen);
	t->name[namelen] = '\0';
	t->info.name = t->name;
	if (!is_native_type(dtype))
		return anser_errf(err, ANSER_E_UNSUPPORTED,
		                  "tensor '%s' has type %u, which anser %s does not "
		                  "know (a newer anser may have written this file)",
		                  t->name, dtype, ANSER_VERSION);
	t->info.dtype = (enum anser_dtype)dtype;
	if (ndim > ANSER_MAX_DIMS)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "corrupt anser file: tensor '%s' has %u dims",
		                  t->name, ndim);
	t->info.ndim = (int)ndim;
	for (uint32_t d = 0; d < ANSER_MAX_DIMS; d++) {
		uint64_t v = rd_u64(e + 72 + 8 * d);
		if (d >= ndim ? v != 0 : v > INT64_MAX)
			return anser_errf(err, ANSER_E_FORMAT,
			                  "corrupt anser file: tensor '%s' has a bad "
			                  "shape", t->name);
		t->info.shape[d] = (int64_t)v;
	}
	/* Quantized blocks never straddle rows: kernels walk a row's blocks. */
	if (anser_dtype_block_elems(t->info.dtype) > 1 &&
	    (ndim != 2 || t->info.shape[1] %
	     (int64_t)anser_dtype_block_elems(t->info.dtype)))
		return anser_errf(err, ANSER_E_FORMAT,
		                  "corrupt anser file: tensor '%s' is %s but not a "
		                  "matrix of whole blocks per row", t->name,
		                  anser_dtype_name(t->info.dtype));
	if (!anser_shape_numel(t->info.ndim, t->info.shape, &t->info.numel) ||
	    !anser_dtype_nbytes(t->info.dtype, t->info.numel, &need))
		return anser_errf(err, ANSER_E_FORMAT,
		                  "corrupt anser file: tensor '%s' has an impossible "
		                  "shape", t->name);
	t->nbytes = rd_u64(e + 112);
	t->crc = rd_u32(e + 120);
	if (t->nbytes != need)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "corrupt anser file: tensor '%s' has %llu bytes, "
		                  "its shape needs %llu", t->name,
		                  (unsigned long long)t->nbytes,
		                  (unsigned long long)need);
	if (off % NATIVE_ALIGN || !inside(off, t->nbytes, 0, f->h.data_size))
		return anser_errf(err, ANSER_E_FORMAT,
		                  "corrupt anser file: tensor '%s' lies outside the "
		                  "data section or is misaligned", t->name);
	if (rd_u32(e + 124))
		return bad(err, "reserved index bytes are not zero");
	t->offset = f->h.data_off + off;
	return ANSER_OK;
}

static int by_offset(const void *a, const void *b)
{
	const struct native_tensor *x = *(const struct native_tensor *const *)a;
	const struct native_tensor *y = *(const struct native_tensor *const *)b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int by_name(const void *a, const void *b)
{
	const struct native_tensor *x = *(const struct native_tensor *const *)a;
	const struct native_tensor *y = *(const struct native_tensor *const *)b;
	return strcmp(x->name, y->name);
}

/* No two tensors share bytes; no two share a name. */
static enum anser_status check_disjoint(struct native_file *f,
                                        struct anser_err *err)
{
	uint32_t n = f->h.n_tensors;
	struct native_tensor **v;
	enum anser_status st = ANSER_OK;

	if (n < 2)
		return ANSER_OK;
	v = anser_malloc(n * sizeof(*v));
	if (!v)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		v[i] = &f->t[i];
	qsort(v, n, sizeof(*v), by_offset);
	for (uint32_t i = 1; i < n && !st; i++)
		if (v[i - 1]->nbytes &&
		    v[i - 1]->offset + v[i - 1]->nbytes > v[i]->offset)
			st = anser_errf(err, ANSER_E_FORMAT,
			                "corrupt anser file: tensors '%s' and '%s' "
			                "overlap", v[i - 1]->name, v[i]->name);
	qsort(v, n, sizeof(*v), by_name);
	for (uint32_t i = 1; i < n && !st; i++)
		if (!strcmp(v[i - 1]->name, v[i]->name))
			st = anser_errf(err, ANSER_E_FORMAT,
			                "corrupt anser file: tensor '%s' appears twice",
			                v[i]->name);
	anser_free(v);
	return st;
}

enum anser_status native_parse(const uint8_t *buf, uint64_t len,
                               struct native_file *f, struct anser_err *err)
{
	struct native_header *h = &f->h;
	enum anser_status st;

	memset(f, 0, sizeof(*f));
	f->buf = buf;
	f->len = len;
	if (len < NATIVE_HEADER_SIZE || memcmp(buf, NATIVE_MAGIC, 8))
		return anser_errf(err, ANSER_E_FORMAT, "not an anser model file "
		                  "(bad magic)");
	h->version = rd_u32(buf + 8);
	if (h->version != NATIVE_VERSION)
		return anser_errf(err, ANSER_E_UNSUPPORTED,
		                  "anser file version %u; this anser (%s) reads "
		                  "version %d%s", h->version, ANSER_VERSION,
		                  NATIVE_VERSION,
		                  h->version > 0xffff ? " (wrong byte order?)" :
		                  h->version > NATIVE_VERSION ?
		                  ": upgrade anser" : "");
	if (rd_u32(buf + 124) != native_crc32(buf, 124))
		return anser_errf(err, ANSER_E_CHECKSUM,
		                  "corrupt anser file: header checksum mismatch");
	if (rd_u32(buf + 12) != NATIVE_HEADER_SIZE)
		return bad(err, "header size");
	h->file_size = rd_u64(buf + 16);
	h->meta_off = rd_u64(buf + 24);
	h->meta_size = rd_u64(buf + 32);
	h->vocab_off = rd_u64(buf + 40);
	h->vocab_size = rd_u64(buf + 48);
	h->index_off = rd_u64(buf + 56);
	h->index_size = rd_u64(buf + 64);
	h->data_off = rd_u64(buf + 72);
	h->data_size = rd_u64(buf + 80);
	h->n_tensors = rd_u32(buf + 88);
	h->meta_crc = rd_u32(buf + 92);
	h->vocab_crc = rd_u32(buf + 96);
	h->index_crc = rd_u32(buf + 100);
	h->flags = rd_u32(buf + 104);
	if (h->file_size != len)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "anser file is %llu bytes but its header says %llu "
		                  "(truncated or damaged copy?)",
		                  (unsigned long long)len,
		                  (unsigned long long)h->file_size);
	if (h->flags)
		return anser_errf(err, ANSER_E_UNSUPPORTED,
		                  "anser file uses flags 0x%x unknown to anser %s",
		                  h->flags, ANSER_VERSION);
	for (int i = 108; i < 124; i++)
		if (buf[i])
			return bad(err, "reserved header bytes are not zero");
	/* Sections appear in order, after the header, without overlap; the data
	 * section is aligned and ends the file. */
	if (h->meta_size == 0 || h->meta_size > NATIVE_MAX_META ||
	    !inside(h->meta_off, h->meta_size, NATIVE_HEADER_SIZE, len))
		return bad(err, "metadata section out of bounds");
	if (h->vocab_size > NATIVE_MAX_VOCAB ||
	    (h->vocab_size && !inside(h->vocab_off, h->vocab_size,
	                              h->meta_off + h->meta_size, len)))
		return bad(err, "vocab section out of bounds");
	if (h->n_tensors > NATIVE_MAX_TENSORS ||
	    h->index_size != (uint64_t)h->n_tensors * NATIVE_ENTRY_SIZE ||
	    !inside(h->index_off, h->index_size,
	            h->vocab_size ? h->vocab_off + h->vocab_size :
	                            h->meta_off + h->meta_size, len))
		return bad(err, "tensor index out of bounds");
	if (h->data_off % NATIVE_ALIGN ||
	    !inside(h->data_off, h->data_size, h->index_off + h->index_size,
	            len) || h->data_off + h->data_size != len)
		return bad(err, "data section out of bounds");
	if (native_crc32(buf + h->meta_off, h->meta_size) != h->meta_crc)
		return anser_errf(err, ANSER_E_CHECKSUM,
		                  "corrupt anser file: metadata checksum mismatch");
	if (h->vocab_size &&
	    native_crc32(buf + h->vocab_off, h->vocab_size) != h->vocab_crc)
		return anser_errf(err, ANSER_E_CHECKSUM,
		                  "corrupt anser file: vocab checksum mismatch");
	if (native_crc32(buf + h->index_off, h->index_size) != h->index_crc)
		return anser_errf(err, ANSER_E_CHECKSUM,
		                  "corrupt anser file: tensor index checksum "
		                  "mismatch");
	f->meta = (const char *)buf + h->meta_off;
	f->vocab = h->vocab_size ? (const char *)buf + h->vocab_off : NULL;
	f->t = anser_calloc(h->n_tensors, sizeof(*f->t));
	if (!f->t)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	for (uint32_t i = 0; i < h->n_tensors; i++)
		if ((st = parse_entry(f, i, &f->t[i], err)))
			goto fail;
	if ((st = check_disjoint(f, err)))
		goto fail;
	return ANSER_OK;
fail:
	native_free(f);
	return st;
}

enum anser_status native_verify(const struct native_file *f,
                                struct anser_err *err)
{
	for (uint32_t i = 0; i < f->h.n_tensors; i++) {
		const struct native_tensor *t = &f->t[i];
		if (native_crc32(f->buf + t->offset, t->nbytes) != t->crc)
			return anser_errf(err, ANSER_E_CHECKSUM,
			                  "tensor '%s' is corrupt (CRC mismatch)",
			                  t->name);
	}
	return ANSER_OK;
}

void native_free(struct native_file *f)
{
	if (!f)
		return;
	anser_free(f->t);
	f->t = NULL;
}
