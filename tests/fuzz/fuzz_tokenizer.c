/*
 * fuzz_tokenizer.c - libFuzzer target: the World tokenizer on any bytes.
 * Encoding then decoding must give the input back, every id must be a
 * token, and the UTF-8 stream must pass every byte through in order; any
 * difference aborts.  The tokenizer is built once, from a synthetic vocab:
 * the 256 single bytes, then multi-byte tokens that overlap (prefixes of
 * each other, UTF-8 characters, a long run, a duplicate).
 */
#include <stdio.h>

#include "../../lib/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *literal;
	int len;
} multi[] = {
	{ "b'ab'", 2 }, { "b'abc'", 3 }, { "b'abcd'", 4 }, { "b'bc'", 2 },
	{ "' the'", 4 }, { "' th'", 3 }, { "'the'", 3 }, { "'\\n\\n'", 2 },
	{ "b'\\xe4\\xbd'", 2 }, { "'\\u4f60'", 3 }, { "'\\u4f60\\u597d'", 6 },
	{ "'\\U0001f600'", 4 }, { "b'\\xff\\xfe'", 2 }, { "b'\\x00\\x00'", 2 },
	{ "'aaaaaaaa'", 8 }, { "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'", 36 },
	{ "'ab'", 2 }, { "'  '", 2 }, { "'   '", 3 }, { "'\\xe9t\\xe9'", 5 },
};

static struct anser_tokenizer *tok(void)
{
	static struct anser_tokenizer *t;
	char *text, *p;
	size_t cap = 64 * 300;
	int id = 1;

	if (t)
		return t;
	p = text = malloc(cap);
	if (!text)
		abort();
	for (int b = 0; b < 256; b++, id++)
		p += snprintf(p, 32, "%d b'\\x%02x' 1\n", id, b);
	for (size_t i = 0; i < ARRAY_SIZE(multi); i++, id++)
		p += snprintf(p, 64, "%d %s %d\n", id, multi[i].literal,
		              multi[i].len);
	if (anser_tokenizer_new(text, (size_t)(p - text), &t, NULL))
		abort();
	free(text);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct anser_tokenizer *t = tok();
	struct anser_utf8_stream us = { 0 };
	int32_t *ids = malloc((size ? size : 1) * sizeof(*ids));
	uint8_t *out = malloc(size + 4), *u8 = malloc(size + 4);
	size_t n, len = 0, w = 0;

	if (!ids || !out || !u8)
		abort();
	n = anser_tokenizer_encode(t, data, size, ids);
	if (n > size)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t l;
		const uint8_t *b = anser_tokenizer_token(t, ids[i], &l);
		if (!b || !l || len + l > size)
			abort();
		memcpy(out + len, b, l);
		len += l;
		w += anser_utf8_stream_push(&us, b, l, u8 + w);
		if (w > len)
			abort();
	}
	w += anser_utf8_stream_flush(&us, u8 + w);
	if (len != size || memcmp(out, data, size) || w != size ||
	    memcmp(u8, data, size))
		abort();
	free(ids);
	free(out);
	free(u8);
	return 0;
}
