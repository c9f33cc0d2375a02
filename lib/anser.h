/*
 * anser.h - the public API of libanser, a toolchain for RWKV-7 "Goose" models.
 *
 * Conventions, the same for every function here:
 *  - Fallible functions return enum anser_status (ANSER_OK is 0) and take an
 *    optional `struct anser_err *err` as their last argument.  When err is not
 *    NULL and the call fails, err->msg holds one line in lower case that names
 *    the thing that failed ("tensor 'blocks.0.att.r_k' has shape (2, 64), expected
 *    (1, 64)").  The library never prints and never exits.
 *  - Objects come in _open/_new and _free pairs; _free(NULL) does nothing.
 *  - Pointers returned by getters are borrowed: they stay valid until the object
 *    they came from is freed.
 *  - No function keeps global state; distinct objects may be used from distinct
 *    threads at once.  One object is not safe to share between threads unless
 *    its functions say so.
 */
#ifndef ANSER_H
#define ANSER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define ANSER_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

enum anser_status {
	ANSER_OK = 0,
	ANSER_E_NOMEM,       /* an allocation failed */
	ANSER_E_IO,          /* a system call on a file failed; msg has strerror */
	ANSER_E_FORMAT,      /* a file is malformed or not what it claims to be */
	ANSER_E_UNSUPPORTED, /* well formed, but not something anser handles */
	ANSER_E_SHAPE,       /* a tensor is missing or has the wrong shape/type */
	ANSER_E_CHECKSUM,    /* a CRC or hash does not match */
	ANSER_E_ARG,         /* the caller passed an invalid argument */
	ANSER_E_NOTFOUND,    /* a file or tensor that was asked for does not exist */
	ANSER_E_CANCELLED,   /* the caller's cancel flag was raised */
	ANSER_E_RANGE,       /* a value does not fit the requested type */
};

/* Caller-owned error details; pass NULL when only the status is wanted. */
struct anser_err {
	enum anser_status code;
	char msg[512];
};

/* A fixed, static description of a status ("malformed file"). */
const char *anser_status_str(enum anser_status status);

/* The library version, ANSER_VERSION. */
const char *anser_version(void);

/* ---------------------------------------------------------------- dtypes */

/*
 * Element types.  A native file stores F32, F16 and BF16, and the
 * block-quantized Q8_0 and Q4_0 (man/anser-format.5), which describe one
 * block of `anser_dtype_block_elems` elements per `anser_dtype_block_bytes`
 * bytes and only occur in the big matrices, with rows a whole number of
 * blocks.  The types from F64 on only occur in .pth checkpoints and can be
 * listed but not converted.
 */
enum anser_dtype {
	ANSER_DTYPE_F32  = 0,
	ANSER_DTYPE_F16  = 1,
	ANSER_DTYPE_BF16 = 2,
	ANSER_DTYPE_Q8_0 = 3, /* 32 x int8 with one f16 scale: 34 bytes */
	ANSER_DTYPE_Q4_0 = 4, /* 32 x 4 bits with one f16 scale: 18 bytes */
	/* 5..31: reserved for native types */
	ANSER_DTYPE_F64  = 32,
	ANSER_DTYPE_I64  = 33,
	ANSER_DTYPE_I32  = 34,
	ANSER_DTYPE_I16  = 35,
	ANSER_DTYPE_I8   = 36,
	ANSER_DTYPE_U8   = 37,
	ANSER_DTYPE_BOOL = 38,
};

/* "f32", "bf16", ...; "?" for a value outside the enum. */
const char *anser_dtype_name(enum anser_dtype dtype);

/* Parses a name as printed by anser_dtype_name; returns -1 if unknown. */
int anser_dtype_parse(const char *name);

/* Elements per block (1 for plain types) and bytes per block; 0 if unknown. */
size_t anser_dtype_block_elems(enum anser_dtype dtype);
size_t anser_dtype_block_bytes(enum anser_dtype dtype);

/* ---------------------------------------------------------------- tensors */

#define ANSER_MAX_DIMS 4

