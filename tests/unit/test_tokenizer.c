/*
 * test_tokenizer.c - the World tokenizer: greedy longest match on synthetic
 * vocabs (against a brute-force encoder), the golden cases and LAMBADA with
 * the real vocab when it is available, the UTF-8 output stream, and clean
 * failure (bad vocab, no vocab in a model, every failed allocation).
 */
#include <cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/internal.h" /* anser_fail_alloc_after */
#include "../harness.h"

/* ---------------------------------------------------------------- helpers */

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0) {
		fclose(f);
		return NULL;
	}
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* $ANSER_DATA/name, else $ANSER_ROOT/../shared/<sub>/name. */
static void shared_path(char *buf, size_t size, const char *sub,
                        const char *name)
{
	const char *d = getenv("ANSER_DATA"), *r = getenv("ANSER_ROOT");

	if (d && !strcmp(sub, "data"))
		snprintf(buf, size, "%s/%s", d, name);
	else
		snprintf(buf, size, "%s/../shared/%s/%s", r ? r : ".", sub, name);
}

/* A growing string for building vocab texts. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap * 2 + (size_t)n + 64;
		b->p = realloc(b->p, b->cap);
	}
	b->len += (size_t)n;
}

/* Appends a vocab line for raw bytes as a b'...' literal. */
static void sb_token(struct sbuf *b, int id, const uint8_t *t, size_t n)
{
	sb_add(b, "%d b'", id);
	for (size_t i = 0; i < n; i++)
		sb_add(b, "\\x%02x", t[i]);
	sb_add(b, "' %zu\n", n);
}

/* The 256 single bytes as ids 1..256, like the World vocab. */
static void sb_bytes(struct sbuf *b)
{
	for (int c = 0; c < 256; c++) {
		uint8_t x = (uint8_t)c;
		sb_token(b, c + 1, &x, 1);
	}
}

static struct anser_tokenizer *build(const struct sbuf *b)
{
	struct anser_tokenizer *t = NULL;
	struct anser_err err = { 0 };

	if (anser_tokenizer_new(b->p, b->len, &t, &err) != ANSER_OK)
		printf("# tokenizer_new: %s\n", err.msg);
	return t;
}

static int ids_eq(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	return na == nb && (na == 0 || !memcmp(a, b, na * sizeof(*a)));
}

/* decode(ids) == text[0..len) */
static int round_trips(const struct anser_tokenizer *t, const int32_t *ids,
                       size_t n, const void *text, size_t len)
{
	const uint8_t *s = text;
	size_t pos = 0;

	for (size_t i = 0; i < n; i++) {
		size_t tl;
		const uint8_t *tb = anser_tokenizer_token(t, ids[i], &tl);
		if (!tb || tl == 0 || pos + tl > len || memcmp(s + pos, tb, tl))
			return 0;
		pos += tl;
	}
	return pos == len;
}

static int32_t *big_ids;
static size_t big_cap;

static int32_t *ids_room(size_t n)
{
	if (n > big_cap) {
		big_cap = n + 1024;
		big_ids = realloc(big_ids, big_cap * sizeof(*big_ids));
	}
	return big_ids;
}

/* ---------------------------------------------------------------- synthetic */

