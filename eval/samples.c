/*
 * samples.c - the --samples file (eval.h): per-document results as JSON
 * lines, and resuming from them.
 */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/internal.h"
#include "eval.h"

#define MAX_LINE (16u << 20)

struct sample {
	char task[64];
	size_t doc;
	int k;
	double ll[EVAL_MAX_CHOICES];
	uint8_t greedy[EVAL_MAX_CHOICES];
	int n_tokens[EVAL_MAX_CHOICES];
	int ctx_tokens;
	char *text;       /* the line itself, kept to rewrite the file */
	int drop;         /* part of an unfinished batch: scored again */
};

struct eval_samples {
	FILE *f;
	char *path;
	char model[65];
	char prefix[16];
	struct sample *have;
	size_t n_have, cap;
};

static enum anser_status bad_line(struct eval_samples *s, size_t line,
                                  const char *what, struct anser_err *err)
{
	return anser_errf(err, ANSER_E_FORMAT, "'%s' line %zu: %s", s->path,
	                  line, what);
}

/* One line of an earlier run into s->have. */
static enum anser_status parse_line(struct eval_samples *s, const char *text,
                                    size_t line, struct anser_err *err)
{
	cJSON *o = cJSON_Parse(text), *v, *c, *e;
	struct sample x = { 0 };
	enum anser_status st = ANSER_OK;

	if (!cJSON_IsObject(o)) {
		st = bad_line(s, line, "not a JSON object", err);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "model_sha256");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, s->model)) {
		st = anser_errf(err, ANSER_E_ARG,
		                "'%s' holds results of another model file; use "
		                "another --samples file", s->path);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "prefix");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, s->prefix)) {
		st = anser_errf(err, ANSER_E_ARG,
		                "'%s' holds results with another --prefix; use "
		                "another --samples file", s->path);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "task");
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof(x.task)) {
		st = bad_line(s, line, "no task", err);
		goto out;
	}
	memcpy(x.task, v->valuestring, strlen(v->valuestring) + 1);
	v = cJSON_GetObjectItemCaseSensitive(o, "doc_id");
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9) {
		st = bad_line(s, line, "no doc_id", err);
		goto out;
	}
	x.doc = (size_t)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(o, "ctx_tokens");
	x.ctx_tokens = cJSON_IsNumber(v) ? v->valueint : 0;
	c = cJSON_GetObjectItemCaseSensitive(o, "continuations");
	if (!cJSON_IsArray(c) || cJSON_GetArraySize(c) < 1 ||
	    cJSON_GetArraySize(c) > EVAL_MAX_CHOICES) {
		st = bad_line(s, line, "no continuations", err);
		goto out;
	}
	cJSON_ArrayForEach(e, c) {
		cJSON *lp = cJSON_GetObjectItemCaseSensitive(e, "logprob");
		cJSON *gr = cJSON_GetObjectItemCaseSensitive(e, "greedy");
		cJSON *ids = cJSON_GetObjectItemCaseSensitive(e, "ids");
		if (!cJSON_IsNumber(lp) || !cJSON_IsBool(gr) || !cJSON_IsArray(ids)) {
			st = bad_line(s, line, "a continuation lacks logprob, "
			              "greedy or ids", err);
			goto out;
		}
		x.ll[x.k] = lp->valuedouble;
		x.greedy[x.k] = cJSON_IsTrue(gr);
		x.n_tokens[x.k] = cJSON_GetArraySize(ids);
		x.k++;
	}
	if (s->n_have == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		struct sample *p = anser_realloc(s->have, cap * sizeof(*p));
		if (!p) {
			st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
			goto out;
		}
		s->have = p;
		s->cap = cap;
	}
	x.text = anser_strdup(text);
	if (!x.text) {
		st = anser_errf(err, ANSER_E_NOMEM, "out of memory");
		goto out;
	}
	s->have[s->n_have++] = x;
out:
	cJSON_Delete(o);
	return st;
}

enum anser_status eval_samples_open(const char *path, const char *model_sha256,
                                    const char *prefix,
                                    struct eval_samples **out,
                                    struct anser_err *err)
{
	struct eval_samples *s = anser_calloc(1, sizeof(*s));
	enum anser_status st = ANSER_OK;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	long good_end = 0;
	ssize_t n;