/* What a tensor is, wherever it is stored. */
struct anser_tensor_info {
	const char *name;                /* borrowed, NUL-terminated */
	enum anser_dtype dtype;
	int ndim;                        /* 0 (scalar) .. ANSER_MAX_DIMS */
	int64_t shape[ANSER_MAX_DIMS];   /* outermost first, as stored */
	uint64_t numel;                  /* product of shape (1 for a scalar) */
};

/* ---------------------------------------------------------------- models */

enum anser_kind {
	ANSER_KIND_MODEL = 0, /* full weights */
	ANSER_KIND_STATE = 1, /* state-tuning file: blocks.N.att.time_state only */
};

/*
 * Hyperparameters of an RWKV-7 model, all inferred from tensor shapes (the
 * checkpoints store nothing else).  For a state file only kind, n_layer,
 * n_embd, n_head and head_size are set.
 */
struct anser_hparams {
	enum anser_kind kind;
	int n_layer;    /* L */
	int n_embd;     /* C = n_head * head_size */
	int n_head;     /* H */
	int head_size;  /* N, 64 in every release */
	int vocab_size; /* V, rows of emb.weight and head.weight */
	int ffn_size;   /* F, rows of ffn.key.weight (4C in releases) */
	int lora_decay; /* Dw: columns of att.w1 */
	int lora_iclr;  /* Da: columns of att.a1 */
	int lora_value; /* Dv: columns of att.v1 (layers >= 1) */
	int lora_gate;  /* Dg: columns of att.g1 */
	int layer0_v;   /* 1 if blocks.0.att.v0/v1/v2 are present (unused) */
	uint64_t n_params;
};

/* ---------------------------------------------------------------- .pth */

/*
 * A PyTorch checkpoint written by torch.save (zip with a pickle).  The pickle
 * is read by a restricted unpickler that knows only the opcodes and globals
 * torch.save emits for tensors; anything else is an error, never executed.
 */
struct anser_pth;

/* Opens and indexes `path`; reads no tensor data yet. */
enum anser_status anser_pth_open(const char *path, struct anser_pth **out,
                                 struct anser_err *err);
void anser_pth_free(struct anser_pth *pth);

/* Tensors in the order the pickle lists them. */
size_t anser_pth_n_tensors(const struct anser_pth *pth);
const struct anser_tensor_info *anser_pth_tensor(const struct anser_pth *pth,
                                                 size_t i);
/* Index of the tensor called `name`, or -1. */
long anser_pth_find(const struct anser_pth *pth, const char *name);

/*
 * Reads tensor i as a contiguous row-major array of type `to` (F32, F16 or
 * BF16) into dst, which holds dst_bytes.  Strides and storage offset are
 * honoured.  Converting to a narrower type rounds to nearest even; a finite
 * value that overflows the target type fails with ANSER_E_RANGE.
 */
enum anser_status anser_pth_read(struct anser_pth *pth, size_t i,
                                 enum anser_dtype to, void *dst,
                                 size_t dst_bytes, struct anser_err *err);

/*
 * Reads every storage entry whole so the zip's CRC32 of each is checked.
 */
enum anser_status anser_pth_verify(struct anser_pth *pth,
                                   struct anser_err *err);

/*
 * Infers the hyperparameters of an RWKV-7 model or state file from the tensor
 * shapes, checking that every expected tensor is present with the right shape
 * and that nothing unknown is.  Other architectures fail with
 * ANSER_E_UNSUPPORTED and a message naming what was found.
 */
enum anser_status anser_pth_hparams(const struct anser_pth *pth,
                                    struct anser_hparams *hp,
                                    struct anser_err *err);

/*
 * A short name for what the tensor names look like: "rwkv7", "rwkv7-state",
 * "rwkv6", "rwkv5", "rwkv4", "rwkv7-deepembed" or "unknown".  Cheap; does not
 * validate shapes.
 */
const char *anser_pth_architecture(const struct anser_pth *pth);

/* ---------------------------------------------------------------- native */

