/*
 * pickle.h - a restricted unpickler for what torch.save writes.
 *
 * It understands the stack machine of protocols 2-4 for plain data (ints,
 * floats, strings, tuples, lists, dicts) and exactly four kinds of global:
 * collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 * torch._utils._rebuild_parameter and the torch.*Storage classes.  Calling
 * them builds inert descriptions (a dict, a tensor view, a storage reference);
 * nothing is ever imported or executed.  Any other global or opcode is an
 * error that names it.
 */
#ifndef ANSER_PICKLE_H
#define ANSER_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/internal.h"

enum pk_type {
	PK_NONE,
	PK_BOOL,
	PK_INT,
	PK_FLOAT,
	PK_STR,     /* unicode string, UTF-8 bytes */
	PK_TUPLE,
	PK_LIST,
	PK_DICT,    /* dict or OrderedDict; keeps insertion order */
	PK_GLOBAL,  /* one of the whitelisted callables/classes */
	PK_STORAGE, /* a persistent-id storage reference */
	PK_TENSOR,  /* the result of _rebuild_tensor_v2 */
};

enum pk_global {
	PK_G_ORDERED_DICT,
	PK_G_REBUILD_TENSOR_V2,
	PK_G_REBUILD_PARAMETER,
	PK_G_STORAGE, /* a storage class; the dtype says which */
};

struct pk_value;

struct pk_storage {
	enum anser_dtype dtype;
	const char *key;    /* names the zip entry <root>/data/<key> */
	uint64_t numel;     /* elements, as the persistent id declares */
};

struct pk_tensor {
	struct pk_storage *storage;
	int64_t offset;                  /* in elements */
	int ndim;
	int64_t shape[ANSER_MAX_DIMS];
	int64_t stride[ANSER_MAX_DIMS];  /* in elements */
};

struct pk_value {
	enum pk_type type;
	int depth; /* nesting depth of containers below this one */
	union {
		int64_t i;          /* PK_BOOL, PK_INT */
		double f;           /* PK_FLOAT */
		struct {
			char *s;    /* NUL-terminated, may hold NULs */
			size_t len;
		} str;
		struct {
			struct pk_value **v; /* tuple/list items; dict: k0 v0 k1 v1 */
			size_t n, cap;
		} seq;
		struct {
			enum pk_global kind;
			enum anser_dtype dtype; /* PK_G_STORAGE */
		} global;
		struct pk_storage storage;
		struct pk_tensor tensor;
	} u;
};

/* Everything one load allocated; freed at once by pk_free. */
struct pk_doc {
	struct pk_value *root;
	void **allocs;
	size_t n_allocs, cap_allocs;
	uint64_t budget; /* bytes left that this load may allocate */
};

/* Hard limits; a pickle that needs more is refused. */
#define PK_MAX_DEPTH 64        /* nesting of containers */
#define PK_MAX_GLOBAL_LEN 256  /* "module\nname\n" line length */

/*
 * Runs the pickle in buf[0..len).  On success doc->root is the result.  The
 * total memory a load may allocate is bounded by a multiple of len.
 */
enum anser_status pk_load(const uint8_t *buf, size_t len, struct pk_doc *doc,
                          struct anser_err *err);
void pk_free(struct pk_doc *doc);

/* "int", "tuple", ... for messages. */
const char *pk_type_name(enum pk_type t);

#endif /* ANSER_PICKLE_H */
