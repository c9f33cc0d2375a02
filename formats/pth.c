/*
 * pth.c - PyTorch checkpoints: a zip (read with libzip) holding data.pkl and
 * one raw little-endian storage per key under data/.
 *
 * Opening reads only the zip directory and the pickle, then checks every
 * tensor view against its storage: the storage entry must hold exactly the
 * bytes its persistent id declares, and the view (offset, shape, strides) must
 * stay inside it.  Tensor data is read later, in chunks, on demand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zip.h>

#include "../lib/dtype.h"
#include "pickle.h"
#include "pth.h"

#define MAX_PICKLE_BYTES (256u << 20) /* data.pkl of a 13B model is ~100 KB */
#define MAX_NAME 1024
#define CHUNK_BYTES (1u << 20)

struct pth_tensor {
	uint64_t zip_index;     /* the storage's zip entry */
	uint64_t storage_numel; /* elements in the storage */
	int64_t offset;         /* first element of the view */
	int64_t stride[ANSER_MAX_DIMS];
	int contiguous;         /* row-major dense: one byte range */
};

struct anser_pth {
	zip_t *za;
	char *path;
	uint64_t file_size;
	size_t n;
	struct anser_tensor_info *info; /* [n] */
	struct pth_tensor *t;           /* [n] */
	char **names;                   /* [n], owned */
};

/* ----------------------------------------------------------- zip helpers */

static enum anser_status zip_fail(struct anser_err *err, const char *path,
                                  zip_error_t *ze, const char *what)
{
	int code = zip_error_code_zip(ze);
	enum anser_status st = code == ZIP_ER_MEMORY ? ANSER_E_NOMEM :
	                       code == ZIP_ER_READ || code == ZIP_ER_SEEK ||
	                       code == ZIP_ER_OPEN ? ANSER_E_IO : ANSER_E_FORMAT;

	/* Only reached for files that start like a zip. */
	if (code == ZIP_ER_NOZIP)
		return anser_errf(err, st, "'%s' is a truncated or damaged zip "
		                  "(no central directory found)", path);
	if (code == ZIP_ER_CRC)
		st = ANSER_E_CHECKSUM;
	return anser_errf(err, st, "'%s': %s: %s", path, what,
	                  zip_error_strerror(ze));
}

/* Reads exactly n bytes from an open entry. */
static enum anser_status zip_read_exact(zip_file_t *zf, void *buf, uint64_t n,
                                        const char *path, const char *entry,
                                        struct anser_err *err)
{
	uint8_t *p = buf;

	while (n) {
		zip_int64_t got = zip_fread(zf, p, n);
		if (got < 0)
			return zip_fail(err, path, zip_file_get_error(zf), entry);
		if (got == 0)
			return anser_errf(err, ANSER_E_FORMAT,
			                  "'%s': entry '%s' is shorter than its "
			                  "declared size (truncated file?)", path,
			                  entry);
		p += got;
		n -= (uint64_t)got;
	}
	return ANSER_OK;
}

/* Positions zf at byte `off`: a seek when the entry is stored, else a skip. */
static enum anser_status zip_skip_to(zip_file_t *zf, uint64_t off,
                                     const char *path, const char *entry,
                                     struct anser_err *err)
{
	uint8_t buf[4096];
	enum anser_status st;

	if (off == 0 || zip_fseek(zf, (zip_int64_t)off, SEEK_SET) == 0)
		return ANSER_OK;
	while (off) {
		uint64_t n = off < sizeof(buf) ? off : sizeof(buf);
		if ((st = zip_read_exact(zf, buf, n, path, entry, err)))
			return st;
		off -= n;
	}
	return ANSER_OK;
}

/* ----------------------------------------------------------- opening */

/* The folder prefix of the one "<root>/data.pkl" entry, e.g. "archive/". */
static enum anser_status find_root(struct anser_pth *p, char *root, size_t size,
                                   zip_uint64_t *pkl, struct anser_err *err)
{
	zip_int64_t n = zip_get_num_entries(p->za, 0);
	int found = 0;

	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(p->za, (zip_uint64_t)i, 0);
		const char *slash;
		size_t len;

		if (!name)
			continue;
		len = strlen(name);
		slash = strchr(name, '/');
		if (len < 9 || strcmp(name + len - 9, "/data.pkl") ||
		    slash != name + len - 9)
			continue;
		if (found++)
			return anser_errf(err, ANSER_E_FORMAT,
			                  "'%s' holds more than one data.pkl", p->path);
		if (len - 8 >= size)
			return anser_errf(err, ANSER_E_FORMAT,
			                  "'%s': top folder name too long", p->path);
		memcpy(root, name, len - 8);
		root[len - 8] = '\0';
		*pkl = (zip_uint64_t)i;
	}
	if (!found)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s' is a zip without <folder>/data.pkl, not a "
		                  "PyTorch checkpoint", p->path);
	return ANSER_OK;
}

