/*
 * hub_cache.c - the Hugging Face cache on disk, as huggingface_hub lays it
 * out (file_download.py, _local_folder.py):
 *
 *   $HF_HUB_CACHE/CACHEDIR.TAG
 *   $HF_HUB_CACHE/.locks/models--org--name/<etag>.lock      flock, mode 0664
 *   $HF_HUB_CACHE/models--org--name/refs/<revision>         40 hex, no newline
 *   $HF_HUB_CACHE/models--org--name/blobs/<etag>            the verified file
 *   $HF_HUB_CACHE/models--org--name/blobs/<etag>.incomplete our partial file
 *   $HF_HUB_CACHE/models--org--name/snapshots/<commit>/<path>
 *                                   -> ../../blobs/<etag>   relative symlink
 *   $HF_HUB_CACHE/models--org--name/.no_exist/<commit>/<path>
 *
 * and for --local-dir:
 *
 *   <dir>/<path>
 *   <dir>/.cache/huggingface/{.gitignore,CACHEDIR.TAG}
 *   <dir>/.cache/huggingface/download/<path>.metadata       commit, etag, time
 *   <dir>/.cache/huggingface/download/<path>.lock
 *   <dir>/.cache/huggingface/download/<b64(sha1(name))>.<etag>.incomplete
 *
 * The partial file keeps the name older huggingface_hub versions used and
 * resumed; current versions download to <etag>.<8 hex>.incomplete and never
 * touch ours, so both tools can share a cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"

static const char cachedir_tag[] =
	"Signature: 8a477f597d28d172789f06886806bc55\n"
	"# This file is a cache directory tag created by huggingface_hub.\n"
	"# For information about cache directory tags, see:\n"
	"#\thttps://bford.info/cachedir/\n";

enum anser_status hub_mkdirs(const char *dir, struct anser_err *err)
{
	char *p = anser_strdup(dir);
	struct stat sb;

	if (!p)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) && errno != EEXIST) {
			enum anser_status st = anser_errno(err, "cannot create "
			                                   "folder '%s'", p);
			anser_free(p);
			return st;
		}
		*s = c;
		if (!c)
			break;
	}
	if (stat(p, &sb) || !S_ISDIR(sb.st_mode)) {
		enum anser_status st = anser_errf(err, ANSER_E_IO, "'%s' is not "
		                                  "a folder", p);
		anser_free(p);
		return st;
	}
	anser_free(p);
	return ANSER_OK;
}

enum anser_status hub_mkdirs_for(const char *path, struct anser_err *err)
{
	char *p = anser_strdup(path);
	enum anser_status st;

	if (!p)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	st = hub_mkdirs(dirname(p), err);
	anser_free(p);
	return st;
}

char *hub_repo_folder(const char *cache_dir, enum anser_repo_type t,
                      const char *repo_id)
{
	const char *slash = strchr(repo_id, '/');

	if (!slash)
		return hub_strf("%s/%s--%s", cache_dir, hub_type_plural(t),
		                repo_id);
	return hub_strf("%s/%s--%.*s--%s", cache_dir, hub_type_plural(t),
	                (int)(slash - repo_id), repo_id, slash + 1);
}

/* Reads up to size-1 bytes of a small file; -1 if it cannot be opened. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

int hub_ref_read(const char *folder, const char *rev, char commit[41])
{
	char *path = hub_strf("%s/refs/%s", folder, rev), buf[128];
	ssize_t n;

	if (!path)
		return 0;
	n = read_small(path, buf, sizeof(buf));
	anser_free(path);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (n != 40 || !hub_is_hex(buf, 40))
		return 0;
	memcpy(commit, buf, 41);
	return 1;
}

/* A name for a temporary file beside `path`: "<path>.<8 hex><suffix>". */
static char *temp_name(const char *path, const char *suffix)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)getpid() ^ (uint32_t)time(NULL) ^
		    (uint32_t)(uintptr_t)&r;
	return hub_strf("%s.%08x%s", path, r, suffix);
}

