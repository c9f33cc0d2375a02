/*
 * test_native.c - the native file reader refuses every damaged or dishonest
 * file, cleanly: flipped bits, truncation, and well-signed files whose fields
 * lie (overlaps, misalignment, wrong sizes, unknown types or versions);
 * and quantized files: which tensors convert picks for each type, and
 * quantized blocks where they cannot be.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../formats/native.h"
#include "../harness.h"

static char tmpdir[] = "/tmp/anser-test-native-XXXXXX";
static uint8_t *good;
static size_t good_len;

static uint8_t *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void save(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	fwrite(buf, 1, len, f);
	fclose(f);
}

/* A tiny World-style vocab: the 256 single bytes and a few longer tokens. */
static void write_vocab(const char *path)
{
	FILE *f = fopen(path, "w");
	int id = 1;

	for (int b = 0; b < 256; b++)
		fprintf(f, "%d b'\\x%02x' 1\n", id++, b);
	fprintf(f, "%d 'the' 3\n%d ' \\u00e9t\\xe9' 6\n", id, id + 1);
	fclose(f);
}

static enum anser_status parse(const uint8_t *buf, size_t len, char *msg, size_t msize)
{
	struct anser_err err = { 0 };
	struct native_file f;
	enum anser_status st = native_parse(buf, len, &f, &err);

	if (!st) {
		st = native_verify(&f, &err);
		native_free(&f);
	}
	snprintf(msg, msize, "%s", err.msg);
	return st;
}

/* After editing fields, make the checksums right again so that only the
 * semantic checks can catch the lie. */
static void resign(uint8_t *b)
{
	uint64_t mo = rd_u64(b + 24), ms = rd_u64(b + 32);
	uint64_t io = rd_u64(b + 56), is = rd_u64(b + 64);

	if (mo < good_len && ms <= good_len - mo)
		wr_u32(b + 92, native_crc32(b + mo, ms));
	if (io < good_len && is <= good_len - io)
		wr_u32(b + 100, native_crc32(b + io, is));
	wr_u32(b + 124, native_crc32(b, 124));
}

static uint8_t *entry(uint8_t *b, int i)
{
	return b + rd_u64(b + 56) + (uint64_t)i * NATIVE_ENTRY_SIZE;
}

static void lie(const char *what, void (*edit)(uint8_t *), const char *want)
{
	uint8_t *b = malloc(good_len);
	char msg[600], label[200];
	enum anser_status st;

	memcpy(b, good, good_len);
	edit(b);
	resign(b);
	st = parse(b, good_len, msg, sizeof(msg));
	snprintf(label, sizeof(label), "refused: %s", what);
	if (!CHECK(st != ANSER_OK && strstr(msg, want), label))
		printf("#   status %d: %s\n", st, msg);
	free(b);
}

static void e_version(uint8_t *b) { wr_u32(b + 8, 2); }
static void e_swapped(uint8_t *b) { wr_u32(b + 8, 0x01000000); }
static void e_flags(uint8_t *b) { wr_u32(b + 104, 4); }
static void e_hsize(uint8_t *b) { wr_u32(b + 12, 64); }
static void e_ntensors(uint8_t *b) { wr_u32(b + 88, 0xffffffff); }
static void e_meta_oob(uint8_t *b) { wr_u64(b + 32, UINT64_MAX - 8); }
static void e_data_misaligned(uint8_t *b)
{
	wr_u64(b + 72, rd_u64(b + 72) - 1);
	wr_u64(b + 80, rd_u64(b + 80) + 1);
}
static void e_dtype(uint8_t *b) { wr_u32(entry(b, 3) + 64, 9); }
static void e_ndim(uint8_t *b) { wr_u32(entry(b, 3) + 68, 5); }
static void e_shape(uint8_t *b) { wr_u64(entry(b, 0) + 72, rd_u64(entry(b, 0) + 72) + 1); }
static void e_huge_shape(uint8_t *b)
{
	wr_u64(entry(b, 0) + 72, UINT64_C(1) << 40);
	wr_u64(entry(b, 0) + 80, UINT64_C(1) << 40);
}
static void e_misaligned(uint8_t *b) { wr_u64(entry(b, 2) + 104, rd_u64(entry(b, 2) + 104) + 4); }
static void e_past_end(uint8_t *b) { wr_u64(entry(b, 2) + 104, UINT64_C(1) << 50); }
static void e_overlap(uint8_t *b)
{
	/* Point tensor 2 at tensor 0's data; sizes stay consistent. */
	wr_u64(entry(b, 2) + 104, rd_u64(entry(b, 0) + 104));
}
static void e_dup_name(uint8_t *b) { memcpy(entry(b, 5), entry(b, 4), 64); }
static void e_name_unterminated(uint8_t *b) { memset(entry(b, 1), 'x', 64); }
static void e_name_garbage_pad(uint8_t *b) { entry(b, 1)[63] = 'z'; }
static void e_meta_json(uint8_t *b) { b[rd_u64(b + 24)] = '['; }
static void e_reserved(uint8_t *b) { b[110] = 1; }
/* Entry 1 is a (1, 1, C) mixing vector: no rows of blocks. */
static void e_quant_vector(uint8_t *b) { wr_u32(entry(b, 1) + 64, ANSER_DTYPE_Q8_0); }

