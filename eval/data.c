/*
 * data.c - reading benchmark files into documents the way the harness's
 * loaders do (eval.h; eval-harness.md sections 2.1, 2.2 and 4.3).
 *
 * Both readers load the whole file, check it is UTF-8 without NUL bytes
 * (Python would fail to decode it; C strings cannot hold a NUL), and build
 * the documents from it.  Every allocation is bounded by the file's size:
 * documents are copies of pieces of the file, plus a few bytes each.
 */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval.h"
#include "../lib/internal.h"

/* Larger files are refused: the real ones are 2 MB at most. */
#define EVAL_MAX_FILE ((size_t)1 << 30)

/* Python's csv.field_size_limit() default, in code points. */
#define CSV_FIELD_LIMIT 131072

#define TSV_FIELDS 8

/* ---------------------------------------------------------------- files */

/* The whole of `path` into a NUL-terminated buffer the caller frees. */
static enum anser_status slurp(const char *path, char **out, size_t *len,
                               struct anser_err *err)
{
	struct stat sb;
	size_t cap, n = 0;
	char *buf, *nb;
	int fd;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return anser_errno(err, "cannot open '%s'", path);
	if (fstat(fd, &sb)) {
		enum anser_status st = anser_errno(err, "cannot stat '%s'", path);
		close(fd);
		return st;
	}
	if (S_ISDIR(sb.st_mode)) {
		close(fd);
		return anser_errf(err, ANSER_E_ARG, "'%s' is a directory", path);
	}
	if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > EVAL_MAX_FILE) {
		close(fd);
		return anser_errf(err, ANSER_E_RANGE, "'%s' is larger than %zu MiB",
		                  path, EVAL_MAX_FILE >> 20);
	}
	/* The size is a hint (pipes have none; files may grow); the loop below
	 * decides.  Two spare bytes: the NUL, and room to see the end. */
	cap = S_ISREG(sb.st_mode) && sb.st_size > 0 ? (size_t)sb.st_size + 2 : 65536;
	buf = anser_malloc(cap);
	if (!buf) {
		close(fd);
		return anser_errf(err, ANSER_E_NOMEM, "out of memory reading '%s'",
		                  path);
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			/* Past EVAL_MAX_FILE + 1 bytes read is known to be too many. */
			size_t nc = cap > EVAL_MAX_FILE / 2 ? EVAL_MAX_FILE + 2 : cap * 2;

			nb = nc > cap ? anser_realloc(buf, nc) : NULL;
			if (!nb) {
				anser_free(buf);
				close(fd);
				return anser_errf(err, ANSER_E_NOMEM,
				                  "out of memory reading '%s'", path);
			}
			buf = nb;
			cap = nc;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			enum anser_status st = anser_errno(err, "cannot read '%s'",
			                                   path);
			anser_free(buf);
			close(fd);
			return st;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > EVAL_MAX_FILE) {
			anser_free(buf);
			close(fd);
			return anser_errf(err, ANSER_E_RANGE,
			                  "'%s' is larger than %zu MiB", path,
			                  EVAL_MAX_FILE >> 20);
		}
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return ANSER_OK;
}

/*
 * The offset of the first byte that is not part of valid UTF-8 as Python's
 * strict decoder sees it (no overlong forms, no surrogates, nothing past
 * U+10FFFF), or of the first NUL; `len` when there is none.
 */
static size_t utf8_bad(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t need;
		unsigned lo = 0x80, hi = 0xbf;

		if (c == 0)
			return i;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;      /* overlong */
			else if (c == 0xed)
				hi = 0x9f;      /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;      /* overlong */
			else if (c == 0xf4)
				hi = 0x8f;      /* past U+10FFFF */
		} else {
			return i;
		}
		if (len - i <= need)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= need; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
		i += need + 1;
	}
	return len;
}

