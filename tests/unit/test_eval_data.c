/*
 * test_eval_data.c - reading LAMBADA and XStoryCloze as the harness does
 * (eval/data.c): the LAMBADA split, Python csv quirks, error messages, the
 * rstrip() whitespace set and code point counts, and the real files when
 * they are there.  Expected values were computed with python3 (json, csv
 * with the Hub loader's settings, str.rstrip, len).
 */
#include <unistd.h>

#include "../../eval/eval.h"
#include "../../lib/internal.h"
#include "../harness.h"

static char tmpdir[] = "/tmp/anser-test-eval-data-XXXXXX";

/* Writes `n` bytes to tmpdir/name; returns the path (static buffer). */
static const char *fixture(const char *name, const char *bytes, size_t n)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(bytes, 1, n, f) != n) {
		printf("# cannot write %s\n", path);
		exit(1);
	}
	fclose(f);
	return path;
}

#define FIXTURE(name, lit) fixture((name), (lit), sizeof(lit) - 1)

static int streq(const char *a, const char *b)
{
	if (a && b && !strcmp(a, b))
		return 1;
	printf("#   got '%s'\n#  want '%s'\n", a ? a : "(null)", b);
	return 0;
}

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* A reader's failure: status `want` and a message holding both needles. */
static int fails(enum anser_status st, enum anser_status want,
                 const struct anser_err *err, const char *n1, const char *n2)
{
	int ok = st == want && strstr(err->msg, n1) && (!n2 || strstr(err->msg, n2));

	if (!ok)
		printf("#   status %d, message '%s'\n", st, err->msg);
	return ok;
}

/* ---------------------------------------------------------------- LAMBADA */

static void test_lambada(void)
{
	static const char text[] =
		"{\"text\": \"the cat sat on the mat\"}\n"
		"{\"text\": \"h\\u00e9llo w\xc3\xb6rld \xe4\xb8\xad\xe6\x96\x87 \xe5\xad\x97\"}\r\n"
		"{\"text\": \"ends with space \"}\n"
		"{\"id\": 7, \"text\": \"double  space\"}\n"
		"{\"text\": \" x\"}\n";
	struct anser_err err = { 0 };
	struct eval_doc *d = NULL;
	size_t n = 0;
	enum anser_status st;

	st = eval_read_lambada(FIXTURE("l.jsonl", text), &d, &n, &err);
	if (!CHECK(st == ANSER_OK && n == 5, "lambada: 5 documents (CRLF, trailing newline)")) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK(streq(d[0].context, "the cat sat on the") && streq(d[0].choices[0], " mat") &&
	      d[0].n_choices == 1 && d[0].gold == -1 && d[0].line == 1,
	      "lambada: context up to the last space, continuation ' ' + last word");
	CHECK(streq(d[1].context, "h\xc3\xa9llo w\xc3\xb6rld \xe4\xb8\xad\xe6\x96\x87") &&
	      streq(d[1].choices[0], " \xe5\xad\x97"),
	      "lambada: \\u escapes and raw UTF-8; '\\r' before '\\n' is JSON space");
	CHECK(streq(d[2].context, "ends with space") && streq(d[2].choices[0], " "),
	      "lambada: a text ending in a space has the empty last word (continuation ' ')");
	CHECK(streq(d[3].context, "double ") && streq(d[3].choices[0], " space"),
	      "lambada: two spaces split at the last one, as ' '.join(split(' ')[:-1])");
	CHECK(streq(d[4].context, "") && streq(d[4].choices[0], " x") && d[4].line == 5,
	      "lambada: a leading space gives an empty context");
	eval_free_docs(d, n);
}

