/*
 * convert.c - .pth checkpoint to native file.
 *
 * The layout is planned first (every size follows from the shapes), then each
 * tensor is streamed from the zip in chunks, converted, checksummed and
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
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "../formats/native.h"
#include "../formats/pth.h"
#include "meta.h"

#define CHUNK_ELEMS (1u << 20)

struct job {
	struct anser_pth *pth;
	const struct anser_convert_opts *opts;
	struct anser_err *err;
	enum anser_dtype dtype;
	struct native_tensor *t;   /* [n], in output order */
	size_t *src;               /* [n]: index of each in the .pth */
	size_t n;
	struct native_header h;
	char *meta;
	char *vocab;
	size_t vocab_len;
	int fd;
	const char *tmp;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

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

/* The output type when the caller did not pick one: the source's own. */
static enum anser_status pick_dtype(struct job *j)
{
	size_t n = anser_pth_n_tensors(j->pth);
	int has[64] = { 0 };

	if (j->opts && j->opts->dtype >= 0) {
		if (j->opts->dtype != ANSER_DTYPE_F32 &&
		    j->opts->dtype != ANSER_DTYPE_F16 &&
		    j->opts->dtype != ANSER_DTYPE_BF16)
			return anser_errf(j->err, ANSER_E_ARG,
			                  "cannot convert to %s (f32, f16 or bf16)",
			                  anser_dtype_name(j->opts->dtype));
		j->dtype = (enum anser_dtype)j->opts->dtype;
		return ANSER_OK;
	}
	for (size_t i = 0; i < n; i++)
		has[anser_pth_tensor(j->pth, i)->dtype & 63] = 1;
	if (has[ANSER_DTYPE_F64 & 63])
		return anser_errf(j->err, ANSER_E_UNSUPPORTED,
		                  "the checkpoint holds f64 tensors; choose a type "
		                  "with --type f32, f16 or bf16");
	/* Mixed half types widen to f32, which holds both exactly. */
	j->dtype = has[ANSER_DTYPE_F32] || (has[ANSER_DTYPE_F16] &&
	                                    has[ANSER_DTYPE_BF16]) ?
	           ANSER_DTYPE_F32 : has[ANSER_DTYPE_F16] ? ANSER_DTYPE_F16 :
	           ANSER_DTYPE_BF16;
	return ANSER_OK;
}

static const char *source_dtype(const struct anser_pth *pth)
{
	enum anser_dtype d = anser_pth_tensor(pth, 0)->dtype;

	for (size_t i = 1; i < anser_pth_n_tensors(pth); i++)
		if (anser_pth_tensor(pth, i)->dtype != d)
			return "mixed";
	return anser_dtype_name(d);
}

static enum anser_status load_vocab(struct job *j, const char *path,
                                    const struct anser_hparams *hp,
                                    char sha[65])
{
	struct anser_sha256 s;
	uint8_t digest[32];
	enum anser_status st;
	struct stat sb;
	int n_tokens, fd;
	ssize_t got;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return anser_errno(j->err, "cannot open vocab '%s'", path);
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > NATIVE_MAX_VOCAB) {
		close(fd);
		return anser_errf(j->err, ANSER_E_FORMAT,
		                  "vocab '%s' is not a regular file of at most %u "
		                  "bytes", path, NATIVE_MAX_VOCAB);
	}
	j->vocab = anser_malloc((size_t)sb.st_size + 1);
	if (!j->vocab) {
		close(fd);
		return anser_errf(j->err, ANSER_E_NOMEM, "out of memory");
	}
	got = read(fd, j->vocab, (size_t)sb.st_size);
	close(fd);
	if (got != sb.st_size)
		return anser_errno(j->err, "cannot read vocab '%s'", path);
	j->vocab_len = (size_t)got;
	st = anser_vocab_check(j->vocab, j->vocab_len, &n_tokens, j->err);
	if (st)
		return anser_err_prefix(j->err, st, "'%s'", path);
	if (n_tokens >= hp->vocab_size)
		return anser_errf(j->err, ANSER_E_SHAPE,
		                  "vocab '%s' has %d tokens but the model's embedding "
		                  "has %d rows: wrong vocab, or use --no-vocab", path,
		                  n_tokens, hp->vocab_size);
	anser_sha256_init(&s);
	anser_sha256_update(&s, j->vocab, j->vocab_len);
	anser_sha256_final(&s, digest);
	anser_hex(digest, 32, sha);
	return ANSER_OK;
}

