/*
 * hub_fetch.c - one file, start to finish, on the calling thread:
 *
 *   lock  .locks/<repo folder>/<etag>.lock (or the local dir's <path>.lock)
 *   blob already there?  then only the pointer
 *   HEAD  /resolve/<commit>/<path> for the URL to GET (a signed CDN URL for
 *         LFS files, fetched without the token)
 *   GET   into <etag>.incomplete, with Range: bytes=N- when a partial file
 *         is there (from this run or an earlier one), hashing as it comes
 *   retry network errors and 408/429/5xx (backoff 1, 2, 4, 8, 8 s, the
 *         count reset whenever bytes arrive), go back to the Hub for a new
 *         URL when the CDN refuses an expired one, start over when a Range
 *         is answered with a whole file
 *   verify sha256 (LFS) or git blob sha1 against the etag; a mismatch
 *         throws the bytes away and downloads once more from zero
 *   fsync, rename into blobs/<etag>, then the snapshot pointer
 *
 * On any failure the partial file stays (except after a checksum mismatch),
 * so the next run resumes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"

#define MAX_TRIES      5  /* retries in a row without a byte received */
#define MAX_RERESOLVE  3  /* fresh URLs from the Hub for one file */
#define MAX_HOPS      10  /* redirects on one GET */

static enum anser_status fail(enum anser_hub_error *why, enum anser_hub_error w,
                              enum anser_status st)
{
	*why = w;
	return st;
}

/* Hashes the first n bytes of fd into the sink (resuming a partial file). */
static int hash_prefix(int fd, struct hub_sink *s, uint64_t n)
{
	size_t bufsize = 1 << 20;
	uint8_t *buf = anser_malloc(bufsize);
	uint64_t off = 0;

	if (!buf)
		return 0;
	while (off < n) {
		size_t want = n - off < bufsize ? (size_t)(n - off) : bufsize;
		ssize_t r = pread(fd, buf, want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			anser_free(buf);
			return 0;
		}
		if (s->lfs)
			anser_sha256_update(&s->sha256, buf, (size_t)r);
		else
			anser_sha1_update(&s->sha1, buf, (size_t)r);
		off += (uint64_t)r;
	}
	anser_free(buf);
	return 1;
}

/* The digest of what the sink has hashed, without disturbing it. */
static void sink_hex(struct hub_sink *s, char *hex)
{
	uint8_t d[32];

	hub_sink_drain(s);
	if (s->lfs) {
		struct anser_sha256 c = s->sha256;
		anser_sha256_final(&c, d);
		anser_hex(d, 32, hex);
	} else {
		struct anser_sha1 c = s->sha1;
		anser_sha1_final(&c, d);
		anser_hex(d, 20, hex);
	}
}

static void sync_dir(const char *path)
{
	char *dir = anser_strdup(path), *slash;
	int fd;

	if (!dir)
		return;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	anser_free(dir);
}

/* Gets a fresh URL (and checks the Hub still means the same bytes). */
static enum anser_status reresolve(struct hub_run *run, struct hub_conn *c,
                                   struct hub_item *it,
                                   enum anser_hub_error *why,
                                   struct anser_err *err)
{
	struct hub_meta m = { 0 };
	enum anser_status st;

	st = hub_head(c, &run->ctx, run->commit, it->f->path, &m, why, err);
	if (st)
		return st;
	if (strcmp(m.etag, it->f->etag) || m.size != it->f->size) {
		hub_meta_clear(&m);
		return fail(why, ANSER_HUB_E_PROTOCOL,
		            anser_errf(err, ANSER_E_FORMAT, "the Hub describes "
		                       "'%s' differently from its file list "
		                       "(etag %.12s, size %llu; expected %.12s, "
		                       "%llu)", it->f->path, m.etag,
		                       (unsigned long long)m.size, it->f->etag,
		                       (unsigned long long)it->f->size));
	}
	hub_meta_clear(&it->meta);
	it->meta = m;
	it->have_meta = 1;
	return ANSER_OK;
}

/*
 * Downloads the file into `partial` and verifies it.  On success the file
 * is complete, synced and closed.
 */