/*
 * The central directory's sizes are claims: a stored entry must fit in the
 * file and a deflated one cannot expand more than deflate can (1032:1).
 */
static int entry_size_possible(const struct anser_pth *p, const zip_stat_t *zs)
{
	return (zs->valid & ZIP_STAT_COMP_SIZE) && zs->comp_size <= p->file_size &&
	       (zs->comp_method != ZIP_CM_STORE || zs->comp_size == zs->size) &&
	       zs->size / 1100 <= zs->comp_size;
}

/* Reads a whole small entry into a new NUL-terminated buffer. */
static enum anser_status read_entry(struct anser_pth *p, zip_uint64_t idx,
                                    uint64_t max, uint8_t **out, size_t *len,
                                    struct anser_err *err)
{
	zip_stat_t zs;
	zip_file_t *zf;
	enum anser_status st;
	uint8_t *buf;
	const char *name = zip_get_name(p->za, idx, 0);

	if (zip_stat_index(p->za, idx, 0, &zs) || !(zs.valid & ZIP_STAT_SIZE))
		return zip_fail(err, p->path, zip_get_error(p->za), name);
	if (zs.size > max)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s': entry '%s' is %llu bytes, more than the "
		                  "%llu this reader accepts", p->path, name,
		                  (unsigned long long)zs.size,
		                  (unsigned long long)max);
	/* The size is a claim, allocated before it is read: bound it by the
	 * file, as for storages (add_tensor). */
	if (!entry_size_possible(p, &zs))
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s': entry '%s' declares %llu bytes, more than "
		                  "the file holds", p->path, name,
		                  (unsigned long long)zs.size);
	zf = zip_fopen_index(p->za, idx, 0);
	if (!zf)
		return zip_fail(err, p->path, zip_get_error(p->za), name);
	buf = anser_malloc((size_t)zs.size + 1);
	if (!buf) {
		zip_fclose(zf);
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	}
	st = zip_read_exact(zf, buf, zs.size, p->path, name, err);
	zip_fclose(zf);
	if (st) {
		anser_free(buf);
		return st;
	}
	buf[zs.size] = '\0';
	*out = buf;
	*len = (size_t)zs.size;
	return ANSER_OK;
}

static int key_is_plain(const char *k)
{
	for (; *k; k++)
		if (!(*k >= '0' && *k <= '9') && !(*k >= 'a' && *k <= 'z') &&
		    !(*k >= 'A' && *k <= 'Z') && *k != '_' && *k != '-' &&
		    *k != '.')
			return 0;
	return 1;
}

/* Checks a tensor view against its storage entry and fills t and info. */
static enum anser_status add_tensor(struct anser_pth *p, size_t i,
                                    const char *root, const struct pk_value *k,
                                    const struct pk_value *v,
                                    struct anser_err *err)
{
	const struct pk_tensor *pt = &v->u.tensor;
	struct anser_tensor_info *info = &p->info[i];
	struct pth_tensor *t = &p->t[i];
	char entry[MAX_NAME + 64], shape[128];
	uint64_t numel, elsize, need, last = 0;
	zip_int64_t idx;
	zip_stat_t zs;
	int64_t expect = 1;

