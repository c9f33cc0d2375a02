/*
 * test_pickle.c - the restricted unpickler on hand-made byte strings: what
 * torch.save writes loads; everything else fails with a message naming it.
 */
#include "../../formats/pickle.h"
#include "../harness.h"

/* Loads a pickle given as a C string literal (with embedded \x escapes). */
static enum anser_status load(const char *p, size_t n, struct pk_doc *doc,
                              struct anser_err *err)
{
	return pk_load((const uint8_t *)p, n, doc, err);
}

#define LOAD(lit, doc, err) load(lit, sizeof(lit) - 1, doc, err)

/* A one-tensor state dict as torch.save lays it out (protocol 2). */
static const char tensor_pkl[] =
	"\x80\x02" "ccollections\nOrderedDict\nq\x00)Rq\x01("
	"X\x01\x00\x00\x00" "aq\x02"
	"ctorch._utils\n_rebuild_tensor_v2\nq\x03"
	"((X\x07\x00\x00\x00" "storageq\x04" "ctorch\nBFloat16Storage\nq\x05"
	"X\x01\x00\x00\x00" "0q\x06" "X\x03\x00\x00\x00" "cpuq\x07" "K\x06tq\x08Q"
	"K\x00K\x02K\x03\x86q\x09K\x03K\x01\x86q\x0a\x89h\x00)Rq\x0btq\x0cRq\x0d"
	"u.";

static void test_valid(void)
{
	struct anser_err err = { 0 };
	struct pk_doc doc;
	const struct pk_value *d, *t;

	CHECK(LOAD(tensor_pkl, &doc, &err) == ANSER_OK, "a torch-style state dict loads");
	d = doc.root;
	if (CHECK(d && d->type == PK_DICT && d->u.seq.n == 2, "the root is a one-entry dict")) {
		t = d->u.seq.v[1];
		CHECK(d->u.seq.v[0]->type == PK_STR && !strcmp(d->u.seq.v[0]->u.str.s, "a"),
		      "the key is 'a'");
		CHECK(t->type == PK_TENSOR && t->u.tensor.ndim == 2 &&
		      t->u.tensor.shape[0] == 2 && t->u.tensor.shape[1] == 3 &&
		      t->u.tensor.stride[0] == 3 && t->u.tensor.stride[1] == 1 &&
		      t->u.tensor.offset == 0, "the tensor view is (2, 3) strides (3, 1)");
		CHECK(t->u.tensor.storage->dtype == ANSER_DTYPE_BF16 &&
		      !strcmp(t->u.tensor.storage->key, "0") &&
		      t->u.tensor.storage->numel == 6, "the storage is bf16 key '0' of 6");
	}
	pk_free(&doc);
}

/* Each bad pickle must fail with a message containing `want`. */
static void refuse(const char *p, size_t n, const char *want, const char *what)
{
	struct anser_err err = { 0 };
	struct pk_doc doc;
	enum anser_status st = load(p, n, &doc, &err);

	if (!CHECK(st != ANSER_OK && strstr(err.msg, want), what))
		printf("#   status %d, message: %s\n", st, err.msg);
}

#define REFUSE(lit, want, what) refuse(lit, sizeof(lit) - 1, want, what)

