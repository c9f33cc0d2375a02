/*
 * hub_util.c - the Hub client's small pieces: settings from the environment
 * (the variables huggingface_hub reads, with its defaults), percent-encoding,
 * checks of repo ids, paths and revisions, fnmatch, repository references
 * (hf:// and web URLs) and the progress line.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hub.h"

#define DEFAULT_ENDPOINT "https://huggingface.co"

/* ----------------------------------------------------------------- strings */

int hub_buf_add(struct hub_buf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *q;

		while (cap < b->n + n + 1)
			cap *= 2;
		q = anser_realloc(b->p, cap);
		if (!q)
			return 0;
		b->p = q;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 1;
}

void hub_buf_free(struct hub_buf *b)
{
	anser_free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

char *hub_strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	s = anser_malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

const char *hub_human(uint64_t n, char *buf, size_t size)
{
	if (n < 1000)
		snprintf(buf, size, "%llu B", (unsigned long long)n);
	else if (n < 1000000)
		snprintf(buf, size, "%.1f kB", n / 1e3);
	else if (n < 1000000000)
		snprintf(buf, size, "%.1f MB", n / 1e6);
	else if (n < 1000000000000ULL)
		snprintf(buf, size, "%.2f GB", n / 1e9);
	else
		snprintf(buf, size, "%.2f TB", n / 1e12);
	return buf;
}

int hub_is_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[i] == '\0';
}

int hub_etag_normalize(const char *raw, char *out, size_t size)
{
	size_t n;

	/* huggingface_hub: etag.lstrip("W/").strip('"') */
	while (*raw == 'W' || *raw == '/')
		raw++;
	while (*raw == '"')
		raw++;
	n = strlen(raw);
	while (n && (raw[n - 1] == '"' || raw[n - 1] == ' '))
		n--;
	if (!n || n >= size)
		return 0;
	memcpy(out, raw, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return 1;
}

char *hub_quote(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	struct hub_buf b = { 0 };

	/* Python's urllib.parse.quote: letters, digits and "_.-~" stay. */
	if (!hub_buf_add(&b, "", 0))
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char e[3];
		if (isalnum(*p) || strchr("_.-~", *p) || (keep_slash && *p == '/')) {
			if (!hub_buf_add(&b, p, 1))
				goto oom;
			continue;
		}
		e[0] = '%';
		e[1] = hex[*p >> 4];
		e[2] = hex[*p & 15];
		if (!hub_buf_add(&b, e, 3))
			goto oom;
	}
	return b.p;
oom:
	hub_buf_free(&b);
	return NULL;
}

