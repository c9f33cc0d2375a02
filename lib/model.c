/*
 * model.c - opening a native model file: map it (or read it into memory of
 * its own), validate it, and check its tensors form the RWKV-7 model its
 * metadata describes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../formats/native.h"
#include "meta.h"

struct anser_model {
	uint8_t *map;              /* the whole file, read-only */
	uint64_t size;
	size_t map_len;            /* of the mapping, for munmap */
	struct native_file f;
	struct anser_tensor_info *info; /* [n]: views of f.t[i].info */
	struct anser_hparams hp;
	struct meta meta;
	struct anser_model_meta pub;
};

static const char *const hp_names[] = {
	"n_layer", "n_embd", "n_head", "head_size", "vocab_size", "ffn_size",
	"lora decay", "lora iclr", "lora value", "lora gate",
};

/* The metadata must agree with what the tensors say. */
static enum anser_status check_meta(const struct anser_hparams *a,
                                    const struct anser_hparams *b,
                                    struct anser_err *err)
{
	const int x[] = { a->n_layer, a->n_embd, a->n_head, a->head_size,
	                  a->vocab_size, a->ffn_size, a->lora_decay,
	                  a->lora_iclr, a->lora_value, a->lora_gate };
	const int y[] = { b->n_layer, b->n_embd, b->n_head, b->head_size,
	                  b->vocab_size, b->ffn_size, b->lora_decay,
	                  b->lora_iclr, b->lora_value, b->lora_gate };

	for (size_t i = 0; i < ARRAY_SIZE(x); i++)
		if (x[i] != y[i])
			return anser_errf(err, ANSER_E_FORMAT,
			                  "corrupt anser file: metadata says %s %d but "
			                  "the tensors say %d", hp_names[i], x[i], y[i]);
	if (a->n_params != b->n_params)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "corrupt anser file: metadata says %llu parameters "
		                  "but the tensors hold %llu",
		                  (unsigned long long)a->n_params,
		                  (unsigned long long)b->n_params);
	return ANSER_OK;
}

static enum anser_status model_init(struct anser_model *m,
                                    struct anser_err *err)
{
	enum anser_status st;
	int n_tokens;

	if ((st = native_parse(m->map, m->size, &m->f, err)))
		return st;
	m->info = anser_calloc(m->f.h.n_tensors, sizeof(*m->info));
	if (!m->info)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	for (uint32_t i = 0; i < m->f.h.n_tensors; i++)
		m->info[i] = m->f.t[i].info;
	if ((st = meta_decode(m->f.meta, m->f.h.meta_size, &m->meta, err)))
		return st;
	if (strcmp(m->meta.architecture, "rwkv7"))
		return anser_errf(err, ANSER_E_UNSUPPORTED,
		                  "anser file holds a '%s' model; this anser runs "
		                  "rwkv7", m->meta.architecture);
	if ((st = anser_arch_hparams(m->info, m->f.h.n_tensors, &m->hp, err)))
		return anser_err_prefix(err, st, "anser file");
	if (m->hp.kind != ANSER_KIND_MODEL)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "anser file holds no model weights");
	if ((st = check_meta(&m->meta.hp, &m->hp, err)))
		return st;
	/* The tokenizer must be there when announced, and be a World vocab. */
	if (!strcmp(m->meta.tokenizer, "rwkv-world")) {
		if (!m->f.vocab)
			return anser_errf(err, ANSER_E_FORMAT,
			                  "corrupt anser file: tokenizer 'rwkv-world' "
			                  "without a vocab section");
		if ((st = anser_vocab_check(m->f.vocab, m->f.h.vocab_size,
		                            &n_tokens, err)))
			return anser_err_prefix(err, st, "anser file");
		if (n_tokens >= m->hp.vocab_size)
			return anser_errf(err, ANSER_E_FORMAT,
			                  "anser file: vocab has %d tokens but the "
			                  "model only %d rows", n_tokens,
			                  m->hp.vocab_size);
	} else if (strcmp(m->meta.tokenizer, "none") || m->f.vocab) {
		return anser_errf(err, ANSER_E_UNSUPPORTED,
		                  "anser file: unknown tokenizer '%s'",
		                  m->meta.tokenizer);
	}
	m->pub = (struct anser_model_meta){
		.version = m->f.h.version,
		.tokenizer = m->meta.tokenizer,
		.vocab_sha256 = m->meta.vocab_sha256,
		.source_file = m->meta.source_file,
		.source_sha256 = m->meta.source_sha256,
		.source_dtype = m->meta.source_dtype,
		.created = m->meta.created,
		.tool = m->meta.tool,
		.file_size = m->size,
	};
	return ANSER_OK;
}

#define HUGE_PAGE ((size_t)2 << 20)

/*
 * The file read into anonymous memory, 2 MB aligned and marked for huge
 * pages: decode's matvecs prefetch far ahead of where they read, and with
 * 4 kB pages those prefetches keep missing the TLB.  Measured, 2 threads,
 * 400 MB of f16 rows: 30 GB/s from 4 kB pages, 33-35 from 2 MB ones.  The
 * page cache cannot give a file 2 MB mappings here (ext4 would need
 * CONFIG_READ_ONLY_THP_FOR_FS), so this costs a copy of the file at open.
 */