/*
 * A native model file (man/anser-format.5), memory-mapped read-only.  Opening
 * validates the header, metadata, tensor index and checksums of everything but
 * the tensor data, and checks the tensors form a complete RWKV-7 model.
 */
struct anser_model;

/* Metadata recorded at conversion time; strings are borrowed, never NULL. */
struct anser_model_meta {
	uint32_t version;          /* format version */
	const char *tokenizer;     /* "rwkv-world" or "none" */
	const char *vocab_sha256;  /* of the embedded vocab text, or "" */
	const char *source_file;   /* base name of the converted checkpoint */
	const char *source_sha256; /* its sha256, hex */
	const char *source_dtype;  /* "bf16", ... or "mixed" */
	const char *created;       /* conversion time, UTC, ISO 8601 */
	const char *tool;          /* "anser 0.1.0" */
	uint64_t file_size;
};

enum anser_status anser_model_open(const char *path, struct anser_model **out,
                                   struct anser_err *err);

/*
 * How to open: by default the file is mapped, so opening costs nothing and
 * the pages are shared with the page cache and other processes.  With
 * no_mmap the whole file is read at open into memory of the model's own, in
 * 2 MB pages where the kernel has them: opening reads the file, resident
 * memory is the whole file, and decoding is faster (fewer TLB misses while
 * the matvecs stream the weights: 5-11% on 0.1B and 1.5B f16).
 */
struct anser_model_opts {
	int no_mmap;
};

/* anser_model_open with options (o may be NULL). */
enum anser_status anser_model_open_opts(const char *path,
                                        const struct anser_model_opts *o,
                                        struct anser_model **out,
                                        struct anser_err *err);
void anser_model_free(struct anser_model *model);

const struct anser_hparams *anser_model_hparams(const struct anser_model *m);
const struct anser_model_meta *anser_model_meta(const struct anser_model *m);
size_t anser_model_n_tensors(const struct anser_model *m);
const struct anser_tensor_info *anser_model_tensor(const struct anser_model *m,
                                                   size_t i);
long anser_model_find(const struct anser_model *m, const char *name);

/* The tensor's bytes inside the mapping (or the loaded copy), 64-byte
 * aligned, and their length. */
const void *anser_model_tensor_data(const struct anser_model *m, size_t i,
                                    size_t *nbytes);

/* The embedded World vocab text (rwkv_vocab_v20230424.txt), or NULL. */
const char *anser_model_vocab(const struct anser_model *m, size_t *len);

/* Checks the CRC32 of every tensor's data (reads the whole file). */
enum anser_status anser_model_verify(const struct anser_model *m,
                                     struct anser_err *err);

/* ---------------------------------------------------------------- convert */

#define ANSER_VOCAB_FILE "rwkv_vocab_v20230424.txt"

/*
 * Types: with a float dtype every tensor gets it.  With Q8_0 or Q4_0 the big
 * matrices (quant.h) get it, the head Q8_0, and everything else (the
 * embedding, norms, mixing vectors, decay parameters, LoRAs) keeps the
 * source's float type.  head_type and emb_type, type names ("f16"), override
 * those two; NULL leaves them to the rule.  A quantized type needs whole
 * blocks per row; a matrix without them keeps the float type.
 */
struct anser_convert_opts {
	int dtype;             /* ANSER_DTYPE_*, or -1: the source's */
	const char *head_type; /* head.weight's type, or NULL */
	const char *emb_type;  /* emb.weight's type, or NULL */
	const char *vocab;     /* path of the World vocab, or NULL: for a .pth
	                        * none, for a native file the one it embeds */
	int drop_vocab;        /* a native file's vocab is not carried over */
	/* Raised (nonzero) by a signal handler to stop early; may be NULL. */
	volatile sig_atomic_t *cancel;
};

struct anser_convert_result {
	struct anser_hparams hp;
	enum anser_dtype dtype;   /* the output's type (of the big matrices) */
	enum anser_dtype head_dtype, emb_dtype;
	enum anser_dtype other_dtype; /* of the small tensors, or -1: mixed */
	size_t n_tensors;
	uint64_t out_bytes;
	double seconds;
};

