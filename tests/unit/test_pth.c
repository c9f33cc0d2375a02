/*
 * test_pth.c - the .pth reader against values PyTorch itself computed, views,
 * state files, and the conversion round trip: every tensor read back from the
 * native file equals the checkpoint's values exactly.
 */
#include <cJSON.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/dtype.h"
#include "../../lib/internal.h"
#include "../harness.h"

static char root[1024], fixtures[1100], gen[1024], golden[1100], tmpdir[1024];

static void paths(void)
{
	const char *r = getenv("ANSER_ROOT"), *g = getenv("ANSER_FIXTURES");
	const char *s = getenv("ANSER_GOLDEN");

	snprintf(root, sizeof(root), "%s", r ? r : ".");
	snprintf(fixtures, sizeof(fixtures), "%s/tests/fixtures", root);
	snprintf(gen, sizeof(gen), "%s", g ? g : "build/fixtures");
	snprintf(golden, sizeof(golden), "%s", s ? s : "");
	if (!s)
		snprintf(golden, sizeof(golden), "%s/../shared/golden", root);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/anser-test-pth-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void sha_hex(const void *p, size_t n, char hex[65])
{
	struct anser_sha256 s;
	uint8_t d[32];

	anser_sha256_init(&s);
	anser_sha256_update(&s, p, n);
	anser_sha256_final(&s, d);
	anser_hex(d, 32, hex);
}

/* Reads tensor i as f32 (caller frees). */
static float *read_f32(struct anser_pth *p, size_t i, struct anser_err *err)
{
	const struct anser_tensor_info *t = anser_pth_tensor(p, i);
	float *v = malloc(t->numel * 4 + 4);

	if (anser_pth_read(p, i, ANSER_DTYPE_F32, v, t->numel * 4, err)) {
		free(v);
		return NULL;
	}
	return v;
}

/*
 * golden-tensors.txt has, per tensor, the sha256 of its float32 values as
 * PyTorch computed them: an independent check of the reader.
 */
static void test_golden_values(const char *model, const char *dir)
{
	char path[2048], line[1024], what[256], hex[65];
	struct anser_err err = { 0 };
	struct anser_pth *p = NULL;
	FILE *f;
	int lines = 0, bad = 0;

	snprintf(path, sizeof(path), "%s/%s.pth", dir, model);
	if (access(path, R_OK)) {
		snprintf(what, sizeof(what), "%s.pth not found in %s", model, dir);
		t_skip(what);
		return;
	}
	snprintf(what, sizeof(what), "golden %s.pth opens", model);
	if (!CHECK(anser_pth_open(path, &p, &err) == ANSER_OK, what)) {
		printf("#   %s\n", err.msg);
		return;
	}
	snprintf(path, sizeof(path), "%s/golden-tensors.txt", fixtures);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char m[32], name[256], dt[16], shape[128], sum32[65], sumraw[65];
		if (sscanf(line, "%31s %255s %15s %127s %64s %64s", m, name, dt, shape,
		           sum32, sumraw) != 6 || strcmp(m, model))
			continue;
		lines++;
		long i = anser_pth_find(p, name);
		if (i < 0) {
			bad++;
			continue;
		}
		const struct anser_tensor_info *t = anser_pth_tensor(p, (size_t)i);
		char got_shape[128] = "";
		size_t off = 0;
		for (int d = 0; d < t->ndim; d++)
			off += (size_t)snprintf(got_shape + off, sizeof(got_shape) - off,
			                        "%s%lld", d ? "," : "", (long long)t->shape[d]);
		float *v = read_f32(p, (size_t)i, &err);
		if (!v) {
			bad++;
			continue;
		}
		sha_hex(v, t->numel * 4, hex);
		if (strcmp(hex, sum32) || strcmp(got_shape, shape) ||
		    strcmp(anser_dtype_name(t->dtype), dt)) {
			printf("#   %s: %s %s %s\n", name, got_shape, dt, hex);
			bad++;
		}
		free(v);
	}
	if (f)
		fclose(f);
	snprintf(what, sizeof(what),
	         "%s: all %d tensors have PyTorch's names, shapes, types and values",
	         model, lines);
	CHECK(lines > 0 && bad == 0 && (size_t)lines == anser_pth_n_tensors(p), what);
	anser_pth_free(p);
}

