/* rnnc — sequence-to-sequence data: TSV pairs (source TAB target), vocabularies with the special
 * tokens, several references per source, length-bucketed padded batches; and the metrics (edit
 * distance, token error rate, sequence error rate).
 *
 * A TSV file holds one pair a line: "source<TAB>target". Lines with the same source text are one
 * item with several references (CMUdict's variant pronunciations, for instance). Each side has its
 * own vocabulary of one of these kinds:
 *   SPACE  symbols separated by runs of spaces or tabs ("w o r d" -> "W ER D"), a symbol list
 *          grown from the training data;
 *   CHAR   every UTF-8 character is a symbol, spaces too ("march 3 2001" -> "2001-03-03"), also a
 *          grown symbol list;
 *   WORD   rnnc's word tokenizer trained on that side of the training data (tokenizer.h);
 *   BPE    rnnc's byte-level BPE trained on that side of the training data;
 *   FILE   a tokenizer read by rnnc_tokenizer_load (a tokenizer file, or an OpenAI encoding).
 * The last three are backed by an rnnc_tokenizer: tokenizer id t is seq2seq id t + 4, so ids 0..3
 * stay <pad> <bos> <eos> <unk> and the vocabulary has n_vocab + 4 ids (the tokenizer's own reserved
 * ids, such as the word tokenizer's <unk>, keep their places after the offset). */
#ifndef RNNC_SEQ2SEQ_H
#define RNNC_SEQ2SEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rnnc/buf.h"
#include "rnnc/optim.h"
#include "rnnc/rng.h"
#include "rnnc/rnn.h"
#include "rnnc/safetensors.h"
#include "rnnc/status.h"
#include "rnnc/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Special ids, the same in every seq2seq vocabulary. */
enum { RNNC_S2S_PAD = 0, RNNC_S2S_BOS = 1, RNNC_S2S_EOS = 2, RNNC_S2S_UNK = 3, RNNC_S2S_NSPECIAL = 4 };

typedef enum { RNNC_S2S_TOK_SPACE, RNNC_S2S_TOK_CHAR, RNNC_S2S_TOK_WORD, RNNC_S2S_TOK_BPE, RNNC_S2S_TOK_FILE } rnnc_s2s_tok;
/* The kind a --source-tokenizer / --target-tokenizer value names: "space", "char", or a tokenizer
 * spec as rnnc_tokenizer_spec_parse reads it: "word", "word:N" (WORD), "bpe:N" (BPE), anything else
 * (FILE). A bad size ("bpe:abc", "bpe") and "char:N" are RNNC_ERR_ARG, the message starting with
 * the value. */
rnnc_status rnnc_s2s_tok_parse(const char *spec, rnnc_s2s_tok *out);
/* "space", "char", "word", "bpe", "file": the kind's tag in model files. */
const char *rnnc_s2s_tok_name(rnnc_s2s_tok tok);
/* Backed by an rnnc_tokenizer (WORD, BPE, FILE). */
bool rnnc_s2s_tok_is_tokenizer(rnnc_s2s_tok tok);

/* A vocabulary: ids 0..3 are <pad> <bos> <eos> <unk>. SPACE/CHAR: a list of symbols (byte strings
 * without NUL or newline) with a hash table; WORD/BPE/FILE: an rnnc_tokenizer and no symbols. */
typedef struct {
    rnnc_s2s_tok tok;
    char **sym;       /* SPACE/CHAR: sym[id], NUL-terminated */
    size_t n, cap;    /* n: the ids in all, specials included */
    uint32_t *table;  /* open addressing: id + 1, 0 = empty */
    size_t table_cap; /* power of two */
    rnnc_tokenizer *tk; /* WORD/BPE/FILE: owned */
} rnnc_s2s_vocab;

/* An empty SPACE/CHAR vocabulary (the specials only); other kinds are RNNC_ERR_ARG (they come from
 * rnnc_s2s_vocab_make or rnnc_s2s_vocab_from_tokenizer). */
