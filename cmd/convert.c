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
	"usage: anser convert [-q] [--no-vocab] [-o out] [-t type] "
	"[--vocab file] in.pth | model\n";

static const char help[] =
	"\nConvert an RWKV-7 PyTorch checkpoint to an anser model file.  A model\n"
	"name such as rwkv7-world-0.1b is downloaded first with the World vocab\n"
	"(see anser-download(1)) and converted into the Hugging Face cache.\n"
	"\noptions:\n"
	"  -o, --output FILE   write FILE (default: the input with .anser)\n"
	"  -t, --type TYPE     f32, f16 or bf16 (default: the checkpoint's)\n"
	"      --vocab FILE    World vocab to embed (default: $ANSER_VOCAB,\n"
	"                      else rwkv_vocab_v20230424.txt beside the input)\n"
	"      --no-vocab      embed no tokenizer\n"
	"  -q, --quiet         print nothing on success\n"
	"  -h, --help          show this help\n";

/* The signal that interrupted the conversion, or 0. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* "dir/model.pth" -> "dir/model.anser"; other names get ".anser" added. */
static char *default_output(const char *in)
{
	size_t n = strlen(in);
	char *out = malloc(n + 8);

	if (!out)
		return NULL;
	if (n > 4 && !strcmp(in + n - 4, ".pth"))
		n -= 4;
	memcpy(out, in, n);
	memcpy(out + n, ".anser", 7);
	return out;
}

int cmd_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output",   required_argument, NULL, 'o' },
		{ "type",     required_argument, NULL, 't' },
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
	int c, quiet = 0, no_vocab = 0, status;
	struct sigaction sa = { .sa_handler = on_signal };

	while ((c = getopt_long(argc, argv, ":o:t:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'v': vocab = optarg; break;
		case 'n': no_vocab = 1; break;
		case 'q': quiet = 1; break;
		case 't':
			co.dtype = anser_dtype_parse(optarg);
			if (co.dtype != ANSER_DTYPE_F32 &&
			    co.dtype != ANSER_DTYPE_F16 &&
			    co.dtype != ANSER_DTYPE_BF16)
				return cli_usage_error(usage, "unknown type '%s' "
				                       "(f32, f16 or bf16)", optarg);
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
	if (!no_vocab) {
		if (anser_vocab_locate(in, vocab, vocab_path, sizeof(vocab_path),
		                       &err))
			return cli_fail(&err);
		co.vocab = vocab_path;
	}
	if (!out) {
		out = def_out = default_output(in);
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
		if (!quiet)
			printf("wrote %s: rwkv7 L%d C%d V%d, %.1fM params, %s, "
			       "%s, %s, in %.1f s\n", out, res.hp.n_layer,
			       res.hp.n_embd, res.hp.vocab_size,
			       res.hp.n_params / 1e6, anser_dtype_name(res.dtype),
			       co.vocab ? "World vocab" : "no vocab",
			       cli_human_bytes(res.out_bytes, size, sizeof(size)),
			       res.seconds);
		status = EXIT_OK;
	}
	free(def_out);
	return status;
}
