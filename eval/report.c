/*
 * report.c - the results table in lm-evaluation-harness's layout (its
 * make_table: Markdown, metrics sorted by name, "±" before the stderr, an
 * arrow for the direction that is better), and the published numbers that
 * --compare prints beside ours.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

#define COLS 9

/* Display width: code points (the arrows and ± are one column each). */
static size_t width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void pad(FILE *f, size_t n)
{
	while (n--)
		fputc(' ', f);
}

/* A cell: left-aligned text, or right-aligned numbers; headers centred. */
static void cell(FILE *f, const char *s, size_t w, int right, int centre)
{
	size_t n = width(s);

	if (centre) {
		pad(f, (w - n) / 2);
		fputs(s, f);
		pad(f, w - n - (w - n) / 2);
	} else if (right) {
		pad(f, w - n);
		fputs(s, f);
	} else {
		fputs(s, f);
		pad(f, w - n);
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct eval_metric *)a)->name,
	              ((const struct eval_metric *)b)->name);
}

void eval_print_table(FILE *f, const struct eval_summary *s, size_t n,
                      int groups)
{
	static const int right[COLS] = { 0, 1, 0, 1, 0, 0, 1, 0, 1 };
	const char *head[COLS] = { groups ? "Groups" : "Tasks", "Version",
	                           "Filter", "n-shot", "Metric", "", "Value",
	                           "", "Stderr" };
	size_t rows = 0, w[COLS];
	char (*cells)[COLS][64];

	for (size_t i = 0; i < n; i++)
		rows += (size_t)s[i].n_metrics;
	cells = calloc(rows ? rows : 1, sizeof(*cells));
	if (!cells)
		return;
	rows = 0;
	for (size_t i = 0; i < n; i++) {
		struct eval_metric m[EVAL_MAX_METRICS];
		memcpy(m, s[i].m, sizeof(m));
		qsort(m, (size_t)s[i].n_metrics, sizeof(m[0]), by_name);
		for (int k = 0; k < s[i].n_metrics; k++, rows++) {
			char (*c)[64] = cells[rows];
			snprintf(c[0], 64, "%s", k ? "" : s[i].alias);
			if (!k)
				snprintf(c[1], 64, "%g", s[i].version);
			snprintf(c[2], 64, "none");
			snprintf(c[3], 64, "0");
			snprintf(c[4], 64, "%s", m[k].name);
			snprintf(c[5], 64, "%s", m[k].higher_is_better ? "↑" : "↓");
			snprintf(c[6], 64, "%.4f", m[k].value);
			if (isnan(m[k].stderr_)) {
				snprintf(c[7], 64, "±");
				snprintf(c[8], 64, "   N/A");
			} else {
				snprintf(c[7], 64, "±");
				snprintf(c[8], 64, "%.4f", m[k].stderr_);
			}
		}
	}
	for (int j = 0; j < COLS; j++) {
		w[j] = width(head[j]) > 3 ? width(head[j]) : 3;
		for (size_t r = 0; r < rows; r++)
			if (width(cells[r][j]) > w[j])
				w[j] = width(cells[r][j]);
	}
	fputc('|', f);
	for (int j = 0; j < COLS; j++) {
		cell(f, head[j], w[j], 0, 1);
		fputc('|', f);
	}
	fputs("\n|", f);
	for (int j = 0; j < COLS; j++) {
		for (size_t k = 0; k < w[j] - (right[j] ? 1 : 0); k++)
			fputc('-', f);
		fputs(right[j] ? ":|" : "|", f);
	}
	fputc('\n', f);
	for (size_t r = 0; r < rows; r++) {
		fputc('|', f);
		for (int j = 0; j < COLS; j++) {
			cell(f, cells[r][j], w[j], right[j], 0);
			fputc('|', f);
		}
		fputc('\n', f);
	}
	free(cells);
}

/*
 * The --kl-base block after the table.  The harness's four decimals would
 * show the KL of a good model as 0.0000, so KL values get six significant
 * digits; names are those of the JSON metrics.
 */
void eval_print_kl(FILE *f, const char *file, const char *base,
                   const struct eval_kl_report *r)
{
	fprintf(f, "\nKL(base || model) on '%s', %zu positions, base '%s':\n",
	        file, r->n, base);
	fprintf(f, "  kl_mean                %.6g", r->kl_mean);
	if (!isnan(r->kl_mean_stderr))
		fprintf(f, " ± %.2g", r->kl_mean_stderr);
	fprintf(f, " nats\n");
	fprintf(f, "  kl_p99                 %.6g nats\n", r->kl_p99);
	fprintf(f, "  kl_max                 %.6g nats\n", r->kl_max);
	fprintf(f, "  top1_agree             %.6f (%zu of %zu)\n", r->top1,
	        r->agree, r->n);
	fprintf(f, "  token_perplexity       %.4f\n", r->model_ppl);
	fprintf(f, "  base_token_perplexity  %.4f\n", r->base_ppl);
}

/*
 * Published results, each with where it comes from (docs: eval.md,
 * eval-harness.md 1.2 and 1.4).  The raw outputs are the authors' own
 * lm-evaluation-harness 0.4.8 runs on the fla-hub conversions of the same
 * weights; the paper's table values are marked unverified where they could
 * not be read from the paper itself.
 */
static const struct eval_published published[] = {
	{ "World-2.9B", "lambada_openai", "acc", 0.7270,
	  "authors' lm-eval 0.4.8 run, fla-hub/rwkv7-2.9B-world "
	  "(jannalulu/lm-evaluation-harness-goose, results 2025-02-24)" },
	{ "World-2.9B", "lambada_openai", "perplexity", 3.5029,
	  "authors' lm-eval 0.4.8 run, fla-hub/rwkv7-2.9B-world "
	  "(jannalulu/lm-evaluation-harness-goose, results 2025-02-24)" },
	{ "World-1.5B", "lambada_openai", "acc", 0.6932,
	  "authors' lm-eval 0.4.8 run, fla-hub/rwkv7-1.5B-world, fp32, token 0 "
	  "first (jannalulu/lm-evaluation-harness-goose, results 2025-03-11)" },
	{ "World-1.5B", "lambada_openai", "perplexity", 4.1370,
	  "authors' lm-eval 0.4.8 run, fla-hub/rwkv7-1.5B-world, fp32, token 0 "
	  "first (jannalulu/lm-evaluation-harness-goose, results 2025-03-11)" },
	{ "World-0.1B", "lambada_openai", "perplexity", 12.407,
	  "an lm-eval run on the 0.1B model (secondary report, unverified)" },
	{ NULL, NULL, NULL, 0, NULL },
};

const struct eval_published *eval_published_all(void)
{
	return published;
}

const struct eval_published *eval_published_for(const char *source_file,
                                                const char *task,
                                                const char *metric)
{
	for (const struct eval_published *p = published; p->model; p++)
		if (source_file && strstr(source_file, p->model) &&
		    !strcmp(p->task, task) && !strcmp(p->metric, metric))
			return p;
	return NULL;
}
