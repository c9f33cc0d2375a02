/*
 * forward.c - the RWKV-7 forward pass (docs: rwkv7.md sections 2 and 3).
 *
 * Tokens go through in chunks of up to ctx->chunk.  Within a chunk every
 * step but the state recurrence is independent per token once the token
 * shift is known, so the linear maps are matrix products over the chunk
 * (row t of each activation belongs to token t) and only the recurrence
 * walks the tokens one by one.  A chunk of one token is the RNN mode; both
 * give the same numbers up to float rounding.
 *
 * Notation in comments: T tokens in the chunk, C = n_embd, H heads of N,
 * F = ffn_size, D* the LoRA ranks.
 */
#include <math.h>
#include <stdlib.h>

#include "dtype.h"
#include "kernels.h"

#define LN_EPS 1e-5f
#define GN_EPS 64e-5f       /* ln_x, per head: 64e-5, not 1e-5 */
#define DECAY_SCALE 0.60653066f /* e^-0.5: decay = exp(-e^-0.5 sigmoid(z)) */
#define DEFAULT_CHUNK 512

/* One layer's weights.  Vectors are f32 copies; matrices are read in place,
 * the LoRAs as stored, (in, out): transposed (struct wmat's tr). */
struct layer {
	const float *ln1_w, *ln1_b, *ln2_w, *ln2_b, *lnx_w, *lnx_b; /* [C] */
	const float *x_r, *x_w, *x_k, *x_v, *x_a, *x_g;             /* [C] */
	const float *w0, *a0, *v0, *k_k, *k_a, *ffn_x_k;           /* [C] */
	const float *r_k;                                          /* [H*N] */
	struct wmat wr, wk, wv, wo;      /* (C, C) */
	struct wmat w1, a1, v1, g1;      /* (D, C), stored as (C, D) */
	struct wmat w2, a2, v2, g2;      /* (C, D), stored as (D, C) */
	struct wmat fk, fv;              /* (F, C), (C, F) */
	int has_v;                       /* value residual (layers >= 1) */
};

struct anser_ctx {
	const struct anser_model *model;
	struct anser_hparams hp;
	struct pool *pool;
	int chunk;
	struct layer *layers;            /* [L] */
	float *vecs;                     /* every f32 vector, one block */
	const float *ln0_w, *ln0_b, *lnout_w, *lnout_b;
	struct wmat emb, head;           /* (V, C) */
	/* Activations, [chunk][width] each. */
	float *x, *xx, *xr, *xw, *xk, *xv, *xa, *xg;   /* [C] */
	float *r, *k, *v, *w, *a, *g, *kk, *vv, *vfirst, *y; /* [C] */
	float *dw, *da, *dv, *dg;        /* [D] */
	float *h;                        /* [F] */
	float *blas;                     /* per-thread tiles */
	size_t blas_per_thread;
	float *lbuf;                     /* [lrows][V]: logits being emitted */
	int lrows;
	int *rows_a, *rows_b;            /* [chunk]: row lists */
};

/* ----------------------------------------------------------- setup */

static const void *tensor(const struct anser_model *m, const char *name,
                          enum anser_dtype *dtype)
{
	long i = anser_model_find(m, name);

	/* The model was validated at open: every name asked for exists. */
	*dtype = ANSER_DTYPE_F32;
	if (i < 0)
		return NULL;
	*dtype = anser_model_tensor(m, (size_t)i)->dtype;
	return anser_model_tensor_data(m, (size_t)i, NULL);
}

/* Copies the (1, 1, C), (C) or (H, N) tensor `name` to f32 at *cursor. */
static const float *vec(const struct anser_model *m, const char *name,
                        float **cursor, int n)
{
	enum anser_dtype t;
	const void *p = tensor(m, name, &t);
	float *out = *cursor;

	anser_convert_elems(t, p, ANSER_DTYPE_F32, out, (uint64_t)n);
	*cursor += n;
	return out;
}

static struct wmat mat(const struct anser_model *m, const char *name, int rows,
                       int cols)
{
	struct wmat w = { .rows = rows, .cols = cols };
	w.data = tensor(m, name, &w.dtype);
	return w;
}

/* A LoRA matrix, stored (in, out): the map's W^T, used in place. */
static struct wmat lora(const struct anser_model *m, const char *name, int in,
                        int out)
{
	struct wmat w = { .rows = out, .cols = in, .tr = 1 };
	w.data = tensor(m, name, &w.dtype);
	return w;
}