static void test_lambada_errors(void)
{
	struct anser_err err = { 0 };
	struct eval_doc *d = NULL;
	size_t n = 0;
	enum anser_status st;

	st = eval_read_lambada(FIXTURE("bad1.jsonl",
	                               "{\"text\": \"a b\"}\n{\"text\": \"a b\"}\n"
	                               "{\"text\": \"a b\n"), &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "bad1.jsonl' line 3", "malformed JSON") &&
	      !d && !n, "lambada: malformed JSON names the line, returns nothing");
	st = eval_read_lambada(FIXTURE("bad2.jsonl",
	                               "{\"text\": \"a b\"}\n{\"txt\": \"a b\"}\n"), &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "line 2", "\"text\""),
	      "lambada: a line without \"text\" names the line");
	st = eval_read_lambada(FIXTURE("bad3.jsonl", "{\"text\": 5}\n"), &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "line 1", "\"text\""),
	      "lambada: a \"text\" that is not a string is refused");
	st = eval_read_lambada(FIXTURE("bad4.jsonl", "[\"a b\"]\n"), &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "line 1", "not a JSON object"),
	      "lambada: an array is not a document");
	st = eval_read_lambada(FIXTURE("bad5.jsonl", "{\"text\": \"a b\"}\n\n{\"text\": \"a b\"}\n"),
	                       &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "line 2", "empty line"),
	      "lambada: an empty line is an error");
	st = eval_read_lambada(FIXTURE("bad6.jsonl", "{\"text\": \"a b\"}\n{\"text\": \"word\"}"),
	                       &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "line 2", "no space"),
	      "lambada: a text without a space is an error (the last line may lack '\\n')");
	st = eval_read_lambada(FIXTURE("bad7.jsonl", "{\"text\": \"a b\"}\n{\"text\": \"a \xff b\"}\n"),
	                       &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "line 2", "UTF-8"),
	      "lambada: invalid UTF-8 names the line");
	st = eval_read_lambada(FIXTURE("bad8.jsonl", "{\"text\": \"a\\u0000 b\"}\n"), &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "line 1", "u0000"),
	      "lambada: \\u0000 is refused (it would cut the C string)");
	st = eval_read_lambada(FIXTURE("bad9.jsonl", "{\"text\": \"a b\", \"text\": \"c d\"}\n"),
	                       &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "line 1", "more than one"),
	      "lambada: a repeated \"text\" key is refused");
	st = eval_read_lambada(FIXTURE("empty.jsonl", ""), &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "no documents", NULL), "lambada: an empty file");
	st = eval_read_lambada(FIXTURE("trail.jsonl", "{\"text\": \"a b\"} x\n"), &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "line 1", "column 17"),
	      "lambada: text after the object is refused, with its column");
	st = eval_read_lambada("/nonexistent/lambada.jsonl", &d, &n, &err);
	CHECK(fails(st, ANSER_E_NOTFOUND, &err, "/nonexistent/lambada.jsonl", NULL),
	      "lambada: a missing file is ANSER_E_NOTFOUND and named");
	st = eval_read_lambada(tmpdir, &d, &n, &err);
	CHECK(st != ANSER_OK && strstr(err.msg, tmpdir), "lambada: a directory is refused");
	{
		/* NULL err is allowed */
		CHECK(eval_read_lambada(FIXTURE("bad10.jsonl", "{"), &d, &n, NULL) ==
		      ANSER_E_FORMAT, "lambada: err may be NULL");
	}
}

/* ---------------------------------------------------------------- XStoryCloze */

