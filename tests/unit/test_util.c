/*
 * test_util.c - SHA-256, element conversions, shapes, error messages.
 */
#include "../../lib/dtype.h"
#include "../../lib/internal.h"
#include "../harness.h"

static void sha_hex(const void *p, size_t n, char hex[65])
{
	struct anser_sha256 s;
	uint8_t d[32];

	anser_sha256_init(&s);
	anser_sha256_update(&s, p, n);
	anser_sha256_final(&s, d);
	anser_hex(d, 32, hex);
}

static void test_sha256(void)
{
	char hex[65];
	static char big[1000000];
	struct anser_sha256 s;
	uint8_t d[32];

	sha_hex("", 0, hex);
	CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	      "sha256 of the empty string");
	sha_hex("abc", 3, hex);
	CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	      "sha256 of abc");
	sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
	      "sha256 of the 56-byte FIPS vector (padding into a second block)");
	memset(big, 'a', sizeof(big));
	/* Uneven pieces exercise the partial-block buffer. */
	anser_sha256_init(&s);
	for (size_t off = 0, k = 1; off < sizeof(big); off += k, k = k * 7 % 1000 + 1)
		anser_sha256_update(&s, big + off,
		                    off + k > sizeof(big) ? sizeof(big) - off : k);
	anser_sha256_final(&s, d);
	anser_hex(d, 32, hex);
	CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
	      "sha256 of a million 'a' fed in uneven pieces");
}

