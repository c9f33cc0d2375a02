/*
 * hub_http.c - libcurl, and nothing else: one request per call on a reused
 * easy handle (so connections are kept alive), redirects never followed by
 * curl (the caller decides, to read the Hub's headers on a 302 and to keep
 * the token away from other hosts), headers parsed into struct hub_resp, the
 * body kept in memory or streamed into a file while it is hashed.
 *
 * Timeouts follow huggingface_hub: a connect timeout and a "no byte for N
 * seconds" limit (CURLOPT_LOW_SPEED_*), never a total timeout, since a 15 GB
 * file takes as long as it takes.
 */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hub.h"

#define API_BODY_MAX   (64u << 20) /* a page of a tree listing, repo info */
#define ERROR_BODY_MAX 65536u      /* the body of an error answer */
#define FILE_BUFFER    (1L << 20)  /* curl's receive buffer for file GETs */

struct hub_conn {
	CURL *h;
	const struct hub_config *cfg;
	volatile sig_atomic_t *cancel;
	char errbuf[CURL_ERROR_SIZE];
};

/* The state of one transfer, shared by the callbacks. */
struct xfer {
	struct hub_conn *c;
	struct hub_resp *r;
	struct hub_sink *sink;
	int ranged;     /* a Range was sent */
	long timeout;   /* seconds without a byte before giving up */
	double last;    /* when the last byte (or the start) was */
	curl_off_t seen;
	int stalled;
	int decided;    /* the first body byte was seen */
	int to_file;    /* the body goes to the sink */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;

static void global_init(void)
{
	init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

enum anser_status hub_conn_new(const struct hub_config *cfg,
                               volatile sig_atomic_t *cancel,
                               struct hub_conn **out, struct anser_err *err)
{
	struct hub_conn *c;

	*out = NULL;
	pthread_once(&init_once, global_init);
	if (init_rc)
		return anser_errf(err, ANSER_E_IO, "cannot initialize libcurl: %s",
		                  curl_easy_strerror(init_rc));
	c = anser_calloc(1, sizeof(*c));
	if (!c)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	c->h = curl_easy_init();
	if (!c->h) {
		anser_free(c);
		return anser_errf(err, ANSER_E_NOMEM, "cannot create a libcurl "
		                  "handle");
	}
	c->cfg = cfg;
	c->cancel = cancel;
	*out = c;
	return ANSER_OK;
}

void hub_conn_free(struct hub_conn *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->h);
	anser_free(c);
}

int hub_cancelled(const struct hub_conn *c)
{
	/* Raised by a signal handler, read by every worker thread. */
	return c->cancel && __atomic_load_n(c->cancel, __ATOMIC_RELAXED);
}

void hub_resp_clear(struct hub_resp *r)
{
	char **s[] = { &r->location, &r->etag, &r->linked_etag, &r->commit,
	               &r->error_code, &r->error_msg, &r->request_id,
	               &r->content_range, &r->retry_after, &r->ratelimit,
	               &r->link };

	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		anser_free(*s[i]);
		*s[i] = NULL;
	}
	hub_buf_free(&r->body);
	r->status = 0;
	r->curl_code = 0;
	r->curl_msg[0] = '\0';
	r->linked_size = r->content_length = -1;
	r->received = 0;
}

void hub_sink_reset(struct hub_sink *s)
{
	if (s->lfs)
		anser_sha256_init(&s->sha256);
	else
		hub_gitsha1_init(&s->sha1, s->expected);
}

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 1;
}

static void hash_bytes(struct hub_sink *s, const uint8_t *p, size_t n)
{
	if (s->lfs)
		anser_sha256_update(&s->sha256, p, n);
	else
		anser_sha1_update(&s->sha1, p, n);
}

/*
 * The hashing thread: a ring of buffers; the curl thread fills one, writes
 * it to the file and queues it, the hasher hashes the queue in order.  On a
 * two-core machine this overlaps receiving and writing with hashing.
 */
#define HASH_NBUF 4
#define HASH_BUFSZ (1u << 20)

struct hub_hasher {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint8_t *buf[HASH_NBUF];
	size_t len[HASH_NBUF];
	int head, count;   /* queued: buf[head], buf[head + 1], ... */
	int fill;          /* the buffer being filled */
	int quit;
	struct hub_sink *s;
};

