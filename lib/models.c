/*
 * models.c - the released RWKV-7 models by name, and the one function the
 * commands call with what the user typed (anser_model_resolve): a file is
 * itself; a name is downloaded into the Hugging Face cache with the World
 * vocab, converted once, and the converted file is kept beside the
 * checkpoint's repo folder, named by the checkpoint's sha256:
 *
 *   $HF_HUB_CACHE/models--BlinkDL--rwkv-7-world/anser/<sha256>.anser
 *
 * huggingface_hub's tools look only at blobs/, refs/ and snapshots/ of a
 * repo folder, so the extra folder neither confuses them nor is touched by
 * them (`hf cache rm` of the repo removes the whole folder, ours too).
 *
 * File names and sizes come from docs/hub.md (RWKV-Runner's manifest.json);
 * the checksums are not kept here: the Hub's own are what downloads are
 * verified against.
 */
#include <errno.h>
#include <sys/stat.h>

#include "hub.h"

static const struct anser_model_entry table[] = {
	{ "rwkv7-world-0.1b", "BlinkDL/rwkv-7-world",
	  "RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth", 382195690,
	  "World v2.8, ctx 4096" },
	{ "rwkv7-world-0.4b", "BlinkDL/rwkv-7-world",
	  "RWKV-x070-World-0.4B-v2.9-20250107-ctx4096.pth", 901794466,
	  "World v2.9, ctx 4096" },
	{ "rwkv7-world-1.5b", "BlinkDL/rwkv-7-world",
	  "RWKV-x070-World-1.5B-v3-20250127-ctx4096.pth", 3055062345ULL,
	  "World v3, ctx 4096" },
	{ "rwkv7-world-2.9b", "BlinkDL/rwkv-7-world",
	  "RWKV-x070-World-2.9B-v3-20250211-ctx4096.pth", 5895796446ULL,
	  "World v3, ctx 4096" },
	{ "rwkv7-g1-0.1b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1-0.1b-20250307-ctx4096.pth", 382231495,
	  "G1 (reasoning), ctx 4096" },
	{ "rwkv7-g1-0.4b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1-0.4b-20250324-ctx4096.pth", 901779157,
	  "G1 (reasoning), ctx 4096" },
	{ "rwkv7-g1-1.5b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1-1.5b-20250429-ctx4096.pth", 3055445649ULL,
	  "G1 (reasoning), ctx 4096" },
	{ "rwkv7-g1-2.9b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1-2.9b-20250519-ctx4096.pth", 5896274653ULL,
	  "G1 (reasoning), ctx 4096" },
	{ "rwkv7-g1a-0.1b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1a-0.1b-20250728-ctx4096.pth", 382223868,
	  "G1a, ctx 4096" },
	{ "rwkv7-g1a-0.4b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1a-0.4b-20250905-ctx4096.pth", 901776757,
	  "G1a, ctx 4096" },
	{ "rwkv7-g1a2-1.5b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1a2-1.5b-20251005-ctx8192.pth", 3055445757ULL,
	  "G1a2, ctx 8192" },
	{ "rwkv7-g1a-2.9b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1a-2.9b-20250924-ctx4096.pth", 5896274949ULL,
	  "G1a, ctx 4096" },
	{ "rwkv7-g1d-0.1b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1d-0.1b-20260129-ctx8192.pth", 382223725,
	  "G1d, ctx 8192" },
	{ "rwkv7-g1d-0.4b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1d-0.4b-20260210-ctx8192.pth", 901776749,
	  "G1d, ctx 8192" },
	{ "rwkv7-g1d-1.5b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1d-1.5b-20260212-ctx8192.pth", 3055445757ULL,
	  "G1d, ctx 8192" },
	{ "rwkv7-g1d-2.9b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g1d-2.9b-20260131-ctx8192.pth", 5896275005ULL,
	  "G1d, ctx 8192" },
	{ "rwkv7-g0-7.2b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g0-7.2b-20250722-ctx4096.pth", 14400009577ULL,
	  "G0, ctx 4096" },
	{ "rwkv7-g0a2-7.2b", "BlinkDL/rwkv7-g1",
	  "rwkv7-g0a2-7.2b-20251005-ctx4096.pth", 14400009333ULL,
	  "G0a2, ctx 4096" },
};

/*
 * Repos that ship the World vocab (HF-format conversions; the BlinkDL .pth
 * repos do not), tried in order when one lacks it.
 */
static const char *const vocab_repos[] = {
	"RWKV/RWKV7-Goose-World2.8-0.1B-HF",
	"RWKV/v5-Eagle-7B-HF",
};

const struct anser_model_entry *anser_model_table(size_t *n)
{
	*n = ARRAY_SIZE(table);
	return table;
}

const struct anser_model_entry *anser_model_lookup(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (!strcasecmp(table[i].name, name))
			return &table[i];
	return NULL;
}

const char *anser_model_vocab_repo(size_t i)
{
	return i < ARRAY_SIZE(vocab_repos) ? vocab_repos[i] : NULL;
}

