/*
 * bench_tokenizer.c - how long the World tokenizer takes to build and how
 * fast it encodes.  Not part of `make test`; build it like a unit test:
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -o build/bench_tokenizer \
 *       tests/bench/bench_tokenizer.c build/libanser.a \
 *       $(pkg-config --libs zlib libzip libcjson libcurl openblas) -lm -lpthread
 *   build/bench_tokenizer VOCAB TEXT [ROUNDS]
 *
 * TEXT is encoded whole, ROUNDS times (default 10); the best round counts.
 * For LAMBADA, concatenate its texts first, e.g. with
 *   python3 -c 'import json,sys; sys.stdout.write("".join(json.loads(l)["text"]
 *       for l in open(sys.argv[1])))' lambada_test.jsonl > /tmp/lambada.txt
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../lib/anser.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0) {
		rewind(f);
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	struct anser_tokenizer *t = NULL;
	struct anser_err err = { 0 };
	size_t vlen = 0, tlen = 0, n = 0;
	char *vocab, *text;
	int32_t *ids;
	int rounds = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 10;
	double best_build = 1e9, best_enc = 1e9, first_build = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_tokenizer VOCAB TEXT [ROUNDS]\n");
		return 2;
	}
	if (rounds < 1)
		rounds = 1;
	vocab = read_all(argv[1], &vlen);
	text = read_all(argv[2], &tlen);
	if (!vocab || !text) {
		fprintf(stderr, "bench_tokenizer: cannot read '%s'\n",
		        vocab ? argv[2] : argv[1]);
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		double t0 = now();
		anser_tokenizer_free(t);
		t = NULL;
		if (anser_tokenizer_new(vocab, vlen, &t, &err)) {
			fprintf(stderr, "bench_tokenizer: %s\n", err.msg);
			return 1;
		}
		double dt = now() - t0;
		if (r == 0)
			first_build = dt; /* cold: fresh pages, as in a real run */
		if (dt < best_build)
			best_build = dt;
	}
	ids = malloc((tlen + 1) * sizeof(*ids));
	if (!ids)
		return 1;
	for (int r = 0; r < rounds; r++) {
		double t0 = now(), dt;
		n = anser_tokenizer_encode(t, text, tlen, ids);
		dt = now() - t0;
		if (dt < best_enc)
			best_enc = dt;
	}
	printf("vocab: %d tokens from %zu bytes, built in %.2f ms (first), "
	       "%.2f ms (best of %d)\n", anser_tokenizer_n_tokens(t), vlen,
	       first_build * 1e3, best_build * 1e3, rounds);
	printf("text:  %zu bytes -> %zu tokens (%.2f bytes/token)\n", tlen, n,
	       n ? (double)tlen / (double)n : 0.0);
	printf("encode: %.2f ms, %.1f MB/s, %.2f Mtokens/s (best of %d)\n",
	       best_enc * 1e3, (double)tlen / best_enc / 1e6,
	       (double)n / best_enc / 1e6, rounds);
	anser_tokenizer_free(t);
	free(ids);
	free(vocab);
	free(text);
	return 0;
}
