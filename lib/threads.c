/*
 * threads.c - the fork-join pool (threads.h).
 *
 * A job is published by bumping `generation`; helpers notice it by spinning
 * on the counter (cheap when jobs come back to back) or, after SPIN_NS of
 * polling, by sleeping on `wake`.  Completion is counted down in `pending`;
 * the caller spins, then sleeps on `done`, the same way.
 *
 * The spin is bounded by time, not by a count of polls: between two jobs of
 * one token the caller may work alone for tens of microseconds (norms, the
 * state update's serial parts), far longer than 20,000 polls take, and a
 * helper woken from a condition variable costs 30-100 us on a virtual
 * machine: decode at 2 threads ran at 64 tok/s instead of 88 on 0.1B f16.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "threads.h"

#define SPIN_NS 2000000 /* 2 ms: longer than a token's gaps, short after a run */

/* A hint to the CPU that this is a spin loop (a sibling hyperthread gets
 * the core's resources). */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Polls until *gen differs from seen or *cnt is zero (whichever is given)
 * or SPIN_NS pass; the clock is read once every 64 polls. */
static void spin_wait(atomic_uint *gen, unsigned seen, atomic_int *cnt)
{
	uint64_t start = 0;

	for (unsigned i = 0;; i++) {
		if (gen ? atomic_load(gen) != seen : !atomic_load(cnt))
			return;
		cpu_relax();
		if (i % 64 == 0) {
			uint64_t t = now_ns();
			if (!start)
				start = t;
			else if (t - start > SPIN_NS)
				return;
		}
	}
}

struct pool {
	int n;                      /* threads including the caller */
	pthread_t *tid;             /* [n - 1] */
	pthread_mutex_t lock;
	pthread_cond_t wake, done;
	atomic_uint generation;     /* bumped once per job */
	atomic_int pending;         /* helpers still working on the job */
	atomic_int sleepers;        /* helpers asleep on `wake` */
	int stop;
	pool_fn fn;
	void *arg;
	size_t n_tasks;
	size_t grain;               /* 0: one even share per thread */
	atomic_size_t next;         /* with a grain: the first task not taken */
};

struct worker {
	struct pool *p;
	int id;
};

static void run_share(struct pool *p, int id)
{
	size_t n = p->n_tasks, k = (size_t)p->n;
	size_t begin = n * (size_t)id / k, end = n * (size_t)(id + 1) / k;

	if (p->grain) {
		/* Pieces taken in turn: a thread slowed down (by the other
		 * tenants of the memory bus, say) takes fewer. */
		while ((begin = atomic_fetch_add(&p->next, p->grain)) < n) {
			end = n - begin < p->grain ? n : begin + p->grain;
			p->fn(p->arg, begin, end, id);
		}
		return;
	}
	if (begin < end)
		p->fn(p->arg, begin, end, id);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->p;
	unsigned seen = 0;

	for (;;) {
		unsigned g;

		spin_wait(&p->generation, seen, NULL);
		if ((g = atomic_load(&p->generation)) == seen) {
			pthread_mutex_lock(&p->lock);
			atomic_fetch_add(&p->sleepers, 1);
			while ((g = atomic_load(&p->generation)) == seen &&
			       !p->stop)
				pthread_cond_wait(&p->wake, &p->lock);
			atomic_fetch_sub(&p->sleepers, 1);
			pthread_mutex_unlock(&p->lock);
		}
		if (p->stop)
			break;
		seen = g;
		run_share(p, w->id);
		if (atomic_fetch_sub(&p->pending, 1) == 1) {
			pthread_mutex_lock(&p->lock);
			pthread_cond_signal(&p->done);
			pthread_mutex_unlock(&p->lock);
		}
	}
	anser_free(w);
	return NULL;
}

struct pool *pool_new(int n_threads)
{
	struct pool *p = anser_calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->n = n_threads < 1 ? 1 : n_threads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->done, NULL);
	if (p->n > 1) {
		p->tid = anser_calloc((size_t)p->n - 1, sizeof(*p->tid));
		if (!p->tid) {
			pool_free(p);
			return NULL;
		}
	}
	for (int i = 1; i < p->n; i++) {
		struct worker *w = anser_malloc(sizeof(*w));
		if (w) {
			w->p = p;
			w->id = i;
		}
		if (!w || pthread_create(&p->tid[i - 1], NULL, worker_main, w)) {
			anser_free(w);
			p->n = i; /* only threads 1..i-1 exist */
			pool_free(p);
			return NULL;
		}
	}
	return p;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	atomic_fetch_add(&p->generation, 1);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (int i = 1; i < p->n; i++)
		pthread_join(p->tid[i - 1], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->done);
	anser_free(p->tid);
	anser_free(p);
}

int pool_size(const struct pool *p)
{
	return p->n;
}

void pool_run(struct pool *p, pool_fn fn, void *arg, size_t n_tasks)
{
	pool_run_grain(p, fn, arg, n_tasks, 0);
}

void pool_run_grain(struct pool *p, pool_fn fn, void *arg, size_t n_tasks,
                    size_t grain)
{
	if (p->n == 1 || n_tasks <= 1) {
		if (n_tasks)
			fn(arg, 0, n_tasks, 0);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	p->n_tasks = n_tasks;
	p->grain = grain;
	atomic_store(&p->next, 0);
	atomic_store(&p->pending, p->n - 1);
	atomic_fetch_add(&p->generation, 1);
	if (atomic_load(&p->sleepers)) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->lock);
	}
	run_share(p, 0);
	spin_wait(NULL, 0, &p->pending);
	if (atomic_load(&p->pending)) {
		pthread_mutex_lock(&p->lock);
		while (atomic_load(&p->pending))
			pthread_cond_wait(&p->done, &p->lock);
		pthread_mutex_unlock(&p->lock);
	}
}

int anser_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}