	if (k->type != PK_STR || !k->u.str.len || k->u.str.len > MAX_NAME ||
	    strlen(k->u.str.s) != k->u.str.len)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s': entry %zu of the state dict has a %s key "
		                  "(expected a tensor name)", p->path, i,
		                  pk_type_name(k->type));
	if (v->type != PK_TENSOR)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s': entry '%s' is a %s, not a tensor (anser "
		                  "reads plain state dicts)", p->path, k->u.str.s,
		                  pk_type_name(v->type));
	p->names[i] = anser_strdup(k->u.str.s);
	if (!p->names[i])
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	info->name = p->names[i];
	info->dtype = pt->storage->dtype;
	info->ndim = pt->ndim;
	memcpy(info->shape, pt->shape, sizeof(info->shape));
	anser_shape_str(pt->ndim, pt->shape, shape, sizeof(shape));
	if (!anser_shape_numel(pt->ndim, pt->shape, &numel))
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s': tensor '%s' has an invalid shape %s "
		                  "(negative or too large)", p->path, info->name,
		                  shape);
	info->numel = numel;
	/* Storage: key must be a plain name; its entry holds numel elements. */
	if (!key_is_plain(pt->storage->key))
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s': tensor '%s' names a storage with an invalid "
		                  "key", p->path, info->name);
	snprintf(entry, sizeof(entry), "%sdata/%s", root, pt->storage->key);
	idx = zip_name_locate(p->za, entry, 0);
	if (idx < 0)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s': storage '%s' of tensor '%s' is missing",
		                  p->path, entry, info->name);
	if (zip_stat_index(p->za, (zip_uint64_t)idx, 0, &zs) ||
	    !(zs.valid & ZIP_STAT_SIZE))
		return zip_fail(err, p->path, zip_get_error(p->za), entry);
	if (!entry_size_possible(p, &zs))
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s': entry '%s' declares %llu bytes, more than "
		                  "the file holds", p->path, entry,
		                  (unsigned long long)zs.size);
	elsize = anser_dtype_block_bytes(info->dtype);
	if (!mul_u64(pt->storage->numel, elsize, &need) || need != zs.size)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s': storage '%s' holds %llu bytes but declares "
		                  "%llu elements of %s", p->path, entry,
		                  (unsigned long long)zs.size,
		                  (unsigned long long)pt->storage->numel,
		                  anser_dtype_name(info->dtype));
	/* View: offset + sum((shape_d - 1) * stride_d) must be inside. */
	if (pt->offset < 0)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s': tensor '%s' has a negative storage offset",
		                  p->path, info->name);
	t->contiguous = 1;
	last = (uint64_t)pt->offset;
	for (int d = pt->ndim - 1; d >= 0; d--) {
		uint64_t span;
		if (pt->stride[d] < 0)
			return anser_errf(err, ANSER_E_UNSUPPORTED,
			                  "'%s': tensor '%s' has a negative stride",
			                  p->path, info->name);
		if (pt->shape[d] > 1 && pt->stride[d] != expect)
			t->contiguous = 0;
		expect *= pt->shape[d] ? pt->shape[d] : 1;
		if (numel && (!mul_u64((uint64_t)pt->shape[d] - 1,
		                       (uint64_t)pt->stride[d], &span) ||
		              !add_u64(last, span, &last)))
			goto outside;
	}
	if (numel && last >= pt->storage->numel)
		goto outside;
	t->zip_index = (uint64_t)idx;
	t->storage_numel = pt->storage->numel;
	t->offset = pt->offset;
	memcpy(t->stride, pt->stride, sizeof(t->stride));
	return ANSER_OK;
outside:
	return anser_errf(err, ANSER_E_FORMAT,
	                  "'%s': tensor '%s' %s at offset %lld reaches past the "
	                  "end of its storage '%s' (%llu elements)", p->path,
	                  info->name, shape, (long long)pt->offset, entry,
	                  (unsigned long long)pt->storage->numel);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum anser_status load_index(struct anser_pth *p,
                                    struct anser_err *err)
{
	char root[512];
	zip_uint64_t pkl_idx = 0, bo_idx;
	zip_int64_t bo;
	uint8_t *pkl = NULL, *bytes = NULL;
	size_t pkl_len, len;
	struct pk_doc doc = { 0 };
	const struct pk_value *d;
	enum anser_status st;

