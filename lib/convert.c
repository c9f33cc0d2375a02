/*
 * convert.c - .pth checkpoint (or native file) to native file: checks the
 * source, picks each tensor's type, records where it came from, and streams
 * its tensors through native_write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../formats/native.h"
#include "../formats/pth.h"
#include "dtype.h"
#include "meta.h"
#include "native_write.h"

struct job {
	struct anser_pth *pth;          /* the source: a checkpoint */
	struct anser_model *model;      /* or a native file */
	const struct anser_convert_opts *opts;
	struct anser_err *err;
	int dtype;                      /* asked for, or -1 */
	int head, emb;                  /* asked for, or -1 */
	enum anser_dtype pth_float;     /* a checkpoint's float type */
	enum anser_dtype *types;        /* [n]: each tensor's, by source index */
	char *vocab;
	size_t vocab_len;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int native_type(int t)
{
	return t >= ANSER_DTYPE_F32 && t <= ANSER_DTYPE_Q4_0;
}

static enum anser_status parse_type(struct job *j, const char *name,
                                    const char *what, int *out)
{
	*out = -1;
	if (!name)
		return ANSER_OK;
	*out = anser_dtype_parse(name);
	if (!native_type(*out))
		return anser_errf(j->err, ANSER_E_ARG,
		                  "unknown %s type '%s' (f32, f16, bf16, q8_0 or "
		                  "q4_0)", what, name);
	return ANSER_OK;
}

/* The types asked for, and a checkpoint's float type: the one that holds
 * all its tensors exactly. */
static enum anser_status pick_dtype(struct job *j)
{
	const struct anser_convert_opts *o = j->opts;
	int has[64] = { 0 };
	enum anser_status st;

	j->dtype = o ? o->dtype : -1;
	if (j->dtype >= 0 && !native_type(j->dtype))
		return anser_errf(j->err, ANSER_E_ARG,
		                  "cannot convert to %s (f32, f16, bf16, q8_0 or "
		                  "q4_0)", anser_dtype_name(j->dtype));
	if ((st = parse_type(j, o ? o->head_type : NULL, "head", &j->head)) ||
	    (st = parse_type(j, o ? o->emb_type : NULL, "embedding", &j->emb)))
		return st;
	if (!j->pth)
		return ANSER_OK;
	for (size_t i = 0; i < anser_pth_n_tensors(j->pth); i++)
		has[anser_pth_tensor(j->pth, i)->dtype & 63] = 1;
	if (has[ANSER_DTYPE_F64 & 63] && (j->dtype < 0 || dtype_is_quant(j->dtype)))
		return anser_errf(j->err, ANSER_E_UNSUPPORTED,
		                  "the checkpoint holds f64 tensors; choose a type "
		                  "with --type f32, f16 or bf16");
	/* Mixed half types widen to f32, which holds both exactly. */
	j->pth_float = has[ANSER_DTYPE_F32] || (has[ANSER_DTYPE_F16] &&
	                                        has[ANSER_DTYPE_BF16]) ?
	               ANSER_DTYPE_F32 : has[ANSER_DTYPE_F16] ? ANSER_DTYPE_F16 :
	               ANSER_DTYPE_BF16;
	return ANSER_OK;
}

/*
 * One tensor's output type (the rule is in anser.h, before struct
 * anser_convert_opts); `own` is its type in a native source, or the
 * checkpoint's float type.  A quantized tensor always has whole blocks per
 * row, so falling back to `own` never quantizes what cannot be.
 */
static enum anser_dtype type_for(const struct job *j,
                                 const struct anser_tensor_info *t,
                                 enum anser_dtype own)
{
	const int head = !strcmp(t->name, "head.weight");
	const int emb = !strcmp(t->name, "emb.weight");
	int want;

	if (head && j->head >= 0)
		want = j->head;
	else if (emb && j->emb >= 0)
		want = j->emb;
	else if (j->dtype < 0)
		return own;
	else
		return quant_default_type(t->name, t->ndim, t->shape[1],
		                          (enum anser_dtype)j->dtype, own);
	if (dtype_is_quant((enum anser_dtype)want) &&
	    (t->ndim != 2 || t->shape[1] % QBLOCK))
		return own;
	return (enum anser_dtype)want;
}

/* What the result reports: one type per group, or -1 when it is mixed. */
static void note_type(enum anser_dtype *slot, int *seen, enum anser_dtype t)
{
	if (!*seen)
		*slot = t;
	else if (*slot != t)
		*slot = (enum anser_dtype)-1;
	*seen = 1;
}