/* The SHA extensions path against the portable twin, block for block. */
static void test_sha256_fast(void)
{
	const char *name = "none";
	sha256_blocks_fn fast = sha256_blocks_fast(&name);
	uint8_t *data = malloc(64 * 100);
	uint32_t seed = 1;
	int bad = 0;
	char what[96];

	if (!fast) {
		t_skip("no SHA-256 instructions on this CPU");
		free(data);
		return;
	}
	for (int i = 0; i < 64 * 100; i++) {
		seed = seed * 1103515245u + 12345u;
		data[i] = (uint8_t)(seed >> 16);
	}
	for (size_t blocks = 1; blocks <= 100; blocks += 3) {
		uint32_t a[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
		uint32_t b[8];
		memcpy(b, a, sizeof(a));
		a[3] ^= (uint32_t)blocks; /* vary the starting state too */
		b[3] ^= (uint32_t)blocks;
		fast(a, data + 64 * (100 - blocks), blocks);
		sha256_blocks_ref(b, data + 64 * (100 - blocks), blocks);
		bad += memcmp(a, b, sizeof(a)) != 0;
	}
	snprintf(what, sizeof(what), "sha256 %s blocks equal the portable ones", name);
	CHECK(bad == 0, what);
	free(data);
}

static void test_f16(void)
{
	int bad = 0;

	/* Every f16 survives a round trip through f32 (NaNs stay NaN). */
	for (uint32_t h = 0; h < 65536; h++) {
		float f = f16_to_f32((uint16_t)h);
		uint16_t back = f32_to_f16(f);
		if (isnan(f) ? !isnan(f16_to_f32(back)) : back != h)
			bad++;
	}
	CHECK(bad == 0, "f16 -> f32 -> f16 is exact for all 65536 values");
	CHECK(f16_to_f32(0x3c00) == 1.0f && f16_to_f32(0xc000) == -2.0f &&
	      f16_to_f32(0x7bff) == 65504.0f && f16_to_f32(0x0001) == 0x1p-24f &&
	      isinf(f16_to_f32(0x7c00)), "f16 known values, subnormal and inf");
	CHECK(f32_to_f16(65519.0f) == 0x7bff && f32_to_f16(65520.0f) == 0x7c00,
	      "f32 -> f16 overflows to inf exactly at 65520");
	CHECK(f32_to_f16(0x1p-25f) == 0 && f32_to_f16(0x1.8p-25f) == 1 &&
	      f32_to_f16(0x1.8p-24f) == 2, "f32 -> f16 subnormal rounding ties to even");
	CHECK(f32_to_f16(1.0f + 0x1p-11f) == 0x3c00 &&
	      f32_to_f16(1.0f + 0x3p-11f) == 0x3c02,
	      "f32 -> f16 normal rounding ties to even");
#ifdef __FLT16_MAX__
	/* The compiler's own conversion is the reference where it exists. */
	uint32_t x = 12345;
	bad = 0;
	for (int i = 0; i < 4000000; i++) {
		x = x * 1664525u + 1013904223u;
		float f = bits_f32(x);
		_Float16 r = (_Float16)f;
		uint16_t rb;
		memcpy(&rb, &r, 2);
		if (!isnan(f) && f32_to_f16(f) != rb)
			bad++;
	}
	CHECK(bad == 0, "f32 -> f16 matches the compiler on 4M random floats");
#else
	t_skip("no _Float16 in this compiler");
#endif
}

static void test_bf16(void)
{
	CHECK(bf16_to_f32(0x3f80) == 1.0f, "bf16 1.0");
	CHECK(f32_to_bf16(bits_f32(0x3f808000)) == 0x3f80 &&
	      f32_to_bf16(bits_f32(0x3f818000)) == 0x3f82 &&
	      f32_to_bf16(bits_f32(0x3f808001)) == 0x3f81,
	      "f32 -> bf16 rounds to nearest, ties to even");
	CHECK(isnan(bf16_to_f32(f32_to_bf16(bits_f32(0x7f800001)))),
	      "f32 -> bf16 keeps a NaN whose payload is in the low bits");
	CHECK(f32_to_bf16(bits_f32(0x7f7fffff)) == 0x7f80,
	      "f32 max rounds to bf16 inf");
	int bad = 0;
	for (uint32_t h = 0; h < 65536; h++) {
		float f = bf16_to_f32((uint16_t)h);
		if (!isnan(f) && f32_to_bf16(f) != h)
			bad++;
	}
	CHECK(bad == 0, "bf16 -> f32 -> bf16 is exact");
}

static void test_convert_elems(void)
{
	float src[4] = { 1.0f, 70000.0f, -1e30f, INFINITY };
	uint16_t h[4];
	double d[2] = { 1e300, 0.5 };
	float f[2];

	CHECK(anser_convert_elems(ANSER_DTYPE_F32, src, ANSER_DTYPE_F16, h, 4) == 2,
	      "f32 -> f16 counts finite values that overflow (inf is not one)");
	CHECK(anser_convert_elems(ANSER_DTYPE_F32, src, ANSER_DTYPE_BF16, h, 4) == 0,
	      "f32 -> bf16 of the same values does not overflow");
	CHECK(anser_convert_elems(ANSER_DTYPE_F64, d, ANSER_DTYPE_F32, f, 2) == 1 &&
	      f[1] == 0.5f, "f64 -> f32 counts overflow and converts");
}

static void test_shapes(void)
{
	int64_t ok[3] = { 65536, 768, 1 }, neg[2] = { 3, -1 };
	int64_t huge[3] = { INT64_C(1) << 40, INT64_C(1) << 40, INT64_C(1) << 40 };
	uint64_t n = 0, nb;
	char buf[64];

	CHECK(anser_shape_numel(3, ok, &n) && n == 65536 * 768, "numel");
	CHECK(!anser_shape_numel(2, neg, &n), "a negative dim is refused");
	CHECK(!anser_shape_numel(3, huge, &n), "a product past 2^62 is refused");
	CHECK(anser_shape_numel(0, ok, &n) && n == 1, "a scalar has one element");
	CHECK(anser_dtype_nbytes(ANSER_DTYPE_BF16, 10, &nb) && nb == 20, "bf16 bytes");
	CHECK(!strcmp(anser_shape_str(2, ok, buf, sizeof(buf)), "(65536, 768)"),
	      "shape string");
	CHECK(anser_dtype_parse("bf16") == ANSER_DTYPE_BF16 &&
	      anser_dtype_parse("q3") == -1, "dtype names parse");
}

static void test_errors(void)
{
	struct anser_err err = { 0 };
	char longer[600];

	anser_errf(&err, ANSER_E_FORMAT, "bad %s", "thing");
	anser_err_prefix(&err, ANSER_E_FORMAT, "'%s'", "x.pth");
	CHECK(!strcmp(err.msg, "'x.pth': bad thing") && err.code == ANSER_E_FORMAT,
	      "error prefix");
	memset(longer, 'y', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	anser_errf(&err, ANSER_E_IO, "%s", longer);
	anser_err_prefix(&err, ANSER_E_IO, "%s", "pre");
	CHECK(strlen(err.msg) == sizeof(err.msg) - 1 && !strncmp(err.msg, "pre: y", 6),
	      "a prefix on a full message stays within the buffer");
	CHECK(anser_errf(NULL, ANSER_E_ARG, "x") == ANSER_E_ARG,
	      "a NULL error buffer is allowed");
	CHECK(strcmp(anser_status_str(ANSER_E_CHECKSUM), "unknown status"),
	      "status strings");
}

int main(void)
{
	test_sha256();
	test_sha256_fast();
	test_f16();
	test_bf16();
	test_convert_elems();
	test_shapes();
	test_errors();
	return done();
}
