/*
 * tokenizer.c - the RWKV World tokenizer: greedy longest match over bytes.
 *
 * Data structure: a byte trie flattened in breadth-first order.  Node i has
 * the label byte labels[i] (the edge from its parent) and its children are
 * the nodes [nodes[i].child, nodes[i + 1].child): breadth-first numbering
 * makes every node's children contiguous and, because the tokens are sorted
 * before the trie is laid out, sorted by label.  Every single byte is a token
 * (the constructor insists), so the root's children are exactly nodes 1..256,
 * and a 64 Ki table indexed by the first two bytes gives the depth-2 node
 * directly; below that a child is found by a linear scan of the labels (most
 * nodes have one to four children) or a binary search of long lists.
 *
 * Memory: 9 bytes per node (8 in nodes[], 1 in labels[]), the token bytes, a
 * 4-byte offset per token and the 256 KB pair table.  The World vocab has
 * 65529 tokens of 373358 bytes and 116079 trie nodes: 1.04 MB of trie,
 * 0.37 MB of bytes, 0.26 MB of offsets and 0.26 MB of pair table, 1.9 MB in
 * all.  (A 256-way trie would need 116079 * 1 KB.)  The table buys a third
 * more encoding speed: depth-1 nodes have up to 124 children.
 *
 * Building: vocab_parse decodes the tokens, an MSD radix sort orders them,
 * and one pass over the sorted array lays out the trie (about 5 ms for the
 * World vocab).  Nothing is modified afterwards, so concurrent encodes need
 * no locks.
 */
#include <assert.h>

#include "vocab.h"

/* One trie node.  tok is the id of the token spelled by the path from the
 * root to this node, or 0 when that path is only a prefix. */
struct tok_node {
	uint32_t child; /* index of the first child; children end at node i+1's */
	int32_t tok;
};

struct anser_tokenizer {
	int n_tokens;           /* highest id; ids 1..n_tokens have bytes */
	uint32_t n_nodes;
	struct tok_node *nodes; /* n_nodes + 1: the last only ends the children */
	uint8_t *labels;        /* n_nodes: the byte on the edge into node i */
	uint8_t *bytes;         /* every token's bytes, in id order */
	uint32_t *off;          /* n_tokens + 2: id's bytes are [off[id], off[id+1]) */
	uint32_t *pair;         /* 65536: node of the two bytes b0 b1, or 0 */
};

/* ---------------------------------------------------------------- building */

/* What vocab_parse hands us, collected into growing arrays. */
struct collect {
	uint8_t *bytes;
	size_t nbytes, cap_bytes;
	uint32_t *off;      /* off[id + 1] is the end of token id */
	size_t cap_off;
	int have_byte[256]; /* single-byte tokens seen */
	int nomem, toobig;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 1024;
	void *q;

	if (need <= *cap)
		return 1;
	while (n < need)
		n *= 2;
	q = anser_realloc(*p, n * elem);
	if (!q)
		return 0;
	*p = q;
	*cap = n;
	return 1;
}

static int collect_token(void *ctx, int id, const uint8_t *b, size_t n)
{
	struct collect *c = ctx;

	if (c->nbytes + n > UINT32_MAX) {
		c->toobig = 1;
		return 1;
	}
	/* vocab_parse guarantees ids 1, 2, 3...; off[0] and off[1] are 0 so
	 * that token 0 has no bytes. */
	if (!grow((void **)&c->bytes, &c->cap_bytes, c->nbytes + n, 1) ||
	    !grow((void **)&c->off, &c->cap_off, (size_t)id + 2,
	          sizeof(uint32_t))) {
		c->nomem = 1;
		return 1;
	}
	if (id == 1)
		c->off[0] = c->off[1] = 0;
	memcpy(c->bytes + c->nbytes, b, n);
	c->nbytes += n;
	c->off[id + 1] = (uint32_t)c->nbytes;
	if (n == 1)
		c->have_byte[b[0]] = 1;
	return 0;
}

/*
 * A token being sorted.  key caches its first 8 bytes, big-endian and padded
 * with zeros, so that most comparisons and radix digits are integer
 * operations instead of reads scattered over the token bytes.
 */
struct sort_ent {
	uint64_t key;
	const uint8_t *p;
	uint32_t len;
	int32_t id;
};

static uint64_t key8(const uint8_t *p, size_t n)
{
	uint64_t k = 0;

	for (size_t i = 0; i < 8; i++)
		k = k << 8 | (i < n ? p[i] : 0);
	return k;
}

/* Byte d of e; d must be below e->len. */
static inline uint8_t ent_byte(const struct sort_ent *e, size_t d)
{
	return d < 8 ? (uint8_t)(e->key >> (56 - 8 * d)) : e->p[d];
}

