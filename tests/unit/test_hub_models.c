/*
 * test_hub_models.c - models by name: anser_model_resolve and
 * anser_model_fetch, the functions run, eval and convert call with what the
 * user typed.
 *
 * Offline (always): a Hugging Face cache laid out by hand the way
 * huggingface_hub writes it (refs/main, blobs/<etag>, relative symlinks),
 * then also the copy layout hf uses where symlinks are unavailable; the name
 * must resolve to a converted file beside the checkpoint, converted once.
 * Online (when ANSER_TEST_HUB=1, as tests/cli/t0530 runs it against the mock
 * Hub): the same from an empty cache, with progress and cancellation.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/hub.h"
#include "../harness.h"

#define CKPT "RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth"
#define COMMIT_W "1111111111111111111111111111111111111111"
#define COMMIT_V "2222222222222222222222222222222222222222"
static const char vocab_text[] = "1 'a' 1\n2 'b' 1\n3 ' ' 1\n";

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f;

	if (hub_mkdirs_for(path, NULL))
		return 0;
	f = fopen(path, "wb");
	if (!f)
		return 0;
	if (fwrite(p, 1, n, f) != n) {
		fclose(f);
		return 0;
	}
	return !fclose(f);
}

static int copy(const char *src, const char *dst)
{
	return !hub_mkdirs_for(dst, NULL) && !hub_copy_file(src, dst, NULL);
}

/* One file of one repo, as huggingface_hub caches it. */
static int put(const char *cache, const char *folder, const char *commit,
               const char *name, const char *src, const char *etag,
               int symlinks)
{
	char blob[4096], ptr[4096], ref[4096], target[512];

	snprintf(blob, sizeof(blob), "%s/%s/blobs/%s", cache, folder, etag);
	snprintf(ptr, sizeof(ptr), "%s/%s/snapshots/%s/%s", cache, folder,
	         commit, name);
	snprintf(ref, sizeof(ref), "%s/%s/refs/main", cache, folder);
	snprintf(target, sizeof(target), "../../blobs/%s", etag);
	if (!write_file(ref, commit, 40))
		return 0;
	if (!symlinks)
		return copy(src, ptr);
	return copy(src, blob) && !hub_mkdirs_for(ptr, NULL) &&
	       !symlink(target, ptr);
}

static int fake_cache(const char *cache, const char *sha, const char *vsha1,
                      const char *vocab, int symlinks)
{
	return put(cache, "models--BlinkDL--rwkv-7-world", COMMIT_W, CKPT,
	           "tests/fixtures/golden/micro.pth", sha, symlinks) &&
	       put(cache, "models--RWKV--RWKV7-Goose-World2.8-0.1B-HF", COMMIT_V,
	           ANSER_VOCAB_FILE, vocab, vsha1, symlinks);
}

static double mtime(const char *path)
{
	struct stat sb;

	if (stat(path, &sb))
		return -1;
	return (double)sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec * 1e-9;
}

static void check_native(const char *path, const char *sha, const char *what)
{
	struct anser_model *m = NULL;
	struct anser_err err = { 0 };
	char buf[300];

	if (anser_model_open(path, &m, &err)) {
		printf("#   %s\n", err.msg);
		CHECK(0, what);
		return;
	}
	snprintf(buf, sizeof(buf), "%s", what);
	CHECK(!strcmp(anser_model_meta(m)->source_sha256, sha) &&
	      !strcmp(anser_model_meta(m)->tokenizer, "rwkv-world"), buf);
	anser_model_free(m);
}

