/*
 * hub.h - private to the Hugging Face Hub client (lib/hub*.c, lib/sha1.c,
 * lib/models.c).  Only lib/hub_http.c includes libcurl; everything else sees
 * a connection as an opaque struct hub_conn.
 *
 * The files:
 *   hub.c        anser_hub_download: resolve, list, plan, run the workers
 *   hub_fetch.c  one file: lock, HEAD, ranged GETs with retries, verify,
 *                publish into the cache or a local folder
 *   hub_http.c   libcurl: one request, headers parsed, body to memory or file
 *   hub_cache.c  the cache on disk: paths, refs, pointers, locks, metadata
 *   hub_util.c   configuration from the environment, strings, URLs, globs,
 *                repo references, error messages
 *   sha1.c       git blob ids
 *   models.c     the table of released models; fetch and convert by name
 */
#ifndef ANSER_HUB_INTERNAL_H
#define ANSER_HUB_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "internal.h"

/* ---------------------------------------------------------------- sha1.c */

struct anser_sha1 {
	uint32_t h[5];
	uint64_t len;
	uint8_t buf[64];
	size_t nbuf;
};
void anser_sha1_init(struct anser_sha1 *s);
void anser_sha1_update(struct anser_sha1 *s, const void *data, size_t n);
void anser_sha1_final(struct anser_sha1 *s, uint8_t digest[20]);
/* Starts a git blob id: sha1 of "blob <size>\0" followed by the content. */
void hub_gitsha1_init(struct anser_sha1 *s, uint64_t size);

/* -------------------------------------------------------------- hub_util.c */

/* A growable byte string, always NUL-terminated when p is not NULL. */
struct hub_buf {
	char *p;
	size_t n, cap;
};
int hub_buf_add(struct hub_buf *b, const void *p, size_t n); /* 0: no memory */
void hub_buf_free(struct hub_buf *b);

/* An anser_malloc'd formatted string, or NULL when out of memory. */
char *hub_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Settings of one call: the options, else the environment, else defaults. */
struct hub_config {
	char *endpoint;    /* no trailing '/' */
	char *token;       /* NULL: none */
	char *cache_dir;   /* the hub cache */
	char *user_agent;
	int offline;
	int symlinks;      /* 0 with HF_HUB_DISABLE_SYMLINKS */
	long etag_timeout; /* seconds, metadata requests */
	long dl_timeout;   /* seconds without a byte before a GET gives up */
	double wait_scale; /* multiplies retry waits: $ANSER_HUB_WAIT_SCALE */
};
enum anser_status hub_config_init(struct hub_config *c,
                                  const struct anser_hub_opts *o,
                                  struct anser_err *err);
void hub_config_free(struct hub_config *c);

/* True for 1, ON, YES, TRUE in any case (huggingface_hub's _is_true). */
int hub_env_true(const char *name);

/* Percent-encodes s; with keep_slash, '/' stays (file paths). */
char *hub_quote(const char *s, int keep_slash);
const char *hub_type_plural(enum anser_repo_type t); /* "models" */
const char *hub_type_name(enum anser_repo_type t);   /* "model" */

/* Checks of untrusted names; fill why[] with the reason when they fail. */
int hub_repo_id_ok(const char *id, char *why, size_t n);
int hub_path_ok(const char *path);     /* relative, no '..', no '\' */
int hub_revision_ok(const char *rev);  /* usable as refs/<rev> */
int hub_is_hex(const char *s, size_t len);

/* W/"abc" -> abc; 0 if the result does not fit or is empty. */
int hub_etag_normalize(const char *raw, char *out, size_t size);

/* "1.2 MB" */
const char *hub_human(uint64_t n, char *buf, size_t size);

/* The web page of a repo: https://huggingface.co/datasets/org/name */
char *hub_repo_url(const char *endpoint, enum anser_repo_type t,
                   const char *repo_id);

/* -------------------------------------------------------------- hub_http.c */

/* What a response said, headers parsed. */
struct hub_resp {
	long status;
	int curl_code;           /* 0: a complete answer arrived */
	char curl_msg[256];
	char *location, *etag, *linked_etag, *commit, *error_code, *error_msg,
	     *request_id, *content_range, *retry_after, *ratelimit, *link;
	int64_t linked_size, content_length; /* -1 when absent */
	struct hub_buf body;     /* API bodies, and error bodies (capped) */
	uint64_t received;       /* body bytes written to the sink */
};
void hub_resp_clear(struct hub_resp *r);

/*
 * Where a GET's body goes when it is a 200 or 206: appended to fd at
 * `offset` (bytes already there) while hashing.  A 200 answer to a ranged
 * request truncates the file first; a 206 whose Content-Range does not
 * start at offset or whose total is not `expected` is refused.
 */