/* 1-based line of byte `off` (lines end at '\n'). */
static size_t line_of(const char *buf, size_t off)
{
	size_t line = 1;

	for (size_t i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

static enum anser_status check_text(const char *path, const char *buf,
                                    size_t len, struct anser_err *err)
{
	size_t bad = utf8_bad((const unsigned char *)buf, len);

	if (bad == len)
		return ANSER_OK;
	return anser_errf(err, ANSER_E_FORMAT, "'%s' line %zu: %s", path,
	                  line_of(buf, bad),
	                  buf[bad] ? "invalid UTF-8" : "NUL byte");
}

/* ---------------------------------------------------------------- documents */

struct docvec {
	struct eval_doc *d;
	size_t n, cap;
};

/* A new zeroed document at the end of v, or NULL when out of memory. */
static struct eval_doc *docvec_push(struct docvec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		struct eval_doc *d;

		if (cap > SIZE_MAX / sizeof(*d))
			return NULL;
		d = anser_realloc(v->d, cap * sizeof(*d));
		if (!d)
			return NULL;
		v->d = d;
		v->cap = cap;
	}
	memset(&v->d[v->n], 0, sizeof(v->d[0]));
	return &v->d[v->n++];
}

void eval_free_docs(struct eval_doc *docs, size_t n)
{
	if (!docs)
		return;
	for (size_t i = 0; i < n; i++) {
		anser_free(docs[i].context);
		for (int c = 0; c < EVAL_MAX_CHOICES; c++)
			anser_free(docs[i].choices[c]);
	}
	anser_free(docs);
}

/* a + b as a new string (either part may be empty). */
static char *concat2(const char *a, size_t na, const char *b, size_t nb)
{
	char *s = anser_malloc(na + nb + 1);

	if (!s)
		return NULL;
	memcpy(s, a, na);
	memcpy(s + na, b, nb);
	s[na + nb] = '\0';
	return s;
}

/* ---------------------------------------------------------------- LAMBADA */

/*
 * A "\u0000" escape in a JSON line: cJSON would cut the string there.  Only
 * strings hold backslashes in JSON, so a lexical scan is exact; the line is
 * refused even when the escape is in another field.
 */
static int has_nul_escape(const char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && n - i >= 6 && !memcmp(s + i + 2, "0000", 4))
			return 1;
		i++; /* the escaped character */
	}
	return 0;
}

/* The single string member "text" of a JSON object, or NULL. */
static const char *json_text(const cJSON *obj, int *count)
{
	const cJSON *it, *found = NULL;

	*count = 0;
	cJSON_ArrayForEach(it, obj) {
		if (it->string && !strcmp(it->string, "text")) {
			found = it;
			++*count;
		}
	}
	return found && cJSON_IsString(found) ? found->valuestring : NULL;
}

/*
 * The harness's doc_to_text / doc_to_target for lambada_openai:
 * context = ' '.join(text.split(' ')[:-1]), continuation = ' ' +
 * text.split(' ')[-1].  That is: everything before the last space, and the
 * last space with what follows it.  A text ending in a space therefore has
 * the continuation " " (an empty last word), as in Python.
 */
static enum anser_status lambada_doc(struct docvec *v, const char *text,
                                     size_t line)
{
	const char *sp = strrchr(text, ' ');
	struct eval_doc *d;

	if (!sp)
		return ANSER_E_FORMAT;
	d = docvec_push(v);
	if (!d)
		return ANSER_E_NOMEM;
	d->line = line;
	d->gold = -1;
	d->n_choices = 1;
	d->context = concat2(text, (size_t)(sp - text), "", 0);
	d->choices[0] = concat2(sp, strlen(sp), "", 0);
	if (!d->context || !d->choices[0])
		return ANSER_E_NOMEM;
	return ANSER_OK;
}