static void test_synthetic(void)
{
	struct sbuf b = { 0 };
	struct anser_tokenizer *t;
	int32_t ids[64];
	size_t n, tl;
	const uint8_t *tb;
	/* ids 257.. in this order */
	static const char *const multi[] = {
		"ab", "abc", "abcde", "bcdefg", "cd", "zz", "zz",
	};

	sb_bytes(&b);
	for (size_t i = 0; i < ARRAY_SIZE(multi); i++)
		sb_token(&b, 257 + (int)i, (const uint8_t *)multi[i],
		         strlen(multi[i]));
	sb_add(&b, "264 b'\\x00\\x01' 2\n265 b'\\xff\\xfe' 2\n"
	       "266 '\\xe9' 2\n267 'a b' 3\n");
	t = build(&b);
	CHECK(t != NULL, "a synthetic vocab with all 256 bytes builds");
	if (!t) {
		free(b.p);
		return;
	}
	CHECK(anser_tokenizer_n_tokens(t) == 267, "n_tokens is the highest id");

	n = anser_tokenizer_encode(t, "abcdx", 5, ids);
	CHECK(ids_eq(ids, n, (int32_t[]){ 258, 'd' + 1, 'x' + 1 }, 3),
	      "greedy: 'abcdx' is abc|d|x (abcde fails at x)");
	n = anser_tokenizer_encode(t, "abcdefg", 7, ids);
	CHECK(ids_eq(ids, n, (int32_t[]){ 259, 'f' + 1, 'g' + 1 }, 3),
	      "greedy, not optimal: 'abcdefg' is abcde|f|g, not a|bcdefg");
	n = anser_tokenizer_encode(t, "abab", 4, ids);
	CHECK(ids_eq(ids, n, (int32_t[]){ 257, 257 }, 2), "'abab' is ab|ab");
	n = anser_tokenizer_encode(t, "zzz", 3, ids);
	CHECK(ids_eq(ids, n, (int32_t[]){ 263, 'z' + 1 }, 2),
	      "duplicate tokens: the highest id wins, as in the official dict");
	n = anser_tokenizer_encode(t, "", 0, ids);
	CHECK(n == 0, "empty input gives no ids");
	n = anser_tokenizer_encode(t, "\x00\x01\x00\xff\xfe\xff", 6, ids);
	CHECK(ids_eq(ids, n, (int32_t[]){ 264, 1, 265, 256 }, 4),
	      "NUL and invalid UTF-8 encode, in multi-byte tokens too");
	n = anser_tokenizer_encode(t, "\xc3\xa9\xc3", 3, ids);
	CHECK(ids_eq(ids, n, (int32_t[]){ 266, 0xc3 + 1 }, 2),
	      "a str literal '\\xe9' is the two bytes C3 A9");
	n = anser_tokenizer_encode(t, "a bc", 4, ids);
	CHECK(ids_eq(ids, n, (int32_t[]){ 267, 'c' + 1 }, 2),
	      "a literal with a space inside");

	{
		uint8_t all[256];
		int ok = 1;
		for (int c = 0; c < 256; c++)
			all[c] = (uint8_t)c;
		int32_t *many = ids_room(256);
		n = anser_tokenizer_encode(t, all, 256, many);
		for (size_t i = 0; i < n && ok; i++)
			ok = many[i] >= 1 && many[i] <= 267;
		/* 00 01 and "abcde" are tokens: 256 - 1 - 4 ids. */
		CHECK(ok && n == 251 && many[0] == 264 && many[96] == 259 &&
		      round_trips(t, many, n, all, 256),
		      "every byte value encodes and decodes back");
	}

	tb = anser_tokenizer_token(t, 259, &tl);
	CHECK(tb && tl == 5 && !memcmp(tb, "abcde", 5), "token(259) is 'abcde'");
	tb = anser_tokenizer_token(t, 1, &tl);
	CHECK(tb && tl == 1 && tb[0] == 0, "token(1) is the byte 00");
	tb = anser_tokenizer_token(t, 0, &tl);
	CHECK(!tb && tl == 0, "token 0 has no bytes");
	tl = 7;
	tb = anser_tokenizer_token(t, 268, &tl);
	CHECK(!tb && tl == 0, "an id past the vocab has no bytes");
	tb = anser_tokenizer_token(t, -5, &tl);
	CHECK(!tb && tl == 0, "a negative id has no bytes");
	anser_tokenizer_free(t);
	anser_tokenizer_free(NULL);
	free(b.p);
}

/* Longest match by brute force over every token; ties go to the highest
 * id, like the official bytes->id dict. */