static enum anser_status download(struct hub_run *run, struct hub_conn *c,
                                  struct hub_item *it, const char *partial,
                                  enum anser_hub_error *why,
                                  struct anser_err *err)
{
	struct anser_hub_file *f = it->f;
	struct hub_sink s = { .fd = -1 };
	struct hub_resp r = { 0 };
	enum anser_status st = ANSER_OK;
	char range[32], hex[65];
	int tries = 0, rer = 0, hops = 0, mismatches = 0;
	double backoff = 1;
	struct stat sb;

	if (!it->have_meta) {
		st = reresolve(run, c, it, why, err);
		if (st)
			return st;
	}
	st = hub_mkdirs_for(partial, err);
	if (st)
		return fail(why, ANSER_HUB_E_LOCAL, st);
	s.fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (s.fd < 0)
		return fail(why, ANSER_HUB_E_LOCAL,
		            anser_errno(err, "cannot create '%s'", partial));
	s.expected = f->size;
	s.lfs = it->lfs;
	s.progress = &run->bytes_done;
	s.received = &run->bytes_received;
	hub_sink_reset(&s);
	/* Resume what an earlier run (or try) left, rehashing it. */
	if (fstat(s.fd, &sb)) {
		st = fail(why, ANSER_HUB_E_LOCAL,
		          anser_errno(err, "cannot read '%s'", partial));
		goto out;
	}
	s.offset = s.flushed = (uint64_t)sb.st_size;
	if (run->opts->force || s.offset > f->size ||
	    !hash_prefix(s.fd, &s, s.offset)) {
		s.offset = s.flushed = 0;
		hub_sink_reset(&s);
		if (ftruncate(s.fd, 0)) {
			st = fail(why, ANSER_HUB_E_LOCAL,
			          anser_errno(err, "cannot truncate '%s'", partial));
			goto out;
		}
	}
	atomic_fetch_add(&run->bytes_done, s.offset);
	atomic_fetch_add(&it->done, s.offset);
	/* Large files are hashed beside the transfer, not in its way. */
	if (f->size - s.offset >= (2u << 20))
		hub_sink_start(&s);