enum anser_status eval_read_lambada(const char *path, struct eval_doc **docs,
                                    size_t *n, struct anser_err *err)
{
	struct docvec v = { 0 };
	enum anser_status st;
	char *buf;
	size_t len, pos = 0, line = 0;

	*docs = NULL;
	*n = 0;
	st = slurp(path, &buf, &len, err);
	if (st)
		return st;
	st = check_text(path, buf, len, err);
	while (!st && pos < len) {
		char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - s) : len - pos;
		const char *end = NULL, *text;
		cJSON *j;
		int count;

		line++;
		pos += ll + (nl != NULL);
		s[ll] = '\0'; /* the '\n', or the buffer's own NUL */
		if (strspn(s, " \t\r") == ll) {
			st = anser_errf(err, ANSER_E_FORMAT, "'%s' line %zu: empty line",
			                path, line);
			break;
		}
		if (has_nul_escape(s, ll)) {
			st = anser_errf(err, ANSER_E_FORMAT,
			                "'%s' line %zu: \\u0000 in a string", path, line);
			break;
		}
		j = cJSON_ParseWithLengthOpts(s, ll + 1, &end, 1);
		if (!j) {
			size_t col = end && end >= s && end <= s + ll ?
			             (size_t)(end - s) + 1 : 1;
			st = anser_errf(err, ANSER_E_FORMAT,
			                "'%s' line %zu: malformed JSON at column %zu",
			                path, line, col);
			break;
		}
		if (!cJSON_IsObject(j)) {
			cJSON_Delete(j);
			st = anser_errf(err, ANSER_E_FORMAT,
			                "'%s' line %zu: not a JSON object", path, line);
			break;
		}
		text = json_text(j, &count);
		if (count > 1)
			st = anser_errf(err, ANSER_E_FORMAT,
			                "'%s' line %zu: more than one \"text\"", path,
			                line);
		else if (!text)
			st = anser_errf(err, ANSER_E_FORMAT,
			                "'%s' line %zu: no string \"text\"", path, line);
		else if ((st = lambada_doc(&v, text, line)) == ANSER_E_FORMAT)
			anser_errf(err, st, "'%s' line %zu: \"text\" has no space",
			           path, line);
		else if (st)
			anser_errf(err, st, "out of memory reading '%s'", path);
		cJSON_Delete(j);
	}
	if (!st && v.n == 0)
		st = anser_errf(err, ANSER_E_FORMAT, "'%s' has no documents", path);
	anser_free(buf);
	if (st) {
		eval_free_docs(v.d, v.n);
		return st;
	}
	*docs = v.d;
	*n = v.n;
	return ANSER_OK;
}

/* ---------------------------------------------------------------- XStoryCloze */

/*
 * Python's csv reader (Modules/_csv.c, 3.11) with the Hub loader's dialect:
 * delimiter '\t', quotechar '"', doublequote, no escapechar, strict off,
 * skipinitialspace on.  QUOTE_ALL changes nothing when reading.  The text
 * has been through universal newlines already, so '\r' never appears and a
 * line ends at each '\n'.  The state names are _csv.c's.
 */
enum csv_state {
	START_RECORD,
	START_FIELD,
	IN_FIELD,
	IN_QUOTED_FIELD,
	QUOTE_IN_QUOTED_FIELD,
};

struct csv {
	const char *p;      /* the text */
	size_t len, pos;
	size_t line;        /* 1-based line of pos */
	char *scratch;      /* field bytes of the current record, len + 1 */
	size_t used;        /* bytes of scratch in use */
	size_t field_start, field_cps;
	size_t nfields;
	size_t start[TSV_FIELDS], flen[TSV_FIELDS];
	size_t rec_line;    /* line where the record starts */
};

static void csv_save_field(struct csv *c)
{
	if (c->nfields < TSV_FIELDS) {
		c->start[c->nfields] = c->field_start;
		c->flen[c->nfields] = c->used - c->field_start;
	}
	c->nfields++;
	c->field_start = c->used;
	c->field_cps = 0;
}

/* Returns 0, or -1 past the field size limit. */
static int csv_add(struct csv *c, char ch)
{
	if (((unsigned char)ch & 0xc0) != 0x80) {
		if (c->field_cps >= CSV_FIELD_LIMIT)
			return -1;
		c->field_cps++;
	}
	c->scratch[c->used++] = ch;
	return 0;
}

/*
 * The next record: 1 with c->nfields fields (0 for a blank line, which
 * Python's reader returns as []), 0 at the end, -1 for a field past the
 * limit.  Like _csv.c, a line ending inside quotes continues the field on
 * the next line, and the end of the text inside quotes ends the field.
 */