static void test_tsv_quirks(void)
{
	static const char text[] =
		"H1\tH2\tH3\tH4\tH5\tH6\tH7\tH8\n"
		"r1\t  lead spaces\t\"quoted \"\"x\"\" field\"\tmid \"quote\" kept\t"
		"trailing space \tq1\tq2\t1\n"
		"r2\t\"closed\"after\t\"tab\tinside\"\t\"multi\r\nline\"\tfour\t\"q1\"\t q2 \t2\r\n"
		"r3\t\xe4\xb8\xad\xe6\x96\x87\xe5\x8f\xa5\xe5\xad\x90\xe3\x80\x82\t"
		"\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80 "
		"\xe0\xa4\xb5\xe0\xa4\xbe\xe0\xa4\x95\xe0\xa5\x8d\xe0\xa4\xaf\t\xc5\x9e\t"
		"end\xe3\x80\x80\t\xe7\xad\x94\xe6\xa1\x88\xe4\xb8\x80\t"
		"\xe0\xa4\x89\xe0\xa4\xa4\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa4\xb0\t 2\r\n"
		"\n"
		"r5\ta\tb\tc\td\te\tf\t\"1\"";
	struct anser_err err = { 0 };
	struct eval_doc *d = NULL;
	size_t n = 0, moved = 0, keep;
	enum anser_status st;

	st = eval_read_xstorycloze(FIXTURE("q.tsv", text), &d, &n, &err);
	if (!CHECK(st == ANSER_OK && n == 4, "tsv: 4 stories (header skipped, blank line skipped)")) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK(streq(d[0].context, "lead spaces quoted \"x\" field mid \"quote\" kept trailing space "),
	      "tsv: spaces after a tab dropped, \"\" unquoted, a mid-field quote kept, "
	      "a trailing space kept");
	CHECK(streq(d[0].choices[0], " q1") && streq(d[0].choices[1], " q2") &&
	      d[0].n_choices == 2 && d[0].gold == 0 && d[0].line == 1,
	      "tsv: choices are ' ' + each ending; gold = answer - 1");
	CHECK(streq(d[1].context, "closedafter tab\tinside multi\nline four"),
	      "tsv: text after a closing quote appended; a tab and a CRLF inside quotes kept (as '\\n')");
	CHECK(streq(d[1].choices[0], " q1") && streq(d[1].choices[1], " q2 ") &&
	      d[1].gold == 1 && d[1].line == 2,
	      "tsv: a quoted ending unquoted; ' q2 ' keeps its trailing space only");
	CHECK(streq(d[2].context,
	            "\xe4\xb8\xad\xe6\x96\x87\xe5\x8f\xa5\xe5\xad\x90\xe3\x80\x82 "
	            "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80 "
	            "\xe0\xa4\xb5\xe0\xa4\xbe\xe0\xa4\x95\xe0\xa5\x8d\xe0\xa4\xaf \xc5\x9e "
	            "end\xe3\x80\x80") &&
	      streq(d[2].choices[0], " \xe7\xad\x94\xe6\xa1\x88\xe4\xb8\x80") &&
	      streq(d[2].choices[1], " \xe0\xa4\x89\xe0\xa4\xa4\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa4\xb0") &&
	      d[2].gold == 1, "tsv: Chinese and Hindi fields; answer ' 2' after a CRLF row");
	keep = eval_split_context(d[2].context, strlen(d[2].context), &moved);
	CHECK(moved == 3 && keep == strlen(d[2].context) - 3,
	      "tsv: a context ending in U+3000 gives 3 bytes to the continuation");
	CHECK(streq(d[3].context, "a b c d") && d[3].gold == 0 && d[3].line == 5,
	      "tsv: the blank line counts as a row (csv yields []); the last row lacks '\\n'");
	eval_free_docs(d, n);

	st = eval_read_xstorycloze(FIXTURE("eofq.tsv", "h\nr1\ta\tb\tc\td\te\tf\t\"1"),
	                           &d, &n, &err);
	CHECK(st == ANSER_OK && n == 1 && d[0].gold == 0,
	      "tsv: the end of the file inside quotes ends the field, as csv does");
	eval_free_docs(d, n);
	st = eval_read_xstorycloze(FIXTURE("ans.tsv", "h\nr1\ta\tb\tc\td\te\tf\t 01 \n"
	                                   "r2\ta\tb\tc\td\te\tf\t+2\n"), &d, &n, &err);
	CHECK(st == ANSER_OK && n == 2 && d[0].gold == 0 && d[1].gold == 1,
	      "tsv: the answer is read as Python's int() reads it ('01 ', '+2')");
	eval_free_docs(d, n);
}