static void bind_layer(struct anser_ctx *c, int i, float **vc)
{
	const struct anser_model *m = c->model;
	const int C = c->hp.n_embd, F = c->hp.ffn_size;
	struct layer *l = &c->layers[i];
	char n[96];

#define V_(field, suffix, count) \
	(snprintf(n, sizeof(n), "blocks.%d.%s", i, suffix), \
	 l->field = vec(m, n, vc, count))
	V_(ln1_w, "ln1.weight", C);
	V_(ln1_b, "ln1.bias", C);
	V_(ln2_w, "ln2.weight", C);
	V_(ln2_b, "ln2.bias", C);
	V_(lnx_w, "att.ln_x.weight", C);
	V_(lnx_b, "att.ln_x.bias", C);
	V_(x_r, "att.x_r", C);
	V_(x_w, "att.x_w", C);
	V_(x_k, "att.x_k", C);
	V_(x_v, "att.x_v", C);
	V_(x_a, "att.x_a", C);
	V_(x_g, "att.x_g", C);
	V_(w0, "att.w0", C);
	V_(a0, "att.a0", C);
	V_(k_k, "att.k_k", C);
	V_(k_a, "att.k_a", C);
	V_(r_k, "att.r_k", C);
	V_(ffn_x_k, "ffn.x_k", C);
#define M_(field, suffix, rows, cols) \
	(snprintf(n, sizeof(n), "blocks.%d.%s", i, suffix), \
	 l->field = mat(m, n, rows, cols))
	M_(wr, "att.receptance.weight", C, C);
	M_(wk, "att.key.weight", C, C);
	M_(wv, "att.value.weight", C, C);
	M_(wo, "att.output.weight", C, C);
	M_(fk, "ffn.key.weight", F, C);
	M_(fv, "ffn.value.weight", C, F);
#define L_(down, up, sdown, sup, D) \
	(snprintf(n, sizeof(n), "blocks.%d.att.%s", i, sdown), \
	 l->down = lora(m, n, C, D), \
	 snprintf(n, sizeof(n), "blocks.%d.att.%s", i, sup), \
	 l->up = lora(m, n, D, C))
	L_(w1, w2, "w1", "w2", c->hp.lora_decay);
	L_(a1, a2, "a1", "a2", c->hp.lora_iclr);
	L_(g1, g2, "g1", "g2", c->hp.lora_gate);
	/* Layer 0 never uses the value residual, whatever it carries. */
	l->has_v = i > 0;
	if (l->has_v) {
		V_(v0, "att.v0", C);
		L_(v1, v2, "v1", "v2", c->hp.lora_value);
	}
#undef V_
#undef M_
#undef L_
}

static float *take(float **cursor, size_t n)
{
	float *p = *cursor;
	*cursor += n;
	return p;
}

static int max4(int a, int b, int c, int d)
{
	int m = a > b ? a : b;
	m = m > c ? m : c;
	return m > d ? m : d;
}

enum anser_status anser_ctx_new(const struct anser_model *m,
                                const struct anser_ctx_params *p,
                                struct anser_ctx **out, struct anser_err *err)
{
	struct anser_ctx *c;
	const struct anser_hparams *hp = anser_model_hparams(m);
	const int L = hp->n_layer, C = hp->n_embd, F = hp->ffn_size;
	int D = max4(hp->lora_decay, hp->lora_iclr, hp->lora_value,
	             hp->lora_gate);
	int threads = p && p->n_threads > 0 ? p->n_threads : anser_cpu_count();
	size_t act, nvec;
	float *vc, *ac;

