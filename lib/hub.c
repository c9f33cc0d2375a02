/*
 * hub.c - anser_hub_download: what to fetch and from where.
 *
 * The protocol, as huggingface_hub speaks it (file_download.py,
 * _snapshot_download.py, hf_api.py), and docs/hub.md:
 *  - one file: HEAD {ep}/{repo}/resolve/{rev}/{path}, following relative
 *    redirects only, gives the commit (X-Repo-Commit), the etag
 *    (X-Linked-Etag, else ETag: sha256 for LFS, git blob sha1 otherwise),
 *    the size (X-Linked-Size, else Content-Length of a 200) and, on a 302,
 *    the CDN URL to GET without the token;
 *  - several files: the revision is resolved to a commit once
 *    (GET /api/{type}s/{repo}/revision/{rev} -> "sha"), the tree is listed
 *    at that commit (GET .../tree/{commit}?recursive=true, following
 *    Link: rel="next"), filtered, and every file fetched at that commit.
 * With HF_HUB_OFFLINE, or when the Hub cannot be reached at all, answers
 * come from the cache alone.
 *
 * Concurrency: a pool of threads (opts->jobs, default 8), one file each at
 * a time, each with its own curl handle and blocking code (hub_fetch.c).
 * Per-file work is a sequence of steps with waits (lock, HEAD, GETs with
 * backoff, hashing, renames) that reads plainly as blocking code, which the
 * curl multi interface would turn into a state machine; the calling thread
 * only waits and reports progress.  A file of 2 MiB or more also gets a
 * hashing thread (hub_http.c), so that receiving and hashing overlap.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hub.h"

void hub_meta_clear(struct hub_meta *m)
{
	anser_free(m->url);
	memset(m, 0, sizeof(*m));
}

static int is_relative(const char *loc)
{
	return strncasecmp(loc, "http://", 7) && strncasecmp(loc, "https://", 8) &&
	       strncmp(loc, "//", 2);
}

int hub_retryable(long status)
{
	return status == 408 || status == 429 || status == 500 ||
	       status == 502 || status == 503 || status == 504;
}

int hub_request(struct hub_conn *c, const char *method, const char *url,
                int auth, long timeout, struct hub_resp *r, char **final_url)
{
	char *cur = anser_strdup(url);
	double backoff = 1;
	int ok = 0, hops = 0, tries = 0;

	if (final_url)
		*final_url = NULL;
	if (!cur) {
		hub_resp_clear(r);
		r->curl_code = -1;
		snprintf(r->curl_msg, sizeof(r->curl_msg), "out of memory");
		return 0;
	}
	for (;;) {
		ok = hub_perform(c, method, cur, auth, NULL, NULL, timeout, r);
		if (hub_cancelled(c)) {
			ok = 0;
			break;
		}
		/* A relative redirect (a renamed repo, /api/resolve-cache/ for
		 * small files) is followed with the same headers; an absolute
		 * one is the answer (its headers are the metadata). */
		if (ok && r->status >= 300 && r->status < 400 && r->location &&
		    is_relative(r->location) && hops < 10) {
			char *next = hub_url_resolve(cur, r->location);
			if (!next)
				break;
			anser_free(cur);
			cur = next;
			hops++;
			continue;
		}
		if ((ok && !hub_retryable(r->status)) || tries >= 5)
			break;
		double d = ok ? hub_retry_after(r) : -1;
		if (!hub_sleep(c, d >= 0 ? d : backoff)) {
			ok = 0;
			break;
		}
		backoff = backoff * 2 > 8 ? 8 : backoff * 2;
		tries++;
	}
	if (final_url)
		*final_url = cur;
	else
		anser_free(cur);
	return ok;
}

/* "'org/name'" or "dataset 'org/name'", for messages. */
static void repo_name(const struct hub_ctx *x, char *buf, size_t size)
{
	if (x->type == ANSER_REPO_MODEL)
		snprintf(buf, size, "'%s'", x->repo_id);
	else
		snprintf(buf, size, "%s '%s'", hub_type_name(x->type), x->repo_id);
}

enum anser_status hub_fail(const struct hub_ctx *x, const struct hub_resp *r,
                           const char *url, const char *path,
                           enum anser_hub_error *why, struct anser_err *err)
{
	const char *code = r->error_code ? r->error_code : "";
	const char *msg = r->error_msg ? r->error_msg : "";
	char repo[320], host[256], rid[160] = "";
	char *page = hub_repo_url(x->cfg->endpoint, x->type, x->repo_id);
	const char *web = page ? page : x->repo_id;
	enum anser_status st;
	long s = r->status;

