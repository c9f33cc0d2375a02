/*
 * state.c - the recurrent state of one sequence, and its file.
 *
 * Layout, per layer, all float32 (docs: rwkv7.md section 4):
 *   att_x[C]      ln1 output of the previous token
 *   wkv[H][N][N]  S, row = value channel i, column = key channel j
 *   ffn_x[C]      ln2 output of the previous token
 *
 * State file (anser-state.5 is not a page of its own; anser-run.1 documents
 * it).  Little-endian, a 128-byte header then the floats:
 *   0   8   magic "ANSERSTA"
 *   8   4   version (1)
 *   12  4   n_layer      16  4  n_embd     20  4  n_head     24  4  head_size
 *   28  4   reserved (0)
 *   32  32  sha256 of the checkpoint the model was converted from (raw bytes):
 *           the model's identity, the same whatever type it was stored in
 *   64  8   number of floats
 *   72  4   CRC32 of the floats
 *   76  48  reserved (0)
 *   124 4   CRC32 of bytes 0..123
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../formats/native.h"
#include "dtype.h"

#define STATE_MAGIC "ANSERSTA"
#define STATE_HEADER 128

struct anser_state {
	int n_layer, n_embd, n_head, head_size;
	uint8_t identity[32]; /* source checkpoint sha256, zero if unknown */
	size_t n;
	float *data;
};

float *state_floats(struct anser_state *s, size_t *n);

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	       c - 'a' + 10 : -1;
}

static void identity_of(const struct anser_model *m, uint8_t out[32])
{
	const char *hex = anser_model_meta(m)->source_sha256;

	memset(out, 0, 32);
	if (strlen(hex) != 64)
		return;
	for (int i = 0; i < 32; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			memset(out, 0, 32);
			return;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
}

enum anser_status anser_state_new(const struct anser_model *m,
                                  struct anser_state **out,
                                  struct anser_err *err)
{
	const struct anser_hparams *hp = anser_model_hparams(m);
	struct anser_state *s;

	*out = NULL;
	s = anser_calloc(1, sizeof(*s));
	if (!s)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	s->n_layer = hp->n_layer;
	s->n_embd = hp->n_embd;
	s->n_head = hp->n_head;
	s->head_size = hp->head_size;
	identity_of(m, s->identity);
	s->n = (size_t)hp->n_layer * (2 * (size_t)hp->n_embd +
	       (size_t)hp->n_head * (size_t)hp->head_size * (size_t)hp->head_size);
	s->data = anser_calloc(s->n, sizeof(float));
	if (!s->data) {
		anser_free(s);
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	}
	*out = s;
	return ANSER_OK;
}

void anser_state_free(struct anser_state *s)
{
	if (!s)
		return;
	anser_free(s->data);
	anser_free(s);
}

void anser_state_reset(struct anser_state *s)
{
	memset(s->data, 0, s->n * sizeof(float));
}

enum anser_status anser_state_copy(struct anser_state *dst,
                                   const struct anser_state *src,
                                   struct anser_err *err)
{
	if (dst->n != src->n || dst->n_layer != src->n_layer ||
	    dst->n_embd != src->n_embd)
		return anser_errf(err, ANSER_E_ARG,
		                  "states of different model shapes");
	memcpy(dst->data, src->data, src->n * sizeof(float));
	return ANSER_OK;
}

float *anser_state_data(struct anser_state *s, size_t *n_floats)
{
	if (n_floats)
		*n_floats = s->n;
	return s->data;
}

float *state_floats(struct anser_state *s, size_t *n)
{
	return anser_state_data(s, n);
}

/* ----------------------------------------------------------- files */

enum anser_status anser_state_save(const struct anser_state *s,
                                   const char *path, struct anser_err *err)
{
	uint8_t h[STATE_HEADER] = { 0 };
	size_t len = strlen(path);
	char *tmp = anser_malloc(len + 16);
	enum anser_status st = ANSER_OK;
	const uint8_t *p = (const uint8_t *)s->data;
	size_t left = s->n * sizeof(float);
	int fd;

	if (!tmp)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	memcpy(h, STATE_MAGIC, 8);
	wr_u32(h + 8, 1);
	wr_u32(h + 12, (uint32_t)s->n_layer);
	wr_u32(h + 16, (uint32_t)s->n_embd);
	wr_u32(h + 20, (uint32_t)s->n_head);
	wr_u32(h + 24, (uint32_t)s->head_size);
	memcpy(h + 32, s->identity, 32);
	wr_u64(h + 64, (uint64_t)s->n);
	wr_u32(h + 72, native_crc32(s->data, s->n * sizeof(float)));
	wr_u32(h + 124, native_crc32(h, 124));
	/* Written beside the target, then renamed: never half a state file. */
	snprintf(tmp, len + 16, "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		st = anser_errno(err, "cannot create a file beside '%s'", path);
		goto out;
	}
	if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h))
		st = anser_errno(err, "cannot write '%s'", tmp);
	while (!st && left) {
		ssize_t w = write(fd, p, left > (1u << 30) ? (1u << 30) : left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			st = anser_errno(err, "cannot write '%s'", tmp);
		else {
			p += w;
			left -= (size_t)w;
		}
	}
	if (!st && (fchmod(fd, 0644) || fsync(fd)))
		st = anser_errno(err, "cannot write '%s'", tmp);
	if (close(fd) && !st)
		st = anser_errno(err, "cannot write '%s'", tmp);
	if (!st && rename(tmp, path))
		st = anser_errno(err, "cannot rename '%s' to '%s'", tmp, path);
	if (st)
		unlink(tmp);
out:
	anser_free(tmp);
	return st;
}