/* Decodes %XX in place (for revisions and paths taken from URLs). */
static void unquote(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '%' && isxdigit((unsigned char)s[1]) &&
		    isxdigit((unsigned char)s[2])) {
			char h[3] = { s[1], s[2], 0 };
			*w++ = (char)strtol(h, NULL, 16);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

const char *hub_type_plural(enum anser_repo_type t)
{
	return t == ANSER_REPO_DATASET ? "datasets" :
	       t == ANSER_REPO_SPACE ? "spaces" : "models";
}

const char *hub_type_name(enum anser_repo_type t)
{
	return t == ANSER_REPO_DATASET ? "dataset" :
	       t == ANSER_REPO_SPACE ? "space" : "model";
}

int anser_repo_type_parse(const char *name)
{
	if (!strcmp(name, "model"))
		return ANSER_REPO_MODEL;
	if (!strcmp(name, "dataset"))
		return ANSER_REPO_DATASET;
	if (!strcmp(name, "space"))
		return ANSER_REPO_SPACE;
	return -1;
}

char *hub_repo_url(const char *endpoint, enum anser_repo_type t,
                   const char *repo_id)
{
	return hub_strf("%s/%s%s", endpoint,
	                t == ANSER_REPO_MODEL ? "" :
	                t == ANSER_REPO_DATASET ? "datasets/" : "spaces/",
	                repo_id);
}

/* ------------------------------------------------------------------ checks */

static int word_char(int c)
{
	return isalnum(c) || c == '_';
}

/* huggingface_hub's validate_repo_id, ASCII only. */
int hub_repo_id_ok(const char *id, char *why, size_t n)
{
	const char *slash = strchr(id, '/');
	size_t len = strlen(id);

	if (!len || len > 96) {
		snprintf(why, n, "%s", len ? "longer than 96 characters" :
		         "empty");
		return 0;
	}
	if (slash && strchr(slash + 1, '/')) {
		snprintf(why, n, "more than one '/'");
		return 0;
	}
	if (strstr(id, "--") || strstr(id, "..")) {
		snprintf(why, n, "'--' and '..' are not allowed");
		return 0;
	}
	const char *part[2] = { id, slash ? slash + 1 : NULL };
	size_t plen[2] = { slash ? (size_t)(slash - id) : len,
	                   slash ? strlen(slash + 1) : 0 };
	for (int k = 0; k < (slash ? 2 : 1); k++) {
		if (!plen[k]) {
			snprintf(why, n, "an empty name");
			return 0;
		}
		for (size_t i = 0; i < plen[k]; i++) {
			int c = (unsigned char)part[k][i];
			if (!word_char(c) && c != '-' && c != '.') {
				snprintf(why, n, "the character '%c' is not allowed",
				         c);
				return 0;
			}
		}
		if (!word_char((unsigned char)part[k][0]) ||
		    !word_char((unsigned char)part[k][plen[k] - 1])) {
			snprintf(why, n, "names cannot start or end with '-' or '.'");
			return 0;
		}
	}
	return 1;
}

/*
 * A repo path must stay inside the folder it is joined to, on any system:
 * huggingface_hub's _validate_relative_filename, plus no empty or '.'
 * segments (the Hub never sends them) and no control characters.
 */
int hub_path_ok(const char *path)
{
	const char *seg = path;

	if (!*path || *path == '/' || strchr(path, '\\'))
		return 0;
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (n >= 2 && isalpha((unsigned char)seg[0]) && seg[1] == ':')
			return 0; /* a Windows drive */
		if (!end)
			return 1;
		seg = end + 1;
	}
}

int hub_revision_ok(const char *rev)
{
	return strlen(rev) <= 255 && hub_path_ok(rev);
}

/* ----------------------------------------------------------------- fnmatch */