rnnc_status rnnc_s2s_vocab_init(rnnc_s2s_vocab *v, rnnc_s2s_tok tok);
/* A WORD/BPE/FILE vocabulary over tokenizer t, which it owns from then on (also on failure). WORD
 * and BPE need t of that type; the ids (n_vocab + 4) must fit an int. */
rnnc_status rnnc_s2s_vocab_from_tokenizer(rnnc_s2s_vocab *v, rnnc_s2s_tok tok, rnnc_tokenizer *t);
/* The vocabulary a --source-tokenizer / --target-tokenizer value names, for training on the TSV
 * text tsv[0..len): space/char an empty symbol list (grown as the training data is read with
 * grow); word/bpe a tokenizer trained on column `side` (0 sources, 1 targets) of every line that
 * holds a pair (the lines rnnc_s2s_data_parse reads: CR dropped; lines without a tab or with an
 * empty side left out); anything else the tokenizer rnnc_tokenizer_load reads. */
rnnc_status rnnc_s2s_vocab_make(rnnc_s2s_vocab *v, const char *spec, const char *tsv, size_t len, int side);
void rnnc_s2s_vocab_free(rnnc_s2s_vocab *v);
/* SPACE/CHAR: the id of a symbol, adding it when new (other kinds: RNNC_ERR_ARG). */
rnnc_status rnnc_s2s_vocab_add(rnnc_s2s_vocab *v, const char *sym, size_t len, uint32_t *id);
/* SPACE/CHAR: the id of a symbol, or RNNC_S2S_UNK (always RNNC_S2S_UNK for other kinds). */
uint32_t rnnc_s2s_vocab_find(const rnnc_s2s_vocab *v, const char *sym, size_t len);
/* Splits text[0..len) into symbols and appends their ids to out (not cleared). SPACE/CHAR: with
 * grow, new symbols are added to v; without, they become <unk>; a symbol that spells a special
 * token ("<pad>", "<bos>", "<eos>", "<unk>") is <unk>: data can never inject control tokens; CHAR
 * needs valid UTF-8 (RNNC_ERR_FORMAT otherwise). WORD/BPE/FILE: the tokenizer's ids + 4 (never
 * grown; special-token text is ordinary text). *n_unk (if not NULL) is increased by the symbols
 * that are out of the vocabulary: <unk>s for SPACE/CHAR, the tokenizer's out-of-vocabulary count
 * (word <unk>s, char byte fallbacks; BPE has none) for the others. */
rnnc_status rnnc_s2s_encode_ex(rnnc_s2s_vocab *v, const char *text, size_t len, bool grow, rnnc_ids *out,
                               size_t *n_unk);
rnnc_status rnnc_s2s_encode(rnnc_s2s_vocab *v, const char *text, size_t len, bool grow, rnnc_ids *out);
/* Appends the text of ids to out (not cleared): SPACE joins symbols with one space, CHAR
 * concatenates them, the others decode through the tokenizer. <pad>/<bos>/<eos> are skipped,
 * <unk> (and an id the tokenizer does not use) is the text "<unk>"; an id outside the vocabulary
 * is RNNC_ERR_RANGE. */
rnnc_status rnnc_s2s_decode(const rnnc_s2s_vocab *v, const uint32_t *ids, size_t n, rnnc_bytes *out);
/* The stored form (model metadata), and back: SPACE/CHAR the symbols, one a line, ids in order
 * from 4; WORD/BPE/FILE the tokenizer's JSON (rnnc_tokenizer_to_json). */
rnnc_status rnnc_s2s_vocab_to_string(const rnnc_s2s_vocab *v, rnnc_bytes *out);
rnnc_status rnnc_s2s_vocab_from_string(rnnc_s2s_vocab *v, rnnc_s2s_tok tok, const char *s, const char *what);

/* One source with its references (target id sequences, without <bos>/<eos>). */
typedef struct {
    char *src_text; /* the source as written in the file (NUL-terminated) */
    uint32_t *src;
    int src_len;
    int n_refs;
    uint32_t **ref;
    int *ref_len;
} rnnc_s2s_item;