	*out = NULL;
	if (hp->head_size > 1024)
		return anser_errf(err, ANSER_E_UNSUPPORTED,
		                  "head size %d (at most 1024 is supported)",
		                  hp->head_size);
	if (threads > 256)
		return anser_errf(err, ANSER_E_ARG, "too many threads (%d)",
		                  threads);
	c = anser_calloc(1, sizeof(*c));
	if (!c)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	c->model = m;
	c->hp = *hp;
	c->chunk = p && p->chunk > 0 ? p->chunk : DEFAULT_CHUNK;
	if (c->chunk > 4096)
		c->chunk = 4096;
	blas_init();
	c->pool = pool_new(threads);
	/* Every per-layer f32 vector: 19 of width C, plus ln0 and ln_out. */
	nvec = (size_t)L * 19 * (size_t)C + 4 * (size_t)C;
	act = (size_t)c->chunk * ((size_t)C * 18 + 4 * (size_t)D + (size_t)F);
	c->blas_per_thread = linear_scratch_floats(F > C ? F : C);
	c->layers = anser_calloc((size_t)L, sizeof(*c->layers));
	c->vecs = anser_malloc((nvec + act) * sizeof(float));
	c->blas = anser_malloc((size_t)threads * c->blas_per_thread *
	                       sizeof(float));
	c->lrows = c->chunk < 32 ? c->chunk : 32;
	c->rows_a = anser_malloc((size_t)c->chunk * sizeof(int));
	c->rows_b = anser_malloc((size_t)c->chunk * sizeof(int));
	c->lbuf = anser_malloc((size_t)c->lrows * (size_t)hp->vocab_size *
	                       sizeof(float));
	if (!c->pool || !c->layers || !c->vecs || !c->blas ||
	    !c->lbuf || !c->rows_a || !c->rows_b) {
		anser_ctx_free(c);
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	}
	vc = c->vecs;
	c->ln0_w = vec(m, "blocks.0.ln0.weight", &vc, C);
	c->ln0_b = vec(m, "blocks.0.ln0.bias", &vc, C);
	c->lnout_w = vec(m, "ln_out.weight", &vc, C);
	c->lnout_b = vec(m, "ln_out.bias", &vc, C);
	c->emb = mat(m, "emb.weight", hp->vocab_size, C);
	c->head = mat(m, "head.weight", hp->vocab_size, C);
	for (int i = 0; i < L; i++)
		bind_layer(c, i, &vc);
	ac = c->vecs + nvec;
	{
		const size_t T = (size_t)c->chunk, TC = T * (size_t)C;
		float **bufs[] = { &c->x, &c->xx, &c->xr, &c->xw, &c->xk, &c->xv,
		                   &c->xa, &c->xg, &c->r, &c->k, &c->v, &c->w,
		                   &c->a, &c->g, &c->kk, &c->vv, &c->vfirst, &c->y };
		for (size_t k = 0; k < ARRAY_SIZE(bufs); k++)
			*bufs[k] = take(&ac, TC);
		c->dw = take(&ac, T * (size_t)D);
		c->da = take(&ac, T * (size_t)D);
		c->dv = take(&ac, T * (size_t)D);
		c->dg = take(&ac, T * (size_t)D);
		c->h = take(&ac, T * (size_t)F);
	}
	*out = c;
	return ANSER_OK;
}

void anser_ctx_free(struct anser_ctx *c)
{
	if (!c)
		return;
	pool_free(c->pool);
	anser_free(c->layers);
	anser_free(c->vecs);
	anser_free(c->blas);
	anser_free(c->lbuf);
	anser_free(c->rows_a);
	anser_free(c->rows_b);
	anser_free(c);
}

/* ----------------------------------------------------------- steps */

/* The state of layer i inside the flat state vector. */
struct lstate {
	float *att_x; /* [C] */
	float *wkv;   /* [H][N][N], row = value channel, column = key channel */
	float *ffn_x; /* [C] */
};

float *state_floats(struct anser_state *s, size_t *n);

static struct lstate layer_state(const struct anser_ctx *c, float *s, int i)
{
	const size_t C = (size_t)c->hp.n_embd;
	const size_t per = 2 * C + (size_t)c->hp.n_head *
	                   (size_t)c->hp.head_size * (size_t)c->hp.head_size;
	struct lstate l;

	l.att_x = s + (size_t)i * per;
	l.wkv = l.att_x + C;
	l.ffn_x = l.att_x + per - C;
	return l;
}

/*
 * A chunk holds rows from one or more sequences: segment k is rows
 * [row0, row0 + n) of the chunk, continuing the sequence whose state is
 * `state` (the whole flat state of that sequence).
 */
struct seg {
	float *state;
	int row0, n;
};

/* Work shared by the per-token pool jobs of one step. */
struct step {
	struct anser_ctx *c;
	const struct layer *l;
	int layer;
	int T;
	const struct seg *segs;
	int n_segs;
	const int *row_seg;      /* [T]: segment of each row */
	const int32_t *tokens;   /* [T] */
	wkv_fn wkv;
	const uint8_t *row_want; /* [T]: logits wanted; NULL: all rows live */
};

/* The state that row t's token shift reads when it starts its segment. */
static struct lstate row_state(const struct step *s, size_t t)
{
	return layer_state(s->c, s->segs[s->row_seg[t]].state, s->layer);
}

static int first_of_seg(const struct step *s, size_t t)
{
	return (int)t == s->segs[s->row_seg[t]].row0;
}

#define ROW(buf, t) ((buf) + (size_t)(t) * (size_t)C)