static void test_manifest(const char *model, const char *dir)
{
	char path[2048], what[256];
	struct anser_err err = { 0 };
	struct anser_hparams hp;
	struct anser_pth *p = NULL;
	char *text;
	cJSON *j, *m;

	snprintf(path, sizeof(path), "%s/%s.pth", dir, model);
	if (access(path, R_OK) || anser_pth_open(path, &p, &err)) {
		t_skip("model not available");
		return;
	}
	snprintf(path, sizeof(path), "%s/tests/fixtures/golden/manifest.json", root);
	text = slurp(path, NULL);
	j = cJSON_Parse(text);
	m = cJSON_GetObjectItem(j, model);
	snprintf(what, sizeof(what), "%s: hyperparameters match the manifest", model);
	CHECK(anser_pth_hparams(p, &hp, &err) == ANSER_OK && m &&
	      hp.n_layer == cJSON_GetObjectItem(m, "n_layer")->valueint &&
	      hp.n_embd == cJSON_GetObjectItem(m, "n_embd")->valueint &&
	      hp.head_size == cJSON_GetObjectItem(m, "head_size")->valueint &&
	      hp.vocab_size == cJSON_GetObjectItem(m, "vocab_size")->valueint &&
	      hp.ffn_size == 4 * hp.n_embd && hp.kind == ANSER_KIND_MODEL, what);
	cJSON_Delete(j);
	free(text);
	anser_pth_free(p);
}

/*
 * Converts, then compares every native tensor with the checkpoint's values:
 * exactly (widening bf16/f16 to f32 is exact, and the same type is a copy).
 */
static void test_roundtrip(const char *src, const char *label, int dtype)
{
	char out[2048], what[256];
	struct anser_convert_opts o = { .dtype = dtype };
	struct anser_convert_result res;
	struct anser_err err = { 0 };
	struct anser_pth *p = NULL;
	struct anser_model *m = NULL;
	int bad = 0;

	if (access(src, R_OK)) {
		t_skip("checkpoint not available");
		return;
	}
	snprintf(out, sizeof(out), "%s/%s-%d.anser", tmpdir, label, dtype);
	snprintf(what, sizeof(what), "%s converts to %s", label,
	         dtype < 0 ? "its own type" : anser_dtype_name(dtype));
	if (!CHECK(anser_convert_pth(src, out, &o, &res, &err) == ANSER_OK, what)) {
		printf("#   %s\n", err.msg);
		return;
	}
	anser_pth_open(src, &p, &err);
	snprintf(what, sizeof(what), "%s: the native file opens and verifies", label);
	if (!CHECK(anser_model_open(out, &m, &err) == ANSER_OK &&
	           anser_model_verify(m, &err) == ANSER_OK, what)) {
		printf("#   %s\n", err.msg);
		anser_pth_free(p);
		return;
	}
	CHECK(anser_model_n_tensors(m) == anser_pth_n_tensors(p) &&
	      res.n_tensors == anser_pth_n_tensors(p), "same number of tensors");
	for (size_t i = 0; i < anser_pth_n_tensors(p); i++) {
		const struct anser_tensor_info *t = anser_pth_tensor(p, i);
		long k = anser_model_find(m, t->name);
		const struct anser_tensor_info *u;
		size_t nbytes;
		const void *data;
		float *want;

		if (k < 0) {
			bad++;
			continue;
		}
		u = anser_model_tensor(m, (size_t)k);
		data = anser_model_tensor_data(m, (size_t)k, &nbytes);
		if (((uintptr_t)data) % 64 || u->ndim != t->ndim ||
		    memcmp(u->shape, t->shape, sizeof(t->shape)) || u->numel != t->numel) {
			bad++;
			continue;
		}
		want = read_f32(p, i, &err);
		for (uint64_t e = 0; want && e < t->numel; e++) {
			float got = load_f32(u->dtype, data, e);
			/* Narrowing conversions round: compare to the rounded value. */
			float w = want[e];
			if (u->dtype == ANSER_DTYPE_F16)
				w = f16_to_f32(f32_to_f16(w));
			else if (u->dtype == ANSER_DTYPE_BF16)
				w = bf16_to_f32(f32_to_bf16(w));
			if (memcmp(&got, &w, 4)) {
				bad++;
				break;
			}
		}
		free(want);
	}
	snprintf(what, sizeof(what), "%s: every tensor reads back equal, 64-byte aligned",
	         label);
	CHECK(bad == 0, what);
	anser_model_free(m);
	anser_pth_free(p);
}