/* Writes data into a new file at `path` through a temporary and rename. */
static enum anser_status write_atomic(const char *path, const void *data,
                                      size_t n, struct anser_err *err)
{
	char *tmp = temp_name(path, ".tmp");
	enum anser_status st = ANSER_OK;
	int fd;

	if (!tmp)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		st = anser_errno(err, "cannot create '%s'", tmp);
		anser_free(tmp);
		return st;
	}
	if (write(fd, data, n) != (ssize_t)n)
		st = anser_errno(err, "cannot write '%s'", tmp);
	if (close(fd) && !st)
		st = anser_errno(err, "cannot write '%s'", tmp);
	if (!st && rename(tmp, path))
		st = anser_errno(err, "cannot rename '%s' to '%s'", tmp, path);
	if (st)
		unlink(tmp);
	anser_free(tmp);
	return st;
}

enum anser_status hub_ref_write(const char *folder, const char *rev,
                                const char *commit, struct anser_err *err)
{
	char now[41], *path;
	enum anser_status st;

	/* Only when it changed: the cache may be read-only. */
	if (!strcmp(rev, commit) ||
	    (hub_ref_read(folder, rev, now) && !strcmp(now, commit)))
		return ANSER_OK;
	path = hub_strf("%s/refs/%s", folder, rev);
	if (!path)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	st = hub_mkdirs_for(path, err);
	if (!st)
		st = write_atomic(path, commit, strlen(commit), err);
	anser_free(path);
	return st;
}

void hub_cachedir_tag(const char *dir)
{
	char *path = hub_strf("%s/CACHEDIR.TAG", dir);
	struct stat sb;

	if (path && stat(path, &sb) && errno == ENOENT)
		write_atomic(path, cachedir_tag, strlen(cachedir_tag), NULL);
	anser_free(path);
}

int hub_lock(struct hub_conn *c, const char *path, struct anser_err *err)
{
	int fd;

	if (hub_mkdirs_for(path, err))
		return -1;
	/* py-filelock: O_RDWR | O_TRUNC (| O_CREAT), then fchmod to 0664 so
	 * users sharing a cache can wait on each other's locks. */
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0664);
	if (fd < 0) {
		anser_errno(err, "cannot open lock file '%s'", path);
		return -1;
	}
	fchmod(fd, 0664);
	for (;;) {
		if (!flock(fd, LOCK_EX | LOCK_NB))
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return fd; /* no flock here: go on without, as hf does */
		if (!hub_sleep(c, 0.1)) {
			close(fd);
			anser_errf(err, ANSER_E_CANCELLED, "interrupted");
			return -1;
		}
	}
}

void hub_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock; the file stays, as hf's does */
}

enum anser_status hub_copy_file(const char *src, const char *dst,
                                struct anser_err *err)
{
	char *tmp = temp_name(dst, ".tmp"), *buf = NULL;
	enum anser_status st = ANSER_OK;
	int in = -1, out = -1;
	ssize_t n;

	if (!tmp)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	buf = anser_malloc(1 << 20);
	if (!buf) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		st = anser_errno(err, "cannot open '%s'", src);
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (out < 0) {
		st = anser_errno(err, "cannot create '%s'", tmp);
		goto out;
	}
	while ((n = read(in, buf, 1 << 20)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			st = anser_errno(err, "cannot read '%s'", src);
			goto out;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				st = anser_errno(err, "cannot write '%s'", tmp);
				goto out;
			}
			off += w;
		}
	}
	if (fsync(out) || close(out)) {
		out = -1;
		st = anser_errno(err, "cannot write '%s'", tmp);
		goto out;
	}
	out = -1;
	if (rename(tmp, dst))
		st = anser_errno(err, "cannot rename '%s' to '%s'", tmp, dst);
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (st)
		unlink(tmp);
	anser_free(tmp);
	anser_free(buf);
	return st;
}

