/*
 * fuzz_hub_json.c - libFuzzer target: the Hub client's parsers of API
 * bodies on any bytes: a revision answer ({"sha": ...}) and a page of a
 * tree listing (a JSON array of files).
 */
#include "../../lib/hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char commit[41], *body = malloc(size + 1);
	size_t n;

	if (!body)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0'; /* hub_perform NUL-terminates bodies */
	if (hub_parse_revision(body, commit) && !hub_is_hex(commit, 40))
		abort();
	hub_parse_tree("org/name", body, &n, NULL);
	free(body);
	return 0;
}