static void test_tsv_errors(void)
{
	struct anser_err err = { 0 };
	struct eval_doc *d = NULL;
	size_t n = 0;
	enum anser_status st;
	char *big;
	size_t bn;

	st = eval_read_xstorycloze(FIXTURE("f7.tsv",
	                                   "h\nr1\ta\tb\tc\td\te\tf\t1\n"
	                                   "r2\ta\tb\tc\td\te\t1\n"), &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "f7.tsv' row 2", "7 fields") && !d && !n,
	      "tsv: a row with 7 fields names file and row");
	st = eval_read_xstorycloze(FIXTURE("f9.tsv", "h\nr1\ta\tb\tc\td\te\tf\t1\t\n"),
	                           &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "row 1", "9 fields"),
	      "tsv: a trailing tab makes a ninth field");
	st = eval_read_xstorycloze(FIXTURE("a3.tsv",
	                                   "h\nr1\ta\tb\tc\td\te\tf\t1\n"
	                                   "r2\ta\tb\tc\td\te\tf\t2\n"
	                                   "r3\ta\tb\tc\td\te\tf\t3\n"), &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "a3.tsv' row 3", "answer '3'"),
	      "tsv: an answer other than 1 or 2 names file and row");
	st = eval_read_xstorycloze(FIXTURE("ax.tsv", "h\nr1\ta\tb\tc\td\te\tf\t1_\n"),
	                           &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "row 1", "answer"), "tsv: answer '1_' is refused");
	st = eval_read_xstorycloze(FIXTURE("e.tsv", ""), &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "empty", NULL), "tsv: an empty file");
	st = eval_read_xstorycloze(FIXTURE("h.tsv", "H1\tH2\tH3\tH4\tH5\tH6\tH7\tH8\n"),
	                           &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "no stories", NULL), "tsv: a header only");
	st = eval_read_xstorycloze(FIXTURE("u.tsv", "h\nr1\ta\tb\tc\td\te\tf\t1\nr2\t\xc0\xaf\n"),
	                           &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "line 3", "UTF-8"),
	      "tsv: an overlong UTF-8 form is refused with its line");
	st = eval_read_xstorycloze(FIXTURE("z.tsv", "h\nr1\ta\0\tb\tc\td\te\tf\t1\n"),
	                           &d, &n, &err);
	CHECK(fails(st, ANSER_E_FORMAT, &err, "line 2", "NUL"), "tsv: a NUL byte is refused");

	/* Python's csv.field_size_limit(): 131072 code points pass, 131073 do not. */
	bn = 3 + 2 * 131073 + 32;
	big = malloc(bn);
	for (int extra = 0; extra < 2; extra++) {
		size_t o = 0;
		o += (size_t)snprintf(big, bn, "h\nr1\t");
		for (int i = 0; i < 131072 + extra; i++) {
			big[o++] = (char)0xc3; /* é: the limit counts code points */
			big[o++] = (char)0xa9;
		}
		o += (size_t)snprintf(big + o, bn - o, "\tb\tc\td\te\tf\t1\n");
		st = eval_read_xstorycloze(fixture("big.tsv", big, o), &d, &n, &err);
		if (!extra)
			CHECK(st == ANSER_OK && n == 1 && eval_codepoints(d[0].context) == 131072 + 6,
			      "tsv: a field of 131072 code points is read");
		else
			CHECK(fails(st, ANSER_E_FORMAT, &err, "row 1", "field limit"),
			      "tsv: a field of 131073 code points is refused, like csv");
		if (st == ANSER_OK)
			eval_free_docs(d, n);
	}
	free(big);
}

/* ---------------------------------------------------------------- text */

