/*
 * sha1.c - SHA-1 (FIPS 180-4), only for git blob ids: the Hub names a file
 * that is not stored in LFS by sha1("blob <size>\0" + content), and that is
 * the one checksum we can verify such a file against.  SHA-1 is broken for
 * collision resistance; here it detects damage in transit, nothing more.
 */
#include "hub.h"

#define ROL(x, n) ((x) << (n) | (x) >> (32 - (n)))

static void compress(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80], a, b, c, d, e, f, k, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 80; i++)
		w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = ROL(a, 5) + f + e + k + w[i];
		e = d; d = c; c = ROL(b, 30); b = a; a = t;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

void anser_sha1_init(struct anser_sha1 *s)
{
	static const uint32_t iv[5] = {
		0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->nbuf = 0;
}

void anser_sha1_update(struct anser_sha1 *s, const void *data, size_t n)
{
	const uint8_t *p = data;

	s->len += n;
	if (s->nbuf) {
		size_t k = 64 - s->nbuf < n ? 64 - s->nbuf : n;
		memcpy(s->buf + s->nbuf, p, k);
		s->nbuf += k;
		p += k;
		n -= k;
		if (s->nbuf < 64)
			return;
		compress(s->h, s->buf);
		s->nbuf = 0;
	}
	for (; n >= 64; p += 64, n -= 64)
		compress(s->h, p);
	memcpy(s->buf, p, n);
	s->nbuf = n;
}

void anser_sha1_final(struct anser_sha1 *s, uint8_t digest[20])
{
	static const uint8_t pad[64] = { 0x80 };
	uint64_t bits = s->len * 8;
	uint8_t len[8];
	int i;

	for (i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	/* 0x80, zeros up to 56 bytes into a block, then the length. */
	anser_sha1_update(s, pad, (s->nbuf < 56 ? 56 : 120) - s->nbuf);
	anser_sha1_update(s, len, 8);
	for (i = 0; i < 5; i++) {
		digest[4 * i] = (uint8_t)(s->h[i] >> 24);
		digest[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		digest[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		digest[4 * i + 3] = (uint8_t)s->h[i];
	}
}

void hub_gitsha1_init(struct anser_sha1 *s, uint64_t size)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "blob %llu",
	                 (unsigned long long)size);

	anser_sha1_init(s);
	anser_sha1_update(s, head, (size_t)n + 1); /* with the NUL */
}
