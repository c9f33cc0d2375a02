/*
 * test_eval_kl.c - the --kl-base arithmetic (eval/kl.c): KL(base || model)
 * of two rows of logits against closed forms worked out by hand, ties,
 * extreme logits, a plain three-pass reference; the totals (mean, p99,
 * max, top-1, perplexities); and the chunked driver on random-weight
 * models (any chunk size gives the same numbers, the same model against
 * itself gives 0, a mismatched base is refused).
 */
#include <math.h>
#include <unistd.h>

#include "../../eval/eval.h"
#include "../../lib/internal.h"
#include "../harness.h"

static char tmpdir[] = "/tmp/anser-test-eval-kl-XXXXXX";

/* Deterministic logits in about [-8, 8). */
static void fill(float *x, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		x[i] = (float)((double)(seed >> 11) / 9007199254740992.0 * 16.0 - 8.0);
	}
}

/* The textbook way: both log-softmaxes, then sum p (lp - lq). */
static double ref_kl(const float *b, const float *m, size_t V)
{
	double mb = -INFINITY, mm = -INFINITY, sb = 0, sm = 0, kl = 0;

	for (size_t i = 0; i < V; i++) {
		mb = fmax(mb, b[i]);
		mm = fmax(mm, m[i]);
	}
	for (size_t i = 0; i < V; i++) {
		sb += exp(b[i] - mb);
		sm += exp(m[i] - mm);
	}
	for (size_t i = 0; i < V; i++) {
		double lp = b[i] - mb - log(sb), lq = m[i] - mm - log(sm);
		kl += exp(lp) * (lp - lq);
	}
	return kl;
}

static void test_rows(void)
{
	const double e = exp(1.0);
	struct eval_kl_pos p;

	/* p = (1, e, 1) / (2 + e) against the uniform q = 1/3:
	 * KL = sum p ln(3p) = ln 3 - ln(2 + e) + e / (2 + e). */
	{
		const float b[3] = { 0, 1, 0 }, m[3] = { 5, 5, 5 };
		eval_kl_row(b, m, 3, 1, &p);
		CHECK_NEAR(p.kl, log(3.0) - log(2.0 + e) + e / (2.0 + e), 1e-15,
		           "kl: (1, e, 1)/(2 + e) against uniform, by hand");
		CHECK_NEAR(p.lp_base, 1.0 - log(2.0 + e), 1e-15,
		           "kl: ln p_base(target)");
		CHECK_NEAR(p.lp_model, -log(3.0), 1e-15, "kl: ln p_model(target)");
		CHECK(p.top_base == 1 && p.top_model == 0,
		      "kl: argmaxes; a three-way tie goes to id 0");
		/* The other way round: KL(uniform || p) = ln(2 + e) - ln 3 - 1/3. */
		eval_kl_row(m, b, 3, 1, &p);
		CHECK_NEAR(p.kl, log(2.0 + e) - log(3.0) - 1.0 / 3.0, 1e-15,
		           "kl: the base is the first argument (KL is not symmetric)");
	}
	/* p = (1/4, 1/2, 1/4) from (ln 1, ln 2, ln 1): KL against uniform =
	 * ln(9/8) / 2, up to ln 2 rounded to a float. */
	{
		const float b[3] = { 0.0f, (float)M_LN2, 0.0f }, m[3] = { 0, 0, 0 };
		eval_kl_row(b, m, 3, 0, &p);
		CHECK_NEAR(p.kl, log(9.0 / 8.0) / 2.0, 1e-7,
		           "kl: ln(9/8)/2 for (1/4, 1/2, 1/4) against uniform");
	}
	/* The same shifted by +-1000, where a naive exp() overflows; the
	 * float spacing near 1000 moves ln 2 to d = b[1] - b[0]: with
	 * s = 2 + e^d, KL = ln 3 + (-2 ln s + e^d (d - ln s)) / s.  Each
	 * ln-sum-exp near 1000 rounds off about 1e-13. */
	{
		const float b[3] = { 1000.0f, 1000.0f + (float)M_LN2, 1000.0f };
		const float m[3] = { -1000.0f, -1000.0f, -1000.0f };
		double d = (double)b[1] - (double)b[0], s = 2.0 + exp(d);
		eval_kl_row(b, m, 3, 0, &p);
		CHECK_NEAR(p.kl, log(3.0) + (-2.0 * log(s) + exp(d) * (d - log(s))) /
		           s, 1e-12, "kl: logits near +-1000 stay finite and exact");
	}
	/* Ties: the lowest id, as torch.argmax. */
	{
		const float b[4] = { 3, 7, 7, 1 }, m[4] = { 2, 2, 9, 9 };
		eval_kl_row(b, m, 4, 0, &p);
		CHECK(p.top_base == 1 && p.top_model == 2,
		      "kl: ties between argmaxes go to the lowest id");
	}
	/* A token the base rules out (-inf) adds nothing, not NaN. */
	{
		const float b[3] = { 0, 0, -INFINITY }, m[3] = { 0, 0, -INFINITY };
		eval_kl_row(b, m, 3, 0, &p);
		CHECK(p.kl == 0.0, "kl: a -inf logit in both rows gives 0, not NaN");
	}
	/* Equal rows: exactly 0; different rows: the textbook formula. */
	{
		enum { V = 65536 };
		float *b = malloc(V * sizeof(float)), *m = malloc(V * sizeof(float));
		double worst = 0;
		fill(b, V, 1);
		memcpy(m, b, V * sizeof(float));
		eval_kl_row(b, m, V, 17, &p);
		CHECK(p.kl == 0.0 && p.top_base == p.top_model &&
		      p.lp_base == p.lp_model,
		      "kl: equal rows of 65536 give exactly 0");
		for (int k = 0; k < 5; k++) {
			fill(m, V, 100 + (uint64_t)k);
			/* From far apart to nearly equal (an f16-like error). */
			for (size_t i = 0; i < V; i++)
				m[i] = b[i] + (m[i] / 8.0f) * powf(10.0f, (float)-k);
			eval_kl_row(b, m, V, 0, &p);
			double r = ref_kl(b, m, V);
			/* Both ways round off about 1e-16 of ln sum exp
			 * (about 19 here): 1e-14 absolute at worst. */
			worst = fmax(worst, fabs(p.kl - r) / (r + 1e-8));
			if (p.kl <= 0)
				worst = INFINITY;
		}
		CHECK(worst < 1e-6,
		      "kl: agrees with a three-pass log-softmax reference, KL 1e-9..1");
		if (worst >= 1e-6)
			printf("#   worst relative difference %.3g\n", worst);
		free(b);
		free(m);
	}
}

