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
 *
 *   bench_infer --model FILE [--make SHAPE TYPE] [--threads N] [--reps N]
 *               [--prompt N] [--decode N] [--no-mmap]
 *
 * times one given model file instead, the way tools/rwkvcpp-bench.c times
 * rwkv.cpp for the side-by-side benchmark (tools/bench-rwkvcpp.sh): the
 * same prompt ids, a warm-up of one whole prefill and 8 single tokens, then
 * the best of --reps (default 3) prefills of --prompt (512) tokens from a
 * fresh state and the best of --reps blocks of --decode (64) single tokens,
 * each with its logits.  It prints key=value lines.  --make writes the
 * file first (random weights of SHAPE in TYPE) when it is missing;
 * --no-mmap reads it into memory (anser run --no-mmap).  After each block
 * of tokens come two baselines: the weights decode reads, read with a plain
 * loop (read_tok_s; decode_share = decode / that), and a 1 GiB buffer
 * (read_gb_s; bw_share = decode's bytes per second / that, the share of
 * the bandwidth bound).
 * bench_infer --bandwidth [THREADS] prints the memory read rate alone.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
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

/* Sixteen-byte vectors, which every x86-64 and ARM64 compiler keeps in
 * registers: 128 bytes a step in eight independent sums. */
typedef uint64_t v2u64 __attribute__((vector_size(16), aligned(1)));

static uint64_t sum_bytes(const unsigned char *p, size_t n)
{
	v2u64 a[8] = { { 0 } };
	size_t i = 0;
	uint64_t s = 0;

	for (; i + 128 <= n; i += 128) {
		/* 4 kB ahead into L2, as the matvecs ask (kernels_x86.c):
		 * without it a plain loop keeps too few misses in flight. */
		__builtin_prefetch(p + i + 4096, 0, 1);
		__builtin_prefetch(p + i + 4096 + 64, 0, 1);
		for (int k = 0; k < 8; k++)
			a[k] += *(const v2u64 *)(p + i + 16 * k);
	}
	for (int k = 0; k < 8; k++)
		s += a[k][0] + a[k][1];
	for (; i < n; i++)
		s += p[i];
	return s;
}

struct readjob {
	const unsigned char *buf;
	size_t n; /* bytes */
	uint64_t sum[64];
};

static void read_part(void *arg, size_t b, size_t e, int thread)
{
	struct readjob *j = arg;
	const size_t per = j->n / 1024;

	j->sum[thread] += sum_bytes(j->buf + b * per, (e - b) * per);
}

/* A 1 GiB buffer (bigger than any cache) and the pool that reads it. */
struct bwbuf {
	struct readjob j;
	struct pool *p;
};

/* In 2 MB pages where the kernel gives them (with 4 kB ones reading is
 * 5-10% slower here): the bound is the best rate a read loop gets. */
static int bw_new(struct bwbuf *b, int threads)
{
	const size_t n = (size_t)1 << 30;
	unsigned char *buf = aligned_alloc((size_t)2 << 20, n);

	b->j = (struct readjob){ .n = n, .buf = buf };
	b->p = pool_new(threads);
	if (!buf || !b->p)
		return -1;
#ifdef MADV_HUGEPAGE
	madvise(buf, n, MADV_HUGEPAGE);
#endif
	memset(buf, 1, n);
	return 0;
}

/* Bytes per second read by the pool's threads summing the buffer, the
 * best of `reps`. */
static double bw_measure(struct bwbuf *b, int reps)
{
	double best = 0;

	for (int r = 0; r < reps; r++) {
		double t = now();
		pool_run(b->p, read_part, &b->j, 1024);
		t = now() - t;
		if (b->j.n / t > best)
			best = b->j.n / t;
	}
	return best;
}

static void bw_free(struct bwbuf *b)
{
	free((void *)b->j.buf);
	pool_free(b->p);
}

static double read_bandwidth(int threads)
{
	struct bwbuf b;
	double bw = 0;

	if (!bw_new(&b, threads))
		bw = bw_measure(&b, 4);
	bw_free(&b);
	return bw;
}

/*
 * The decode bound of one model, measured on its own weights: the time to
 * read every byte decode reads (each matrix but the embedding, in place in
 * the mapping) with a plain vector sum on the same threads.  Measured in
 * the same run as decode, it moves with the machine's memory traffic and
 * sees the same caches; a large L3 can hold part of a small model.
 */
struct span {
	const unsigned char *p;
	size_t n;
};

struct weightread {
	const struct span *spans;
	size_t n_spans;
	size_t total, piece; /* bytes; the byte range is cut into pieces */
	uint64_t sum[256];
};

static void read_weights_part(void *arg, size_t b, size_t e, int thread)
{
	struct weightread *j = arg;
	size_t lo = b * j->piece, hi = e * j->piece, off = 0;

	if (hi > j->total)
		hi = j->total;
	for (size_t k = 0; k < j->n_spans && off < hi; k++) {
		size_t s0 = off, s1 = off + j->spans[k].n;
		off = s1;
		if (s1 <= lo)
			continue;
		if (s0 < lo)
			s0 = lo;
		if (s1 > hi)
			s1 = hi;
		j->sum[thread] += sum_bytes(j->spans[k].p + (s0 - (off - j->spans[k].n)),
		                            s1 - s0);
	}
}

