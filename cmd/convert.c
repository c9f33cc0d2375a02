/*
 * convert.c - 'anser convert': a PyTorch .pth checkpoint to a native file.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static const char usage[] =
	"usage: anser convert [-q] [--no-vocab] [-o out] [-t type] [--emb-type type]\n"
	"                     [--head-type type] [--vocab file] in.pth | in.anser | model\n";

static const char help[] =
	"\nConvert an RWKV-7 PyTorch checkpoint to an anser model file, or an anser\n"
	"model file to other types.  A model name such as rwkv7-world-0.1b is\n"
	"downloaded first with the World vocab (see anser-download(1)) and\n"
	"converted into the Hugging Face cache.\n"
	"\ntypes: f32, f16, bf16, q8_0 (8 bits), q4_0 (4.5 bits).  With q8_0 or\n"
	"q4_0 the big matrices are quantized, the head is q8_0, and the embedding\n"
	"and small tensors keep the source's type.\n"
	"\noptions:\n"
	"  -o, --output FILE     write FILE (default: the input with .anser; for an\n"
	"                        anser input, with .TYPE.anser)\n"
	"  -t, --type TYPE       the type (default: the input's)\n"
	"      --head-type TYPE  the head's type\n"
	"      --emb-type TYPE   the embedding's type\n"
	"      --vocab FILE      World vocab to embed (default: $ANSER_VOCAB, else\n"
	"                        rwkv_vocab_v20230424.txt beside the input; an\n"
	"                        anser input keeps its own)\n"
	"      --no-vocab        embed no tokenizer\n"
	"  -q, --quiet           print nothing on success\n"
	"  -h, --help            show this help\n";

/* The signal that interrupted the conversion, or 0. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* "dir/model.pth" -> "dir/model.anser"; other names get ".anser" added.
 * An anser input gets its type too: "model.anser" -> "model.q8_0.anser". */
static char *default_output(const char *in, const char *type)
{
	size_t n = strlen(in);
	char *out = malloc(n + 16);

	if (!out)
		return NULL;
	if (type) {
		if (n > 6 && !strcmp(in + n - 6, ".anser"))
			n -= 6;
		snprintf(out, n + 16, "%.*s.%s.anser", (int)n, in, type);
		return out;
	}
	if (n > 4 && !strcmp(in + n - 4, ".pth"))
		n -= 4;
	memcpy(out, in, n);
	memcpy(out + n, ".anser", 7);
	return out;
}

static int parse_type(const char *arg, const char *flag, int *out)
{
	*out = anser_dtype_parse(arg);
	if (*out < ANSER_DTYPE_F32 || *out > ANSER_DTYPE_Q4_0)
		return cli_usage_error(usage, "unknown %s '%s' (f32, f16, bf16, "
		                       "q8_0 or q4_0)", flag, arg);
	return EXIT_OK;
}

/* "q4_0", or "q4_0 (head q8_0, embedding bf16, rest bf16)" when mixed. */
static void describe_types(const struct anser_convert_result *r, char *buf,
                           size_t size)
{
	enum anser_dtype t = r->dtype;

	if (r->head_dtype == t && r->emb_dtype == t && r->other_dtype == t) {
		snprintf(buf, size, "%s", anser_dtype_name(t));
		return;
	}
	snprintf(buf, size, "%s (head %s, embedding %s, rest %s)",
	         (int)t < 0 ? "mixed" : anser_dtype_name(t),
	         (int)r->head_dtype < 0 ? "mixed" : anser_dtype_name(r->head_dtype),
	         (int)r->emb_dtype < 0 ? "mixed" : anser_dtype_name(r->emb_dtype),
	         (int)r->other_dtype < 0 ? "mixed" :
	         anser_dtype_name(r->other_dtype));
}