/* x[t] = LN(emb[token]; ln0) */
static void job_embed(void *arg, size_t t0, size_t t1, int thread)
{
	const struct step *s = arg;
	const struct anser_ctx *c = s->c;
	const int C = c->hp.n_embd;
	(void)thread;

	for (size_t t = t0; t < t1; t++) {
		widen_rows(&c->emb, s->tokens[t], s->tokens[t] + 1, ROW(c->xx, t));
		layer_norm(ROW(c->xx, t), c->ln0_w, c->ln0_b, C, LN_EPS,
		           ROW(c->x, t));
	}
}

/* xx = LN(x; ln1) */
static void job_ln1(void *arg, size_t t0, size_t t1, int thread)
{
	const struct step *s = arg;
	const struct anser_ctx *c = s->c;
	const int C = c->hp.n_embd;
	(void)thread;

	for (size_t t = t0; t < t1; t++)
		layer_norm(ROW(c->x, t), s->l->ln1_w, s->l->ln1_b, C, LN_EPS,
		           ROW(c->xx, t));
}

/* The six token-shift mixes: x* = xx + (prev - xx) * x_*. */
static void job_mix(void *arg, size_t t0, size_t t1, int thread)
{
	const struct step *s = arg;
	const struct anser_ctx *c = s->c;
	const struct layer *l = s->l;
	const int C = c->hp.n_embd;
	(void)thread;

	for (size_t t = t0; t < t1; t++) {
		const float *xx = ROW(c->xx, t);
		const float *prev = first_of_seg(s, t) ?
		                    row_state(s, t).att_x : ROW(c->xx, t - 1);
		float *xr = ROW(c->xr, t), *xw = ROW(c->xw, t), *xk = ROW(c->xk, t);
		float *xv = ROW(c->xv, t), *xa = ROW(c->xa, t), *xg = ROW(c->xg, t);
		for (int i = 0; i < C; i++) {
			float d = prev[i] - xx[i];
			xr[i] = xx[i] + d * l->x_r[i];
			xw[i] = xx[i] + d * l->x_w[i];
			xk[i] = xx[i] + d * l->x_k[i];
			xv[i] = xx[i] + d * l->x_v[i];
			xa[i] = xx[i] + d * l->x_a[i];
			xg[i] = xx[i] + d * l->x_g[i];
		}
	}
}

/* Nonlinearities between the LoRA halves: tanh for decay, sigmoid for gate. */
static void job_lora_mid(void *arg, size_t t0, size_t t1, int thread)
{
	const struct step *s = arg;
	const struct anser_ctx *c = s->c;
	const size_t Dw = (size_t)c->hp.lora_decay, Dg = (size_t)c->hp.lora_gate;
	(void)thread;

	for (size_t t = t0; t < t1; t++) {
		for (size_t j = 0; j < Dw; j++)
			c->dw[t * Dw + j] = tanhf(c->dw[t * Dw + j]);
		for (size_t j = 0; j < Dg; j++)
			c->dg[t * Dg + j] = sigmoidf(c->dg[t * Dg + j]);
	}
}

/* Decay, in-context rate, value residual, removal key and key scaling. */
static void job_prep(void *arg, size_t t0, size_t t1, int thread)
{
	const struct step *s = arg;
	const struct anser_ctx *c = s->c;
	const struct layer *l = s->l;
	const int C = c->hp.n_embd, N = c->hp.head_size;
	const sigmoid_fn sig = kernels_sigmoid();
	(void)thread;

	for (size_t t = t0; t < t1; t++) {
		float *w = ROW(c->w, t), *a = ROW(c->a, t), *k = ROW(c->k, t);
		float *v = ROW(c->v, t), *kk = ROW(c->kk, t);
		float *vf = ROW(c->vfirst, t), *vv = ROW(c->vv, t);

		sig(w, l->w0, w, -DECAY_SCALE, (size_t)C);
		sig(a, l->a0, a, 0.0f, (size_t)C);
		for (int i = 0; i < C; i++) {
			kk[i] = k[i] * l->k_k[i];
			k[i] = k[i] * (1.0f + (a[i] - 1.0f) * l->k_a[i]);
		}
		if (s->layer == 0) {
			memcpy(vf, v, (size_t)C * sizeof(float));
		} else {
			/* vv is not needed past here: it takes the gate. */
			sig(vv, l->v0, vv, 0.0f, (size_t)C);
			for (int i = 0; i < C; i++)
				v[i] += (vf[i] - v[i]) * vv[i];
		}
		/* kk: unit length per head (a zero key stays zero). */
		for (int h = 0; h < C / N; h++) {
			float *p = kk + h * N, ss = 0.0f, inv;
			for (int j = 0; j < N; j++)
				ss += p[j] * p[j];
			inv = 1.0f / fmaxf(sqrtf(ss), 1e-12f);
			for (int j = 0; j < N; j++)
				p[j] *= inv;
		}
	}
}