static void *hasher_main(void *arg)
{
	struct hub_hasher *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->count && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->count)
			break;
		int i = h->head;
		pthread_mutex_unlock(&h->mu);
		hash_bytes(h->s, h->buf[i], h->len[i]);
		pthread_mutex_lock(&h->mu);
		h->head = (h->head + 1) % HASH_NBUF;
		h->count--;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static void hasher_free(struct hub_hasher *h, int started)
{
	if (started) {
		pthread_mutex_lock(&h->mu);
		h->quit = 1;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->tid, NULL);
	}
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	for (int i = 0; i < HASH_NBUF; i++)
		anser_free(h->buf[i]);
	anser_free(h);
}

int hub_sink_start(struct hub_sink *s)
{
	struct hub_hasher *h;

	if (s->hasher)
		return 1;
	h = anser_calloc(1, sizeof(*h));
	if (!h)
		return 0;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->s = s;
	for (int i = 0; i < HASH_NBUF; i++)
		if (!(h->buf[i] = anser_malloc(HASH_BUFSZ))) {
			hasher_free(h, 0);
			return 0;
		}
	if (pthread_create(&h->tid, NULL, hasher_main, h)) {
		hasher_free(h, 0);
		return 0;
	}
	/* What is buffered so far moves to the first ring buffer. */
	if (s->nbuf)
		memcpy(h->buf[0], s->buf, s->nbuf);
	anser_free(s->buf);
	s->buf = h->buf[0];
	s->cap = HASH_BUFSZ;
	s->hasher = h;
	return 1;
}

void hub_sink_drain(struct hub_sink *s)
{
	struct hub_hasher *h = s->hasher;

	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	while (h->count)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

int hub_sink_flush(struct hub_sink *s)
{
	struct hub_hasher *h = s->hasher;

	if (!s->nbuf)
		return 1;
	if (!write_all(s->fd, s->buf, s->nbuf, s->flushed)) {
		s->io_errno = errno;
		return 0;
	}
	s->flushed += s->nbuf;
	if (!h) {
		hash_bytes(s, s->buf, s->nbuf);
		s->nbuf = 0;
		return 1;
	}
	pthread_mutex_lock(&h->mu);
	h->len[h->fill] = s->nbuf;
	h->count++;
	pthread_cond_broadcast(&h->cv);
	h->fill = (h->fill + 1) % HASH_NBUF;
	/* The next buffer is free once the ring is not full of queued ones. */
	while (h->count == HASH_NBUF)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	s->buf = h->buf[h->fill];
	s->nbuf = 0;
	return 1;
}

int hub_sink_restart(struct hub_sink *s)
{
	hub_sink_drain(s);
	s->nbuf = 0;
	if (ftruncate(s->fd, 0)) {
		s->io_errno = errno;
		return 0;
	}
	if (s->progress)
		atomic_fetch_sub(s->progress, s->offset);
	s->offset = s->flushed = 0;
	hub_sink_reset(s);
	return 1;
}

void hub_sink_free(struct hub_sink *s)
{
	if (s->hasher) {
		hasher_free(s->hasher, 1);
		s->hasher = NULL;
	} else {
		anser_free(s->buf);
	}
	s->buf = NULL;
	s->nbuf = s->cap = 0;
}

static int64_t parse_size(const char *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	while (*end == ' ')
		end++;
	return errno || *end || n < 0 || end == v ? -1 : (int64_t)n;
}

int hub_resp_header(struct hub_resp *r, const char *p, size_t n)
{
	size_t klen;
	const char *colon, *v, *end = p + n;
	static const struct {
		const char *name;
		size_t off;
	} keep[] = {
		{ "location", offsetof(struct hub_resp, location) },
		{ "etag", offsetof(struct hub_resp, etag) },
		{ "x-linked-etag", offsetof(struct hub_resp, linked_etag) },
		{ "x-repo-commit", offsetof(struct hub_resp, commit) },
		{ "x-error-code", offsetof(struct hub_resp, error_code) },
		{ "x-error-message", offsetof(struct hub_resp, error_msg) },
		{ "x-request-id", offsetof(struct hub_resp, request_id) },
		{ "x-amz-cf-id", offsetof(struct hub_resp, request_id) },
		{ "content-range", offsetof(struct hub_resp, content_range) },
		{ "retry-after", offsetof(struct hub_resp, retry_after) },
		{ "ratelimit", offsetof(struct hub_resp, ratelimit) },
		{ "link", offsetof(struct hub_resp, link) },
	};

	if (n >= 5 && !strncmp(p, "HTTP/", 5)) {
		uint64_t got = r->received;
		hub_resp_clear(r);
		r->received = got;
		return 1;
	}
	colon = memchr(p, ':', n);
	if (!colon)
		return 1;
	klen = (size_t)(colon - p);
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
	                   end[-1] == ' '))
		end--;
	if ((klen == 14 && !strncasecmp(p, "content-length", 14)) ||
	    (klen == 13 && !strncasecmp(p, "x-linked-size", 13))) {
		char tmp[32];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(end - v), v);
		if (klen == 14)
			r->content_length = parse_size(tmp);
		else
			r->linked_size = parse_size(tmp);
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		char **slot = (char **)((char *)r + keep[i].off);
		if (strlen(keep[i].name) != klen ||
		    strncasecmp(p, keep[i].name, klen) || *slot)
			continue;
		*slot = anser_strndup(v, (size_t)(end - v));
		if (!*slot)
			return 0;
		break;
	}
	return 1;
}