/*
 * Converts the checkpoint at `in` to a native file at `out`; `in` may also be
 * a native file, to change its types (its data is verified first, and its
 * metadata keeps naming the original checkpoint).  The output is written to
 * a temporary file beside `out`, synced, then renamed into place; on any
 * failure (including cancellation) nothing is left behind.  Tensors are
 * streamed in bounded chunks, so memory use stays small whatever the model.
 */
enum anser_status anser_convert_pth(const char *in, const char *out,
                                    const struct anser_convert_opts *opts,
                                    struct anser_convert_result *res,
                                    struct anser_err *err);

/*
 * Finds the World vocab for converting `pth_path`: `explicit` when not NULL,
 * else $ANSER_VOCAB, else ANSER_VOCAB_FILE in the checkpoint's folder.  Writes
 * the path into buf.  Fails with ANSER_E_NOTFOUND and a message saying how to
 * get the file when there is none.
 */
enum anser_status anser_vocab_locate(const char *pth_path, const char *explicit,
                                     char *buf, size_t bufsize,
                                     struct anser_err *err);

/*
 * Validates a World vocab text (every line "ID LITERAL LENGTH", ids 1..n in
 * order, literals decoding to LENGTH bytes).  On success *n_tokens is the
 * highest id.
 */
enum anser_status anser_vocab_check(const char *text, size_t len,
                                    int *n_tokens, struct anser_err *err);

/* ---------------------------------------------------------------- tokenizer */

/*
 * The RWKV World tokenizer: greedy longest match over bytes against the
 * vocab (rwkv_vocab_v20230424.txt), so any byte string encodes.  Token 0 is
 * not in the vocab: it is the end-of-text / document separator, which
 * callers insert themselves.  Immutable once built: safe to share between
 * threads.
 */
struct anser_tokenizer;

/* Builds a tokenizer from the text of a vocab file (copied; text may go). */
enum anser_status anser_tokenizer_new(const char *vocab_text, size_t len,
                                      struct anser_tokenizer **out,
                                      struct anser_err *err);

/* From the vocab embedded in a model file; ANSER_E_NOTFOUND if it has none. */
enum anser_status anser_tokenizer_from_model(const struct anser_model *m,
                                             struct anser_tokenizer **out,
                                             struct anser_err *err);
void anser_tokenizer_free(struct anser_tokenizer *t);

/* The highest token id (65529 for the World vocab). */
int anser_tokenizer_n_tokens(const struct anser_tokenizer *t);

/*
 * Encodes len bytes (any bytes, not only valid UTF-8) into ids, which must
 * have room for len entries (a token is at least one byte).  Returns the
 * number of ids written.  Cannot fail.
 */
size_t anser_tokenizer_encode(const struct anser_tokenizer *t,
                              const void *text, size_t len, int32_t *ids);

/* The bytes of token `id` (borrowed; not NUL-terminated) and their count;
 * NULL with *len 0 for token 0 and ids outside the vocab. */
const uint8_t *anser_tokenizer_token(const struct anser_tokenizer *t,
                                     int32_t id, size_t *len);

/*
 * Streaming output: tokens can split a UTF-8 character, so text printed as
 * it is generated must hold back an incomplete sequence until its last byte
 * arrives.  Bytes that can never complete a character are passed through.
 * Start from a zeroed struct.
 */
struct anser_utf8_stream {
	uint8_t pending[4];
	size_t n;
};

/* Appends in[0..n) and writes what is complete to out (room for n + 4
 * bytes); returns the bytes written. */
size_t anser_utf8_stream_push(struct anser_utf8_stream *s, const uint8_t *in,
                              size_t n, uint8_t *out);

/* Writes whatever is still held back (room for 4 bytes); returns the count. */
size_t anser_utf8_stream_flush(struct anser_utf8_stream *s, uint8_t *out);

/* ---------------------------------------------------------------- sampler */

