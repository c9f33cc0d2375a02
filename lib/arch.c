/*
 * arch.c - what a set of tensors is: RWKV-7 (and its hyperparameters), an
 * RWKV-7 state-tuning file, an older RWKV, or something else.
 *
 * Checkpoints store no configuration, so everything comes from names and
 * shapes (docs: rwkv7.md section 1).  The ranks of the four LoRAs differ
 * between releases and are taken from the tensors, never computed from C.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "quant.h"

#define MAX_LAYERS 4096

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static int any_contains(const struct anser_tensor_info *t, size_t n,
                        const char *part)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(t[i].name, part))
			return 1;
	return 0;
}

/* Parses "blocks.<i>.<rest>": returns i and points *rest past the dot, or -1. */
static int block_index(const char *name, const char **rest)
{
	long i = 0;
	const char *p;

	if (strncmp(name, "blocks.", 7))
		return -1;
	p = name + 7;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		i = i * 10 + (*p - '0');
		if (i >= MAX_LAYERS)
			return -1;
	}
	if (*p != '.')
		return -1;
	*rest = p + 1;
	return (int)i;
}

const char *anser_arch_detect(const struct anser_tensor_info *t, size_t n)
{
	size_t states = 0;

	for (size_t i = 0; i < n; i++)
		if (has_suffix(t[i].name, ".att.time_state"))
			states++;
	if (states && states == n)
		return "rwkv7-state";
	if (any_contains(t, n, ".att.time_maa_x") ||
	    any_contains(t, n, ".att.time_decay_w1"))
		return "rwkv6";
	if (any_contains(t, n, ".att.time_faaaa"))
		return "rwkv5";
	if (any_contains(t, n, ".att.time_first") ||
	    any_contains(t, n, ".att.time_mix_k"))
		return "rwkv4";
	if (any_contains(t, n, ".ffn.s_emb") || any_contains(t, n, ".ffn.s0"))
		return "rwkv7-deepembed";
	if (any_contains(t, n, ".att.r_k") && any_contains(t, n, "emb.weight"))
		return "rwkv7";
	return "unknown";
}

/* ----------------------------------------------------------- shape checks */

struct checker {
	const struct anser_tensor_info *t;
	size_t n;
	unsigned char *seen; /* [n] */
	struct anser_err *err;
};

static long find(const struct checker *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->t[i].name, name))
			return (long)i;
	return -1;
}

static int float_type(enum anser_dtype d)
{
	return d == ANSER_DTYPE_F32 || d == ANSER_DTYPE_F16 ||
	       d == ANSER_DTYPE_BF16 || d == ANSER_DTYPE_F64;
}

/*
 * Requires tensor `name` with exactly the given shape (ndim dims, d0..).
 * A dim of -1 accepts anything and reports it through `got`.
 */
static enum anser_status expect(struct checker *c, const char *name,
                                int64_t *got, int ndim, ...)
{
	int64_t want[ANSER_MAX_DIMS];
	char ws[96], hs[96];
	long i = find(c, name);
	va_list ap;
	int ok;

	va_start(ap, ndim);
	for (int d = 0; d < ndim; d++)
		want[d] = va_arg(ap, int64_t);
	va_end(ap);
	if (i < 0)
		return anser_errf(c->err, ANSER_E_SHAPE, "missing tensor '%s'",
		                  name);
	c->seen[i] = 1;
	ok = c->t[i].ndim == ndim;
	for (int d = 0; ok && d < ndim; d++) {
		if (want[d] == -1) {
			if (got)
				*got = c->t[i].shape[d];
			ok = c->t[i].shape[d] > 0 && c->t[i].shape[d] < (1 << 24);
		} else {
			ok = c->t[i].shape[d] == want[d];
		}
	}
	if (!ok) {
		for (int d = 0; d < ndim; d++)
			if (want[d] == -1)
				want[d] = 0;
		anser_shape_str(ndim, want, ws, sizeof(ws));
		anser_shape_str(c->t[i].ndim, c->t[i].shape, hs, sizeof(hs));
		return anser_errf(c->err, ANSER_E_SHAPE,
		                  "tensor '%s' has shape %s, expected %s", name, hs,
		                  ws);
	}
	if (!float_type(c->t[i].dtype) &&
	    !(dtype_is_quant(c->t[i].dtype) && tensor_quantizable(name)))
		return anser_errf(c->err, ANSER_E_SHAPE,
		                  "tensor '%s' holds %s values, expected floats",
		                  name, anser_dtype_name(c->t[i].dtype));
	return ANSER_OK;
}

#define D(x) ((int64_t)(x))

