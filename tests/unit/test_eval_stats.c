/*
 * test_eval_stats.c - the harness's statistics (eval/stats.c): mean and its
 * stderr, the pooled group stderr, and the bootstrap stderr of perplexity
 * against python3 running lm-eval v0.4.8's procedure (random.Random(i),
 * choices, sample_stddev) on the same numbers.
 */
#include <time.h>
#include <unistd.h>

#include "../../eval/eval.h"
#include "../harness.h"

static char tmpdir[] = "/tmp/anser-test-eval-stats-XXXXXX";

/* metrics.py v0.4.8: mean, perplexity, sample_stddev, _bootstrap_internal,
 * bootstrap_stderr (the multiprocessing pool only changes who runs a chunk). */
static const char pyscript[] =
	"import math, random, sys\n"
	"xs = [float(l) for l in open(sys.argv[1])]\n"
	"iters = int(sys.argv[2])\n"
	"def mean(arr):\n"
	"    return sum(arr) / len(arr)\n"
	"def perplexity(items):\n"
	"    return math.exp(-mean(items))\n"
	"def sample_stddev(arr):\n"
	"    mu = mean(arr)\n"
	"    return math.sqrt(sum([(x - mu) ** 2 for x in arr]) / (len(arr) - 1))\n"
	"res = []\n"
	"chunk_size = min(1000, iters)\n"
	"for i in range(iters // chunk_size):\n"
	"    rnd = random.Random()\n"
	"    rnd.seed(i)\n"
	"    for _ in range(chunk_size):\n"
	"        res.append(perplexity(rnd.choices(xs, k=len(xs))))\n"
	"print(repr(sample_stddev(res)))\n";

/* Log-likelihood-like numbers in (-16, 0], deterministic in seed. */
static double *make_ll(size_t n, uint64_t seed)
{
	double *x = malloc(n * sizeof(*x));

	for (size_t i = 0; i < n; i++) {
		double u;
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		u = (double)(seed >> 11) / 9007199254740992.0;
		x[i] = -16.0 * u * u * u;
	}
	return x;
}

/* python3's bootstrap stderr of the same numbers, or NAN without python3. */
static double python_ppl_stderr(const double *x, size_t n, int iters)
{
	char data[200], script[200], cmd[600], out[64] = "";
	FILE *f;
	double v = NAN;

	snprintf(data, sizeof(data), "%s/ll.txt", tmpdir);
	snprintf(script, sizeof(script), "%s/boot.py", tmpdir);
	f = fopen(data, "w");
	for (size_t i = 0; f && i < n; i++)
		fprintf(f, "%.17g\n", x[i]);
	if (f)
		fclose(f);
	f = fopen(script, "w");
	if (f) {
		fputs(pyscript, f);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "python3 '%s' '%s' %d 2>/dev/null", script, data, iters);
	f = popen(cmd, "r");
	if (!f)
		return NAN;
	if (fgets(out, sizeof(out), f))
		v = strtod(out, NULL);
	if (pclose(f) != 0)
		v = NAN;
	return v;
}

static int close_rel(double a, double b, double tol)
{
	if (fabs(a - b) <= tol * fabs(b))
		return 1;
	printf("#   %.17g vs %.17g (rel %.3g)\n", a, b, fabs(a - b) / fabs(b));
	return 0;
}

static void test_mean(void)
{
	static const double a[] = { 1, 2, 3, 4 }, acc[] = { 0, 1, 1, 0, 1 };

	CHECK(eval_mean(a, 4) == 2.5, "mean of 1..4 is 2.5");
	CHECK(isnan(eval_mean(a, 0)), "mean of nothing is NAN");
	/* sqrt(((1.5^2 + 0.5^2) * 2) / 3) / sqrt(4) = sqrt(5/3) / 2 */
	CHECK(close_rel(eval_mean_stderr(a, 4), sqrt(5.0 / 3.0) / 2.0, 1e-15),
	      "mean_stderr of 1..4 is sqrt(5/3)/2 (sample stddev / sqrt(n))");
	/* mean .6; squares .36*2 + .16*3 = 1.2; sqrt(1.2/4)/sqrt(5) = sqrt(0.06) */
	CHECK(close_rel(eval_mean_stderr(acc, 5), sqrt(0.06), 1e-15),
	      "mean_stderr of accuracies 0,1,1,0,1 is sqrt(0.06)");
	CHECK(isnan(eval_mean_stderr(a, 1)), "mean_stderr of one value is NAN");
}

