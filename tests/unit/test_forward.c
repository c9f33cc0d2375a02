/*
 * test_forward.c - the forward pass against the golden float64 reference:
 * logits at every position, the final state, and a save/load/continue round
 * trip, in one-token and sequence mode, on 1 and 2 threads, for each stored
 * type.
 */
#include <math.h>
#include <unistd.h>

#include <cJSON.h>

#include "../../lib/internal.h"
#include "../harness.h"

static char root[1024], tmpdir[64] = "/tmp/anser-test-fwd-XXXXXX";

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

struct golden {
	const char *name;
	int32_t tokens[64], cont[16];
	int n_tokens, n_cont, V;
	float *logits, *state, *cont_logits;
	size_t n_state;
};

static int load_golden(const char *name, struct golden *g)
{
	char path[1200];
	cJSON *j, *m, *e;
	char *text;
	size_t len;

	memset(g, 0, sizeof(*g));
	g->name = name;
	snprintf(path, sizeof(path), "%s/tests/fixtures/golden/manifest.json", root);
	text = slurp(path, NULL);
	j = cJSON_Parse(text);
	m = cJSON_GetObjectItem(j, name);
	g->V = cJSON_GetObjectItem(m, "vocab_size")->valueint;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(m, "tokens"))
		g->tokens[g->n_tokens++] = e->valueint;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(m, "cont_tokens"))
		g->cont[g->n_cont++] = e->valueint;
	cJSON_Delete(j);
	free(text);
	snprintf(path, sizeof(path), "%s/tests/fixtures/golden/%s.logits.f32", root, name);
	g->logits = slurp(path, &len);
	if (!g->logits || len != (size_t)g->n_tokens * (size_t)g->V * 4)
		return 0;
	snprintf(path, sizeof(path), "%s/tests/fixtures/golden/%s.state.f32", root, name);
	g->state = slurp(path, &g->n_state);
	g->n_state /= 4;
	snprintf(path, sizeof(path), "%s/tests/fixtures/golden/%s.cont.logits.f32", root, name);
	g->cont_logits = slurp(path, &len);
	return g->state && g->cont_logits && len == (size_t)g->n_cont * (size_t)g->V * 4;
}

static void free_golden(struct golden *g)
{
	free(g->logits);
	free(g->state);
	free(g->cont_logits);
}

static double max_diff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		if (!(d <= m)) /* also catches NaN */
			m = isnan(d) ? INFINITY : d;
	}
	return m;
}

/* Converts the golden checkpoint to `dtype` (-1: its own) in tmpdir. */
static int convert(const char *name, int dtype, char *out, size_t size)
{
	char in[1200];
	struct anser_convert_opts o = { .dtype = dtype };
	struct anser_err err = { 0 };

	snprintf(in, sizeof(in), "%s/tests/fixtures/golden/%s.pth", root, name);
	snprintf(out, size, "%s/%s-%d.anser", tmpdir, name, dtype);
	if (access(out, F_OK) == 0)
		return 1;
	if (anser_convert_pth(in, out, &o, NULL, &err)) {
		printf("# convert: %s\n", err.msg);
		return 0;
	}
	return 1;
}

/*
 * Runs all tokens with the given chunk size and threads; checks every
 * position's logits and the final state; then saves the state, loads it
 * into a fresh one and checks the continuation.
 */
