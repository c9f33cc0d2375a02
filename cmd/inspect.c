/*
 * inspect.c - 'anser inspect': what is inside a .pth checkpoint or a native
 * model file, as text or as one JSON object (an interface: see anser-inspect.1).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"

static const char usage[] =
	"usage: anser inspect [--json] [--tensors] [--verify] file\n";

static const char help[] =
	"\nShow what is inside a PyTorch .pth checkpoint or an anser model "
	"file.\n"
	"\noptions:\n"
	"      --json      print one JSON object (always lists the tensors)\n"
	"      --tensors   list every tensor: name, type, shape\n"
	"      --verify    check every checksum (reads the whole file)\n"
	"  -h, --help      show this help\n";

/* What both file kinds have in common, gathered for printing. */
struct view {
	const char *path;
	const char *format;        /* "pth" or "anser" */
	const char *architecture;
	const char *problem;       /* why hparams failed, or NULL */
	struct anser_hparams hp;
	int have_hp;
	size_t n;
	const struct anser_tensor_info **t;
	uint64_t file_size;
	const struct anser_model_meta *meta; /* native only */
	int verified;
};

/* "bf16" when every tensor has one type, else "mixed". */
static const char *dtype_summary(const struct view *v, char *buf, size_t size)
{
	size_t count[64] = { 0 }, off = 0;
	int kinds = 0;

	for (size_t i = 0; i < v->n; i++)
		if (!count[v->t[i]->dtype & 63]++)
			kinds++;
	if (kinds <= 1)
		return v->n ? anser_dtype_name(v->t[0]->dtype) : "none";
	buf[0] = '\0';
	for (int d = 0; d < 64 && off < size; d++)
		if (count[d])
			off += (size_t)snprintf(buf + off, size - off, "%s%s x %zu",
			                        off ? ", " : "",
			                        anser_dtype_name((enum anser_dtype)d),
			                        count[d]);
	return buf;
}

static void print_shape(const struct anser_tensor_info *t, char *buf,
                        size_t size)
{
	size_t off = (size_t)snprintf(buf, size, "(");

	for (int d = 0; d < t->ndim && off < size; d++)
		off += (size_t)snprintf(buf + off, size - off, "%s%" PRId64,
		                        d ? ", " : "", t->shape[d]);
	if (off < size)
		snprintf(buf + off, size - off, ")");
}

static void print_text(const struct view *v, int tensors)
{
	const struct anser_hparams *hp = &v->hp;
	char buf[256], size[32];

	printf("file:          %s\n", v->path);
	if (v->meta)
		printf("format:        anser (version %u)\n", v->meta->version);
	else
		printf("format:        pth (PyTorch zip)\n");
	printf("architecture:  %s\n", v->architecture);
	if (v->have_hp && hp->kind == ANSER_KIND_STATE) {
		printf("kind:          state (initial state for a model)\n");
		printf("layers:        %d\n", hp->n_layer);
		printf("heads:         %d x %d\n", hp->n_head, hp->head_size);
		printf("embedding:     %d\n", hp->n_embd);
	} else if (v->have_hp) {
		printf("layers:        %d\n", hp->n_layer);
		printf("embedding:     %d\n", hp->n_embd);
		printf("heads:         %d x %d\n", hp->n_head, hp->head_size);
		printf("vocab:         %d\n", hp->vocab_size);
		printf("ffn:           %d\n", hp->ffn_size);
		printf("lora ranks:    decay %d, iclr %d, value %d, gate %d\n",
		       hp->lora_decay, hp->lora_iclr, hp->lora_value,
		       hp->lora_gate);
	}
	{
		uint64_t params = 0;
		for (size_t i = 0; i < v->n; i++)
			params += v->t[i]->numel;
		printf("parameters:    %" PRIu64 " (%.1fM)\n", params, params / 1e6);
	}
	printf("tensors:       %zu\n", v->n);
	printf("dtype:         %s\n", dtype_summary(v, buf, sizeof(buf)));
	printf("file size:     %" PRIu64 " bytes (%s)\n", v->file_size,
	       cli_human_bytes(v->file_size, size, sizeof(size)));
	if (v->meta) {
		printf("tokenizer:     %s\n", v->meta->tokenizer);
		printf("source:        %s (%s)\n", v->meta->source_file,
		       v->meta->source_dtype);
		printf("source sha256: %s\n", v->meta->source_sha256);
		printf("created:       %s by %s\n", v->meta->created, v->meta->tool);
	}
	if (v->verified)
		printf("verified:      all checksums match\n");
	if (tensors) {
		printf("\n%-40s %-5s %s\n", "name", "type", "shape");
		for (size_t i = 0; i < v->n; i++) {
			print_shape(v->t[i], buf, sizeof(buf));
			printf("%-40s %-5s %s\n", v->t[i]->name,
			       anser_dtype_name(v->t[i]->dtype), buf);
		}
	}
}