typedef struct {
    rnnc_s2s_item *items;
    size_t n, cap;
    size_t n_pairs;      /* lines read as pairs (references in all) */
    size_t skipped_bad;  /* lines without a tab or with an empty side (skip_bad) */
    size_t skipped_long; /* pairs whose source exceeds max_source symbols (skip_long) */
    size_t skipped_dup;  /* lines repeating a pair already read */
    /* Symbols read (each item's source once, each reference's target once) and how many of them
     * are out of the vocabulary (see rnnc_s2s_encode_ex). */
    size_t src_symbols, tgt_symbols, src_unk, tgt_unk;
    /* private: source text -> item index */
    uint32_t *index;
    size_t index_cap;
} rnnc_s2s_data;

/* The longest source and target, in symbols, that the reader takes unless told otherwise. Memory
 * for training and decoding grows with batch x longest line (the encoder's and decoder's
 * activations, the logits), so one stray megabyte line must not be taken silently. */
#define RNNC_S2S_DEFAULT_MAX_LEN 1024

typedef struct {
    int max_source;  /* in symbols; 0 = RNNC_S2S_DEFAULT_MAX_LEN; negative = no limit */
    int max_target;  /* the same for targets; longer pairs count as skipped_long / error */
    bool skip_bad;   /* false: a bad line is an error naming file:line */
    bool skip_long;  /* false: an over-long source or target is an error naming file:line and the
                      * flag that raises the limit (--max-source / --max-target) */
    bool grow;       /* add unseen symbols to SPACE/CHAR vocabularies (training data) */
} rnnc_s2s_read_opts;

void rnnc_s2s_data_init(rnnc_s2s_data *d);
void rnnc_s2s_data_free(rnnc_s2s_data *d);
/* Reads a TSV file (path "-" is stdin) into d (appending), encoding with sv and tv. Blank lines
 * (nothing but a line ending) are skipped silently; a final line without a newline counts. A
 * CR before the LF is dropped. Bad lines (no tab, a second tab, an empty side, a NUL byte) are
 * errors naming file:line, or counted in skipped_bad with skip_bad. A file without a single
 * non-blank line is an error. */
rnnc_status rnnc_s2s_data_read(rnnc_s2s_data *d, const char *path, const rnnc_s2s_read_opts *o,
                               rnnc_s2s_vocab *sv, rnnc_s2s_vocab *tv);
/* Same over an in-memory text; `name` is used in error messages. */
rnnc_status rnnc_s2s_data_parse(rnnc_s2s_data *d, const char *text, size_t len, const char *name,
                                const rnnc_s2s_read_opts *o, rnnc_s2s_vocab *sv, rnnc_s2s_vocab *tv);

/* A padded batch. src (B,Ts) and the target arrays are row-major, padded with RNNC_S2S_PAD;
 * tgt_in = <bos> + target, tgt_out = target + <eos>, both tgt_len[b] = |target| + 1 long. */
typedef struct {
    int B, Ts, Tt;
    uint32_t *src;
    int *src_len;
    uint32_t *tgt_in, *tgt_out;
    int *tgt_len;
    size_t *item; /* the item of each row */
    int *ref;     /* its reference index */
} rnnc_s2s_batch;

/* Training examples (one per item and reference, or one per item using its first reference)
 * grouped into batches of similar source length. */
typedef struct {
    const rnnc_s2s_data *data;
    size_t n_ex;
    size_t *ex_item;
    int *ex_ref;
    size_t *order; /* the examples in batch order */
    int batch;
    size_t n_batches;
    size_t *batch_order;
    rnnc_s2s_batch buf;
} rnnc_s2s_batcher;