enum anser_status hub_pointer(const char *folder, const char *commit,
                              const char *path, const char *etag,
                              int symlinks, int new_blob,
                              struct anser_err *err)
{
	char *ptr = hub_strf("%s/snapshots/%s/%s", folder, commit, path);
	char *blob = hub_strf("%s/blobs/%s", folder, etag), *target = NULL;
	char link[512];
	enum anser_status st;
	struct hub_buf t = { 0 };
	int depth = 2;
	ssize_t n;

	if (!ptr || !blob) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	st = hub_mkdirs_for(ptr, err);
	if (st)
		goto out;
	for (const char *p = path; *p; p++)
		depth += *p == '/';
	for (int i = 0; i < depth; i++)
		if (!hub_buf_add(&t, "../", 3))
			goto oom;
	if (!hub_buf_add(&t, "blobs/", 6) || !hub_buf_add(&t, etag, strlen(etag)))
		goto oom;
	target = t.p;
	if (symlinks) {
		n = readlink(ptr, link, sizeof(link) - 1);
		if (n >= 0) {
			link[n] = '\0';
			if (!strcmp(link, target))
				goto out; /* already right */
		}
		unlink(ptr);
		if (!symlink(target, ptr))
			goto out;
		if (errno == EEXIST) {
			n = readlink(ptr, link, sizeof(link) - 1);
			if (n >= 0 && (link[n] = '\0', !strcmp(link, target)))
				goto out; /* made by someone else meanwhile */
		}
		if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS) {
			st = anser_errno(err, "cannot create symlink '%s'", ptr);
			goto out;
		}
	}
	/* No symlinks: move a new blob into place, copy one already used. */
	if (new_blob) {
		if (rename(blob, ptr))
			st = anser_errno(err, "cannot move '%s' to '%s'", blob, ptr);
	} else {
		st = hub_copy_file(blob, ptr, err);
	}
	goto out;
oom:
	st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
out:
	anser_free(ptr);
	anser_free(blob);
	hub_buf_free(&t);
	return st;
}

/* ---------------------------------------------------------------- local dir */

char *hub_local_meta_path(const char *local_dir, const char *path,
                          const char *suffix)
{
	return hub_strf("%s/.cache/huggingface/download/%s%s", local_dir, path,
	                suffix);
}