/* Byte order from position d on (the bytes before d are equal), shorter
 * first, then by id so that equal tokens keep file order. */
static int ent_less(const struct sort_ent *a, const struct sort_ent *b,
                    size_t d)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = 0;

	if (a->key != b->key)
		return a->key < b->key; /* zero padding sorts a prefix first */
	if (n > 8 && n > d)
		c = memcmp(a->p + (d > 8 ? d : 8), b->p + (d > 8 ? d : 8),
		           n - (d > 8 ? d : 8));
	if (c)
		return c < 0;
	if (a->len != b->len)
		return a->len < b->len;
	return a->id < b->id;
}

/*
 * MSD radix sort of a[0..n), whose first d bytes are all equal.  Bucket 0
 * holds the tokens that end at d; the counting pass is stable, so equal
 * tokens stay in id order.  Small ranges use insertion sort.  The largest
 * bucket is sorted by the loop rather than a call, so the recursion (whose
 * buckets are at most half the range) stays under 17 frames even for a
 * hostile vocab of 'a', 'aa', 'aaa', ...
 */
static void radix_sort(struct sort_ent *a, struct sort_ent *tmp, size_t n,
                       size_t d)
{
	for (;;) {
		uint32_t count[258] = { 0 }, pos[257];
		uint16_t used[257]; /* the non-empty buckets */
		int big = 0, nb;

		if (n < 48) {
			for (size_t i = 1; i < n; i++) {
				struct sort_ent x = a[i];
				size_t j = i;
				while (j > 0 && ent_less(&x, &a[j - 1], d)) {
					a[j] = a[j - 1];
					j--;
				}
				a[j] = x;
			}
			return;
		}
		for (size_t i = 0; i < n; i++)
			count[(a[i].len > d ? 1 + ent_byte(&a[i], d) : 0) + 1]++;
		nb = 0;
		for (int b = 0; b < 257; b++) {
			if (count[b + 1])
				used[nb++] = (uint16_t)b;
			count[b + 1] += count[b];
			pos[b] = count[b];
		}
		for (size_t i = 0; i < n; i++)
			tmp[pos[a[i].len > d ? 1 + ent_byte(&a[i], d) : 0]++] = a[i];
		memcpy(a, tmp, n * sizeof(*a));
		for (int k = 0; k < nb; k++) {
			int b = used[k];
			if (count[b + 1] - count[b] > count[big + 1] - count[big])
				big = b;
		}
		for (int k = 0; k < nb; k++) {
			int b = used[k];
			if (b != 0 && b != big && count[b + 1] - count[b] > 1)
				radix_sort(a + count[b], tmp, count[b + 1] - count[b],
				           d + 1);
		}
		if (big == 0)
			return; /* bucket 0 holds equal tokens, already in order */
		a += count[big];
		n = count[big + 1] - count[big];
		d++;
	}
}

/*
 * Lays out the trie from the sorted tokens s[0..n) in one pass.  A node is a
 * distinct prefix; token i introduces the prefixes longer than lcp[i], its
 * common prefix with token i-1.  Breadth-first numbering orders nodes by
 * depth, then by the position of the token that introduced them, so with
 * per-depth counts the number of each new node is known on the spot, and so
 * is where its children start: after the next depth's nodes introduced
 * before it.  (A queue-based breadth-first walk took twice as long: it branches
 * unpredictably once per node per level.)
 */
static enum anser_status build_trie(struct anser_tokenizer *t,
                                    const struct sort_ent *s, size_t n,
                                    struct anser_err *err)
{
	/* Per depth 0..VOCAB_MAX_TOKEN+1: nodes so far, first node, latest. */
	uint32_t count[VOCAB_MAX_TOKEN + 2] = { 0 };
	uint32_t first[VOCAB_MAX_TOKEN + 3], cur[VOCAB_MAX_TOKEN + 2];
	uint16_t *lcp;
	size_t n_nodes = 1;