/*
 * The state recurrence, one task per (segment, head), its tokens in order:
 *   sa = S (-kk)                  (with the old S)
 *   S  = S diag(w) + sa (kk*a)^T + v k^T
 *   y  = S r
 */
static void job_wkv(void *arg, size_t k0, size_t k1, int thread)
{
	const struct step *s = arg;
	const struct anser_ctx *c = s->c;
	const int C = c->hp.n_embd, N = c->hp.head_size, H = c->hp.n_head;
	float b[1024];
	(void)thread;

	for (size_t k = k0; k < k1; k++) {
		const struct seg *g = &s->segs[k / (size_t)H];
		const size_t h = k % (size_t)H;
		float *S = layer_state(c, g->state, s->layer).wkv +
		           h * (size_t)N * (size_t)N;
		for (int t = g->row0; t < g->row0 + g->n; t++) {
			const size_t o = (size_t)t * (size_t)C + h * (size_t)N;
			for (int j = 0; j < N; j++)
				b[j] = c->kk[o + j] * c->a[o + j];
			s->wkv(S, N, c->w + o, c->kk + o, b, c->k + o, c->v + o,
			       c->r + o, c->y + o);
		}
	}
}

/* GroupNorm per head, the r.k bonus, and the gate: y = (GN(y) + bonus) * g. */
static void job_post(void *arg, size_t t0, size_t t1, int thread)
{
	const struct step *s = arg;
	const struct anser_ctx *c = s->c;
	const struct layer *l = s->l;
	const int C = c->hp.n_embd, N = c->hp.head_size;
	(void)thread;

	for (size_t t = t0; t < t1; t++) {
		float *y = ROW(c->y, t);
		const float *r = ROW(c->r, t), *k = ROW(c->k, t), *v = ROW(c->v, t);
		const float *g = ROW(c->g, t);
		for (int h = 0; h < C / N; h++) {
			const int o = h * N;
			float mean = 0.0f, var = 0.0f, inv, bonus = 0.0f;
			for (int j = 0; j < N; j++)
				mean += y[o + j];
			mean /= (float)N;
			for (int j = 0; j < N; j++)
				var += (y[o + j] - mean) * (y[o + j] - mean);
			var /= (float)N;
			inv = 1.0f / sqrtf(var + GN_EPS);
			for (int j = 0; j < N; j++)
				bonus += r[o + j] * k[o + j] * l->r_k[o + j];
			for (int j = 0; j < N; j++) {
				float z = (y[o + j] - mean) * inv * l->lnx_w[o + j] +
				          l->lnx_b[o + j];
				y[o + j] = (z + bonus * v[o + j]) * g[o + j];
			}
		}
	}
}

/* x += out (out in c->r, reused) */
static void job_residual(void *arg, size_t t0, size_t t1, int thread)
{
	const struct step *s = arg;
	const struct anser_ctx *c = s->c;
	const size_t C = (size_t)c->hp.n_embd;
	(void)thread;

	float *x = c->x;
	const float *r = c->r;

	/* (Local pointers: through c, every store might change c->x.) */
	for (size_t i = t0 * C; i < t1 * C; i++)
		x[i] += r[i];
}

/* Channel mix input: xk = xx + (prev - xx) * ffn.x_k, xx = LN(x; ln2). */
static void job_ffn_in(void *arg, size_t t0, size_t t1, int thread)
{
	const struct step *s = arg;
	const struct anser_ctx *c = s->c;
	const struct layer *l = s->l;
	const int C = c->hp.n_embd;
	(void)thread;

	/* LN first for the whole range, then the shift (row t reads t - 1). */
	for (size_t t = t0; t < t1; t++)
		layer_norm(ROW(c->x, t), l->ln2_w, l->ln2_b, C, LN_EPS,
		           ROW(c->xx, t));
}

static void job_ffn_shift(void *arg, size_t t0, size_t t1, int thread)
{
	const struct step *s = arg;
	const struct anser_ctx *c = s->c;
	const struct layer *l = s->l;
	const int C = c->hp.n_embd;
	(void)thread;

	for (size_t t = t0; t < t1; t++) {
		const float *xx = ROW(c->xx, t);
		const float *prev = first_of_seg(s, t) ?
		                    row_state(s, t).ffn_x : ROW(c->xx, t - 1);
		float *xk = ROW(c->xk, t);
		for (int i = 0; i < C; i++)
			xk[i] = xx[i] + (prev[i] - xx[i]) * l->ffn_x_k[i];
	}
}

