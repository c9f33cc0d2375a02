/*
 * meta.h - the metadata block of a native file: one JSON object (see
 * man/anser-format.5 for the keys).  The only cJSON user besides eval/.
 */
#ifndef ANSER_META_H
#define ANSER_META_H

#include "internal.h"

/* Strings owned by the struct (meta_release frees them). */
struct meta {
	struct anser_hparams hp; /* as recorded; checked against the tensors */
	char *architecture;
	char *tokenizer;
	char *vocab_sha256;
	char *source_file;
	char *source_sha256;
	char *source_dtype;
	char *created;
	char *tool;
};

/* A new JSON text (caller frees with anser_free), or NULL when out of memory. */
char *meta_encode(const struct meta *m);

/* Parses and type-checks the JSON; unknown keys are allowed (newer writers). */
enum anser_status meta_decode(const char *json, size_t len, struct meta *m,
                              struct anser_err *err);
void meta_release(struct meta *m);

#endif /* ANSER_META_H */