	lcp = anser_malloc(n * sizeof(*lcp));
	if (!lcp)
		return anser_errf(err, ANSER_E_NOMEM,
		                  "out of memory building the tokenizer");
	for (size_t i = 0; i < n; i++) {
		size_t l = 0;
		if (i > 0) {
			size_t m = s[i].len < s[i - 1].len ? s[i].len :
			                                      s[i - 1].len;
			uint64_t x = s[i].key ^ s[i - 1].key;
			l = x ? (size_t)__builtin_clzll(x) / 8 : 8;
			if (l >= 8)
				while (l < m && s[i].p[l] == s[i - 1].p[l])
					l++;
			if (l > m)
				l = m;
		}
		lcp[i] = (uint16_t)l; /* at most VOCAB_MAX_TOKEN */
		for (size_t d = l + 1; d <= s[i].len; d++)
			count[d]++;
		n_nodes += s[i].len - l;
	}
	t->n_nodes = (uint32_t)n_nodes;
	t->nodes = anser_malloc((n_nodes + 1) * sizeof(*t->nodes));
	t->labels = anser_malloc(n_nodes);
	if (!t->nodes || !t->labels) {
		anser_free(lcp);
		return anser_errf(err, ANSER_E_NOMEM,
		                  "out of memory building the tokenizer");
	}
	first[0] = 0;
	count[0] = 1;
	for (int d = 0; d <= VOCAB_MAX_TOKEN + 1; d++)
		first[d + 1] = first[d] + count[d];
	memset(count, 0, sizeof(count));
	t->nodes[0] = (struct tok_node){ 1, 0 };
	t->labels[0] = 0;
	cur[0] = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t d = lcp[i] + 1u; d <= s[i].len; d++) {
			uint32_t k = first[d] + count[d]++;
			t->nodes[k].child = first[d + 1] + count[d + 1];
			t->nodes[k].tok = 0;
			t->labels[k] = ent_byte(&s[i], d - 1);
			cur[d] = k;
		}
		/* Equal tokens are adjacent, in id order: the last (highest
		 * id) wins, as in the official tokenizers, whose bytes->id
		 * dict keeps the last line. */
		t->nodes[cur[s[i].len]].tok = s[i].id;
	}
	t->nodes[n_nodes] = (struct tok_node){ (uint32_t)n_nodes, 0 };
	anser_free(lcp);
	t->pair = anser_calloc(65536, sizeof(*t->pair));
	if (!t->pair)
		return anser_errf(err, ANSER_E_NOMEM,
		                  "out of memory building the tokenizer");
	for (uint32_t b0 = 0; b0 < 256; b0++)
		for (uint32_t k = t->nodes[1 + b0].child;
		     k < t->nodes[2 + b0].child; k++)
			t->pair[b0 << 8 | t->labels[k]] = k;
	return ANSER_OK;
}

enum anser_status anser_tokenizer_new(const char *vocab_text, size_t len,
                                      struct anser_tokenizer **out,
                                      struct anser_err *err)
{
	struct collect c = { 0 };
	struct anser_tokenizer *t = NULL;
	struct sort_ent *s = NULL, *tmp = NULL;
	enum anser_status st;
	int n = 0;

	*out = NULL;
	if (!vocab_text && len)
		return anser_errf(err, ANSER_E_ARG, "no vocab text");
	st = vocab_parse(vocab_text ? vocab_text : "", len, collect_token, &c,
	                 &n, err);
	if (st == ANSER_OK && c.nomem)
		st = anser_errf(err, ANSER_E_NOMEM,
		                "out of memory reading the vocab");
	if (st == ANSER_OK && c.toobig)
		st = anser_errf(err, ANSER_E_FORMAT,
		                "vocab holds more than 4 GiB of token bytes");
	if (st)
		goto fail;
	/* Without every single byte some input would have no encoding; the
	 * encoder relies on root children 1..256 being the bytes 0..255. */
	for (int b = 0; b < 256; b++) {
		if (!c.have_byte[b]) {
			st = anser_errf(err, ANSER_E_FORMAT,
			                "vocab has no token for the byte 0x%02x, so "
			                "not every input could be encoded", b);
			goto fail;
		}
	}
	t = anser_calloc(1, sizeof(*t));
	s = anser_malloc((size_t)n * sizeof(*s));
	tmp = anser_malloc((size_t)n * sizeof(*tmp));
	if (!t || !s || !tmp) {
		st = anser_errf(err, ANSER_E_NOMEM,
		                "out of memory building the tokenizer");
		goto fail;
	}
	t->n_tokens = n;
	t->bytes = c.bytes;
	t->off = c.off;
	c.bytes = NULL;
	c.off = NULL;
	for (int id = 1; id <= n; id++)
	{
		const uint8_t *p = t->bytes + t->off[id];
		uint32_t l = t->off[id + 1] - t->off[id];
		s[id - 1] = (struct sort_ent){ key8(p, l), p, l, id };
	}
	radix_sort(s, tmp, (size_t)n, 0);
	if ((st = build_trie(t, s, (size_t)n, err)))
		goto fail;
	anser_free(s);
	anser_free(tmp);
	*out = t;
	return ANSER_OK;
fail:
	anser_free(c.bytes);
	anser_free(c.off);
	anser_free(s);
	anser_free(tmp);
	anser_tokenizer_free(t);
	return st;
}

enum anser_status anser_tokenizer_from_model(const struct anser_model *m,
                                             struct anser_tokenizer **out,
                                             struct anser_err *err)
{
	size_t len = 0;
	const char *text = anser_model_vocab(m, &len);