static enum anser_status load_native(struct anser_state *s, const char *path,
                                     struct anser_err *err)
{
	static const uint8_t zero[32];
	uint8_t h[STATE_HEADER];
	enum anser_status st = ANSER_OK;
	struct stat sb;
	ssize_t got;
	float *buf = NULL;
	uint64_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return anser_errno(err, "cannot open state '%s'", path);
	if (fstat(fd, &sb) || read(fd, h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    memcmp(h, STATE_MAGIC, 8)) {
		st = anser_errf(err, ANSER_E_FORMAT,
		                "'%s' is not an anser state file", path);
		goto out;
	}
	if (rd_u32(h + 124) != native_crc32(h, 124)) {
		st = anser_errf(err, ANSER_E_CHECKSUM,
		                "state '%s' is corrupt (header checksum)", path);
		goto out;
	}
	if (rd_u32(h + 8) != 1) {
		st = anser_errf(err, ANSER_E_UNSUPPORTED,
		                "state '%s' has version %u; this anser reads 1",
		                path, rd_u32(h + 8));
		goto out;
	}
	if ((int)rd_u32(h + 12) != s->n_layer || (int)rd_u32(h + 16) != s->n_embd ||
	    (int)rd_u32(h + 20) != s->n_head || (int)rd_u32(h + 24) != s->head_size) {
		st = anser_errf(err, ANSER_E_ARG,
		                "state '%s' is for a model of %u layers x %u, not "
		                "this one (%d x %d)", path, rd_u32(h + 12),
		                rd_u32(h + 16), s->n_layer, s->n_embd);
		goto out;
	}
	if (memcmp(h + 32, s->identity, 32) && memcmp(h + 32, zero, 32) &&
	    memcmp(s->identity, zero, 32)) {
		char a[65], b[65];
		anser_hex(h + 32, 32, a);
		anser_hex(s->identity, 32, b);
		st = anser_errf(err, ANSER_E_ARG,
		                "state '%s' belongs to another model (converted "
		                "from sha256 %.12s..., this one is from %.12s...)",
		                path, a, b);
		goto out;
	}
	n = rd_u64(h + 64);
	if (n != s->n || (uint64_t)sb.st_size != STATE_HEADER + n * 4) {
		st = anser_errf(err, ANSER_E_FORMAT,
		                "state '%s' has the wrong size (truncated?)", path);
		goto out;
	}
	buf = anser_malloc(s->n * sizeof(float));
	if (!buf) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	got = read(fd, buf, s->n * sizeof(float));
	if (got != (ssize_t)(s->n * sizeof(float))) {
		st = anser_errno(err, "cannot read state '%s'", path);
		goto out;
	}
	if (native_crc32(buf, s->n * sizeof(float)) != rd_u32(h + 72)) {
		st = anser_errf(err, ANSER_E_CHECKSUM,
		                "state '%s' is corrupt (CRC mismatch)", path);
		goto out;
	}
	memcpy(s->data, buf, s->n * sizeof(float));
out:
	anser_free(buf);
	close(fd);
	return st;
}

/*
 * A state-tuning .pth: blocks.i.att.time_state of shape (H, N, N) per layer
 * gives the initial wkv; the token-shift parts start at zero.  time_state is
 * stored (head, key j, value i): the official loaders (ChatRWKV and the
 * RWKV-7 demos) transpose its last two axes into the state, and so do we.
 */
static enum anser_status load_pth(struct anser_state *s, const char *path,
                                  struct anser_err *err)
{
	struct anser_pth *p;
	struct anser_hparams hp;
	enum anser_status st;
	float *tmp = NULL;
	const size_t C = (size_t)s->n_embd;
	const size_t HNN = (size_t)s->n_head * (size_t)s->head_size *
	                   (size_t)s->head_size;

	if ((st = anser_pth_open(path, &p, err)))
		return st;
	if ((st = anser_pth_hparams(p, &hp, err)))
		goto out;
	if (hp.kind != ANSER_KIND_STATE) {
		st = anser_errf(err, ANSER_E_FORMAT, "'%s' is a model, not a "
		                "state file", path);
		goto out;
	}
	if (hp.n_layer != s->n_layer || hp.n_head != s->n_head ||
	    hp.head_size != s->head_size) {
		st = anser_errf(err, ANSER_E_ARG,
		                "state '%s' is for %d layers of %d x %d heads, not "
		                "this model (%d layers of %d x %d)", path,
		                hp.n_layer, hp.n_head, hp.head_size, s->n_layer,
		                s->n_head, s->head_size);
		goto out;
	}
	tmp = anser_malloc(HNN * sizeof(float));
	if (!tmp) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	anser_state_reset(s);
	for (int i = 0; i < s->n_layer && !st; i++) {
		const size_t N = (size_t)s->head_size;
		float *S = s->data + (size_t)i * (2 * C + HNN) + C;
		char name[64];
		long k;
		snprintf(name, sizeof(name), "blocks.%d.att.time_state", i);
		k = anser_pth_find(p, name);
		st = anser_pth_read(p, (size_t)k, ANSER_DTYPE_F32, tmp,
		                    HNN * sizeof(float), err);
		for (size_t h = 0; !st && h < (size_t)s->n_head; h++)
			for (size_t a = 0; a < N; a++)
				for (size_t b = 0; b < N; b++)
					S[(h * N + a) * N + b] = tmp[(h * N + b) * N + a];
	}
out:
	anser_free(tmp);
	anser_pth_free(p);
	return st;
}

enum anser_status anser_state_load(struct anser_state *s, const char *path,
                                   struct anser_err *err)
{
	enum anser_file_kind kind;
	enum anser_status st;

	if ((st = anser_file_kind(path, &kind, err)))
		return st;
	if (kind == ANSER_FILE_PTH)
		return load_pth(s, path, err);
	return load_native(s, path, err);
}