	if ((st = find_root(p, root, sizeof(root), &pkl_idx, err)))
		return st;
	/* A missing byteorder entry means little endian (older torch). */
	snprintf((char *)root + strlen(root), sizeof(root) - strlen(root),
	         "byteorder");
	bo = zip_name_locate(p->za, root, 0);
	root[strlen(root) - 9] = '\0';
	if (bo >= 0) {
		bo_idx = (zip_uint64_t)bo;
		if ((st = read_entry(p, bo_idx, 64, &bytes, &len, err)))
			return st;
		if (strncmp((char *)bytes, "little", 6)) {
			anser_free(bytes);
			return anser_errf(err, ANSER_E_UNSUPPORTED,
			                  "'%s' was saved on a big-endian machine; "
			                  "re-save it on a little-endian one", p->path);
		}
		anser_free(bytes);
	}
	if ((st = read_entry(p, pkl_idx, MAX_PICKLE_BYTES, &pkl, &pkl_len, err)))
		return st;
	st = pk_load(pkl, pkl_len, &doc, err);
	if (st) {
		anser_err_prefix(err, st, "'%s'", p->path);
		goto out;
	}
	d = doc.root;
	if (d->type != PK_DICT) {
		st = anser_errf(err, ANSER_E_FORMAT,
		                "'%s' holds a pickled %s, not a state dict of "
		                "tensors", p->path, pk_type_name(d->type));
		goto out;
	}
	p->n = d->u.seq.n / 2;
	p->info = anser_calloc(p->n, sizeof(*p->info));
	p->t = anser_calloc(p->n, sizeof(*p->t));
	p->names = anser_calloc(p->n, sizeof(*p->names));
	if (!p->info || !p->t || !p->names) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p->n && !st; i++)
		st = add_tensor(p, i, root, d->u.seq.v[2 * i],
		                d->u.seq.v[2 * i + 1], err);
	/* Duplicate names would make "read by name" ambiguous.  Sorted, so
	 * that a pickle of a million names is not a trillion comparisons. */
	if (!st && p->n > 1) {
		const char **sorted = anser_malloc(p->n * sizeof(*sorted));
		if (!sorted) {
			st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
			goto out;
		}
		memcpy(sorted, p->names, p->n * sizeof(*sorted));
		qsort(sorted, p->n, sizeof(*sorted), name_cmp);
		for (size_t i = 1; i < p->n && !st; i++)
			if (!strcmp(sorted[i - 1], sorted[i]))
				st = anser_errf(err, ANSER_E_FORMAT,
				                "'%s': tensor '%s' appears twice",
				                p->path, sorted[i]);
		anser_free(sorted);
	}
out:
	pk_free(&doc);
	anser_free(pkl);
	return st;
}

enum anser_status anser_pth_open(const char *path, struct anser_pth **out,
                                 struct anser_err *err)
{
	struct anser_pth *p;
	enum anser_file_kind kind;
	enum anser_status st;
	zip_error_t ze;
	struct stat sb;
	int zerr = 0;

	*out = NULL;
	if ((st = anser_file_kind(path, &kind, err)))
		return st;
	if (kind == ANSER_FILE_PTH_LEGACY)
		return anser_errf(err, ANSER_E_UNSUPPORTED,
		                  "'%s' uses the legacy PyTorch format (before 1.6); "
		                  "re-save it with torch.save() from PyTorch 1.6 or "
		                  "later", path);
	if (kind != ANSER_FILE_PTH)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "'%s' is not a zip file (a PyTorch checkpoint "
		                  "written by torch.save is one)", path);
	p = anser_calloc(1, sizeof(*p));
	if (!p || !(p->path = anser_strdup(path))) {
		anser_free(p);
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	}
	if (stat(path, &sb))
		st = anser_errno(err, "cannot stat '%s'", path);
	p->file_size = (uint64_t)sb.st_size;
	p->za = st ? NULL : zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
	if (st) {
		anser_pth_free(p);
		return st;
	}
	if (!p->za) {
		zip_error_init_with_code(&ze, zerr);
		st = zip_fail(err, path, &ze, "cannot open zip");
		zip_error_fini(&ze);
		anser_pth_free(p);
		return st;
	}
	if ((st = load_index(p, err))) {
		anser_pth_free(p);
		return st;
	}
	*out = p;
	return ANSER_OK;
}

void anser_pth_free(struct anser_pth *p)
{
	if (!p)
		return;
	if (p->za)
		zip_discard(p->za);
	for (size_t i = 0; p->names && i < p->n; i++)
		anser_free(p->names[i]);
	anser_free(p->names);
	anser_free(p->info);
	anser_free(p->t);
	anser_free(p->path);
	anser_free(p);
}

size_t anser_pth_n_tensors(const struct anser_pth *p)
{
	return p->n;
}

const struct anser_tensor_info *anser_pth_tensor(const struct anser_pth *p,
                                                 size_t i)
{
	return i < p->n ? &p->info[i] : NULL;
}

const struct anser_tensor_info *pth_infos(const struct anser_pth *p)
{
	return p->info;
}