rnnc_status rnnc_s2s_batcher_new(rnnc_s2s_batcher *b, const rnnc_s2s_data *d, int batch_size, bool all_refs);
void rnnc_s2s_batcher_free(rnnc_s2s_batcher *b);
/* Orders the examples into batches: with rng, shuffled, then sorted by source length inside
 * windows of 50 batches (so each batch holds similar lengths), then the batch order shuffled;
 * without rng (NULL), in item order, unsorted (for evaluation, where order must be kept). */
void rnnc_s2s_batcher_plan(rnnc_s2s_batcher *b, rnnc_rng *rng);
/* Fills the batcher's buffer with batch k (0 <= k < n_batches) and returns it. */
const rnnc_s2s_batch *rnnc_s2s_batcher_get(rnnc_s2s_batcher *b, size_t k);

/* ---- the model ----
 *
 * encoder: src_embedding (Vs,E) -> recurrent stack (cell, L layers, H, optionally bidirectional)
 *          (with reverse_source, each source is read last symbol first)
 * context: the encoder's final states hn (and cn) per layer. Unidirectional: they are the
 *          decoder's initial states as they are. Bidirectional: per layer l the two directions'
 *          final h are concatenated and mapped by bridge_h (weight (H,2H), bias (H)) and tanh to
 *          the decoder's h0[l]; for LSTM the same for c by bridge_c.
 * decoder: tgt_embedding (Vt,E) -> recurrent stack (cell, L layers, H) -> head (Vt,H) + bias.
 * Parameters live in one buffer in the order of rnnc_s2s_tensor(); tensor names follow PyTorch
 * ("encoder.weight_ih_l0_reverse", "bridge_h.weight_l0", "head.bias"). Model files are
 * safetensors with __metadata__ "rnnc.seq2seq" (the config as JSON), "rnnc.tokenizers" (the two
 * kinds' tags, "space char"), and per side the vocabulary's stored form: "rnnc.src_vocab" /
 * "rnnc.tgt_vocab" (SPACE/CHAR: symbols one a line, ids from 4 on) or "rnnc.src_tokenizer" /
 * "rnnc.tgt_tokenizer" (WORD/BPE/FILE: the tokenizer's JSON). */

typedef struct {
    rnnc_cell cell;
    int src_vocab, tgt_vocab; /* Vs, Vt including the 4 specials */
    int embed;                /* E, both sides */
    int hidden;               /* H: the encoder's per direction and the decoder's */
    int layers;               /* L, both sides */
    bool bidirectional;       /* the encoder */
    bool reverse_source;      /* the encoder reads each source last symbol first (Sutskever et al.
                               * 2014): the first target symbols then depend on the most recently
                               * read source symbols */
    float dropout;            /* between recurrent layers (as PyTorch's), training only */
    float output_dropout;     /* on the decoder's outputs before the head (as OpenNMT's), training
                               * only: regularises one-layer decoders too */
} rnnc_s2s_config;

/* Bounds on the config's fields; each tensor must also hold at most 2^31 floats. */
#define RNNC_S2S_MAX_VOCAB (1 << 24)
#define RNNC_S2S_MAX_DIM 65536 /* embed and hidden */
#define RNNC_S2S_MAX_LAYERS 64

/* Names the bad field; also refuses a config whose parameter count overflows a size_t. */
rnnc_status rnnc_s2s_config_check(const rnnc_s2s_config *c);

typedef struct {
    rnnc_s2s_config c;
    rnnc_rnn_config enc, dec;
    size_t n_params;
    float *params;
    size_t off_src_emb, off_enc, off_bridge_h, off_bridge_c, off_tgt_emb, off_dec, off_head_w, off_head_b;
    rnnc_s2s_vocab src_vocab, tgt_vocab; /* owned by the model */
} rnnc_s2s_model;

/* A model with zero parameters and the given vocabularies (moved in: the caller's structs are
 * cleared); the config's vocabulary sizes are taken from them. */
rnnc_status rnnc_s2s_model_new(rnnc_s2s_model **out, const rnnc_s2s_config *c, rnnc_s2s_vocab *src_vocab,
                               rnnc_s2s_vocab *tgt_vocab);
