/*
 * bench_infer.c - inference speed for 'make bench'.
 *
 *   bench_infer DIR [SHAPE...]     SHAPE: 0.1b (L12 C768) or 1.5b (L24 C2048)
 *
 * Writes random-weight models of the released shapes (V 65536) in f32, f16
 * and bf16 into DIR once, then for 1 and 2 threads measures prefill of a
 * 512-token prompt and decode of single tokens.  Baselines measured in the
 * same run give the bounds: memory read bandwidth (decode streams every
 * matrix but the embedding once per token) and sgemm throughput (prefill is
 * matrix products).  Each model runs in a child process so its peak RSS is
 * its own.
 */
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/kernels.h"

#define PROMPT 512
#define DECODE 32

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- baselines ---- */

struct readjob {
	const float *buf;
	size_t n;
	double sum[64];
};

static void read_part(void *arg, size_t b, size_t e, int thread)
{
	struct readjob *j = arg;
	const size_t per = j->n / 1024;
	float acc[8] = { 0 };

	for (size_t blk = b; blk < e; blk++) {
		const float *p = j->buf + blk * per;
		for (size_t i = 0; i < per; i += 8)
			for (int k = 0; k < 8; k++)
				acc[k] += p[i + k];
	}
	j->sum[thread] = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] +
	                 acc[6] + acc[7];
}

/* Bytes per second read by `threads` threads summing a 1 GiB buffer. */
static double read_bandwidth(int threads)
{
	struct readjob j = { .n = (size_t)1 << 28 };
	struct pool *p = pool_new(threads);
	float *buf = malloc(j.n * sizeof(float));
	double best = 0;

	for (size_t i = 0; i < j.n; i++)
		buf[i] = (float)(i & 7);
	j.buf = buf;
	for (int r = 0; r < 4; r++) {
		double t = now();
		pool_run(p, read_part, &j, 1024);
		t = now() - t;
		if (j.n * 4 / t > best)
			best = j.n * 4 / t;
	}
	free(buf);
	pool_free(p);
	return best;
}

/* FLOP/s of f32 sgemm through our tiles: x[512][C] times W[F][C]^T. */
static double sgemm_peak(int threads, int C, int F)
{
	struct pool *p = pool_new(threads);
	float *w = malloc((size_t)F * C * 4), *x = malloc((size_t)PROMPT * C * 4);
	float *y = malloc((size_t)PROMPT * F * 4);
	size_t per = linear_scratch_floats(C);
	float *scratch = malloc(per * (size_t)threads * 4);
	struct wmat m = { .data = w, .dtype = ANSER_DTYPE_F32, .rows = F, .cols = C };
	struct linear_job job = { &m, x, y };
	double best = 0;

	for (size_t i = 0; i < (size_t)F * C; i++)
		w[i] = (float)(i % 13) * 0.01f;
	for (size_t i = 0; i < (size_t)PROMPT * C; i++)
		x[i] = (float)(i % 7) * 0.1f;
	for (int r = 0; r < 5; r++) {
		double t = now();
		linear_many(p, &job, 1, PROMPT, scratch, per);
		t = now() - t;
		if (2.0 * PROMPT * F * C / t > best)
			best = 2.0 * PROMPT * F * C / t;
	}
	free(w);
	free(x);
	free(y);
	free(scratch);
	pool_free(p);
	return best;
}

/* ---- one model ---- */

struct shape {
	const char *name;
	int L, C, Dw, Da, Dv, Dg;
};

static const struct shape shapes[] = {
	{ "0.1b", 12, 768, 64, 64, 32, 128 },
	{ "1.5b", 24, 2048, 96, 96, 64, 256 },
};

struct result {
	double prefill[2], decode[2]; /* tok/s for 1 and 2 threads */
	double rss_mb;
	double weight_bytes;          /* read per decoded token */
	double flops;                 /* per prefilled token */
};

static int ensure_model(const char *path, const struct shape *s,
                        enum anser_dtype t)
{
	struct anser_hparams hp = {
		.n_layer = s->L, .n_embd = s->C, .head_size = 64,
		.vocab_size = 65536, .ffn_size = 4 * s->C,
		.lora_decay = s->Dw, .lora_iclr = s->Da, .lora_value = s->Dv,
		.lora_gate = s->Dg,
	};
	struct anser_err err = { 0 };
	struct stat sb;