static void test_refused(void)
{
	REFUSE("\x80\x02" "cos\nsystem\nX\x04\x00\x00\x00" "echo\x85R.",
	       "global 'os system'", "GLOBAL os.system is refused by name");
	REFUSE("\x80\x02" "cposix\nsystem\n.", "global 'posix system'",
	       "GLOBAL posix.system is refused");
	REFUSE("\x80\x02" "cbuiltins\neval\n.", "not allowed", "builtins.eval is refused");
	REFUSE("\x80\x04" "\x8c\x02os\x8c\x06system\x93.", "global 'os system'",
	       "STACK_GLOBAL os.system is refused");
	REFUSE("\x80\x02\xff.", "byte 0xff", "a byte that is no opcode is named");
	REFUSE("\x80\x02(ios\nsystem\n.", "INST", "INST is refused by name");
	REFUSE("\x80\x02" "I1\n.", "opcode INT", "text-mode INT is refused by name");
	REFUSE("\x80\x02" "X\xff\x00\x00\x00" "ab.", "past the end",
	       "a string longer than the pickle");
	REFUSE("\x80\x02" "X\x05\x00", "truncated", "a truncated length");
	REFUSE("\x80\x02" "h\x05.", "never stored", "BINGET of an empty memo slot");
	REFUSE("\x80\x02" "Nr\xff\xff\xff\x7f.", "out of range", "a huge memo index");
	REFUSE("\x80\x02" "R.", "underflow", "REDUCE on an empty stack");
	REFUSE("\x80\x02" "N", "without STOP", "no STOP");
	REFUSE("\x80\x02" "NN.", "2 values", "STOP with two values");
	REFUSE("\x80\x02" "\x8a\x09" "123456789.", "9 bytes", "a 9-byte LONG1");
	REFUSE("\x80\x02" "N(Nu.", "SETITEMS", "SETITEMS without a dict");
	REFUSE("\x80\x02" "t.", "MARK", "TUPLE without MARK");
	REFUSE("\x80\x09.", "protocol 9", "an unknown protocol");
	REFUSE("\x80\x02" "ccollections\nOrderedDict\nN\x85R.", "arguments",
	       "OrderedDict called with arguments");
	REFUSE("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(NK\x00)))\x89NtR.",
	       "not a storage", "_rebuild_tensor_v2 on something that is no storage");
	REFUSE("\x80\x02" "(X\x07\x00\x00\x00" "storageNX\x01\x00\x00\x00" "0NK\x01tQ.",
	       "storage class", "a persistent id without a storage class");
	REFUSE("\x80\x02" "ctorch\nFloatStorage\n)R.", "REDUCE calls",
	       "calling a storage class");
	/* A (5,)-sized storage viewed as 6 dims is refused at rebuild. */
	REFUSE("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n"
	       "((X\x07\x00\x00\x00" "storagectorch\nFloatStorage\n"
	       "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x05tQ"
	       "K\x00(K\x01K\x01K\x01K\x01K\x01K\x05t(K\x01K\x01K\x01K\x01K\x01K\x01t"
	       "\x89NtR.", "dimensions", "more than four dimensions");
}

static void test_limits(void)
{
	struct anser_err err = { 0 };
	struct pk_doc doc;
	uint8_t *p;
	size_t n = 0;

	/* ]( ]( ]( ... : lists nested 100 deep through APPEND. */
	p = malloc(1000);
	p[n++] = 0x80;
	p[n++] = 2;
	for (int i = 0; i < 100; i++)
		p[n++] = ']';
	for (int i = 0; i < 99; i++)
		p[n++] = 'a';
	p[n++] = '.';
	CHECK(pk_load(p, n, &doc, &err) != ANSER_OK && strstr(err.msg, "nested"),
	      "nesting deeper than the limit is refused");
	free(p);

	/* A list appended to itself grows its depth each time: refused, and
	 * nothing loops forever or recurses. */
	if (!CHECK(LOAD("\x80\x02]q\x00h\x00" "ah\x00" "ah\x00" "ah\x00" "a0N.",
	                &doc, &err) == ANSER_OK,
	           "a self-containing list loads when shallow"))
		printf("#   %s\n", err.msg);
	pk_free(&doc);

	/* 2 MB of DUPs would make a 2M-entry stack: within budget (linear). */
	n = 2u << 20;
	p = malloc(n + 4);
	p[0] = 0x80;
	p[1] = 2;
	p[2] = 'N';
	memset(p + 3, '2', n - 3);
	p[n] = '.';
	CHECK(pk_load(p, n + 1, &doc, &err) != ANSER_OK && strstr(err.msg, "values on the stack"),
	      "a stack of 2M DUPs is bounded and then refused at STOP");
	free(p);
}

/* Every allocation of a valid load, made to fail in turn: no crash, no leak. */
static void test_alloc_failures(void)
{
	struct anser_err err = { 0 };
	struct pk_doc doc;
	int bad = 0, n;

	for (n = 0; n < 500; n++) {
		enum anser_status st;
		anser_fail_alloc_after(n);
		st = LOAD(tensor_pkl, &doc, &err);
		anser_fail_alloc_after(-1);
		if (st == ANSER_OK) {
			pk_free(&doc);
			break;
		}
		if (st != ANSER_E_NOMEM)
			bad++;
	}
	CHECK(bad == 0 && n > 5 && n < 500,
	      "each failing allocation gives ANSER_E_NOMEM, then the load succeeds");
}

int main(void)
{
	test_valid();
	test_refused();
	test_limits();
	test_alloc_failures();
	return done();
}