static void test_offline(const char *tmp)
{
	struct anser_err err = { 0 };
	struct anser_model_files mf;
	char cache[4096], vocab[4096], sha[65], vsha1[41], want[8192], path[4096];
	struct anser_sha1 s1;
	uint8_t d[20];
	double t1;

	snprintf(cache, sizeof(cache), "%s/hub", tmp);
	snprintf(vocab, sizeof(vocab), "%s/vocab.txt", tmp);
	CHECK(write_file(vocab, vocab_text, sizeof(vocab_text) - 1),
	      "a vocab file for the fake cache");
	CHECK_STATUS(anser_sha256_file("tests/fixtures/golden/micro.pth", sha,
	                               NULL), ANSER_OK, "sha256 of micro.pth");
	hub_gitsha1_init(&s1, sizeof(vocab_text) - 1);
	anser_sha1_update(&s1, vocab_text, sizeof(vocab_text) - 1);
	anser_sha1_final(&s1, d);
	anser_hex(d, 20, vsha1);
	CHECK(fake_cache(cache, sha, vsha1, vocab, 1),
	      "a cache laid out as huggingface_hub does");
	setenv("HF_HUB_CACHE", cache, 1);
	setenv("HF_HUB_OFFLINE", "1", 1);

	CHECK_STATUS(anser_model_fetch("rwkv7-world-0.1b", NULL, &mf, &err),
	             ANSER_OK, "fetch by name from a warm cache, offline");
	snprintf(want, sizeof(want), "%s/models--BlinkDL--rwkv-7-world/"
	         "snapshots/%s/%s", cache, COMMIT_W, CKPT);
	CHECK(!strcmp(mf.checkpoint, want), "...the checkpoint's snapshot path");
	snprintf(want, sizeof(want), "%s/models--RWKV--RWKV7-Goose-World2.8-0.1B-HF"
	         "/snapshots/%s/%s", cache, COMMIT_V, ANSER_VOCAB_FILE);
	CHECK(!strcmp(mf.vocab, want), "...the vocab's snapshot path");
	CHECK(!strcmp(mf.sha256, sha), "...the sha256 is the blob's name");
	snprintf(want, sizeof(want), "%s/models--BlinkDL--rwkv-7-world/anser/%s."
	         "anser", cache, sha);
	CHECK(!strcmp(mf.native, want),
	      "...the native file is <repo>/anser/<sha256>.anser");

	err.msg[0] = '\0';
	CHECK_STATUS(anser_model_resolve("rwkv7-world-0.1b", NULL, path,
	                                 sizeof(path), &err), ANSER_OK,
	             "resolve a name: fetched and converted");
	if (err.msg[0])
		printf("#   %s\n", err.msg);
	CHECK(!strcmp(path, want), "...to the native file beside the checkpoint");
	check_native(path, sha, "...which opens, records the source sha256 and "
	             "embeds the World vocab");
	t1 = mtime(path);
	usleep(20000);
	CHECK_STATUS(anser_model_resolve("RWKV7-World-0.1B", NULL, path,
	                                 sizeof(path), &err), ANSER_OK,
	             "resolve again (any case)");
	CHECK(!strcmp(path, want) && mtime(path) == t1,
	      "...the same file, not converted again");
	CHECK_STATUS(anser_model_resolve("tests/fixtures/golden/micro.pth", NULL,
	                                 path, sizeof(path), &err), ANSER_OK,
	             "resolve a file path");
	CHECK(!strcmp(path, "tests/fixtures/golden/micro.pth"),
	      "...is the path itself");
	CHECK_STATUS(anser_model_resolve("rwkv7-world-9b", NULL, path,
	                                 sizeof(path), &err), ANSER_E_NOTFOUND,
	             "an unknown name");
	CHECK(strstr(err.msg, "anser download --list") != NULL,
	      "...says where the names are listed");
	CHECK_STATUS(anser_model_resolve("rwkv7-world-0.1b", NULL, path, 10,
	                                 &err), ANSER_E_ARG,
	             "a buffer too small for the path");

	/* Where symlinks are unavailable hf keeps real files in snapshots/. */
	snprintf(cache, sizeof(cache), "%s/hub-copies", tmp);
	CHECK(fake_cache(cache, sha, vsha1, vocab, 0),
	      "a cache without symlinks (files in snapshots/)");
	setenv("HF_HUB_CACHE", cache, 1);
	CHECK_STATUS(anser_model_resolve("rwkv7-world-0.1b", NULL, path,
	                                 sizeof(path), &err), ANSER_OK,
	             "resolve from it");
	snprintf(want, sizeof(want), "%s/models--BlinkDL--rwkv-7-world/anser/%s."
	         "anser", cache, sha);
	CHECK(!strcmp(path, want), "...keyed by the sha256, hashed from the file");

	snprintf(cache, sizeof(cache), "%s/empty", tmp);
	setenv("HF_HUB_CACHE", cache, 1);
	CHECK_STATUS(anser_model_resolve("rwkv7-world-0.1b", NULL, path,
	                                 sizeof(path), &err), ANSER_E_NOTFOUND,
	             "offline with a cold cache fails");
	CHECK(strstr(err.msg, "HF_HUB_OFFLINE") != NULL,
	      "...saying HF_HUB_OFFLINE is why");
	unsetenv("HF_HUB_OFFLINE");
	unsetenv("HF_HUB_CACHE");
}

static int calls;
static struct anser_hub_progress last;

static void on_progress(const struct anser_hub_progress *p, void *arg)
{
	(void)arg;
	calls++;
	last = *p;
}

static void test_online(const char *tmp)
{
	volatile sig_atomic_t cancel = 0;
	struct anser_hub_opts o = { .progress = on_progress, .cancel = &cancel };
	struct anser_err err = { 0 };
	char cache[4096], path[4096], want[8192];
	const char *sha = getenv("SHA_WORLD");

	snprintf(cache, sizeof(cache), "%s/online", tmp);
	o.cache_dir = cache;
	err.msg[0] = '\0';
	CHECK_STATUS(anser_model_resolve("rwkv7-world-0.1b", &o, path,
	                                 sizeof(path), &err), ANSER_OK,
	             "online: resolve a name from an empty cache");
	if (err.msg[0])
		printf("#   %s\n", err.msg);
	snprintf(want, sizeof(want), "%s/models--BlinkDL--rwkv-7-world/anser/%s."
	         "anser", cache, sha ? sha : "?");
	CHECK(!strcmp(path, want), "...to <cache>/models--BlinkDL--rwkv-7-world/"
	      "anser/<sha256>.anser");
	check_native(path, sha ? sha : "?", "...converted, with the vocab");
	CHECK(calls >= 2 && last.files_done == last.files_total &&
	      last.bytes_done == last.bytes_total && last.bytes_total > 0,
	      "...reporting progress to the end");
	snprintf(cache, sizeof(cache), "%s/online2", tmp);
	cancel = 1;
	CHECK_STATUS(anser_model_resolve("rwkv7-world-0.1b", &o, path,
	                                 sizeof(path), &err), ANSER_E_CANCELLED,
	             "a raised cancel flag stops it");
}

int main(void)
{
	char tmp[] = "/tmp/anser-test-hub-XXXXXX";

	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	unsetenv("HF_HUB_OFFLINE");
	unsetenv("TRANSFORMERS_OFFLINE");
	test_offline(tmp);
	if (getenv("ANSER_TEST_HUB") && !strcmp(getenv("ANSER_TEST_HUB"), "1"))
		test_online(tmp);
	else
		t_skip("the online checks run from tests/cli/t0530 with the mock Hub");
	rm_rf(tmp);
	return done();
}
