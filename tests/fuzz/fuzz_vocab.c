/* fuzz_vocab.c - libFuzzer target: the World vocab parser on any text. */
#include "../../lib/vocab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int n;

	anser_vocab_check((const char *)data, size, &n, NULL);
	return 0;
}
