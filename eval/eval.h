/*
 * eval.h - benchmark scoring the way lm-evaluation-harness v0.4.8 does it
 * (docs: eval.md, eval-harness.md).  Internal to anser: cmd/eval.c and the
 * tests use it; it uses lib/anser.h and cJSON.
 */
#ifndef ANSER_EVAL_H
#define ANSER_EVAL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/anser.h"

/* ---------------------------------------------------------------- data */

#define EVAL_MAX_CHOICES 4

/*
 * One document of a task, in the harness's terms: a context and one or more
 * continuations.  Loglikelihood tasks (LAMBADA) have one continuation and
 * gold -1; multiple-choice tasks (xStoryCloze) have n_choices and the index
 * of the right one.  Continuations already carry the target delimiter, the
 * leading " ".  Strings are UTF-8, NUL-terminated, owned by the document.
 */
struct eval_doc {
	char *context;
	char *choices[EVAL_MAX_CHOICES];
	int n_choices;
	int gold;          /* 0-based, or -1 */
	size_t line;       /* 1-based line (JSONL) or row after the header (TSV) */
};

/* LAMBADA (lambada_test.jsonl and its translations): one {"text": ...} per
 * line; context = text up to the last space, continuation = " " + last word.
 * A line that is not such an object, or whose text has no space, is an error
 * naming the file and line. */
enum anser_status eval_read_lambada(const char *path, struct eval_doc **docs,
                                    size_t *n, struct anser_err *err);

/* XStoryCloze (spring2016.val.<lang>.tsv.split_20_80_eval.tsv): a header and
 * rows of 8 fields, parsed as Python's csv module does with the Hub loader's
 * settings (tab delimiter, '"' quotes, skipinitialspace); context = the four
 * sentences joined by " ", choices = " " + each ending, gold = the answer
 * (1 or 2) minus 1.  Malformed rows are errors naming file and row. */
enum anser_status eval_read_xstorycloze(const char *path, struct eval_doc **docs,
                                        size_t *n, struct anser_err *err);

void eval_free_docs(struct eval_doc *docs, size_t n);

/*
 * The harness's split of a request into what is encoded: trailing
 * whitespace of the context (Python str.rstrip(), i.e. Unicode whitespace)
 * moves to the front of the continuation.  Returns the context length to
 * keep; *moved gets the number of bytes moved.
 */
size_t eval_split_context(const char *context, size_t len, size_t *moved);

/* Length of a UTF-8 string in code points (Python len()), for acc_norm. */
size_t eval_codepoints(const char *s);

/* ---------------------------------------------------------------- stats */

/* Mean and the harness's stderr of a mean: sample stddev (n - 1) / sqrt(n);
 * NAN when n < 2. */
double eval_mean(const double *x, size_t n);
double eval_mean_stderr(const double *x, size_t n);

/*
 * The harness's bootstrap stderr of perplexity = exp(-mean(ll)): `iters`
 * resamples (100000 by default) drawn in chunks of min(1000, iters), chunk i
 * with Python's random.Random(i).choices(ll, k=n), and the sample stddev of
 * the resampled perplexities.  Reproduces CPython's Mersenne Twister, so the
 * result equals the harness's for the same ll values.  NAN when n < 2.
 */
double eval_ppl_stderr(const double *ll, size_t n, int iters);

/* The harness's pooled stderr of a group of subtasks (sizes n_i, stderrs
 * se_i): sqrt(sum((n_i - 1) se_i^2 n_i) / (sum n_i - k) / sum n_i). */
double eval_pooled_stderr(const double *se, const size_t *sizes, size_t k);

/* ---------------------------------------------------------------- tasks */

enum eval_kind {
	EVAL_LOGLIKELIHOOD,   /* one continuation: acc (greedy), perplexity */
	EVAL_MULTIPLE_CHOICE, /* choices: acc, acc_norm */
	EVAL_PERPLEXITY,      /* a whole text file: token/byte perplexity, bpb */
};

struct eval_task {
	const char *name;     /* "lambada_openai", "xstorycloze_ru", "ppl" */
	enum eval_kind kind;
	const char *family;   /* data subfolder: "lambada", "xstorycloze" */
	const char *file;     /* published file name */
	const char *fallback; /* another name with the same bytes, or NULL */
	const char *repo;     /* Hugging Face dataset repo holding it */
	const char *group;    /* "xstorycloze" for its languages, else NULL */
	double version;       /* the harness's task version */
	const char *hub_path; /* the file in `repo` */
};