struct anser_sampler_params {
	float temperature;       /* 0: greedy (argmax) */
	float top_p;             /* keep the smallest set with mass >= top_p; 1: off */
	int top_k;               /* keep the k most likely; 0: off */
	float presence_penalty;  /* subtracted once from a token seen before */
	float frequency_penalty; /* subtracted per (decayed) occurrence */
	float penalty_decay;     /* occurrences fade by this per token, as ChatRWKV */
	uint64_t seed;           /* same seed, same logits: same choices */
};

/* Fills p with the defaults documented in anser-run.1 (those of the official
 * RWKV-7 chat demo). */
void anser_sampler_params_default(struct anser_sampler_params *p);

struct anser_sampler;

/* p NULL means the defaults; values out of range give ANSER_E_ARG. */
enum anser_status anser_sampler_new(const struct anser_sampler_params *p,
                                    int vocab_size, struct anser_sampler **out,
                                    struct anser_err *err);
void anser_sampler_free(struct anser_sampler *s);

/* Forgets the tokens seen (penalties) and restarts the random sequence. */
void anser_sampler_reset(struct anser_sampler *s);

/*
 * Picks the next token from logits[vocab_size] (left unchanged), as the
 * official RWKV pipeline does: penalties for the tokens accepted so far,
 * softmax, top-p, top-k, then temperature.  May return ids past the
 * tokenizer's last (the model has more rows than the vocab has tokens).
 * Not thread-safe per sampler.
 */
int32_t anser_sampler_sample(struct anser_sampler *s, const float *logits);

/* Records that `token` was emitted, for the penalties (pass generated
 * tokens only, not the prompt's).  Ids outside the vocab are ignored. */
void anser_sampler_accept(struct anser_sampler *s, int32_t token);

/* ---------------------------------------------------------------- inference */

/*
 * A context runs one model: it binds the weights in place (no copies of the
 * mmapped file), owns the thread pool and the scratch buffers.  One context
 * runs one call at a time; the model must outlive it.
 */
struct anser_ctx;

struct anser_ctx_params {
	int n_threads; /* 0: the number of cores */
	int chunk;     /* tokens per sequence-mode step; 0: default, 1: one by one */
};

enum anser_status anser_ctx_new(const struct anser_model *m,
                                const struct anser_ctx_params *p,
                                struct anser_ctx **out, struct anser_err *err);
void anser_ctx_free(struct anser_ctx *ctx);

/*
 * The recurrent state of one sequence: per layer the last ln1 and ln2
 * outputs (C floats each) and the wkv matrices (H x N x N), all float32.
 */
struct anser_state;

enum anser_status anser_state_new(const struct anser_model *m,
                                  struct anser_state **out,
                                  struct anser_err *err);
void anser_state_free(struct anser_state *s);
void anser_state_reset(struct anser_state *s);  /* back to all zeros */
/* Copies src into dst; both must belong to the same model shape. */
enum anser_status anser_state_copy(struct anser_state *dst,
                                   const struct anser_state *src,
                                   struct anser_err *err);
/* The floats, layer by layer: att_x[C], wkv[H][N][N], ffn_x[C]. */
float *anser_state_data(struct anser_state *s, size_t *n_floats);

/*
 * Writes the state to `path` (format in anser-run.1: a header naming the
 * model's shape and the sha256 of the checkpoint it came from, the floats,
 * CRC32s), atomically.
 */
enum anser_status anser_state_save(const struct anser_state *s,
                                   const char *path, struct anser_err *err);

/*
 * Loads a state saved by anser_state_save, or an RWKV-7 state-tuning .pth
 * (blocks.N.att.time_state).  A state of another model shape, or saved from
 * another checkpoint, is refused with a message saying so.
 */
enum anser_status anser_state_load(struct anser_state *s, const char *path,
                                   struct anser_err *err);

/*
 * Feeds tokens[0..n) through the model, advancing the state.  When logits is
 * not NULL, rows of V floats are written for the positions flagged in
 * want[0..n) (in order), or for the last position only when want is NULL.
 * Row t holds the scores for the token that follows tokens[t].
 */
enum anser_status anser_eval(struct anser_ctx *ctx, struct anser_state *s,
                             const int32_t *tokens, size_t n,
                             const uint8_t *want, float *logits,
                             struct anser_err *err);