long anser_pth_find(const struct anser_pth *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->names[i], name))
			return (long)i;
	return -1;
}

const char *anser_pth_architecture(const struct anser_pth *p)
{
	return anser_arch_detect(p->info, p->n);
}

enum anser_status anser_pth_hparams(const struct anser_pth *p,
                                    struct anser_hparams *hp,
                                    struct anser_err *err)
{
	enum anser_status st = anser_arch_hparams(p->info, p->n, hp, err);

	return st ? anser_err_prefix(err, st, "'%s'", p->path) : st;
}

/* ----------------------------------------------------------- streaming */

struct pth_stream {
	struct anser_pth *pth;
	const struct anser_tensor_info *info;
	const struct pth_tensor *t;
	zip_file_t *zf;
	char entry[64];
	uint64_t done;      /* elements delivered so far */
	uint8_t *buf;       /* contiguous: a bounce buffer of CHUNK_BYTES;
	                     * strided: the whole span of the view */
	uint64_t span_first;
};

void pth_stream_close(struct pth_stream *s)
{
	if (!s)
		return;
	if (s->zf)
		zip_fclose(s->zf);
	anser_free(s->buf);
	anser_free(s);
}

enum anser_status pth_stream_open(struct anser_pth *p, size_t i,
                                  struct pth_stream **out,
                                  struct anser_err *err)
{
	struct pth_stream *s;
	enum anser_status st;
	uint64_t es, first = 0, count = 0, bytes;

	*out = NULL;
	if (i >= p->n)
		return anser_errf(err, ANSER_E_ARG, "no tensor %zu", i);
	s = anser_calloc(1, sizeof(*s));
	if (!s)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	s->pth = p;
	s->info = &p->info[i];
	s->t = &p->t[i];
	es = anser_dtype_block_bytes(s->info->dtype);
	snprintf(s->entry, sizeof(s->entry), "storage of '%.40s'",
	         s->info->name);
	if (s->info->numel) {
		first = (uint64_t)s->t->offset;
		if (s->t->contiguous) {
			count = s->info->numel;
		} else {
			/* The elements the view touches lie in [offset, last]. */
			uint64_t last = first;
			for (int d = 0; d < s->info->ndim; d++)
				last += (uint64_t)(s->info->shape[d] - 1) *
				        (uint64_t)s->t->stride[d];
			count = last - first + 1;
		}
	}
	s->span_first = first;
	/* count <= storage numel (checked at open), so this is bounded by the
	 * file's real size. */
	bytes = s->t->contiguous ? CHUNK_BYTES : count * es;
	s->buf = anser_malloc((size_t)bytes);
	if (!s->buf) {
		pth_stream_close(s);
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	}
	s->zf = zip_fopen_index(p->za, s->t->zip_index, 0);
	if (!s->zf) {
		st = zip_fail(err, p->path, zip_get_error(p->za), s->entry);
		pth_stream_close(s);
		return st;
	}
	st = zip_skip_to(s->zf, first * es, p->path, s->entry, err);
	if (!st && !s->t->contiguous)
		st = zip_read_exact(s->zf, s->buf, count * es, p->path,
		                    s->entry, err);
	if (st) {
		pth_stream_close(s);
		return st;
	}
	*out = s;
	return ANSER_OK;
}

/* Storage element index of logical (row-major) element `pos` of the view. */
static uint64_t strided_index(const struct pth_stream *s, uint64_t pos)
{
	uint64_t idx = 0;

	for (int d = s->info->ndim - 1; d >= 0; d--) {
		uint64_t dim = (uint64_t)s->info->shape[d];
		idx += pos % dim * (uint64_t)s->t->stride[d];
		pos /= dim;
	}
	return (uint64_t)s->t->offset + idx - s->span_first;
}

enum anser_status pth_stream_read(struct pth_stream *s, enum anser_dtype to,
                                  void *dst, uint64_t n, uint64_t *overflow,
                                  struct anser_err *err)
{
	enum anser_dtype from = s->info->dtype;
	uint64_t es = anser_dtype_block_bytes(from);
	uint64_t os = anser_dtype_block_bytes(to);
	uint8_t *out = dst;
	enum anser_status st;