static void run_case(const struct golden *g, int dtype, int chunk, int threads,
                     double tol)
{
	char path[1200], what[800], spath[1300];
	struct anser_ctx_params cp = { .n_threads = threads, .chunk = chunk };
	struct anser_err err = { 0 };
	struct anser_model *m = NULL;
	struct anser_ctx *c = NULL;
	struct anser_state *s = NULL, *s2 = NULL;
	size_t V = (size_t)g->V, n_state;
	uint8_t want[64];
	float *logits = malloc((size_t)g->n_tokens * V * 4);
	double d;

	if (!convert(g->name, dtype, path, sizeof(path)) ||
	    anser_model_open(path, &m, &err) || anser_ctx_new(m, &cp, &c, &err) ||
	    anser_state_new(m, &s, &err) || anser_state_new(m, &s2, &err)) {
		snprintf(what, sizeof(what), "%s: set-up (%s)", g->name, err.msg);
		CHECK(0, what);
		goto out;
	}
	memset(want, 1, sizeof(want));
	CHECK_STATUS(anser_eval(c, s, g->tokens, (size_t)g->n_tokens, want, logits, &err),
	             ANSER_OK, "eval runs");
	d = max_diff(logits, g->logits, (size_t)g->n_tokens * V);
	snprintf(what, sizeof(what), "%s %s chunk %d threads %d: logits at all %d positions within %g (max %.2g)",
	         g->name, dtype < 0 ? "own type" : anser_dtype_name(dtype), chunk, threads,
	         g->n_tokens, tol, d);
	CHECK(d <= tol, what);
	d = max_diff(anser_state_data(s, &n_state), g->state, g->n_state);
	snprintf(what, sizeof(what), "%s: final state within %g (max %.2g)", g->name, tol, d);
	CHECK(n_state == g->n_state && d <= tol, what);
	snprintf(spath, sizeof(spath), "%s/%s.state", tmpdir, g->name);
	CHECK_STATUS(anser_state_save(s, spath, &err), ANSER_OK, "state saves");
	CHECK_STATUS(anser_state_load(s2, spath, &err), ANSER_OK, "state loads");
	CHECK(!memcmp(anser_state_data(s2, NULL), anser_state_data(s, NULL), n_state * 4),
	      "the loaded state equals the saved one bit for bit");
	memset(want, 1, sizeof(want));
	anser_eval(c, s2, g->cont, (size_t)g->n_cont, want, logits, &err);
	d = max_diff(logits, g->cont_logits, (size_t)g->n_cont * V);
	snprintf(what, sizeof(what), "%s: save, load, continue reproduces the continuation (max %.2g)",
	         g->name, d);
	CHECK(d <= tol, what);
	/* want == NULL: only the last position. */
	anser_state_reset(s);
	anser_eval(c, s, g->tokens, (size_t)g->n_tokens, NULL, logits, &err);
	d = max_diff(logits, g->logits + (size_t)(g->n_tokens - 1) * V, V);
	CHECK(d <= tol, "without a mask only the last row is written, and it is right");
out:
	free(logits);
	anser_state_free(s);
	anser_state_free(s2);
	anser_ctx_free(c);
	anser_model_free(m);
}

static void test_bad_input(const struct golden *g)
{
	char path[1200], other[1200];
	struct anser_err err = { 0 };
	struct anser_model *m = NULL, *m2 = NULL;
	struct anser_ctx *c = NULL;
	struct anser_state *s = NULL, *s2 = NULL;
	int32_t bad[2] = { 1, 99999 };

	convert(g->name, -1, path, sizeof(path));
	convert("tiny", -1, other, sizeof(other));
	anser_model_open(path, &m, &err);
	anser_model_open(other, &m2, &err);
	anser_ctx_new(m, NULL, &c, &err);
	anser_state_new(m, &s, &err);
	anser_state_new(m2, &s2, &err);
	CHECK(anser_eval(c, s, bad, 2, NULL, NULL, &err) == ANSER_E_ARG &&
	      strstr(err.msg, "99999"), "a token outside the vocab is refused by id");
	CHECK(anser_eval(c, s2, bad, 1, NULL, NULL, &err) == ANSER_E_ARG,
	      "a state of another model shape is refused");
	snprintf(path, sizeof(path), "%s/other.state", tmpdir);
	anser_state_save(s2, path, &err);
	CHECK(anser_state_load(s, path, &err) == ANSER_E_ARG && strstr(err.msg, "not this one"),
	      "loading a state file of another model is refused, saying so");
	/* A state-tuning .pth: time_state[h][j][i] becomes S[h][i][j]. */
	{
		size_t n, len;
		float *want, *st;
		int wrong = 0;
		snprintf(path, sizeof(path), "%s/tests/fixtures/state-micro.expect.f32", root);
		want = slurp(path, &len);
		snprintf(path, sizeof(path), "%s/tests/fixtures/state-micro.pth", root);
		CHECK_STATUS(anser_state_load(s, path, &err), ANSER_OK,
		             "a state-tuning .pth loads into the micro model's state");
		st = anser_state_data(s, &n);
		for (int i = 0; want && len == 64 * 64 * 4 && i < 64; i++)
			for (int j = 0; j < 64; j++)
				wrong += st[64 + i * 64 + j] != want[j * 64 + i];
		for (int k = 0; k < 64; k++)
			wrong += st[k] != 0.0f || st[64 + 4096 + k] != 0.0f;
		CHECK(want && wrong == 0, "its wkv is time_state transposed; the shifts are zero");
		free(want);
	}
	anser_state_free(s);
	anser_state_free(s2);
	anser_ctx_free(c);
	anser_model_free(m);
	anser_model_free(m2);
}

/*
 * Three sequences of different lengths in one anser_eval_batch, each from a
 * zero state: every one must match the golden logits of its own prefix, and
 * the scores must be the log-softmax at the next golden token.
 */