static enum anser_status plan_types(struct job *j,
                                    const struct anser_tensor_info *info,
                                    size_t n, struct anser_convert_result *r)
{
	int seen[4] = { 0 };

	j->types = anser_calloc(n ? n : 1, sizeof(*j->types));
	if (!j->types)
		return anser_errf(j->err, ANSER_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *name = info[i].name;
		enum anser_dtype t;
		t = j->types[i] = type_for(j, &info[i], j->model ? info[i].dtype :
		                                        j->pth_float);
		if (!strcmp(name, "head.weight"))
			note_type(&r->head_dtype, &seen[0], t);
		else if (!strcmp(name, "emb.weight"))
			note_type(&r->emb_dtype, &seen[1], t);
		else if (tensor_quantizable(name))
			note_type(&r->dtype, &seen[2], t);
		else
			note_type(&r->other_dtype, &seen[3], t);
	}
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

static void iso_time(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The .pth as a tensor source for native_write. */
static enum anser_status pth_open(void *ctx, size_t i, void **stream,
                                  struct anser_err *err)
{
	return pth_stream_open(ctx, i, (struct pth_stream **)stream, err);
}

static enum anser_status pth_read(void *stream, enum anser_dtype to, void *dst,
                                  uint64_t n, uint64_t *overflow,
                                  struct anser_err *err)
{
	return pth_stream_read(stream, to, dst, n, overflow, err);
}

static void pth_close(void *stream)
{
	pth_stream_close(stream);
}

/* A native file as a tensor source: each tensor read from the mapping,
 * converted chunk by chunk (chunks are whole blocks). */
struct native_stream {
	const struct anser_model *m;
	size_t i;
	uint64_t pos;     /* elements read so far */
};

static enum anser_status native_open(void *ctx, size_t i, void **stream,
                                     struct anser_err *err)
{
	struct native_stream *s = anser_malloc(sizeof(*s));

	if (!s)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	*s = (struct native_stream){ .m = ctx, .i = i };
	*stream = s;
	return ANSER_OK;
}

static enum anser_status native_read(void *stream, enum anser_dtype to,
                                     void *dst, uint64_t n, uint64_t *overflow,
                                     struct anser_err *err)
{
	struct native_stream *s = stream;
	const struct anser_tensor_info *t = anser_model_tensor(s->m, s->i);
	const uint8_t *p = anser_model_tensor_data(s->m, s->i, NULL);
	uint64_t skip = 0;

	if (s->pos + n > t->numel || (dtype_is_quant(t->dtype) &&
	                              (s->pos % QBLOCK || n % QBLOCK)) ||
	    !anser_dtype_nbytes(t->dtype, s->pos, &skip))
		return anser_errf(err, ANSER_E_ARG,
		                  "read past tensor '%s'", t->name);
	if (!dtype_is_quant(t->dtype)) {
		*overflow += anser_convert_elems(t->dtype, p + skip, to, dst, n);
	} else {
		/* Dequantized a piece at a time, then narrowed if asked. */
		struct qspan sp = quant_span(t->dtype, p, t->numel);
		size_t qb = quant_qbytes(t->dtype);
		float tmp[16 * QBLOCK];
		for (uint64_t i = 0; i < n; i += 16 * QBLOCK) {
			uint64_t k = (s->pos + i) / QBLOCK;
			size_t m = n - i < 16 * QBLOCK ? (size_t)(n - i) : 16 * QBLOCK;
			dequantize(t->dtype, sp.q + k * qb, sp.d + k, m / QBLOCK, tmp);
			*overflow += anser_convert_elems(ANSER_DTYPE_F32, tmp, to,
			                                 (uint8_t *)dst +
			                                 i * anser_dtype_block_bytes(to),
			                                 m);
		}
	}
	s->pos += n;
	return ANSER_OK;
}

static void native_close(void *stream)
{
	anser_free(stream);
}

/* The source's tensors and metadata into j, src and m. */
static enum anser_status open_source(struct job *j, const char *in,
                                     struct anser_hparams *hp,
                                     struct tensor_source *src,
                                     struct anser_tensor_info **infos)
{
	enum anser_file_kind kind;
	enum anser_status st;
	size_t n;

	if ((st = anser_file_kind(in, &kind, j->err)))
		return st;
	if (kind != ANSER_FILE_NATIVE) {
		if ((st = anser_pth_open(in, &j->pth, j->err)) ||
		    (st = anser_pth_hparams(j->pth, hp, j->err)))
			return st;
		*src = (struct tensor_source){
			.info = pth_infos(j->pth), .n = anser_pth_n_tensors(j->pth),
			.open = pth_open, .read = pth_read, .close = pth_close,
			.ctx = j->pth,
		};
		return ANSER_OK;
	}
	/* A native file: checked whole first, so no damage is copied on. */
	if ((st = anser_model_open(in, &j->model, j->err)) ||
	    (st = anser_model_verify(j->model, j->err)))
		return st;
	*hp = *anser_model_hparams(j->model);
	n = anser_model_n_tensors(j->model);
	*infos = anser_calloc(n, sizeof(**infos));
	if (!*infos)
		return anser_errf(j->err, ANSER_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		(*infos)[i] = *anser_model_tensor(j->model, i);
	*src = (struct tensor_source){
		.info = *infos, .n = n, .open = native_open, .read = native_read,
		.close = native_close, .ctx = j->model,
	};
	return ANSER_OK;
}

/* A native source's embedded vocab, carried over. */
static enum anser_status keep_vocab(struct job *j, char sha[65])
{
	size_t len;
	const char *v = anser_model_vocab(j->model, &len);

	if (!v)
		return ANSER_OK;
	j->vocab = anser_malloc(len + 1);
	if (!j->vocab)
		return anser_errf(j->err, ANSER_E_NOMEM, "out of memory");
	memcpy(j->vocab, v, len);
	j->vocab_len = len;
	snprintf(sha, 65, "%s", anser_model_meta(j->model)->vocab_sha256);
	return ANSER_OK;
}

enum anser_status anser_convert_pth(const char *in, const char *out,
                                    const struct anser_convert_opts *opts,
                                    struct anser_convert_result *res,
                                    struct anser_err *err)
{
	struct job j = { .opts = opts, .err = err };
	struct anser_convert_result r = { 0 };
	struct anser_hparams hp;
	char src_sha[65], vocab_sha[65] = "", created[32], tool[32];
	struct stat si, so;
	struct meta m;
	struct tensor_source src;
	struct anser_tensor_info *infos = NULL;
	struct native_write_opts wo;
	char *meta_json = NULL;
	uint64_t bytes = 0;
	enum anser_status st;
	double t0 = now();

	if ((st = open_source(&j, in, &hp, &src, &infos)))
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
	if ((st = pick_dtype(&j)) || (st = plan_types(&j, src.info, src.n, &r)))
		goto out;
	if (opts && opts->vocab)
		st = load_vocab(&j, opts->vocab, &hp, vocab_sha);
	else if (j.model && !(opts && opts->drop_vocab))
		st = keep_vocab(&j, vocab_sha);
	if (st)
		goto out;
	iso_time(created, sizeof(created));
	snprintf(tool, sizeof(tool), "anser %s", ANSER_VERSION);
	if (j.model) {
		/* The weights still come from the original checkpoint. */
		const struct anser_model_meta *sm = anser_model_meta(j.model);
		m = (struct meta){
			.source_file = (char *)sm->source_file,
			.source_sha256 = (char *)sm->source_sha256,
			.source_dtype = (char *)sm->source_dtype,
		};
	} else {
		if ((st = anser_sha256_file(in, src_sha, err)))
			goto out;
		m = (struct meta){
			.source_file = (char *)anser_basename(in),
			.source_sha256 = src_sha,
			.source_dtype = (char *)source_dtype(j.pth),
		};
	}
	m.hp = hp;
	m.architecture = "rwkv7";
	m.tokenizer = j.vocab ? "rwkv-world" : "none";
	m.vocab_sha256 = vocab_sha;
	m.created = created;
	m.tool = tool;
	meta_json = meta_encode(&m);
	if (!meta_json) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	wo = (struct native_write_opts){
		.dtypes = j.types, .meta_json = meta_json, .vocab = j.vocab,
		.vocab_len = j.vocab_len, .cancel = opts ? opts->cancel : NULL,
	};
	if ((st = native_write(out, &src, &wo, &bytes, err)))
		goto out;
	if (res) {
		r.hp = hp;
		r.n_tensors = src.n;
		r.out_bytes = bytes;
		r.seconds = now() - t0;
		*res = r;
	}
out:
	anser_free(meta_json);
	anser_free(j.vocab);
	anser_free(j.types);
	anser_free(infos);
	anser_pth_free(j.pth);
	anser_model_free(j.model);
	return st;
}
