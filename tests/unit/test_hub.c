/*
 * test_hub.c - the Hub client's pieces that need no network: SHA-1 and git
 * blob ids, fnmatch against Python's fnmatchcase, repository references
 * (hf:// and URLs), checks of ids, paths and revisions, etags, percent-
 * encoding, cache names, Retry-After, the progress line, the model table.
 * The protocol itself is tested against the mock Hub (tests/cli/t05*).
 */
#include <time.h>

#include <curl/curl.h>

#include "../../lib/hub.h"
#include "../harness.h"

static void sha1_hex(const void *p, size_t n, char hex[41])
{
	struct anser_sha1 s;
	uint8_t d[20];

	anser_sha1_init(&s);
	anser_sha1_update(&s, p, n);
	anser_sha1_final(&s, d);
	anser_hex(d, 20, hex);
}

static void test_sha1(void)
{
	static char big[1000000];
	struct anser_sha1 s;
	char hex[41];
	uint8_t d[20];

	sha1_hex("", 0, hex);
	CHECK(!strcmp(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
	      "sha1 of the empty string");
	sha1_hex("abc", 3, hex);
	CHECK(!strcmp(hex, "a9993e364706816aba3e25717850c26c9cd0d89d"),
	      "sha1 of abc");
	sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	         hex);
	CHECK(!strcmp(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
	      "sha1 of the 56-byte FIPS vector");
	memset(big, 'a', sizeof(big));
	anser_sha1_init(&s);
	for (size_t off = 0, k = 1; off < sizeof(big); off += k, k = k * 7 % 1000 + 1)
		anser_sha1_update(&s, big + off,
		                  off + k > sizeof(big) ? sizeof(big) - off : k);
	anser_sha1_final(&s, d);
	anser_hex(d, 20, hex);
	CHECK(!strcmp(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
	      "sha1 of a million 'a' fed in uneven pieces");
	hub_gitsha1_init(&s, 6);
	anser_sha1_update(&s, "hello\n", 6);
	anser_sha1_final(&s, d);
	anser_hex(d, 20, hex);
	CHECK(!strcmp(hex, "ce013625030ba8dba906f756967f9e9ca394464a"),
	      "git blob id of \"hello\\n\" (git hash-object)");
	hub_gitsha1_init(&s, 0);
	anser_sha1_final(&s, d);
	anser_hex(d, 20, hex);
	CHECK(!strcmp(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"),
	      "git blob id of the empty file");
}

/* Expected values from Python 3.11's fnmatch.fnmatchcase. */
static void test_match(void)
{
	static const struct {
		const char *pat, *s;
		int want;
	} t[] = {
		{ "*.json", "config.json", 1 },
		{ "*.json", "sub/dir/x.json", 1 },
		{ "*.json", "x.JSON", 0 },
		{ "gguf/*", "gguf/a/b.gguf", 1 },
		{ "a?c", "abc", 1 },
		{ "a?c", "ac", 0 },
		{ "a?c", "a/c", 1 },
		{ "[ab]*", "b/x", 1 },
		{ "[!ab]*", "c", 1 },
		{ "[!ab]*", "a", 0 },
		{ "[a-c]x", "bx", 1 },
		{ "[a-c]x", "dx", 0 },
		{ "[]]x", "]x", 1 },
		{ "[!]]x", "ax", 1 },
		{ "[", "[", 1 },
		{ "[abc", "[abc", 1 },
		{ "a[", "a[", 1 },
		{ "*", "", 1 },
		{ "", "", 1 },
		{ "", "a", 0 },
		{ "**", "a/b/c", 1 },
		{ "a*b*c", "aXbYc", 1 },
		{ "a*b*c", "aXbY", 0 },
		{ "*a", "ba", 1 },
		{ "\\*", "\\x", 1 },
		{ "\\*", "*", 0 },
		{ "\xc3\xa9?", "\xc3\xa9x", 1 },
		{ "?", "\xc3\xa9", 1 },
		{ "??", "\xc3\xa9", 0 },
		{ "*.tar.gz", "x.tar.gz", 1 },
		{ "x/**", "x/", 1 },
		{ "[^a]", "^", 1 },
		{ "[^a]", "b", 0 },
		{ "[z-a]", "m", 0 },
		{ "[a-]", "-", 1 },
		{ "data/*.txt", "data/a.txt", 1 },
	};
	int bad = 0;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (anser_hub_match(t[i].pat, t[i].s) != t[i].want) {
			printf("#   fnmatchcase('%s', '%s') should be %d\n", t[i].s,
			       t[i].pat, t[i].want);
			bad++;
		}
	CHECK(!bad, "anser_hub_match agrees with Python's fnmatchcase on 36 cases");
}

static int ref_is(const char *s, const char *ep, const char *repo, int type,
                  const char *rev, const char *path)
{
	struct anser_hub_ref r;
	struct anser_err err = { 0 };

	if (anser_hub_parse_ref(s, ep, &r, &err)) {
		printf("#   %s: %s\n", s, err.msg);
		return 0;
	}
	if (strcmp(r.repo_id, repo) || (int)r.type != type ||
	    strcmp(r.revision, rev) || strcmp(r.path, path)) {
		printf("#   %s -> '%s' %d '%s' '%s'\n", s, r.repo_id, r.type,
		       r.revision, r.path);
		return 0;
	}
	return 1;
}

static int ref_bad(const char *s, const char *msg)
{
	struct anser_hub_ref r;
	struct anser_err err = { 0 };

	if (anser_hub_parse_ref(s, NULL, &r, &err) != ANSER_E_ARG)
		return 0;
	if (!strstr(err.msg, msg)) {
		printf("#   %s: %s\n", s, err.msg);
		return 0;
	}
	return 1;
}

static void test_refs(void)
{
	const int M = ANSER_REPO_MODEL, D = ANSER_REPO_DATASET;

	CHECK(ref_is("org/name", NULL, "org/name", M, "", ""), "org/name");
	CHECK(ref_is("gpt2", NULL, "gpt2", M, "", ""), "a legacy id");
	CHECK(ref_is("hf://org/name", NULL, "org/name", M, "", ""), "hf://org/name");
	CHECK(ref_is("hf://datasets/org/ds@v1/a/b.txt", NULL, "org/ds", D, "v1",
	             "a/b.txt"), "hf://datasets/org/ds@v1/a/b.txt");
	CHECK(ref_is("hf://org/name@refs/pr/3/x.bin", NULL, "org/name", M,
	             "refs/pr/3", "x.bin"), "hf:// with refs/pr/3 kept whole");
	CHECK(ref_is("hf://org/name@refs/convert/parquet/x", NULL, "org/name", M,
	             "refs/convert/parquet", "x"), "hf:// with refs/convert/parquet");
	CHECK(ref_is("hf://org/name@feature%2Fx/y", NULL, "org/name", M,
	             "feature/x", "y"), "hf:// with an encoded '/' in the revision");
	CHECK(ref_is("hf://org/name/file@1.txt", NULL, "org/name", M, "",
	             "file@1.txt"), "hf:// '@' inside a path is literal");
	CHECK(ref_is("hf://org/name/gguf/", NULL, "org/name", M, "", "gguf/"),
	      "hf:// trailing '/' keeps a folder");
	CHECK(ref_is("https://huggingface.co/org/name/blob/main/a/b.json", NULL,
	             "org/name", M, "main", "a/b.json"), "a /blob/ URL");
	CHECK(ref_is("https://huggingface.co/datasets/org/ds/resolve/v2/x.parquet"
	             "?download=true", NULL, "org/ds", D, "v2", "x.parquet"),
	      "a dataset /resolve/ URL with ?download=true");
	CHECK(ref_is("https://hf.co/org/name/resolve/main/my%20file.txt", NULL,
	             "org/name", M, "main", "my file.txt"), "hf.co, and %20 decoded");
	CHECK(ref_is("https://huggingface.co/org/name/tree/main/gguf", NULL,
	             "org/name", M, "main", "gguf/"), "a /tree/ URL is a folder");
	CHECK(ref_is("https://huggingface.co/org/name", NULL, "org/name", M, "",
	             ""), "a repo page");
	CHECK(ref_is("huggingface.co/org/name/resolve/refs%2Fpr%2F1/x", NULL,
	             "org/name", M, "refs/pr/1", "x"), "no scheme, encoded revision");
	CHECK(ref_is("http://127.0.0.1:8080/hf/org/name/resolve/main/x",
	             "http://127.0.0.1:8080/hf", "org/name", M, "main", "x"),
	      "a URL on the endpoint, its path prefix dropped");
	CHECK(ref_bad("https://example.com/org/name", "not a Hugging Face URL"),
	      "another host is refused");
	CHECK(ref_bad("https://huggingface.co/org/name/commits/main",
	              "cannot download from a '/commits/' page"),
	      "a page that is not a file is refused");
	CHECK(ref_bad("hf://model/org/name", "plural"), "hf://model/ must be models/");
	CHECK(ref_bad("hf://gpt2", "org/name"), "hf:// needs org/name");
	CHECK(ref_bad("a/b/c", "more than one '/'"), "two slashes");
	CHECK(ref_bad("org/-name", "cannot start or end"), "a leading '-'");
	CHECK(ref_bad("org--x/name", "'--'"), "'--' in an id");
	CHECK(ref_bad("org/na me", "not allowed"), "a space in an id");
	CHECK(ref_bad("hf://org/name@../../x/y", "not a valid revision"),
	      "a revision that climbs out of refs/");
	CHECK(anser_repo_type_parse("dataset") == ANSER_REPO_DATASET &&
	      anser_repo_type_parse("model") == ANSER_REPO_MODEL &&
	      anser_repo_type_parse("space") == ANSER_REPO_SPACE &&
	      anser_repo_type_parse("models") == -1, "repo type names");
}

static void test_checks(void)
{
	static const char *const good[] = {
		"a", "a/b.txt", ".gitattributes", "sub/dir/x.json", "x..y",
	};
	static const char *const bad[] = {
		"", "/a", "a/../b", "..", "a//b", "a\\b", "./a", "C:x", "a/",
		"a\tb", "a/./b",
	};
	char why[128], buf[160];
	int ok = 1;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		ok &= hub_path_ok(good[i]);
	CHECK(ok, "repo paths that are fine pass");
	ok = 1;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (hub_path_ok(bad[i])) {
			printf("#   '%s' passed\n", bad[i]);
			ok = 0;
		}
	CHECK(ok, "absolute paths, '..', '.', empty segments, '\\', drives fail");
	CHECK(hub_repo_id_ok("org/name", why, sizeof(why)) &&
	      hub_repo_id_ok("a.b-c_d/x1", why, sizeof(why)) &&
	      hub_repo_id_ok("gpt2", why, sizeof(why)), "good repo ids");
	memset(buf, 'a', 97);
	buf[97] = '\0';
	CHECK(!hub_repo_id_ok(buf, why, sizeof(why)) && strstr(why, "96"),
	      "a 97-character id is too long");
	CHECK(!hub_repo_id_ok("a/", why, sizeof(why)) &&
	      !hub_repo_id_ok("/a", why, sizeof(why)) &&
	      !hub_repo_id_ok("a..b/c", why, sizeof(why)), "empty parts, '..'");
	CHECK(hub_revision_ok("refs/pr/1") && hub_revision_ok("main") &&
	      !hub_revision_ok("../x") && !hub_revision_ok("a/../../b"),
	      "revisions are refs/ paths that stay inside refs/");
}

static void test_strings(void)
{
	char e[65], *s;

	CHECK(hub_etag_normalize("W/\"AbC123\"", e, sizeof(e)) &&
	      !strcmp(e, "abc123"), "etag: W/ and quotes stripped, lower case");
	CHECK(hub_etag_normalize("\"x\"", e, sizeof(e)) && !strcmp(e, "x"),
	      "etag: plain quotes");
	CHECK(!hub_etag_normalize("\"\"", e, sizeof(e)), "etag: empty is refused");
	s = hub_quote("refs/pr/1", 0);
	CHECK(s && !strcmp(s, "refs%2Fpr%2F1"), "a revision: '/' becomes %2F");
	anser_free(s);
	s = hub_quote("a b/c#d~e_f.g-h", 1);
	CHECK(s && !strcmp(s, "a%20b/c%23d~e_f.g-h"),
	      "a path: '/' and -_.~ kept, the rest encoded");
	anser_free(s);
	s = hub_repo_folder("/c", ANSER_REPO_DATASET, "org/name");
	CHECK(s && !strcmp(s, "/c/datasets--org--name"), "datasets--org--name");
	anser_free(s);
	s = hub_repo_folder("/c", ANSER_REPO_MODEL, "gpt2");
	CHECK(s && !strcmp(s, "/c/models--gpt2"), "models--gpt2");
	anser_free(s);
	s = hub_local_incomplete("/d", "model.pth", "abc");
	CHECK(s && !strcmp(s, "/d/.cache/huggingface/download/"
	                      "YT0Y2lJH9mHYafdr2d9j82hXvzY=.abc.incomplete"),
	      "local dir partial: urlsafe base64 of sha1 of the metadata name");
	anser_free(s);
	s = hub_local_incomplete("/d", "gguf/q8.gguf", "e");
	CHECK(s && !strcmp(s, "/d/.cache/huggingface/download/gguf/"
	                      "DqKw5dVoqYX2_gX7RQdrTI6wBm8=.e.incomplete"),
	      "...in the file's folder, '_' and '-' for + and /");
	anser_free(s);
	s = hub_local_meta_path("/d", "a/b.txt", ".lock");
	CHECK(s && !strcmp(s, "/d/.cache/huggingface/download/a/b.txt.lock"),
	      "local dir lock: <path>.lock");
	anser_free(s);
	s = hub_url_resolve("http://h:1/a/b?x=1", "/api/resolve-cache/m?e=2");
	CHECK(s && !strcmp(s, "http://h:1/api/resolve-cache/m?e=2"),
	      "a relative redirect resolves against the request URL");
	anser_free(s);
	CHECK(hub_same_origin("http://h:1/a", "HTTP://H:1/b") &&
	      !hub_same_origin("http://h:1/a", "http://h:2/a") &&
	      !hub_same_origin("http://h/a", "https://h/a") &&
	      hub_same_origin("https://h/a", "https://h:443/b"),
	      "same origin: scheme, host and port");
}

static void test_retry_after(void)
{
	struct hub_resp r = { 0 };
	char date[64];
	time_t t = time(NULL) + 20;
	struct tm tm;

	hub_resp_clear(&r);
	CHECK(hub_retry_after(&r) < 0, "no header: no wait of its own");
	r.status = 429;
	r.ratelimit = anser_strdup("\"api\";r=0;t=55");
	CHECK(hub_retry_after(&r) == 56, "RateLimit r=0;t=55: 56 s");
	anser_free(r.ratelimit);
	r.ratelimit = anser_strdup("\"api\";r=3;t=55");
	CHECK(hub_retry_after(&r) < 0, "RateLimit with requests left: no wait");
	r.retry_after = anser_strdup("3");
	CHECK(hub_retry_after(&r) == 4, "Retry-After: 3 waits 4 s, as hf");
	anser_free(r.retry_after);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	r.retry_after = anser_strdup(date);
	CHECK(hub_retry_after(&r) >= 19 && hub_retry_after(&r) <= 22,
	      "Retry-After as an HTTP date");
	anser_free(r.retry_after);
	r.retry_after = anser_strdup("100000");
	CHECK(hub_retry_after(&r) == 300, "waits are capped at 5 minutes");
	hub_resp_clear(&r);
}

/* The parsers of what the Hub sends (also fuzzed: tests/fuzz/fuzz_hub_*). */
static void test_parsers(void)
{
	static const char sha[] = "0123456789ABCDEF0123456789abcdef01234567";
	struct hub_resp r = { 0 };
	uint64_t a = 0, b = 0;
	char commit[41], body[256], *s;
	size_t n = 99;

	snprintf(body, sizeof(body), "{\"sha\": \"%s\", \"id\": \"o/n\"}", sha);
	CHECK(hub_parse_revision(body, commit) &&
	      !strcmp(commit, "0123456789abcdef0123456789abcdef01234567"),
	      "revision answer: the sha, lower-cased");
	CHECK(!hub_parse_revision("{\"sha\": \"0123\"}", commit) &&
	      !hub_parse_revision("[1, 2]", commit) &&
	      !hub_parse_revision(NULL, commit) &&
	      !hub_parse_revision("{\"sha\": 5}", commit),
	      "revision answer without a 40-digit sha is refused");
	/* An empty repo lists nothing: qsort(NULL, 0) was undefined (fuzz). */
	CHECK_STATUS(hub_parse_tree("o/n", "[]", &n, NULL), ANSER_OK,
	             "tree: an empty listing parses");
	CHECK(n == 0, "tree: an empty listing has no files");
	snprintf(body, sizeof(body), "[{\"type\": \"directory\", \"path\": \"d\"},"
	         "{\"type\": \"file\", \"path\": \"d/b\", \"oid\": \"%s\", "
	         "\"size\": 3}, {\"type\": \"file\", \"path\": \"a\", \"oid\": "
	         "\"%s\", \"size\": 0}]", sha, sha);
	CHECK(!hub_parse_tree("o/n", body, &n, NULL) && n == 2,
	      "tree: files counted, folders skipped");
	snprintf(body, sizeof(body), "[{\"type\": \"file\", \"path\": \"../x\", "
	         "\"oid\": \"%s\", \"size\": 3}]", sha);
	CHECK_STATUS(hub_parse_tree("o/n", body, &n, NULL), ANSER_E_FORMAT,
	             "tree: an unsafe path is refused");
	snprintf(body, sizeof(body), "[{\"type\": \"file\", \"path\": \"x\", "
	         "\"oid\": \"%s\", \"size\": -1}]", sha);
	CHECK_STATUS(hub_parse_tree("o/n", body, &n, NULL), ANSER_E_FORMAT,
	             "tree: a negative size is refused");
	CHECK_STATUS(hub_parse_tree("o/n", "{}", &n, NULL), ANSER_E_FORMAT,
	             "tree: not an array is refused");

	hub_resp_clear(&r);
	CHECK(hub_resp_header(&r, "ETag: \"one\"\r\n", 13) &&
	      hub_resp_header(&r, "etag: two\r\n", 11) &&
	      hub_resp_header(&r, "Content-Length:  42 \r\n", 22) &&
	      hub_resp_header(&r, "no colon here\r\n", 15) &&
	      hub_resp_header(&r, "X-Linked-Size: -5\r\n", 19),
	      "headers: parsed");
	CHECK(r.etag && !strcmp(r.etag, "\"one\"") && r.content_length == 42 &&
	      r.linked_size == -1, "headers: first wins, sizes checked");
	/* Exactly n bytes: the line need not be NUL-terminated. */
	CHECK(hub_resp_header(&r, "Location: /aXXXX", 12) && r.location &&
	      !strcmp(r.location, "/a"), "headers: only n bytes are read");
	CHECK(hub_resp_header(&r, "HTTP/1.1 302 Found\r\n", 20) && !r.etag &&
	      !r.location && r.content_length == -1,
	      "headers: a new status line starts afresh");
	hub_resp_clear(&r);
	CHECK(hub_content_range("bytes 100-199/1000", &a, &b) && a == 100 &&
	      b == 1000, "Content-Range parsed");
	CHECK(!hub_content_range("bytes 5-4/10", &a, &b) &&
	      !hub_content_range("bytes 0-10/10", &a, &b) &&
	      !hub_content_range(NULL, &a, &b) &&
	      !hub_content_range("bytes */10", &a, &b),
	      "Content-Range: impossible ranges refused");
	s = hub_link_next("<https://h/a?c=1>; rel=\"prev\", "
	                  "<https://h/b?c=2>; rel=\"next\"");
	CHECK(s && !strcmp(s, "https://h/b?c=2"), "Link: the next page");
	anser_free(s);
	CHECK(!hub_link_next("<https://h/a; rel=\"next\"") && !hub_link_next(NULL),
	      "Link: malformed or absent gives no page");
}

static void test_progress(void)
{
	struct anser_hub_progress p = {
		.bytes_done = 50000000, .bytes_total = 100000000,
		.bytes_received = 40000000, .files_done = 1, .files_total = 2,
		.seconds = 4,
	};
	char line[256];

	anser_hub_progress_line(&p, 100, line, sizeof(line));
	CHECK(!strncmp(line, "1/2 files  50.0 MB / 100.0 MB   50% [####", 41) &&
	      strstr(line, "]  10.0 MB/s  0:05 left") &&
	      strlen(line) <= 100, "the progress line: files, bytes, %, bar, "
	      "rate of this run, time left");
	printf("#   %s\n", line);
	anser_hub_progress_line(&p, 40, line, sizeof(line));
	CHECK(!strchr(line, '['), "too narrow for a bar: no bar");
	p.seconds = 0;
	anser_hub_progress_line(&p, 100, line, sizeof(line));
	CHECK(strstr(line, "  -  --:-- left") != NULL, "no rate yet: no ETA");
}

static void test_models(void)
{
	size_t n;
	const struct anser_model_entry *t = anser_model_table(&n), *e;
	int ok = 1;

	e = anser_model_lookup("RWKV7-World-0.1B");
	CHECK(e && !strcmp(e->repo, "BlinkDL/rwkv-7-world") &&
	      !strcmp(e->file, "RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth") &&
	      e->size == 382195690, "rwkv7-world-0.1b (any case): repo, file, size");
	e = anser_model_lookup("rwkv7-world-2.9b");
	CHECK(e && !strcmp(e->file, "RWKV-x070-World-2.9B-v3-20250211-ctx4096.pth") &&
	      e->size == 5895796446ULL, "rwkv7-world-2.9b");
	e = anser_model_lookup("rwkv7-g1-1.5b");
	CHECK(e && !strcmp(e->repo, "BlinkDL/rwkv7-g1") &&
	      !strcmp(e->file, "rwkv7-g1-1.5b-20250429-ctx4096.pth"),
	      "rwkv7-g1-1.5b is in BlinkDL/rwkv7-g1 (no dash)");
	CHECK(!anser_model_lookup("rwkv7-world-9b"), "unknown names are NULL");
	for (size_t i = 0; i < n; i++) {
		size_t fl = strlen(t[i].file);
		ok &= !strncmp(t[i].name, "rwkv7-", 6) && strchr(t[i].repo, '/') &&
		      fl > 4 && !strcmp(t[i].file + fl - 4, ".pth") &&
		      t[i].size > 100000000 && anser_model_lookup(t[i].name) == &t[i];
	}
	CHECK(ok && n >= 8, "every entry: a unique rwkv7- name, a .pth, a size");
	CHECK(!strcmp(anser_model_vocab_repo(0),
	              "RWKV/RWKV7-Goose-World2.8-0.1B-HF") &&
	      anser_model_vocab_repo(1) && !anser_model_vocab_repo(9),
	      "the World vocab comes from an HF-format RWKV-7 repo, with a fallback");
}

int main(void)
{
	test_sha1();
	test_match();
	test_refs();
	test_checks();
	test_strings();
	test_retry_after();
	test_parsers();
	test_progress();
	test_models();
	return done();
}