	for (;;) {
		int ok;

		if (hub_cancelled(c)) {
			st = fail(why, ANSER_HUB_E_CANCELLED,
			          anser_errf(err, ANSER_E_CANCELLED, "interrupted"));
			goto out;
		}
		if (s.offset == f->size) {
			sink_hex(&s, hex);
			if (!strcmp(hex, f->etag))
				break;
			/* Damaged on the way (or a partial file gone bad):
			 * discard it and download once more from zero. */
			if (++mismatches >= 2 || !hub_sink_restart(&s)) {
				close(s.fd);
				s.fd = -1;
				unlink(partial);
				st = fail(why, ANSER_HUB_E_CHECKSUM,
				          anser_errf(err, ANSER_E_CHECKSUM, "checksum "
				                     "mismatch for '%s': got %s %.16s..., "
				                     "the Hub says %.16s...; the download "
				                     "was discarded, run again", f->path,
				                     it->lfs ? "sha256" : "git sha1", hex,
				                     f->etag));
				goto out;
			}
			continue;
		}
		snprintf(range, sizeof(range), "%llu-",
		         (unsigned long long)s.offset);
		ok = hub_perform(c, "GET", it->meta.url, it->meta.auth,
		                 s.offset ? range : NULL, &s, run->cfg.dl_timeout,
		                 &r);
		if (hub_cancelled(c))
			continue;
		if (s.io_errno) {
			errno = s.io_errno;
			st = fail(why, errno == ENOSPC ? ANSER_HUB_E_SPACE :
			          ANSER_HUB_E_LOCAL,
			          anser_errno(err, "cannot write '%s'%s", partial,
			                      errno == ENOSPC ? " (free some space "
			                      "and run again to resume)" : ""));
			goto out;
		}
		if (r.received)
			tries = 0;
		if (ok && (r.status == 200 || r.status == 206)) {
			/* Complete, or ended early (a chunked body): go on from
			 * where it stopped, unless nothing ever comes. */
			if (s.offset != f->size && !r.received &&
			    ++tries > MAX_TRIES) {
				st = fail(why, ANSER_HUB_E_PROTOCOL,
				          anser_errf(err, ANSER_E_FORMAT, "the server "
				                     "keeps sending no bytes of '%s'",
				                     f->path));
				goto out;
			}
			continue;
		}
		if (s.bad_range || s.too_long) {
			/* A 206 that does not fit, or too many bytes. */
			if (!hub_sink_restart(&s) || ++tries > MAX_TRIES) {
				st = fail(why, ANSER_HUB_E_PROTOCOL,
				          anser_errf(err, ANSER_E_FORMAT, "the server "
				                     "sent %s for '%s'", s.too_long ?
				                     "more bytes than the file has" :
				                     "a range that was not asked for",
				                     f->path));
				goto out;
			}
			continue;
		}
		if (ok && r.status == 416) {
			/* Nothing past our end: the partial file is as long as
			 * the file (checked above) or stale. */
			if (!hub_sink_restart(&s) || ++tries > MAX_TRIES) {
				st = hub_fail(&run->ctx, &r, it->meta.url, f->path,
				              why, err);
				goto out;
			}
			continue;
		}
		if (ok && r.status >= 300 && r.status < 400 && r.location &&
		    hops < MAX_HOPS) {
			char *next = hub_url_resolve(it->meta.url, r.location);
			if (!next) {
				st = fail(why, ANSER_HUB_E_LOCAL,
				          anser_errf(err, ANSER_E_NOMEM,
				                     "out of memory"));
				goto out;
			}
			it->meta.auth = it->meta.auth &&
			                hub_same_origin(it->meta.url, next);
			anser_free(it->meta.url);
			it->meta.url = next;
			hops++;
			continue;
		}
		/* A signed CDN URL expires: back to the Hub for a new one, then
		 * on from the same offset (the content is named by its hash). */
		if (ok && (r.status == 400 || r.status == 401 || r.status == 403 ||
		           r.status == 404 || r.status == 410) &&
		    !hub_same_origin(it->meta.url, run->cfg.endpoint) &&
		    rer < MAX_RERESOLVE) {
			rer++;
			st = reresolve(run, c, it, why, err);
			if (st)
				goto out;
			continue;
		}
		if ((!ok || hub_retryable(r.status)) && tries < MAX_TRIES) {
			double d = ok ? hub_retry_after(&r) : -1;
			tries++;
			if (!hub_sleep(c, d >= 0 ? d : ok ? backoff : 1))
				continue;
			if (ok)
				backoff = backoff * 2 > 8 ? 8 : backoff * 2;
			continue;
		}
		st = hub_fail(&run->ctx, &r, it->meta.url, f->path, why, err);
		if (*why == ANSER_HUB_E_NETWORK) {
			/* Say that nothing is lost. */
			size_t n = strlen(err ? err->msg : "");
			if (err && n + 40 < sizeof(err->msg))
				snprintf(err->msg + n, sizeof(err->msg) - n,
				         "; run again to resume '%s'",
				         anser_basename(f->path));
		}
		goto out;
	}
	if (fsync(s.fd)) {
		st = fail(why, ANSER_HUB_E_LOCAL,
		          anser_errno(err, "cannot write '%s'", partial));
		goto out;
	}
out:
	if (s.fd >= 0 && close(s.fd) && !st)
		st = fail(why, ANSER_HUB_E_LOCAL,
		          anser_errno(err, "cannot write '%s'", partial));
	hub_resp_clear(&r);
	hub_sink_free(&s);
	return st;
}

static enum anser_status fetch_cache(struct hub_run *run, struct hub_conn *c,
                                     struct hub_item *it,
                                     enum anser_hub_error *why,
                                     struct anser_err *err)
{
	struct anser_hub_file *f = it->f;
	const char *base = strrchr(run->folder, '/');
	char *lock = hub_strf("%s/.locks/%s/%s.lock", run->cfg.cache_dir,
	                      base ? base + 1 : run->folder, f->etag);
	char *blob = hub_strf("%s/blobs/%s", run->folder, f->etag);
	char *partial = hub_strf("%s/blobs/%s.incomplete", run->folder, f->etag);
	enum anser_status st = ANSER_OK;
	int fd = -1, new_blob = 0;
	struct stat sb;

