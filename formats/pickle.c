/*
 * pickle.c - the restricted unpickler (see pickle.h).
 *
 * The pickle virtual machine has a value stack, a stack of MARK positions and
 * a memo (an array indexed by BINPUT/BINGET).  All three grow at most by a
 * constant per input byte, and every allocation is charged to a budget that is
 * a multiple of the input length, so a small hostile pickle cannot make us
 * allocate much.  Values are never freed one by one: the document owns them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pickle.h"

/* Opcode names, so errors can say what was refused. */
static const struct {
	uint8_t op;
	const char *name;
} opnames[] = {
	{ '(', "MARK" },          { '.', "STOP" },         { '0', "POP" },
	{ '1', "POP_MARK" },      { '2', "DUP" },          { 'F', "FLOAT" },
	{ 'I', "INT" },           { 'J', "BININT" },       { 'K', "BININT1" },
	{ 'L', "LONG" },          { 'M', "BININT2" },      { 'N', "NONE" },
	{ 'P', "PERSID" },        { 'Q', "BINPERSID" },    { 'R', "REDUCE" },
	{ 'S', "STRING" },        { 'T', "BINSTRING" },    { 'U', "SHORT_BINSTRING" },
	{ 'V', "UNICODE" },       { 'X', "BINUNICODE" },   { 'a', "APPEND" },
	{ 'b', "BUILD" },         { 'c', "GLOBAL" },       { 'd', "DICT" },
	{ '}', "EMPTY_DICT" },    { 'e', "APPENDS" },      { 'g', "GET" },
	{ 'h', "BINGET" },        { 'i', "INST" },         { 'j', "LONG_BINGET" },
	{ 'l', "LIST" },          { ']', "EMPTY_LIST" },   { 'o', "OBJ" },
	{ 'p', "PUT" },           { 'q', "BINPUT" },       { 'r', "LONG_BINPUT" },
	{ 's', "SETITEM" },       { 't', "TUPLE" },        { ')', "EMPTY_TUPLE" },
	{ 'u', "SETITEMS" },      { 'G', "BINFLOAT" },     { 0x80, "PROTO" },
	{ 0x81, "NEWOBJ" },       { 0x82, "EXT1" },        { 0x83, "EXT2" },
	{ 0x84, "EXT4" },         { 0x85, "TUPLE1" },      { 0x86, "TUPLE2" },
	{ 0x87, "TUPLE3" },       { 0x88, "NEWTRUE" },     { 0x89, "NEWFALSE" },
	{ 0x8a, "LONG1" },        { 0x8b, "LONG4" },       { 'B', "BINBYTES" },
	{ 'C', "SHORT_BINBYTES" }, { 0x8c, "SHORT_BINUNICODE" },
	{ 0x8d, "BINUNICODE8" },  { 0x8e, "BINBYTES8" },   { 0x8f, "EMPTY_SET" },
	{ 0x90, "ADDITEMS" },     { 0x91, "FROZENSET" },   { 0x92, "NEWOBJ_EX" },
	{ 0x93, "STACK_GLOBAL" }, { 0x94, "MEMOIZE" },     { 0x95, "FRAME" },
	{ 0x96, "BYTEARRAY8" },   { 0x97, "NEXT_BUFFER" }, { 0x98, "READONLY_BUFFER" },
};

static const char *opname(uint8_t op)
{
	for (size_t i = 0; i < ARRAY_SIZE(opnames); i++)
		if (opnames[i].op == op)
			return opnames[i].name;
	return NULL;
}

const char *pk_type_name(enum pk_type t)
{
	static const char *const names[] = {
		"None", "bool", "int", "float", "str", "tuple", "list", "dict",
		"global", "storage", "tensor",
	};
	return (size_t)t < ARRAY_SIZE(names) ? names[t] : "?";
}