static float json_num(const cJSON *v)
{
	if (cJSON_IsString(v))
		return !strcmp(v->valuestring, "-inf") ? -INFINITY : INFINITY;
	return (float)v->valuedouble;
}

/* Views: offsets, strides, shared storages, scalars, empty tensors. */
static void test_views(const char *pth, const char *json, const char *label,
                       int min_n)
{
	struct anser_err err = { 0 };
	struct anser_pth *p = NULL;
	char *text = slurp(json, NULL), what[800];
	cJSON *j = text ? cJSON_Parse(text) : NULL, *e;
	int n = 0, bad = 0;

	if (!j || anser_pth_open(pth, &p, &err)) {
		snprintf(what, sizeof(what), "%s opens (%s)", label, err.msg);
		CHECK(0, what);
		free(text);
		return;
	}
	cJSON_ArrayForEach(e, j) {
		long i = anser_pth_find(p, e->string);
		cJSON *vals = cJSON_GetObjectItem(e, "values"), *v;
		float *got;
		uint64_t k = 0;

		n++;
		if (i < 0 || !(got = read_f32(p, (size_t)i, &err))) {
			printf("#   %s: %s\n", e->string, err.msg);
			bad++;
			continue;
		}
		if ((uint64_t)cJSON_GetArraySize(vals) != anser_pth_tensor(p, (size_t)i)->numel)
			bad++;
		cJSON_ArrayForEach(v, vals) {
			float w = json_num(v);
			if (memcmp(&got[k], &w, 4)) { /* exact, and keeps -0.0 */
				printf("#   %s[%llu] = %g, want %g\n", e->string,
				       (unsigned long long)k, got[k], w);
				bad++;
				break;
			}
			k++;
		}
		free(got);
	}
	snprintf(what, sizeof(what), "%s: %d views read with exact values", label, n);
	CHECK(n >= min_n && bad == 0, what);
	cJSON_Delete(j);
	free(text);
	anser_pth_free(p);
}

static void test_state_file(void)
{
	char path[2048];
	struct anser_err err = { 0 };
	struct anser_hparams hp;
	struct anser_pth *p = NULL;
	size_t len;
	float *v;
	char *want;

	snprintf(path, sizeof(path), "%s/state-micro.pth", fixtures);
	CHECK(anser_pth_open(path, &p, &err) == ANSER_OK, "a state-tuning .pth opens");
	CHECK(p && !strcmp(anser_pth_architecture(p), "rwkv7-state"),
	      "it is recognised as an RWKV-7 state");
	CHECK(p && anser_pth_hparams(p, &hp, &err) == ANSER_OK &&
	      hp.kind == ANSER_KIND_STATE && hp.n_layer == 1 && hp.n_head == 1 &&
	      hp.head_size == 64 && hp.n_embd == 64, "its shape gives L1 H1 N64");
	snprintf(path, sizeof(path), "%s/state-micro.expect.f32", fixtures);
	want = slurp(path, &len);
	v = p ? read_f32(p, 0, &err) : NULL;
	CHECK(v && want && len == 64 * 64 * 4 && !memcmp(v, want, len),
	      "time_state values in (h, i, j) order as PyTorch holds them");
	free(v);
	free(want);
	{
		char in[2048], out[2048];
		snprintf(in, sizeof(in), "%s/state-micro.pth", fixtures);
		snprintf(out, sizeof(out), "%s/state.anser", tmpdir);
		CHECK(anser_convert_pth(in, out, NULL, NULL, &err) == ANSER_E_UNSUPPORTED &&
		      strstr(err.msg, "state file") && access(out, F_OK),
		      "converting a state file is refused, pointing to --state-in");
	}
	anser_pth_free(p);
}

static void test_module_state_dict(void)
{
	char path[2048], json[2048];
	struct anser_err err = { 0 };
	struct anser_hparams hp;
	struct anser_pth *p = NULL;

	snprintf(path, sizeof(path), "%s/mini-module.pth", fixtures);
	snprintf(json, sizeof(json), "%s/mini-module.json", fixtures);
	test_views(path, json, "nn.Module state_dict (BUILD of _metadata)", 4);
	CHECK(anser_pth_open(path, &p, &err) == ANSER_OK &&
	      anser_pth_hparams(p, &hp, &err) == ANSER_E_UNSUPPORTED &&
	      strstr(err.msg, "not an RWKV model"), "a non-RWKV state dict is named as such");
	anser_pth_free(p);
}