	*out = NULL;
	if (!s || !(s->path = anser_strdup(path))) {
		anser_free(s);
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	}
	snprintf(s->model, sizeof(s->model), "%s", model_sha256);
	snprintf(s->prefix, sizeof(s->prefix), "%s", prefix);
	s->f = fopen(path, "a+");
	if (!s->f) {
		st = anser_errno(err, "cannot open '%s'", path);
		goto fail;
	}
	rewind(s->f);
	while ((n = getline(&line, &cap, s->f)) > 0) {
		lineno++;
		if (line[n - 1] != '\n' || (size_t)n > MAX_LINE) {
			/* Cut off mid-write: drop it, resume from the line before. */
			break;
		}
		if ((st = parse_line(s, line, lineno, err)))
			goto fail;
		good_end = ftell(s->f);
	}
	free(line);
	line = NULL;
	if (ftruncate(fileno(s->f), good_end)) {
		st = anser_errno(err, "cannot truncate '%s'", path);
		goto fail;
	}
	fseek(s->f, 0, SEEK_END);
	*out = s;
	return ANSER_OK;
fail:
	free(line);
	eval_samples_close(s);
	return st;
}

/* Writes the kept lines to a new file and renames it over the old one. */
static enum anser_status rewrite(struct eval_samples *s, struct anser_err *err)
{
	size_t len = strlen(s->path) + 16;
	char *tmp = anser_malloc(len);
	enum anser_status st = ANSER_OK;
	FILE *f = NULL;
	int fd;

	if (!tmp)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	snprintf(tmp, len, "%s.tmpXXXXXX", s->path);
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		st = anser_errno(err, "cannot rewrite '%s'", s->path);
		if (fd >= 0)
			close(fd);
		anser_free(tmp);
		return st;
	}
	for (size_t i = 0; i < s->n_have; i++)
		if (!s->have[i].drop)
			fputs(s->have[i].text, f);
	if (fflush(f) || ferror(f) || fsync(fileno(f)))
		st = anser_errno(err, "cannot write '%s'", tmp);
	if (fclose(f) && !st)
		st = anser_errno(err, "cannot write '%s'", tmp);
	if (!st && rename(tmp, s->path))
		st = anser_errno(err, "cannot rename '%s'", tmp);
	if (st) {
		unlink(tmp);
	} else {
		fclose(s->f);
		s->f = fopen(s->path, "a");
		if (!s->f)
			st = anser_errno(err, "cannot open '%s'", s->path);
	}
	anser_free(tmp);
	return st;
}

enum anser_status eval_samples_load(struct eval_samples *s, const char *task,
                                    const struct eval_doc *docs,
                                    struct eval_result *res, size_t n,
                                    size_t window, size_t *loaded,
                                    struct anser_err *err)
{
	int dropped = 0;

	*loaded = 0;
	for (size_t i = 0; i < s->n_have; i++) {
		const struct sample *x = &s->have[i];
		if (strcmp(x->task, task) || x->doc >= n)
			continue;
		if (x->k != docs[x->doc].n_choices)
			return anser_errf(err, ANSER_E_FORMAT,
			                  "'%s': document %zu of %s has %d choices, "
			                  "the data %d (other data?)", s->path, x->doc,
			                  task, x->k, docs[x->doc].n_choices);
		for (int j = 0; j < x->k; j++) {
			res[x->doc].ll[j] = x->ll[j];
			res[x->doc].greedy[j] = x->greedy[j];
			res[x->doc].n_tokens[j] = x->n_tokens[j];
		}
		res[x->doc].ctx_tokens = x->ctx_tokens;
		res[x->doc].done = 1;
	}
	/* Only whole batches count: a batch cut short is scored again as a
	 * whole, so every document is computed in the same company as in an
	 * uninterrupted run and the numbers come out bit for bit the same. */
	for (size_t w = 0; w < n; w += window) {
		size_t end = w + window < n ? w + window : n, have = 0;
		for (size_t d = w; d < end; d++)
			have += res[d].done;
		if (have == end - w) {
			*loaded += have;
			continue;
		}
		for (size_t d = w; d < end; d++)
			res[d].done = 0;
		for (size_t i = 0; have && i < s->n_have; i++)
			if (!strcmp(s->have[i].task, task) && s->have[i].doc >= w &&
			    s->have[i].doc < end && !s->have[i].drop) {
				s->have[i].drop = 1;
				dropped = 1;
			}
	}
	return dropped ? rewrite(s, err) : ANSER_OK;
}