static void test_split_context(void)
{
	static const struct {
		const char *s;
		size_t moved;
	} cases[] = {  /* len(s.encode()) - len(s.rstrip().encode()) in python3 */
		{ "abc \t\n", 3 },
		{ "\xe6\x96\x87\xe5\xad\x97\xe3\x80\x80", 3 },          /* U+3000 */
		{ "x\xc2\xa0 ", 3 },                                      /* U+00A0, space */
		{ "x\xe2\x80\x8b", 0 },                                   /* U+200B: not space */
		{ "x\xe2\x80\xa9", 3 },                                   /* U+2029 */
		{ "a\xc2\x85", 2 },                                       /* U+0085 */
		{ "   ", 3 },
		{ "", 0 },
		{ "x\x1c\x1d\x1e\x1f", 4 },
		{ "x\xe2\x80\x85\xe2\x80\xaf\xe2\x81\x9f\xe1\x9a\x80", 12 },
		{ "x\xe1\xa0\x8e", 0 },                                   /* U+180E */
		{ "x\xe2\x81\xa0", 0 },                                   /* U+2060 */
		{ "x\xe2\x80\x8a\xe2\x80\xa8", 6 },
		{ "\xe3\x80\x80\xe3\x80\x80", 6 },
		{ "y\xc3\xa0", 0 },                                       /* à ends in A0 */
		{ "ok", 0 },
	};
	int ok = 1;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = strlen(cases[i].s), moved = 99;
		size_t keep = eval_split_context(cases[i].s, len, &moved);

		if (moved != cases[i].moved || keep != len - moved) {
			printf("#   case %zu: moved %zu, want %zu\n", i, moved, cases[i].moved);
			ok = 0;
		}
	}
	CHECK(ok, "split_context: trailing whitespace as python3's str.rstrip() (16 cases)");
	CHECK(eval_split_context("ab  ", 3, NULL) == 2,
	      "split_context: only `len` bytes are looked at; moved may be NULL");
}