static void test_lies(void)
{
	lie("a newer version", e_version, "version 2");
	lie("a byte-swapped version", e_swapped, "wrong byte order");
	lie("unknown flags", e_flags, "flags");
	lie("a wrong header size", e_hsize, "header size");
	lie("a huge tensor count", e_ntensors, "index");
	lie("a metadata size past the end (overflow)", e_meta_oob, "metadata");
	lie("a misaligned data section", e_data_misaligned, "data section");
	lie("an unknown type code", e_dtype, "type 9");
	lie("five dimensions", e_ndim, "dims");
	lie("a shape that does not match the byte size", e_shape, "its shape needs");
	lie("a shape whose product overflows", e_huge_shape, "impossible shape");
	lie("a misaligned tensor", e_misaligned, "misaligned");
	lie("a tensor past the end", e_past_end, "outside");
	lie("two tensors sharing bytes", e_overlap, "overlap");
	lie("two tensors with one name", e_dup_name, "appears twice");
	lie("a name without NUL", e_name_unterminated, "no valid name");
	lie("bytes after a name's NUL", e_name_garbage_pad, "NUL-padded");
	lie("reserved header bytes", e_reserved, "reserved");
	lie("a quantized vector", e_quant_vector, "not a matrix of whole blocks");
	(void)e_meta_json;
}

/* Every single-bit flip outside the tensor data is caught by a checksum;
 * flips inside it by --verify.  None may crash. */
static void test_bit_flips(void)
{
	uint64_t data_off = rd_u64(good + 72);
	uint64_t index_end = rd_u64(good + 56) + rd_u64(good + 64);
	uint8_t *b = malloc(good_len);
	struct native_file f;
	char msg[600];
	int missed = 0, tried = 0, data_missed = 0;

	memcpy(b, good, good_len);
	/* (The zero padding between the index and the data is not covered.) */
	for (uint64_t i = 0; i < index_end; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			b[i] ^= (uint8_t)(1 << bit);
			if (native_parse(b, good_len, &f, NULL) == ANSER_OK) {
				native_free(&f);
				missed++;
			}
			b[i] ^= (uint8_t)(1 << bit);
			tried++;
		}
	}
	CHECK(missed == 0, "every bit flip in header, metadata, vocab and index is caught");
	for (uint64_t i = data_off; i < good_len; i += 1021) {
		b[i] ^= 0x10;
		/* Padding between tensors is not covered by any CRC. */
		if (parse(b, good_len, msg, sizeof(msg)) == ANSER_OK)
			data_missed++;
		b[i] ^= 0x10;
	}
	CHECK(data_missed < (int)((good_len - data_off) / 1021 / 8),
	      "bit flips in tensor data are caught by the CRC check");
	free(b);
	printf("# %d header flips tried\n", tried);
}

static void test_truncation(void)
{
	char msg[600];
	int missed = 0;

	for (size_t n = 0; n < good_len; n += (n < 300 ? 1 : 97))
		if (parse(good, n, msg, sizeof(msg)) == ANSER_OK)
			missed++;
	CHECK(missed == 0, "every truncated copy is refused");
	parse(good, good_len - 1, msg, sizeof(msg));
	CHECK(strstr(msg, "truncated") != NULL, "the message says the file is truncated");
}