int cmd_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output",   required_argument, NULL, 'o' },
		{ "type",     required_argument, NULL, 't' },
		{ "head-type", required_argument, NULL, 'H' },
		{ "emb-type", required_argument, NULL, 'E' },
		{ "vocab",    required_argument, NULL, 'v' },
		{ "no-vocab", no_argument,       NULL, 'n' },
		{ "quiet",    no_argument,       NULL, 'q' },
		{ "help",     no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct anser_convert_opts co = { .dtype = -1, .cancel = &interrupted };
	struct anser_convert_result res;
	struct anser_err err = { 0 };
	const char *out = NULL, *vocab = NULL;
	char *def_out = NULL, vocab_path[4096], size[32];
	char types[96];
	int c, quiet = 0, no_vocab = 0, status, dummy, native = 0;
	enum anser_file_kind kind;
	struct sigaction sa = { .sa_handler = on_signal };

	while ((c = getopt_long(argc, argv, ":o:t:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'v': vocab = optarg; break;
		case 'n': no_vocab = 1; break;
		case 'q': quiet = 1; break;
		case 't':
			if (parse_type(optarg, "type", &co.dtype))
				return EXIT_USAGE;
			break;
		case 'H':
		case 'E':
			if (parse_type(optarg, c == 'H' ? "head type" :
			               "embedding type", &dummy))
				return EXIT_USAGE;
			*(c == 'H' ? &co.head_type : &co.emb_type) = optarg;
			break;
		case 'h':
			printf("%s%s", usage, help);
			return EXIT_OK;
		default:
			return cli_bad_option(usage, c, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(usage, argc == optind ?
		                       "no input checkpoint given" :
		                       "too many arguments");
	if (vocab && no_vocab)
		return cli_usage_error(usage, "--vocab and --no-vocab conflict");
	const char *in = argv[optind];
	/* A model name (anser download --list): fetched into the hub cache,
	 * converted beside it unless -o says otherwise. */
	struct anser_model_files mf;
	if (access(in, F_OK) && anser_model_lookup(in)) {
		struct anser_hub_opts ho = { .cancel = &interrupted };
		if (!quiet && isatty(STDERR_FILENO))
			ho.progress = cli_hub_progress;
		status = anser_model_fetch(in, &ho, &mf, &err);
		if (ho.progress)
			fprintf(stderr, "\r\033[K");
		if (status)
			return cli_fail(&err);
		in = mf.checkpoint;
		if (!vocab && !no_vocab)
			vocab = mf.vocab;
		if (!out)
			out = mf.native;
	}
	native = !anser_file_kind(in, &kind, NULL) && kind == ANSER_FILE_NATIVE;
	if (native) {
		/* An anser file keeps its vocab unless told otherwise. */
		co.vocab = vocab;
		co.drop_vocab = no_vocab;
		if (!out && co.dtype < 0)
			return cli_usage_error(usage, "'%s' is an anser file "
			                       "already: give --type or -o", in);
	} else if (!no_vocab) {
		if (anser_vocab_locate(in, vocab, vocab_path, sizeof(vocab_path),
		                       &err))
			return cli_fail(&err);
		co.vocab = vocab_path;
	}
	if (!out) {
		out = def_out = default_output(in, native ?
		                               anser_dtype_name(co.dtype) : NULL);
		if (!out)
			return cli_error("out of memory");
	}
	/* Stop cleanly on ^C so the library can remove its temporary file. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (anser_convert_pth(in, out, &co, &res, &err)) {
		status = cli_fail(&err);
		if (interrupted) {
			/* Die of the signal, as the shell expects of ^C. */
			free(def_out);
			signal(interrupted, SIG_DFL);
			raise(interrupted);
		}
	} else {
		describe_types(&res, types, sizeof(types));
		if (!quiet)
			printf("wrote %s: rwkv7 L%d C%d V%d, %.1fM params, %s, "
			       "%s, %s, in %.1f s\n", out, res.hp.n_layer,
			       res.hp.n_embd, res.hp.vocab_size,
			       res.hp.n_params / 1e6, types,
			       co.vocab || (native && !no_vocab) ? "World vocab" :
			       "no vocab",
			       cli_human_bytes(res.out_bytes, size, sizeof(size)),
			       res.seconds);
		status = EXIT_OK;
	}
	free(def_out);
	return status;
}
