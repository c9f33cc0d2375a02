/*
 * fuzz_state.c - libFuzzer target: anser_state_load on any bytes, as a
 * state file (ANSERSTA) or a state-tuning .pth.  A state belongs to a
 * model, so one with random weights is written once per process, shaped
 * like the golden micro model (1 layer, 64 wide, one head of 64) so that
 * the state-tuning seed fits it.  The loader takes a path, so each input
 * goes through a temporary file, with its CRCs made right.
 */
#include <stdio.h>
#include <unistd.h>

#include "../../formats/native.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct anser_state *state(void)
{
	static struct anser_state *s;
	static struct anser_model *m;
	struct anser_hparams hp = {
		.n_layer = 1, .n_embd = 64, .head_size = 64, .vocab_size = 16,
		.ffn_size = 64, .lora_decay = 8, .lora_iclr = 8,
		.lora_value = 0, .lora_gate = 8,
	};
	char path[64];

	if (s)
		return s;
	snprintf(path, sizeof(path), "/tmp/fuzz-state-%d.anser", (int)getpid());
	if (anser_random_model(path, &hp, ANSER_DTYPE_F32, 1, NULL) ||
	    anser_model_open(path, &m, NULL) || anser_state_new(m, &s, NULL))
		abort();
	unlink(path); /* the mapping keeps it */
	/* The model stays open: the state does not point into it, but a
	 * loader that grew to need it would find it. */
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct anser_state *s = state();
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-state-%d", (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	/* A state file's CRCs (of the floats at 72, of the header at 124)
	 * would stop almost every mutation: recompute them. */
	if (size >= 128 && !memcmp(data, "ANSERSTA", 8)) {
		uint8_t h[128];
		memcpy(h, data, 128);
		wr_u32(h + 72, native_crc32(data + 128, size - 128));
		wr_u32(h + 124, native_crc32(h, 124));
		fwrite(h, 1, 128, f);
		fwrite(data + 128, 1, size - 128, f);
	} else {
		fwrite(data, 1, size, f);
	}
	fclose(f);
	anser_state_load(s, path, NULL);
	return 0;
}