static int csv_next(struct csv *c)
{
	enum csv_state s = START_RECORD;

	c->used = c->field_start = c->field_cps = c->nfields = 0;
	if (c->pos >= c->len)
		return 0;
	c->rec_line = c->line;
	while (c->pos < c->len) {
		char ch = c->p[c->pos++];
		int eol = ch == '\n';

		if (eol)
			c->line++;
		switch (s) {
		case START_RECORD:
			if (eol)
				return 1; /* a blank line: [] */
			s = START_FIELD;
			/* fall through */
		case START_FIELD:
			if (eol) {
				csv_save_field(c);
				return 1;
			} else if (ch == '"') {
				s = IN_QUOTED_FIELD;
			} else if (ch == ' ') {
				; /* skipinitialspace */
			} else if (ch == '\t') {
				csv_save_field(c);
			} else {
				if (csv_add(c, ch))
					return -1;
				s = IN_FIELD;
			}
			break;
		case IN_FIELD:
			if (eol) {
				csv_save_field(c);
				return 1;
			} else if (ch == '\t') {
				csv_save_field(c);
				s = START_FIELD;
			} else if (csv_add(c, ch)) {
				return -1;
			}
			break;
		case IN_QUOTED_FIELD:
			if (ch == '"')
				s = QUOTE_IN_QUOTED_FIELD;
			else if (csv_add(c, ch))
				return -1;
			break;
		case QUOTE_IN_QUOTED_FIELD:
			if (ch == '"') {
				/* "" inside quotes is one " */
				if (csv_add(c, ch))
					return -1;
				s = IN_QUOTED_FIELD;
			} else if (ch == '\t') {
				csv_save_field(c);
				s = START_FIELD;
			} else if (eol) {
				csv_save_field(c);
				return 1;
			} else {
				/* strict=False: text after the closing quote is kept */
				if (csv_add(c, ch))
					return -1;
				s = IN_FIELD;
			}
			break;
		}
	}
	/*
	 * The text ended without a '\n'.  _csv.c then sees its end-of-line
	 * marker, which ends the field in every state but IN_QUOTED_FIELD; at
	 * the end of input an open quoted field is saved as it is.  A record
	 * with nothing on its last line (START_RECORD) cannot happen here: a
	 * record starts only at a byte.
	 */
	csv_save_field(c);
	return 1;
}

/*
 * Python's int() on the answer field, for the values that matter: optional
 * whitespace around, an optional sign, digits with single underscores
 * between them.  Returns the value when it is 1 or 2, else 0.  (Python
 * also takes non-ASCII digits and whitespace; those are refused here.)
 */
static int ascii_space(char c)
{
	return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20);
}

static int parse_answer(const char *s, size_t n)
{
	size_t i = 0;
	long v = 0;
	int neg = 0, digits = 0;

	while (n && ascii_space(s[n - 1]))
		n--;
	while (i < n && ascii_space(s[i]))
		i++;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (v < 10)
				v = v * 10 + (s[i] - '0');
			digits++;
		} else if (s[i] == '_' && digits && i + 1 < n && s[i + 1] >= '0' &&
		           s[i + 1] <= '9') {
			;
		} else {
			return 0;
		}
	}
	if (!digits || neg)
		return 0;
	return v == 1 || v == 2 ? (int)v : 0;
}

/* Python's universal newlines, in place: "\r\n" and a lone '\r' become '\n'. */
static size_t universal_newlines(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r') {
			s[o++] = '\n';
			if (i + 1 < n && s[i + 1] == '\n')
				i++;
		} else {
			s[o++] = s[i];
		}
	}
	s[o] = '\0';
	return o;
}

static enum anser_status story_doc(struct docvec *v, const struct csv *c,
                                   int answer, size_t row)
{
	const char *f[TSV_FIELDS];
	struct eval_doc *d;
	size_t clen = 3, off = 0;

	for (int i = 0; i < TSV_FIELDS; i++)
		f[i] = c->scratch + c->start[i];
	for (int i = 1; i <= 4; i++)
		clen += c->flen[i];
	d = docvec_push(v);
	if (!d)
		return ANSER_E_NOMEM;
	d->line = row;
	d->gold = answer - 1;
	d->n_choices = 2;
	d->context = anser_malloc(clen + 1);
	d->choices[0] = concat2(" ", 1, f[5], c->flen[5]);
	d->choices[1] = concat2(" ", 1, f[6], c->flen[6]);
	if (!d->context || !d->choices[0] || !d->choices[1])
		return ANSER_E_NOMEM;
	for (int i = 1; i <= 4; i++) {
		if (i > 1)
			d->context[off++] = ' ';
		memcpy(d->context + off, f[i], c->flen[i]);
		off += c->flen[i];
	}
	d->context[off] = '\0';
	return ANSER_OK;
}

