/*
 * threads.h - a small fork-join pool.  The calling thread works too, so a
 * pool of n runs n - 1 helper threads.  Between jobs the helpers spin for a
 * short while (decode issues ~100 jobs per token, each a few microseconds
 * apart) and then sleep on a condition variable, so nothing keeps spinning
 * once a run is over.
 */
#ifndef ANSER_THREADS_H
#define ANSER_THREADS_H

#include "internal.h"

struct pool;

/* fn(arg, begin, end, thread): process tasks [begin, end) on `thread`. */
typedef void (*pool_fn)(void *arg, size_t begin, size_t end, int thread);

/* n_threads >= 1.  Returns NULL when out of memory or threads. */
struct pool *pool_new(int n_threads);
void pool_free(struct pool *p);
int pool_size(const struct pool *p);

/*
 * Splits n_tasks into one contiguous, near-equal range per thread and runs
 * them all; returns when every range is done.  With one thread (or one
 * task) it simply calls fn.  Not reentrant: one job at a time.
 */
void pool_run(struct pool *p, pool_fn fn, void *arg, size_t n_tasks);

/*
 * The same with the tasks taken in pieces of `grain` (0: as pool_run), each
 * thread taking the next piece when it is done with one: for long jobs whose
 * threads may run at different speeds.
 */
void pool_run_grain(struct pool *p, pool_fn fn, void *arg, size_t n_tasks,
                    size_t grain);

/* The number of online CPUs (at least 1). */
int anser_cpu_count(void);

#endif /* ANSER_THREADS_H */