/* The task called `name`, or NULL. */
const struct eval_task *eval_find_task(const char *name);
/* All tasks, NULL-terminated (for listing). */
const struct eval_task *const *eval_tasks(void);
/* The members of a group ("xstorycloze"): fills up to max, returns count. */
size_t eval_group_members(const char *group, const struct eval_task **out,
                          size_t max);

/* ---------------------------------------------------------------- scoring */

/* What goes before every context: token 0 (the RWKV reference and the
 * paper's runs), "\n" (token 11, the ChatRWKV harness adapter), or nothing. */
enum eval_prefix { EVAL_PREFIX_EOT, EVAL_PREFIX_NEWLINE, EVAL_PREFIX_NONE };

/* The scores of one document. */
struct eval_result {
	double ll[EVAL_MAX_CHOICES];     /* summed log-likelihood per choice */
	uint8_t greedy[EVAL_MAX_CHOICES];/* every token was the argmax */
	int n_tokens[EVAL_MAX_CHOICES];  /* continuation tokens */
	int ctx_tokens;                  /* context tokens, prefix included */
	uint8_t done;                    /* scored (or loaded from --samples) */
};

struct eval_scorer;

/*
 * A scorer runs documents in batches: contexts once, their states forked
 * for each choice, many documents' rows sharing the matrix products.
 * state_budget bounds the memory of the per-document states (bytes; 0 for
 * a default).
 */
enum anser_status eval_scorer_new(struct anser_ctx *ctx,
                                  const struct anser_model *model,
                                  const struct anser_tokenizer *tok,
                                  enum eval_prefix prefix, size_t state_budget,
                                  struct eval_scorer **out,
                                  struct anser_err *err);
void eval_scorer_free(struct eval_scorer *s);

/* How many documents one batch takes (for progress and resume). */
size_t eval_scorer_batch(const struct eval_scorer *s, int n_choices);

/* Token-level detail of one scored document (for --samples). */
struct eval_detail {
	int n_choices;
	const int32_t *ids[EVAL_MAX_CHOICES];    /* continuation ids */
	const int32_t *argmax[EVAL_MAX_CHOICES]; /* the argmax at each of them */
	const double *lp[EVAL_MAX_CHOICES];      /* log-probability of each */
	size_t len[EVAL_MAX_CHOICES];
};

/*
 * Scores docs[i] into res[i] for the i in [0, n) whose res[i].done is 0,
 * in batches of eval_scorer_batch() documents aligned on multiples of it
 * (so a resumed run batches the same documents together).  doc_fn (may be NULL) sees each document's details as it is
 * scored; batch_fn (may be NULL) runs after each batch with the range just
 * finished.  A nonzero return from either stops with ANSER_E_CANCELLED.
 */
typedef int (*eval_doc_fn)(void *arg, size_t doc, const struct eval_result *r,
                           const struct eval_detail *d);
typedef int (*eval_batch_fn)(void *arg, size_t begin, size_t end);
enum anser_status eval_score(struct eval_scorer *s, const struct eval_doc *docs,
                             struct eval_result *res, size_t n,
                             eval_doc_fn doc_fn, eval_batch_fn batch_fn,
                             void *arg, struct anser_err *err);

/* ---------------------------------------------------------------- samples */

/*
 * The --samples file: one JSON object per document, appended after every
 * batch, which is also what a rerun resumes from.  Each line names the
 * task, the document and the model file's sha256 and the prefix, so lines of
 * another run are refused instead of mixed in.
 */
struct eval_samples;

/* Opens (creating) `path`; reads what an earlier run left.  A last line cut
 * off by an interruption is dropped. */
enum anser_status eval_samples_open(const char *path, const char *model_sha256,
                                    const char *prefix,
                                    struct eval_samples **out,
                                    struct anser_err *err);
/*
 * Marks res[i].done and fills it for the documents of `task` already in the
 * file, counting only whole batches of `window` documents (the scorer's
 * batch, eval_scorer_batch): lines of a batch cut short are removed from the
 * file and scored again.  *loaded gets the count.
 */
enum anser_status eval_samples_load(struct eval_samples *s, const char *task,
                                    const struct eval_doc *docs,
                                    struct eval_result *res, size_t n,
                                    size_t window, size_t *loaded,
                                    struct anser_err *err);
