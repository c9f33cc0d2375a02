/*
 * textout.c - stop strings and UTF-8 for streamed output (textout.h).
 */
#include <stdlib.h>
#include <string.h>

#include "textout.h"

void textout_init(struct textout *o, FILE *f, const char *const *stops)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->stops = stops;
}

static void emit(struct textout *o, const uint8_t *b, size_t n)
{
	uint8_t buf[4096 + 8];

	while (n) {
		size_t k = n > 4096 ? 4096 : n;
		size_t w = anser_utf8_stream_push(&o->utf8, b, k, buf);
		fwrite(buf, 1, w, o->f);
		b += k;
		n -= k;
	}
	fflush(o->f);
}

/* Could pending[at..] still grow into a stop string? */
static int may_stop(const struct textout *o, size_t at)
{
	size_t left = o->n - at;

	for (const char *const *s = o->stops; s && *s; s++)
		if (strlen(*s) > left && !memcmp(*s, o->pending + at, left))
			return 1;
	return 0;
}

int textout_push(struct textout *o, const uint8_t *b, size_t n)
{
	size_t keep;

	if (o->stopped)
		return 1;
	/* A token outside the vocab has no bytes (and b is NULL then). */
	if (n == 0)
		return 0;
	if (o->n + n > o->cap) {
		size_t cap = (o->n + n) * 2 + 64;
		uint8_t *p = realloc(o->pending, cap);
		if (!p)
			return 1;
		o->pending = p;
		o->cap = cap;
	}
	memcpy(o->pending + o->n, b, n);
	o->n += n;
	/* A complete stop string: print what precedes it and end. */
	for (const char *const *s = o->stops; s && *s; s++) {
		const uint8_t *hit = memmem(o->pending, o->n, *s, strlen(*s));
		if (hit) {
			emit(o, o->pending, (size_t)(hit - o->pending));
			o->n = 0;
			o->stopped = 1;
			return 1;
		}
	}
	/* Print all but the shortest tail that could still start a stop. */
	for (keep = 0; keep < o->n && !may_stop(o, keep); keep++)
		;
	emit(o, o->pending, keep);
	memmove(o->pending, o->pending + keep, o->n - keep);
	o->n -= keep;
	return 0;
}

void textout_finish(struct textout *o)
{
	uint8_t buf[8];
	size_t w;

	if (!o->stopped)
		emit(o, o->pending, o->n);
	o->n = 0;
	w = anser_utf8_stream_flush(&o->utf8, buf);
	fwrite(buf, 1, w, o->f);
	fflush(o->f);
	o->stopped = 0;
}

void textout_free(struct textout *o)
{
	free(o->pending);
	o->pending = NULL;
}

/* Length of the valid UTF-8 sequence at b, or 0. */
static size_t utf8_len(const uint8_t *b, size_t n)
{
	size_t len;
	uint32_t cp;

	if (b[0] < 0x80)
		return 1;
	len = b[0] >= 0xf0 && b[0] <= 0xf4 ? 4 : b[0] >= 0xe0 ? 3 :
	      b[0] >= 0xc2 && b[0] < 0xe0 ? 2 : 0;
	if (!len || len > n || (b[0] >= 0xf0 && len != 4) || b[0] > 0xf4)
		return 0;
	cp = b[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((b[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (b[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void print_escaped(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(b + i, n - i);
		switch (len == 1 ? b[i] : 0x100) {
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		case '\\': fputs("\\\\", f); break;
		case '"':  fputs("\\\"", f); break;
		default:
			if (len == 0 || (len == 1 && (b[i] < 0x20 || b[i] == 0x7f)))
				fprintf(f, "\\x%02x", b[i]);
			else
				fwrite(b + i, 1, len, f);
		}
		i += len ? len : 1;
	}
}