static void test_totals(void)
{
	struct eval_kl k = { 0 };
	struct eval_kl_report r;
	int ok = 1;

	eval_kl_summarize(&k, &r);
	CHECK(r.n == 0 && isnan(r.kl_mean) && isnan(r.kl_p99) && isnan(r.top1),
	      "kl totals: no positions gives NaN, not a crash");
	/* 200 positions with KL = 0.001 * (i + 1), added out of order;
	 * agreement at every fourth; lp_model = -1, lp_base = -2. */
	for (int i = 0; i < 200; i++) {
		int v = (i * 37) % 200;  /* a permutation of 0..199 */
		struct eval_kl_pos p = { .kl = 0.001 * (v + 1), .lp_base = -2,
		                         .lp_model = -1, .top_base = 3,
		                         .top_model = i % 4 ? 4 : 3 };
		ok &= eval_kl_add(&k, &p, NULL) == ANSER_OK;
	}
	CHECK(ok && k.n == 200 && k.agree == 50, "kl totals: positions counted");
	eval_kl_summarize(&k, &r);
	CHECK_NEAR(r.kl_mean, 0.1005, 1e-12, "kl totals: mean");
	/* Nearest rank: ceil(0.99 * 200) = 198th smallest. */
	CHECK_NEAR(r.kl_p99, 0.198, 1e-12, "kl totals: p99 is the 198th of 200");
	CHECK_NEAR(r.kl_max, 0.2, 1e-12, "kl totals: max");
	CHECK_NEAR(r.top1, 0.25, 0, "kl totals: top-1 agreement");
	/* sqrt(p (1 - p) / (n - 1)) = the stderr of 50 ones and 150 zeros. */
	CHECK_NEAR(r.top1_stderr, sqrt(0.25 * 0.75 / 199.0), 1e-15,
	           "kl totals: stderr of top-1 as of a mean of 0s and 1s");
	/* sample stddev of 0.001 * (1..200) is 0.001 sqrt(200 * 201 / 12). */
	CHECK_NEAR(r.kl_mean_stderr, 0.001 * sqrt(200.0 * 201.0 / 12.0) /
	           sqrt(200.0), 1e-12, "kl totals: stderr of the mean KL");
	CHECK_NEAR(r.base_ppl, exp(2.0), 1e-12, "kl totals: base perplexity");
	CHECK_NEAR(r.model_ppl, exp(1.0), 1e-12, "kl totals: model perplexity");
	eval_kl_free(&k);
	{
		struct eval_kl_pos p = { .kl = 0.5 };
		eval_kl_add(&k, &p, NULL);
		eval_kl_summarize(&k, &r);
		CHECK(r.kl_p99 == 0.5 && r.kl_max == 0.5 && isnan(r.kl_mean_stderr),
		      "kl totals: one position is its own p99 and max");
		eval_kl_free(&k);
	}
}

