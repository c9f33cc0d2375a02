/*
 * native_write.c - writing a native model file (native_write.h).
 *
 * The layout is planned first (every size follows from the shapes), then each
 * tensor is streamed from its source in chunks, converted, checksummed and
 * written at its offset, and finally the index, metadata and header are
 * written.  Everything goes to a temporary file beside the output, which is
 * synced and renamed into place only when complete.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../formats/native.h"
#include "native_write.h"
#include "dtype.h"

#define CHUNK_ELEMS (1u << 20)

struct job {
	const struct tensor_source *src;
	const struct native_write_opts *o;
	struct anser_err *err;
	struct native_tensor *t;   /* [n], in output order */
	size_t *order;             /* [n]: index of each in the source */
	size_t n;
	struct native_header h;
	int fd;
	const char *tmp;
};

static enum anser_status write_at(struct job *j, const void *p, uint64_t n,
                                  uint64_t off)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = pwrite(j->fd, b, n > (1u << 30) ? (1u << 30) : n,
		                   (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return anser_errno(j->err, "cannot write '%s'", j->tmp);
		}
		b += w;
		n -= (uint64_t)w;
		off += (uint64_t)w;
	}
	return ANSER_OK;
}

/* Block index for ordering: emb first, blocks by number, the rest last. */
static long order_key(const char *name)
{
	long i = 0;

	if (!strcmp(name, "emb.weight"))
		return -1;
	if (strncmp(name, "blocks.", 7))
		return 1L << 30;
	for (name += 7; *name >= '0' && *name <= '9'; name++)
		i = i * 10 + (*name - '0');
	return i;
}

struct order {
	long layer;
	const char *name;
	size_t src;
};

static int by_layer_then_name(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->layer != y->layer)
		return x->layer < y->layer ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Sizes and offsets of everything, before a byte is written. */
static enum anser_status plan(struct job *j)
{
	const struct anser_tensor_info *info = j->src->info;
	struct order *ord;
	uint64_t off;

	j->n = j->src->n;
	j->t = anser_calloc(j->n ? j->n : 1, sizeof(*j->t));
	j->order = anser_calloc(j->n ? j->n : 1, sizeof(*j->order));
	if (!j->t || !j->order)
		return anser_errf(j->err, ANSER_E_NOMEM, "out of memory");
	/* A fixed order, whatever the checkpoint's key order: emb first, then
	 * layer by layer, so a forward pass walks the file front to back. */
	ord = anser_calloc(j->n ? j->n : 1, sizeof(*ord));
	if (!ord)
		return anser_errf(j->err, ANSER_E_NOMEM, "out of memory");
	for (size_t i = 0; i < j->n; i++)
		ord[i] = (struct order){ order_key(info[i].name), info[i].name, i };
	qsort(ord, j->n, sizeof(*ord), by_layer_then_name);
	for (size_t i = 0; i < j->n; i++)
		j->order[i] = ord[i].src;
	anser_free(ord);
	j->h.version = NATIVE_VERSION;
	j->h.n_tensors = (uint32_t)j->n;
	j->h.meta_off = NATIVE_HEADER_SIZE;
	j->h.meta_size = strlen(j->o->meta_json);
	j->h.vocab_off = j->o->vocab ? j->h.meta_off + j->h.meta_size : 0;
	j->h.vocab_size = j->o->vocab ? j->o->vocab_len : 0;
	j->h.index_off = j->h.meta_off + j->h.meta_size + j->h.vocab_size;
	j->h.index_size = (uint64_t)j->n * NATIVE_ENTRY_SIZE;
	j->h.data_off = align_up64(j->h.index_off + j->h.index_size,
	                           NATIVE_ALIGN);
	off = j->h.data_off;
	for (size_t k = 0; k < j->n; k++) {
		struct native_tensor *t = &j->t[k];
		const struct anser_tensor_info *s = &info[j->order[k]];
		enum anser_dtype dtype = j->o->dtypes ? j->o->dtypes[j->order[k]] :
		                         j->o->dtype;

		if (strlen(s->name) > NATIVE_NAME_MAX)
			return anser_errf(j->err, ANSER_E_UNSUPPORTED,
			                  "tensor name '%s' is longer than %d bytes",
			                  s->name, NATIVE_NAME_MAX);
		t->info = *s;
		t->info.dtype = dtype;
		if ((dtype_is_quant(dtype) && (s->ndim != 2 ||
		                               s->shape[1] % QBLOCK)) ||
		    !anser_dtype_nbytes(dtype, s->numel, &t->nbytes))
			return anser_errf(j->err, ANSER_E_SHAPE,
			                  "tensor '%s' cannot be stored as %s", s->name,
			                  anser_dtype_name(dtype));
		t->offset = off;
		off = align_up64(off + t->nbytes, NATIVE_ALIGN);
	}
	j->h.data_size = off - j->h.data_off;
	j->h.file_size = off;
	return ANSER_OK;
}