/* The allowed globals: module, name, what they become. */
static const struct {
	const char *module, *name;
	enum pk_global kind;
	enum anser_dtype dtype;
} globals[] = {
	{ "collections", "OrderedDict", PK_G_ORDERED_DICT, 0 },
	{ "torch._utils", "_rebuild_tensor_v2", PK_G_REBUILD_TENSOR_V2, 0 },
	{ "torch._utils", "_rebuild_parameter", PK_G_REBUILD_PARAMETER, 0 },
	{ "torch", "FloatStorage", PK_G_STORAGE, ANSER_DTYPE_F32 },
	{ "torch", "HalfStorage", PK_G_STORAGE, ANSER_DTYPE_F16 },
	{ "torch", "BFloat16Storage", PK_G_STORAGE, ANSER_DTYPE_BF16 },
	{ "torch", "DoubleStorage", PK_G_STORAGE, ANSER_DTYPE_F64 },
	{ "torch", "LongStorage", PK_G_STORAGE, ANSER_DTYPE_I64 },
	{ "torch", "IntStorage", PK_G_STORAGE, ANSER_DTYPE_I32 },
	{ "torch", "ShortStorage", PK_G_STORAGE, ANSER_DTYPE_I16 },
	{ "torch", "CharStorage", PK_G_STORAGE, ANSER_DTYPE_I8 },
	{ "torch", "ByteStorage", PK_G_STORAGE, ANSER_DTYPE_U8 },
	{ "torch", "BoolStorage", PK_G_STORAGE, ANSER_DTYPE_BOOL },
};

struct vm {
	const uint8_t *buf;
	size_t len, pos, op_pos;
	struct pk_doc *doc;
	struct anser_err *err;
	struct pk_value **stack;
	size_t n_stack, cap_stack;
	size_t *marks;
	size_t n_marks, cap_marks;
	struct pk_value **memo;
	size_t cap_memo, n_memo_set;
};

/* ----------------------------------------------------------- allocation */

static void *doc_alloc(struct pk_doc *doc, size_t n)
{
	void *p;

	if (n > doc->budget)
		return NULL;
	if (doc->n_allocs == doc->cap_allocs) {
		size_t cap = doc->cap_allocs ? 2 * doc->cap_allocs : 64;
		void **a = anser_realloc(doc->allocs, cap * sizeof(*a));
		if (!a)
			return NULL;
		doc->allocs = a;
		doc->cap_allocs = cap;
	}
	p = anser_calloc(1, n);
	if (!p)
		return NULL;
	doc->budget -= n;
	doc->allocs[doc->n_allocs++] = p;
	return p;
}

void pk_free(struct pk_doc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->n_allocs; i++)
		anser_free(doc->allocs[i]);
	anser_free(doc->allocs);
	memset(doc, 0, sizeof(*doc));
}

/* ----------------------------------------------------------- errors */