static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
			n++;
	if (d)
		closedir(d);
	return n;
}

/* Cancellation and every allocation failure leave nothing behind. */
static void test_failures_leave_nothing(void)
{
	char src[2048], dir[1100], out[1200];
	volatile sig_atomic_t cancel = 1;
	struct anser_convert_opts o = { .dtype = -1, .cancel = &cancel };
	struct anser_err err = { 0 };
	struct anser_model *m;
	struct anser_pth *p;
	int n, bad = 0;
	enum anser_status st;

	snprintf(src, sizeof(src), "%s/tests/fixtures/golden/micro.pth", root);
	snprintf(dir, sizeof(dir), "%s/empty", tmpdir);
	mkdir(dir, 0755);
	snprintf(out, sizeof(out), "%s/micro.anser", dir);
	CHECK(anser_convert_pth(src, out, &o, NULL, &err) == ANSER_E_CANCELLED &&
	      dir_entries(dir) == 0, "a cancelled conversion leaves no file");

	o.cancel = NULL;
	for (n = 0; n < 2000; n++) {
		anser_fail_alloc_after(n);
		st = anser_convert_pth(src, out, &o, NULL, &err);
		anser_fail_alloc_after(-1);
		if (st == ANSER_OK)
			break;
		if (st != ANSER_E_NOMEM || dir_entries(dir) != 0)
			bad++;
	}
	CHECK(bad == 0 && n > 10 && n < 2000,
	      "every failed allocation in convert fails cleanly and leaves no file");
	for (n = 0, bad = 0; n < 2000; n++) {
		anser_fail_alloc_after(n);
		st = anser_model_open(out, &m, &err);
		anser_fail_alloc_after(-1);
		if (st == ANSER_OK) {
			anser_model_free(m);
			break;
		}
		if (st != ANSER_E_NOMEM)
			bad++;
	}
	CHECK(bad == 0 && n < 2000, "every failed allocation in model_open fails cleanly");
	for (n = 0, bad = 0; n < 2000; n++) {
		anser_fail_alloc_after(n);
		st = anser_pth_open(src, &p, &err);
		anser_fail_alloc_after(-1);
		if (st == ANSER_OK) {
			anser_pth_free(p);
			break;
		}
		if (st != ANSER_E_NOMEM)
			bad++;
	}
	CHECK(bad == 0 && n < 2000, "every failed allocation in pth_open fails cleanly");
	unlink(out);
	rmdir(dir);
}

static void cleanup(void)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		printf("# could not remove %s\n", tmpdir);
}

int main(void)
{
	static const char *const models[] = { "micro", "tiny", "small" };
	char src[2048], json[2048];

	paths();
	for (size_t i = 0; i < ARRAY_SIZE(models); i++) {
		snprintf(src, sizeof(src), "%s/golden", fixtures);
		test_golden_values(models[i], src);
		test_manifest(models[i], src);
		snprintf(src, sizeof(src), "%s/golden/%s.pth", fixtures, models[i]);
		test_roundtrip(src, models[i], -1);
		test_roundtrip(src, models[i], ANSER_DTYPE_F32);
		test_roundtrip(src, models[i], ANSER_DTYPE_BF16);
		test_roundtrip(src, models[i], ANSER_DTYPE_F16);
	}
	/* The 17 MB world model is read from the shared folder when present. */
	test_golden_values("world", golden);
	test_manifest("world", golden);
	snprintf(src, sizeof(src), "%s/world.pth", golden);
	test_roundtrip(src, "world", -1);

	snprintf(src, sizeof(src), "%s/views-torch.pth", fixtures);
	snprintf(json, sizeof(json), "%s/views-torch.json", fixtures);
	test_views(src, json, "views saved by PyTorch", 17);
	snprintf(src, sizeof(src), "%s/views.pth", gen);
	snprintf(json, sizeof(json), "%s/views.json", gen);
	test_views(src, json, "views written by mkpth.py", 27);
	snprintf(src, sizeof(src), "%s/good-shuffled.pth", gen);
	test_roundtrip(src, "shuffled", -1);
	snprintf(src, sizeof(src), "%s/module.pth", gen);
	test_roundtrip(src, "module-state-dict", -1);
	snprintf(src, sizeof(src), "%s/no-layer0-v.pth", gen);
	test_roundtrip(src, "no-layer0-v", -1);
	test_state_file();
	test_module_state_dict();
	test_failures_leave_nothing();
	cleanup();
	return done();
}