/* Seconds to read the weights once, the best of `reps`. */
static double read_weights(struct pool *p, struct weightread *j, int reps)
{
	double best = 1e30;

	for (int r = 0; r < reps; r++) {
		double t = now();
		pool_run_grain(p, read_weights_part, j, (j->total + j->piece - 1) /
		               j->piece, 16);
		t = now() - t;
		if (t < best)
			best = t;
	}
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
	int big; /* only when named: --make, for the memory figures */
};

/* LoRA ranks as the official model code derives them from C. */
static const struct shape shapes[] = {
	{ "0.1b", 12, 768, 64, 64, 32, 128, 0 },
	{ "1.5b", 24, 2048, 96, 96, 64, 256, 0 },
	{ "2.9b", 32, 2560, 96, 96, 64, 320, 1 },
	{ "13.3b", 61, 4096, 128, 128, 96, 480, 1 },
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

/* ---- one given model file, for the side-by-side with rwkv.cpp ---- */

struct model_opts {
	const char *path;
	const char *make_shape, *make_type; /* --make: write it if missing */
	long threads, reps, prompt, decode;
	int no_mmap; /* --no-mmap: read the file into memory */
};

static long parse_count(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "bench_infer: %s: bad value '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

static void eval_or_die(struct anser_ctx *c, struct anser_state *s,
                        const int32_t *tok, size_t n, float *logits)
{
	struct anser_err err = { 0 };

	if (anser_eval(c, s, tok, n, NULL, logits, &err)) {
		fprintf(stderr, "bench_infer: %s\n", err.msg);
		exit(1);
	}
}

/* The protocol of tools/rwkvcpp-bench.c, step for step. */
static int model_mode(int argc, char **argv)
{
	struct model_opts o = { NULL, NULL, NULL, 2, 3, 512, 64, 0 };
	struct anser_err err = { 0 };
	struct anser_ctx_params cp = { 0 };
	struct anser_model *m;
	struct anser_ctx *c;
	struct anser_state *s;
	struct rusage ru;
	int32_t *ids;
	float *logits;
	size_t n_vocab, argmax = 0;
	double best_prefill = 0, best_decode = 0, best_read = 0, load, maxlogit;
	double bw = 0;
	struct bwbuf bb;
	struct weightread wr = { 0 };
	struct span *spans;
	struct pool *rp;

	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i];

		if (!strcmp(a, "--no-mmap")) {
			o.no_mmap = 1;
			i--;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "usage: bench_infer --model FILE [--make SHAPE "
			        "TYPE] [--threads N] [--reps N] [--prompt N] "
			        "[--decode N] [--no-mmap]\n");
			return 2;
		}
		if (!strcmp(a, "--model"))
			o.path = argv[i + 1];
		else if (!strcmp(a, "--make") && i + 2 < argc) {
			o.make_shape = argv[i + 1];
			o.make_type = argv[++i + 1];
		}
		else if (!strcmp(a, "--threads"))
			o.threads = parse_count(a, argv[i + 1], 1, 256);
		else if (!strcmp(a, "--reps"))
			o.reps = parse_count(a, argv[i + 1], 1, 1000);
		else if (!strcmp(a, "--prompt"))
			o.prompt = parse_count(a, argv[i + 1], 16, 1 << 16);
		else if (!strcmp(a, "--decode"))
			o.decode = parse_count(a, argv[i + 1], 1, 1 << 20);
		else {
			fprintf(stderr, "bench_infer: unknown option '%s'\n", a);
			return 2;
		}
	}
	if (!o.path) {
		fprintf(stderr, "bench_infer: --model FILE is required\n");
		return 2;
	}
	if (o.make_shape) {
		const struct shape *sh = NULL;
		int t = anser_dtype_parse(o.make_type);
		for (size_t i = 0; i < ARRAY_SIZE(shapes); i++)
			if (!strcmp(shapes[i].name, o.make_shape))
				sh = &shapes[i];
		if (!sh || t < 0) {
			fprintf(stderr, "bench_infer: --make: unknown shape '%s' or "
			        "type '%s'\n", o.make_shape, o.make_type);
			return 2;
		}
		if (ensure_model(o.path, sh, (enum anser_dtype)t))
			return 1;
	}

	load = now();
	if (anser_model_open_opts(o.path, &(struct anser_model_opts){
	                          .no_mmap = o.no_mmap }, &m, &err)) {
		fprintf(stderr, "bench_infer: %s\n", err.msg);
		return 1;
	}
	cp.n_threads = (int)o.threads;
	if (anser_ctx_new(m, &cp, &c, &err) || anser_state_new(m, &s, &err)) {
		fprintf(stderr, "bench_infer: %s\n", err.msg);
		return 1;
	}
	load = now() - load;
	n_vocab = (size_t)anser_model_hparams(m)->vocab_size;
	ids = malloc((size_t)o.prompt * sizeof(*ids));
	logits = malloc(n_vocab * sizeof(float));
	if (!ids || !logits) {
		fprintf(stderr, "bench_infer: out of memory\n");
		return 1;
	}
	for (long i = 0; i < o.prompt; i++)
		ids[i] = (int32_t)(((i * 7919) % 65000 + 1) % (long)n_vocab);

	/* Warm-up: faults the weights in, starts the pool. */
	eval_or_die(c, s, ids, (size_t)o.prompt, logits);
	for (int i = 0; i < 8; i++)
		eval_or_die(c, s, &ids[i], 1, logits);

	for (long r = 0; r < o.reps; r++) {
		double t;

		anser_state_reset(s);
		t = now();
		eval_or_die(c, s, ids, (size_t)o.prompt, logits);
		t = now() - t;
		if (o.prompt / t > best_prefill)
			best_prefill = o.prompt / t;
	}
	for (size_t i = 1; i < n_vocab; i++)
		if (logits[i] > logits[argmax])
			argmax = i;
	maxlogit = logits[argmax];
	/* What decode reads per token: every matrix but the embedding. */
	wr.spans = spans = calloc(anser_model_n_tensors(m), sizeof(*spans));
	if (!spans || !(rp = pool_new((int)o.threads))) {
		fprintf(stderr, "bench_infer: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < anser_model_n_tensors(m); i++) {
		size_t nb;
		const struct anser_tensor_info *ti = anser_model_tensor(m, i);
		const void *d = anser_model_tensor_data(m, i, &nb);
		if (ti->ndim == 2 && strcmp(ti->name, "emb.weight")) {
			spans[wr.n_spans++] = (struct span){ d, nb };
			wr.total += nb;
		}
	}
	wr.piece = 1 << 20;
	/* The state now holds the prompt; decode continues from it.  Each
	 * block of tokens is followed by the two baselines: reading the same
	 * bytes, and the machine's read rate.  The peak RSS is taken before
	 * the second's 1 GiB buffer exists: decoding allocates nothing more. */
	for (long r = 0; r < o.reps; r++) {
		double t = now();

		for (long i = 0; i < o.decode; i++)
			eval_or_die(c, s, &ids[i % o.prompt], 1, logits);
		t = now() - t;
		if (o.decode / t > best_decode)
			best_decode = o.decode / t;
		if (r == 0) {
			getrusage(RUSAGE_SELF, &ru);
			if (bw_new(&bb, (int)o.threads)) {
				fprintf(stderr, "bench_infer: out of memory\n");
				return 1;
			}
		}
		t = read_weights(rp, &wr, 8);
		if (1 / t > best_read)
			best_read = 1 / t;
		t = bw_measure(&bb, 2);
		if (t > bw)
			bw = t;
	}
	bw_free(&bb);
	printf("weight_mb=%.1f\nread_tok_s=%.2f\ndecode_share=%.3f\n"
	       "read_gb_s=%.2f\nbw_share=%.3f\n", (double)wr.total / 1e6,
	       best_read, best_decode / best_read, bw / 1e9,
	       best_decode * (double)wr.total / bw);
	pool_free(rp);
	free(spans);
	printf("tool=anser\nthreads=%ld\nreps=%ld\nload_s=%.3f\n"
	       "prefill_tokens=%ld\nprefill_tok_s=%.2f\ndecode_tokens=%ld\n"
	       "decode_tok_s=%.2f\npeak_rss_mb=%.0f\nprompt_argmax=%zu\n"
	       "prompt_maxlogit=%.4f\n", o.threads, o.reps, load, o.prompt,
	       best_prefill, o.decode, best_decode, ru.ru_maxrss / 1024.0, argmax,
	       maxlogit);
	free(ids);
	free(logits);
	anser_state_free(s);
	anser_ctx_free(c);
	anser_model_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	static const enum anser_dtype types[] = {
		ANSER_DTYPE_F32, ANSER_DTYPE_F16, ANSER_DTYPE_BF16,
		ANSER_DTYPE_Q8_0, ANSER_DTYPE_Q4_0,
	};
	const char *kname;
	double bw[2], peak[2];

	if (argc >= 2 && !strcmp(argv[1], "--bandwidth")) {
		/* For tools/bench-rwkvcpp.sh: the bound decode is held to. */
		int th = argc > 2 ? (int)parse_count("--bandwidth", argv[2], 1, 256) : 2;
		printf("read_gb_s=%.2f\n", read_bandwidth(th) / 1e9);
		return 0;
	}
	if (argc >= 2 && !strncmp(argv[1], "--", 2))
		return model_mode(argc, argv);
	if (argc < 2) {
		fprintf(stderr, "usage: bench_infer dir [0.1b|1.5b ...]\n"
		        "       bench_infer --bandwidth [THREADS]\n"
		        "       bench_infer --model FILE [--make SHAPE TYPE] "
		        "[--threads N] [--reps N] [--prompt N] [--decode N]\n");
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
		int wanted = argc == 2 && !shapes[s].big;
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