/*
 * Streams tensor k in chunks of whole blocks.  Quantized types are read as
 * f32 into fbuf and quantized here, so sources only ever convert between
 * float types; their integers and scales go to the two parts of the tensor
 * (quant.h), and the two parts' CRCs are joined at the end.
 */
static enum anser_status write_tensor(struct job *j, size_t k, void *buf,
                                      float *fbuf)
{
	struct native_tensor *t = &j->t[k];
	const enum anser_dtype dt = t->info.dtype;
	const int quant = dtype_is_quant(dt);
	const uint64_t nblk = t->info.numel / QBLOCK;
	const size_t qb = quant ? quant_qbytes(dt) : 0;
	void *s;
	enum anser_status st;
	uint64_t left = t->info.numel, off = t->offset, overflow = 0, nb = 0;
	uint64_t doff = t->offset + nblk * qb; /* quantized: the scales */
	uLong crc = crc32(0L, Z_NULL, 0), dcrc = crc;

	if ((st = j->src->open(j->src->ctx, j->order[k], &s, j->err)))
		return st;
	while (left && !st) {
		/* CHUNK_ELEMS is a multiple of QBLOCK, and so is a quantized
		 * tensor's numel. */
		uint64_t n = left < CHUNK_ELEMS ? left : CHUNK_ELEMS;
		if (j->o->cancel && *j->o->cancel) {
			st = anser_errf(j->err, ANSER_E_CANCELLED, "interrupted");
			break;
		}
		if (quant) {
			uint8_t *q = buf;
			uint16_t *d = (uint16_t *)(q + CHUNK_ELEMS); /* n/32 scales */
			size_t blocks = (size_t)(n / QBLOCK);
			st = j->src->read(s, ANSER_DTYPE_F32, fbuf, n, &overflow,
			                  j->err);
			if (st)
				break;
			quantize(dt, fbuf, blocks, q, d);
			for (size_t b = 0; b < blocks; b++)
				overflow += (d[b] & 0x7fff) >= 0x7c00;
			nb = blocks * qb;
			if (!(st = write_at(j, q, nb, off)))
				st = write_at(j, d, blocks * 2, doff);
			crc = crc32(crc, q, (uInt)nb);
			dcrc = crc32(dcrc, (const Bytef *)d, (uInt)(blocks * 2));
			doff += blocks * 2;
		} else {
			anser_dtype_nbytes(dt, n, &nb);
			st = j->src->read(s, dt, buf, n, &overflow, j->err);
			if (!st)
				st = write_at(j, buf, nb, off);
			crc = crc32(crc, buf, (uInt)nb);
		}
		off += nb;
		left -= n;
	}
	if (quant)
		crc = crc32_combine(crc, dcrc, (z_off_t)(nblk * 2));
	j->src->close(s);
	if (!st && overflow)
		st = anser_errf(j->err, ANSER_E_RANGE,
		                "tensor '%s': %llu values overflow %s; choose a wider "
		                "--type", t->info.name,
		                (unsigned long long)overflow,
		                anser_dtype_name(dt));
	t->crc = (uint32_t)crc;
	return st;
}

static enum anser_status write_all(struct job *j)
{
	uint8_t hdr[NATIVE_HEADER_SIZE], *index = NULL;
	enum anser_status st = ANSER_OK;
	void *buf;
	float *fbuf;
	int rc;