	if (!stat(path, &sb))
		return 0;
	fprintf(stderr, "bench: writing %s\n", path);
	if (anser_random_model(path, &hp, t, 1, &err)) {
		fprintf(stderr, "bench: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* Runs in a child: fills r and exits. */
static void measure(const char *path, struct result *r)
{
	struct anser_err err = { 0 };
	struct anser_model *m;
	struct rusage ru;
	int32_t prompt[PROMPT];

	if (anser_model_open(path, &m, &err)) {
		fprintf(stderr, "bench: %s\n", err.msg);
		exit(1);
	}
	r->weight_bytes = 0;
	for (size_t i = 0; i < anser_model_n_tensors(m); i++) {
		size_t nb;
		const struct anser_tensor_info *t = anser_model_tensor(m, i);
		anser_model_tensor_data(m, i, &nb);
		if (t->ndim == 2 && strcmp(t->name, "emb.weight"))
			r->weight_bytes += (double)nb;
		/* Prefill computes the head for the last row only. */
		if (t->ndim == 2 && strcmp(t->name, "emb.weight") &&
		    strcmp(t->name, "head.weight"))
			r->flops += 2.0 * (double)t->numel;
	}
	for (int i = 0; i < PROMPT; i++)
		prompt[i] = (int32_t)((i * 7919) % 65000 + 1);
	for (int th = 1; th <= 2; th++) {
		struct anser_ctx_params cp = { .n_threads = th };
		struct anser_ctx *c;
		struct anser_state *s;
		float *logits = malloc(65536 * 4);
		double t;

		anser_ctx_new(m, &cp, &c, &err);
		anser_state_new(m, &s, &err);
		/* Warm the page cache and the pool once. */
		anser_eval(c, s, prompt, 8, NULL, logits, &err);
		anser_state_reset(s);
		t = now();
		anser_eval(c, s, prompt, PROMPT, NULL, logits, &err);
		r->prefill[th - 1] = PROMPT / (now() - t);
		t = now();
		for (int i = 0; i < DECODE; i++) {
			int32_t tok = prompt[i];
			anser_eval(c, s, &tok, 1, NULL, logits, &err);
		}
		r->decode[th - 1] = DECODE / (now() - t);
		free(logits);
		anser_state_free(s);
		anser_ctx_free(c);
	}
	getrusage(RUSAGE_SELF, &ru);
	r->rss_mb = ru.ru_maxrss / 1024.0;
	anser_model_free(m);
}

static int run_child(const char *path, struct result *r)
{
	int fd[2];
	pid_t pid;
	int status;

	if (pipe(fd))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct result mine = { 0 };
		close(fd[0]);
		measure(path, &mine);
		if (write(fd[1], &mine, sizeof(mine)) != (ssize_t)sizeof(mine))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], r, sizeof(*r)) != (ssize_t)sizeof(*r))
		r->rss_mb = -1;
	close(fd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const enum anser_dtype types[] = {
		ANSER_DTYPE_F32, ANSER_DTYPE_F16, ANSER_DTYPE_BF16,
	};
	const char *kname;
	double bw[2], peak[2];

	if (argc < 2) {
		fprintf(stderr, "usage: bench_infer dir [0.1b|1.5b ...]\n");
		return 2;
	}
	blas_init();
	kernels_rows_dot(ANSER_DTYPE_F16, &kname);
	for (int th = 1; th <= 2; th++) {
		bw[th - 1] = read_bandwidth(th);
		peak[th - 1] = sgemm_peak(th, 768, 3072);
	}
	printf("baselines: memory read %.1f GB/s (1 thread), %.1f GB/s (2 threads); "
	       "sgemm %.1f GFLOP/s (1 thread), %.1f GFLOP/s (2 threads); "
	       "kernels: %s\n\n", bw[0] / 1e9, bw[1] / 1e9, peak[0] / 1e9,
	       peak[1] / 1e9, kname);
	printf("%-5s %-5s %3s %10s %10s %11s %11s %9s\n", "shape", "type", "thr",
	       "prefill", "decode", "decode/bw", "prefill/pk", "peak RSS");
	for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
		int wanted = argc == 2;
		for (int a = 2; a < argc; a++)
			wanted |= !strcmp(argv[a], shapes[s].name);
		if (!wanted)
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(types); k++) {
			char path[1024];
			struct result r = { 0 };
			snprintf(path, sizeof(path), "%s/rwkv7-%s-%s.anser", argv[1],
			         shapes[s].name, anser_dtype_name(types[k]));
			if (ensure_model(path, &shapes[s], types[k]) ||
			    run_child(path, &r)) {
				printf("%-5s %-5s failed\n", shapes[s].name,
				       anser_dtype_name(types[k]));
				continue;
			}
			for (int th = 0; th < 2; th++)
				printf("%-5s %-5s %3d %6.1f t/s %6.2f t/s %10.0f%% %10.0f%% %6.0f MB\n",
				       shapes[s].name, anser_dtype_name(types[k]), th + 1,
				       r.prefill[th], r.decode[th],
				       100.0 * r.decode[th] * r.weight_bytes / bw[th],
				       100.0 * r.prefill[th] * r.flops / peak[th],
				       r.rss_mb);
		}
	}
	printf("\ndecode/bw: weight bytes read per second while decoding, as a share of\n"
	       "the measured read bandwidth; prefill/pk: model FLOP/s while\n"
	       "prefilling %d tokens, as a share of the measured sgemm rate.\n", PROMPT);
	return 0;
}
