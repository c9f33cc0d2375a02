/*
 * convert.c - .pth checkpoint to native file: checks the checkpoint, picks
 * the type, records where it came from, and streams its tensors through
 * native_write.
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
#include "meta.h"
#include "native_write.h"

struct job {
	struct anser_pth *pth;
	const struct anser_convert_opts *opts;
	struct anser_err *err;
	enum anser_dtype dtype;
	char *vocab;
	size_t vocab_len;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
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

enum anser_status anser_convert_pth(const char *in, const char *out,
                                    const struct anser_convert_opts *opts,
                                    struct anser_convert_result *res,
                                    struct anser_err *err)
{
	struct job j = { .opts = opts, .err = err };
	struct anser_hparams hp;
	char src_sha[65], vocab_sha[65] = "", created[32], tool[32];
	struct stat si, so;
	struct meta m;
	struct tensor_source src;
	struct native_write_opts wo;
	char *meta_json = NULL;
	uint64_t bytes = 0;
	enum anser_status st;
	double t0 = now();

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
	meta_json = meta_encode(&m);
	if (!meta_json) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	src = (struct tensor_source){
		.info = pth_infos(j.pth), .n = anser_pth_n_tensors(j.pth),
		.open = pth_open, .read = pth_read, .close = pth_close,
		.ctx = j.pth,
	};
	wo = (struct native_write_opts){
		.dtype = j.dtype, .meta_json = meta_json, .vocab = j.vocab,
		.vocab_len = j.vocab_len, .cancel = opts ? opts->cancel : NULL,
	};
	if ((st = native_write(out, &src, &wo, &bytes, err)))
		goto out;
	if (res) {
		res->hp = hp;
		res->dtype = j.dtype;
		res->n_tensors = src.n;
		res->out_bytes = bytes;
		res->seconds = now() - t0;
	}
out:
	anser_free(meta_json);
	anser_free(j.vocab);
	anser_pth_free(j.pth);
	return st;
}
