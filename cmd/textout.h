/*
 * textout.h - generated text on its way to stdout: held back while it may
 * still become a stop string, and while a UTF-8 character is incomplete.
 */
#ifndef ANSER_TEXTOUT_H
#define ANSER_TEXTOUT_H

#include "cmd.h"

struct textout {
	FILE *f;
	const char *const *stops; /* NULL-terminated, may be empty */
	struct anser_utf8_stream utf8;
	uint8_t *pending;         /* bytes not yet printed */
	size_t n, cap;
	int stopped;              /* a stop string was seen */
};

void textout_init(struct textout *o, FILE *f, const char *const *stops);
/* Adds bytes; returns 1 once a stop string has been produced (the stop
 * string itself and anything after it are not printed). */
int textout_push(struct textout *o, const uint8_t *b, size_t n);
/* Prints what is still held back (unless stopped) and resets. */
void textout_finish(struct textout *o);
void textout_free(struct textout *o);

/* Prints bytes as an escaped string: \n \t \r \\ \" and \xNN for other
 * control bytes and invalid UTF-8; valid UTF-8 is printed as it is. */
void print_escaped(FILE *f, const uint8_t *b, size_t n);

#endif /* ANSER_TEXTOUT_H */
