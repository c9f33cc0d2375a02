/*
 * sha256_x86.c - SHA-256 block compression with the x86 SHA extensions,
 * chosen at run time; sha256.c keeps the portable twin it is tested against.
 * Hashing a multi-gigabyte checkpoint (convert, download) is otherwise the
 * slowest part of handling it.
 *
 * The state is kept as two vectors, ABEF and CDGH, the layout that
 * sha256rnds2 works on.  Each group of four rounds adds four message words
 * to four constants; sha256msg1/msg2 extend the schedule four words at a
 * time.
 */
#include "internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <stdatomic.h>
#include <immintrin.h>

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

__attribute__((target("sha,sse4.1,ssse3")))
static void compress_ni(uint32_t h[8], const uint8_t *p, size_t blocks)
{
	/* Big-endian words: reverse the bytes of each 32-bit lane. */
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL,
	                                     0x0405060700010203ULL);
	__m128i tmp = _mm_loadu_si128((const __m128i *)&h[0]);   /* DCBA */
	__m128i s1 = _mm_loadu_si128((const __m128i *)&h[4]);    /* HGFE */
	__m128i s0;

	tmp = _mm_shuffle_epi32(tmp, 0xb1);          /* CDAB */
	s1 = _mm_shuffle_epi32(s1, 0x1b);            /* EFGH */
	s0 = _mm_alignr_epi8(tmp, s1, 8);            /* ABEF */
	s1 = _mm_blend_epi16(s1, tmp, 0xf0);         /* CDGH */

	for (; blocks; blocks--, p += 64) {
		__m128i save0 = s0, save1 = s1, w[4], msg;

		for (int i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(
				_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
		for (int i = 0; i < 16; i++) {
			__m128i *cur = &w[i & 3], *next = &w[(i + 1) & 3];
			__m128i *prev = &w[(i + 3) & 3];

			msg = _mm_add_epi32(*cur, _mm_loadu_si128(
				(const __m128i *)&K[4 * i]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
			if (i >= 3 && i <= 14) {
				/* Words 4(i+1)..4(i+1)+3 of the schedule. */
				*next = _mm_add_epi32(*next,
				                      _mm_alignr_epi8(*cur, *prev, 4));
				*next = _mm_sha256msg2_epu32(*next, *cur);
			}
			msg = _mm_shuffle_epi32(msg, 0x0e);
			s0 = _mm_sha256rnds2_epu32(s0, s1, msg);
			if (i >= 1 && i <= 12)
				*prev = _mm_sha256msg1_epu32(*prev, *cur);
		}
		s0 = _mm_add_epi32(s0, save0);
		s1 = _mm_add_epi32(s1, save1);
	}
	tmp = _mm_shuffle_epi32(s0, 0x1b);           /* FEBA */
	s1 = _mm_shuffle_epi32(s1, 0xb1);            /* DCHG */
	s0 = _mm_blend_epi16(tmp, s1, 0xf0);         /* DCBA */
	s1 = _mm_alignr_epi8(s1, tmp, 8);            /* HGFE */
	_mm_storeu_si128((__m128i *)&h[0], s0);
	_mm_storeu_si128((__m128i *)&h[4], s1);
}

static int detect_sha_ni(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) ||
	    !(c & bit_SSSE3))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b >> 29) & 1;
}

/* Asked once: CPUID traps to the hypervisor in a virtual machine. */
static int have_sha_ni(void)
{
	static _Atomic int known = -1;
	int v = atomic_load_explicit(&known, memory_order_relaxed);

	if (v < 0) {
		v = detect_sha_ni();
		atomic_store_explicit(&known, v, memory_order_relaxed);
	}
	return v;
}

sha256_blocks_fn sha256_blocks_fast(const char **name)
{
	if (getenv("ANSER_KERNELS") && !strcmp(getenv("ANSER_KERNELS"), "ref"))
		return NULL;
	if (have_sha_ni()) {
		if (name)
			*name = "sha-ni";
		return compress_ni;
	}
	return NULL;
}

#else

sha256_blocks_fn sha256_blocks_fast(const char **name)
{
	(void)name;
	return NULL;
}

#endif