struct hub_sink {
	int fd;
	uint64_t offset;         /* bytes in the file */
	uint64_t expected;       /* the file's size */
	int lfs;                 /* sha256; else git blob sha1 */
	struct anser_sha256 sha256;
	struct anser_sha1 sha1;
	int restarted;           /* a 200 answered a range: file truncated */
	int bad_range;           /* a 206 that does not fit: refused */
	int too_long;            /* more bytes than expected */
	int io_errno;            /* a write failed */
	_Atomic uint64_t *progress; /* adds each byte written, minus truncations */
	_Atomic uint64_t *received; /* adds each byte received */
	/* curl hands over 16 kB at a time: bytes [flushed, offset) wait in
	 * buf and are hashed and written 1 MiB at a time. */
	uint8_t *buf;
	size_t nbuf, cap;
	uint64_t flushed;
	/* With hub_sink_start, full buffers are hashed on a thread of their
	 * own while the next bytes arrive; NULL: hashed as they are written. */
	struct hub_hasher *hasher;
};
void hub_sink_reset(struct hub_sink *s); /* hashes restart from byte 0 */
/* Starts the hashing thread (for large files); 0: hashing stays inline. */
int hub_sink_start(struct hub_sink *s);
/* Writes what is buffered and queues it for hashing; 0 (and io_errno) on
 * failure. */
int hub_sink_flush(struct hub_sink *s);
/* Waits until everything written is hashed (before reading the digest). */
void hub_sink_drain(struct hub_sink *s);
/* Truncates the file to nothing and restarts the hashes. */
int hub_sink_restart(struct hub_sink *s);
void hub_sink_free(struct hub_sink *s);

struct hub_conn;
enum anser_status hub_conn_new(const struct hub_config *cfg,
                               volatile sig_atomic_t *cancel,
                               struct hub_conn **out, struct anser_err *err);
void hub_conn_free(struct hub_conn *c);
int hub_cancelled(const struct hub_conn *c);

/*
 * One request, redirects not followed.  method is "HEAD" or "GET"; auth
 * sends the token; range is "bytes=N-" or NULL; sink NULL keeps the body in
 * r->body (up to 64 MiB).  timeout is the connect and no-progress limit.
 * Returns 1 when an answer arrived (r->status), else 0 with r->curl_code.
 */
int hub_perform(struct hub_conn *c, const char *method, const char *url,
                int auth, const char *range, struct hub_sink *sink,
                long timeout, struct hub_resp *r);

/*
 * One header line of an answer ("Name: value\r\n", n bytes, not
 * NUL-terminated) into r: the headers above are kept, the first of each
 * name wins, a status line ("HTTP/...") clears r.  0 when out of memory.
 */
int hub_resp_header(struct hub_resp *r, const char *line, size_t n);

/* "bytes 100-199/1000": the start and the total; 0 if malformed. */
int hub_content_range(const char *v, uint64_t *start, uint64_t *total);

/* Seconds Retry-After or RateLimit ask to wait (+1, at most 300), or -1. */
double hub_retry_after(const struct hub_resp *r);

/* Sleeps up to `seconds`, returning early (0) when cancelled. */
int hub_sleep(struct hub_conn *c, double seconds);

/* The URL `location` points to relative to `base` (anser_malloc'd). */
char *hub_url_resolve(const char *base, const char *location);
/* 1 if the two URLs share scheme, host and port. */
int hub_same_origin(const char *a, const char *b);
/* Host (and port) of a URL, for messages. */
void hub_url_host(const char *url, char *buf, size_t size);

/* ------------------------------------------------------------------- hub.c */

/* What the requests of one download share. */
struct hub_ctx {
	const struct hub_config *cfg;
	const char *repo_id;
	enum anser_repo_type type;
	const char *revision;      /* as the user gave it */
	const char *folder;        /* the repo folder in the cache, for .no_exist */
};

/* The metadata a HEAD on /resolve/ gives. */
struct hub_meta {
	char commit[41];
	char etag[65];
	uint64_t size;
	char *url;                 /* where to GET */
	int auth;                  /* send the token there */
};
void hub_meta_clear(struct hub_meta *m);

/*
 * Sends a request, retrying network errors and 408, 429 and 5xx answers
 * with backoff 1, 2, 4, 8, 8 s (Retry-After and RateLimit honoured), at most
 * five times, and following relative redirects with the same headers.
 * Returns 1 with the final answer in r, 0 when every try failed (r holds the
 * last transport error).  *final_url (if not NULL) gets the URL that
 * answered, after relative redirects (anser_malloc'd).
 */
int hub_request(struct hub_conn *c, const char *method, const char *url,
                int auth, long timeout, struct hub_resp *r, char **final_url);

/*
 * The parsers of the Hub's API answers (bodies as received, NUL-terminated;
 * NULL counts as empty), reachable from tests and tests/fuzz.
 *
 * hub_parse_revision: GET /api/{type}s/{repo}/revision/{rev}, {"sha": ...};
 * 1 with the commit (40 lower-case hex digits) in commit[41], else 0.
 * hub_parse_tree: one page of GET /api/{type}s/{repo}/tree/...: a JSON array
 * of entries, files checked (safe path, sha1 or sha256 oid, size); *n_files
 * gets how many.  repo_id is for messages.
 * hub_link_next: the URL of Link: <url>; rel="next" (anser_malloc'd), or
 * NULL.
 */