/* Writes one scored document (flushed by eval_samples_flush). */
enum anser_status eval_samples_write(struct eval_samples *s, const char *task,
                                     const struct eval_doc *d, size_t doc,
                                     const struct eval_result *r,
                                     const struct eval_detail *det,
                                     struct anser_err *err);
enum anser_status eval_samples_flush(struct eval_samples *s,
                                     struct anser_err *err);
void eval_samples_close(struct eval_samples *s);

/* ---------------------------------------------------------------- data */

/* Finds the data file of a task: in each of dirs[0..n) (NULL entries are
 * skipped), as dir/file, dir/family/file, then the same for the fallback
 * name.  Writes the path into buf; ANSER_E_NOTFOUND with a message saying
 * where to put it when none exists. */
enum anser_status eval_locate(const struct eval_task *t, const char *const *dirs,
                              size_t n, char *buf, size_t size,
                              struct anser_err *err);

/* Fetches a task's data file from its Hugging Face dataset repo into the
 * hub cache (or finds it there, offline) and writes its path into buf. */
enum anser_status eval_fetch(const struct eval_task *t,
                             const struct anser_hub_opts *opts, char *buf,
                             size_t size, struct anser_err *err);

/* ---------------------------------------------------------------- kl */

/*
 * Quality accounting (ppl FILE --kl-base BASE): one token stream through two
 * models, the base (the reference, normally the same model in f32) and the
 * model under test, compared position by position.
 */

/* One scored position: what the two rows of logits say. */
struct eval_kl_pos {
	double kl;               /* KL(base || model), nats, >= 0 */
	double lp_base;          /* ln p_base(target) */
	double lp_model;         /* ln p_model(target) */
	int32_t top_base;        /* argmax of each row, the lowest id on ties */
	int32_t top_model;
};

/*
 * Compares base[V] and model[V], two rows of logits for the same position,
 * in double: KL(base || model) = sum_i p_base(i) (ln p_base(i) - ln
 * p_model(i)) with both distributions the softmax of their row, the
 * log-probability each gives `target`, and the argmaxes.  V >= 1 and
 * 0 <= target < V (asserted: callers check ids).
 * Equal rows give a KL of exactly 0; rounding below 0 is clamped to 0.
 */
void eval_kl_row(const float *base, const float *model, size_t V,
                 int32_t target, struct eval_kl_pos *out);

/* Positions gathered over a text, in order.  Start from a zeroed struct. */
struct eval_kl {
	size_t n;                /* positions */
	size_t agree;            /* of them, with top_base == top_model */
	double ll_base;          /* sum of lp_base */
	double ll_model;         /* sum of lp_model */
	double *kl;              /* [n]: each position's KL (for p99, stderr) */
	size_t cap;              /* allocated entries of kl */
};

enum anser_status eval_kl_add(struct eval_kl *k, const struct eval_kl_pos *p,
                              struct anser_err *err);
void eval_kl_free(struct eval_kl *k);

/* What --kl-base reports for one text. */
struct eval_kl_report {
	size_t n;                /* positions scored */
	size_t agree;            /* positions whose argmaxes are equal */
	double kl_mean;          /* nats */
	double kl_mean_stderr;   /* sample stddev / sqrt(n); NAN when n < 2 */
	double kl_p99;           /* nearest rank: the ceil(0.99 n)-th smallest */
	double kl_max;
	double top1;             /* agree / n */
	double top1_stderr;      /* of that mean of 0s and 1s */
	double base_ppl;         /* exp(-ll_base / n) */
	double model_ppl;        /* exp(-ll_model / n) */
};

/* Sums up k (whose kl array it sorts); every value is NAN when k->n is 0. */
void eval_kl_summarize(struct eval_kl *k, struct eval_kl_report *out);

/* Where the time of eval_kl_score went, in seconds. */
struct eval_kl_times {
	double model, base, kl;
};

/*
 * Feeds ids[0..n) (token 0 first, as ppl does) through the model and the
 * base, each in its own context and state (both reset first), `chunk`
 * tokens at a time with the logits of every row, and adds to k one
 * position per row t < n - 1, scored against ids[t + 1].  An id outside
 * [0, V) is refused with ANSER_E_ARG before anything runs.  Memory: two
 * [chunk][V] buffers of logits, whatever n.  Both models must have the
 * vocab size V (eval_kl_check).  The KL arithmetic of a chunk is split
 * over n_threads threads.  A raised *cancel (may be NULL) stops between
 * chunks with ANSER_E_CANCELLED.  times (may be NULL) is added to.
 */