static void json_kv_str(const char *key, const char *val, int comma)
{
	printf("%s\n  ", comma ? "," : "");
	cli_json_str(stdout, key);
	printf(": ");
	cli_json_str(stdout, val);
}

static void json_kv_num(const char *key, uint64_t val)
{
	printf(",\n  ");
	cli_json_str(stdout, key);
	printf(": %" PRIu64, val);
}

static void print_json(const struct view *v)
{
	const struct anser_hparams *hp = &v->hp;
	uint64_t params = 0;
	char buf[256];

	for (size_t i = 0; i < v->n; i++)
		params += v->t[i]->numel;
	printf("{");
	json_kv_str("file", v->path, 0);
	json_kv_str("format", v->format, 1);
	json_kv_str("architecture", v->architecture, 1);
	if (v->have_hp) {
		json_kv_str("kind", hp->kind == ANSER_KIND_STATE ? "state" :
		            "model", 1);
		json_kv_num("n_layer", (uint64_t)hp->n_layer);
		json_kv_num("n_embd", (uint64_t)hp->n_embd);
		json_kv_num("n_head", (uint64_t)hp->n_head);
		json_kv_num("head_size", (uint64_t)hp->head_size);
	}
	if (v->have_hp && hp->kind == ANSER_KIND_MODEL) {
		json_kv_num("vocab_size", (uint64_t)hp->vocab_size);
		json_kv_num("ffn_size", (uint64_t)hp->ffn_size);
		printf(",\n  \"lora\": {\"decay\": %d, \"iclr\": %d, "
		       "\"value\": %d, \"gate\": %d}", hp->lora_decay,
		       hp->lora_iclr, hp->lora_value, hp->lora_gate);
	}
	if (v->problem)
		json_kv_str("error", v->problem, 1);
	json_kv_num("n_params", params);
	json_kv_num("n_tensors", v->n);
	json_kv_str("dtype", dtype_summary(v, buf, sizeof(buf)), 1);
	json_kv_num("file_size", v->file_size);
	if (v->meta) {
		json_kv_num("format_version", v->meta->version);
		json_kv_str("tokenizer", v->meta->tokenizer, 1);
		printf(",\n  \"source\": {\"file\": ");
		cli_json_str(stdout, v->meta->source_file);
		printf(", \"sha256\": ");
		cli_json_str(stdout, v->meta->source_sha256);
		printf(", \"dtype\": ");
		cli_json_str(stdout, v->meta->source_dtype);
		printf("}");
		json_kv_str("created", v->meta->created, 1);
		json_kv_str("tool", v->meta->tool, 1);
	}
	if (v->verified)
		printf(",\n  \"verified\": true");
	printf(",\n  \"tensors\": [");
	for (size_t i = 0; i < v->n; i++) {
		printf("%s\n    {\"name\": ", i ? "," : "");
		cli_json_str(stdout, v->t[i]->name);
		printf(", \"dtype\": \"%s\", \"shape\": [",
		       anser_dtype_name(v->t[i]->dtype));
		for (int d = 0; d < v->t[i]->ndim; d++)
			printf("%s%" PRId64, d ? ", " : "", v->t[i]->shape[d]);
		printf("]}");
	}
	printf("\n  ]\n}\n");
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",    no_argument, NULL, 'j' },
		{ "tensors", no_argument, NULL, 't' },
		{ "verify",  no_argument, NULL, 'v' },
		{ "help",    no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct anser_err err = { 0 };
	struct view v = { 0 };
	struct anser_model *model = NULL;
	struct anser_pth *pth = NULL;
	enum anser_file_kind kind;
	int c, json = 0, tensors = 0, verify = 0, status = EXIT_OK;
	struct stat sb;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 't': tensors = 1; break;
		case 'v': verify = 1; break;
		case 'h':
			printf("%s%s", usage, help);
			return EXIT_OK;
		default:
			return cli_bad_option(usage, c, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(usage, argc == optind ? "no file given" :
		                       "too many arguments");
	v.path = argv[optind];
	if (anser_file_kind(v.path, &kind, &err))
		return cli_fail(&err);
	if (!stat(v.path, &sb))
		v.file_size = (uint64_t)sb.st_size;
	switch (kind) {
	case ANSER_FILE_NATIVE:
		if (anser_model_open(v.path, &model, &err))
			return cli_fail(&err);
		if (verify && anser_model_verify(model, &err)) {
			anser_model_free(model);
			return cli_fail(&err);
		}
		v.verified = verify;
		v.format = "anser";
		v.architecture = "rwkv7";
		v.hp = *anser_model_hparams(model);
		v.have_hp = 1;
		v.meta = anser_model_meta(model);
		v.n = anser_model_n_tensors(model);
		v.t = calloc(v.n ? v.n : 1, sizeof(*v.t));
		if (!v.t) {
			anser_model_free(model);
			return cli_error("out of memory");
		}
		for (size_t i = 0; i < v.n; i++)
			v.t[i] = anser_model_tensor(model, i);
		break;
	case ANSER_FILE_PTH:
	case ANSER_FILE_PTH_LEGACY:
		if (anser_pth_open(v.path, &pth, &err))
			return cli_fail(&err);
		if (verify) {
			if (anser_pth_verify(pth, &err)) {
				anser_pth_free(pth);
				return cli_fail(&err);
			}
			v.verified = 1;
		}
		v.format = "pth";
		v.architecture = anser_pth_architecture(pth);
		v.n = anser_pth_n_tensors(pth);
		v.t = calloc(v.n ? v.n : 1, sizeof(*v.t));
		if (!v.t) {
			anser_pth_free(pth);
			return cli_error("out of memory");
		}
		for (size_t i = 0; i < v.n; i++)
			v.t[i] = anser_pth_tensor(pth, i);
		if (anser_pth_hparams(pth, &v.hp, &err)) {
			v.problem = err.msg;
			/* A broken RWKV-7 file is an error; another architecture
			 * is merely not ours, and listing it is still useful. */
			if (!strcmp(v.architecture, "rwkv7") ||
			    !strcmp(v.architecture, "rwkv7-state"))
				status = EXIT_FAIL;
		} else {
			v.have_hp = 1;
		}
		break;
	case ANSER_FILE_SAFETENSORS:
		return cli_error("'%s' is a safetensors file; anser reads PyTorch "
		                 ".pth checkpoints and anser model files", v.path);
	case ANSER_FILE_GGUF:
		return cli_error("'%s' is a GGUF file (llama.cpp); anser reads "
		                 "PyTorch .pth checkpoints and anser model files",
		                 v.path);
	default:
		return cli_error("'%s' is neither a PyTorch .pth checkpoint nor an "
		                 "anser model file", v.path);
	}
	if (json)
		print_json(&v);
	else
		print_text(&v, tensors);
	if (v.problem) {
		if (status == EXIT_FAIL)
			cli_error("%s", v.problem);
		else
			cli_note("%s", v.problem);
	}
	free(v.t);
	anser_model_free(model);
	anser_pth_free(pth);
	return status;
}