void rnnc_s2s_model_free(rnnc_s2s_model *m); /* with the cached temporaries, as rnnc_lm_free */
/* PyTorch's defaults: embeddings N(0,1), recurrent and linear tensors uniform(+-1/sqrt(fan_in)). */
void rnnc_s2s_model_init(rnnc_s2s_model *m, rnnc_rng *rng);
size_t rnnc_s2s_num_tensors(const rnnc_s2s_model *m);
rnnc_param_info rnnc_s2s_tensor(const rnnc_s2s_model *m, size_t k);

/* Atomic save with extra metadata pairs (may be 0), and load (errors name the file and the tensor
 * or field; a file that is not a seq2seq model says so). Load checks the config's fields (each
 * key once, integers within their bounds), the vocabularies' sizes against it, and every tensor's
 * shape ("tensor 'x' has shape (a, b) but rnnc.seq2seq asks for (c, d)") before allocating the
 * model; a NaN or Inf weight is RNNC_ERR_NUMERIC naming the tensor. */
rnnc_status rnnc_s2s_save(const rnnc_s2s_model *m, const char *path, const char *const *keys,
                          const char *const *values, size_t n);
rnnc_status rnnc_s2s_load(rnnc_s2s_model **out, const char *path);
/* The same from a file already read (a checkpoint a data-parallel run's rank 0 sent the others). */
rnnc_status rnnc_s2s_load_st(rnnc_s2s_model **out, const rnnc_safetensors *st);
/* rnnc_s2s_save with extra tensors beside the model's (a training checkpoint's optimizer state);
 * their names must start with "train.", and rnnc_s2s_load skips such tensors. */
rnnc_status rnnc_s2s_save_ex(const rnnc_s2s_model *m, const char *path, const char *const *keys,
                             const char *const *values, size_t n, const rnnc_st_entry *extra, size_t n_extra);

/* Training activations for batches up to (B, Ts, Tt). */
typedef struct rnnc_s2s_ws rnnc_s2s_ws;
rnnc_status rnnc_s2s_ws_new(rnnc_s2s_ws **out, const rnnc_s2s_model *m, int B, int Ts, int Tt);
void rnnc_s2s_ws_free(rnnc_s2s_ws *ws);
/* The global row of a batch's row 0 (default 0): dropout, output dropout and scheduled sampling
 * draw row b's numbers from stream row0 + b of a key drawn per use (rnnc_rng_substream), so a
 * process holding rows [row0, row0 + B) of a data-parallel batch draws what those rows get in the
 * whole batch. */
void rnnc_s2s_ws_set_row0(rnnc_s2s_ws *ws, long row0);

typedef struct {
    float teacher_forcing; /* R in [0,1]: probability of feeding the gold previous token (1 = always) */
    float label_smoothing; /* eps in [0,1): target distribution (1-eps) one-hot + eps uniform */
    bool training;         /* dropout on */
} rnnc_s2s_train_opts;

/* Mean cross-entropy (without smoothing, over the non-padded target steps) of a batch into *loss
 * and the step count into *count. With grads (n_params, accumulated), also the gradient of the
 * (smoothed) mean loss times grad_scale through head, decoder, bridge and encoder. With
 * teacher_forcing < 1, a first pass predicts each step's token from the gold prefix, and each
 * decoder input after <bos> is replaced by that prediction with probability 1 - R (scheduled
 * sampling in its parallel form: the sampled inputs come from a gold-prefix pass). */
rnnc_status rnnc_s2s_forward_backward(rnnc_s2s_ws *ws, const rnnc_s2s_model *m, const rnnc_s2s_batch *b,
                                      const rnnc_s2s_train_opts *o, float *grads, float grad_scale,
                                      rnnc_rng *rng, double *loss, long *count);

/* Greedy decoding of B sources src (B,Ts) with lengths src_len: from <bos>, each step's argmax fed
 * back, until <eos> or max_len tokens. out (B,max_len) gets the tokens without <eos>, out_len
 * their counts. Each call packs the model's weights for the product kernel first (6.6 MiB for the
 * G2P model, most of a one-word call): a program that decodes many small batches keeps a
 * translator (rnnc_s2s_translator_new, below) and gets the same outputs without the packing. */