	if (!lock || !blob || !partial) {
		st = fail(why, ANSER_HUB_E_LOCAL,
		          anser_errf(err, ANSER_E_NOMEM, "out of memory"));
		goto out;
	}
	fd = hub_lock(c, lock, err);
	if (fd < 0) {
		st = fail(why, hub_cancelled(c) ? ANSER_HUB_E_CANCELLED :
		          ANSER_HUB_E_LOCAL, err ? err->code : ANSER_E_IO);
		goto out;
	}
	/* Someone (another job, another process, hf) may have finished it
	 * while we waited for the lock. */
	if (run->opts->force || stat(blob, &sb)) {
		st = download(run, c, it, partial, why, err);
		if (st)
			goto out;
		if (rename(partial, blob)) {
			st = fail(why, ANSER_HUB_E_LOCAL,
			          anser_errno(err, "cannot rename '%s' to '%s'",
			                      partial, blob));
			goto out;
		}
		sync_dir(blob);
		new_blob = 1;
	}
	st = hub_pointer(run->folder, run->commit, f->path, f->etag,
	                 run->cfg.symlinks, new_blob, err);
	if (st)
		*why = ANSER_HUB_E_LOCAL;
out:
	hub_unlock(fd);
	anser_free(lock);
	anser_free(blob);
	anser_free(partial);
	return st;
}

static enum anser_status fetch_local(struct hub_run *run, struct hub_conn *c,
                                     struct hub_item *it,
                                     enum anser_hub_error *why,
                                     struct anser_err *err)
{
	struct anser_hub_file *f = it->f;
	const char *ld = run->opts->local_dir;
	char *lock = hub_local_meta_path(ld, f->path, ".lock");
	char *partial = hub_local_incomplete(ld, f->path, f->etag);
	char *cached = hub_strf("%s/snapshots/%s/%s", run->folder, run->commit,
	                        f->path);
	enum anser_status st = ANSER_OK;
	int fd = -1;

	if (!lock || !partial || !cached) {
		st = fail(why, ANSER_HUB_E_LOCAL,
		          anser_errf(err, ANSER_E_NOMEM, "out of memory"));
		goto out;
	}
	fd = hub_lock(c, lock, err);
	if (fd < 0) {
		st = fail(why, hub_cancelled(c) ? ANSER_HUB_E_CANCELLED :
		          ANSER_HUB_E_LOCAL, err ? err->code : ANSER_E_IO);
		goto out;
	}
	st = hub_mkdirs_for(f->local_path, err);
	if (st) {
		*why = ANSER_HUB_E_LOCAL;
		goto out;
	}
	if (it->from_cache) {
		/* The hub cache has it: copy, as huggingface_hub does. */
		st = hub_copy_file(cached, f->local_path, err);
		if (st) {
			*why = ANSER_HUB_E_LOCAL;
			goto out;
		}
		atomic_fetch_add(&run->bytes_done, f->size);
	} else {
		st = download(run, c, it, partial, why, err);
		if (st)
			goto out;
		/* The outdated file goes only now that its successor is
		 * verified. */
		unlink(f->local_path);
		if (rename(partial, f->local_path)) {
			st = fail(why, ANSER_HUB_E_LOCAL,
			          anser_errno(err, "cannot rename '%s' to '%s'",
			                      partial, f->local_path));
			goto out;
		}
		sync_dir(f->local_path);
	}
	st = hub_local_meta_write(ld, f->path, run->commit, f->etag, err);
	if (st)
		*why = ANSER_HUB_E_LOCAL;
out:
	hub_unlock(fd);
	anser_free(lock);
	anser_free(partial);
	anser_free(cached);
	return st;
}

enum anser_status hub_fetch(struct hub_run *run, struct hub_conn *c,
                            struct hub_item *it, enum anser_hub_error *why,
                            struct anser_err *err)
{
	enum anser_status st;

	st = run->opts->local_dir ? fetch_local(run, c, it, why, err) :
	     fetch_cache(run, c, it, why, err);
	if (!st)
		atomic_fetch_add(&run->files_done, 1);
	return st;
}
