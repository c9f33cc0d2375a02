/* fuzz_native.c - libFuzzer target: the native file validator on any bytes. */
#include "../../formats/native.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct native_file f;

	if (native_parse(data, size, &f, NULL) == ANSER_OK) {
		native_verify(&f, NULL);
		native_free(&f);
	}
	return 0;
}