static void job_relu2(void *arg, size_t t0, size_t t1, int thread)
{
	const struct step *s = arg;
	const struct anser_ctx *c = s->c;
	const size_t F = (size_t)c->hp.ffn_size;
	(void)thread;

	kernels_relu2()(c->h + t0 * F, (t1 - t0) * F);
}

static void lin(struct anser_ctx *c, const struct linear_job *jobs, int n,
                int T)
{
	linear_many(c->pool, jobs, n, T, c->blas, c->blas_per_thread);
}

/* Copies rows[0..n) of src ([T][w]) to consecutive rows of dst. */
static void gather(float *dst, const float *src, const int *rows, int n,
                   size_t w)
{
	for (int k = 0; k < n; k++)
		memcpy(dst + (size_t)k * w, src + (size_t)rows[k] * w,
		       w * sizeof(float));
}

/*
 * The rest of the last layer when only some rows' logits are wanted: after
 * it, x matters only at the wanted rows, and the state only at each
 * segment's last row.  So the output map runs for the wanted rows, the rows
 * before them (their LN2 feeds the wanted rows' token shift) and the last
 * rows (their LN2 is the saved ffn_x); the channel mix runs for the wanted
 * rows alone.  Other rows of x are left stale: nothing reads them.
 */
static void last_layer_rest(struct anser_ctx *c, const struct step *s)
{
	const struct layer *l = s->l;
	const int C = c->hp.n_embd, F = c->hp.ffn_size, T = s->T;
	int *keep = c->rows_a, *want = c->rows_b, nk = 0, nw = 0;

	for (int t = 0; t < T; t++) {
		const struct seg *g = &s->segs[s->row_seg[t]];
		int last = t == g->row0 + g->n - 1;
		int before_want = t + 1 < g->row0 + g->n && s->row_want[t + 1];
		if (s->row_want[t])
			want[nw++] = t;
		if (s->row_want[t] || last || before_want)
			keep[nk++] = t;
	}
	/* x[keep] += Wo y[keep], through packed rows in xr -> xw. */
	gather(c->xr, c->y, keep, nk, (size_t)C);
	{
		struct linear_job j[] = { { &l->wo, c->xr, c->xw } };
		lin(c, j, 1, nk);
	}
	for (int k = 0; k < nk; k++)
		for (int e = 0; e < C; e++)
			ROW(c->x, keep[k])[e] += ROW(c->xw, k)[e];
	/* LN2 and the shift for every row (cheap; stale rows go unused). */
	pool_run(c->pool, job_ffn_in, (void *)s, (size_t)T);
	pool_run(c->pool, job_ffn_shift, (void *)s, (size_t)T);
	for (int k = 0; k < s->n_segs; k++)
		memcpy(layer_state(c, s->segs[k].state, s->layer).ffn_x,
		       ROW(c->xx, s->segs[k].row0 + s->segs[k].n - 1),
		       (size_t)C * sizeof(float));
	if (!nw)
		return;
	/* x[want] += Wvalue relu(Wkey xk[want])^2 */
	gather(c->xr, c->xk, want, nw, (size_t)C);
	{
		struct linear_job j[] = { { &l->fk, c->xr, c->h } };
		lin(c, j, 1, nw);
	}
	for (size_t e = 0; e < (size_t)nw * (size_t)F; e++) {
		float z = c->h[e] > 0.0f ? c->h[e] : 0.0f;
		c->h[e] = z * z;
	}
	{
		struct linear_job j[] = { { &l->fv, c->h, c->xw } };
		lin(c, j, 1, nw);
	}
	for (int k = 0; k < nw; k++)
		for (int e = 0; e < C; e++)
			ROW(c->x, want[k])[e] += ROW(c->xw, k)[e];
}