static size_t naive_encode(uint8_t **tok, size_t *tlen, int n_tok,
                           const uint8_t *s, size_t len, int32_t *ids)
{
	size_t i = 0, n = 0;

	while (i < len) {
		int best = 0;
		size_t bl = 0;
		for (int k = 1; k <= n_tok; k++) {
			if (tlen[k] >= bl && tlen[k] <= len - i &&
			    !memcmp(tok[k], s + i, tlen[k])) {
				best = k;
				bl = tlen[k];
			}
		}
		if (!best)
			return 0;
		ids[n++] = best;
		i += bl;
	}
	return n;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* Random vocabs over a small alphabet (so tokens overlap a lot), random
 * inputs, compared with the brute-force encoder. */
static void test_random_vs_naive(void)
{
	static const uint8_t alpha[] = { 'a', 'b', 'c', 0x00, 0xff, 0xc3 };
	enum { NTOK = 1500, MAXLEN = 40, INLEN = 300 };
	uint8_t *tok[NTOK + 1];
	size_t tlen[NTOK + 1];
	int32_t got[INLEN], want[INLEN];
	uint8_t in[INLEN];
	int bad = 0, round = 0;

	for (round = 0; round < 5; round++) {
		struct sbuf b = { 0 };
		struct anser_tokenizer *t;

		sb_bytes(&b);
		for (int k = 1; k <= NTOK; k++) {
			tlen[k] = k <= 256 ? 1 : 2 + rnd(MAXLEN - 1);
			tok[k] = malloc(tlen[k]);
			for (size_t i = 0; i < tlen[k]; i++)
				tok[k][i] = k <= 256 ? (uint8_t)(k - 1) :
				            alpha[rnd(sizeof(alpha) - (round & 1))];
			if (k > 256)
				sb_token(&b, k, tok[k], tlen[k]);
		}
		t = build(&b);
		if (!t)
			bad++;
		for (int trial = 0; t && trial < 200; trial++) {
			size_t len = rnd(INLEN), ng, nw;
			for (size_t i = 0; i < len; i++)
				in[i] = rnd(8) ? alpha[rnd(sizeof(alpha))] :
				                 (uint8_t)rnd(256);
			ng = anser_tokenizer_encode(t, in, len, got);
			nw = naive_encode(tok, tlen, NTOK, in, len, want);
			if (!ids_eq(got, ng, want, nw) ||
			    !round_trips(t, got, ng, in, len))
				bad++;
		}
		anser_tokenizer_free(t);
		for (int k = 1; k <= NTOK; k++)
			free(tok[k]);
		free(b.p);
	}
	CHECK(bad == 0, "1000 random inputs on 5 random vocabs match brute force");
}

/* 'a', 'aa', ... 200 deep: long shared prefixes and a deep trie. */
static void test_deep_chain(void)
{
	struct sbuf b = { 0 };
	struct anser_tokenizer *t;
	uint8_t in[450], a[200];
	int32_t ids[450];
	size_t n;

	memset(a, 'a', sizeof(a));
	memset(in, 'a', sizeof(in));
	sb_bytes(&b);
	for (int k = 2; k <= 200; k++)
		sb_token(&b, 255 + k, a, (size_t)k);
	t = build(&b);
	n = t ? anser_tokenizer_encode(t, in, sizeof(in), ids) : 0;
	CHECK(t && ids_eq(ids, n, (int32_t[]){ 455, 455, 305 }, 3),
	      "450 'a's against 'a'..'a'*200 is 200|200|50");
	anser_tokenizer_free(t);
	free(b.p);
}

static void test_bad_vocab(void)
{
	struct sbuf b = { 0 };
	struct anser_tokenizer *t = (void *)&b;
	struct anser_err err = { 0 };

	for (int c = 0; c < 256; c++) {
		uint8_t x = (uint8_t)c;
		if (c != 0x80)
			sb_token(&b, c + 1 - (c > 0x80), &x, 1);
	}
	CHECK(anser_tokenizer_new(b.p, b.len, &t, &err) == ANSER_E_FORMAT &&
	      t == NULL && strstr(err.msg, "0x80"),
	      "a vocab without the byte 80 is refused, naming it");
	CHECK(anser_tokenizer_new("1 'a' 2\n", 8, &t, &err) == ANSER_E_FORMAT &&
	      t == NULL && strstr(err.msg, "line 1"),
	      "a malformed vocab is refused with the line");
	CHECK(anser_tokenizer_new("", 0, &t, &err) == ANSER_E_FORMAT && t == NULL,
	      "an empty vocab is refused");
	free(b.p);
}

static void test_alloc_failures(void)
{
	struct sbuf b = { 0 };
	struct anser_tokenizer *t = NULL;
	enum anser_status st;
	long n;
	int bad = 0;

	sb_bytes(&b);
	for (int k = 2; k <= 40; k++) /* enough tokens to grow the arrays */
		sb_token(&b, 255 + k, (const uint8_t *)"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		         (size_t)k);
	for (n = 0; n < 1000; n++) {
		struct anser_err err = { 0 };
		anser_fail_alloc_after(n);
		st = anser_tokenizer_new(b.p, b.len, &t, &err);
		anser_fail_alloc_after(-1);
		if (st == ANSER_OK)
			break;
		if (st != ANSER_E_NOMEM || t != NULL || !strstr(err.msg, "memory"))
			bad++;
	}
	CHECK(bad == 0 && n > 3 && n < 1000,
	      "every failed allocation in tokenizer_new fails cleanly");
	anser_tokenizer_free(t);
	free(b.p);
}

/* ---------------------------------------------------------------- models */

static void test_from_model(void)
{
	const char *root = getenv("ANSER_ROOT");
	char dir[] = "/tmp/anser-test-tok-XXXXXX", src[1200], out[200], voc[200];
	struct anser_convert_opts o = { .dtype = -1, .vocab = NULL };
	struct anser_err err = { 0 };
	struct anser_model *m = NULL;
	struct anser_tokenizer *t = (void *)&o;
	struct sbuf b = { 0 };
	FILE *f;

	snprintf(src, sizeof(src), "%s/tests/fixtures/golden/micro.pth",
	         root ? root : ".");
	if (!mkdtemp(dir)) {
		t_skip("cannot make a temporary folder");
		return;
	}
	snprintf(out, sizeof(out), "%s/micro.anser", dir);
	snprintf(voc, sizeof(voc), "%s/vocab.txt", dir);
	if (anser_convert_pth(src, out, &o, NULL, &err) != ANSER_OK ||
	    anser_model_open(out, &m, &err) != ANSER_OK) {
		CHECK(0, "convert micro.pth without a vocab");
		printf("#   %s\n", err.msg);
	} else {
		CHECK(anser_tokenizer_from_model(m, &t, &err) == ANSER_E_NOTFOUND &&
		      t == NULL && strstr(err.msg, "vocab"),
		      "from_model on a model without vocab: ANSER_E_NOTFOUND");
	}
	anser_model_free(m);
	m = NULL;
	unlink(out);

	/* micro has 512 rows: a 300-token synthetic vocab fits. */
	sb_bytes(&b);
	sb_add(&b, "257 'hello' 5\n258 ' world' 6\n");
	f = fopen(voc, "wb");
	if (f) {
		fwrite(b.p, 1, b.len, f);
		fclose(f);
	}
	o.vocab = voc;
	if (anser_convert_pth(src, out, &o, NULL, &err) != ANSER_OK ||
	    anser_model_open(out, &m, &err) != ANSER_OK) {
		CHECK(0, "convert micro.pth with a synthetic vocab");
		printf("#   %s\n", err.msg);
	} else {
		int32_t ids[16];
		size_t n = 0;
		t = NULL;
		if (anser_tokenizer_from_model(m, &t, &err) == ANSER_OK)
			n = anser_tokenizer_encode(t, "hello world!", 12, ids);
		CHECK(t && ids_eq(ids, n, (int32_t[]){ 257, 258, '!' + 1 }, 3),
		      "from_model uses the embedded vocab");
		anser_tokenizer_free(t);
	}
	anser_model_free(m);
	unlink(out);
	unlink(voc);
	rmdir(dir);
	free(b.p);
}

/* ---------------------------------------------------------------- real vocab */

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void test_golden(const struct anser_tokenizer *t)
{
	const char *root = getenv("ANSER_ROOT");
	char path[1200], *text, *line, *next;
	size_t len;
	int cases = 0, bad_ids = 0, bad_trip = 0, bad_json = 0;

	snprintf(path, sizeof(path), "%s/tests/fixtures/tokenizer.jsonl",
	         root ? root : ".");
	text = read_all(path, &len);
	if (!CHECK(text != NULL, "tests/fixtures/tokenizer.jsonl is readable"))
		return;
	for (line = text; line && *line; line = next) {
		cJSON *j, *jt, *jh, *ji, *e;
		uint8_t *in;
		size_t n_in = 0, n, want_n;
		int32_t *ids;
		int k = 0, match;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line)
			continue;
		j = cJSON_Parse(line);
		jt = cJSON_GetObjectItemCaseSensitive(j, "text");
		jh = cJSON_GetObjectItemCaseSensitive(j, "bytes_hex");
		ji = cJSON_GetObjectItemCaseSensitive(j, "ids");
		if (!cJSON_IsArray(ji) || !(cJSON_IsString(jt) || cJSON_IsString(jh))) {
			bad_json++;
			cJSON_Delete(j);
			continue;
		}
		cases++;
		if (cJSON_IsString(jt)) {
			n_in = strlen(jt->valuestring);
			in = malloc(n_in + 1);
			memcpy(in, jt->valuestring, n_in);
		} else {
			const char *h = jh->valuestring;
			in = malloc(strlen(h) / 2 + 1);
			for (; h[0] && h[1]; h += 2)
				in[n_in++] = (uint8_t)(hexval(h[0]) * 16 + hexval(h[1]));
		}
		ids = ids_room(n_in + 1);
		n = anser_tokenizer_encode(t, in, n_in, ids);
		want_n = (size_t)cJSON_GetArraySize(ji);
		match = n == want_n;
		cJSON_ArrayForEach(e, ji) {
			if (match && (size_t)k < n && ids[k] != (int32_t)e->valuedouble)
				match = 0;
			k++;
		}
		if (!match) {
			bad_ids++;
			printf("#   case %d: got %zu ids, want %zu\n", cases, n, want_n);
		}
		if (!round_trips(t, ids, n, in, n_in))
			bad_trip++;
		free(in);
		cJSON_Delete(j);
	}
	free(text);
	CHECK(bad_json == 0 && cases >= 25, "every golden line has text/bytes_hex and ids");
	CHECK(cases > 0 && bad_ids == 0,
	      "every golden case encodes to exactly the official ids");
	CHECK(cases > 0 && bad_trip == 0, "every golden case decodes back to its bytes");
}

/* Feeds each line's "text" to fn; returns the number of lines, -1 if the
 * file is missing. */
static long each_text(const char *path, long max,
                      void (*fn)(void *, const char *, size_t), void *ctx)
{
	size_t len;
	char *text = read_all(path, &len), *line, *next;
	long count = 0;

	if (!text)
		return -1;
	for (line = text; *line && count < max; line = next) {
		cJSON *j, *jt;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (!*line)
			continue;
		j = cJSON_Parse(line);
		jt = cJSON_GetObjectItemCaseSensitive(j, "text");
		if (cJSON_IsString(jt))
			fn(ctx, jt->valuestring, strlen(jt->valuestring));
		else
			fn(ctx, NULL, 0);
		cJSON_Delete(j);
		count++;
	}
	free(text);
	return count;
}

struct lambada_ctx {
	const struct anser_tokenizer *t;
	long ok, bad;
	size_t bytes, tokens;
};

static void lambada_one(void *ctx, const char *s, size_t len)
{
	struct lambada_ctx *c = ctx;
	int32_t *ids;
	size_t n;

	if (!s) {
		c->bad++;
		return;
	}
	ids = ids_room(len + 1);
	n = anser_tokenizer_encode(c->t, s, len, ids);
	if (round_trips(c->t, ids, n, s, len) && n > 0 && n < len) {
		c->ok++;
	} else {
		c->bad++;
	}
	c->bytes += len;
	c->tokens += n;
}

static void test_lambada(const struct anser_tokenizer *t)
{
	char path[1200];
	struct lambada_ctx c = { t, 0, 0, 0, 0 };
	long n;

	shared_path(path, sizeof(path), "data", "lambada_test.jsonl");
	n = each_text(path, 1000000, lambada_one, &c);
	if (n < 0) {
		t_skip("lambada_test.jsonl not found (set ANSER_DATA)");
		return;
	}
	CHECK(n == 5153 && c.ok == 5153 && c.bad == 0,
	      "all 5153 LAMBADA texts round-trip, fewer tokens than bytes");
	printf("# LAMBADA: %zu bytes, %zu tokens\n", c.bytes, c.tokens);
}

/* The scored LAMBADA rows of the golden set: context = text up to its last
 * space, target = " " + last word, both encoded by the official tokenizer. */
struct l40_ctx {
	const struct anser_tokenizer *t;
	cJSON *rows[40];
	int i, bad;
};

static void l40_one(void *ctx, const char *s, size_t len)
{
	struct l40_ctx *c = ctx;
	cJSON *row = c->rows[c->i++], *jc, *jt, *e;
	const char *sp;
	int32_t *ids;
	size_t n, k = 0;
	int ok;

	if (!s || !row) {
		c->bad++;
		return;
	}
	sp = s + len;
	while (sp > s && sp[-1] != ' ')
		sp--;
	if (sp == s) {
		c->bad++;
		return;
	}
	sp--; /* the space */
	jc = cJSON_GetObjectItemCaseSensitive(row, "context_tokens");
	jt = cJSON_GetObjectItemCaseSensitive(row, "target_tokens");
	ids = ids_room(len + 1);
	n = anser_tokenizer_encode(c->t, s, (size_t)(sp - s), ids);
	/* context_tokens counts the leading token 0. */
	ok = cJSON_IsNumber(jc) && (size_t)jc->valuedouble == n + 1;
	n = anser_tokenizer_encode(c->t, sp, (size_t)(s + len - sp), ids);
	ok = ok && cJSON_IsArray(jt) && (size_t)cJSON_GetArraySize(jt) == n;
	cJSON_ArrayForEach(e, jt) {
		if (ok && k < n && ids[k] != (int32_t)e->valuedouble)
			ok = 0;
		k++;
	}
	if (!ok)
		c->bad++;
}

static void test_lambada40(const struct anser_tokenizer *t)
{
	char path[1200], gpath[1200], *text, *line, *next;
	struct l40_ctx c = { .t = t };
	size_t len;
	int nrows = 0;

	shared_path(path, sizeof(path), "data", "lambada_test.jsonl");
	shared_path(gpath, sizeof(gpath), "golden", "world.lambada40.jsonl");
	text = read_all(gpath, &len);
	if (!text || access(path, R_OK)) {
		free(text);
		t_skip("world.lambada40.jsonl or lambada_test.jsonl not found");
		return;
	}
	for (line = text; line && *line && nrows < 40; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		c.rows[nrows++] = cJSON_Parse(line);
	}
	each_text(path, nrows, l40_one, &c);
	CHECK(nrows == 40 && c.i == 40 && c.bad == 0,
	      "40 LAMBADA contexts and targets tokenize as the golden rows say");
	for (int i = 0; i < nrows; i++)
		cJSON_Delete(c.rows[i]);
	free(text);
}

static void test_real_vocab(void)
{
	char path[1200];
	struct anser_err err = { 0 };
	struct anser_tokenizer *t = NULL;
	size_t len, tl;
	char *text;
	const uint8_t *tb;

	shared_path(path, sizeof(path), "data", "rwkv_vocab_v20230424.txt");
	text = read_all(path, &len);
	if (!text) {
		t_skip("World vocab not found (set ANSER_DATA); golden and LAMBADA "
		       "cases not run");
		return;
	}
	CHECK(anser_tokenizer_new(text, len, &t, &err) == ANSER_OK &&
	      anser_tokenizer_n_tokens(t) == 65529,
	      "the World vocab builds: 65529 tokens");
	free(text); /* the tokenizer keeps its own copy */
	if (!t) {
		printf("#   %s\n", err.msg);
		return;
	}
	tb = anser_tokenizer_token(t, 2423, &tl);
	CHECK(tb && tl == 2 && tb[0] == 0xc2 && tb[1] == 0x80,
	      "token 2423 is '\\x80', the bytes C2 80");
	tb = anser_tokenizer_token(t, 65529, &tl);
	CHECK(tb && tl > 0 && !anser_tokenizer_token(t, 65530, &tl) && tl == 0,
	      "65529 is the last token");
	test_golden(t);
	test_lambada(t);
	test_lambada40(t);
	anser_tokenizer_free(t);
}

/* ---------------------------------------------------------------- UTF-8 */

/* Pushes in[] cut at the given points, then flushes; returns the bytes out
 * and the count written by each push in per[]. */
static size_t stream(const uint8_t *in, size_t n, const size_t *cuts,
                     size_t ncuts, uint8_t *out, size_t *per)
{
	struct anser_utf8_stream s = { 0 };
	size_t w = 0, at = 0;

	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		per[i] = anser_utf8_stream_push(&s, in + at, end - at, out + w);
		w += per[i];
		at = end;
	}
	w += anser_utf8_stream_flush(&s, out + w);
	return w;
}