/* Through the public API: a file whose metadata disagrees with its tensors. */
static void test_meta_mismatch(const char *path)
{
	struct anser_err err = { 0 };
	struct anser_model *m = NULL;
	uint8_t *b = malloc(good_len);
	char *p, bad[1200];

	memcpy(b, good, good_len);
	p = memmem(b + rd_u64(b + 24), rd_u64(b + 32), "\"n_layer\":\t2", 12);
	if (!CHECK(p != NULL, "metadata holds n_layer"))
		return;
	p[11] = '3';
	resign(b);
	snprintf(bad, sizeof(bad), "%s.lie", path);
	save(bad, b, good_len);
	CHECK(anser_model_open(bad, &m, &err) == ANSER_E_FORMAT &&
	      strstr(err.msg, "n_layer 3"), "metadata that disagrees with the tensors is refused");
	anser_model_free(m);
	memcpy(b, good, good_len);
	b[rd_u64(b + 24)] = '[';
	resign(b);
	save(bad, b, good_len);
	CHECK(anser_model_open(bad, &m, &err) == ANSER_E_FORMAT &&
	      strstr(err.msg, "not a JSON object"), "metadata that is not an object is refused");
	unlink(bad);
	free(b);
}

static void test_public_api(const char *path)
{
	struct anser_err err = { 0 };
	struct anser_model *m = NULL;
	const char *vocab;
	size_t len;

	CHECK(anser_model_open(path, &m, &err) == ANSER_OK, "the model opens");
	if (!m)
		return;
	vocab = anser_model_vocab(m, &len);
	CHECK(vocab && len > 1000 && !strncmp(vocab, "1 b'\\x00' 1\n", 12),
	      "the vocab text is embedded verbatim");
	CHECK(!strcmp(anser_model_meta(m)->tokenizer, "rwkv-world") &&
	      strlen(anser_model_meta(m)->vocab_sha256) == 64 &&
	      !strcmp(anser_model_meta(m)->source_file, "tiny.pth") &&
	      strlen(anser_model_meta(m)->source_sha256) == 64,
	      "metadata records tokenizer, source name and hashes");
	CHECK(anser_model_find(m, "head.weight") >= 0 &&
	      anser_model_find(m, "nope") == -1, "find by name");
	CHECK(!strcmp(anser_model_tensor(m, 0)->name, "emb.weight"),
	      "emb.weight comes first");
	anser_model_free(m);
}

/* no_mmap reads the same bytes into memory of the model's own: every
 * tensor equal to the mapped one, aligned, verifiable; a file that fails
 * to open mapped fails the same way. */
static void test_no_mmap(const char *path)
{
	const struct anser_model_opts load = { .no_mmap = 1 };
	struct anser_err err = { 0 };
	struct anser_model *a = NULL, *b = NULL;
	char small[1200];
	int same = 1;

	if (!CHECK(anser_model_open(path, &a, &err) == ANSER_OK &&
	           anser_model_open_opts(path, &load, &b, &err) == ANSER_OK,
	           "the model opens mapped and read into memory"))
		goto out;
	CHECK(anser_model_n_tensors(a) == anser_model_n_tensors(b),
	      "no_mmap: the same tensors");
	for (size_t i = 0; i < anser_model_n_tensors(a); i++) {
		size_t na, nb;
		const void *da = anser_model_tensor_data(a, i, &na);
		const void *db = anser_model_tensor_data(b, i, &nb);
		same &= na == nb && da != db && !memcmp(da, db, na) &&
		        (uintptr_t)db % 64 == 0;
	}
	CHECK(same, "no_mmap: every tensor's bytes are the mapped ones, 64-byte aligned");
	CHECK(anser_model_verify(b, &err) == ANSER_OK, "no_mmap: the CRCs verify");
	snprintf(small, sizeof(small), "%s.small", path);
	save(small, good, 100);
	anser_model_free(b);
	b = NULL;
	CHECK(anser_model_open_opts(small, &load, &b, &err) == ANSER_E_FORMAT &&
	      strstr(err.msg, "too small") && !b,
	      "no_mmap: a short file is refused as when mapped");
	snprintf(small, sizeof(small), "%s.none", path);
	CHECK(anser_model_open_opts(small, &load, &b, &err) == ANSER_E_NOTFOUND &&
	      strstr(err.msg, "cannot open"), "no_mmap: a missing file is refused");
	unlink(small);
	snprintf(small, sizeof(small), "%s.small", path);
	unlink(small);
out:
	anser_model_free(a);
	anser_model_free(b);
}