static void layer_forward(struct anser_ctx *c, const struct step *base, int i)
{
	const struct layer *l = &c->layers[i];
	const int C = c->hp.n_embd;
	struct step s = *base;
	struct pool *p = c->pool;
	const int T = s.T;

	s.l = l;
	s.layer = i;
	/* Time mix. */
	pool_run(p, job_ln1, &s, (size_t)T);
	pool_run(p, job_mix, &s, (size_t)T);
	/* Each sequence's token shift continues from its last row. */
	for (int k = 0; k < s.n_segs; k++)
		memcpy(layer_state(c, s.segs[k].state, i).att_x,
		       ROW(c->xx, s.segs[k].row0 + s.segs[k].n - 1),
		       (size_t)C * sizeof(float));
	{
		struct linear_job j[] = {
			{ &l->wr, c->xr, c->r }, { &l->wk, c->xk, c->k },
			{ &l->wv, c->xv, c->v }, { &l->w1, c->xw, c->dw },
			{ &l->a1, c->xa, c->da }, { &l->g1, c->xg, c->dg },
			{ &l->v1, c->xv, c->dv },
		};
		lin(c, j, l->has_v ? 7 : 6, T);
	}
	pool_run(p, job_lora_mid, &s, (size_t)T);
	{
		struct linear_job j[] = {
			{ &l->w2, c->dw, c->w }, { &l->a2, c->da, c->a },
			{ &l->g2, c->dg, c->g }, { &l->v2, c->dv, c->vv },
		};
		lin(c, j, l->has_v ? 4 : 3, T);
	}
	pool_run(p, job_prep, &s, (size_t)T);
	pool_run(p, job_wkv, &s, (size_t)s.n_segs * (size_t)c->hp.n_head);
	pool_run(p, job_post, &s, (size_t)T);
	if (i == c->hp.n_layer - 1 && s.row_want) {
		last_layer_rest(c, &s);
		return;
	}
	{
		struct linear_job j[] = { { &l->wo, c->y, c->r } };
		lin(c, j, 1, T);
	}
	pool_run(p, job_residual, &s, (size_t)T);
	/* Channel mix. */
	pool_run(p, job_ffn_in, &s, (size_t)T);
	pool_run(p, job_ffn_shift, &s, (size_t)T);
	for (int k = 0; k < s.n_segs; k++)
		memcpy(layer_state(c, s.segs[k].state, i).ffn_x,
		       ROW(c->xx, s.segs[k].row0 + s.segs[k].n - 1),
		       (size_t)C * sizeof(float));
	{
		struct linear_job j[] = { { &l->fk, c->xk, c->h } };
		lin(c, j, 1, T);
	}
	pool_run(p, job_relu2, &s, (size_t)T);
	{
		struct linear_job j[] = { { &l->fv, c->h, c->r } };
		lin(c, j, 1, T);
	}
	pool_run(p, job_residual, &s, (size_t)T);
}

/* A wanted row of the chunk: where its logits or scores go. */
struct out_row {
	int row;            /* in the chunk */
	float *logits;      /* [V] or NULL */
	int32_t target;     /* with lp: the token scored */
	double *lp;
	uint8_t *greedy;
	int32_t *argmax;
};

/* log p(target) from a row of logits, in double; *greedy = target is the
 * argmax (ties: the lowest id, like torch.argmax). */
static double row_logprob(const float *row, size_t V, int32_t target,
                          uint8_t *greedy, int32_t *top)
{
	double max = row[0], sum = 0.0;
	size_t arg = 0;

	for (size_t i = 1; i < V; i++)
		if (row[i] > max) {
			max = row[i];
			arg = i;
		}
	for (size_t i = 0; i < V; i++)
		sum += exp((double)row[i] - max);
	if (greedy)
		*greedy = arg == (size_t)target;
	if (top)
		*top = (int32_t)arg;
	return (double)row[target] - max - log(sum);
}

/* Logits of the wanted rows: LN(x; ln_out), then head, LOGIT_ROWS at a
 * time through ctx->lbuf; copied out or reduced to scores. */
static void emit_rows(struct anser_ctx *c, const struct out_row *o, int n)
{
	const int C = c->hp.n_embd;
	const size_t V = (size_t)c->hp.vocab_size;

	for (int at = 0; at < n; at += c->lrows) {
		int m = n - at < c->lrows ? n - at : c->lrows;
		/* xx is free now; pack the normalised rows into it. */
		for (int k = 0; k < m; k++)
			layer_norm(ROW(c->x, o[at + k].row), c->lnout_w, c->lnout_b,
			           C, LN_EPS, ROW(c->xx, k));
		{
			struct linear_job j[] = { { &c->head, c->xx, c->lbuf } };
			lin(c, j, 1, m);
		}
		for (int k = 0; k < m; k++) {
			const struct out_row *r = &o[at + k];
			const float *row = c->lbuf + (size_t)k * V;
			if (r->logits)
				memcpy(r->logits, row, V * sizeof(float));
			if (r->lp)
				*r->lp = row_logprob(row, V, r->target, r->greedy,
				                     r->argmax);
		}
	}
}

static enum anser_status check_seq(const struct anser_ctx *c,
                                   const struct anser_seq *q,
                                   struct anser_err *err)
{
	size_t n_state, V = (size_t)c->hp.vocab_size;

