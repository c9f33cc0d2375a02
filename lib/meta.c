/*
 * meta.c - native-file metadata to and from JSON.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "meta.h"

static const struct {
	const char *key;
	size_t off; /* of an int inside struct anser_hparams */
} int_fields[] = {
	{ "n_layer",    offsetof(struct anser_hparams, n_layer) },
	{ "n_embd",     offsetof(struct anser_hparams, n_embd) },
	{ "n_head",     offsetof(struct anser_hparams, n_head) },
	{ "head_size",  offsetof(struct anser_hparams, head_size) },
	{ "vocab_size", offsetof(struct anser_hparams, vocab_size) },
	{ "ffn_size",   offsetof(struct anser_hparams, ffn_size) },
};

static const struct {
	const char *key;
	size_t off;
} lora_fields[] = {
	{ "decay", offsetof(struct anser_hparams, lora_decay) },
	{ "iclr",  offsetof(struct anser_hparams, lora_iclr) },
	{ "value", offsetof(struct anser_hparams, lora_value) },
	{ "gate",  offsetof(struct anser_hparams, lora_gate) },
};

#define INT_AT(hp, off) (*(int *)((char *)(hp) + (off)))

char *meta_encode(const struct meta *m)
{
	cJSON *o = cJSON_CreateObject(), *lora, *src;
	char *text = NULL, *copy = NULL;
	int ok = o != NULL;

	ok = ok && cJSON_AddStringToObject(o, "architecture", m->architecture);
	ok = ok && cJSON_AddStringToObject(o, "kind", "model");
	for (size_t i = 0; ok && i < ARRAY_SIZE(int_fields); i++)
		ok = cJSON_AddNumberToObject(o, int_fields[i].key,
		                             INT_AT(&m->hp, int_fields[i].off)) != NULL;
	lora = ok ? cJSON_AddObjectToObject(o, "lora") : NULL;
	ok = lora != NULL;
	for (size_t i = 0; ok && i < ARRAY_SIZE(lora_fields); i++)
		ok = cJSON_AddNumberToObject(lora, lora_fields[i].key,
		                             INT_AT(&m->hp, lora_fields[i].off)) != NULL;
	ok = ok && cJSON_AddNumberToObject(o, "n_params", (double)m->hp.n_params);
	ok = ok && cJSON_AddStringToObject(o, "tokenizer", m->tokenizer);
	ok = ok && cJSON_AddStringToObject(o, "vocab_sha256", m->vocab_sha256);
	src = ok ? cJSON_AddObjectToObject(o, "source") : NULL;
	ok = src != NULL;
	ok = ok && cJSON_AddStringToObject(src, "file", m->source_file);
	ok = ok && cJSON_AddStringToObject(src, "sha256", m->source_sha256);
	ok = ok && cJSON_AddStringToObject(src, "dtype", m->source_dtype);
	ok = ok && cJSON_AddStringToObject(o, "created", m->created);
	ok = ok && cJSON_AddStringToObject(o, "tool", m->tool);
	if (ok)
		text = cJSON_Print(o);
	cJSON_Delete(o);
	/* Hand back memory from our allocator so callers free it one way. */
	if (text) {
		copy = anser_strdup(text);
		cJSON_free(text);
	}
	return copy;
}

static enum anser_status get_str(const cJSON *o, const char *key, char **out,
                                 struct anser_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || !v->valuestring)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "anser file metadata: '%s' is missing or not a "
		                  "string", key);
	*out = anser_strdup(v->valuestring);
	return *out ? ANSER_OK : anser_errf(err, ANSER_E_NOMEM, "out of memory");
}

static enum anser_status get_int(const cJSON *o, const char *key, int *out,
                                 struct anser_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > 1e9 || v->valuedouble != (double)(int)v->valuedouble)
		return anser_errf(err, ANSER_E_FORMAT,
		                  "anser file metadata: '%s' is missing or not a "
		                  "count", key);
	*out = (int)v->valuedouble;
	return ANSER_OK;
}

enum anser_status meta_decode(const char *json, size_t len, struct meta *m,
                              struct anser_err *err)
{
	cJSON *o;
	const cJSON *lora, *src, *np;
	enum anser_status st = ANSER_OK;

	memset(m, 0, sizeof(*m));
	o = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return anser_errf(err, ANSER_E_FORMAT,
		                  "anser file metadata is not a JSON object");
	}
	for (size_t i = 0; !st && i < ARRAY_SIZE(int_fields); i++)
		st = get_int(o, int_fields[i].key, &INT_AT(&m->hp, int_fields[i].off),
		             err);
	lora = cJSON_GetObjectItemCaseSensitive(o, "lora");
	if (!st && !cJSON_IsObject(lora))
		st = anser_errf(err, ANSER_E_FORMAT,
		                "anser file metadata: 'lora' is missing");
	for (size_t i = 0; !st && i < ARRAY_SIZE(lora_fields); i++)
		st = get_int(lora, lora_fields[i].key,
		             &INT_AT(&m->hp, lora_fields[i].off), err);
	np = cJSON_GetObjectItemCaseSensitive(o, "n_params");
	/* Bounded before the conversion: past 2^64 it is undefined. */
	if (!st && (!cJSON_IsNumber(np) || !(np->valuedouble >= 0) ||
	            np->valuedouble > 1e18))
		st = anser_errf(err, ANSER_E_FORMAT,
		                "anser file metadata: 'n_params' is missing or "
		                "not a count");
	if (!st)
		m->hp.n_params = (uint64_t)np->valuedouble;
	src = cJSON_GetObjectItemCaseSensitive(o, "source");
	if (!st && !cJSON_IsObject(src))
		st = anser_errf(err, ANSER_E_FORMAT,
		                "anser file metadata: 'source' is missing");
	if (!st)
		st = get_str(o, "architecture", &m->architecture, err);
	if (!st)
		st = get_str(o, "tokenizer", &m->tokenizer, err);
	if (!st)
		st = get_str(o, "vocab_sha256", &m->vocab_sha256, err);
	if (!st)
		st = get_str(src, "file", &m->source_file, err);
	if (!st)
		st = get_str(src, "sha256", &m->source_sha256, err);
	if (!st)
		st = get_str(src, "dtype", &m->source_dtype, err);
	if (!st)
		st = get_str(o, "created", &m->created, err);
	if (!st)
		st = get_str(o, "tool", &m->tool, err);
	cJSON_Delete(o);
	if (st)
		meta_release(m);
	return st;
}

void meta_release(struct meta *m)
{
	char **s[] = {
		&m->architecture, &m->tokenizer, &m->vocab_sha256,
		&m->source_file, &m->source_sha256, &m->source_dtype,
		&m->created, &m->tool,
	};

	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		anser_free(*s[i]);
		*s[i] = NULL;
	}
}
