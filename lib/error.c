/*
 * error.c - status strings, the error-buffer helpers and checked allocation.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *anser_version(void)
{
	return ANSER_VERSION;
}

const char *anser_status_str(enum anser_status status)
{
	switch (status) {
	case ANSER_OK:            return "success";
	case ANSER_E_NOMEM:       return "out of memory";
	case ANSER_E_IO:          return "input/output error";
	case ANSER_E_FORMAT:      return "malformed file";
	case ANSER_E_UNSUPPORTED: return "unsupported";
	case ANSER_E_SHAPE:       return "missing or misshapen tensor";
	case ANSER_E_CHECKSUM:    return "checksum mismatch";
	case ANSER_E_ARG:         return "invalid argument";
	case ANSER_E_NOTFOUND:    return "not found";
	case ANSER_E_CANCELLED:   return "cancelled";
	case ANSER_E_RANGE:       return "value out of range";
	}
	return "unknown status";
}

static void set_msg(struct anser_err *err, enum anser_status code,
                    const char *fmt, va_list ap)
{
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

enum anser_status anser_errf(struct anser_err *err, enum anser_status code,
                             const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		set_msg(err, code, fmt, ap);
		va_end(ap);
	}
	return code;
}

enum anser_status anser_errno(struct anser_err *err, const char *fmt, ...)
{
	int saved = errno;
	enum anser_status code = saved == ENOMEM ? ANSER_E_NOMEM :
	                         saved == ENOENT ? ANSER_E_NOTFOUND : ANSER_E_IO;
	va_list ap;
	size_t n;

	if (err) {
		va_start(ap, fmt);
		set_msg(err, code, fmt, ap);
		va_end(ap);
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s",
		         strerror(saved));
	}
	errno = saved;
	return code;
}

enum anser_status anser_err_prefix(struct anser_err *err,
                                   enum anser_status code, const char *fmt, ...)
{
	char prefix[256];
	size_t pl, room = sizeof(err->msg);
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	pl = strlen(prefix);
	/* Shift the old message right, keeping its end NUL-terminated. */
	err->msg[room - 1] = '\0';
	memmove(err->msg + pl + 2, err->msg, room - pl - 3);
	err->msg[room - 1] = '\0';
	memcpy(err->msg, prefix, pl);
	err->msg[pl] = ':';
	err->msg[pl + 1] = ' ';
	err->code = code;
	return code;
}

/*
 * Allocation failure injection: after `fail_after` more successful calls the
 * next one fails.  Tests use it to walk every allocation of a code path.
 */
static long fail_after = -1;

void anser_fail_alloc_after(long n)
{
	fail_after = n;
}

static int alloc_fails(void)
{
	if (fail_after < 0)
		return 0;
	if (fail_after == 0)
		return 1;
	fail_after--;
	return 0;
}

void *anser_malloc(size_t n)
{
	return alloc_fails() ? NULL : malloc(n ? n : 1);
}

void *anser_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *anser_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : realloc(p, n ? n : 1);
}

char *anser_strndup(const char *s, size_t n)
{
	char *d = anser_malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *anser_strdup(const char *s)
{
	return anser_strndup(s, strlen(s));
}

void anser_free(void *p)
{
	free(p);
}