/* Sizes and offsets of everything, before a byte is written. */
static enum anser_status plan(struct job *j)
{
	const struct anser_tensor_info *info = pth_infos(j->pth);
	struct order *ord;
	uint64_t off;

	j->n = anser_pth_n_tensors(j->pth);
	j->t = anser_calloc(j->n, sizeof(*j->t));
	j->src = anser_calloc(j->n, sizeof(*j->src));
	if (!j->t || !j->src)
		return anser_errf(j->err, ANSER_E_NOMEM, "out of memory");
	/* A fixed order, whatever the checkpoint's key order: emb first, then
	 * layer by layer, so a forward pass walks the file front to back. */
	ord = anser_calloc(j->n, sizeof(*ord));
	if (!ord)
		return anser_errf(j->err, ANSER_E_NOMEM, "out of memory");
	for (size_t i = 0; i < j->n; i++)
		ord[i] = (struct order){ order_key(info[i].name), info[i].name, i };
	qsort(ord, j->n, sizeof(*ord), by_layer_then_name);
	for (size_t i = 0; i < j->n; i++)
		j->src[i] = ord[i].src;
	anser_free(ord);
	j->h.version = NATIVE_VERSION;
	j->h.n_tensors = (uint32_t)j->n;
	j->h.meta_off = NATIVE_HEADER_SIZE;
	j->h.meta_size = strlen(j->meta);
	j->h.vocab_off = j->vocab ? j->h.meta_off + j->h.meta_size : 0;
	j->h.vocab_size = j->vocab_len;
	j->h.index_off = j->h.meta_off + j->h.meta_size + j->h.vocab_size;
	j->h.index_size = (uint64_t)j->n * NATIVE_ENTRY_SIZE;
	j->h.data_off = align_up64(j->h.index_off + j->h.index_size,
	                           NATIVE_ALIGN);
	off = j->h.data_off;
	for (size_t k = 0; k < j->n; k++) {
		struct native_tensor *t = &j->t[k];
		const struct anser_tensor_info *s = &info[j->src[k]];

		if (strlen(s->name) > NATIVE_NAME_MAX)
			return anser_errf(j->err, ANSER_E_UNSUPPORTED,
			                  "tensor name '%s' is longer than %d bytes",
			                  s->name, NATIVE_NAME_MAX);
		t->info = *s;
		t->info.dtype = j->dtype;
		if (!anser_dtype_nbytes(j->dtype, s->numel, &t->nbytes))
			return anser_errf(j->err, ANSER_E_SHAPE,
			                  "tensor '%s' cannot be stored as %s", s->name,
			                  anser_dtype_name(j->dtype));
		t->offset = off;
		off = align_up64(off + t->nbytes, NATIVE_ALIGN);
	}
	j->h.data_size = off - j->h.data_off;
	j->h.file_size = off;
	return ANSER_OK;
}

static enum anser_status write_tensor(struct job *j, size_t k, void *buf)
{
	struct native_tensor *t = &j->t[k];
	struct pth_stream *s;
	enum anser_status st;
	uint64_t left = t->info.numel, off = t->offset, overflow = 0;
	size_t es = anser_dtype_block_bytes(j->dtype);
	uLong crc = crc32(0L, Z_NULL, 0);

	if ((st = pth_stream_open(j->pth, j->src[k], &s, j->err)))
		return st;
	while (left && !st) {
		uint64_t n = left < CHUNK_ELEMS ? left : CHUNK_ELEMS;
		if (j->opts && j->opts->cancel && *j->opts->cancel) {
			st = anser_errf(j->err, ANSER_E_CANCELLED, "interrupted");
			break;
		}
		st = pth_stream_read(s, j->dtype, buf, n, &overflow, j->err);
		if (!st)
			st = write_at(j, buf, n * es, off);
		crc = crc32(crc, buf, (uInt)(n * es));
		off += n * es;
		left -= n;
	}
	pth_stream_close(s);
	if (!st && overflow)
		st = anser_errf(j->err, ANSER_E_RANGE,
		                "tensor '%s': %llu values overflow %s; choose a wider "
		                "--type", t->info.name,
		                (unsigned long long)overflow,
		                anser_dtype_name(j->dtype));
	t->crc = (uint32_t)crc;
	return st;
}