static int argmax(const double *x, int k)
{
	int best = 0;
	for (int j = 1; j < k; j++)
		if (x[j] > x[best])
			best = j;
	return best;
}

static void ids_list(FILE *f, const int32_t *ids, size_t n)
{
	fputc('[', f);
	for (size_t t = 0; t < n; t++)
		fprintf(f, "%s%d", t ? ", " : "", ids[t]);
	fputc(']', f);
}

enum anser_status eval_samples_write(struct eval_samples *s, const char *task,
                                     const struct eval_doc *d, size_t doc,
                                     const struct eval_result *r,
                                     const struct eval_detail *det,
                                     struct anser_err *err)
{
	(void)err;
	fprintf(s->f, "{\"task\": \"%s\", \"doc_id\": %zu, \"line\": %zu, "
	        "\"model_sha256\": \"%s\", \"prefix\": \"%s\", "
	        "\"ctx_tokens\": %d, \"continuations\": [", task, doc,
	        d->line, s->model, s->prefix, r->ctx_tokens);
	for (int j = 0; j < det->n_choices; j++) {
		fprintf(s->f, "%s{\"ids\": ", j ? ", " : "");
		ids_list(s->f, det->ids[j], det->len[j]);
		fputs(", \"argmax\": ", s->f);
		ids_list(s->f, det->argmax[j], det->len[j]);
		fputs(", \"token_logprobs\": [", s->f);
		for (size_t t = 0; t < det->len[j]; t++)
			fprintf(s->f, "%s%.17g", t ? ", " : "", det->lp[j][t]);
		fprintf(s->f, "], \"logprob\": %.17g, \"greedy\": %s}", r->ll[j],
		        r->greedy[j] ? "true" : "false");
	}
	fputs("]", s->f);
	if (d->gold >= 0) {
		int pred = argmax(r->ll, d->n_choices);
		fprintf(s->f, ", \"pred\": %d, \"gold\": %d, \"correct\": %s",
		        pred, d->gold, pred == d->gold ? "true" : "false");
	} else {
		fprintf(s->f, ", \"correct\": %s", r->greedy[0] ? "true" : "false");
	}
	fputs("}\n", s->f);
	return ANSER_OK;
}

enum anser_status eval_samples_flush(struct eval_samples *s,
                                     struct anser_err *err)
{
	if (fflush(s->f) || ferror(s->f))
		return anser_errno(err, "cannot write '%s'", s->path);
	return ANSER_OK;
}

void eval_samples_close(struct eval_samples *s)
{
	if (!s)
		return;
	if (s->f)
		fclose(s->f);
	for (size_t i = 0; i < s->n_have; i++)
		anser_free(s->have[i].text);
	anser_free(s->have);
	anser_free(s->path);
	anser_free(s);
}

enum anser_status eval_locate(const struct eval_task *t, const char *const *dirs,
                              size_t n, char *buf, size_t size,
                              struct anser_err *err)
{
	const char *names[2] = { t->file, t->fallback };

	for (int k = 0; k < 2; k++) {
		if (!names[k])
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!dirs[i] || !*dirs[i])
				continue;
			snprintf(buf, size, "%s/%s", dirs[i], names[k]);
			if (!access(buf, R_OK))
				return ANSER_OK;
			snprintf(buf, size, "%s/%s/%s", dirs[i], t->family, names[k]);
			if (!access(buf, R_OK))
				return ANSER_OK;
		}
	}
	return anser_errf(err, ANSER_E_NOTFOUND,
	                  "no data for %s: put %s in the folder given by "
	                  "--data-dir or $ANSER_DATA (or its %s/ subfolder); it "
	                  "is in the Hugging Face dataset %s", t->name, t->file,
	                  t->family, t->repo);
}
