/*
 * tasks.c - the benchmarks anser scores, named as lm-evaluation-harness
 * names them, with the files the harness's datasets are built from.
 */
#include <stdio.h>
#include <string.h>

#include "../lib/internal.h"
#include "eval.h"

#define LAMBADA_REPO "EleutherAI/lambada_openai"
#define XSC_REPO "juletxara/xstory_cloze"
#define XSC(lang) \
	{ "xstorycloze_" lang, EVAL_MULTIPLE_CHOICE, "xstorycloze", \
	  "spring2016.val." lang ".tsv.split_20_80_eval.tsv", NULL, XSC_REPO, \
	  "xstorycloze", 1.0, "spring2016.val." lang ".tsv.split_20_80_eval.tsv" }
#define LMB_MT(lang, fallback) \
	{ "lambada_openai_mt_" lang, EVAL_LOGLIKELIHOOD, "lambada", \
	  "lambada_test_" lang ".jsonl", fallback, LAMBADA_REPO, NULL, 1.0, \
	  "data/lambada_test_" lang ".jsonl" }

static const struct eval_task tasks[] = {
	/* lambada_openai is the OpenAI test set; so is mt_en (same bytes). */
	{ "lambada_openai", EVAL_LOGLIKELIHOOD, "lambada", "lambada_test.jsonl",
	  "lambada_test_en.jsonl", LAMBADA_REPO, NULL, 1.0,
	  "data/lambada_test_en.jsonl" },
	LMB_MT("en", "lambada_test.jsonl"),
	LMB_MT("de", NULL),
	LMB_MT("es", NULL),
	LMB_MT("fr", NULL),
	LMB_MT("it", NULL),
	XSC("en"), XSC("ru"), XSC("zh"), XSC("es"), XSC("ar"), XSC("hi"),
	XSC("id"), XSC("te"), XSC("sw"), XSC("eu"), XSC("my"),
	{ "ppl", EVAL_PERPLEXITY, NULL, NULL, NULL, NULL, NULL, 1.0, NULL },
};

static const struct eval_task *const all[] = {
	&tasks[0], &tasks[1], &tasks[2], &tasks[3], &tasks[4], &tasks[5],
	&tasks[6], &tasks[7], &tasks[8], &tasks[9], &tasks[10], &tasks[11],
	&tasks[12], &tasks[13], &tasks[14], &tasks[15], &tasks[16], &tasks[17],
	NULL,
};

const struct eval_task *eval_find_task(const char *name)
{
	for (size_t i = 0; i < sizeof(tasks) / sizeof(tasks[0]); i++)
		if (!strcmp(tasks[i].name, name))
			return &tasks[i];
	return NULL;
}

const struct eval_task *const *eval_tasks(void)
{
	return all;
}

size_t eval_group_members(const char *group, const struct eval_task **out,
                          size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(tasks) / sizeof(tasks[0]); i++)
		if (tasks[i].group && !strcmp(tasks[i].group, group) && n < max)
			out[n++] = &tasks[i];
	return n;
}

enum anser_status eval_fetch(const struct eval_task *t,
                             const struct anser_hub_opts *base, char *buf,
                             size_t size, struct anser_err *err)
{
	struct anser_hub_opts o = base ? *base : (struct anser_hub_opts){ 0 };
	struct anser_hub_result res = { 0 };
	const char *files[1] = { t->hub_path };
	enum anser_status st;

	if (!t->repo || !t->hub_path)
		return anser_errf(err, ANSER_E_NOTFOUND, "no data for %s", t->name);
	o.repo_type = ANSER_REPO_DATASET;
	o.files = files;
	o.n_files = 1;
	st = anser_hub_download(t->repo, &o, &res, err);
	if (!st && res.n_files == 1)
		snprintf(buf, size, "%s", res.files[0].local_path);
	else if (!st)
		st = anser_errf(err, ANSER_E_NOTFOUND, "no data for %s in %s",
		                t->name, t->repo);
	anser_hub_result_free(&res);
	return st;
}
