/*
 * vocab.c - parsing the World vocab.  The literal is decoded the way Python
 * evaluates it: in a str literal '\x80' is the code point U+0080 (UTF-8 bytes
 * C2 80); in a bytes literal b'\x80' is the byte 0x80.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vocab.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int put_utf8(uint8_t *out, size_t *n, uint32_t cp)
{
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0; /* a lone surrogate cannot be UTF-8 encoded */
	if (*n + 4 > VOCAB_MAX_TOKEN)
		return 0;
	if (cp < 0x80) {
		out[(*n)++] = (uint8_t)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (uint8_t)(0xc0 | cp >> 6);
		out[(*n)++] = (uint8_t)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (uint8_t)(0xe0 | cp >> 12);
		out[(*n)++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[(*n)++] = (uint8_t)(0x80 | (cp & 0x3f));
	} else if (cp < 0x110000) {
		out[(*n)++] = (uint8_t)(0xf0 | cp >> 18);
		out[(*n)++] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
		out[(*n)++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[(*n)++] = (uint8_t)(0x80 | (cp & 0x3f));
	} else {
		return 0;
	}
	return 1;
}

/* Decodes the literal s[0..len) into out; returns 0 if it is malformed. */
static int decode_literal(const char *s, size_t len, uint8_t *out, size_t *n)
{
	int bytes = 0;
	char q;
	size_t i;

	*n = 0;
	if (len && s[0] == 'b') {
		bytes = 1;
		s++;
		len--;
	}
	if (len < 2 || (s[0] != '\'' && s[0] != '"') || s[len - 1] != s[0])
		return 0;
	q = s[0];
	for (i = 1; i < len - 1; i++) {
		uint32_t cp;
		int digits = 0;
		char c = s[i];

		if (c == q)
			return 0; /* an unescaped quote ends the literal early */
		if (c != '\\') {
			if (*n >= VOCAB_MAX_TOKEN)
				return 0;
			out[(*n)++] = (uint8_t)c;
			continue;
		}
		if (++i >= len - 1)
			return 0;
		switch (s[i]) {
		case '\\': cp = '\\'; break;
		case '\'': cp = '\''; break;
		case '"':  cp = '"'; break;
		case 'n':  cp = '\n'; break;
		case 't':  cp = '\t'; break;
		case 'r':  cp = '\r'; break;
		case 'a':  cp = 7; break;
		case 'b':  cp = 8; break;
		case 'f':  cp = 12; break;
		case 'v':  cp = 11; break;
		case 'x':  digits = 2; break;
		case 'u':  digits = bytes ? -1 : 4; break;
		case 'U':  digits = bytes ? -1 : 8; break;
		default:
			if (s[i] >= '0' && s[i] <= '7') { /* octal, up to 3 digits */
				cp = 0;
				for (int k = 0; k < 3 && i < len - 1 &&
				     s[i] >= '0' && s[i] <= '7'; k++, i++)
					cp = cp * 8 + (uint32_t)(s[i] - '0');
				i--;
				break;
			}
			return 0;
		}
		if (digits < 0)
			return 0;
		if (digits) {
			cp = 0;
			for (int k = 0; k < digits; k++) {
				int h = ++i < len - 1 ? hexval(s[i]) : -1;
				if (h < 0)
					return 0;
				cp = cp * 16 + (uint32_t)h;
			}
		}
		if (bytes) {
			if (cp > 0xff || *n >= VOCAB_MAX_TOKEN)
				return 0;
			out[(*n)++] = (uint8_t)cp;
		} else if (!put_utf8(out, n, cp)) {
			return 0;
		}
	}
	return 1;
}

/* A decimal number filling exactly [s, end), at most 9 digits; else -1.
 * (strtol would read past `end`: the text need not be NUL-terminated.) */
static long parse_count(const char *s, const char *end)
{
	long v = 0;

	if (s >= end || end - s > 9)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

enum anser_status vocab_parse(const char *text, size_t len, vocab_fn fn,
                              void *ctx, int *n_tokens,
                              struct anser_err *err)
{
	uint8_t tok[VOCAB_MAX_TOKEN];
	size_t pos = 0, lineno = 0;
	int last_id = 0;

	while (pos < len) {
		const char *line = text + pos, *nl, *sp1, *sp2, *end;
		long id, blen;
		size_t n, llen;

		lineno++;
		nl = memchr(line, '\n', len - pos);
		llen = nl ? (size_t)(nl - line) : len - pos;
		pos += llen + (nl ? 1 : 0);
		if (llen && line[llen - 1] == '\r')
			llen--; /* one published copy has CRLF line ends */
		if (llen == 0)
			continue;
		end = line + llen;
		sp1 = memchr(line, ' ', llen);
		sp2 = sp1;
		for (const char *p = sp1 ? sp1 + 1 : NULL; p && p < end; p++)
			if (*p == ' ')
				sp2 = p;
		if (!sp1 || sp2 == sp1 || sp1 == line || sp2 + 1 == end)
			goto bad_line;
		id = parse_count(line, sp1);
		if (id != last_id + 1)
			return anser_errf(err, ANSER_E_FORMAT,
			                  "vocab line %zu: expected id %d", lineno,
			                  last_id + 1);
		blen = parse_count(sp2 + 1, end);
		if (blen < 1 || blen > VOCAB_MAX_TOKEN)
			goto bad_line;
		if (!decode_literal(sp1 + 1, (size_t)(sp2 - sp1 - 1), tok, &n))
			return anser_errf(err, ANSER_E_FORMAT,
			                  "vocab line %zu: malformed literal", lineno);
		if ((long)n != blen)
			return anser_errf(err, ANSER_E_FORMAT,
			                  "vocab line %zu: literal is %zu bytes but the "
			                  "line says %ld", lineno, n, blen);
		last_id = (int)id;
		if (fn && fn(ctx, last_id, tok, n))
			break;
	}
	if (last_id == 0)
		return anser_errf(err, ANSER_E_FORMAT, "vocab is empty");
	if (n_tokens)
		*n_tokens = last_id;
	return ANSER_OK;
bad_line:
	return anser_errf(err, ANSER_E_FORMAT,
	                  "vocab line %zu is not 'ID LITERAL LENGTH'", lineno);
}

enum anser_status anser_vocab_check(const char *text, size_t len,
                                    int *n_tokens, struct anser_err *err)
{
	return vocab_parse(text, len, NULL, NULL, n_tokens, err);
}

enum anser_status anser_vocab_locate(const char *pth_path, const char *explicit,
                                     char *buf, size_t bufsize,
                                     struct anser_err *err)
{
	const char *env = getenv("ANSER_VOCAB");
	const char *base = anser_basename(pth_path);
	struct stat sb;
	int n;

	if (explicit || (env && *env)) {
		const char *p = explicit ? explicit : env;
		if (stat(p, &sb))
			return anser_errno(err, "cannot open vocab '%s'%s", p,
			                   explicit ? "" : " (from $ANSER_VOCAB)");
		n = snprintf(buf, bufsize, "%s", p);
	} else {
		n = snprintf(buf, bufsize, "%.*s%s", (int)(base - pth_path),
		             pth_path, ANSER_VOCAB_FILE);
		if (n < 0 || (size_t)n >= bufsize)
			return anser_errf(err, ANSER_E_ARG, "path too long");
		if (stat(buf, &sb))
			return anser_errf(err, ANSER_E_NOTFOUND,
			                  "no World vocab: pass --vocab FILE, set "
			                  "ANSER_VOCAB, or put %s beside '%s' (it is in "
			                  "the official RWKV-LM repository); use "
			                  "--no-vocab to convert without a tokenizer",
			                  ANSER_VOCAB_FILE, pth_path);
	}
	if (n < 0 || (size_t)n >= bufsize)
		return anser_errf(err, ANSER_E_ARG, "path too long");
	return ANSER_OK;
}
