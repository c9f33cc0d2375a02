/*
 * fuzz_native.c - libFuzzer target: the native file validator on any bytes.
 * Every section sits behind a CRC, which a mutation almost never keeps
 * right, so the target first recomputes the CRCs of the sections the
 * header points at (when they lie inside the input) and of the header:
 * mutations then reach the tensor index and its checks.
 */
#include "../../formats/native.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Sets the CRC at `at` to that of [off, off + len) when that is inside. */
static void fix_crc(uint8_t *b, size_t size, size_t at, uint64_t off,
                    uint64_t len)
{
	if (off <= size && len <= size - off)
		wr_u32(b + at, native_crc32(b + off, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct native_file f;
	uint8_t *b = malloc(size ? size : 1);

	if (!b)
		return 0;
	memcpy(b, data, size);
	if (size >= NATIVE_HEADER_SIZE) {
		fix_crc(b, size, 92, rd_u64(b + 24), rd_u64(b + 32));
		fix_crc(b, size, 96, rd_u64(b + 40), rd_u64(b + 48));
		fix_crc(b, size, 100, rd_u64(b + 56), rd_u64(b + 64));
		wr_u32(b + 124, native_crc32(b, 124));
	}
	if (native_parse(b, size, &f, NULL) == ANSER_OK) {
		native_verify(&f, NULL);
		native_free(&f);
	}
	free(b);
	return 0;
}