	repo_name(x, repo, sizeof(repo));
	hub_url_host(url, host, sizeof(host));
	if (r->request_id)
		snprintf(rid, sizeof(rid), ", request id %.100s", r->request_id);
	if (r->curl_code) {
		*why = ANSER_HUB_E_NETWORK;
		if (r->curl_code == 28) /* CURLE_OPERATION_TIMEDOUT */
			st = anser_errf(err, ANSER_E_IO, "no answer from %s (%s): "
			                "check the network, or raise "
			                "HF_HUB_ETAG_TIMEOUT and "
			                "HF_HUB_DOWNLOAD_TIMEOUT", host,
			                r->curl_msg);
		else
			st = anser_errf(err, ANSER_E_IO, "cannot reach %s (%s): "
			                "check the network or HF_ENDPOINT "
			                "(HF_HUB_OFFLINE=1 uses the cache only)",
			                host, r->curl_msg);
	} else if (!strcmp(code, "RevisionNotFound")) {
		*why = ANSER_HUB_E_REVISION;
		st = anser_errf(err, ANSER_E_NOTFOUND, "revision '%s' not found "
		                "in %s: check --revision", x->revision, repo);
	} else if (!strcmp(code, "EntryNotFound") ||
	           (s == 404 && path && strcmp(code, "RepoNotFound"))) {
		*why = ANSER_HUB_E_FILE;
		st = anser_errf(err, ANSER_E_NOTFOUND, "'%s' not found in %s at "
		                "revision '%s': check the file name (see "
		                "%s/tree/%s)", path ? path : "?", repo,
		                x->revision, web, x->revision);
	} else if (!strcmp(code, "GatedRepo")) {
		*why = ANSER_HUB_E_GATED;
		st = anser_errf(err, ANSER_E_ARG, "%s is gated: accept its terms "
		                "at %s%s", repo, web, x->cfg->token ?
		                " with the account of your token" :
		                ", then set HF_TOKEN");
	} else if (!strcmp(msg, "Access to this resource is disabled.")) {
		*why = ANSER_HUB_E_REPO;
		st = anser_errf(err, ANSER_E_NOTFOUND, "%s has been disabled on "
		                "the Hub", repo);
	} else if (s == 401 && !strcmp(msg, "Invalid credentials in "
	                              "Authorization header")) {
		*why = ANSER_HUB_E_TOKEN;
		st = anser_errf(err, ANSER_E_ARG, "the Hub refused the token "
		                "(invalid credentials): check HF_TOKEN, --token "
		                "or the token file");
	} else if (!strcmp(code, "RepoNotFound") || s == 401 || s == 404) {
		*why = ANSER_HUB_E_REPO;
		if (x->cfg->token)
			st = anser_errf(err, ANSER_E_NOTFOUND, "repository %s not "
			                "found, or the token has no access to it: "
			                "check the name and the token", repo);
		else
			st = anser_errf(err, ANSER_E_NOTFOUND, "repository %s not "
			                "found (or it is private or gated): set "
			                "HF_TOKEN or check the name", repo);
	} else if (s == 403) {
		*why = ANSER_HUB_E_REPO;
		st = anser_errf(err, ANSER_E_ARG, "%s refused access to %s (HTTP "
		                "403%s): check that your token may read it",
		                host, repo, rid);
	} else if (s == 429) {
		*why = ANSER_HUB_E_NETWORK;
		st = anser_errf(err, ANSER_E_IO, "rate limited by %s (HTTP 429, "
		                "still after 5 retries%s): wait and run again "
		                "(a token, HF_TOKEN, has higher limits)", host,
		                rid);
	} else if (s >= 500) {
		*why = ANSER_HUB_E_NETWORK;
		st = anser_errf(err, ANSER_E_IO, "%s answered HTTP %ld (still "
		                "after 5 retries%s): try again later", host, s,
		                rid);
	} else {
		*why = ANSER_HUB_E_PROTOCOL;
		st = anser_errf(err, ANSER_E_FORMAT, "unexpected answer HTTP %ld "
		                "from %s%s%s%s", s, host, rid[0] ? " (" : "",
		                rid[0] ? rid + 2 : "", rid[0] ? ")" : "");
	}
	anser_free(page);
	return st;
}

static char *resolve_url(const struct hub_ctx *x, const char *rev,
                         const char *path)
{
	char *qr = hub_quote(rev, 0), *qp = hub_quote(path, 1), *url = NULL;

	if (qr && qp)
		url = hub_strf("%s/%s%s/resolve/%s/%s", x->cfg->endpoint,
		               x->type == ANSER_REPO_MODEL ? "" :
		               x->type == ANSER_REPO_DATASET ? "datasets/" :
		               "spaces/", x->repo_id, qr, qp);
	anser_free(qr);
	anser_free(qp);
	return url;
}

/* Mirrors may send absolute URLs on huggingface.co: point them at the
 * configured endpoint (huggingface_hub's fix_hf_endpoint_in_url). */
static char *fix_endpoint(const struct hub_config *cfg, const char *url)
{
	static const char *const hf[] = {
		"https://huggingface.co", "https://hub-ci.huggingface.co",
	};

	for (size_t i = 0; i < ARRAY_SIZE(hf); i++) {
		size_t n = strlen(hf[i]);
		if (!strcmp(cfg->endpoint, hf[i]))
			return anser_strdup(url);
		if (!strncmp(url, hf[i], n) && (url[n] == '/' || !url[n]))
			return hub_strf("%s%s", cfg->endpoint, url + n);
	}
	return anser_strdup(url);
}

static void remember_missing(const struct hub_ctx *x, const char *commit,
                             const char *path)
{
	char *p;
	int fd;

	if (!x->folder || !hub_is_hex(commit, 40))
		return;
	p = hub_strf("%s/.no_exist/%s/%s", x->folder, commit, path);
	if (p && !hub_mkdirs_for(p, NULL)) {
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd >= 0)
			close(fd);
	}
	anser_free(p);
}

enum anser_status hub_head(struct hub_conn *c, const struct hub_ctx *x,
                           const char *rev, const char *path,
                           struct hub_meta *m, enum anser_hub_error *why,
                           struct anser_err *err)
{
	struct hub_resp r = { 0 };
	char *url = resolve_url(x, rev, path), *final = NULL;
	enum anser_status st = ANSER_OK;
	const char *etag;
	int ok;