	/* Claim the space now so a full disk fails before hours of work. */
	rc = posix_fallocate(j->fd, 0, (off_t)j->h.file_size);
	if (rc && rc != EOPNOTSUPP && rc != EINVAL) {
		errno = rc;
		return anser_errno(j->err, "cannot allocate %llu bytes for '%s'",
		                   (unsigned long long)j->h.file_size, j->tmp);
	}
	if (rc && ftruncate(j->fd, (off_t)j->h.file_size))
		return anser_errno(j->err, "cannot write '%s'", j->tmp);
	buf = anser_malloc(CHUNK_ELEMS * 4);
	fbuf = anser_malloc(CHUNK_ELEMS * 4);
	index = anser_calloc(j->n ? j->n : 1, NATIVE_ENTRY_SIZE);
	if (!buf || !fbuf || !index) {
		st = anser_errf(j->err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < j->n && !st; k++)
		st = write_tensor(j, k, buf, fbuf);
	if (st)
		goto out;
	for (size_t k = 0; k < j->n; k++)
		native_entry_encode(&j->t[k], j->h.data_off,
		                    index + k * NATIVE_ENTRY_SIZE);
	j->h.meta_crc = native_crc32(j->o->meta_json, j->h.meta_size);
	j->h.vocab_crc = j->h.vocab_size ? native_crc32(j->o->vocab,
	                                                j->h.vocab_size) : 0;
	j->h.index_crc = native_crc32(index, j->h.index_size);
	native_header_encode(&j->h, hdr);
	if ((st = write_at(j, j->o->meta_json, j->h.meta_size,
	                   j->h.meta_off)) ||
	    (j->h.vocab_size && (st = write_at(j, j->o->vocab, j->h.vocab_size,
	                                       j->h.vocab_off))) ||
	    (st = write_at(j, index, j->h.index_size, j->h.index_off)) ||
	    (st = write_at(j, hdr, sizeof(hdr), 0)))
		goto out;
	if (fsync(j->fd))
		st = anser_errno(j->err, "cannot sync '%s'", j->tmp);
out:
	anser_free(buf);
	anser_free(fbuf);
	anser_free(index);
	return st;
}

/* Syncs the folder holding `path` so the rename itself is durable. */
static void sync_dir(const char *path)
{
	char *copy = anser_strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	anser_free(copy);
}

enum anser_status native_write(const char *out, const struct tensor_source *src,
                               const struct native_write_opts *o,
                               uint64_t *bytes, struct anser_err *err)
{
	struct job j = { .src = src, .o = o, .err = err, .fd = -1 };
	char *tmp = NULL, *dir = NULL;
	enum anser_status st;
	mode_t mask;

	if ((st = plan(&j)))
		goto out;
	/* The temporary file lives in the output's folder so rename is atomic. */
	dir = anser_strdup(out);
	tmp = anser_malloc(strlen(out) + 32);
	if (!dir || !tmp) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	snprintf(tmp, strlen(out) + 32, "%s/.%s.tmp.XXXXXX", dirname(dir),
	         anser_basename(out));
	j.fd = mkstemp(tmp);
	if (j.fd < 0) {
		st = anser_errno(err, "cannot create a file beside '%s'", out);
		goto out;
	}
	j.tmp = tmp;
	st = write_all(&j);
	if (!st) {
		mask = umask(0);
		umask(mask);
		if (fchmod(j.fd, 0666 & ~mask))
			st = anser_errno(err, "cannot chmod '%s'", tmp);
	}
	if (close(j.fd) && !st)
		st = anser_errno(err, "cannot write '%s'", tmp);
	j.fd = -1;
	if (!st && rename(tmp, out))
		st = anser_errno(err, "cannot rename '%s' to '%s'", tmp, out);
	if (st) {
		unlink(tmp);
		goto out;
	}
	sync_dir(out);
	if (bytes)
		*bytes = j.h.file_size;
out:
	if (j.fd >= 0) {
		close(j.fd);
		unlink(tmp);
	}
	anser_free(tmp);
	anser_free(dir);
	anser_free(j.t);
	anser_free(j.order);
	return st;
}