rnnc_status rnnc_s2s_greedy(const rnnc_s2s_model *m, const uint32_t *src, const int *src_len, int B, int Ts,
                            int max_len, uint32_t *out, int *out_len);

/* The encoder and bridge alone, as greedy and beam decoding run them: src (B,Ts) ids with lengths
 * src_len (each in [1, Ts]; reversed first when the model reads sources reversed) -> the
 * decoder's initial states h0, c0 (L,B,H) (c0 only for LSTM: NULL otherwise) and, when y is not
 * NULL, the top encoder layer's outputs y (B,Ts,D*H), 0 at padded steps. For tools and tests that
 * drive the decoder themselves (rnnc_s2s_decode_step) or check an exported graph. */
rnnc_status rnnc_s2s_encoder_forward(const rnnc_s2s_model *m, const uint32_t *src, const int *src_len, int B, int Ts,
                                     float *h0, float *c0, float *y);
/* One decoder step, as greedy and beam decoding take it: the previous tokens ids (B) and the
 * states h, c (L,B,H) (c only for LSTM: NULL otherwise) -> logits (B,Vt) and the next states
 * h_out, c_out (L,B,H; they may not alias h, c). An id outside the vocabulary is RNNC_ERR_RANGE. */
rnnc_status rnnc_s2s_decode_step(const rnnc_s2s_model *m, const uint32_t *ids, int B, const float *h, const float *c,
                                 float *logits, float *h_out, float *c_out);

typedef struct {
    uint32_t *ids; /* malloc'd, without <bos>/<eos> */
    int len;
    double logprob; /* sum of log-probabilities, <eos> included when finished */
    double score;   /* logprob / (len + 1)^alpha: the ranking score */
    bool finished;  /* ended with <eos> (else cut at max_len) */
} rnnc_s2s_hyp;

/* Beam search of width K for one source: keeps the K best partial hypotheses by log-probability,
 * moves those ending in <eos> to the finished list, and stops when K are finished or at max_len.
 * Hypotheses are ranked by logprob / (len+1)^alpha (alpha 0: raw log-probability, 1: per token).
 * Writes up to nbest hypotheses, best first, into out (free each with rnnc_s2s_hyp_free). Like
 * rnnc_s2s_greedy it packs the weights at every call; a translator does that once. */
rnnc_status rnnc_s2s_beam(const rnnc_s2s_model *m, const uint32_t *src, int src_len, int K, int max_len,
                          double alpha, int nbest, rnnc_s2s_hyp *out, int *n_out);
void rnnc_s2s_hyp_free(rnnc_s2s_hyp *h);

/* Decodes n sources at once: src[i] holds src_len[i] >= 1 ids. Greedy when beam is 1 (nbest must be
 * 1 then), else beam search of width beam with length-normalisation alpha, as rnnc_s2s_beam; each
 * source cut at max_len tokens (0: 2 x its length + 10). The sources are decoded batch at a time, in
 * batches of like length, and each one's output is exactly what decoding it alone gives.
 * out[i * nbest + k] receives source i's k-th best hypothesis and n_out[i] their count (greedy: one,
 * logprob and score 0, finished when it ended at <eos>); free each with rnnc_s2s_hyp_free. On an
 * error nothing is left allocated in out. */
rnnc_status rnnc_s2s_translate(const rnnc_s2s_model *m, const uint32_t *const *src, const int *src_len, size_t n,
                               int beam, double alpha, int nbest, int max_len, int batch, rnnc_s2s_hyp *out,
                               int *n_out);

