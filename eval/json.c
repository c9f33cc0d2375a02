/*
 * json.c - results in lm-evaluation-harness's JSON layout, so tools that
 * read the harness's results read ours: "results" (and "groups") map a task
 * to "<metric>,none" and "<metric>_stderr,none"; "versions", "n-shot",
 * "higher_is_better", "n-samples", "config" follow, plus what identifies
 * the run (model file sha256, tool version, command line, time).
 */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/internal.h"
#include "eval.h"

/* The --kl-base numbers of a ppl task, as more metrics of it. */
static const struct {
	const char *name;
	int higher_is_better;
} kl_metrics[] = {
	{ "kl_mean", 0 }, { "kl_p99", 0 }, { "kl_max", 0 },
	{ "top1_agree", 1 }, { "base_token_perplexity", 0 },
};

static int add_kl(cJSON *o, const struct eval_kl_report *r)
{
	const double v[] = { r->kl_mean, r->kl_p99, r->kl_max, r->top1,
	                     r->base_ppl };
	const double se[] = { r->kl_mean_stderr, NAN, NAN, r->top1_stderr, NAN };
	char key[96];

	for (size_t i = 0; i < ARRAY_SIZE(kl_metrics); i++) {
		snprintf(key, sizeof(key), "%s,none", kl_metrics[i].name);
		if (!cJSON_AddNumberToObject(o, key, v[i]))
			return 0;
		snprintf(key, sizeof(key), "%s_stderr,none", kl_metrics[i].name);
		if (isnan(se[i]) ? !cJSON_AddStringToObject(o, key, "N/A") :
		    !cJSON_AddNumberToObject(o, key, se[i]))
			return 0;
	}
	return cJSON_AddNumberToObject(o, "kl_positions", (double)r->n) != NULL;
}

static int add_metrics(cJSON *to, const struct eval_summary *s)
{
	cJSON *o = cJSON_AddObjectToObject(to, s->name);
	char key[96];

	if (!o || !cJSON_AddStringToObject(o, "alias", s->alias))
		return 0;
	for (int k = 0; k < s->n_metrics; k++) {
		snprintf(key, sizeof(key), "%s,none", s->m[k].name);
		if (!cJSON_AddNumberToObject(o, key, s->m[k].value))
			return 0;
		snprintf(key, sizeof(key), "%s_stderr,none", s->m[k].name);
		if (isnan(s->m[k].stderr_) ?
		    !cJSON_AddStringToObject(o, key, "N/A") :
		    !cJSON_AddNumberToObject(o, key, s->m[k].stderr_))
			return 0;
	}
	return !s->kl || add_kl(o, s->kl);
}

static int add_meta(cJSON *root, const struct eval_summary *s)
{
	cJSON *v = cJSON_GetObjectItem(root, "versions");
	cJSON *ns = cJSON_GetObjectItem(root, "n-shot");
	cJSON *hib = cJSON_GetObjectItem(root, "higher_is_better");
	cJSON *nsamp = cJSON_GetObjectItem(root, "n-samples");
	cJSON *h, *c;

	if (!cJSON_AddNumberToObject(v, s->name, s->version) ||
	    !cJSON_AddNumberToObject(ns, s->name, 0))
		return 0;
	h = cJSON_AddObjectToObject(hib, s->name);
	for (int k = 0; h && k < s->n_metrics; k++)
		if (!cJSON_AddBoolToObject(h, s->m[k].name,
		                           s->m[k].higher_is_better))
			return 0;
	for (size_t k = 0; h && s->kl && k < ARRAY_SIZE(kl_metrics); k++)
		if (!cJSON_AddBoolToObject(h, kl_metrics[k].name,
		                           kl_metrics[k].higher_is_better))
			return 0;
	if (s->is_group)
		return h != NULL;
	c = cJSON_AddObjectToObject(nsamp, s->name);
	return c && cJSON_AddNumberToObject(c, "original", (double)s->n_original) &&
	       cJSON_AddNumberToObject(c, "effective", (double)s->n);
}

enum anser_status eval_write_json(const char *path,
                                  const struct eval_summary *tasks, size_t nt,
                                  const struct eval_summary *groups, size_t ng,
                                  const struct eval_run_info *info,
                                  struct anser_err *err)
{
	cJSON *root = cJSON_CreateObject(), *res, *grp, *sub, *cfg;
	enum anser_status st = ANSER_OK;
	char *text = NULL, *tmp = NULL, secs[32];
	int ok = root != NULL, fd;
	FILE *f;

