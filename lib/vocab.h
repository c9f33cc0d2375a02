/*
 * vocab.h - the World vocab file (rwkv_vocab_v20230424.txt): 65529 lines
 * "ID LITERAL LENGTH", LITERAL a Python str or bytes literal.
 */
#ifndef ANSER_VOCAB_H
#define ANSER_VOCAB_H

#include "internal.h"

#define VOCAB_MAX_TOKEN 256 /* bytes; the longest World token has 128 */

/* Called once per line with the token's bytes; return nonzero to stop. */
typedef int (*vocab_fn)(void *ctx, int id, const uint8_t *bytes, size_t n);

/*
 * Parses and validates the whole text, calling fn (may be NULL) per token.
 * Errors name the line.  *n_tokens gets the highest id.
 */
enum anser_status vocab_parse(const char *text, size_t len, vocab_fn fn,
                              void *ctx, int *n_tokens,
                              struct anser_err *err);

#endif /* ANSER_VOCAB_H */