/* Bytes in the UTF-8 character at s (1 for anything malformed). */
static size_t utf8_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

	for (size_t i = 1; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/*
 * The bracket expression at p (just past '['): sets *end past the closing
 * ']' and returns whether c is in it, or returns -1 when there is no
 * closing ']' (then '[' is an ordinary character), as Python's translate().
 */
static int match_class(const char *p, unsigned char c, const char **end)
{
	const char *j = p, *q;
	int neg = 0, in = 0;

	if (*j == '!')
		j++;
	if (*j == ']')
		j++;
	while (*j && *j != ']')
		j++;
	if (!*j)
		return -1;
	*end = j + 1;
	q = p;
	if (*q == '!') {
		neg = 1;
		q++;
	}
	while (q < j) {
		unsigned char lo = (unsigned char)*q, hi = lo;
		if (q + 2 < j && q[1] == '-') {
			hi = (unsigned char)q[2];
			q += 3;
		} else {
			q++;
		}
		if (c >= lo && c <= hi)
			in = 1;
	}
	return in != neg;
}

int anser_hub_match(const char *pat, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;

	while (*s) {
		const char *next = pat + 1;
		size_t slen = utf8_len(s);
		int ok;

		if (*pat == '*') {
			while (*pat == '*')
				pat++;
			star_p = pat;
			star_s = s;
			continue;
		}
		if (*pat == '?') {
			ok = 1;
		} else if (*pat == '[') {
			ok = match_class(pat + 1, (unsigned char)*s, &next);
			if (ok < 0) {
				ok = *s == '[';
				next = pat + 1;
			}
			slen = 1;
		} else {
			ok = *pat && *pat == *s;
			slen = 1;
		}
		if (ok) {
			pat = next;
			s += slen;
			continue;
		}
		if (!star_p)
			return 0;
		star_s += utf8_len(star_s);
		pat = star_p;
		s = star_s;
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

/* -------------------------------------------------------------- references */

static int copy_field(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		return 0;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 1;
}

/* "refs/pr/12" or "refs/convert/parquet" at the start of s: its length. */
static size_t special_ref(const char *s)
{
	size_t n;

	if (!strncmp(s, "refs/pr/", 8)) {
		for (n = 8; isdigit((unsigned char)s[n]); n++)
			;
		return n > 8 ? n : 0;
	}
	if (!strncmp(s, "refs/convert/", 13)) {
		for (n = 13; word_char((unsigned char)s[n]) || s[n] == '.' ||
		     s[n] == '-'; n++)
			;
		return n > 13 ? n : 0;
	}
	return 0;
}

/* "rev/path...": the revision (special refs first), then the path. */
static int split_rev_path(const char *s, struct anser_hub_ref *ref)
{
	size_t n = special_ref(s);

	if (!n) {
		const char *slash = strchr(s, '/');
		n = slash ? (size_t)(slash - s) : strlen(s);
	}
	if (!n || !copy_field(ref->revision, sizeof(ref->revision), s, n))
		return 0;
	unquote(ref->revision);
	ref->has_revision = 1;
	s += n;
	if (*s == '/')
		s++;
	return copy_field(ref->path, sizeof(ref->path), s, strlen(s));
}

static int type_prefix(const char *seg, size_t n, enum anser_repo_type *t)
{
	if (n == 6 && !strncmp(seg, "models", 6))
		*t = ANSER_REPO_MODEL;
	else if (n == 8 && !strncmp(seg, "datasets", 8))
		*t = ANSER_REPO_DATASET;
	else if (n == 6 && !strncmp(seg, "spaces", 6))
		*t = ANSER_REPO_SPACE;
	else
		return 0;
	return 1;
}

/* hf://[type/]org/name[@rev][/path] */
static enum anser_status parse_hf_uri(const char *uri,
                                      struct anser_hub_ref *ref,
                                      struct anser_err *err)
{
	const char *body = uri + 5, *slash = strchr(body, '/'), *at, *p;
	char tmp[2048];
	size_t n;

	if (slash && type_prefix(body, (size_t)(slash - body), &ref->type)) {
		ref->has_type = 1;
		body = slash + 1;
	} else if (slash && ((slash - body == 5 && !strncmp(body, "model", 5)) ||
	                     (slash - body == 7 && !strncmp(body, "dataset", 7)) ||
	                     (slash - body == 5 && !strncmp(body, "space", 5)))) {
		return anser_errf(err, ANSER_E_ARG, "'%s': the type comes plural "
		                  "in hf:// URIs ('%.*ss/')", uri,
		                  (int)(slash - body), body);
	}
	while (*body == '/')
		body++;
	n = strlen(body);
	while (n && body[n - 1] == '/')
		n--;
	if (!copy_field(tmp, sizeof(tmp), body, n) || !n)
		return anser_errf(err, ANSER_E_ARG, "'%s' names no repository: "
		                  "expected hf://org/name[@revision][/path]", uri);
	/* '@' separates the revision only right after org/name. */
	at = strchr(tmp, '@');
	if (at) {
		int slashes = 0;
		for (p = tmp; p < at; p++)
			slashes += *p == '/';
		if (slashes > 1)
			at = NULL;
	}
	if (at) {
		if (!copy_field(ref->repo_id, sizeof(ref->repo_id), tmp,
		                (size_t)(at - tmp)) ||
		    !split_rev_path(at + 1, ref))
			return anser_errf(err, ANSER_E_ARG, "'%s': expected "
			                  "hf://org/name@revision[/path]", uri);
	} else {
		const char *s1 = strchr(tmp, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
		if (!s1)
			return anser_errf(err, ANSER_E_ARG, "'%s': expected "
			                  "hf://org/name[@revision][/path]", uri);
		if (!copy_field(ref->repo_id, sizeof(ref->repo_id), tmp,
		                s2 ? (size_t)(s2 - tmp) : strlen(tmp)) ||
		    !copy_field(ref->path, sizeof(ref->path), s2 ? s2 + 1 : "",
		                s2 ? strlen(s2 + 1) : 0))
			return anser_errf(err, ANSER_E_ARG, "'%s' is too long", uri);
	}
	/* A trailing '/' on the URI asks for a folder. */
	if (ref->path[0] && uri[strlen(uri) - 1] == '/' &&
	    strlen(ref->path) + 1 < sizeof(ref->path))
		memcpy(ref->path + strlen(ref->path), "/", 2);
	if (!strchr(ref->repo_id, '/'))
		return anser_errf(err, ANSER_E_ARG, "'%s': the repository must "
		                  "be org/name", uri);
	return ANSER_OK;
}

static int host_known(const char *host, size_t n, const char *endpoint)
{
	static const char *const hosts[] = {
		"huggingface.co", "hf.co", "hub-ci.huggingface.co",
	};
	char ep[256];

	for (size_t i = 0; i < ARRAY_SIZE(hosts); i++)
		if (strlen(hosts[i]) == n && !strncasecmp(host, hosts[i], n))
			return 1;
	if (endpoint) {
		hub_url_host(endpoint, ep, sizeof(ep));
		/* hub_url_host gives host:port; compare both forms. */
		if (strlen(ep) == n && !strncasecmp(host, ep, n))
			return 1;
		char *colon = strrchr(ep, ':');
		if (colon && (size_t)(colon - ep) == n &&
		    !strncasecmp(host, ep, n))
			return 1;
	}
	return 0;
}

/* A web URL: https://huggingface.co/[datasets/]org/name[/blob/rev/path] */
static enum anser_status parse_web_url(const char *url, const char *endpoint,
                                       struct anser_hub_ref *ref,
                                       struct anser_err *err)
{
	const char *s = strstr(url, "://"), *host, *path, *seg[64];
	size_t seglen[64], nseg = 0, i = 0;
	char ep_path[256] = "", rest[2048];
	size_t off = 0;

	s = s ? s + 3 : url;
	host = s;
	path = s + strcspn(s, "/?#");
	if (!host_known(host, (size_t)(path - host), endpoint)) {
		char h[256];
		snprintf(h, sizeof(h), "%.*s", (int)(path - host), host);
		return anser_errf(err, ANSER_E_ARG, "'%s' is not a Hugging Face "
		                  "URL (unknown host '%s'; set HF_ENDPOINT for a "
		                  "mirror)", url, h);
	}
	/* An endpoint such as http://host/hf serves under a path prefix. */
	if (endpoint) {
		const char *e = strstr(endpoint, "://");
		e = e ? e + 3 : endpoint;
		e += strcspn(e, "/");
		snprintf(ep_path, sizeof(ep_path), "%s", e);
	}
	if (ep_path[0] && ep_path[1] && !strncmp(path, ep_path, strlen(ep_path)))
		path += strlen(ep_path);
	for (const char *p = path; *p && *p != '?' && *p != '#';) {
		size_t n;
		while (*p == '/')
			p++;
		n = strcspn(p, "/?#");
		if (n && nseg < ARRAY_SIZE(seg)) {
			seg[nseg] = p;
			seglen[nseg++] = n;
		}
		p += n;
	}
	if (nseg && type_prefix(seg[0], seglen[0], &ref->type)) {
		ref->has_type = 1;
		i = 1;
	}
	if (nseg - i < 2)
		return anser_errf(err, ANSER_E_ARG, "'%s' names no repository: "
		                  "expected %s/org/name/...", url,
		                  DEFAULT_ENDPOINT);
	if (seglen[i] + seglen[i + 1] + 2 > sizeof(ref->repo_id))
		return anser_errf(err, ANSER_E_ARG, "'%s' is too long", url);
	snprintf(ref->repo_id, sizeof(ref->repo_id), "%.*s/%.*s",
	         (int)seglen[i], seg[i], (int)seglen[i + 1], seg[i + 1]);
	i += 2;
	if (i == nseg)
		return ANSER_OK;
	{
		static const char *const actions[] = {
			"resolve", "blob", "raw", "tree", "blame",
		};
		int known = 0;
		for (size_t a = 0; a < ARRAY_SIZE(actions); a++)
			if (seglen[i] == strlen(actions[a]) &&
			    !strncmp(seg[i], actions[a], seglen[i]))
				known = 1;
		if (!known)
			return anser_errf(err, ANSER_E_ARG, "'%s': cannot download "
			                  "from a '/%.*s/' page (use the file's "
			                  "'/resolve/' or '/blob/' URL)", url,
			                  (int)seglen[i], seg[i]);
	}
	int tree = seglen[i] == 4 && !strncmp(seg[i], "tree", 4);
	for (i++; i < nseg; i++) {
		/* Each segment decoded; a decoded '/' stays encoded so that
		 * "feature%2Fx" remains one revision. */
		char part[1024];
		size_t w = 0;
		if (!copy_field(part, sizeof(part), seg[i], seglen[i]))
			return anser_errf(err, ANSER_E_ARG, "'%s' is too long", url);
		unquote(part);
		for (const char *p = part; *p; p++) {
			const char *add = *p == '/' ? "%2F" : NULL;
			size_t k = add ? 3 : 1;
			if (off + w + k + 2 >= sizeof(rest))
				return anser_errf(err, ANSER_E_ARG, "'%s' is too long",
				                  url);
			memcpy(rest + off + w, add ? add : p, k);
			w += k;
		}
		off += w;
		rest[off++] = '/';
	}
	if (!off)
		return ANSER_OK;
	rest[--off] = '\0';
	if (!split_rev_path(rest, ref))
		return anser_errf(err, ANSER_E_ARG, "'%s': no revision", url);
	unquote(ref->path);
	if (tree && ref->path[0] && strlen(ref->path) + 1 < sizeof(ref->path))
		memcpy(ref->path + strlen(ref->path), "/", 2);
	return ANSER_OK;
}

enum anser_status anser_hub_parse_ref(const char *s, const char *endpoint,
                                      struct anser_hub_ref *ref,
                                      struct anser_err *err)
{
	enum anser_status st;
	char why[128];

	memset(ref, 0, sizeof(*ref));
	if (!strncmp(s, "hf://", 5))
		st = parse_hf_uri(s, ref, err);
	else if (!strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8) ||
	         !strncasecmp(s, "huggingface.co/", 15) ||
	         !strncasecmp(s, "hf.co/", 6))
		st = parse_web_url(s, endpoint, ref, err);
	else if (strlen(s) < sizeof(ref->repo_id)) {
		memcpy(ref->repo_id, s, strlen(s) + 1);
		st = ANSER_OK;
	} else {
		st = anser_errf(err, ANSER_E_ARG, "'%.40s...' is too long", s);
	}
	if (st)
		return st;
	if (!hub_repo_id_ok(ref->repo_id, why, sizeof(why)))
		return anser_errf(err, ANSER_E_ARG, "'%s' is not a repository id "
		                  "(%s): expected org/name", ref->repo_id, why);
	if (ref->has_revision && !hub_revision_ok(ref->revision))
		return anser_errf(err, ANSER_E_ARG, "'%s' is not a valid revision",
		                  ref->revision);
	return ANSER_OK;
}

/* ---------------------------------------------------------------- settings */

int hub_env_true(const char *name)
{
	static const char *const yes[] = { "1", "ON", "YES", "TRUE" };
	const char *v = getenv(name);

	if (!v)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		if (!strcasecmp(v, yes[i]))
			return 1;
	return 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* "~/x" -> "$HOME/x" (as os.path.expanduser). */
static char *expand_home(const char *path)
{
	const char *home;

	if (path[0] != '~' || (path[1] && path[1] != '/'))
		return anser_strdup(path);
	home = env("HOME");
	if (!home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/";
	}
	return hub_strf("%s%s", home, path + 1);
}

static char *hf_home(void)
{
	const char *v = env("HF_HOME"), *xdg;
	char *base, *s;

	if (v)
		return expand_home(v);
	xdg = env("XDG_CACHE_HOME");
	base = xdg ? anser_strdup(xdg) : expand_home("~/.cache");
	if (!base)
		return NULL;
	s = hub_strf("%s/huggingface", base);
	anser_free(base);
	return s;
}

/* A token without CR, LF and surrounding blanks; NULL if that is empty. */
static char *clean_token(const char *t, size_t n)
{
	char *s = anser_malloc(n + 1), *w = s;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (t[i] != '\r' && t[i] != '\n')
			*w++ = t[i];
	*w = '\0';
	while (w > s && isspace((unsigned char)w[-1]))
		*--w = '\0';
	w = s;
	while (isspace((unsigned char)*w))
		w++;
	memmove(s, w, strlen(w) + 1);
	if (!*s) {
		anser_free(s);
		return NULL;
	}
	return s;
}

static char *token_from_file(const char *home)
{
	const char *p = env("HF_TOKEN_PATH");
	char *path = p ? expand_home(p) : hub_strf("%s/token", home);
	char buf[4096];
	ssize_t n = -1;
	int fd;

	if (!path)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	anser_free(path);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 ? clean_token(buf, (size_t)n) : NULL;
}

static long env_seconds(const char *name, long def)
{
	const char *v = env(name);
	char *end;
	long n;

	if (!v)
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno || *end || n <= 0 || n > 86400 ? def : n;
}

enum anser_status hub_config_init(struct hub_config *c,
                                  const struct anser_hub_opts *o,
                                  struct anser_err *err)
{
	const char *ep = o->endpoint && *o->endpoint ? o->endpoint :
	                 env("HF_ENDPOINT");
	const char *cache = o->cache_dir && *o->cache_dir ? o->cache_dir :
	                    env("HF_HUB_CACHE") ? env("HF_HUB_CACHE") :
	                    env("HUGGINGFACE_HUB_CACHE");
	const char *origin = env("HF_HUB_USER_AGENT_ORIGIN");
	char *home = hf_home();
	size_t n;

	memset(c, 0, sizeof(*c));
	if (!home)
		goto oom;
	c->endpoint = anser_strdup(ep ? ep : DEFAULT_ENDPOINT);
	if (!c->endpoint)
		goto oom;
	n = strlen(c->endpoint);
	while (n && c->endpoint[n - 1] == '/')
		c->endpoint[--n] = '\0';
	if (strncasecmp(c->endpoint, "http://", 7) &&
	    strncasecmp(c->endpoint, "https://", 8)) {
		anser_free(home);
		hub_config_free(c);
		return anser_errf(err, ANSER_E_ARG, "HF_ENDPOINT '%s' is not an "
		                  "http:// or https:// URL", ep);
	}
	if (o->token && *o->token) {
		c->token = clean_token(o->token, strlen(o->token));
	} else if (!hub_env_true("HF_HUB_DISABLE_IMPLICIT_TOKEN")) {
		const char *t = env("HF_TOKEN") ? env("HF_TOKEN") :
		                env("HUGGING_FACE_HUB_TOKEN");
		c->token = t ? clean_token(t, strlen(t)) : token_from_file(home);
	}
	c->cache_dir = cache ? expand_home(cache) : hub_strf("%s/hub", home);
	if (!c->cache_dir)
		goto oom;
	c->user_agent = hub_strf("anser/%s; libcurl/%s%s%s", ANSER_VERSION,
	                         curl_version_info(CURLVERSION_NOW)->version,
	                         origin ? "; origin/" : "",
	                         origin ? origin : "");
	if (!c->user_agent)
		goto oom;
	c->offline = o->offline || hub_env_true("HF_HUB_OFFLINE") ||
	             hub_env_true("TRANSFORMERS_OFFLINE");
	c->symlinks = !hub_env_true("HF_HUB_DISABLE_SYMLINKS");
	c->etag_timeout = env_seconds("HF_HUB_ETAG_TIMEOUT", 10);
	c->dl_timeout = env_seconds("HF_HUB_DOWNLOAD_TIMEOUT", 10);
	/* Tests shorten the backoff; nobody else needs to. */
	c->wait_scale = 1;
	if (env("ANSER_HUB_WAIT_SCALE")) {
		char *end;
		double f = strtod(env("ANSER_HUB_WAIT_SCALE"), &end);
		if (!*end && f >= 0 && f <= 1)
			c->wait_scale = f;
	}
	anser_free(home);
	return ANSER_OK;
oom:
	anser_free(home);
	hub_config_free(c);
	return anser_errf(err, ANSER_E_NOMEM, "out of memory");
}

void hub_config_free(struct hub_config *c)
{
	anser_free(c->endpoint);
	anser_free(c->token);
	anser_free(c->cache_dir);
	anser_free(c->user_agent);
	memset(c, 0, sizeof(*c));
}

/* ---------------------------------------------------------------- progress */

static void fmt_time(double s, char *buf, size_t size)
{
	unsigned long t = s > 359999 ? 359999 : (unsigned long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60,
		         t % 60);
	else
		snprintf(buf, size, "%lu:%02lu", t / 60, t % 60);
}

void anser_hub_progress_line(const struct anser_hub_progress *p, int width,
                             char *buf, size_t size)
{
	char done[32], total[32], rate[32] = "", eta[32] = "--:--", head[160],
	     tail[96];
	double frac = p->bytes_total ? (double)p->bytes_done / p->bytes_total : 1;
	double bps = p->seconds > 0.2 ? p->bytes_received / p->seconds : 0;
	int bar, fill, n;

	if (frac > 1)
		frac = 1;
	hub_human(p->bytes_done, done, sizeof(done));
	hub_human(p->bytes_total, total, sizeof(total));
	if (bps > 0) {
		hub_human((uint64_t)bps, rate, sizeof(rate));
		memcpy(rate + strlen(rate), "/s", 3);
		fmt_time((p->bytes_total - p->bytes_done) / bps, eta, sizeof(eta));
	}
	snprintf(head, sizeof(head), "%zu/%zu file%s  %s / %s  %3d%% ",
	         p->files_done, p->files_total, p->files_total == 1 ? "" : "s",
	         done, total, (int)(frac * 100));
	snprintf(tail, sizeof(tail), "  %s  %s left", rate[0] ? rate : "-",
	         eta);
	bar = width - (int)strlen(head) - (int)strlen(tail) - 2;
	if (bar > 40)
		bar = 40;
	if (bar < 5) {
		snprintf(buf, size, "%s%s", head, tail);
		return;
	}
	fill = (int)(frac * bar);
	n = snprintf(buf, size, "%s[", head);
	for (int i = 0; i < bar && n >= 0 && (size_t)n + 1 < size; i++)
		buf[n++] = i < fill ? '#' : ' ';
	if (n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, "]%s", tail);
}
