/*
 * fuzz_meta.c - libFuzzer target: the metadata JSON of a native file on any
 * bytes (inside a file it sits behind a CRC, which mutations rarely get
 * past, so it is fuzzed on its own).  What decodes must encode again.
 */
#include "../../lib/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meta m;
	char *json;

	if (meta_decode((const char *)data, size, &m, NULL) == ANSER_OK) {
		json = meta_encode(&m);
		if (!json)
			abort();
		anser_free(json);
		meta_release(&m);
	}
	return 0;
}