/* Checks a (C, r) / (r, C) LoRA pair and that r equals the model's rank. */
static enum anser_status lora(struct checker *c, int layer, const char *down,
                              const char *up, int C, int *rank)
{
	char n1[64], n2[64];
	int64_t r = 0;
	enum anser_status st;

	snprintf(n1, sizeof(n1), "blocks.%d.att.%s", layer, down);
	snprintf(n2, sizeof(n2), "blocks.%d.att.%s", layer, up);
	if ((st = expect(c, n1, &r, 2, D(C), D(-1))))
		return st;
	if (*rank && r != *rank)
		return anser_errf(c->err, ANSER_E_SHAPE,
		                  "tensor '%s' has rank %lld but other layers have "
		                  "%d", n1, (long long)r, *rank);
	*rank = (int)r;
	return expect(c, n2, NULL, 2, D(r), D(C));
}

static enum anser_status check_layer(struct checker *c, int i,
                                     struct anser_hparams *hp)
{
	static const char *const vec[] = {
		"x_r", "x_w", "x_k", "x_v", "x_a", "x_g", "w0", "a0", "k_k", "k_a",
	};
	static const char *const mat[] = {
		"receptance", "key", "value", "output",
	};
	const int C = hp->n_embd;
	enum anser_status st;
	char name[96];
	int64_t F = 0;
	int has_v[3];

	for (size_t k = 0; k < ARRAY_SIZE(vec); k++) {
		snprintf(name, sizeof(name), "blocks.%d.att.%s", i, vec[k]);
		if ((st = expect(c, name, NULL, 3, D(1), D(1), D(C))))
			return st;
	}
	for (size_t k = 0; k < ARRAY_SIZE(mat); k++) {
		snprintf(name, sizeof(name), "blocks.%d.att.%s.weight", i, mat[k]);
		if ((st = expect(c, name, NULL, 2, D(C), D(C))))
			return st;
	}
	snprintf(name, sizeof(name), "blocks.%d.att.r_k", i);
	if ((st = expect(c, name, NULL, 2, D(hp->n_head), D(hp->head_size))))
		return st;
	if ((st = lora(c, i, "w1", "w2", C, &hp->lora_decay)) ||
	    (st = lora(c, i, "a1", "a2", C, &hp->lora_iclr)) ||
	    (st = lora(c, i, "g1", "g2", C, &hp->lora_gate)))
		return st;
	/* Value residual: required from layer 1 on; layer 0 never uses it and
	 * may carry all three tensors or none. */
	for (int k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "blocks.%d.att.v%d", i, k);
		has_v[k] = find(c, name) >= 0;
	}
	if (i > 0 || has_v[0] || has_v[1] || has_v[2]) {
		snprintf(name, sizeof(name), "blocks.%d.att.v0", i);
		if ((st = expect(c, name, NULL, 3, D(1), D(1), D(C))) ||
		    (st = lora(c, i, "v1", "v2", C, &hp->lora_value)))
			return st;
		if (i == 0)
			hp->layer0_v = 1;
	}
	const char *norms[] = { "ln1", "ln2", "att.ln_x" };
	for (size_t k = 0; k < ARRAY_SIZE(norms); k++) {
		snprintf(name, sizeof(name), "blocks.%d.%s.weight", i, norms[k]);
		if ((st = expect(c, name, NULL, 1, D(C))))
			return st;
		snprintf(name, sizeof(name), "blocks.%d.%s.bias", i, norms[k]);
		if ((st = expect(c, name, NULL, 1, D(C))))
			return st;
	}
	snprintf(name, sizeof(name), "blocks.%d.ffn.x_k", i);
	if ((st = expect(c, name, NULL, 3, D(1), D(1), D(C))))
		return st;
	snprintf(name, sizeof(name), "blocks.%d.ffn.key.weight", i);
	if ((st = expect(c, name, &F, 2, D(-1), D(C))))
		return st;
	if (hp->ffn_size && F != hp->ffn_size)
		return anser_errf(c->err, ANSER_E_SHAPE,
		                  "tensor '%s' has %lld rows but other layers have "
		                  "%d", name, (long long)F, hp->ffn_size);
	hp->ffn_size = (int)F;
	snprintf(name, sizeof(name), "blocks.%d.ffn.value.weight", i);
	return expect(c, name, NULL, 2, D(C), F);
}

static enum anser_status refuse_other(const struct anser_tensor_info *t,
                                      size_t n, const char *arch,
                                      struct anser_err *err)
{
	static const char *const clues[] = {
		".att.time_maa_x", ".att.time_decay_w1", ".att.time_faaaa",
		".att.time_first", ".att.time_mix_k", ".ffn.s_emb", ".ffn.s0",
	};
	const char *example = n ? t[0].name : "nothing";

	for (size_t k = 0; k < ARRAY_SIZE(clues); k++)
		for (size_t i = 0; i < n; i++)
			if (strstr(t[i].name, clues[k])) {
				example = t[i].name;
				goto found;
			}
found:
	if (!strcmp(arch, "rwkv7-deepembed"))
		return anser_errf(err, ANSER_E_UNSUPPORTED,
		                  "this is an RWKV-7 DeepEmbed checkpoint (found "
		                  "'%s'), which anser does not support", example);
	if (!strncmp(arch, "rwkv", 4))
		return anser_errf(err, ANSER_E_UNSUPPORTED,
		                  "this is an RWKV-%c checkpoint (found '%s'); anser "
		                  "supports RWKV-7 only", arch[4], example);
	return anser_errf(err, ANSER_E_UNSUPPORTED,
	                  "not an RWKV model: no 'emb.weight' and "
	                  "'blocks.0.att.r_k' among its %zu tensors (the first is "
	                  "'%s')", n, example);
}