/*
 * Several sequences at once, each with its own state: their rows share the
 * matrix products (the way to keep them large when sequences are short),
 * while each state advances only by its own tokens, in order.  For each
 * sequence, rows flagged in want (or its last row when want is NULL) produce
 * logits (V floats each, in order, when logits is not NULL) and/or scores:
 * with lp not NULL, lp[k] = ln p(targets[t]) for the k-th wanted row t, and
 * greedy[k] (when not NULL) = 1 if targets[t] was the argmax, argmax[k]
 * (when not NULL) the argmax itself (the lowest id on ties).  The same
 * state must not appear twice in one call.
 */
struct anser_seq {
	struct anser_state *state;
	const int32_t *tokens;
	size_t n;
	const uint8_t *want;     /* [n] or NULL */
	float *logits;           /* [wanted][V] or NULL */
	const int32_t *targets;  /* [n], read at wanted rows, when lp is set */
	double *lp;              /* [wanted] or NULL */
	uint8_t *greedy;         /* [wanted] or NULL */
	int32_t *argmax;         /* [wanted] or NULL: each row's top token */
};

enum anser_status anser_eval_batch(struct anser_ctx *ctx,
                                   struct anser_seq *seqs, size_t n_seqs,
                                   struct anser_err *err);

/*
 * Scores a sequence: feeds tokens[0..n) (callers put token 0 first for a
 * document) and writes lp[i] = ln p(tokens[i+1] | tokens[0..i]) for i in
 * [0, n-1), in double, and greedy[i] = 1 when tokens[i+1] was the argmax
 * (greedy may be NULL).  Works through the sequence in windows, so memory
 * does not grow with n.
 */
enum anser_status anser_score(struct anser_ctx *ctx, struct anser_state *s,
                              int vocab_size, const int32_t *tokens, size_t n,
                              double *lp, uint8_t *greedy,
                              struct anser_err *err);

/* ---------------------------------------------------------------- utils */

/* SHA-256 of a whole file, as 64 hex digits plus NUL in hex[65]. */
enum anser_status anser_sha256_file(const char *path, char hex[65],
                                    struct anser_err *err);

/* The kind of file at `path` judged by its first bytes. */
enum anser_file_kind {
	ANSER_FILE_UNKNOWN = 0,
	ANSER_FILE_PTH,        /* zip: a torch.save checkpoint (or another zip) */
	ANSER_FILE_NATIVE,     /* an anser model */
	ANSER_FILE_PTH_LEGACY, /* torch.save before PyTorch 1.6: not supported */
	ANSER_FILE_SAFETENSORS,
	ANSER_FILE_GGUF,
};

enum anser_status anser_file_kind(const char *path, enum anser_file_kind *kind,
                                  struct anser_err *err);

/* ---------------------------------------------------------------- hub */

/*
 * The Hugging Face Hub client.  Files are fetched over HTTPS with libcurl into
 * the cache huggingface_hub uses ($HF_HUB_CACHE, models--org--name/{blobs,
 * refs,snapshots}), byte for byte the same layout and lock files, so
 * `hf download` and anser share downloads; or into a folder of your own with
 * the metadata `hf download --local-dir` writes.  Every file is checked
 * against the Hub's checksum (sha256 for LFS files, the git blob sha1 for
 * the others) before it is put in place; an interrupted download leaves a
 * partial file that the next call resumes.  Unset fields of the options take
 * their values from the environment as huggingface_hub does: HF_ENDPOINT,
 * HF_TOKEN, HF_TOKEN_PATH, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE,
 * HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_DISABLE_SYMLINKS,
 * HF_HUB_DISABLE_IMPLICIT_TOKEN, HF_HUB_USER_AGENT_ORIGIN (anser-download.1).
 */

enum anser_repo_type {
	ANSER_REPO_MODEL = 0,
	ANSER_REPO_DATASET,
	ANSER_REPO_SPACE,
};

