/*
 * model.c - opening a native model file: map it, validate it, and check its
 * tensors form the RWKV-7 model its metadata describes.
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

enum anser_status anser_model_open(const char *path, struct anser_model **out,
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
	m->map = mmap(NULL, (size_t)m->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		st = anser_errno(err, "cannot map '%s'", path);
		goto fail;
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
		munmap(m->map, (size_t)m->size);
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