static enum anser_status state_hparams(struct checker *c,
                                       struct anser_hparams *hp)
{
	int64_t H = 0, N = 0;
	enum anser_status st;
	char name[64];
	int L = 0;

	for (size_t i = 0; i < c->n; i++) {
		const char *rest;
		int b = block_index(c->t[i].name, &rest);
		if (b < 0 || strcmp(rest, "att.time_state"))
			return anser_errf(c->err, ANSER_E_FORMAT,
			                  "unexpected tensor '%s' in a state file",
			                  c->t[i].name);
		if (b + 1 > L)
			L = b + 1;
	}
	for (int i = 0; i < L; i++) {
		snprintf(name, sizeof(name), "blocks.%d.att.time_state", i);
		if (i == 0)
			st = expect(c, name, &H, 3, D(-1), D(-1), D(-1));
		else
			st = expect(c, name, NULL, 3, H, N, N);
		if (st)
			return st;
		if (i == 0) {
			long k = find(c, name);
			H = c->t[k].shape[0];
			N = c->t[k].shape[1];
			if (c->t[k].shape[2] != N)
				return anser_errf(c->err, ANSER_E_SHAPE,
				                  "tensor '%s' is not (H, N, N)", name);
		}
	}
	hp->kind = ANSER_KIND_STATE;
	hp->n_layer = L;
	hp->n_head = (int)H;
	hp->head_size = (int)N;
	hp->n_embd = (int)(H * N);
	return ANSER_OK;
}

enum anser_status anser_arch_hparams(const struct anser_tensor_info *t,
                                     size_t n, struct anser_hparams *hp,
                                     struct anser_err *err)
{
	const char *arch = anser_arch_detect(t, n);
	struct checker c = { .t = t, .n = n, .err = err };
	enum anser_status st = ANSER_OK;
	int64_t V = 0, C = 0, H = 0, N = 0;
	int L = 0;

	memset(hp, 0, sizeof(*hp));
	if (strcmp(arch, "rwkv7") && strcmp(arch, "rwkv7-state"))
		return refuse_other(t, n, arch, err);
	c.seen = anser_calloc(n, 1);
	if (!c.seen)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	if (!strcmp(arch, "rwkv7-state")) {
		st = state_hparams(&c, hp);
		goto out;
	}
	if ((st = expect(&c, "emb.weight", &V, 2, D(-1), D(-1))))
		goto out;
	V = t[find(&c, "emb.weight")].shape[0];
	C = t[find(&c, "emb.weight")].shape[1];
	if ((st = expect(&c, "blocks.0.att.r_k", &H, 2, D(-1), D(-1))))
		goto out;
	H = t[find(&c, "blocks.0.att.r_k")].shape[0];
	N = t[find(&c, "blocks.0.att.r_k")].shape[1];
	if (H * N != C) {
		st = anser_errf(err, ANSER_E_SHAPE,
		                "blocks.0.att.r_k is (%lld, %lld) but n_embd is %lld "
		                "(heads x head size must equal it)", (long long)H,
		                (long long)N, (long long)C);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *rest;
		int b = block_index(t[i].name, &rest);
		if (b + 1 > L)
			L = b + 1;
	}
	hp->kind = ANSER_KIND_MODEL;
	hp->n_layer = L;
	hp->n_embd = (int)C;
	hp->n_head = (int)H;
	hp->head_size = (int)N;
	hp->vocab_size = (int)V;
	if ((st = expect(&c, "head.weight", NULL, 2, V, C)) ||
	    (st = expect(&c, "ln_out.weight", NULL, 1, C)) ||
	    (st = expect(&c, "ln_out.bias", NULL, 1, C)) ||
	    (st = expect(&c, "blocks.0.ln0.weight", NULL, 1, C)) ||
	    (st = expect(&c, "blocks.0.ln0.bias", NULL, 1, C)))
		goto out;
	for (int i = 0; i < L && !st; i++)
		st = check_layer(&c, i, hp);
	if (st)
		goto out;
	/* Anything left over is unknown: refuse rather than silently drop it. */
	for (size_t i = 0; i < n; i++) {
		if (!c.seen[i]) {
			st = anser_errf(err, ANSER_E_SHAPE,
			                "unexpected tensor '%s' (not part of RWKV-7)",
			                t[i].name);
			goto out;
		}
	}
out:
	if (!st) {
		for (size_t i = 0; i < n; i++)
			hp->n_params += t[i].numel;
	}
	anser_free(c.seen);
	return st;
}