static enum anser_status copy_path(char *dst, size_t size, const char *src,
                                   struct anser_err *err)
{
	size_t n = strlen(src);

	if (n >= size)
		return anser_errf(err, ANSER_E_ARG, "path too long: '%s'", src);
	memcpy(dst, src, n + 1);
	return ANSER_OK;
}

/* One file of one repo into the cache; its path and etag. */
static enum anser_status fetch_one(const char *repo, const char *file,
                                   const struct anser_hub_opts *base,
                                   char *path, size_t size, char *etag,
                                   enum anser_hub_error *why,
                                   struct anser_err *err)
{
	struct anser_hub_opts o = *base;
	struct anser_hub_result res;
	enum anser_status st;

	o.repo_type = ANSER_REPO_MODEL;
	o.revision = NULL;
	o.files = &file;
	o.n_files = 1;
	o.include = o.exclude = NULL;
	o.n_include = o.n_exclude = 0;
	o.local_dir = NULL;
	o.dry_run = 0;
	st = anser_hub_download(repo, &o, &res, err);
	*why = res.error;
	if (!st && res.n_files == 1) {
		st = copy_path(path, size, res.files[0].local_path, err);
		if (etag)
			memcpy(etag, res.files[0].etag, 65);
	}
	anser_hub_result_free(&res);
	return st;
}

enum anser_status anser_model_fetch(const char *name,
                                    const struct anser_hub_opts *opts,
                                    struct anser_model_files *out,
                                    struct anser_err *err)
{
	static const struct anser_hub_opts defaults;
	const struct anser_model_entry *e = anser_model_lookup(name);
	struct hub_config cfg;
	enum anser_hub_error why;
	enum anser_status st;
	char etag[65], *folder;

	memset(out, 0, sizeof(*out));
	if (!opts)
		opts = &defaults;
	if (!e)
		return anser_errf(err, ANSER_E_NOTFOUND, "no model named '%s' "
		                  "('anser download --list' shows the names)",
		                  name);
	st = fetch_one(e->repo, e->file, opts, out->checkpoint,
	               sizeof(out->checkpoint), etag, &why, err);
	if (st)
		return st;
	for (size_t i = 0; i < ARRAY_SIZE(vocab_repos); i++) {
		st = fetch_one(vocab_repos[i], ANSER_VOCAB_FILE, opts, out->vocab,
		               sizeof(out->vocab), NULL, &why, err);
		if (!st || (why != ANSER_HUB_E_FILE && why != ANSER_HUB_E_REPO &&
		            why != ANSER_HUB_E_OFFLINE))
			break;
	}
	if (st)
		return anser_err_prefix(err, st, "the World vocab");
	/* The blob's name is the sha256 when the Hub stores it in LFS, as it
	 * does every checkpoint; otherwise hash the file. */
	if (hub_is_hex(etag, 64)) {
		memcpy(out->sha256, etag, 65);
	} else {
		st = hub_hash_file(out->checkpoint, 1, out->sha256, err);
		if (st)
			return st;
	}
	st = hub_config_init(&cfg, opts, err);
	if (st)
		return st;
	folder = hub_repo_folder(cfg.cache_dir, ANSER_REPO_MODEL, e->repo);
	hub_config_free(&cfg);
	if (!folder)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	if ((size_t)snprintf(out->native, sizeof(out->native), "%s/anser/%s.anser",
	                     folder, out->sha256) >= sizeof(out->native))
		st = anser_errf(err, ANSER_E_ARG, "path too long in '%s'", folder);
	else
		hub_mkdirs_for(out->native, NULL); /* ready for a conversion */
	anser_free(folder);
	return st;
}

enum anser_status anser_model_resolve(const char *name_or_path,
                                      const struct anser_hub_opts *opts,
                                      char *path, size_t size,
                                      struct anser_err *err)
{
	struct anser_convert_opts co = { .dtype = -1 };
	struct anser_convert_result cr;
	struct anser_model_files mf;
	enum anser_status st;
	struct stat sb;

	if (!stat(name_or_path, &sb))
		return copy_path(path, size, name_or_path, err);
	if (!anser_model_lookup(name_or_path))
		return anser_errf(err, ANSER_E_NOTFOUND, "'%s' is neither a file "
		                  "nor a model name ('anser download --list' "
		                  "shows the names)", name_or_path);
	st = anser_model_fetch(name_or_path, opts, &mf, err);
	if (st)
		return st;
	if (stat(mf.native, &sb)) {
		st = hub_mkdirs_for(mf.native, err);
		if (st)
			return st;
		co.vocab = mf.vocab;
		co.cancel = opts ? opts->cancel : NULL;
		st = anser_convert_pth(mf.checkpoint, mf.native, &co, &cr, err);
		if (st)
			return anser_err_prefix(err, st, "converting '%s'",
			                        name_or_path);
	}
	return copy_path(path, size, mf.native, err);
}