int hub_parse_revision(const char *body, char commit[41]);
enum anser_status hub_parse_tree(const char *repo_id, const char *body,
                                 size_t *n_files, struct anser_err *err);
char *hub_link_next(const char *link);

/* 408, 429, 500, 502, 503, 504: worth another try. */
int hub_retryable(long status);

/* HEAD on /resolve/<rev>/<path>; fills m.  Errors name the fix. */
enum anser_status hub_head(struct hub_conn *c, const struct hub_ctx *x,
                           const char *rev, const char *path,
                           struct hub_meta *m, enum anser_hub_error *why,
                           struct anser_err *err);

/* Turns a failed answer (or transport error) into a message and a class. */
enum anser_status hub_fail(const struct hub_ctx *x, const struct hub_resp *r,
                           const char *url, const char *path,
                           enum anser_hub_error *why, struct anser_err *err);

/* ------------------------------------------------------------- hub_cache.c */

/* mkdir -p for the folders of `path` (not path itself); 0777 less umask. */
enum anser_status hub_mkdirs_for(const char *path, struct anser_err *err);
enum anser_status hub_mkdirs(const char *dir, struct anser_err *err);

/* models--org--name */
char *hub_repo_folder(const char *cache_dir, enum anser_repo_type t,
                      const char *repo_id);

/* refs/<rev>: read into commit[41] (1 if found); write if changed. */
int hub_ref_read(const char *folder, const char *rev, char commit[41]);
enum anser_status hub_ref_write(const char *folder, const char *rev,
                                const char *commit, struct anser_err *err);

/* CACHEDIR.TAG with huggingface_hub's text, unless one is there. */
void hub_cachedir_tag(const char *dir);

/* flock(LOCK_EX) on `path` (created 0664), waiting; -1 when cancelled. */
int hub_lock(struct hub_conn *c, const char *path, struct anser_err *err);
void hub_unlock(int fd);

/*
 * snapshots/<commit>/<path> -> ../../blobs/<etag> (one more "../" per
 * folder level).  Without symlinks a new blob is moved there, an old one
 * copied, as huggingface_hub does.
 */
enum anser_status hub_pointer(const char *folder, const char *commit,
                              const char *path, const char *etag,
                              int symlinks, int new_blob,
                              struct anser_err *err);

/* local_dir bookkeeping: .cache/huggingface/download/<path>.{metadata,lock} */
struct hub_local_meta {
	char commit[41];
	char etag[65];
	double timestamp;
	int valid;          /* present and not older than the file */
};
char *hub_local_meta_path(const char *local_dir, const char *path,
                          const char *suffix);
char *hub_local_incomplete(const char *local_dir, const char *path,
                           const char *etag);
void hub_local_meta_read(const char *local_dir, const char *path,
                         struct hub_local_meta *m);
enum anser_status hub_local_meta_write(const char *local_dir,
                                       const char *path, const char *commit,
                                       const char *etag,
                                       struct anser_err *err);
/* .cache/huggingface/{.gitignore,CACHEDIR.TAG} */
void hub_local_prepare(const char *local_dir);

/* Bytes free to an unprivileged user where `path` is (or would be). */
int hub_free_space(const char *path, uint64_t *avail);

/* Copies src to dst through a temporary file beside dst. */
enum anser_status hub_copy_file(const char *src, const char *dst,
                                struct anser_err *err);

/* Hashes a whole file: sha256 hex (lfs) or git blob sha1 hex. */
enum anser_status hub_hash_file(const char *path, int lfs, char *hex,
                                struct anser_err *err);

/* ------------------------------------------------------------- hub_fetch.c */

struct hub_run;

/* One file of a download. */
struct hub_item {
	struct anser_hub_file *f;   /* in the result */
	int lfs;
	int link_only;              /* blob in the cache: only the pointer */
	int from_cache;             /* local_dir: copy from the hub cache */
	struct hub_meta meta;       /* filled by a HEAD when needed */
	int have_meta;
	_Atomic uint64_t done;      /* bytes of this file on disk */
};

/* The shared state of anser_hub_download's workers. */
struct hub_run {
	struct hub_config cfg;
	struct hub_ctx ctx;
	const struct anser_hub_opts *opts;
	char commit[41];
	char *folder;               /* the repo folder in the cache */
	struct hub_item *items;     /* [n], the files to fetch */
	size_t n;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next, finished;
	int failed;                 /* no new files once one failed */
	struct anser_err err;       /* the first failure */
	enum anser_hub_error why;
	_Atomic uint64_t bytes_done, bytes_received;
	_Atomic size_t files_done;
};

/* Fetches one file (any thread, its own connection). */
enum anser_status hub_fetch(struct hub_run *run, struct hub_conn *c,
                            struct hub_item *it, enum anser_hub_error *why,
                            struct anser_err *err);

#endif /* ANSER_HUB_INTERNAL_H */
