/*
 * randmodel.c - an RWKV-7 model with random weights, written straight to a
 * native file: for benchmarks (the 0.1B and 1.5B shapes) and tests, without
 * PyTorch or a checkpoint.
 *
 * Values are deterministic in (seed, tensor name) and scaled so that a
 * forward pass stays finite and well-conditioned: LayerNorm weights near 1,
 * mixing factors in [0, 1), matrices uniform with standard deviation about
 * 1 / sqrt(fan-in).
 */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "dtype.h"
#include "meta.h"
#include "native_write.h"
#include "quant.h"

#define MAX_TENSORS (4 + 40 * 1024)

struct rand_model {
	struct anser_tensor_info *info;
	char (*names)[64];
	size_t n;
	uint64_t seed;
};

struct rand_stream {
	uint64_t s;      /* xorshift64* state */
	float lo, hi;    /* uniform range */
	float buf[4096];
};

static void add(struct rand_model *m, const char *name, int ndim, int64_t d0,
                int64_t d1, int64_t d2)
{
	struct anser_tensor_info *t = &m->info[m->n];

	snprintf(m->names[m->n], sizeof(m->names[0]), "%s", name);
	t->name = m->names[m->n];
	t->dtype = ANSER_DTYPE_F32;
	t->ndim = ndim;
	t->shape[0] = d0;
	t->shape[1] = d1;
	t->shape[2] = d2;
	anser_shape_numel(ndim, t->shape, &t->numel);
	m->n++;
}