	*out = NULL;
	if (!text)
		return anser_errf(err, ANSER_E_NOTFOUND,
		                  "model has no vocab (it was converted with "
		                  "--no-vocab); convert it again with --vocab FILE");
	return anser_tokenizer_new(text, len, out, err);
}

void anser_tokenizer_free(struct anser_tokenizer *t)
{
	if (!t)
		return;
	anser_free(t->nodes);
	anser_free(t->labels);
	anser_free(t->bytes);
	anser_free(t->off);
	anser_free(t->pair);
	anser_free(t);
}

int anser_tokenizer_n_tokens(const struct anser_tokenizer *t)
{
	return t->n_tokens;
}

/* ---------------------------------------------------------------- encoding */

/* The child of `node` with label b, or 0 (the root is nobody's child). */
static inline uint32_t find_child(const struct anser_tokenizer *t,
                                  uint32_t node, uint8_t b)
{
	uint32_t lo = t->nodes[node].child, hi = t->nodes[node + 1].child;

	/* Scanning is faster than halving on all but long lists: the
	 * branches are predictable (measured on LAMBADA). */
	if (hi - lo <= 32) {
		for (; lo < hi; lo++)
			if (t->labels[lo] == b)
				return lo;
		return 0;
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->labels[mid] < b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nodes[node + 1].child && t->labels[lo] == b ? lo : 0;
}

size_t anser_tokenizer_encode(const struct anser_tokenizer *t,
                              const void *text, size_t len, int32_t *ids)
{
	const uint8_t *s = text;
	size_t i = 0, n = 0;

	while (i < len) {
		/* Root child 1 + b is the single byte b, always a token; the
		 * pair table jumps to depth 2. */
		uint32_t node = 1u + s[i];
		int32_t best = t->nodes[node].tok;
		size_t best_end = i + 1;

		if (i + 1 < len && (node = t->pair[s[i] << 8 | s[i + 1]])) {
			if (t->nodes[node].tok) {
				best = t->nodes[node].tok;
				best_end = i + 2;
			}
			for (size_t j = i + 2; j < len; j++) {
				node = find_child(t, node, s[j]);
				if (!node)
					break;
				if (t->nodes[node].tok) {
					best = t->nodes[node].tok;
					best_end = j + 1;
				}
			}
		}
		ids[n++] = best;
		i = best_end;
	}
	return n;
}

const uint8_t *anser_tokenizer_token(const struct anser_tokenizer *t,
                                     int32_t id, size_t *len)
{
	if (id < 1 || id > t->n_tokens) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = t->off[id + 1] - t->off[id];
	return t->bytes + t->off[id];
}

/* ---------------------------------------------------------------- UTF-8 */

/*
 * The stream follows the well-formed byte sequences of Unicode 15, table 3-7
 * (RFC 3629): the second byte's range depends on the lead, which rules out
 * overlong forms (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and
 * code points past U+10FFFF (F4 90.., F5..FF).  A byte that cannot extend the
 * pending prefix to a well-formed sequence releases the prefix unchanged and
 * is then looked at afresh as a possible lead, so no byte is ever lost or
 * held longer than the three it takes to know.
 */

/* Bytes in the sequence that lead byte c starts; 0 if c cannot lead. */
static int utf8_len(uint8_t c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* Whether c may follow the prefix p[0..n) (n >= 1, p[0] a lead byte). */
static int utf8_next_ok(const uint8_t *p, size_t n, uint8_t c)
{
	uint8_t lo = 0x80, hi = 0xbf;

	if (n == 1) {
		switch (p[0]) {
		case 0xe0: lo = 0xa0; break;
		case 0xed: hi = 0x9f; break;
		case 0xf0: lo = 0x90; break;
		case 0xf4: hi = 0x8f; break;
		default: break;
		}
	}
	return c >= lo && c <= hi;
}

size_t anser_utf8_stream_push(struct anser_utf8_stream *s, const uint8_t *in,
                              size_t n, uint8_t *out)
{
	size_t w = 0;

	assert(s->n < 4);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		int need;

		if (s->n) {
			if (utf8_next_ok(s->pending, s->n, c)) {
				s->pending[s->n++] = c;
				if ((int)s->n == utf8_len(s->pending[0])) {
					memcpy(out + w, s->pending, s->n);
					w += s->n;
					s->n = 0;
				}
				continue;
			}
			/* The prefix can never complete: let it through. */
			memcpy(out + w, s->pending, s->n);
			w += s->n;
			s->n = 0;
		}
		need = utf8_len(c);
		if (need > 1)
			s->pending[s->n++] = c;
		else
			out[w++] = c; /* ASCII, or a byte that cannot lead */
	}
	return w;
}

size_t anser_utf8_stream_flush(struct anser_utf8_stream *s, uint8_t *out)
{
	size_t n = s->n;

	assert(n < 4);
	memcpy(out, s->pending, n);
	s->n = 0;
	return n;
}