	state_floats(q->state, &n_state);
	if (n_state != (size_t)c->hp.n_layer * (2 * (size_t)c->hp.n_embd +
	               (size_t)c->hp.n_head * (size_t)c->hp.head_size *
	               (size_t)c->hp.head_size))
		return anser_errf(err, ANSER_E_ARG,
		                  "the state does not belong to this model's shape");
	for (size_t t = 0; t < q->n; t++) {
		if (q->tokens[t] < 0 || (size_t)q->tokens[t] >= V)
			return anser_errf(err, ANSER_E_ARG,
			                  "token id %d is outside the vocab (0..%zu)",
			                  q->tokens[t], V - 1);
		if (q->lp && (q->want ? q->want[t] : t + 1 == q->n) &&
		    (q->targets[t] < 0 || (size_t)q->targets[t] >= V))
			return anser_errf(err, ANSER_E_ARG,
			                  "target id %d is outside the vocab (0..%zu)",
			                  q->targets[t], V - 1);
	}
	return ANSER_OK;
}

enum anser_status anser_eval_batch(struct anser_ctx *c, struct anser_seq *q,
                                   size_t n_seqs, struct anser_err *err)
{
	const size_t V = (size_t)c->hp.vocab_size;
	const int chunk = c->chunk;
	struct seg *segs;
	int *row_seg;
	int32_t *toks;
	uint8_t *want;
	struct out_row *outs;
	size_t *done, *emitted; /* per sequence: tokens fed, rows written */
	size_t qi = 0;
	enum anser_status st = ANSER_OK;

	for (size_t i = 0; i < n_seqs; i++)
		if ((st = check_seq(c, &q[i], err)))
			return st;
	segs = anser_malloc((size_t)chunk * sizeof(*segs));
	row_seg = anser_malloc((size_t)chunk * sizeof(*row_seg));
	toks = anser_malloc((size_t)chunk * sizeof(*toks));
	outs = anser_malloc((size_t)chunk * sizeof(*outs));
	want = anser_malloc((size_t)chunk);
	done = anser_calloc(n_seqs ? n_seqs : 1, sizeof(*done));
	emitted = anser_calloc(n_seqs ? n_seqs : 1, sizeof(*emitted));
	if (!segs || !row_seg || !toks || !outs || !want || !done || !emitted) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	/* Pack rows from the sequences in order into chunks. */
	while (qi < n_seqs) {
		struct step s = { .c = c, .segs = segs, .row_seg = row_seg,
		                  .tokens = toks, .wkv = kernels_wkv(),
		                  .row_want = want };
		int T = 0, n_out = 0;

		while (T < chunk && qi < n_seqs) {
			struct anser_seq *sq = &q[qi];
			size_t left = sq->n - done[qi];
			int take = left < (size_t)(chunk - T) ? (int)left : chunk - T;
			if (take > 0) {
				struct seg *g = &segs[s.n_segs];
				g->state = state_floats(sq->state, NULL);
				g->row0 = T;
				g->n = take;
				for (int k = 0; k < take; k++) {
					size_t t = done[qi] + (size_t)k;
					int wanted = sq->want ? sq->want[t] != 0 :
					             t + 1 == sq->n;
					row_seg[T + k] = s.n_segs;
					toks[T + k] = sq->tokens[t];
					want[T + k] = wanted && (sq->logits || sq->lp);
					if (want[T + k]) {
						size_t e = emitted[qi]++;
						outs[n_out++] = (struct out_row){
							.row = T + k,
							.logits = sq->logits ?
							          sq->logits + e * V : NULL,
							.target = sq->lp ? sq->targets[t] : 0,
							.lp = sq->lp ? sq->lp + e : NULL,
							.greedy = sq->greedy ?
							          sq->greedy + e : NULL,
							.argmax = sq->argmax ?
							          sq->argmax + e : NULL,
						};
					}
				}
				s.n_segs++;
				T += take;
				done[qi] += (size_t)take;
			}
			if (done[qi] == sq->n)
				qi++;
		}
		if (T == 0)
			break;
		s.T = T;
		pool_run(c->pool, job_embed, &s, (size_t)T);
		for (int i = 0; i < c->hp.n_layer; i++)
			layer_forward(c, &s, i);
		if (n_out)
			emit_rows(c, outs, n_out);
	}
out:
	anser_free(segs);
	anser_free(row_seg);
	anser_free(toks);
	anser_free(outs);
	anser_free(want);
	anser_free(done);
	anser_free(emitted);
	return st;
}

enum anser_status anser_eval(struct anser_ctx *c, struct anser_state *st,
                             const int32_t *tokens, size_t n,
                             const uint8_t *want, float *logits,
                             struct anser_err *err)
{
	struct anser_seq q = { .state = st, .tokens = tokens, .n = n,
	                       .want = want, .logits = logits };

	return anser_eval_batch(c, &q, 1, err);
}