enum anser_status eval_read_xstorycloze(const char *path, struct eval_doc **docs,
                                        size_t *n, struct anser_err *err)
{
	struct docvec v = { 0 };
	struct csv c = { 0 };
	enum anser_status st;
	char *buf;
	size_t len, row = 0;
	int r;

	*docs = NULL;
	*n = 0;
	st = slurp(path, &buf, &len, err);
	if (st)
		return st;
	st = check_text(path, buf, len, err);
	if (st)
		goto out;
	len = universal_newlines(buf, len);
	c.p = buf;
	c.len = len;
	c.line = 1;
	c.scratch = anser_malloc(len + 1);
	if (!c.scratch) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory reading '%s'", path);
		goto out;
	}
	/* The loader's `_ = next(csv_reader)`: the first record is the header. */
	r = csv_next(&c);
	if (r <= 0) {
		st = anser_errf(err, ANSER_E_FORMAT, r ? "'%s' header: field "
		                "larger than field limit" : "'%s' is empty", path);
		goto out;
	}
	while ((r = csv_next(&c)) > 0) {
		int answer;

		row++;
		if (c.nfields == 0)
			continue; /* the loader skips blank lines (`if row`) */
		if (c.nfields != TSV_FIELDS) {
			st = anser_errf(err, ANSER_E_FORMAT,
			                "'%s' row %zu (line %zu): %zu fields, expected %d",
			                path, row, c.rec_line, c.nfields, TSV_FIELDS);
			goto out;
		}
		answer = parse_answer(c.scratch + c.start[7], c.flen[7]);
		if (!answer) {
			st = anser_errf(err, ANSER_E_FORMAT,
			                "'%s' row %zu (line %zu): answer '%.*s' is not 1 or 2",
			                path, row, c.rec_line,
			                (int)(c.flen[7] > 16 ? 16 : c.flen[7]),
			                c.scratch + c.start[7]);
			goto out;
		}
		st = story_doc(&v, &c, answer, row);
		if (st) {
			anser_errf(err, st, "out of memory reading '%s'", path);
			goto out;
		}
	}
	if (r < 0) {
		st = anser_errf(err, ANSER_E_FORMAT,
		                "'%s' row %zu (line %zu): field larger than field limit (%d)",
		                path, row + 1, c.rec_line, CSV_FIELD_LIMIT);
		goto out;
	}
	if (v.n == 0)
		st = anser_errf(err, ANSER_E_FORMAT, "'%s' has no stories", path);
out:
	anser_free(c.scratch);
	anser_free(buf);
	if (st) {
		eval_free_docs(v.d, v.n);
		return st;
	}
	*docs = v.d;
	*n = v.n;
	return ANSER_OK;
}

/* ---------------------------------------------------------------- text */

/*
 * Bytes of the UTF-8 white-space character that ends s[0, len), or 0.  The
 * set is Python's str.isspace(), which str.rstrip() strips: \t \n \v \f \r,
 * \x1c-\x1f, space, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
 * U+202F, U+205F and U+3000 (checked against Python 3.11 over all code
 * points).  Lead bytes (C2, E1-E3) cannot be continuation bytes, so looking
 * back from the end is unambiguous in valid UTF-8.
 */
static size_t trailing_space(const unsigned char *s, size_t len)
{
	unsigned c;

	if (!len)
		return 0;
	c = s[len - 1];
	if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20))
		return 1;
	if (len >= 2 && s[len - 2] == 0xc2 && (c == 0x85 || c == 0xa0))
		return 2;
	if (len >= 3) {
		unsigned a = s[len - 3], b = s[len - 2];

		if (a == 0xe1 && b == 0x9a && c == 0x80)
			return 3;                               /* U+1680 */
		if (a == 0xe2 && b == 0x80 && ((c >= 0x80 && c <= 0x8a) ||
		                               c == 0xa8 || c == 0xa9 || c == 0xaf))
			return 3;              /* U+2000-200A, 2028, 2029, 202F */
		if (a == 0xe2 && b == 0x81 && c == 0x9f)
			return 3;                               /* U+205F */
		if (a == 0xe3 && b == 0x80 && c == 0x80)
			return 3;                               /* U+3000 */
	}
	return 0;
}

size_t eval_split_context(const char *context, size_t len, size_t *moved)
{
	size_t keep = len, w;

	while ((w = trailing_space((const unsigned char *)context, keep)) != 0)
		keep -= w;
	if (moved)
		*moved = len - keep;
	return keep;
}

size_t eval_codepoints(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}