static enum anser_status load_file(struct anser_model *m, int fd,
                                   const char *path, struct anser_err *err)
{
	const size_t len = ((size_t)m->size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uint8_t *raw, *p;
	size_t head;

	raw = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
	           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return anser_errf(err, ANSER_E_NOMEM, "cannot allocate %.0f MB to "
		                  "load '%s' into memory (leave the model mapped: "
		                  "drop --no-mmap)", (double)len / 1e6, path);
	/* Trim to a 2 MB aligned run of len bytes. */
	head = (HUGE_PAGE - ((uintptr_t)raw & (HUGE_PAGE - 1))) & (HUGE_PAGE - 1);
	p = raw + head;
	if (head)
		munmap(raw, head);
	if (HUGE_PAGE - head)
		munmap(p + len, HUGE_PAGE - head);
#ifdef MADV_HUGEPAGE
	madvise(p, len, MADV_HUGEPAGE); /* a hint: 4 kB pages still work */
#endif
	m->map = p;
	m->map_len = len;
	for (uint64_t off = 0; off < m->size;) {
		size_t want = m->size - off > ((size_t)64 << 20) ?
		              (size_t)64 << 20 : (size_t)(m->size - off);
		ssize_t n = pread(fd, p + off, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return anser_errno(err, "cannot read '%s'", path);
		if (n == 0)
			return anser_errf(err, ANSER_E_IO, "cannot read '%s': it "
			                  "became shorter while it was read", path);
		off += (uint64_t)n;
	}
	mprotect(p, len, PROT_READ);
	return ANSER_OK;
}

enum anser_status anser_model_open(const char *path, struct anser_model **out,
                                   struct anser_err *err)
{
	return anser_model_open_opts(path, NULL, out, err);
}

enum anser_status anser_model_open_opts(const char *path,
                                        const struct anser_model_opts *o,
                                        struct anser_model **out,
                                        struct anser_err *err)
{
	struct anser_model *m;
	enum anser_status st;
	struct stat sb;
	int fd;

	*out = NULL;
	m = anser_calloc(1, sizeof(*m));
	if (!m)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		st = anser_errno(err, "cannot open '%s'", path);
		goto fail;
	}
	if (fstat(fd, &sb)) {
		st = anser_errno(err, "cannot stat '%s'", path);
		close(fd);
		goto fail;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < NATIVE_HEADER_SIZE) {
		close(fd);
		st = anser_errf(err, ANSER_E_FORMAT, "'%s' is not an anser model "
		                "file (too small)", path);
		goto fail;
	}
	m->size = (uint64_t)sb.st_size;
	if (o && o->no_mmap) {
		st = load_file(m, fd, path, err);
		close(fd);
		if (st)
			goto fail;
	} else {
		m->map = mmap(NULL, (size_t)m->size, PROT_READ, MAP_PRIVATE, fd, 0);
		m->map_len = (size_t)m->size;
		close(fd);
		if (m->map == MAP_FAILED) {
			m->map = NULL;
			st = anser_errno(err, "cannot map '%s'", path);
			goto fail;
		}
	}
	if ((st = model_init(m, err))) {
		anser_err_prefix(err, st, "'%s'", path);
		goto fail;
	}
	*out = m;
	return ANSER_OK;
fail:
	anser_model_free(m);
	return st;
}

void anser_model_free(struct anser_model *m)
{
	if (!m)
		return;
	native_free(&m->f);
	meta_release(&m->meta);
	anser_free(m->info);
	if (m->map)
		munmap(m->map, m->map_len);
	anser_free(m);
}

const struct anser_hparams *anser_model_hparams(const struct anser_model *m)
{
	return &m->hp;
}

const struct anser_model_meta *anser_model_meta(const struct anser_model *m)
{
	return &m->pub;
}

size_t anser_model_n_tensors(const struct anser_model *m)
{
	return m->f.h.n_tensors;
}

const struct anser_tensor_info *anser_model_tensor(const struct anser_model *m,
                                                   size_t i)
{
	return i < m->f.h.n_tensors ? &m->info[i] : NULL;
}

long anser_model_find(const struct anser_model *m, const char *name)
{
	for (size_t i = 0; i < m->f.h.n_tensors; i++)
		if (!strcmp(m->info[i].name, name))
			return (long)i;
	return -1;
}

const void *anser_model_tensor_data(const struct anser_model *m, size_t i,
                                    size_t *nbytes)
{
	if (i >= m->f.h.n_tensors)
		return NULL;
	if (nbytes)
		*nbytes = (size_t)m->f.t[i].nbytes;
	return m->map + m->f.t[i].offset;
}

const char *anser_model_vocab(const struct anser_model *m, size_t *len)
{
	if (len)
		*len = (size_t)m->f.h.vocab_size;
	return m->f.vocab;
}

enum anser_status anser_model_verify(const struct anser_model *m,
                                     struct anser_err *err)
{
	return native_verify(&m->f, err);
}