/* A translator: the model's weights packed once for translation (the decoder's target table times
 * its first layer's input weights; the recurrent and head weights, and the encoder's, in the
 * product kernel's panels: about 6.6 MiB for the G2P model). rnnc_s2s_translate makes one per call;
 * a program that translates a line at a time keeps one and calls rnnc_s2s_translator_run, which
 * does what rnnc_s2s_translate does with the same arguments, to the bit. A translator is read only
 * once made: several threads may run one at once. It reads the model's biases in place and keeps
 * a copy of the rest, so the model must outlive it, and a translator made before the model's
 * weights change decodes with a mixture of old and new weights: make a new one after training. */
typedef struct rnnc_s2s_translator rnnc_s2s_translator;
rnnc_status rnnc_s2s_translator_new(rnnc_s2s_translator **out, const rnnc_s2s_model *m);
void rnnc_s2s_translator_free(rnnc_s2s_translator *t); /* with the cached temporaries, as rnnc_lm_free */
rnnc_status rnnc_s2s_translator_run(const rnnc_s2s_translator *t, const uint32_t *const *src, const int *src_len,
                                       size_t n, int beam, double alpha, int nbest, int max_len, int batch,
                                       rnnc_s2s_hyp *out, int *n_out);

/* One optimizer step on a batch: zero grads (n_params), forward/backward of the mean loss,
 * NaN/Inf guard (RNNC_ERR_NUMERIC naming the step), global-norm clipping when clip > 0, update.
 * *loss gets the batch's mean cross-entropy, *grad_norm (may be NULL) the norm before clipping. */
rnnc_status rnnc_s2s_train_step(rnnc_s2s_model *m, rnnc_s2s_ws *ws, const rnnc_s2s_batch *b, rnnc_optim *opt,
                                float *grads, const rnnc_s2s_train_opts *o, double clip, rnnc_rng *rng,
                                double *loss, double *grad_norm);


/* ---- metrics ---- */

/* Levenshtein distance (insertions, deletions, substitutions, each cost 1) between token
 * sequences; scratch holds nb + 1 entries. */
size_t rnnc_edit_distance(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, size_t *scratch);

/* Accumulated error counts over a test set. For a hypothesis with several references the closest
 * reference (fewest edits; on a tie the longer one) gives the edits and the reference length; the
 * sequence is correct when it equals any reference exactly. */
typedef struct {
    size_t edits, ref_tokens;
    size_t seqs, seq_errors;
} rnnc_s2s_score;

rnnc_status rnnc_s2s_score_add(rnnc_s2s_score *s, const uint32_t *hyp, size_t n_hyp,
                               const uint32_t *const *refs, const int *ref_lens, int n_refs);
/* edits / ref_tokens, and seq_errors / seqs (0 when empty). */
double rnnc_s2s_ter(const rnnc_s2s_score *s);
double rnnc_s2s_ser(const rnnc_s2s_score *s);

/* Decodes every item of d (greedy in batches of `batch` when beam <= 1, else beam search of that
 * width with length-normalisation alpha) and scores the best output against the item's
 * references. max_len 0: 2 * source length + 10. When hyps is not NULL, (*hyps)[i] receives item
 * i's output (malloc'd array of d->n, free each .ids and the array). */
rnnc_status rnnc_s2s_evaluate(const rnnc_s2s_model *m, const rnnc_s2s_data *d, int beam, double alpha, int batch,
                              int max_len, rnnc_s2s_score *score, rnnc_s2s_hyp **hyps);
/* The same, calling progress(items decoded so far, d->n, ctx) on the calling thread only: after
 * each batch it decodes itself, and, when other threads decoded the last batches, once more at
 * the end with (d->n, d->n); the counts only grow. progress may be NULL. */
typedef void (*rnnc_s2s_progress_fn)(size_t done, size_t total, void *ctx);
rnnc_status rnnc_s2s_evaluate_ex(const rnnc_s2s_model *m, const rnnc_s2s_data *d, int beam, double alpha, int batch,
                                 int max_len, rnnc_s2s_score *score, rnnc_s2s_hyp **hyps, rnnc_s2s_progress_fn progress,
                                 void *ctx);

#ifdef __cplusplus
}
#endif

#endif