/* Keeps the headers we use; a new status line (a 1xx, a proxy's CONNECT
 * answer) starts afresh.  Out of memory aborts the transfer. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	return hub_resp_header(x->r, p, n) ? n : 0;
}

/* "bytes 100-199/1000": the start and the total; 0 if malformed. */
int hub_content_range(const char *v, uint64_t *start, uint64_t *total)
{
	unsigned long long a, b, t;

	if (!v || sscanf(v, "bytes %llu-%llu/%llu", &a, &b, &t) != 3 || b < a ||
	    b >= t)
		return 0;
	*start = a;
	*total = t;
	return 1;
}

/* The first body byte: does the body belong in the file? */
static int decide(struct xfer *x)
{
	struct hub_sink *s = x->sink;
	long status = 0;
	uint64_t start, total;

	curl_easy_getinfo(x->c->h, CURLINFO_RESPONSE_CODE, &status);
	x->decided = 1;
	if (!s || (status != 200 && status != 206))
		return 1;
	if (status == 206) {
		if (!x->ranged || !hub_content_range(x->r->content_range, &start,
		                                       &total) ||
		    start != s->offset || total != s->expected) {
			s->bad_range = 1;
			return 0;
		}
	} else if (s->offset) {
		/* The server ignored our Range (CloudFront with gzip, some
		 * mirrors): never append a whole body to a partial file. */
		if (!hub_sink_restart(s))
			return 0;
		s->restarted = 1;
	}
	if (!s->buf) {
		s->cap = 1 << 20;
		s->buf = anser_malloc(s->cap);
		if (!s->buf) {
			s->io_errno = ENOMEM;
			return 0;
		}
	}
	x->to_file = 1;
	return 1;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct hub_sink *s = x->sink;
	size_t n = size * nmemb;

	if (!x->decided && !decide(x))
		return 0;
	if (x->to_file) {
		if (n > s->expected - s->offset) {
			s->too_long = 1;
			return 0;
		}
		for (size_t done = 0; done < n;) {
			size_t k = s->cap - s->nbuf < n - done ? s->cap - s->nbuf :
			           n - done;
			memcpy(s->buf + s->nbuf, p + done, k);
			s->nbuf += k;
			done += k;
			if (s->nbuf == s->cap && !hub_sink_flush(s))
				return 0;
		}
		s->offset += n;
		x->r->received += n;
		if (s->progress)
			atomic_fetch_add(s->progress, n);
		if (s->received)
			atomic_fetch_add(s->received, n);
		return n;
	}
	if (x->r->body.n + n > (s ? ERROR_BODY_MAX : API_BODY_MAX))
		return s ? n : 0; /* an error page's tail is not needed */
	return hub_buf_add(&x->r->body, p, n) ? n : 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * Called at least once a second.  "No byte for `timeout` seconds" is timed
 * here: CURLOPT_LOW_SPEED_* averages over the last five seconds, so after a
 * burst it notices a stall only seconds late.
 */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
	struct xfer *x = arg;
	double t = now();

	(void)dt; (void)ut; (void)un;
	if (hub_cancelled(x->c))
		return 1;
	if (dn != x->seen) {
		x->seen = dn;
		x->last = t;
	} else if (t - x->last > (double)x->timeout) {
		x->stalled = 1;
		return 1;
	}
	return 0;
}