/* Every code point against python3's str.isspace(), when python3 exists. */
static void test_split_all_codepoints(void)
{
	static char in_set[0x110000];
	FILE *p = popen("python3 -c \"import sys; [print(c) for c in range(sys.maxunicode + 1)"
	                " if chr(c).isspace() and ('x' + chr(c)).rstrip() == 'x']\" 2>/dev/null", "r");
	int c, count = 0, bad = 0;

	if (!p) {
		t_skip("python3 not available for the whitespace set");
		return;
	}
	while (fscanf(p, "%d", &c) == 1)
		if (c >= 0 && c < 0x110000) {
			in_set[c] = 1;
			count++;
		}
	if (pclose(p) != 0 || count == 0) {
		t_skip("python3 not available for the whitespace set");
		return;
	}
	for (c = 1; c < 0x110000; c++) {
		char s[8] = "x";
		size_t n = 1, moved;

		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		if (c < 0x80) {
			s[n++] = (char)c;
		} else if (c < 0x800) {
			s[n++] = (char)(0xc0 | c >> 6);
			s[n++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			s[n++] = (char)(0xe0 | c >> 12);
			s[n++] = (char)(0x80 | (c >> 6 & 0x3f));
			s[n++] = (char)(0x80 | (c & 0x3f));
		} else {
			s[n++] = (char)(0xf0 | c >> 18);
			s[n++] = (char)(0x80 | (c >> 12 & 0x3f));
			s[n++] = (char)(0x80 | (c >> 6 & 0x3f));
			s[n++] = (char)(0x80 | (c & 0x3f));
		}
		eval_split_context(s, n, &moved);
		if ((moved != 0) != in_set[c] || (moved && moved != n - 1)) {
			if (bad++ < 5)
				printf("#   U+%04X: moved %zu\n", (unsigned)c, moved);
		}
	}
	printf("# python3 says %d code points are whitespace\n", count);
	CHECK(!bad && count == 29,
	      "split_context: all 1.1M code points agree with python3's rstrip()");
}

static void test_codepoints(void)
{
	CHECK(eval_codepoints("h\xc3\xa9llo") == 5, "codepoints: 'héllo' is 5");
	CHECK(eval_codepoints("\xe4\xb8\xad\xe6\x96\x87") == 2, "codepoints: '中文' is 2");
	CHECK(eval_codepoints("\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d"
	                      "\xe0\xa4\xa6\xe0\xa5\x80") == 6,
	      "codepoints: 'हिन्दी' is 6 (combining marks count, as len() counts them)");
	CHECK(eval_codepoints("\xf0\x9f\x98\x80x") == 2, "codepoints: an emoji is 1");
	CHECK(eval_codepoints("") == 0, "codepoints: '' is 0");
}

/* ---------------------------------------------------------------- real files */

static const char *data_dir(void)
{
	static char dir[1100];
	const char *d = getenv("ANSER_DATA"), *r = getenv("ANSER_ROOT");

	if (d)
		snprintf(dir, sizeof(dir), "%s", d);
	else
		snprintf(dir, sizeof(dir), "%s/../shared/data", r ? r : ".");
	return dir;
}

/* sha256 of context \0 choice0 [\0 choice1] \0 gold \n over all documents. */
static void docs_digest(const struct eval_doc *d, size_t n, char hex[65])
{
	struct anser_sha256 s;
	uint8_t dig[32];
	char g[16];

	anser_sha256_init(&s);
	for (size_t i = 0; i < n; i++) {
		anser_sha256_update(&s, d[i].context, strlen(d[i].context) + 1);
		for (int c = 0; c < d[i].n_choices; c++)
			anser_sha256_update(&s, d[i].choices[c],
			                    strlen(d[i].choices[c]) + (d[i].gold >= 0 || c));
		if (d[i].gold >= 0) {
			snprintf(g, sizeof(g), "%d\n", d[i].gold);
			anser_sha256_update(&s, g, strlen(g));
		} else {
			anser_sha256_update(&s, "\n", 1);
		}
	}
	anser_sha256_final(&s, dig);
	anser_hex(dig, 32, hex);
}

static void test_real_lambada(void)
{
	char path[1200], hex[65];
	struct anser_err err = { 0 };
	struct eval_doc *d = NULL;
	size_t n = 0, ws = 0, moved;

	snprintf(path, sizeof(path), "%s/lambada_test.jsonl", data_dir());
	if (access(path, R_OK)) {
		t_skip("lambada_test.jsonl not found (set ANSER_DATA)");
		return;
	}
	if (!CHECK(eval_read_lambada(path, &d, &n, &err) == ANSER_OK && n == 5153,
	           "real lambada_test.jsonl: 5153 documents")) {
		printf("#   %s\n", err.msg);
		return;
	}
	docs_digest(d, n, hex);
	CHECK(!strcmp(hex, "5061e0818f21ece041a1286b7c8f775d65e000324b2ae13c4edcf60971148dd3"),
	      "real lambada: every split equals python's (sha256 of all pairs)");
	for (size_t i = 0; i < n; i++) {
		eval_split_context(d[i].context, strlen(d[i].context), &moved);
		ws += moved != 0;
	}
	CHECK(ws == 0 && d[n - 1].line == 5153, "real lambada: no context ends in whitespace");
	eval_free_docs(d, n);
}

static void test_real_xstorycloze(void)
{
	static const struct {
		const char *lang, *sha;
		size_t ws; /* contexts ending in whitespace (eval-harness.md 2.2) */
	} langs[] = {
		{ "ar", "9d0fd0e8381808e9275e1260d951dfbc2883525028f58fc2e91a4f64a90a25d1", 0 },
		{ "es", "ecf959c9ec6c27d9a9226ff45a5a695f1a99d49edaf7979e9cc0ec4409f11656", 0 },
		{ "eu", "cbbfd8befb0d189db6ae3a3caba14d40edc9e79a8da4622f2bdaace954ffbddf", 0 },
		{ "hi", "24d5fdb60d2096da15f45d0b8f8b368afb73de099217483d6774691bc56ea44e", 39 },
		{ "id", "7d0a5278eb4ac489eb6653d11f885d7383681346b2425c135ac685e71be20752", 68 },
		{ "my", "5325d509dd2f8e5596f0a4c51fd7fc3657fe6c4778cfc41f717012703ea4e9ea", 0 },
		{ "ru", "3e5ead3b0e86e9131339559dde30ec241e445706896e045eaaaa8e1bcfe2fe43", 14 },
		{ "sw", "7e6fb629d3f59274a9bf7f278b423d74d1c72a33380d0892c2a836d35be9d1cd", 0 },
		{ "te", "c27149ff47b8152c1c8c4e8e40e8e7b2bf25ff38a6e55e89cfffd47f47daea2a", 0 },
		{ "zh", "5160c851a6c232b791945365973619ba028a152dfb2a8982d079c76f9b90616e", 2 },
	};

	for (size_t l = 0; l < ARRAY_SIZE(langs); l++) {
		char path[1200], hex[65], what[200];
		struct anser_err err = { 0 };
		struct eval_doc *d = NULL;
		size_t n = 0, g0 = 0, g1 = 0, ws = 0, moved;
		const char *lang = langs[l].lang;

		snprintf(path, sizeof(path),
		         "%s/xstorycloze/spring2016.val.%s.tsv.split_20_80_eval.tsv",
		         data_dir(), lang);
		if (access(path, R_OK)) {
			snprintf(what, sizeof(what),
			         "xstorycloze %s not found (set ANSER_DATA)", lang);
			t_skip(what);
			continue;
		}
		if (eval_read_xstorycloze(path, &d, &n, &err) != ANSER_OK) {
			snprintf(what, sizeof(what), "real xstorycloze %s reads", lang);
			CHECK(0, what);
			printf("#   %s\n", err.msg);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			g0 += d[i].gold == 0;
			g1 += d[i].gold == 1;
			eval_split_context(d[i].context, strlen(d[i].context), &moved);
			ws += moved != 0;
		}
		snprintf(what, sizeof(what),
		         "real xstorycloze %s: 1511 stories, 798 gold 0, 713 gold 1", lang);
		CHECK(n == 1511 && g0 == 798 && g1 == 713 && d[n - 1].line == 1511, what);
		docs_digest(d, n, hex);
		snprintf(what, sizeof(what),
		         "real xstorycloze %s: every field equals python csv's (sha256)", lang);
		if (!CHECK(!strcmp(hex, langs[l].sha), what))
			printf("#   %s\n", hex);
		snprintf(what, sizeof(what),
		         "real xstorycloze %s: %zu contexts end in whitespace", lang, langs[l].ws);
		CHECK(ws == langs[l].ws, what);
		if (!strcmp(lang, "ru"))
			CHECK(starts(d[1201].context, "\xd0\x92 \xd1\x8d\xd1\x82\xd0\xbe\xd0\xbc "
			             "\xd0\xb3\xd0\xbe\xd0\xb4\xd1\x83 \xd0\x91\xd0\xb5\xd0\xbd "
			             "\xd1\x85\xd0\xbe\xd1\x82\xd0\xb5\xd0\xbb") &&
			      d[1201].line == 1202,
			      "real ru row 1202: sentence 1 loses its leading space");
		if (!strcmp(lang, "eu"))
			CHECK(starts(d[360].context, "Buffy banpiro-ehiztaria seriearen "
			             "maratoi bat egiten hasi nintzen. "),
			      "real eu row 361: sentence 1 loses its quotes");
		if (!strcmp(lang, "hi")) {
			const char *e2 = d[359].choices[1];
			size_t el = strlen(e2);
			CHECK(el > 2 && e2[0] == ' ' && e2[1] != ' ' && e2[el - 1] == ' ' &&
			      starts(e2 + 1, "\xe0\xa4\x9c\xe0\xa4\xbf\xe0\xa4\xb2 "),
			      "real hi row 360: ending 2 loses its leading space, keeps the trailing one");
		}
		eval_free_docs(d, n);
	}
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("# cannot make a temporary directory\n");
		return 1;
	}
	test_lambada();
	test_lambada_errors();
	test_tsv_quirks();
	test_tsv_errors();
	test_split_context();
	test_split_all_codepoints();
	test_codepoints();
	test_real_lambada();
	test_real_xstorycloze();
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			printf("# could not remove %s\n", tmpdir);
	}
	return done();
}