/* ---------------------------------------------------------------- driver */

struct side {
	struct anser_model *m;
	struct anser_ctx *ctx;
	struct anser_state *st;
};

static int side_open(struct side *s, const char *path)
{
	struct anser_ctx_params cp = { .n_threads = 2 };

	memset(s, 0, sizeof(*s));
	return anser_model_open(path, &s->m, NULL) ||
	       anser_ctx_new(s->m, &cp, &s->ctx, NULL) ||
	       anser_state_new(s->m, &s->st, NULL);
}

static void side_close(struct side *s)
{
	anser_state_free(s->st);
	anser_ctx_free(s->ctx);
	anser_model_free(s->m);
}

static void test_driver(void)
{
	struct anser_hparams hp = { .n_layer = 2, .n_embd = 64, .head_size = 64,
	                            .vocab_size = 300, .ffn_size = 256,
	                            .lora_decay = 16, .lora_iclr = 16,
	                            .lora_value = 16, .lora_gate = 16 };
	char f32[128], f16[128], bf16[128], vocab[128], deep[128];
	struct side a, b, c;
	enum { N = 150 };
	int32_t ids[N];
	struct anser_err err = { 0 };
	volatile sig_atomic_t stop = 1;
	int ok;

	snprintf(f32, sizeof(f32), "%s/f32.anser", tmpdir);
	snprintf(f16, sizeof(f16), "%s/f16.anser", tmpdir);
	snprintf(bf16, sizeof(bf16), "%s/bf16.anser", tmpdir);
	snprintf(vocab, sizeof(vocab), "%s/v301.anser", tmpdir);
	snprintf(deep, sizeof(deep), "%s/l3.anser", tmpdir);
	ok = !anser_random_model(f32, &hp, ANSER_DTYPE_F32, 7, &err) &&
	     !anser_random_model(f16, &hp, ANSER_DTYPE_F16, 7, &err) &&
	     !anser_random_model(bf16, &hp, ANSER_DTYPE_BF16, 7, &err);
	hp.vocab_size = 301;
	ok = ok && !anser_random_model(vocab, &hp, ANSER_DTYPE_F32, 7, &err);
	hp.vocab_size = 300;
	hp.n_layer = 3;
	ok = ok && !anser_random_model(deep, &hp, ANSER_DTYPE_F32, 7, &err);
	if (!CHECK(ok, "driver: random-weight models written")) {
		printf("#   %s\n", err.msg);
		return;
	}
	ids[0] = 0;
	for (int i = 1; i < N; i++)
		ids[i] = (int32_t)((i * 7919) % 300);
	if (!CHECK(!side_open(&a, f32) && !side_open(&b, f32) &&
	           !side_open(&c, f16), "driver: models opened"))
		return;

	/* The same model on both sides: 0 at every chunk size, and the
	 * model's log-likelihood that of anser_score. */
	{
		double lp[N], ll = 0, ll1 = 0;
		size_t chunks[] = { 1, 7, 64, 149, 1000 };
		int zero = 1, same = 1;
		anser_state_reset(a.st);
		anser_score(a.ctx, a.st, 300, ids, N, lp, NULL, NULL);
		for (int i = 0; i + 1 < N; i++)
			ll += lp[i];
		for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
			struct eval_kl k = { 0 };
			enum anser_status st =
				eval_kl_score(a.ctx, a.st, b.ctx, b.st, 300, ids, N,
				              chunks[i], 2, NULL, &k, NULL, &err);
			zero &= st == ANSER_OK && k.n == N - 1 && k.agree == k.n;
			for (size_t t = 0; t < k.n; t++)
				zero &= k.kl[t] == 0.0;
			zero &= k.ll_base == k.ll_model;
			if (i == 0)
				ll1 = k.ll_model;
			/* Chunks group rows differently in the matrix
			 * products: float rounding, nothing more. */
			same &= fabs(k.ll_model - ll) < 1e-6 * fabs(ll) &&
			        fabs(k.ll_model - ll1) < 1e-6 * fabs(ll);
			eval_kl_free(&k);
		}
		CHECK(zero, "driver: a model against itself: KL exactly 0, "
		      "top-1 1, N - 1 positions, chunks of 1 to 1000");
		CHECK(same, "driver: the model's log-likelihood is anser_score's "
		      "at every chunk size");
	}
	/* f16 against f32: small, positive, the same at any chunk size and
	 * on a second run (the states are reset). */
	{
		struct eval_kl k1 = { 0 }, k2 = { 0 };
		struct eval_kl_report r1, r2;
		struct eval_kl_times t = { 0 };
		ok = !eval_kl_score(c.ctx, c.st, a.ctx, a.st, 300, ids, N, 5, 1,
		                    NULL, &k1, &t, &err) &&
		     !eval_kl_score(c.ctx, c.st, a.ctx, a.st, 300, ids, N, 64, 2,
		                    NULL, &k2, NULL, &err);
		eval_kl_summarize(&k1, &r1);
		eval_kl_summarize(&k2, &r2);
		CHECK(ok && r1.kl_mean > 0 && r1.kl_mean < 1e-3 &&
		      r1.top1 > 0.9, "driver: f16 against f32 is small and positive");
		printf("#   f16: kl_mean %.3g, p99 %.3g, top-1 %.4f\n", r1.kl_mean,
		       r1.kl_p99, r1.top1);
		CHECK(ok && fabs(r1.kl_mean - r2.kl_mean) < 1e-3 * r1.kl_mean &&
		      r1.n == r2.n, "driver: chunk size and threads do not change it");
		CHECK(t.model > 0 && t.base > 0 && t.kl > 0, "driver: times filled");
		eval_kl_free(&k1);
		eval_kl_free(&k2);
	}
	{
		struct eval_kl k = { 0 };
		CHECK(eval_kl_score(a.ctx, a.st, b.ctx, b.st, 300, ids, N, 8, 1,
		                    &stop, &k, NULL, &err) == ANSER_E_CANCELLED &&
		      k.n == 0, "driver: a raised cancel flag stops it");
		CHECK(eval_kl_score(a.ctx, a.st, b.ctx, b.st, 300, ids, 1, 8, 1,
		                    NULL, &k, NULL, &err) == ANSER_OK && k.n == 0,
		      "driver: token 0 alone has no position to score");
		ids[N - 1] = 300;
		err.msg[0] = '\0';
		CHECK(eval_kl_score(a.ctx, a.st, b.ctx, b.st, 300, ids, N, 8, 1,
		                    NULL, &k, NULL, &err) == ANSER_E_ARG &&
		      k.n == 0 && strstr(err.msg, "token id 300 is outside"),
		      "driver: a last id (a target only) outside the vocab is refused");
		ids[N - 1] = 1;
		eval_kl_free(&k);
	}
	/* What may be compared. */
	{
		struct anser_model *v = NULL, *d = NULL, *h = NULL;
		ok = !anser_model_open(vocab, &v, NULL) &&
		     !anser_model_open(deep, &d, NULL) &&
		     !anser_model_open(bf16, &h, NULL);
		CHECK(ok && eval_kl_check(a.m, c.m, NULL) == ANSER_OK &&
		      eval_kl_check(a.m, h, NULL) == ANSER_OK,
		      "check: the same model in f16 and bf16 fits");
		err.msg[0] = '\0';
		CHECK(ok && eval_kl_check(a.m, v, &err) == ANSER_E_SHAPE &&
		      !strcmp(err.msg, "vocab size 301, the model's 300"),
		      "check: another vocab size is refused, both sizes named");
		err.msg[0] = '\0';
		CHECK(ok && eval_kl_check(a.m, d, &err) == ANSER_E_SHAPE &&
		      !strcmp(err.msg, "layers 3, the model's 2"),
		      "check: another shape is refused");
		anser_model_free(v);
		anser_model_free(d);
		anser_model_free(h);
	}
	side_close(&a);
	side_close(&b);
	side_close(&c);
	unlink(f32);
	unlink(f16);
	unlink(bf16);
	unlink(vocab);
	unlink(deep);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_rows();
	test_totals();
	test_driver();
	rmdir(tmpdir);
	return done();
}