/* Progress of a download, for a progress bar. */
struct anser_hub_progress {
	uint64_t bytes_done;     /* of bytes_total, resumed partial files included */
	uint64_t bytes_total;    /* what this call fetches (cached files excluded) */
	uint64_t bytes_received; /* over the network in this call, for the rate */
	size_t files_done;
	size_t files_total;      /* files this call fetches */
	double seconds;          /* since the transfers started */
};

struct anser_hub_opts {
	enum anser_repo_type repo_type;
	const char *revision;         /* branch, tag, refs/pr/N or commit; NULL: main */
	/*
	 * What to fetch.  One file name and no patterns: that file alone (one
	 * HEAD, then the GET).  Otherwise the repo's file list at the resolved
	 * commit, keeping the files that match a name or a folder ("dir/") in
	 * files[], or else any include and no exclude glob.  Globs follow
	 * Python's fnmatchcase, as hf does: '*' also matches '/'.  A name, a
	 * folder or a set of globs that matches nothing is an error.
	 */
	const char *const *files;
	size_t n_files;
	const char *const *include;
	size_t n_include;
	const char *const *exclude;
	size_t n_exclude;
	const char *cache_dir;        /* NULL: $HF_HUB_CACHE, else $HF_HOME/hub */
	const char *local_dir;        /* NULL: the cache; else files go here */
	const char *token;            /* NULL: $HF_TOKEN, else the token file */
	const char *endpoint;         /* NULL: $HF_ENDPOINT, else huggingface.co */
	int jobs;                     /* files in flight at once; 0: 8 */
	int dry_run;                  /* plan only: fill the result, fetch nothing */
	int force;                    /* fetch again even when cached */
	int offline;                  /* 1: cache only; 0: as $HF_HUB_OFFLINE says */
	/* Raised (nonzero) by a signal handler to stop; partial files stay. */
	volatile sig_atomic_t *cancel;
	/* Called about five times a second from the calling thread; may be NULL. */
	void (*progress)(const struct anser_hub_progress *p, void *arg);
	void *progress_arg;
};

/* One file of a download, in the order of the repo's listing. */
struct anser_hub_file {
	char *path;        /* in the repo, '/'-separated */
	char *local_path;  /* where it is: snapshots/<commit>/<path> or local_dir */
	uint64_t size;
	char etag[65];     /* sha256 (LFS) or git blob sha1: the blob's name */
	int cached;        /* was already there (nothing fetched) */
};

/* Why a hub call failed, finer than the status. */
enum anser_hub_error {
	ANSER_HUB_OK = 0,
	ANSER_HUB_E_REPO,     /* no such repo, or private/gated and no token */
	ANSER_HUB_E_TOKEN,    /* the token was refused */
	ANSER_HUB_E_GATED,    /* gated: terms not accepted for this token */
	ANSER_HUB_E_FILE,     /* no such file at that revision */
	ANSER_HUB_E_REVISION, /* no such revision */
	ANSER_HUB_E_NETWORK,  /* cannot connect, timed out, server errors */
	ANSER_HUB_E_PROTOCOL, /* an answer that makes no sense */
	ANSER_HUB_E_CHECKSUM, /* the bytes do not match the Hub's checksum */
	ANSER_HUB_E_SPACE,    /* not enough free disk space */
	ANSER_HUB_E_OFFLINE,  /* offline and not in the cache */
	ANSER_HUB_E_LOCAL,    /* a local file system error */
	ANSER_HUB_E_ARG,      /* a malformed repo id, path or option */
	ANSER_HUB_E_CANCELLED,
};

struct anser_hub_result {
	char commit[41];      /* the revision resolved; "" if unknown (offline) */
	char *folder;         /* the snapshot folder, or local_dir */
	struct anser_hub_file *files;
	size_t n_files;
	uint64_t bytes_to_fetch; /* total size of the files not cached */
	enum anser_hub_error error;
};

/*
 * Fetches files of `repo_id` ("org/name") as `opts` says (NULL: defaults,
 * the whole repo).  On success res lists every file selected with its local
 * path; with dry_run, where each would go and whether it is cached.  On
 * failure res->error classifies it and err->msg says what to do about it
 * ("set HF_TOKEN or check the name").  Files finished before a failure stay
 * in place.  Free res with anser_hub_result_free, whatever the status.
 * Blocking; thread-safe; runs up to opts->jobs threads of its own.
 */
