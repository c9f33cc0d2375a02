/*
 * fuzz_pth.c - libFuzzer target: a whole .pth (zip + pickle) from any bytes,
 * opened, checked as RWKV-7 and every tensor read.  The reader takes a path,
 * so each input goes through a temporary file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct anser_hparams hp;
	struct anser_pth *p;
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-pth-%d.pth", (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (anser_pth_open(path, &p, NULL) == ANSER_OK) {
		anser_pth_hparams(p, &hp, NULL);
		for (size_t i = 0; i < anser_pth_n_tensors(p); i++) {
			const struct anser_tensor_info *t = anser_pth_tensor(p, i);
			size_t n = (size_t)t->numel * 4;
			void *buf;
			if (t->numel > (1u << 24))
				continue;
			buf = malloc(n ? n : 1);
			anser_pth_read(p, i, ANSER_DTYPE_F32, buf, n, NULL);
			free(buf);
		}
		anser_pth_verify(p, NULL);
		anser_pth_free(p);
	}
	return 0;
}