static const char *type_of(const struct anser_model *m, const char *name)
{
	long i = anser_model_find(m, name);
	return i < 0 ? "missing" : anser_dtype_name(anser_model_tensor(m, (size_t)i)->dtype);
}

/* Converts src with the options and checks four tensors' types. */
static void expect_types(const char *src, const char *out, int dtype, const char *head_t,
                         const char *emb_t, const char *want_key, const char *want_head,
                         const char *want_emb, const char *want_lora, const char *what)
{
	struct anser_convert_opts o = { .dtype = dtype, .head_type = head_t, .emb_type = emb_t };
	struct anser_err err = { 0 };
	struct anser_model *m = NULL;

	if (!CHECK(anser_convert_pth(src, out, &o, NULL, &err) == ANSER_OK &&
	           anser_model_open(out, &m, &err) == ANSER_OK, what)) {
		printf("#   %s\n", err.msg);
		return;
	}
	if (!CHECK(!strcmp(type_of(m, "blocks.1.att.key.weight"), want_key) &&
	           !strcmp(type_of(m, "blocks.0.ffn.value.weight"), want_key) &&
	           !strcmp(type_of(m, "head.weight"), want_head) &&
	           !strcmp(type_of(m, "emb.weight"), want_emb) &&
	           !strcmp(type_of(m, "blocks.0.att.a1"), want_lora) &&
	           !strcmp(type_of(m, "blocks.0.ln1.weight"), want_lora), what))
		printf("#   key %s head %s emb %s a1 %s\n", type_of(m, "blocks.1.att.key.weight"),
		       type_of(m, "head.weight"), type_of(m, "emb.weight"),
		       type_of(m, "blocks.0.att.a1"));
	CHECK(anser_model_verify(m, &err) == ANSER_OK, "the converted file verifies");
	anser_model_free(m);
}

static void test_quant_files(const char *src)
{
	char q8[1200], q4[1200], f16[1200], bad[1200];
	struct anser_convert_opts o = { .dtype = ANSER_DTYPE_Q8_0, .head_type = "q3" };
	struct anser_err err = { 0 };
	struct anser_model *m = NULL;
	size_t len;

	snprintf(q8, sizeof(q8), "%s/q8.anser", tmpdir);
	snprintf(q4, sizeof(q4), "%s/q4.anser", tmpdir);
	snprintf(f16, sizeof(f16), "%s/f16.anser", tmpdir);
	snprintf(bad, sizeof(bad), "%s/bad.anser", tmpdir);
	expect_types(src, q8, ANSER_DTYPE_Q8_0, NULL, NULL, "q8_0", "q8_0", "bf16", "bf16",
	             "q8_0: the big matrices and the head; emb and small tensors keep bf16");
	expect_types(q8, q4, ANSER_DTYPE_Q4_0, NULL, NULL, "q4_0", "q8_0", "bf16", "bf16",
	             "a q8_0 file requantizes to q4_0 (head stays q8_0)");
	expect_types(src, q4, ANSER_DTYPE_Q4_0, "f16", "q4_0", "q4_0", "f16", "q4_0", "bf16",
	             "--head-type and --emb-type override the rule");
	expect_types(q4, f16, ANSER_DTYPE_F16, NULL, NULL, "f16", "f16", "f16", "f16",
	             "a quantized file converts back to a float type throughout");
	expect_types(q4, f16, -1, "q8_0", NULL, "q4_0", "q8_0", "q4_0", "bf16",
	             "no --type keeps a native file's own types");
	CHECK(anser_convert_pth(src, bad, &o, NULL, &err) == ANSER_E_ARG &&
	      strstr(err.msg, "'q3'") && access(bad, F_OK) != 0,
	      "an unknown head type is refused, nothing written");
	/* A file that quantizes a LoRA, well formed otherwise: the model
	 * check refuses it (only the big matrices may be quantized). */
	uint8_t *b = load(q8, &len);
	if (!b)
		return;
	for (uint32_t i = 0; i < rd_u32(b + 88); i++) {
		uint8_t *e = b + rd_u64(b + 56) + (uint64_t)i * NATIVE_ENTRY_SIZE;
		if (strcmp((char *)e, "blocks.0.att.a1"))
			continue;
		/* (C, 32) bf16 holds more bytes than (C, 32) q8_0 needs. */
		uint64_t rows = rd_u64(e + 72), nb = rows * 34;
		wr_u32(e + 64, ANSER_DTYPE_Q8_0);
		wr_u64(e + 112, nb);
		wr_u32(e + 120, native_crc32(b + rd_u64(b + 72) + rd_u64(e + 104), nb));
	}
	good_len = len; /* resign() bounds its reads by good_len */
	resign(b);
	save(bad, b, len);
	CHECK(anser_model_open(bad, &m, &err) == ANSER_E_SHAPE &&
	      strstr(err.msg, "blocks.0.att.a1") && strstr(err.msg, "q8_0"),
	      "a quantized LoRA is refused by name");
	anser_model_free(m);
	free(b);
	unlink(q8);
	unlink(q4);
	unlink(f16);
	unlink(bad);
}