enum anser_status anser_hub_download(const char *repo_id,
                                     const struct anser_hub_opts *opts,
                                     struct anser_hub_result *res,
                                     struct anser_err *err);
void anser_hub_result_free(struct anser_hub_result *res);

/*
 * A repository reference as users write it: "org/name",
 * "hf://[datasets/|models/|spaces/]org/name[@rev][/path]", or a web URL
 * "https://huggingface.co/[datasets/]org/name[/resolve|blob|tree/rev/path]"
 * (also on the host of `endpoint`, which may be NULL).  Fields not in the
 * string are left empty; has_type and has_revision say which were given.
 */
struct anser_hub_ref {
	char repo_id[256];
	enum anser_repo_type type;
	char revision[256];
	char path[1024];
	int has_type, has_revision;
};

enum anser_status anser_hub_parse_ref(const char *s, const char *endpoint,
                                      struct anser_hub_ref *ref,
                                      struct anser_err *err);

/* "model", "dataset", "space" -> type; -1 if unknown. */
int anser_repo_type_parse(const char *name);

/* Python fnmatch.fnmatchcase: 1 if `path` matches `glob`. */
int anser_hub_match(const char *glob, const char *path);

/*
 * One line (no newline) for a progress bar `width` columns wide: bytes,
 * percentage, bar, rate and time left, e.g.
 * "1/2 files  1.21 GB / 3.06 GB  39% [####      ]  112.0 MB/s  0:16 left".
 */
void anser_hub_progress_line(const struct anser_hub_progress *p, int width,
                             char *buf, size_t size);

/*
 * The built-in table of released RWKV-7 models: "rwkv7-world-0.1b" is
 * RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth in BlinkDL/rwkv-7-world.
 * Sizes are those published when the table was written (the Hub's
 * checksums are what downloads are verified against).
 */
struct anser_model_entry {
	const char *name;    /* "rwkv7-g1-1.5b" */
	const char *repo;    /* "BlinkDL/rwkv7-g1" */
	const char *file;    /* the checkpoint */
	uint64_t size;       /* bytes */
	const char *note;    /* "World v2.8, ctx 4096", ... */
};

/* All entries, *n of them. */
const struct anser_model_entry *anser_model_table(size_t *n);

/* The entry called `name` (any case), or NULL. */
const struct anser_model_entry *anser_model_lookup(const char *name);

/*
 * Where the World vocab comes from: repos that ship ANSER_VOCAB_FILE, to be
 * tried in order (i = 0, 1, ...) while one lacks it; NULL past the last.
 */
const char *anser_model_vocab_repo(size_t i);

struct anser_model_files {
	char checkpoint[4096]; /* the .pth, in the hub cache */
	char vocab[4096];      /* ANSER_VOCAB_FILE, in the hub cache */
	char native[4096];     /* the converted file: <repo folder>/anser/<sha256>.anser */
	char sha256[65];       /* of the checkpoint */
};

/*
 * Makes sure the checkpoint and the World vocab of model `name` are in the
 * hub cache, downloading what is missing (opts: cache, token, endpoint,
 * offline, progress and cancel are used; may be NULL), and fills out.  The
 * native file is not created here.
 */
enum anser_status anser_model_fetch(const char *name,
                                    const struct anser_hub_opts *opts,
                                    struct anser_model_files *out,
                                    struct anser_err *err);

/*
 * What `run`, `eval` and `convert` call with what the user typed: an
 * existing file's path is copied to path unchanged; a model name from the
 * table is fetched (anser_model_fetch) and converted on first use into the
 * native file beside it in the cache, whose path is returned.  Anything else
 * fails with ANSER_E_NOTFOUND.
 */
enum anser_status anser_model_resolve(const char *name_or_path,
                                      const struct anser_hub_opts *opts,
                                      char *path, size_t size,
                                      struct anser_err *err);

#endif /* ANSER_H */