	hub_meta_clear(m);
	if (!url) {
		*why = ANSER_HUB_E_LOCAL;
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	}
	ok = hub_request(c, "HEAD", url, 1, x->cfg->etag_timeout, &r, &final);
	if (hub_cancelled(c)) {
		*why = ANSER_HUB_E_CANCELLED;
		st = anser_errf(err, ANSER_E_CANCELLED, "interrupted");
		goto out;
	}
	if (!ok || r.status >= 400 || r.status < 200) {
		if (r.error_code && !strcmp(r.error_code, "EntryNotFound") &&
		    r.commit) {
			char c40[41];
			if (hub_etag_normalize(r.commit, c40, sizeof(c40)))
				remember_missing(x, c40, path);
		}
		st = hub_fail(x, &r, url, path, why, err);
		goto out;
	}
	if (r.status >= 300) {
		if (!r.location || r.linked_size < 0) {
			*why = ANSER_HUB_E_PROTOCOL;
			st = anser_errf(err, ANSER_E_FORMAT, "the Hub redirected "
			                "'%s' without %s", path, r.location ?
			                "X-Linked-Size" : "a Location");
			goto out;
		}
		char *abs = hub_url_resolve(final, r.location);
		m->url = abs ? fix_endpoint(x->cfg, abs) : NULL;
		anser_free(abs);
		m->size = (uint64_t)r.linked_size;
	} else {
		/* The file itself answered: GET it at the commit, so that a
		 * branch moving meanwhile cannot change the bytes. */
		char c40[41];
		if (!strcmp(final, url) && r.commit &&
		    hub_etag_normalize(r.commit, c40, sizeof(c40)) &&
		    hub_is_hex(c40, 40))
			m->url = resolve_url(x, c40, path);
		else
			m->url = anser_strdup(final);
		m->size = (uint64_t)(r.linked_size >= 0 ? r.linked_size :
		                     r.content_length);
		if (r.linked_size < 0 && r.content_length < 0) {
			*why = ANSER_HUB_E_PROTOCOL;
			st = anser_errf(err, ANSER_E_FORMAT, "no size for '%s' in "
			                "the Hub's answer", path);
			goto out;
		}
	}
	if (!m->url) {
		*why = ANSER_HUB_E_LOCAL;
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	/* The token goes only where the Hub is: a CDN URL is pre-signed. */
	m->auth = hub_same_origin(url, m->url);
	etag = r.linked_etag ? r.linked_etag : r.etag;
	if (!etag || !hub_etag_normalize(etag, m->etag, sizeof(m->etag)) ||
	    !(hub_is_hex(m->etag, 64) || hub_is_hex(m->etag, 40))) {
		*why = ANSER_HUB_E_PROTOCOL;
		st = anser_errf(err, ANSER_E_FORMAT, "the server sent %s for "
		                "'%s', not a sha256 or git sha1, so it cannot be "
		                "verified (a proxy in the way?)", etag ?
		                "an unusable ETag" : "no ETag", path);
		goto out;
	}
	if (r.commit && hub_etag_normalize(r.commit, m->commit,
	                                    sizeof(m->commit)) &&
	    !hub_is_hex(m->commit, 40))
		m->commit[0] = '\0';
out:
	if (st)
		hub_meta_clear(m);
	hub_resp_clear(&r);
	anser_free(url);
	anser_free(final);
	return st;
}

int hub_parse_revision(const char *body, char commit[41])
{
	cJSON *j = cJSON_Parse(body ? body : "");
	cJSON *sha = cJSON_GetObjectItemCaseSensitive(j, "sha");
	int ok = cJSON_IsString(sha) && hub_is_hex(sha->valuestring, 40);

	if (ok) {
		memcpy(commit, sha->valuestring, 41);
		for (int i = 0; i < 40; i++)
			commit[i] = (char)(commit[i] | 0x20); /* lower-case hex */
	}
	cJSON_Delete(j);
	return ok;
}

/* GET /api/{type}s/{repo}/revision/{rev} -> "sha". */
static enum anser_status resolve_commit(struct hub_conn *c,
                                        const struct hub_ctx *x,
                                        char commit[41],
                                        enum anser_hub_error *why,
                                        struct anser_err *err)
{
	struct hub_resp r = { 0 };
	char *q = hub_quote(x->revision, 0), *url = NULL;
	enum anser_status st = ANSER_OK;

	url = q ? hub_strf("%s/api/%s/%s/revision/%s", x->cfg->endpoint,
	                   hub_type_plural(x->type), x->repo_id, q) : NULL;
	if (!url) {
		*why = ANSER_HUB_E_LOCAL;
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	if (!hub_request(c, "GET", url, 1, x->cfg->etag_timeout, &r, NULL) ||
	    r.status != 200) {
		if (hub_cancelled(c)) {
			*why = ANSER_HUB_E_CANCELLED;
			st = anser_errf(err, ANSER_E_CANCELLED, "interrupted");
		} else {
			st = hub_fail(x, &r, url, NULL, why, err);
		}
		goto out;
	}
	if (!hub_parse_revision(r.body.p, commit)) {
		*why = ANSER_HUB_E_PROTOCOL;
		st = anser_errf(err, ANSER_E_FORMAT, "the Hub's description of "
		                "%s has no commit sha (is HF_ENDPOINT a Hub?)",
		                x->repo_id);
		goto out;
	}
out:
	hub_resp_clear(&r);
	anser_free(url);
	anser_free(q);
	return st;
}

/* ---------------------------------------------------------------- listing */

struct entry {
	char *path;
	uint64_t size;
	char etag[65];
	int picked;
};

struct listing {
	struct entry *e;
	size_t n, cap;
};

static void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		anser_free(l->e[i].path);
	anser_free(l->e);
	memset(l, 0, sizeof(*l));
}

static int listing_add(struct listing *l, const char *path, uint64_t size,
                       const char *etag)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct entry *e = anser_realloc(l->e, cap * sizeof(*e));
		if (!e)
			return 0;
		l->e = e;
		l->cap = cap;
	}
	memset(&l->e[l->n], 0, sizeof(l->e[0]));
	l->e[l->n].path = anser_strdup(path);
	if (!l->e[l->n].path)
		return 0;
	l->e[l->n].size = size;
	if (etag && strlen(etag) < sizeof(l->e[0].etag))
		memcpy(l->e[l->n].etag, etag, strlen(etag) + 1);
	l->n++;
	return 1;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path,
	              ((const struct entry *)b)->path);
}

char *hub_link_next(const char *link)
{
	for (const char *p = link; p && (p = strchr(p, '<'));) {
		const char *end = strchr(p, '>');
		if (!end)
			return NULL;
		const char *params = end + 1, *stop = strchr(params, ',');
		size_t plen = stop ? (size_t)(stop - params) : strlen(params);
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(plen < 255 ? plen : 255),
		         params);
		if (strstr(tmp, "rel=\"next\"") || strstr(tmp, "rel=next"))
			return anser_strndup(p + 1, (size_t)(end - p - 1));
		p = end;
	}
	return NULL;
}

/* One page of the tree listing, parsed into l. */
static enum anser_status parse_tree(const struct hub_ctx *x, const char *body,
                                    struct listing *l,
                                    enum anser_hub_error *why,
                                    struct anser_err *err)
{
	cJSON *j = cJSON_Parse(body ? body : ""), *it;
	enum anser_status st = ANSER_OK;

	if (!cJSON_IsArray(j)) {
		*why = ANSER_HUB_E_PROTOCOL;
		cJSON_Delete(j);
		return anser_errf(err, ANSER_E_FORMAT, "the Hub's file list of "
		                  "'%s' is not a JSON array", x->repo_id);
	}
	cJSON_ArrayForEach(it, j) {
		cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
		cJSON *path = cJSON_GetObjectItemCaseSensitive(it, "path");
		cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "size");
		cJSON *oid = cJSON_GetObjectItemCaseSensitive(it, "oid");
		cJSON *lfs = cJSON_GetObjectItemCaseSensitive(it, "lfs");
		cJSON *loid = cJSON_GetObjectItemCaseSensitive(lfs, "oid");
		cJSON *lsize = cJSON_GetObjectItemCaseSensitive(lfs, "size");
		const char *etag;
		double sz;