/* Random weights in a quantized type get the types convert would give. */
static void test_random_quant(void)
{
	struct anser_hparams hp = {
		.n_layer = 2, .n_embd = 64, .head_size = 32, .vocab_size = 96,
		.ffn_size = 256, .lora_decay = 32, .lora_iclr = 32,
		.lora_value = 32, .lora_gate = 32,
	};
	struct anser_err err = { 0 };
	struct anser_model *m = NULL;
	char path[1100];
	static const struct {
		const char *name;
		enum anser_dtype t;
	} want[] = {
		{ "blocks.1.att.key.weight", ANSER_DTYPE_Q4_0 },
		{ "blocks.0.ffn.value.weight", ANSER_DTYPE_Q4_0 },
		{ "head.weight", ANSER_DTYPE_Q8_0 },
		{ "emb.weight", ANSER_DTYPE_BF16 },
		{ "blocks.0.att.w1", ANSER_DTYPE_BF16 },
		{ "blocks.1.ln1.weight", ANSER_DTYPE_BF16 },
	};
	int bad = 0;

	snprintf(path, sizeof(path), "%s/random-q4.anser", tmpdir);
	if (!CHECK(anser_random_model(path, &hp, ANSER_DTYPE_Q4_0, 3, &err) ==
	           ANSER_OK && anser_model_open(path, &m, &err) == ANSER_OK,
	           "a random model in q4_0 is written and opens")) {
		printf("#   %s\n", err.msg);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		long k = anser_model_find(m, want[i].name);
		bad += k < 0 || anser_model_tensor(m, (size_t)k)->dtype != want[i].t;
	}
	CHECK(bad == 0, "random q4_0: matrices q4_0, head q8_0, the rest bf16");
	anser_model_free(m);
	unlink(path);
}

int main(void)
{
	char src[1100], vocab[1100], out[1100];
	const char *root = getenv("ANSER_ROOT");
	struct anser_convert_opts o = { .dtype = -1, .vocab = vocab };
	struct anser_err err = { 0 };

	if (!mkdtemp(tmpdir))
		return 1;
	snprintf(src, sizeof(src), "%s/tests/fixtures/golden/tiny.pth", root ? root : ".");
	snprintf(vocab, sizeof(vocab), "%s/vocab.txt", tmpdir);
	snprintf(out, sizeof(out), "%s/tiny.anser", tmpdir);
	write_vocab(vocab);
	if (!CHECK(anser_convert_pth(src, out, &o, NULL, &err) == ANSER_OK,
	           "tiny converts with a small vocab")) {
		printf("#   %s\n", err.msg);
		return done();
	}
	good = load(out, &good_len);
	{
		char msg[600];
		CHECK(parse(good, good_len, msg, sizeof(msg)) == ANSER_OK,
		      "the untouched file parses and verifies");
	}
	test_public_api(out);
	test_no_mmap(out);
	test_lies();
	test_bit_flips();
	test_truncation();
	test_meta_mismatch(out);
	test_quant_files(src);
	test_random_quant();
	unlink(out);
	unlink(vocab);
	rmdir(tmpdir);
	free(good);
	return done();
}
