/* fuzz_pickle.c - libFuzzer target: the restricted unpickler on any bytes. */
#include "../../formats/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pk_doc doc;

	if (pk_load(data, size, &doc, NULL) == ANSER_OK)
		pk_free(&doc);
	return 0;
}