static void test_utf8_stream(void)
{
	static const uint8_t goose[] = { 0xf0, 0x9f, 0xaa, 0xbf }; /* U+1FABF */
	uint8_t out[64];
	size_t per[8], w;
	int ok = 1;

	/* Every way to split the 4-byte character into 1..4 pushes. */
	for (unsigned mask = 0; mask < 8; mask++) {
		size_t cuts[3], nc = 0;
		for (size_t i = 0; i < 3; i++)
			if (mask & (1u << i))
				cuts[nc++] = i + 1;
		w = stream(goose, 4, cuts, nc, out, per);
		ok = ok && w == 4 && !memcmp(out, goose, 4);
		for (size_t i = 0; i < nc; i++)
			ok = ok && per[i] == 0; /* nothing before the last byte */
		ok = ok && per[nc] == 4;
	}
	CHECK(ok, "a 4-byte character split 8 ways comes out whole, at its last byte");

	{
		struct anser_utf8_stream s = { 0 };
		w = anser_utf8_stream_push(&s, (const uint8_t *)"a\xe4\xb8", 3, out);
		CHECK(w == 1 && out[0] == 'a' && s.n == 2,
		      "ASCII passes, an incomplete 3-byte prefix is held");
		w = anser_utf8_stream_push(&s, (const uint8_t *)"\xad" "b", 2, out);
		CHECK(w == 4 && !memcmp(out, "\xe4\xb8\xad" "b", 4),
		      "its last byte releases it");
		w = anser_utf8_stream_push(&s, (const uint8_t *)"\xe4\xb8", 2, out);
		w += anser_utf8_stream_flush(&s, out + w);
		CHECK(w == 2 && !memcmp(out, "\xe4\xb8", 2) && s.n == 0,
		      "flush emits held bytes and empties the stream");
		CHECK(anser_utf8_stream_flush(&s, out) == 0, "a second flush emits nothing");
	}

	{
		/* Each of these must come out at once, unchanged. */
		static const struct {
			const char *in;
			size_t n, want_now;
			const char *what;
		} cases[] = {
			{ "\x80", 1, 1, "a lone continuation byte passes through" },
			{ "\xff\xfe\xc0\xc1\xf5", 5, 5, "bytes that never lead pass through" },
			{ "\xc3" "A", 2, 2, "a lead then a non-continuation: both pass" },
			{ "\xe0\x80", 2, 2, "an overlong start (E0 80) passes through" },
			{ "\xed\xa0", 2, 2, "a surrogate start (ED A0) passes through" },
			{ "\xf4\x90", 2, 2, "past U+10FFFF (F4 90) passes through" },
			{ "\xe4\xe4\xb8\xad", 4, 4, "a lead cut short by a new lead: both handled" },
			{ "\xf0\x9f\x98", 3, 0, "a 3-byte prefix of a 4-byte char is held" },
			{ "\xed\x9f", 2, 0, "ED 9F (below the surrogates) is held" },
		};
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			struct anser_utf8_stream s = { 0 };
			size_t n = cases[i].n;
			w = anser_utf8_stream_push(&s, (const uint8_t *)cases[i].in, n, out);
			ok = w == cases[i].want_now && !memcmp(out, cases[i].in, w);
			w += anser_utf8_stream_flush(&s, out + w);
			CHECK(ok && w == n && !memcmp(out, cases[i].in, n), cases[i].what);
		}
	}

	{
		/* Random bytes in random pieces: nothing lost, nothing reordered,
		 * never more than n + 3 bytes from one push. */
		uint8_t in[4096], got[4096 + 8];
		size_t at = 0, wt = 0;
		struct anser_utf8_stream s = { 0 };
		int fine = 1;
		for (size_t i = 0; i < sizeof(in); i++)
			in[i] = rnd(3) ? (uint8_t)(0x80 + rnd(0x80)) : (uint8_t)rnd(256);
		while (at < sizeof(in)) {
			size_t k = 1 + rnd(7);
			if (k > sizeof(in) - at)
				k = sizeof(in) - at;
			w = anser_utf8_stream_push(&s, in + at, k, got + wt);
			fine = fine && w <= k + 3 && s.n < 4;
			wt += w;
			at += k;
		}
		wt += anser_utf8_stream_flush(&s, got + wt);
		CHECK(fine && wt == sizeof(in) && !memcmp(in, got, wt),
		      "random bytes in random pieces come out unchanged");
	}
}

int main(void)
{
	test_synthetic();
	test_random_vs_naive();
	test_deep_chain();
	test_bad_vocab();
	test_alloc_failures();
	test_from_model();
	test_real_vocab();
	test_utf8_stream();
	free(big_ids);
	return done();
}
