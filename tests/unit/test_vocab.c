/*
 * test_vocab.c - parsing the World vocab: Python literal rules, line checks,
 * the real file when it is available, and how convert finds it.
 */
#include <unistd.h>

#include "../../lib/vocab.h"
#include "../harness.h"

struct got {
	uint8_t bytes[8][VOCAB_MAX_TOKEN];
	size_t len[8];
	int n;
};

static int collect(void *ctx, int id, const uint8_t *b, size_t n)
{
	struct got *g = ctx;

	(void)id;
	if (g->n < 8) {
		memcpy(g->bytes[g->n], b, n);
		g->len[g->n++] = n;
	}
	return 0;
}

static int parses(const char *text, struct got *g)
{
	memset(g, 0, sizeof(*g));
	return vocab_parse(text, strlen(text), collect, g, NULL, NULL) == ANSER_OK;
}

static void test_literals(void)
{
	struct got g;

	CHECK(parses("1 '\\x80' 2\n", &g) && g.len[0] == 2 &&
	      !memcmp(g.bytes[0], "\xc2\x80", 2),
	      "'\\x80' in a str literal is U+0080, bytes C2 80");
	CHECK(parses("1 b'\\x80' 1\n", &g) && g.len[0] == 1 && g.bytes[0][0] == 0x80,
	      "b'\\x80' is the raw byte 80");
	CHECK(parses("1 'a b' 3\n2 \"it's\" 4\n", &g) && g.len[0] == 3 &&
	      !memcmp(g.bytes[1], "it's", 4), "spaces inside literals; double quotes");
	CHECK(parses("1 '\\n\\t\\\\\\'' 4\n", &g) && !memcmp(g.bytes[0], "\n\t\\'", 4),
	      "escapes \\n \\t \\\\ \\'");
	CHECK(parses("1 '\\u4e2d' 3\n2 '\\U0001F600' 4\n", &g) &&
	      !memcmp(g.bytes[0], "\xe4\xb8\xad", 3) &&
	      !memcmp(g.bytes[1], "\xf0\x9f\x98\x80", 4), "\\u and \\U escapes");
	CHECK(parses("1 '\xe4\xb8\xad' 3\r\n2 'x' 1\r\n", &g) && g.n == 2,
	      "literal UTF-8 and CRLF line ends");
	CHECK(!parses("1 'abc' 2\n", &g), "a wrong length is refused");
	CHECK(!parses("2 'a' 1\n", &g), "ids must start at 1");
	CHECK(!parses("1 'a' 1\n3 'b' 1\n", &g), "ids must be consecutive");
	CHECK(!parses("1 'a 1\n", &g), "an unterminated literal is refused");
	CHECK(!parses("1 'a'b' 3\n", &g), "an unescaped quote is refused");
	CHECK(!parses("1 '\\xZZ' 1\n", &g), "a bad hex escape is refused");
	CHECK(!parses("1 b'\\u00e9' 2\n", &g), "\\u in a bytes literal is refused");
	CHECK(!parses("1 '\\ud800' 3\n", &g), "a lone surrogate is refused");
	CHECK(!parses("", &g), "an empty vocab is refused");
	CHECK(!parses("1'a'1\n", &g), "a line without spaces is refused");
}

static void test_real_vocab(void)
{
	const char *d = getenv("ANSER_DATA"), *r = getenv("ANSER_ROOT");
	char path[1200];
	struct anser_err err = { 0 };
	FILE *f;
	char *text;
	long n;
	int tokens = 0;

	if (d)
		snprintf(path, sizeof(path), "%s/rwkv_vocab_v20230424.txt", d);
	else
		snprintf(path, sizeof(path), "%s/../shared/data/rwkv_vocab_v20230424.txt",
		         r ? r : ".");
	f = fopen(path, "rb");
	if (!f) {
		t_skip("World vocab not found (set ANSER_DATA)");
		return;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = malloc((size_t)n);
	if (fread(text, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	CHECK(anser_vocab_check(text, (size_t)n, &tokens, &err) == ANSER_OK &&
	      tokens == 65529, "the World vocab parses: 65529 tokens, lengths agree");
	free(text);
}

static void test_locate(void)
{
	char dir[] = "/tmp/anser-test-vocab-XXXXXX", pth[200], voc[200], buf[300];
	struct anser_err err = { 0 };
	FILE *f;

	if (!mkdtemp(dir))
		return;
	snprintf(pth, sizeof(pth), "%s/model.pth", dir);
	snprintf(voc, sizeof(voc), "%s/%s", dir, ANSER_VOCAB_FILE);
	unsetenv("ANSER_VOCAB");
	CHECK(anser_vocab_locate(pth, NULL, buf, sizeof(buf), &err) == ANSER_E_NOTFOUND &&
	      strstr(err.msg, "--no-vocab") && strstr(err.msg, "ANSER_VOCAB"),
	      "no vocab: the message says how to get one");
	f = fopen(voc, "w");
	fclose(f);
	CHECK(anser_vocab_locate(pth, NULL, buf, sizeof(buf), &err) == ANSER_OK &&
	      !strcmp(buf, voc), "the vocab beside the checkpoint is found");
	setenv("ANSER_VOCAB", "/nonexistent/v.txt", 1);
	CHECK(anser_vocab_locate(pth, NULL, buf, sizeof(buf), &err) != ANSER_OK &&
	      strstr(err.msg, "ANSER_VOCAB"), "$ANSER_VOCAB wins and must exist");
	CHECK(anser_vocab_locate(pth, voc, buf, sizeof(buf), &err) == ANSER_OK &&
	      !strcmp(buf, voc), "an explicit path wins over $ANSER_VOCAB");
	unsetenv("ANSER_VOCAB");
	unlink(voc);
	rmdir(dir);
}

/* Found by fuzz_vocab: numbers at the very end of an unterminated buffer
 * were read past it.  ASan (make asan) catches a regression. */
static void test_unterminated(void)
{
	static const char *const cases[] = {
		"1 'x'0 'i0 'i'  1", "1 'a' 1", "1 'a' 12", "12",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i]);
		char *buf = malloc(n); /* exactly the bytes, no NUL after them */
		int tokens = 0;
		memcpy(buf, cases[i], n);
		anser_vocab_check(buf, n, &tokens, NULL);
		free(buf);
	}
	CHECK(1, "numbers at the end of an unterminated buffer stay inside it");
	{
		char *buf = malloc(7);
		int tokens = 0;
		memcpy(buf, "1 'a' 1", 7);
		CHECK(anser_vocab_check(buf, 7, &tokens, NULL) == ANSER_OK && tokens == 1,
		      "a last line without a newline counts");
		free(buf);
	}
}

int main(void)
{
	test_literals();
	test_unterminated();
	test_real_vocab();
	test_locate();
	return done();
}