static void build(struct rand_model *m, const struct anser_hparams *hp)
{
	const int64_t C = hp->n_embd, V = hp->vocab_size, F = hp->ffn_size;
	char n[64];

	add(m, "emb.weight", 2, V, C, 0);
	add(m, "blocks.0.ln0.weight", 1, C, 0, 0);
	add(m, "blocks.0.ln0.bias", 1, C, 0, 0);
	for (int i = 0; i < hp->n_layer; i++) {
		static const char *const vecs[] = {
			"att.x_r", "att.x_w", "att.x_k", "att.x_v", "att.x_a",
			"att.x_g", "att.w0", "att.a0", "att.k_k", "att.k_a",
			"ffn.x_k", "att.v0",
		};
		static const char *const norms[] = { "ln1", "ln2", "att.ln_x" };
		static const char *const mats[] = {
			"receptance", "key", "value", "output",
		};
		const struct { const char *a, *b; int r; } loras[] = {
			{ "w1", "w2", hp->lora_decay }, { "a1", "a2", hp->lora_iclr },
			{ "g1", "g2", hp->lora_gate }, { "v1", "v2", hp->lora_value },
		};
		for (size_t k = 0; k < ARRAY_SIZE(vecs); k++) {
			if (i == 0 && k == ARRAY_SIZE(vecs) - 1)
				break; /* no v0 in layer 0 */
			snprintf(n, sizeof(n), "blocks.%d.%s", i, vecs[k]);
			add(m, n, 3, 1, 1, C);
		}
		for (size_t k = 0; k < ARRAY_SIZE(norms); k++) {
			snprintf(n, sizeof(n), "blocks.%d.%s.weight", i, norms[k]);
			add(m, n, 1, C, 0, 0);
			snprintf(n, sizeof(n), "blocks.%d.%s.bias", i, norms[k]);
			add(m, n, 1, C, 0, 0);
		}
		snprintf(n, sizeof(n), "blocks.%d.att.r_k", i);
		add(m, n, 2, hp->n_head, hp->head_size, 0);
		for (size_t k = 0; k < ARRAY_SIZE(mats); k++) {
			snprintf(n, sizeof(n), "blocks.%d.att.%s.weight", i, mats[k]);
			add(m, n, 2, C, C, 0);
		}
		for (size_t k = 0; k < ARRAY_SIZE(loras); k++) {
			if (i == 0 && k == 3)
				break;
			snprintf(n, sizeof(n), "blocks.%d.att.%s", i, loras[k].a);
			add(m, n, 2, C, loras[k].r, 0);
			snprintf(n, sizeof(n), "blocks.%d.att.%s", i, loras[k].b);
			add(m, n, 2, loras[k].r, C, 0);
		}
		snprintf(n, sizeof(n), "blocks.%d.ffn.key.weight", i);
		add(m, n, 2, F, C, 0);
		snprintf(n, sizeof(n), "blocks.%d.ffn.value.weight", i);
		add(m, n, 2, C, F, 0);
	}
	add(m, "ln_out.weight", 1, C, 0, 0);
	add(m, "ln_out.bias", 1, C, 0, 0);
	add(m, "head.weight", 2, V, C, 0);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* The range of uniform values for a tensor, by its role. */
static void range_of(const struct anser_tensor_info *t, float *lo, float *hi)
{
	const char *n = t->name;

	if (ends_with(n, "ln0.weight") || ends_with(n, "ln1.weight") ||
	    ends_with(n, "ln2.weight") || ends_with(n, "ln_x.weight") ||
	    ends_with(n, "ln_out.weight")) {
		*lo = 0.8f;
		*hi = 1.2f;
	} else if (ends_with(n, ".bias")) {
		*lo = -0.1f;
		*hi = 0.1f;
	} else if (strstr(n, ".x_")) {
		*lo = 0.0f;
		*hi = 1.0f;
	} else if (ends_with(n, ".k_k") || ends_with(n, ".k_a")) {
		*lo = 0.5f;
		*hi = 1.0f;
	} else if (t->ndim == 3 || ends_with(n, ".r_k")) {
		*lo = -0.5f;
		*hi = 0.5f;
	} else if (!strcmp(n, "emb.weight")) {
		*lo = -1.0f;
		*hi = 1.0f;
	} else {
		/* Uniform on [-a, a] has sd a / sqrt(3): aim for 1 / sqrt(in). */
		float a = sqrtf(3.0f / (float)t->shape[1]);
		*lo = -a;
		*hi = a;
	}
}

static enum anser_status r_open(void *ctx, size_t i, void **stream,
                                struct anser_err *err)
{
	struct rand_model *m = ctx;
	struct rand_stream *s = anser_calloc(1, sizeof(*s));
	uint64_t h = m->seed * 0x9e3779b97f4a7c15ull + 1;

	if (!s)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	for (const char *p = m->info[i].name; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	s->s = h | 1;
	range_of(&m->info[i], &s->lo, &s->hi);
	*stream = s;
	return ANSER_OK;
}

static enum anser_status r_read(void *stream, enum anser_dtype to, void *dst,
                                uint64_t n, uint64_t *overflow,
                                struct anser_err *err)
{
	struct rand_stream *s = stream;
	size_t es = anser_dtype_block_bytes(to);
	uint8_t *out = dst;
	(void)err;

	while (n) {
		size_t k = n < ARRAY_SIZE(s->buf) ? (size_t)n : ARRAY_SIZE(s->buf);
		for (size_t i = 0; i < k; i++) {
			s->s ^= s->s >> 12;
			s->s ^= s->s << 25;
			s->s ^= s->s >> 27;
			double u = (double)((s->s * 0x2545f4914f6cdd1dull) >> 11) *
			           0x1p-53;
			s->buf[i] = s->lo + (float)u * (s->hi - s->lo);
		}
		*overflow += anser_convert_elems(ANSER_DTYPE_F32, s->buf, to, out,
		                                 k);
		out += k * es;
		n -= k;
	}
	return ANSER_OK;
}

static void r_close(void *stream)
{
	anser_free(stream);
}

enum anser_status anser_random_model(const char *path,
                                     const struct anser_hparams *hp,
                                     enum anser_dtype dtype, uint64_t seed,
                                     struct anser_err *err)
{
	struct rand_model m = { .seed = seed };
	struct anser_hparams h = *hp;
	struct tensor_source src;
	struct native_write_opts wo;
	char sha[65], created[32], tool[32];
	struct meta meta;
	char *json = NULL;
	enum anser_status st;
	time_t now = time(NULL);
	struct tm tm;
	enum anser_dtype *types = NULL;

	if (hp->n_layer < 1 || hp->n_layer > 1024 || hp->head_size < 1 ||
	    hp->n_embd % hp->head_size || hp->vocab_size < 1)
		return anser_errf(err, ANSER_E_ARG, "impossible model shape");
	m.info = anser_calloc(MAX_TENSORS, sizeof(*m.info));
	m.names = anser_calloc(MAX_TENSORS, sizeof(*m.names));
	if (!m.info || !m.names) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	h.n_head = hp->n_embd / hp->head_size;
	build(&m, &h);
	h.layer0_v = 0;
	h.n_params = 0;
	for (size_t i = 0; i < m.n; i++)
		h.n_params += m.info[i].numel;
	/* The identity of generated weights: their recipe, hashed. */
	{
		char recipe[256];
		struct anser_sha256 s;
		uint8_t d[32];
		snprintf(recipe, sizeof(recipe), "random L%d C%d V%d F%d %d/%d/%d/%d seed %llu",
		         h.n_layer, h.n_embd, h.vocab_size, h.ffn_size, h.lora_decay,
		         h.lora_iclr, h.lora_value, h.lora_gate,
		         (unsigned long long)seed);
		anser_sha256_init(&s);
		anser_sha256_update(&s, recipe, strlen(recipe));
		anser_sha256_final(&s, d);
		anser_hex(d, 32, sha);
	}
	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(tool, sizeof(tool), "anser %s", ANSER_VERSION);
	meta = (struct meta){
		.hp = h, .architecture = "rwkv7", .tokenizer = "none",
		.vocab_sha256 = "", .source_file = "(random weights)",
		.source_sha256 = sha, .source_dtype = "f32", .created = created,
		.tool = tool,
	};
	json = meta_encode(&meta);
	if (!json) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	src = (struct tensor_source){ .info = m.info, .n = m.n, .open = r_open,
	                              .read = r_read, .close = r_close,
	                              .ctx = &m };
	wo = (struct native_write_opts){ .dtype = dtype, .meta_json = json };
	if (dtype_is_quant(dtype)) {
		/* As 'anser convert -t' would make it from a bf16 file. */
		types = anser_calloc(m.n, sizeof(*types));
		if (!types) {
			st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < m.n; i++)
			types[i] = quant_default_type(m.info[i].name,
			                              m.info[i].ndim,
			                              m.info[i].shape[1], dtype,
			                              ANSER_DTYPE_BF16);
		wo.dtypes = types;
	}
	st = native_write(path, &src, &wo, NULL, err);
out:
	anser_free(types);
	anser_free(json);
	anser_free(m.info);
	anser_free(m.names);
	return st;
}