	if (to != ANSER_DTYPE_F32 && to != ANSER_DTYPE_F16 &&
	    to != ANSER_DTYPE_BF16)
		return anser_errf(err, ANSER_E_ARG, "cannot convert to %s",
		                  anser_dtype_name(to));
	if (from != ANSER_DTYPE_F32 && from != ANSER_DTYPE_F16 &&
	    from != ANSER_DTYPE_BF16 && from != ANSER_DTYPE_F64)
		return anser_errf(err, ANSER_E_UNSUPPORTED,
		                  "tensor '%s' holds %s values, not floats",
		                  s->info->name, anser_dtype_name(from));
	if (n > s->info->numel - s->done)
		return anser_errf(err, ANSER_E_ARG,
		                  "read past the end of tensor '%s'", s->info->name);
	if (!s->t->contiguous) {
		uint8_t tmp[8];
		for (uint64_t k = 0; k < n; k++) {
			uint64_t j = strided_index(s, s->done + k);
			memcpy(tmp, s->buf + j * es, es);
			*overflow += anser_convert_elems(from, tmp, to,
			                                 out + k * os, 1);
		}
		s->done += n;
		return ANSER_OK;
	}
	while (n) {
		uint64_t k = CHUNK_BYTES / es;
		if (k > n)
			k = n;
		st = zip_read_exact(s->zf, s->buf, k * es, s->pth->path,
		                    s->entry, err);
		if (st)
			return st;
		*overflow += anser_convert_elems(from, s->buf, to, out, k);
		out += k * os;
		s->done += k;
		n -= k;
	}
	/* When the tensor is its whole storage, read on to the entry's end:
	 * there libzip compares the data with the zip's CRC32. */
	if (s->done == s->info->numel && s->t->offset == 0 &&
	    s->info->numel == s->t->storage_numel &&
	    zip_fread(s->zf, s->buf, 1) < 0)
		return zip_fail(err, s->pth->path, zip_file_get_error(s->zf),
		                s->entry);
	return ANSER_OK;
}

enum anser_status anser_pth_read(struct anser_pth *p, size_t i,
                                 enum anser_dtype to, void *dst,
                                 size_t dst_bytes, struct anser_err *err)
{
	struct pth_stream *s;
	enum anser_status st;
	uint64_t need, overflow = 0;

	if (i >= p->n)
		return anser_errf(err, ANSER_E_ARG, "no tensor %zu", i);
	if (!anser_dtype_nbytes(to, p->info[i].numel, &need) ||
	    need != dst_bytes)
		return anser_errf(err, ANSER_E_ARG,
		                  "buffer of %zu bytes for tensor '%s' (%llu "
		                  "needed)", dst_bytes, p->info[i].name,
		                  (unsigned long long)need);
	if ((st = pth_stream_open(p, i, &s, err)))
		return st;
	st = pth_stream_read(s, to, dst, p->info[i].numel, &overflow, err);
	pth_stream_close(s);
	if (!st && overflow)
		st = anser_errf(err, ANSER_E_RANGE,
		                "tensor '%s': %llu values overflow %s", p->info[i].name,
		                (unsigned long long)overflow, anser_dtype_name(to));
	return st;
}

enum anser_status anser_pth_verify(struct anser_pth *p, struct anser_err *err)
{
	enum anser_status st = ANSER_OK;
	uint8_t *buf = anser_malloc(CHUNK_BYTES);
	zip_file_t *zf;
	zip_stat_t zs;

	if (!buf)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	/* libzip compares the CRC when an entry has been read to its end. */
	for (size_t i = 0; i < p->n && !st; i++) {
		const char *name = zip_get_name(p->za, p->t[i].zip_index, 0);
		uint64_t left;

		if (zip_stat_index(p->za, p->t[i].zip_index, 0, &zs)) {
			st = zip_fail(err, p->path, zip_get_error(p->za), name);
			break;
		}
		zf = zip_fopen_index(p->za, p->t[i].zip_index, 0);
		if (!zf) {
			st = zip_fail(err, p->path, zip_get_error(p->za), name);
			break;
		}
		for (left = zs.size; left && !st;) {
			uint64_t n = left < CHUNK_BYTES ? left : CHUNK_BYTES;
			st = zip_read_exact(zf, buf, n, p->path, name, err);
			left -= n;
		}
		if (!st && zip_fread(zf, buf, 1) < 0)
			st = zip_fail(err, p->path, zip_file_get_error(zf), name);
		zip_fclose(zf);
	}
	anser_free(buf);
	return st;
}
