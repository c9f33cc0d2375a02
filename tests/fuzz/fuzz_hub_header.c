/*
 * fuzz_hub_header.c - libFuzzer target: the Hub client's header parsing on
 * any bytes.  The input is split into lines as curl hands them over, each
 * fed to hub_resp_header, then every value kept is read the way the client
 * reads it (Content-Range, Retry-After/RateLimit, ETags, Link).
 */
#include "../../lib/hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hub_resp r = { .linked_size = -1, .content_length = -1 };
	const char *p = (const char *)data, *end = p + size;
	uint64_t start, total;
	char etag[65], *next;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		/* curl's buffer is not NUL-terminated: a copy of exactly n
		 * bytes lets ASan see any read past the line. */
		char *line = malloc(n ? n : 1);
		if (!line)
			break;
		memcpy(line, p, n);
		if (!hub_resp_header(&r, line, n))
			abort(); /* only when out of memory */
		free(line);
		p += n;
	}
	r.status = 429;
	hub_retry_after(&r);
	r.status = 503;
	hub_retry_after(&r);
	if (hub_content_range(r.content_range, &start, &total) &&
	    start >= total)
		abort();
	if (r.etag && hub_etag_normalize(r.etag, etag, sizeof(etag)) &&
	    strlen(etag) >= sizeof(etag))
		abort();
	if (r.linked_etag)
		hub_etag_normalize(r.linked_etag, etag, sizeof(etag));
	if (r.commit)
		hub_etag_normalize(r.commit, etag, 41);
	next = hub_link_next(r.link);
	anser_free(next);
	hub_resp_clear(&r);
	return 0;
}
