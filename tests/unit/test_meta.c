/*
 * test_meta.c - the metadata JSON of a native file: what meta_encode writes
 * meta_decode reads back, and hostile values are refused, not converted
 * (fuzz_meta found n_params 1e125 cast to an integer: undefined).
 */
#include "../../lib/meta.h"
#include "../harness.h"

static char *sample(const char *n_params)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
	         "{\"architecture\": \"rwkv7\", \"kind\": \"model\", "
	         "\"n_layer\": 1, \"n_embd\": 64, \"n_head\": 1, "
	         "\"head_size\": 64, \"vocab_size\": 16, \"ffn_size\": 64, "
	         "\"lora\": {\"decay\": 4, \"iclr\": 4, \"value\": 0, "
	         "\"gate\": 4}, \"n_params\": %s, \"tokenizer\": \"none\", "
	         "\"vocab_sha256\": \"\", \"source\": {\"file\": \"x.pth\", "
	         "\"sha256\": \"\", \"dtype\": \"f32\"}, \"created\": \"now\", "
	         "\"tool\": \"anser\"}", n_params);
	return buf;
}

int main(void)
{
	static const char *const bad[] = {
		"1e125", "1e999", "-1", "-1e999", "\"5\"", "null",
		"18446744073709551616",
	};
	struct meta m, m2;
	char *json, *s = sample("30144");

	CHECK_STATUS(meta_decode(s, strlen(s), &m, NULL), ANSER_OK,
	             "a metadata object decodes");
	CHECK(m.hp.n_params == 30144 && m.hp.n_layer == 1 &&
	      !strcmp(m.source_file, "x.pth"), "...with its values");
	json = meta_encode(&m);
	CHECK(json && meta_decode(json, strlen(json), &m2, NULL) == ANSER_OK &&
	      m2.hp.n_params == m.hp.n_params && !strcmp(m2.tool, m.tool),
	      "what meta_encode writes decodes to the same");
	anser_free(json);
	meta_release(&m2);
	meta_release(&m);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char what[128];
		s = sample(bad[i]);
		snprintf(what, sizeof(what), "n_params %s is refused", bad[i]);
		CHECK_STATUS(meta_decode(s, strlen(s), &m, NULL),
		             ANSER_E_FORMAT, what);
	}
	s = sample("1e18");
	CHECK_STATUS(meta_decode(s, strlen(s), &m, NULL), ANSER_OK,
	             "n_params 1e18 is a count");
	meta_release(&m);
	CHECK_STATUS(meta_decode("[1]", 3, &m, NULL), ANSER_E_FORMAT,
	             "not an object is refused");
	CHECK_STATUS(meta_decode("{\"a\":", 5, &m, NULL), ANSER_E_FORMAT,
	             "truncated JSON is refused");
	return done();
}