static void test_batch(const struct golden *g, int chunk, int threads)
{
	char path[1200], what[200];
	struct anser_ctx_params cp = { .n_threads = threads, .chunk = chunk };
	struct anser_err err = { 0 };
	struct anser_model *m = NULL;
	struct anser_ctx *c = NULL;
	struct anser_state *st[3] = { 0 };
	const size_t V = (size_t)g->V, len[3] = { 20, 48, 5 };
	uint8_t want[64];
	float *lg[3];
	double lp[3][64], worst = 0;
	struct anser_seq q[3];
	int greedy_ok = 1;
	uint8_t gr[3][64];

	convert(g->name, -1, path, sizeof(path));
	anser_model_open(path, &m, &err);
	anser_ctx_new(m, &cp, &c, &err);
	memset(want, 1, sizeof(want));
	for (int i = 0; i < 3; i++) {
		anser_state_new(m, &st[i], &err);
		lg[i] = malloc(len[i] * V * 4);
		q[i] = (struct anser_seq){ .state = st[i], .tokens = g->tokens,
		                           .n = len[i], .want = want, .logits = lg[i],
		                           .targets = g->tokens + 1, .lp = lp[i],
		                           .greedy = gr[i] };
	}
	/* The last row of the full sequence has no next golden token. */
	q[1].n = 47;
	CHECK_STATUS(anser_eval_batch(c, q, 3, &err), ANSER_OK, "batch runs");
	for (int i = 0; i < 3; i++) {
		double d = max_diff(lg[i], g->logits, q[i].n * V);
		if (d > worst)
			worst = d;
		for (size_t t = 0; t < q[i].n; t++) {
			const float *row = g->logits + t * V;
			double mx = row[0], sum = 0;
			size_t arg = 0;
			for (size_t k = 1; k < V; k++)
				if (row[k] > mx) {
					mx = row[k];
					arg = k;
				}
			for (size_t k = 0; k < V; k++)
				sum += exp(row[k] - mx);
			d = fabs(lp[i][t] - (row[g->tokens[t + 1]] - mx - log(sum)));
			if (d > worst)
				worst = d;
			greedy_ok &= gr[i][t] == (arg == (size_t)g->tokens[t + 1]);
		}
		free(lg[i]);
		anser_state_free(st[i]);
	}
	snprintf(what, sizeof(what), "%s: 3 sequences in one batch (chunk %d, %d threads) "
	         "match their own golden logits and scores (max %.2g)", g->name, chunk,
	         threads, worst);
	CHECK(worst < 1e-4 && greedy_ok, what);
	anser_ctx_free(c);
	anser_model_free(m);
}

int main(void)
{
	static const char *const names[] = { "micro", "tiny", "small" };
	const char *r = getenv("ANSER_ROOT");

	snprintf(root, sizeof(root), "%s", r ? r : ".");
	if (!mkdtemp(tmpdir))
		return 1;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct golden g;
		if (!CHECK(load_golden(names[i], &g), "golden data loads")) {
			free_golden(&g);
			continue;
		}
		/* The stored type itself, or a wider one: the weights are exact
		 * (micro is f32, tiny bf16, small f16: each kernel type is
		 * checked against the reference at 1e-4). */
		run_case(&g, -1, 1, 1, 1e-4);
		run_case(&g, -1, 1, 2, 1e-4);
		run_case(&g, -1, 7, 2, 1e-4);
		run_case(&g, -1, 128, 1, 1e-4);
		run_case(&g, -1, 128, 2, 1e-4);
		run_case(&g, ANSER_DTYPE_F32, 16, 2, 1e-4);
		/* Narrower types round the weights, which moves the logits
		 * (about 0.01 for f32 -> f16 and 0.3 for f16 -> bf16 on these
		 * random models): a loose bound that still catches a wrong
		 * conversion. */
		run_case(&g, ANSER_DTYPE_F16, 16, 2, 2e-2);
		run_case(&g, ANSER_DTYPE_BF16, 16, 2, 0.5);
		/* Quantized matrices (and a q8_0 head): chunk 1 takes the
		 * integer kernels, chunk 16 the dequantized tiles.  Weight
		 * errors of ~0.6% (q8_0) and ~9% (q4_0) of a weight's spread
		 * grow through these random models to max logit moves of
		 * about 0.9 and 5.6 (logits spread ~2).  These bounds catch a
		 * broken type; the KL figures of anser eval measure quality. */
		run_case(&g, ANSER_DTYPE_Q8_0, 1, 2, 1.5);
		run_case(&g, ANSER_DTYPE_Q8_0, 16, 2, 1.5);
		run_case(&g, ANSER_DTYPE_Q4_0, 1, 2, 8);
		run_case(&g, ANSER_DTYPE_Q4_0, 16, 1, 8);
		test_batch(&g, 16, 2);
		test_batch(&g, 128, 1);
		test_batch(&g, 1, 2);
		/* The plain-C twins of the SIMD kernels, end to end. */
		setenv("ANSER_KERNELS", "ref", 1);
		run_case(&g, -1, 1, 2, 1e-4);
		unsetenv("ANSER_KERNELS");
		if (i == 0)
			test_bad_input(&g);
		free_golden(&g);
	}
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			return 1;
	}
	return done();
}