	res = ok ? cJSON_AddObjectToObject(root, "results") : NULL;
	grp = ok ? cJSON_AddObjectToObject(root, "groups") : NULL;
	sub = ok ? cJSON_AddObjectToObject(root, "group_subtasks") : NULL;
	ok = res && grp && sub && cJSON_AddObjectToObject(root, "versions") &&
	     cJSON_AddObjectToObject(root, "n-shot") &&
	     cJSON_AddObjectToObject(root, "higher_is_better") &&
	     cJSON_AddObjectToObject(root, "n-samples");
	for (size_t i = 0; ok && i < nt; i++)
		ok = add_metrics(res, &tasks[i]) && add_meta(root, &tasks[i]);
	for (size_t i = 0; ok && i < ng; i++) {
		cJSON *list;
		ok = add_metrics(res, &groups[i]) && add_metrics(grp, &groups[i]) &&
		     add_meta(root, &groups[i]);
		list = ok ? cJSON_AddArrayToObject(sub, groups[i].name) : NULL;
		for (int k = 0; list && k < groups[i].n_subtasks; k++)
			cJSON_AddItemToArray(list,
			                     cJSON_CreateString(groups[i].subtasks[k]));
		ok = ok && list;
	}
	cfg = ok ? cJSON_AddObjectToObject(root, "config") : NULL;
	ok = ok && cfg && cJSON_AddStringToObject(cfg, "model", "anser") &&
	     cJSON_AddStringToObject(cfg, "model_args", info->model_path) &&
	     cJSON_AddStringToObject(cfg, "prefix", info->prefix) &&
	     cJSON_AddNumberToObject(cfg, "threads", info->threads) &&
	     (info->limit < 0 ? cJSON_AddNullToObject(cfg, "limit") != NULL :
	      cJSON_AddNumberToObject(cfg, "limit", (double)info->limit) != NULL) &&
	     cJSON_AddNumberToObject(cfg, "num_fewshot", 0) &&
	     cJSON_AddStringToObject(cfg, "dtype", "float32 arithmetic");
	snprintf(secs, sizeof(secs), "%.3f", info->seconds);
	ok = ok && cJSON_AddStringToObject(root, "model_name", info->model_path) &&
	     cJSON_AddStringToObject(root, "model_sha256", info->model_sha256) &&
	     cJSON_AddStringToObject(root, "model_source", info->source_file) &&
	     cJSON_AddStringToObject(root, "model_source_sha256",
	                             info->source_sha256) &&
	     cJSON_AddStringToObject(root, "anser_version", ANSER_VERSION) &&
	     cJSON_AddStringToObject(root, "command_line", info->command_line) &&
	     cJSON_AddStringToObject(root, "total_evaluation_time_seconds", secs);
	if (ok && info->kl_base_path) {
		cJSON *kb = cJSON_AddObjectToObject(root, "kl_base");
		ok = kb && cJSON_AddStringToObject(kb, "model_name",
		                                   info->kl_base_path) &&
		     cJSON_AddStringToObject(kb, "model_sha256",
		                             info->kl_base_sha256) &&
		     cJSON_AddStringToObject(kb, "model_source",
		                             info->kl_base_source) &&
		     cJSON_AddStringToObject(kb, "model_source_sha256",
		                             info->kl_base_source_sha256);
	}
	if (ok)
		text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	tmp = anser_malloc(strlen(path) + 16);
	if (!tmp) {
		cJSON_free(text);
		return anser_errf(err, ANSER_E_NOMEM, "out of memory");
	}
	snprintf(tmp, strlen(path) + 16, "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		st = anser_errno(err, "cannot create a file beside '%s'", path);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	fputs(text, f);
	fputc('\n', f);
	if (fflush(f) || ferror(f) || fsync(fileno(f)))
		st = anser_errno(err, "cannot write '%s'", tmp);
	if (fclose(f) && !st)
		st = anser_errno(err, "cannot write '%s'", tmp);
	if (!st && (chmod(tmp, 0644) || rename(tmp, path)))
		st = anser_errno(err, "cannot write '%s'", path);
	if (st)
		unlink(tmp);
out:
	anser_free(tmp);
	cJSON_free(text);
	return st;
}