/* huggingface_hub's _short_hash: urlsafe base64 of sha1(name), padded. */
static void short_hash(const char *name, char out[29])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct anser_sha1 s;
	uint8_t d[21] = { 0 };
	int o = 0;

	anser_sha1_init(&s);
	anser_sha1_update(&s, name, strlen(name));
	anser_sha1_final(&s, d);
	for (int i = 0; i < 21; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 |
		             d[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	out[27] = '=';  /* 20 bytes: 27 characters and one '=' */
	out[28] = '\0';
}

char *hub_local_incomplete(const char *local_dir, const char *path,
                           const char *etag)
{
	char *meta = hub_local_meta_path(local_dir, path, ".metadata"), *s;
	char h[29];
	const char *base;

	if (!meta)
		return NULL;
	base = strrchr(meta, '/') + 1;
	short_hash(base, h);
	s = hub_strf("%.*s%s.%s.incomplete", (int)(base - meta), meta, h, etag);
	anser_free(meta);
	return s;
}

void hub_local_meta_read(const char *local_dir, const char *path,
                         struct hub_local_meta *m)
{
	char *mp = hub_local_meta_path(local_dir, path, ".metadata");
	char *fp = hub_strf("%s/%s", local_dir, path), buf[256], *l2, *l3, *end;
	struct stat sb;
	double mtime;

	memset(m, 0, sizeof(*m));
	if (!mp || !fp || read_small(mp, buf, sizeof(buf)) < 0)
		goto out;
	l2 = strchr(buf, '\n');
	l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
	if (!l3)
		goto out;
	*l2++ = '\0';
	*l3++ = '\0';
	if (strlen(buf) != 40 || !hub_is_hex(buf, 40) || strlen(l2) >= 65 ||
	    !*l2)
		goto out;
	errno = 0;
	m->timestamp = strtod(l3, &end);
	if (errno || end == l3 || (*end && *end != '\n'))
		goto out;
	memcpy(m->commit, buf, 41);
	memcpy(m->etag, l2, strlen(l2) + 1);
	/* Valid only if the file was not modified after the metadata was
	 * written (one second of slack, as huggingface_hub allows). */
	if (stat(fp, &sb) || !S_ISREG(sb.st_mode))
		goto out;
	mtime = (double)sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec * 1e-9;
	m->valid = mtime - 1 <= m->timestamp;
out:
	anser_free(mp);
	anser_free(fp);
}

enum anser_status hub_local_meta_write(const char *local_dir,
                                       const char *path, const char *commit,
                                       const char *etag,
                                       struct anser_err *err)
{
	char *mp = hub_local_meta_path(local_dir, path, ".metadata"), buf[256];
	struct timespec ts;
	enum anser_status st;
	int n;

	if (!mp)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(buf, sizeof(buf), "%s\n%s\n%.6f\n", commit, etag,
	             (double)ts.tv_sec + ts.tv_nsec * 1e-9);
	st = hub_mkdirs_for(mp, err);
	if (!st)
		st = write_atomic(mp, buf, (size_t)n, err);
	anser_free(mp);
	return st;
}

void hub_local_prepare(const char *local_dir)
{
	char *dir = hub_strf("%s/.cache/huggingface", local_dir), *gi = NULL;
	struct stat sb;

	if (!dir || hub_mkdirs(dir, NULL))
		goto out;
	hub_cachedir_tag(dir);
	gi = hub_strf("%s/.gitignore", dir);
	if (gi && stat(gi, &sb) && errno == ENOENT)
		write_atomic(gi, "*", 1, NULL);
out:
	anser_free(dir);
	anser_free(gi);
}

int hub_free_space(const char *path, uint64_t *avail)
{
	char *p = anser_strdup(path);
	struct statvfs vs;
	int ok = 0;

	if (!p)
		return 0;
	/* The first folder up the path that exists. */
	for (;;) {
		if (!statvfs(p, &vs)) {
			*avail = (uint64_t)vs.f_bavail * vs.f_frsize;
			ok = 1;
			break;
		}
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			break;
		*slash = '\0';
	}
	anser_free(p);
	return ok;
}

enum anser_status hub_hash_file(const char *path, int lfs, char *hex,
                                struct anser_err *err)
{
	struct anser_sha1 s1;
	struct anser_sha256 s2;
	uint8_t d[32], *buf;
	enum anser_status st = ANSER_OK;
	struct stat sb;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return anser_errno(err, "cannot open '%s'", path);
	buf = anser_malloc(1 << 20);
	if (!buf || fstat(fd, &sb)) {
		st = buf ? anser_errno(err, "cannot read '%s'", path) :
		     anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	if (lfs)
		anser_sha256_init(&s2);
	else
		hub_gitsha1_init(&s1, (uint64_t)sb.st_size);
	while ((n = read(fd, buf, 1 << 20)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			st = anser_errno(err, "cannot read '%s'", path);
			goto out;
		}
		if (lfs)
			anser_sha256_update(&s2, buf, (size_t)n);
		else
			anser_sha1_update(&s1, buf, (size_t)n);
	}
	if (lfs) {
		anser_sha256_final(&s2, d);
		anser_hex(d, 32, hex);
	} else {
		anser_sha1_final(&s1, d);
		anser_hex(d, 20, hex);
	}
out:
	anser_free(buf);
	close(fd);
	return st;
}