enum anser_status eval_kl_score(struct anser_ctx *model_ctx,
                                struct anser_state *model_state,
                                struct anser_ctx *base_ctx,
                                struct anser_state *base_state, int V,
                                const int32_t *ids, size_t n, size_t chunk,
                                int n_threads,
                                const volatile sig_atomic_t *cancel,
                                struct eval_kl *k, struct eval_kl_times *times,
                                struct anser_err *err);

/*
 * Whether `base` can be compared with `model`: the same shape (layers,
 * width, heads, vocab, feed-forward and LoRA sizes) and the same tokenizer
 * (the same embedded vocab, by its sha256), so that a token id means the
 * same to both.  ANSER_E_SHAPE or ANSER_E_ARG with a message naming what
 * differs ("vocab size 512, the model's 1024") otherwise.
 */
enum anser_status eval_kl_check(const struct anser_model *model,
                                const struct anser_model *base,
                                struct anser_err *err);

/* ---------------------------------------------------------------- reports */

#define EVAL_MAX_METRICS 4

struct eval_metric {
	const char *name;      /* "acc", "acc_norm", "perplexity", ... */
	double value;
	double stderr_;        /* NAN when not applicable */
	int higher_is_better;
};

/* One row block of the results table: a task or a group. */
struct eval_summary {
	const char *name;
	const char *alias;     /* how the harness prints it (" - xstorycloze_ru") */
	double version;
	int is_group;
	size_t n;              /* documents (tokens for ppl) */
	size_t n_original;     /* before --limit */
	struct eval_metric m[EVAL_MAX_METRICS];
	int n_metrics;
	double seconds;
	const char *subtasks[16]; /* groups: member names */
	int n_subtasks;
	const struct eval_kl_report *kl; /* ppl with --kl-base, else NULL */
};

/* Metrics of a task from its documents' results (all must be done). */
void eval_metrics_ll(const struct eval_result *r, size_t n,
                     struct eval_summary *out);
void eval_metrics_mc(const struct eval_doc *docs,
                     const struct eval_result *r, size_t n,
                     struct eval_summary *out);
/* ll summed over n_tokens tokens of a text of n_bytes bytes and n_words
 * words: token/word/byte perplexity and bits per byte. */
void eval_metrics_ppl(double ll, size_t n_tokens, size_t n_bytes,
                      size_t n_words, struct eval_summary *out);
/* A group's acc: the mean of its members', stderr pooled. */
void eval_metrics_group(const struct eval_summary *members, size_t k,
                        struct eval_summary *out);

/* The harness's Markdown table ("Tasks" or "Groups"). */
void eval_print_table(FILE *f, const struct eval_summary *s, size_t n,
                      int groups);

/* The --kl-base block of one ppl text (anser-eval.1, "Quality
 * accounting"). */
void eval_print_kl(FILE *f, const char *file, const char *base,
                   const struct eval_kl_report *r);

/* Published numbers for a known release (matched on the checkpoint's name),
 * with their sources; NULL-terminated list, or NULL when unknown. */
struct eval_published {
	const char *model;     /* substring of the checkpoint file name */
	const char *task;
	const char *metric;
	double value;
	const char *source;
};
const struct eval_published *eval_published_for(const char *source_file,
                                                const char *task,
                                                const char *metric);
const struct eval_published *eval_published_all(void);

/* What a results file records about the run, so a table can be traced. */
struct eval_run_info {
	const char *model_path;
	const char *model_sha256;   /* of the model file itself */
	const char *source_file;    /* the checkpoint it was converted from */
	const char *source_sha256;
	const char *prefix;         /* "0", "newline" or "none" */
	long limit;                 /* -1: none */
	int threads;
	const char *command_line;
	double seconds;
	/* --kl-base: the base model as given, its file's sha256, and the
	 * checkpoint it came from (all NULL without --kl-base). */
	const char *kl_base_path;
	const char *kl_base_sha256;
	const char *kl_base_source;
	const char *kl_base_source_sha256;
};

/* The harness's results layout ("results" -> task -> "acc,none", ...),
 * written to a temporary file and renamed into place. */
enum anser_status eval_write_json(const char *path,
                                  const struct eval_summary *tasks, size_t nt,
                                  const struct eval_summary *groups, size_t ng,
                                  const struct eval_run_info *info,
                                  struct anser_err *err);

#endif /* ANSER_EVAL_H */