		if (!cJSON_IsString(type) || strcmp(type->valuestring, "file"))
			continue;
		if (!cJSON_IsString(path) || !hub_path_ok(path->valuestring)) {
			*why = ANSER_HUB_E_PROTOCOL;
			st = anser_errf(err, ANSER_E_FORMAT, "'%s' lists an unsafe "
			                "file name '%.200s'; refusing it",
			                x->repo_id, cJSON_IsString(path) ?
			                path->valuestring : "?");
			break;
		}
		etag = lfs ? (cJSON_IsString(loid) ? loid->valuestring : NULL) :
		       (cJSON_IsString(oid) ? oid->valuestring : NULL);
		sz = lfs && cJSON_IsNumber(lsize) ? lsize->valuedouble :
		     cJSON_IsNumber(size) ? size->valuedouble : -1;
		if (!etag || !(hub_is_hex(etag, 64) || hub_is_hex(etag, 40)) ||
		    sz < 0 || sz > 9e15) {
			*why = ANSER_HUB_E_PROTOCOL;
			st = anser_errf(err, ANSER_E_FORMAT, "the Hub's entry for "
			                "'%.200s' has no usable oid or size",
			                path->valuestring);
			break;
		}
		if (!listing_add(l, path->valuestring, (uint64_t)sz, etag)) {
			*why = ANSER_HUB_E_LOCAL;
			st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
			break;
		}
	}
	cJSON_Delete(j);
	return st;
}

enum anser_status hub_parse_tree(const char *repo_id, const char *body,
                                 size_t *n_files, struct anser_err *err)
{
	struct hub_ctx x = { .repo_id = repo_id };
	struct listing l = { 0 };
	enum anser_hub_error why;
	enum anser_status st = parse_tree(&x, body, &l, &why, err);

	if (!st && l.n) /* qsort(NULL, 0) is undefined */
		qsort(l.e, l.n, sizeof(*l.e), entry_cmp);
	*n_files = l.n;
	listing_free(&l);
	return st;
}

/* GET /api/{type}s/{repo}/tree/{commit}?recursive=true, every page. */
static enum anser_status list_tree(struct hub_conn *c, const struct hub_ctx *x,
                                   const char *commit, struct listing *l,
                                   enum anser_hub_error *why,
                                   struct anser_err *err)
{
	struct hub_resp r = { 0 };
	enum anser_status st = ANSER_OK;
	char *url = hub_strf("%s/api/%s/%s/tree/%s?recursive=true&expand=false",
	                     x->cfg->endpoint, hub_type_plural(x->type),
	                     x->repo_id, commit);
	int pages = 0;

	while (url && !st) {
		/* The token goes to the Hub only, even from a Link header. */
		int auth = hub_same_origin(url, x->cfg->endpoint);
		if (!hub_request(c, "GET", url, auth, x->cfg->etag_timeout, &r,
		                 NULL) || r.status != 200) {
			if (hub_cancelled(c)) {
				*why = ANSER_HUB_E_CANCELLED;
				st = anser_errf(err, ANSER_E_CANCELLED, "interrupted");
			} else {
				st = hub_fail(x, &r, url, NULL, why, err);
			}
			break;
		}
		st = parse_tree(x, r.body.p, l, why, err);
		anser_free(url);
		url = NULL;
		if (!st && r.link && ++pages < 100000) {
			char *next = hub_link_next(r.link);
			if (next) {
				url = hub_url_resolve(x->cfg->endpoint, next);
				anser_free(next);
			}
		}
	}
	anser_free(url);
	hub_resp_clear(&r);
	if (!st && l->n) /* an empty repo: qsort(NULL, 0) is undefined */
		qsort(l->e, l->n, sizeof(*l->e), entry_cmp);
	return st;
}

/* Files under snapshots/<commit> (or a local dir), recursively. */
static int walk(const char *root, const char *rel, struct listing *l)
{
	char *dir = rel[0] ? hub_strf("%s/%s", root, rel) : anser_strdup(root);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	int ok = 1;

	if (!d) {
		anser_free(dir);
		return dir != NULL;
	}
	while (ok && (de = readdir(d))) {
		char *sub, *full;
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!rel[0] && !strcmp(de->d_name, ".cache"))
			continue; /* a local dir's bookkeeping */
		sub = rel[0] ? hub_strf("%s/%s", rel, de->d_name) :
		      anser_strdup(de->d_name);
		full = sub ? hub_strf("%s/%s", root, sub) : NULL;
		if (!full) {
			ok = 0;
		} else if (!stat(full, &sb)) {
			if (S_ISDIR(sb.st_mode))
				ok = walk(root, sub, l);
			else if (S_ISREG(sb.st_mode))
				ok = listing_add(l, sub, (uint64_t)sb.st_size, NULL);
		}
		anser_free(sub);
		anser_free(full);
	}
	closedir(d);
	anser_free(dir);
	return ok;
}

/* The blob a snapshot entry points to: its etag. */
static void pointer_etag(const char *ptr, char *etag, size_t size)
{
	char link[512];
	ssize_t n = readlink(ptr, link, sizeof(link) - 1);
	const char *base;

	etag[0] = '\0';
	if (n <= 0)
		return;
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if ((hub_is_hex(base, 64) || hub_is_hex(base, 40)) &&
	    strlen(base) < size)
		memcpy(etag, base, strlen(base) + 1);
}

/* ---------------------------------------------------------------- selection */

/* A pattern as huggingface_hub normalizes it: '\' becomes '/', and a
 * trailing '/' gets a '*' (a folder argument gets two). */
static char *norm_glob(const char *g, int folder_arg)
{
	char *s = hub_strf("%s%s", g, folder_arg ? "**" :
	                   g[0] && g[strlen(g) - 1] == '/' ? "*" : "");

	for (char *p = s; p && *p; p++)
		if (*p == '\\')
			*p = '/';
	return s;
}

static int any_match(const char *const *globs, size_t n, const char *path,
                     int *hit)
{
	int m = 0;

	for (size_t i = 0; i < n; i++) {
		char *g = norm_glob(globs[i], 0);
		if (g && anser_hub_match(g, path)) {
			m = 1;
			if (hit)
				hit[i] = 1;
		}
		anser_free(g);
	}
	return m;
}