static enum anser_status bad(struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum anser_status bad(struct vm *vm, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return anser_errf(vm->err, ANSER_E_FORMAT, "pickle: %s at offset %zu",
	                  what, vm->op_pos);
}

static enum anser_status nomem(struct vm *vm)
{
	return anser_errf(vm->err, ANSER_E_NOMEM,
	                  "pickle: out of memory (or over the %zu-byte pickle's "
	                  "allocation bound) at offset %zu", vm->len, vm->op_pos);
}

/* ----------------------------------------------------------- stack */

static struct pk_value *new_value(struct vm *vm, enum pk_type t)
{
	struct pk_value *v = doc_alloc(vm->doc, sizeof(*v));

	if (v)
		v->type = t;
	return v;
}

static enum anser_status push(struct vm *vm, struct pk_value *v)
{
	if (!v)
		return nomem(vm);
	if (vm->n_stack == vm->cap_stack) {
		size_t cap = vm->cap_stack ? 2 * vm->cap_stack : 64;
		struct pk_value **s;
		if (cap * sizeof(*s) > vm->doc->budget)
			return nomem(vm);
		s = anser_realloc(vm->stack, cap * sizeof(*s));
		if (!s)
			return nomem(vm);
		vm->stack = s;
		vm->cap_stack = cap;
	}
	vm->stack[vm->n_stack++] = v;
	return ANSER_OK;
}

/* Items above the topmost mark belong to it; nothing below may be popped. */
static size_t floor_of_stack(const struct vm *vm)
{
	return vm->n_marks ? vm->marks[vm->n_marks - 1] : 0;
}

static enum anser_status pop(struct vm *vm, struct pk_value **out)
{
	if (vm->n_stack <= floor_of_stack(vm))
		return bad(vm, "stack underflow");
	*out = vm->stack[--vm->n_stack];
	return ANSER_OK;
}

static enum anser_status top(struct vm *vm, struct pk_value **out)
{
	if (vm->n_stack <= floor_of_stack(vm))
		return bad(vm, "stack underflow");
	*out = vm->stack[vm->n_stack - 1];
	return ANSER_OK;
}

/* Pops the topmost mark; *start is the stack index of its first item. */
static enum anser_status pop_mark(struct vm *vm, size_t *start)
{
	if (!vm->n_marks)
		return bad(vm, "no MARK on the stack");
	*start = vm->marks[--vm->n_marks];
	return ANSER_OK;
}

/* ----------------------------------------------------------- containers */

static enum anser_status seq_add(struct vm *vm, struct pk_value *c,
                                 struct pk_value *item)
{
	if (c->u.seq.n == c->u.seq.cap) {
		size_t cap = c->u.seq.cap ? 2 * c->u.seq.cap : 4;
		struct pk_value **v = doc_alloc(vm->doc, cap * sizeof(*v));
		if (!v)
			return nomem(vm);
		if (c->u.seq.n)
			memcpy(v, c->u.seq.v, c->u.seq.n * sizeof(*v));
		/* The old array stays owned by the document until pk_free. */
		c->u.seq.v = v;
		c->u.seq.cap = cap;
	}
	c->u.seq.v[c->u.seq.n++] = item;
	if (item->depth + 1 > c->depth)
		c->depth = item->depth + 1;
	if (c->depth > PK_MAX_DEPTH)
		return bad(vm, "containers nested deeper than %d", PK_MAX_DEPTH);
	return ANSER_OK;
}

/* A tuple of the stack items from index `start` to the top. */
static enum anser_status make_tuple(struct vm *vm, size_t start,
                                    enum pk_type type)
{
	struct pk_value *t = new_value(vm, type);
	enum anser_status st;

	if (!t)
		return nomem(vm);
	for (size_t i = start; i < vm->n_stack; i++) {
		st = seq_add(vm, t, vm->stack[i]);
		if (st)
			return st;
	}
	vm->n_stack = start;
	return push(vm, t);
}

static enum anser_status tuple_n(struct vm *vm, size_t n)
{
	if (vm->n_stack - floor_of_stack(vm) < n)
		return bad(vm, "stack underflow");
	return make_tuple(vm, vm->n_stack - n, PK_TUPLE);
}

static enum anser_status set_items(struct vm *vm, size_t start)
{
	struct pk_value *d;
	enum anser_status st;

	if ((vm->n_stack - start) % 2)
		return bad(vm, "odd number of items for SETITEMS");
	if (start == 0 || start <= floor_of_stack(vm))
		return bad(vm, "SETITEMS without a dict");
	d = vm->stack[start - 1];
	if (d->type != PK_DICT)
		return bad(vm, "SETITEMS on a %s", pk_type_name(d->type));
	for (size_t i = start; i < vm->n_stack; i++) {
		st = seq_add(vm, d, vm->stack[i]);
		if (st)
			return st;
	}
	vm->n_stack = start;
	return ANSER_OK;
}

static enum anser_status append_items(struct vm *vm, size_t start)
{
	struct pk_value *l;
	enum anser_status st;

	if (start == 0 || start <= floor_of_stack(vm))
		return bad(vm, "APPENDS without a list");
	l = vm->stack[start - 1];
	if (l->type != PK_LIST)
		return bad(vm, "APPENDS on a %s", pk_type_name(l->type));
	for (size_t i = start; i < vm->n_stack; i++) {
		st = seq_add(vm, l, vm->stack[i]);
		if (st)
			return st;
	}
	vm->n_stack = start;
	return ANSER_OK;
}

/* ----------------------------------------------------------- reading */

static int need(struct vm *vm, size_t n)
{
	return vm->len - vm->pos >= n;
}

static enum anser_status read_line(struct vm *vm, const char **s, size_t *n)
{
	const uint8_t *nl;
	size_t max = vm->len - vm->pos;

	if (max > PK_MAX_GLOBAL_LEN)
		max = PK_MAX_GLOBAL_LEN;
	nl = memchr(vm->buf + vm->pos, '\n', max);
	if (!nl)
		return bad(vm, "unterminated or overlong GLOBAL name");
	*s = (const char *)vm->buf + vm->pos;
	*n = (size_t)(nl - (vm->buf + vm->pos));
	vm->pos += *n + 1;
	return ANSER_OK;
}

static enum anser_status make_str(struct vm *vm, const uint8_t *s, size_t n)
{
	struct pk_value *v = new_value(vm, PK_STR);

	if (!v || !(v->u.str.s = doc_alloc(vm->doc, n + 1)))
		return nomem(vm);
	memcpy(v->u.str.s, s, n);
	v->u.str.len = n;
	return push(vm, v);
}

static enum anser_status make_int(struct vm *vm, enum pk_type t, int64_t i)
{
	struct pk_value *v = new_value(vm, t);

	if (!v)
		return nomem(vm);
	v->u.i = i;
	return push(vm, v);
}

static enum anser_status make_global(struct vm *vm, const char *mod,
                                     size_t nmod, const char *name,
                                     size_t nname)
{
	struct pk_value *v;

	for (size_t i = 0; i < ARRAY_SIZE(globals); i++) {
		if (strlen(globals[i].module) != nmod ||
		    memcmp(globals[i].module, mod, nmod) ||
		    strlen(globals[i].name) != nname ||
		    memcmp(globals[i].name, name, nname))
			continue;
		v = new_value(vm, PK_GLOBAL);
		if (!v)
			return nomem(vm);
		v->u.global.kind = globals[i].kind;
		v->u.global.dtype = globals[i].dtype;
		return push(vm, v);
	}
	if (nmod > 64)
		nmod = 64;
	if (nname > 64)
		nname = 64;
	for (size_t i = 0; i < nmod; i++)
		if (mod[i] < 0x20 || mod[i] > 0x7e)
			return bad(vm, "global with a non-printable module name");
	for (size_t i = 0; i < nname; i++)
		if (name[i] < 0x20 || name[i] > 0x7e)
			return bad(vm, "global with a non-printable name");
	return anser_errf(vm->err, ANSER_E_FORMAT,
	                  "pickle: global '%.*s %.*s' at offset %zu is not allowed: "
	                  "anser loads tensors only and never runs code from a "
	                  "checkpoint (this file may be malicious)",
	                  (int)nmod, mod, (int)nname, name, vm->op_pos);
}

/* ----------------------------------------------------------- memo */

static enum anser_status memo_put(struct vm *vm, uint64_t idx)
{
	struct pk_value *v;
	enum anser_status st = top(vm, &v);

	if (st)
		return st;
	/* Picklers number memo slots 0, 1, 2...; each BINPUT costs at least two
	 * bytes, so a real pickle never needs an index past its own length. */
	if (idx >= vm->len + 256)
		return bad(vm, "memo index %llu out of range",
		           (unsigned long long)idx);
	if (idx >= vm->cap_memo) {
		size_t cap = vm->cap_memo ? vm->cap_memo : 256;
		struct pk_value **m;
		while (cap <= idx)
			cap *= 2;
		if (cap * sizeof(*m) > vm->doc->budget)
			return nomem(vm);
		m = anser_realloc(vm->memo, cap * sizeof(*m));
		if (!m)
			return nomem(vm);
		memset(m + vm->cap_memo, 0, (cap - vm->cap_memo) * sizeof(*m));
		vm->memo = m;
		vm->cap_memo = cap;
	}
	if (!vm->memo[idx])
		vm->n_memo_set++;
	vm->memo[idx] = v;
	return ANSER_OK;
}

static enum anser_status memo_get(struct vm *vm, uint64_t idx)
{
	if (idx >= vm->cap_memo || !vm->memo[idx])
		return bad(vm, "memo index %llu was never stored",
		           (unsigned long long)idx);
	return push(vm, vm->memo[idx]);
}

/* ----------------------------------------------------------- torch */

static int is_int(const struct pk_value *v)
{
	return v->type == PK_INT;
}

/* A tuple of at most ANSER_MAX_DIMS ints, into dims[]. */
static enum anser_status int_tuple(struct vm *vm, const struct pk_value *t,
                                   const char *what, int *ndim, int64_t *dims)
{
	if (t->type != PK_TUPLE)
		return bad(vm, "tensor %s is a %s, not a tuple", what,
		           pk_type_name(t->type));
	if (t->u.seq.n > ANSER_MAX_DIMS)
		return anser_errf(vm->err, ANSER_E_UNSUPPORTED,
		                  "pickle: tensor with %zu dimensions at offset %zu "
		                  "(at most %d are supported)", t->u.seq.n,
		                  vm->op_pos, ANSER_MAX_DIMS);
	for (size_t i = 0; i < t->u.seq.n; i++) {
		if (!is_int(t->u.seq.v[i]))
			return bad(vm, "tensor %s holds a %s", what,
			           pk_type_name(t->u.seq.v[i]->type));
		dims[i] = t->u.seq.v[i]->u.i;
	}
	*ndim = (int)t->u.seq.n;
	return ANSER_OK;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) */
static enum anser_status rebuild_tensor(struct vm *vm,
                                        const struct pk_value *args)
{
	struct pk_value *t, *const *a = args->u.seq.v;
	int nstride = 0;
	enum anser_status st;

	if (args->u.seq.n < 4 || args->u.seq.n > 7)
		return bad(vm, "_rebuild_tensor_v2 with %zu arguments",
		           args->u.seq.n);
	if (a[0]->type != PK_STORAGE)
		return bad(vm, "_rebuild_tensor_v2 on a %s, not a storage",
		           pk_type_name(a[0]->type));
	if (!is_int(a[1]))
		return bad(vm, "tensor storage offset is a %s",
		           pk_type_name(a[1]->type));
	t = new_value(vm, PK_TENSOR);
	if (!t)
		return nomem(vm);
	t->u.tensor.storage = &a[0]->u.storage;
	t->u.tensor.offset = a[1]->u.i;
	st = int_tuple(vm, a[2], "size", &t->u.tensor.ndim, t->u.tensor.shape);
	if (!st)
		st = int_tuple(vm, a[3], "stride", &nstride, t->u.tensor.stride);
	if (st)
		return st;
	if (nstride != t->u.tensor.ndim)
		return bad(vm, "tensor with %d sizes but %d strides",
		           t->u.tensor.ndim, nstride);
	return push(vm, t);
}

/* ('storage', StorageClass, key, location, numel) -> a storage reference. */
static enum anser_status persistent_load(struct vm *vm,
                                         const struct pk_value *pid)
{
	struct pk_value *s, *const *a = pid->u.seq.v;

	if (pid->type != PK_TUPLE || pid->u.seq.n != 5 ||
	    a[0]->type != PK_STR || strcmp(a[0]->u.str.s, "storage"))
		return bad(vm, "persistent id is not a ('storage', ...) tuple");
	if (a[1]->type != PK_GLOBAL || a[1]->u.global.kind != PK_G_STORAGE)
		return bad(vm, "persistent id names a %s, not a storage class",
		           pk_type_name(a[1]->type));
	if (a[2]->type != PK_STR || !a[2]->u.str.len ||
	    strlen(a[2]->u.str.s) != a[2]->u.str.len)
		return bad(vm, "storage key is not a string");
	if (!is_int(a[4]) || a[4]->u.i < 0)
		return bad(vm, "storage size is not a non-negative int");
	s = new_value(vm, PK_STORAGE);
	if (!s)
		return nomem(vm);
	s->u.storage.dtype = a[1]->u.global.dtype;
	s->u.storage.key = a[2]->u.str.s;
	s->u.storage.numel = (uint64_t)a[4]->u.i;
	return push(vm, s);
}

static enum anser_status reduce(struct vm *vm)
{
	struct pk_value *fn = NULL, *args = NULL, *d;
	enum anser_status st;

	if ((st = pop(vm, &args)) || (st = pop(vm, &fn)))
		return st;
	if (fn->type != PK_GLOBAL || fn->u.global.kind == PK_G_STORAGE)
		return bad(vm, "REDUCE calls a %s", pk_type_name(fn->type));
	if (args->type != PK_TUPLE)
		return bad(vm, "REDUCE arguments are a %s",
		           pk_type_name(args->type));
	switch (fn->u.global.kind) {
	case PK_G_ORDERED_DICT:
		if (args->u.seq.n)
			return bad(vm, "OrderedDict called with arguments");
		d = new_value(vm, PK_DICT);
		return d ? push(vm, d) : nomem(vm);
	case PK_G_REBUILD_TENSOR_V2:
		return rebuild_tensor(vm, args);
	case PK_G_REBUILD_PARAMETER:
		if (args->u.seq.n < 1 || args->u.seq.v[0]->type != PK_TENSOR)
			return bad(vm, "_rebuild_parameter without a tensor");
		return push(vm, args->u.seq.v[0]);
	case PK_G_STORAGE:
		break;
	}
	return bad(vm, "REDUCE on an unknown callable");
}

/* ----------------------------------------------------------- the loop */

static enum anser_status step(struct vm *vm, uint8_t op, int *stop)
{
	struct pk_value *a = NULL, *b = NULL, *c = NULL;
	enum anser_status st;
	const char *s1, *s2;
	size_t n1, n2, start = 0;
	const uint8_t *p;
	uint64_t n;

	switch (op) {
	case 0x80: /* PROTO */
		if (!need(vm, 1))
			goto truncated;
		if (vm->buf[vm->pos] < 2 || vm->buf[vm->pos] > 5)
			return bad(vm, "pickle protocol %d", vm->buf[vm->pos]);
		vm->pos++;
		return ANSER_OK;
	case 0x95: /* FRAME: a length hint we do not need */
		if (!need(vm, 8))
			goto truncated;
		vm->pos += 8;
		return ANSER_OK;
	case '.': /* STOP */
		*stop = 1;
		return ANSER_OK;
	case '(': /* MARK */
		if (vm->n_marks == vm->cap_marks) {
			size_t cap = vm->cap_marks ? 2 * vm->cap_marks : 16;
			size_t *m;
			if (cap * sizeof(*m) > vm->doc->budget)
				return nomem(vm);
			m = anser_realloc(vm->marks, cap * sizeof(*m));
			if (!m)
				return nomem(vm);
			vm->marks = m;
			vm->cap_marks = cap;
		}
		vm->marks[vm->n_marks++] = vm->n_stack;
		return ANSER_OK;
	case '0': /* POP */
		return pop(vm, &a);
	case '1': /* POP_MARK */
		if ((st = pop_mark(vm, &start)))
			return st;
		vm->n_stack = start;
		return ANSER_OK;
	case '2': /* DUP */
		if ((st = top(vm, &a)))
			return st;
		return push(vm, a);
	case 'N':
		return push(vm, new_value(vm, PK_NONE));
	case 0x88: /* NEWTRUE */
	case 0x89: /* NEWFALSE */
		return make_int(vm, PK_BOOL, op == 0x88);
	case 'J': /* BININT: signed 32-bit */
		if (!need(vm, 4))
			goto truncated;
		n = rd_u32(vm->buf + vm->pos);
		vm->pos += 4;
		return make_int(vm, PK_INT, (int32_t)(uint32_t)n);
	case 'K': /* BININT1 */
		if (!need(vm, 1))
			goto truncated;
		return make_int(vm, PK_INT, vm->buf[vm->pos++]);
	case 'M': /* BININT2 */
		if (!need(vm, 2))
			goto truncated;
		n = rd_u16(vm->buf + vm->pos);
		vm->pos += 2;
		return make_int(vm, PK_INT, (int64_t)n);
	case 0x8a: { /* LONG1: n-byte little-endian two's complement */
		uint64_t u = 0;
		size_t len;
		if (!need(vm, 1))
			goto truncated;
		len = vm->buf[vm->pos++];
		if (len > 8)
			return anser_errf(vm->err, ANSER_E_UNSUPPORTED,
			                  "pickle: integer of %zu bytes at offset "
			                  "%zu (at most 8 supported)", len,
			                  vm->op_pos);
		if (!need(vm, len))
			goto truncated;
		for (size_t i = 0; i < len; i++)
			u |= (uint64_t)vm->buf[vm->pos + i] << (8 * i);
		if (len && len < 8 && (vm->buf[vm->pos + len - 1] & 0x80))
			u |= ~UINT64_C(0) << (8 * len); /* sign-extend */
		vm->pos += len;
		return make_int(vm, PK_INT, (int64_t)u);
	}
	case 'G': { /* BINFLOAT: big-endian double */
		uint64_t u = 0;
		double d;
		if (!need(vm, 8))
			goto truncated;
		for (int i = 0; i < 8; i++)
			u = u << 8 | vm->buf[vm->pos + i];
		vm->pos += 8;
		memcpy(&d, &u, 8);
		if (!(a = new_value(vm, PK_FLOAT)))
			return nomem(vm);
		a->u.f = d;
		return push(vm, a);
	}
	case 'X':    /* BINUNICODE: u32 length */
	case 0x8c:   /* SHORT_BINUNICODE: u8 length */
	case 0x8d: { /* BINUNICODE8: u64 length */
		size_t w = op == 'X' ? 4 : op == 0x8c ? 1 : 8;
		if (!need(vm, w))
			goto truncated;
		n = w == 1 ? vm->buf[vm->pos] :
		    w == 4 ? rd_u32(vm->buf + vm->pos) : rd_u64(vm->buf + vm->pos);
		vm->pos += w;
		if (n > vm->len - vm->pos)
			return bad(vm, "string of %llu bytes runs past the end",
			           (unsigned long long)n);
		p = vm->buf + vm->pos;
		vm->pos += n;
		return make_str(vm, p, n);
	}
	case 'c': /* GLOBAL "module\nname\n" */
		if ((st = read_line(vm, &s1, &n1)) ||
		    (st = read_line(vm, &s2, &n2)))
			return st;
		return make_global(vm, s1, n1, s2, n2);
	case 0x93: /* STACK_GLOBAL */
		if ((st = pop(vm, &b)) || (st = pop(vm, &a)))
			return st;
		if (a->type != PK_STR || b->type != PK_STR)
			return bad(vm, "STACK_GLOBAL on non-strings");
		return make_global(vm, a->u.str.s, a->u.str.len, b->u.str.s,
		                   b->u.str.len);
	case 'q': /* BINPUT */
		if (!need(vm, 1))
			goto truncated;
		return memo_put(vm, vm->buf[vm->pos++]);
	case 'r': /* LONG_BINPUT */
		if (!need(vm, 4))
			goto truncated;
		n = rd_u32(vm->buf + vm->pos);
		vm->pos += 4;
		return memo_put(vm, n);
	case 0x94: /* MEMOIZE */
		return memo_put(vm, vm->n_memo_set);
	case 'h': /* BINGET */
		if (!need(vm, 1))
			goto truncated;
		return memo_get(vm, vm->buf[vm->pos++]);
	case 'j': /* LONG_BINGET */
		if (!need(vm, 4))
			goto truncated;
		n = rd_u32(vm->buf + vm->pos);
		vm->pos += 4;
		return memo_get(vm, n);
	case ')': /* EMPTY_TUPLE */
		return push(vm, new_value(vm, PK_TUPLE));
	case 0x85: /* TUPLE1 */
	case 0x86: /* TUPLE2 */
	case 0x87: /* TUPLE3 */
		return tuple_n(vm, (size_t)(op - 0x84));
	case 't': /* TUPLE */
		if ((st = pop_mark(vm, &start)))
			return st;
		return make_tuple(vm, start, PK_TUPLE);
	case ']': /* EMPTY_LIST */
		return push(vm, new_value(vm, PK_LIST));
	case 'l': /* LIST */
		if ((st = pop_mark(vm, &start)))
			return st;
		return make_tuple(vm, start, PK_LIST);
	case 'a': /* APPEND */
		if ((st = pop(vm, &a)) || (st = top(vm, &b)))
			return st;
		if (b->type != PK_LIST)
			return bad(vm, "APPEND to a %s", pk_type_name(b->type));
		return seq_add(vm, b, a);
	case 'e': /* APPENDS */
		if ((st = pop_mark(vm, &start)))
			return st;
		return append_items(vm, start);
	case '}': /* EMPTY_DICT */
		return push(vm, new_value(vm, PK_DICT));
	case 'd': /* DICT */
		if ((st = pop_mark(vm, &start)))
			return st;
		if ((vm->n_stack - start) % 2)
			return bad(vm, "odd number of items for DICT");
		return make_tuple(vm, start, PK_DICT);
	case 's': /* SETITEM */
		if ((st = pop(vm, &b)) || (st = pop(vm, &a)) ||
		    (st = top(vm, &c)))
			return st;
		if (c->type != PK_DICT)
			return bad(vm, "SETITEM on a %s", pk_type_name(c->type));
		if ((st = seq_add(vm, c, a)))
			return st;
		return seq_add(vm, c, b);
	case 'u': /* SETITEMS */
		if ((st = pop_mark(vm, &start)))
			return st;
		return set_items(vm, start);
	case 'Q': /* BINPERSID */
		if ((st = pop(vm, &a)))
			return st;
		return persistent_load(vm, a);
	case 'R': /* REDUCE */
		return reduce(vm);
	case 'b': /* BUILD: only the _metadata of a state dict, which we drop */
		if ((st = pop(vm, &b)) || (st = top(vm, &a)))
			return st;
		if (a->type != PK_DICT)
			return bad(vm, "BUILD on a %s", pk_type_name(a->type));
		return ANSER_OK;
	}
	if (opname(op))
		return anser_errf(vm->err, ANSER_E_FORMAT,
		                  "pickle: opcode %s (0x%02x) at offset %zu is not "
		                  "allowed in a checkpoint", opname(op), op,
		                  vm->op_pos);
	return anser_errf(vm->err, ANSER_E_FORMAT,
	                  "pickle: byte 0x%02x at offset %zu is not a pickle "
	                  "opcode", op, vm->op_pos);
truncated:
	return anser_errf(vm->err, ANSER_E_FORMAT,
	                  "pickle: truncated %s at offset %zu", opname(op),
	                  vm->op_pos);
}

enum anser_status pk_load(const uint8_t *buf, size_t len, struct pk_doc *doc,
                          struct anser_err *err)
{
	struct vm vm = { .buf = buf, .len = len, .doc = doc, .err = err };
	enum anser_status st = ANSER_OK;
	int stop = 0;

	memset(doc, 0, sizeof(*doc));
	/* Every opcode allocates a bounded amount; 64 bytes of values per input
	 * byte is far more than a real pickle needs. */
	doc->budget = (uint64_t)len * 64 + (1 << 20);
	while (!stop) {
		if (vm.pos >= len) {
			st = anser_errf(err, ANSER_E_FORMAT,
			                "pickle: ends without STOP (truncated?)");
			break;
		}
		vm.op_pos = vm.pos;
		st = step(&vm, buf[vm.pos++], &stop);
		if (st)
			break;
	}
	if (!st && vm.n_stack != 1)
		st = anser_errf(err, ANSER_E_FORMAT,
		                "pickle: STOP with %zu values on the stack",
		                vm.n_stack);
	if (!st)
		doc->root = vm.stack[0];
	anser_free(vm.stack);
	anser_free(vm.marks);
	anser_free(vm.memo);
	if (st)
		pk_free(doc);
	return st;
}