static enum anser_status write_all(struct job *j)
{
	uint8_t hdr[NATIVE_HEADER_SIZE], *index = NULL;
	enum anser_status st = ANSER_OK;
	void *buf;
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
	index = anser_calloc(j->n ? j->n : 1, NATIVE_ENTRY_SIZE);
	if (!buf || !index) {
		st = anser_errf(j->err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < j->n && !st; k++)
		st = write_tensor(j, k, buf);
	if (st)
		goto out;
	for (size_t k = 0; k < j->n; k++)
		native_entry_encode(&j->t[k], j->h.data_off,
		                    index + k * NATIVE_ENTRY_SIZE);
	j->h.meta_crc = native_crc32(j->meta, j->h.meta_size);
	j->h.vocab_crc = j->vocab ? native_crc32(j->vocab, j->vocab_len) : 0;
	j->h.index_crc = native_crc32(index, j->h.index_size);
	native_header_encode(&j->h, hdr);
	if ((st = write_at(j, j->meta, j->h.meta_size, j->h.meta_off)) ||
	    (j->vocab && (st = write_at(j, j->vocab, j->vocab_len,
	                                j->h.vocab_off))) ||
	    (st = write_at(j, index, j->h.index_size, j->h.index_off)) ||
	    (st = write_at(j, hdr, sizeof(hdr), 0)))
		goto out;
	if (fsync(j->fd))
		st = anser_errno(j->err, "cannot sync '%s'", j->tmp);
out:
	anser_free(buf);
	anser_free(index);
	return st;
}

static void iso_time(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
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

enum anser_status anser_convert_pth(const char *in, const char *out,
                                    const struct anser_convert_opts *opts,
                                    struct anser_convert_result *res,
                                    struct anser_err *err)
{
	struct job j = { .opts = opts, .err = err, .fd = -1 };
	struct anser_hparams hp;
	char src_sha[65], vocab_sha[65] = "", created[32], tool[32];
	char *tmp = NULL, *dir = NULL;
	struct stat si, so;
	struct meta m;
	enum anser_status st;
	double t0 = now();
	mode_t mask;

	if ((st = anser_pth_open(in, &j.pth, err)))
		return st;
	if ((st = anser_pth_hparams(j.pth, &hp, err)))
		goto out;
	if (hp.kind != ANSER_KIND_MODEL) {
		st = anser_errf(err, ANSER_E_UNSUPPORTED,
		                "'%s' is an RWKV-7 state file (time_state only), not "
		                "a model; load it with 'anser run --state-in'", in);
		goto out;
	}
	if (!stat(in, &si) && !stat(out, &so) && si.st_dev == so.st_dev &&
	    si.st_ino == so.st_ino) {
		st = anser_errf(err, ANSER_E_ARG,
		                "output '%s' is the input file", out);
		goto out;
	}
	if ((st = pick_dtype(&j)))
		goto out;
	if (opts && opts->vocab &&
	    (st = load_vocab(&j, opts->vocab, &hp, vocab_sha)))
		goto out;
	if ((st = anser_sha256_file(in, src_sha, err)))
		goto out;
	iso_time(created, sizeof(created));
	snprintf(tool, sizeof(tool), "anser %s", ANSER_VERSION);
	m = (struct meta){
		.hp = hp,
		.architecture = "rwkv7",
		.tokenizer = j.vocab ? "rwkv-world" : "none",
		.vocab_sha256 = vocab_sha,
		.source_file = (char *)anser_basename(in),
		.source_sha256 = src_sha,
		.source_dtype = (char *)source_dtype(j.pth),
		.created = created,
		.tool = tool,
	};
	j.meta = meta_encode(&m);
	if (!j.meta) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
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
	if (res) {
		res->hp = hp;
		res->dtype = j.dtype;
		res->n_tensors = j.n;
		res->out_bytes = j.h.file_size;
		res->seconds = now() - t0;
	}
out:
	if (j.fd >= 0) {
		close(j.fd);
		unlink(tmp);
	}
	anser_free(tmp);
	anser_free(dir);
	anser_free(j.meta);
	anser_free(j.vocab);
	anser_free(j.t);
	anser_free(j.src);
	anser_pth_free(j.pth);
	return st;
}