/* Marks the entries picked by files[] or by include/exclude. */
static enum anser_status select_files(struct hub_run *run, struct listing *l,
                                      int offline)
{
	const struct anser_hub_opts *o = run->opts;
	int *hit = NULL;
	size_t picked = 0;
	char repo[320];

	repo_name(&run->ctx, repo, sizeof(repo));
	if (o->n_files) {
		hit = anser_calloc(o->n_files, sizeof(*hit));
		if (!hit) {
			run->why = ANSER_HUB_E_LOCAL;
			return anser_errf(&run->err, ANSER_E_NOMEM, "out of memory");
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		const char *p = l->e[i].path;
		int keep = 0;
		if (o->n_files) {
			for (size_t k = 0; k < o->n_files; k++) {
				const char *f = o->files[k];
				size_t fl = strlen(f);
				char *g = norm_glob(f, fl && f[fl - 1] == '/');
				if (g && anser_hub_match(g, p)) {
					keep = 1;
					hit[k] = 1;
				}
				anser_free(g);
			}
		} else {
			keep = (!o->n_include ||
			        any_match(o->include, o->n_include, p, NULL)) &&
			       !any_match(o->exclude, o->n_exclude, p, NULL);
		}
		l->e[i].picked = keep;
		picked += (size_t)keep;
	}
	for (size_t k = 0; k < o->n_files; k++) {
		if (hit[k])
			continue;
		anser_free(hit);
		run->why = offline ? ANSER_HUB_E_OFFLINE : ANSER_HUB_E_FILE;
		if (offline)
			return anser_errf(&run->err, ANSER_E_NOTFOUND, "'%s' of %s "
			                  "is not in the cache, and HF_HUB_OFFLINE "
			                  "is set: unset it to download", o->files[k],
			                  repo);
		return anser_errf(&run->err, ANSER_E_NOTFOUND, "'%s' not found "
		                  "in %s at revision '%s': check the name",
		                  o->files[k], repo, run->ctx.revision);
	}
	anser_free(hit);
	if (!picked && l->n && (o->n_include || o->n_exclude)) {
		run->why = offline ? ANSER_HUB_E_OFFLINE : ANSER_HUB_E_FILE;
		return anser_errf(&run->err, ANSER_E_NOTFOUND, "no file of %s "
		                  "matches --include/--exclude%s: check the "
		                  "patterns", repo, offline ? " in the cache" : "");
	}
	if (!l->n) {
		run->why = offline ? ANSER_HUB_E_OFFLINE : ANSER_HUB_E_FILE;
		return anser_errf(&run->err, ANSER_E_NOTFOUND, offline ?
		                  "%s is not in the cache, and HF_HUB_OFFLINE is "
		                  "set: unset it to download" :
		                  "%s has no files at revision '%s'", repo,
		                  run->ctx.revision);
	}
	return ANSER_OK;
}

/* ---------------------------------------------------------------- planning */

static int exists(const char *path)
{
	struct stat sb;
	return !stat(path, &sb) && S_ISREG(sb.st_mode);
}

static char *snapshot_path(const struct hub_run *run, const char *path)
{
	return hub_strf("%s/snapshots/%s/%s", run->folder, run->commit, path);
}

static enum anser_status oom(struct hub_run *run)
{
	run->why = ANSER_HUB_E_LOCAL;
	return anser_errf(&run->err, ANSER_E_NOMEM, "out of memory");
}

/* Adds a file to the result; returns it, or NULL when out of memory. */
static struct anser_hub_file *add_file(struct hub_run *run,
                                       struct anser_hub_result *res,
                                       const char *path, uint64_t size,
                                       const char *etag)
{
	struct anser_hub_file *f = &res->files[res->n_files];
	const char *ld = run->opts->local_dir;

	memset(f, 0, sizeof(*f));
	f->path = anser_strdup(path);
	f->local_path = ld ? hub_strf("%s/%s", ld, path) :
	                snapshot_path(run, path);
	if (!f->path || !f->local_path) {
		anser_free(f->path);
		anser_free(f->local_path);
		return NULL;
	}
	f->size = size;
	snprintf(f->etag, sizeof(f->etag), "%s", etag ? etag : "");
	res->n_files++;
	return f;
}

/*
 * Decides what a file needs, as huggingface_hub does: nothing when its
 * pointer (or local file with matching metadata) is there; only the pointer
 * when the blob is; a copy from the cache into a local dir; else a download.
 */
static enum anser_status plan_file(struct hub_run *run,
                                   struct anser_hub_file *f,
                                   const struct hub_meta *meta)
{
	const struct anser_hub_opts *o = run->opts;
	struct hub_item *it;
	int lfs = hub_is_hex(f->etag, 64);
	char *p = NULL;

	if (!o->force && !o->local_dir) {
		if (exists(f->local_path)) {
			f->cached = 1;
			return ANSER_OK;
		}
	} else if (!o->force) {
		struct hub_local_meta lm;
		hub_local_meta_read(o->local_dir, f->path, &lm);
		if (lm.valid && !strcmp(lm.etag, f->etag)) {
			if (strcmp(lm.commit, run->commit) && !o->dry_run)
				hub_local_meta_write(o->local_dir, f->path,
				                     run->commit, f->etag, NULL);
			f->cached = 1;
			return ANSER_OK;
		}
		/* A file put there by other means: adopt it if its sha256 is
		 * right (only LFS files; hashing is cheap next to fetching). */
		if (!lm.valid && lfs && exists(f->local_path) && !o->dry_run) {
			char hex[65];
			if (!hub_hash_file(f->local_path, 1, hex, NULL) &&
			    !strcmp(hex, f->etag)) {
				hub_local_meta_write(o->local_dir, f->path,
				                     run->commit, f->etag, NULL);
				f->cached = 1;
				return ANSER_OK;
			}
		}
	}
	it = &run->items[run->n];
	memset(it, 0, sizeof(*it));
	it->f = f;
	it->lfs = lfs;
	if (meta) {
		it->meta = *meta;
		it->meta.url = anser_strdup(meta->url);
		if (!it->meta.url)
			return oom(run);
		it->have_meta = 1;
	}
	if (!o->force) {
		p = o->local_dir ? snapshot_path(run, f->path) :
		    hub_strf("%s/blobs/%s", run->folder, f->etag);
		if (!p) {
			hub_meta_clear(&it->meta);
			return oom(run);
		}
		if (exists(p)) {
			if (o->local_dir)
				it->from_cache = 1;
			else
				it->link_only = 1;
		}
		anser_free(p);
	}
	run->n++;
	return ANSER_OK;
}

static enum anser_status alloc_files(struct hub_run *run,
                                     struct anser_hub_result *res, size_t n)
{
	res->files = anser_calloc(n ? n : 1, sizeof(*res->files));
	run->items = anser_calloc(n ? n : 1, sizeof(*run->items));
	if (!res->files || !run->items)
		return oom(run);
	return ANSER_OK;
}

/* No network: the cache (or the local dir) is all there is. */
static enum anser_status plan_offline(struct hub_run *run,
                                      struct anser_hub_result *res,
                                      int single)
{
	const struct anser_hub_opts *o = run->opts;
	struct listing l = { 0 };
	enum anser_status st = ANSER_OK;
	char repo[320], *root = NULL;
	const char *rev = run->ctx.revision;

	repo_name(&run->ctx, repo, sizeof(repo));
	if (o->local_dir) {
		struct hub_local_meta lm;
		root = anser_strdup(o->local_dir);
		if (single) {
			hub_local_meta_read(o->local_dir, o->files[0], &lm);
			if (lm.valid)
				memcpy(run->commit, lm.commit, 41);
		}
	} else {
		if (hub_is_hex(rev, 40))
			memcpy(run->commit, rev, 41);
		else if (!hub_ref_read(run->folder, rev, run->commit)) {
			run->why = ANSER_HUB_E_OFFLINE;
			return anser_errf(&run->err, ANSER_E_NOTFOUND, "revision "
			                  "'%s' of %s is not in the cache, and "
			                  "HF_HUB_OFFLINE is set: unset it to "
			                  "download", rev, repo);
		}
		root = hub_strf("%s/snapshots/%s", run->folder, run->commit);
	}
	if (!root)
		return oom(run);
	if (single) {
		char *p = hub_strf("%s/%s", root, o->files[0]);
		struct stat sb;
		if (!p) {
			st = oom(run);
		} else if (!stat(p, &sb) && S_ISREG(sb.st_mode)) {
			st = listing_add(&l, o->files[0], (uint64_t)sb.st_size,
			                 NULL) ? ANSER_OK : oom(run);
		} else {
			char *nx = hub_strf("%s/.no_exist/%s/%s", run->folder,
			                    run->commit, o->files[0]);
			run->why = ANSER_HUB_E_OFFLINE;
			if (!o->local_dir && nx && exists(nx)) {
				run->why = ANSER_HUB_E_FILE;
				st = anser_errf(&run->err, ANSER_E_NOTFOUND, "'%s' "
				                "does not exist in %s at revision "
				                "'%s' (remembered in the cache)",
				                o->files[0], repo, rev);
			} else {
				st = anser_errf(&run->err, ANSER_E_NOTFOUND, "'%s' of "
				                "%s is not in the cache, and "
				                "HF_HUB_OFFLINE is set: unset it to "
				                "download", o->files[0], repo);
			}
			anser_free(nx);
		}
		anser_free(p);
		if (!st)
			l.e[0].picked = 1;
	} else {
		if (!walk(root, "", &l))
			st = oom(run);
		else {
			if (l.n) /* qsort(NULL, 0) is undefined */
				qsort(l.e, l.n, sizeof(*l.e), entry_cmp);
			st = select_files(run, &l, 1);
		}
	}
	if (!st)
		st = alloc_files(run, res, l.n);
	for (size_t i = 0; !st && i < l.n; i++) {
		struct anser_hub_file *f;
		char *p;
		if (!l.e[i].picked)
			continue;
		f = add_file(run, res, l.e[i].path, l.e[i].size, NULL);
		if (!f) {
			st = oom(run);
			break;
		}
		f->cached = 1;
		p = o->local_dir ? NULL : snapshot_path(run, f->path);
		if (p)
			pointer_etag(p, f->etag, sizeof(f->etag));
		anser_free(p);
	}
	listing_free(&l);
	anser_free(root);
	return st;
}

static void note_cache(struct hub_run *run)
{
	if (run->opts->local_dir) {
		hub_local_prepare(run->opts->local_dir);
		return;
	}
	if (hub_mkdirs(run->folder, NULL))
		return;
	hub_cachedir_tag(run->cfg.cache_dir);
	/* Best effort, as huggingface_hub: the cache may be read-only. */
	hub_ref_write(run->folder, run->ctx.revision, run->commit, NULL);
}

static enum anser_status plan_single(struct hub_run *run,
                                     struct anser_hub_result *res,
                                     struct hub_conn *c)
{
	const struct anser_hub_opts *o = run->opts;
	const char *path = o->files[0], *rev = run->ctx.revision;
	struct hub_meta m = { 0 };
	struct anser_hub_file *f;
	enum anser_status st;

	st = alloc_files(run, res, 1);
	if (st)
		return st;
	/* A commit and a file already there: no network at all. */
	if (hub_is_hex(rev, 40) && !o->force) {
		memcpy(run->commit, rev, 41);
		f = add_file(run, res, path, 0, NULL);
		if (!f)
			return oom(run);
		struct stat sb;
		struct hub_local_meta lm = { 0 };
		if (o->local_dir)
			hub_local_meta_read(o->local_dir, path, &lm);
		if ((!o->local_dir || (lm.valid && !strcmp(lm.commit, rev))) &&
		    !stat(f->local_path, &sb) && S_ISREG(sb.st_mode)) {
			f->size = (uint64_t)sb.st_size;
			f->cached = 1;
			if (o->local_dir)
				memcpy(f->etag, lm.etag, sizeof(f->etag));
			else
				pointer_etag(f->local_path, f->etag, sizeof(f->etag));
			return ANSER_OK;
		}
		anser_free(f->path);
		anser_free(f->local_path);
		res->n_files = 0;
	}
	st = hub_head(c, &run->ctx, rev, path, &m, &run->why, &run->err);
	if (st) {
		/* The Hub out of reach: what the cache holds will do. */
		if (run->why == ANSER_HUB_E_NETWORK && !o->force) {
			struct anser_err saved = run->err;
			anser_free(res->files);
			anser_free(run->items);
			res->files = NULL;
			run->items = NULL;
			if (!plan_offline(run, res, 1))
				return ANSER_OK;
			run->err = saved;
			run->why = ANSER_HUB_E_NETWORK;
		}
		return st;
	}
	if (m.commit[0]) {
		memcpy(run->commit, m.commit, 41);
	} else if (hub_is_hex(rev, 40)) {
		memcpy(run->commit, rev, 41);
	} else {
		/* Some proxies drop X-Repo-Commit (hf_hub issue #1796). */
		st = resolve_commit(c, &run->ctx, run->commit, &run->why,
		                    &run->err);
		if (st) {
			hub_meta_clear(&m);
			return st;
		}
	}
	f = add_file(run, res, path, m.size, m.etag);
	if (!f) {
		hub_meta_clear(&m);
		return oom(run);
	}
	if (!o->dry_run)
		note_cache(run);
	st = plan_file(run, f, &m);
	hub_meta_clear(&m);
	return st;
}

static enum anser_status plan_snapshot(struct hub_run *run,
                                       struct anser_hub_result *res,
                                       struct hub_conn *c)
{
	struct listing l = { 0 };
	enum anser_status st = ANSER_OK;
	const char *rev = run->ctx.revision;

	if (hub_is_hex(rev, 40))
		memcpy(run->commit, rev, 41);
	else
		st = resolve_commit(c, &run->ctx, run->commit, &run->why,
		                    &run->err);
	if (!st)
		st = list_tree(c, &run->ctx, run->commit, &l, &run->why,
		               &run->err);
	if (st && run->why == ANSER_HUB_E_NETWORK && !run->opts->force) {
		struct anser_err saved = run->err;
		listing_free(&l);
		run->commit[0] = '\0';
		if (!plan_offline(run, res, 0))
			return ANSER_OK;
		run->err = saved;
		run->why = ANSER_HUB_E_NETWORK;
		return st;
	}
	if (!st)
		st = select_files(run, &l, 0);
	if (!st)
		st = alloc_files(run, res, l.n);
	if (!st && !run->opts->dry_run)
		note_cache(run);
	for (size_t i = 0; !st && i < l.n; i++) {
		struct anser_hub_file *f;
		if (!l.e[i].picked)
			continue;
		f = add_file(run, res, l.e[i].path, l.e[i].size, l.e[i].etag);
		st = f ? plan_file(run, f, NULL) : oom(run);
	}
	listing_free(&l);
	return st;
}

/* ---------------------------------------------------------------- running */

/* Where item i's partial file is, for the space check. */
static uint64_t partial_size(const struct hub_run *run,
                             const struct hub_item *it)
{
	const char *ld = run->opts->local_dir;
	char *p = ld ? hub_local_incomplete(ld, it->f->path, it->f->etag) :
	          hub_strf("%s/blobs/%s.incomplete", run->folder, it->f->etag);
	struct stat sb;
	uint64_t n = 0;

	if (p && !run->opts->force && !stat(p, &sb) &&
	    (uint64_t)sb.st_size <= it->f->size)
		n = (uint64_t)sb.st_size;
	anser_free(p);
	return n;
}

static enum anser_status check_space(struct hub_run *run,
                                     struct anser_hub_result *res, int check)
{
	const char *ld = run->opts->local_dir;
	uint64_t need = 0, avail;
	char *dir, a[32], b[32];
	enum anser_status st = ANSER_OK;

	for (size_t i = 0; i < run->n; i++)
		if (!run->items[i].link_only)
			need += run->items[i].f->size - partial_size(run,
			                                             &run->items[i]);
	res->bytes_to_fetch = 0;
	for (size_t i = 0; i < run->n; i++)
		if (!run->items[i].link_only)
			res->bytes_to_fetch += run->items[i].f->size;
	dir = ld ? anser_strdup(ld) : hub_strf("%s/blobs", run->folder);
	if (!dir)
		return oom(run);
	if (check && need && hub_free_space(dir, &avail) && need > avail) {
		run->why = ANSER_HUB_E_SPACE;
		st = anser_errf(&run->err, ANSER_E_IO, "not enough disk space in "
		                "'%s': %s needed, %s free; free some space or "
		                "use %s", dir, hub_human(need, a, sizeof(a)),
		                hub_human(avail, b, sizeof(b)), ld ?
		                "another --local-dir" : "another --cache-dir "
		                "(or HF_HUB_CACHE)");
	}
	anser_free(dir);
	return st;
}

struct worker {
	struct hub_run *run;
	pthread_t tid;
	int started;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct hub_run *run = w->run;
	struct hub_conn *c = NULL;
	struct anser_err err = { 0 };
	enum anser_hub_error why = ANSER_HUB_OK;
	enum anser_status st;

	st = hub_conn_new(&run->cfg, run->opts->cancel, &c, &err);
	for (;;) {
		size_t i;
		pthread_mutex_lock(&run->mu);
		if (st) { /* no connection: report once, take no work */
			if (!run->failed) {
				run->failed = 1;
				run->err = err;
				run->why = ANSER_HUB_E_LOCAL;
			}
			pthread_cond_broadcast(&run->cv);
			pthread_mutex_unlock(&run->mu);
			break;
		}
		if (run->failed || run->next >= run->n) {
			pthread_mutex_unlock(&run->mu);
			break;
		}
		i = run->next++;
		pthread_mutex_unlock(&run->mu);

		why = ANSER_HUB_OK;
		st = hub_fetch(run, c, &run->items[i], &why, &err);

		pthread_mutex_lock(&run->mu);
		run->finished++;
		if (st && !run->failed) {
			run->failed = 1;
			run->err = err;
			run->why = why;
		}
		st = ANSER_OK;
		pthread_cond_broadcast(&run->cv);
		pthread_mutex_unlock(&run->mu);
	}
	hub_conn_free(c);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void report(struct hub_run *run, uint64_t total, double t0)
{
	struct anser_hub_progress p;

	if (!run->opts->progress)
		return;
	p.bytes_done = atomic_load(&run->bytes_done);
	p.bytes_total = total;
	p.bytes_received = atomic_load(&run->bytes_received);
	p.files_done = atomic_load(&run->files_done);
	p.files_total = run->n;
	p.seconds = now() - t0;
	if (p.bytes_done > total)
		p.bytes_done = total;
	run->opts->progress(&p, run->opts->progress_arg);
}

static enum anser_status run_workers(struct hub_run *run, uint64_t total)
{
	size_t nw = run->opts->jobs > 0 ? (size_t)run->opts->jobs : 8;
	struct worker *w;
	double t0 = now();
	int started = 0;

	if (!run->n)
		return ANSER_OK;
	if (nw > run->n)
		nw = run->n;
	w = anser_calloc(nw, sizeof(*w));
	if (!w)
		return oom(run);
	for (size_t i = 0; i < nw; i++) {
		w[i].run = run;
		if (!pthread_create(&w[i].tid, NULL, work, &w[i])) {
			w[i].started = 1;
			started++;
		}
	}
	if (!started) {
		anser_free(w);
		run->why = ANSER_HUB_E_LOCAL;
		return anser_errf(&run->err, ANSER_E_NOMEM, "cannot start a "
		                  "download thread");
	}
	report(run, total, t0);
	pthread_mutex_lock(&run->mu);
	while (run->finished < run->n && !(run->failed &&
	                                   run->finished >= run->next)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&run->cv, &run->mu, &ts);
		pthread_mutex_unlock(&run->mu);
		report(run, total, t0);
		pthread_mutex_lock(&run->mu);
	}
	pthread_mutex_unlock(&run->mu);
	for (size_t i = 0; i < nw; i++)
		if (w[i].started)
			pthread_join(w[i].tid, NULL);
	report(run, total, t0);
	anser_free(w);
	return run->failed ? run->err.code : ANSER_OK;
}

/* ---------------------------------------------------------------- entry */

static enum anser_status check_args(struct hub_run *run, const char *repo_id)
{
	const struct anser_hub_opts *o = run->opts;
	char why[128];

	run->why = ANSER_HUB_E_ARG;
	if (!repo_id || !hub_repo_id_ok(repo_id, why, sizeof(why)))
		return anser_errf(&run->err, ANSER_E_ARG, "'%s' is not a "
		                  "repository id (%s): expected org/name",
		                  repo_id ? repo_id : "", repo_id ? why : "none");
	if (!hub_revision_ok(run->ctx.revision))
		return anser_errf(&run->err, ANSER_E_ARG, "'%s' is not a valid "
		                  "revision", run->ctx.revision);
	if ((unsigned)o->repo_type > ANSER_REPO_SPACE)
		return anser_errf(&run->err, ANSER_E_ARG, "unknown repo type %d",
		                  (int)o->repo_type);
	for (size_t i = 0; i < o->n_files; i++) {
		const char *f = o->files[i];
		char tmp[1024];
		size_t n = strlen(f);
		if (n && f[n - 1] == '/')
			n--;
		if (!n || n >= sizeof(tmp))
			return anser_errf(&run->err, ANSER_E_ARG, "'%s' is not a "
			                  "file name", f);
		memcpy(tmp, f, n);
		tmp[n] = '\0';
		if (!hub_path_ok(tmp))
			return anser_errf(&run->err, ANSER_E_ARG, "'%s' is not a "
			                  "valid path in a repository (relative, "
			                  "'/'-separated, no '..')", f);
	}
	run->why = ANSER_HUB_OK;
	return ANSER_OK;
}

enum anser_status anser_hub_download(const char *repo_id,
                                     const struct anser_hub_opts *opts,
                                     struct anser_hub_result *res,
                                     struct anser_err *err)
{
	static const struct anser_hub_opts defaults;
	struct hub_run *run;
	struct hub_conn *c = NULL;
	enum anser_status st;
	int single;

	memset(res, 0, sizeof(*res));
	if (!opts)
		opts = &defaults;
	run = anser_calloc(1, sizeof(*run));
	if (!run) {
		res->error = ANSER_HUB_E_LOCAL;
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	}
	pthread_mutex_init(&run->mu, NULL);
	pthread_cond_init(&run->cv, NULL);
	run->opts = opts;
	run->ctx.repo_id = repo_id;
	run->ctx.type = opts->repo_type;
	run->ctx.revision = opts->revision && *opts->revision ? opts->revision :
	                    "main";
	st = check_args(run, repo_id);
	if (st)
		goto out;
	st = hub_config_init(&run->cfg, opts, &run->err);
	if (st) {
		run->why = ANSER_HUB_E_ARG;
		goto out;
	}
	run->ctx.cfg = &run->cfg;
	run->folder = hub_repo_folder(run->cfg.cache_dir, opts->repo_type,
	                              repo_id);
	if (!run->folder) {
		st = oom(run);
		goto out;
	}
	run->ctx.folder = opts->local_dir ? NULL : run->folder;
	single = opts->n_files == 1 &&
	         opts->files[0][strlen(opts->files[0]) - 1] != '/';
	if (run->cfg.offline) {
		st = plan_offline(run, res, single);
	} else {
		st = hub_conn_new(&run->cfg, opts->cancel, &c, &run->err);
		if (st)
			run->why = ANSER_HUB_E_LOCAL;
		else if (single)
			st = plan_single(run, res, c);
		else
			st = plan_snapshot(run, res, c);
		hub_conn_free(c);
	}
	if (st)
		goto out;
	memcpy(res->commit, run->commit, sizeof(res->commit));
	res->folder = opts->local_dir ? anser_strdup(opts->local_dir) :
	              run->commit[0] ? hub_strf("%s/snapshots/%s", run->folder,
	                                        run->commit) : NULL;
	st = check_space(run, res, !opts->dry_run);
	if (st || opts->dry_run)
		goto out;
	{
		uint64_t total = 0;
		for (size_t i = 0; i < run->n; i++)
			if (!run->items[i].link_only)
				total += run->items[i].f->size;
		st = run_workers(run, total);
	}
out:
	if (st) {
		if (err)
			*err = run->err;
		res->error = run->why ? run->why : ANSER_HUB_E_LOCAL;
		if (opts->cancel && __atomic_load_n(opts->cancel,
		                                    __ATOMIC_RELAXED)) {
			res->error = ANSER_HUB_E_CANCELLED;
			st = anser_errf(err, ANSER_E_CANCELLED, "interrupted; run "
			                "the same command again to resume");
		}
	}
	for (size_t i = 0; i < run->n; i++)
		hub_meta_clear(&run->items[i].meta);
	anser_free(run->items);
	anser_free(run->folder);
	hub_config_free(&run->cfg);
	pthread_mutex_destroy(&run->mu);
	pthread_cond_destroy(&run->cv);
	anser_free(run);
	return st;
}

void anser_hub_result_free(struct anser_hub_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->n_files; i++) {
		anser_free(res->files[i].path);
		anser_free(res->files[i].local_path);
	}
	anser_free(res->files);
	anser_free(res->folder);
	memset(res, 0, sizeof(*res));
}