static void test_pooled(void)
{
	static const double se1[] = { 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01,
	                              0.01, 0.01 };
	static const size_t sz1[] = { 1511, 1511, 1511, 1511, 1511, 1511, 1511, 1511, 1511,
	                              1511, 1511 };
	static const double se2[] = { 0.01, 0.02 };
	static const size_t sz2[] = { 100, 300 };

	/* k equal subtasks of m with stderr s: sqrt(k (m-1) s^2 m / (k m - k) / (k m))
	 * = s / sqrt(k) */
	CHECK(close_rel(eval_pooled_stderr(se1, sz1, 11), 0.01 / sqrt(11.0), 1e-14),
	      "pooled stderr of 11 equal subtasks is se / sqrt(11)");
	/* (99 * 1e-4 * 100 + 299 * 4e-4 * 300) / 398 / 400 = 36.87 / 159200 */
	CHECK(close_rel(eval_pooled_stderr(se2, sz2, 2), sqrt(36.87 / 159200.0), 1e-14),
	      "pooled stderr of sizes 100 and 300 is sqrt(36.87 / 398 / 400)");
	CHECK(isnan(eval_pooled_stderr(se2, sz2, 0)), "pooled stderr of no subtasks is NAN");
}

static void test_bootstrap_python(void)
{
	static const struct {
		size_t n;
		int iters;
		uint64_t seed;
		const char *what;
	} cases[] = {
		{ 5153, 3000, 1, "n=5153, iters=3000 (chunks 0..2)" },
		{ 2, 1000, 2, "n=2, iters=1000 (one chunk)" },
		{ 7, 2500, 3, "n=7, iters=2500 (the harness drops the last 500)" },
		{ 100, 999, 4, "n=100, iters=999 (one chunk of 999)" },
		{ 1000, 40, 5, "n=1000, iters=40" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double *x = make_ll(cases[i].n, cases[i].seed);
		double want = python_ppl_stderr(x, cases[i].n, cases[i].iters);
		double got = eval_ppl_stderr(x, cases[i].n, cases[i].iters);
		char what[200];

		snprintf(what, sizeof(what), "ppl_stderr equals python3's to 1e-12: %s",
		         cases[i].what);
		if (isnan(want))
			t_skip("python3 not available for the bootstrap reference");
		else if (CHECK(close_rel(got, want, 1e-12), what))
			printf("#   %.17g, %s\n", got, got == want ? "bit-identical" :
			       "within tolerance");
		free(x);
	}
}

static void test_bootstrap_edges(void)
{
	double *x = make_ll(10, 9);

	CHECK(isnan(eval_ppl_stderr(x, 1, 1000)), "ppl_stderr of one document is NAN");
	CHECK(isnan(eval_ppl_stderr(x, 10, 1)), "ppl_stderr of one resample is NAN");
	CHECK(isnan(eval_ppl_stderr(x, 10, 0)), "ppl_stderr with iters 0 is NAN");
	CHECK(eval_ppl_stderr(x, 10, 2000) == eval_ppl_stderr(x, 10, 2000) &&
	      eval_ppl_stderr(x, 10, 2000) > 0, "ppl_stderr is deterministic");
	free(x);
}

/*
 * The harness's default: 100000 resamples of n=5153 (515M draws).  The
 * expected value was computed once with the python3 script above on these
 * numbers (make_ll(5153, 42)); it takes python about a minute.
 */
static void test_bootstrap_full(void)
{
	const double want = 3.282078064124549; /* python3 3.11, glibc 2.36 */
	double *x = make_ll(5153, 42);
	struct timespec t0, t1;
	double got, secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	got = eval_ppl_stderr(x, 5153, 100000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	printf("# bootstrap n=5153 iters=100000: %.2f s\n", secs);
	if (CHECK(close_rel(got, want, 1e-12),
	          "ppl_stderr n=5153, iters=100000 equals python3's (precomputed)"))
		printf("#   %.17g, %s\n", got, got == want ? "bit-identical" :
		       "within tolerance");
	free(x);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("# cannot make a temporary directory\n");
		return 1;
	}
	test_mean();
	test_pooled();
	test_bootstrap_edges();
	test_bootstrap_python();
	test_bootstrap_full();
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			printf("# could not remove %s\n", tmpdir);
	}
	return done();
}
