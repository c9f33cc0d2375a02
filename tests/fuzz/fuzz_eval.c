/*
 * fuzz_eval.c - libFuzzer target: the benchmark readers (LAMBADA JSONL and
 * XStoryCloze TSV) on any bytes.  They read files, so each input goes
 * through a temporary file.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../eval/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct eval_doc *docs;
	size_t n;
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-eval-%d", (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (eval_read_lambada(path, &docs, &n, NULL) == ANSER_OK)
		eval_free_docs(docs, n);
	if (eval_read_xstorycloze(path, &docs, &n, NULL) == ANSER_OK) {
		for (size_t i = 0; i < n; i++)
			eval_split_context(docs[i].context, strlen(docs[i].context),
			                   &(size_t){ 0 });
		eval_free_docs(docs, n);
	}
	return 0;
}
