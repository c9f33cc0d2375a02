/*
 * harness.h - a tiny TAP test harness: each CHECK prints "ok N - what" or
 * "not ok N - what" and done() returns the exit status.
 */
#ifndef ANSER_HARNESS_H
#define ANSER_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_UNUSED __attribute__((unused))

static int t_count, t_failed;

T_UNUSED static int t_check(int ok, const char *what, const char *file, int line)
{
	t_count++;
	if (ok) {
		printf("ok %d - %s\n", t_count, what);
	} else {
		t_failed++;
		printf("not ok %d - %s\n#   at %s:%d\n", t_count, what, file, line);
	}
	fflush(stdout);
	return ok;
}

#define CHECK(cond, what) t_check(!!(cond), (what), __FILE__, __LINE__)

/* A library call's status; prints the error message when it is wrong. */
#define CHECK_STATUS(expr, want, what)                                      \
	do {                                                                \
		struct anser_err e_ = { 0 };                                \
		enum anser_status s_ = (expr);                              \
		(void)e_;                                                   \
		if (!t_check(s_ == (want), (what), __FILE__, __LINE__))      \
			printf("#   status %d (%s), want %d\n", s_,         \
			       anser_status_str(s_), (int)(want));          \
	} while (0)

#define CHECK_NEAR(a, b, tol, what)                                         \
	do {                                                                \
		double a_ = (a), b_ = (b);                                  \
		if (!t_check(fabs(a_ - b_) <= (tol), (what), __FILE__,      \
		             __LINE__))                                     \
			printf("#   %.9g vs %.9g\n", a_, b_);               \
	} while (0)

T_UNUSED static void t_skip(const char *why)
{
	t_count++;
	printf("ok %d # SKIP %s\n", t_count, why);
}

T_UNUSED static int done(void)
{
	printf("1..%d\n", t_count);
	if (t_failed)
		printf("# %d of %d failed\n", t_failed, t_count);
	return t_failed ? 1 : 0;
}

#endif /* ANSER_HARNESS_H */