int hub_perform(struct hub_conn *c, const char *method, const char *url,
                int auth, const char *range, struct hub_sink *sink,
                long timeout, struct hub_resp *r)
{
	struct xfer x = { .c = c, .r = r, .sink = sink, .ranged = !!range,
	                  .timeout = timeout, .last = now() };
	struct curl_slist *hdrs = NULL, *h;
	char *authz = NULL;
	CURL *e = c->h;
	CURLcode rc;
	long status = 0;
	int head = !strcmp(method, "HEAD");

	hub_resp_clear(r);
	if (sink) {
		sink->restarted = sink->bad_range = sink->too_long = 0;
		sink->io_errno = 0;
	}
	curl_easy_reset(e);
	c->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->cfg->user_agent);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	if (head)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	if (sink)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, FILE_BUFFER);
	/* Sizes and ranges mean bytes of the file: no compression on HEADs
	 * and file GETs.  JSON from /api/ may come compressed. */
	if (head || sink) {
		h = curl_slist_append(hdrs, "Accept-Encoding: identity");
	} else {
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
		h = curl_slist_append(hdrs, "Accept: application/json");
	}
	if (!h)
		goto oom;
	hdrs = h;
	if (auth && c->cfg->token) {
		authz = hub_strf("Authorization: Bearer %s", c->cfg->token);
		if (!authz || !(h = curl_slist_append(hdrs, authz)))
			goto oom;
		hdrs = h;
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	if (range)
		curl_easy_setopt(e, CURLOPT_RANGE, range);
	rc = curl_easy_perform(e);
	if (sink && !hub_sink_flush(sink) && rc == CURLE_OK)
		rc = CURLE_WRITE_ERROR;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	r->status = status;
	if (x.stalled) {
		rc = CURLE_OPERATION_TIMEDOUT;
		snprintf(c->errbuf, sizeof(c->errbuf), "no data for %ld s",
		         timeout);
	}
	if (rc != CURLE_OK) {
		r->curl_code = (int)rc;
		snprintf(r->curl_msg, sizeof(r->curl_msg), "%s",
		         c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
	}
	curl_slist_free_all(hdrs);
	if (authz) {
		/* The token does not linger in freed memory. */
		memset(authz, 0, strlen(authz));
		anser_free(authz);
	}
	return rc == CURLE_OK && status > 0;
oom:
	curl_slist_free_all(hdrs);
	anser_free(authz);
	r->curl_code = (int)CURLE_OUT_OF_MEMORY;
	snprintf(r->curl_msg, sizeof(r->curl_msg), "out of memory");
	return 0;
}

int hub_sleep(struct hub_conn *c, double seconds)
{
	struct timespec slice = { 0, 10 * 1000000L };

	seconds *= c->cfg->wait_scale;
	for (double t = 0; t < seconds; t += 0.01) {
		if (hub_cancelled(c))
			return 0;
		nanosleep(&slice, NULL);
	}
	return !hub_cancelled(c);
}

char *hub_url_resolve(const char *base, const char *location)
{
	CURLU *u = curl_url();
	char *out = NULL, *s = NULL;

	if (!u)
		return NULL;
	if (!curl_url_set(u, CURLUPART_URL, base, 0) &&
	    !curl_url_set(u, CURLUPART_URL, location, 0) &&
	    !curl_url_get(u, CURLUPART_URL, &out, 0)) {
		s = anser_strdup(out);
		curl_free(out);
	}
	curl_url_cleanup(u);
	return s;
}

/* scheme://host:port of url into buf (lower case); 0 if unparsable. */
static int origin(const char *url, char *buf, size_t size)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int ok = 0;

	if (!u)
		return 0;
	if (!curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
	    !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) {
		snprintf(buf, size, "%s://%s:%s", scheme, host, port);
		for (char *p = buf; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		ok = 1;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

int hub_same_origin(const char *a, const char *b)
{
	char oa[512], ob[512];

	return origin(a, oa, sizeof(oa)) && origin(b, ob, sizeof(ob)) &&
	       !strcmp(oa, ob);
}

void hub_url_host(const char *url, char *buf, size_t size)
{
	const char *s = strstr(url, "://");
	size_t n;

	s = s ? s + 3 : url;
	n = strcspn(s, "/?#");
	snprintf(buf, size, "%.*s", (int)n, s);
}

double hub_retry_after(const struct hub_resp *r)
{
	double d = -1;

	/* RateLimit: "api";r=0;t=55 (IETF draft, as the Hub sends it). */
	if (r->status == 429 && r->ratelimit) {
		const char *rp = strstr(r->ratelimit, ";r="), *tp;
		if (!rp)
			rp = strstr(r->ratelimit, "; r=");
		tp = strstr(r->ratelimit, "t=");
		if (rp && tp && strtol(strchr(rp, '=') + 1, NULL, 10) == 0)
			d = (double)strtol(tp + 2, NULL, 10) + 1;
	}
	if (d < 0 && r->retry_after) {
		char *end;
		long n = strtol(r->retry_after, &end, 10);
		if (end != r->retry_after && !*end && n >= 0) {
			d = (double)n + 1; /* +1 s against rounding, as hf */
		} else {
			time_t t = curl_getdate(r->retry_after, NULL);
			if (t > 0)
				d = difftime(t, time(NULL)) + 1;
		}
	}
	if (d > 300)
		d = 300;
	return d;
}
