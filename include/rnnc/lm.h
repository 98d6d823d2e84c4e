/* rnnc — the language model: embedding -> recurrent stack (batch first) -> linear head, exactly the
 * PyTorch module
 *
 *     class LM(nn.Module):                       # cell: rnn_tanh | rnn_relu | lstm | gru
 *         embedding = nn.Embedding(V, E)
 *         rnn = nn.RNN/LSTM/GRU(E, H, layers, batch_first=True[, nonlinearity], dropout=p)
 *         head = nn.Linear(H, V)
 *
 * so its state_dict moves both ways unchanged. All parameters live in one contiguous buffer, in
 * state_dict order (embedding.weight, rnn.*, head.weight, head.bias), and their gradients in a
 * second buffer of the same layout; rnnc_lm_tensor() names each slice.
 *
 * Model files are safetensors with those tensor names (float32) and `__metadata__` "rnnc.config",
 * a JSON object {"cell", "vocab", "embed", "hidden", "layers", "dropout", "bidirectional"}; other
 * metadata keys (such as "rnnc.tokenizer") are kept through load and save.
 *
 * Loading trusts nothing in the file: the config's fields are bounded (below), each key appears
 * once, every tensor the config implies must be in the file with its exact shape (and no other)
 * before anything sized by the config is allocated, and every weight must be finite. */
#ifndef RNNC_LM_H
#define RNNC_LM_H

#include <stdbool.h>
#include <stddef.h>
#include "rnnc/batch.h"
#include "rnnc/rng.h"
#include "rnnc/rnn.h"
#include "rnnc/safetensors.h"
#include "rnnc/status.h"
#include "rnnc/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds on the config's fields (the recurrent layer's own limit for hidden); each tensor must
 * also hold at most 2^31 floats. */
#define RNNC_LM_MAX_VOCAB (1 << 24)
#define RNNC_LM_MAX_EMBED (1 << 20)
#define RNNC_LM_MAX_HIDDEN (1 << 16)
#define RNNC_LM_MAX_LAYERS 64

typedef struct {
    rnnc_cell cell;
    int vocab;     /* V */
    int embed;     /* E */
    int hidden;    /* H */
    int layers;    /* L */
    float dropout; /* between recurrent layers, training only */
} rnnc_lm_config;

/* Names the bad field; also refuses a config whose parameter count overflows a size_t. */
rnnc_status rnnc_lm_config_check(const rnnc_lm_config *c);
/* The config as the "rnnc.config" JSON text (malloc'd), and back (errors name `what`; a number
 * that is not an integer within its field's bounds, or a key given twice, is RNNC_ERR_FORMAT). */
char *rnnc_lm_config_to_json(const rnnc_lm_config *c);
rnnc_status rnnc_lm_config_from_json(rnnc_lm_config *c, const char *json, const char *what);

typedef struct {
    rnnc_lm_config c;
    rnnc_rnn_config rnn;
    size_t n_params;
    float *params;   /* n_params, state_dict order */
    float *grads;    /* n_params, same layout; backward accumulates here */
    /* Offsets of the parts inside params/grads. */
    size_t off_embedding, off_rnn, off_head_w, off_head_b;
    /* Extra metadata kept from a loaded file (e.g. "rnnc.tokenizer"), written back on save. */
    size_t n_meta;
    char **meta_keys, **meta_values;
} rnnc_lm;

rnnc_status rnnc_lm_new(rnnc_lm **out, const rnnc_lm_config *c); /* parameters zero */
/* Frees the model, and gives back the temporaries rnnc keeps cached between computations (packed
 * panels, partial sums; all of them, whichever model made them), so that a program done with a
 * model holds none. rnnc_s2s_model_free, rnnc_seq_model_free, rnnc_s2s_translator_free and
 * rnnc_generator_free do the same. */
void rnnc_lm_free(rnnc_lm *m);
/* PyTorch's default initialisation: embedding N(0,1); recurrent tensors uniform(+-1/sqrt(H));
 * head weight and bias uniform(+-1/sqrt(H)) (kaiming_uniform with a=sqrt(5) reduces to that). */
void rnnc_lm_init(rnnc_lm *m, rnnc_rng *rng);

/* The k-th parameter tensor (0 <= k < rnnc_lm_num_tensors) with its full state_dict name. */
size_t rnnc_lm_num_tensors(const rnnc_lm *m);
rnnc_param_info rnnc_lm_tensor(const rnnc_lm *m, size_t k);

/* Sets (or replaces) an extra metadata entry written on save. */
rnnc_status rnnc_lm_set_meta(rnnc_lm *m, const char *key, const char *value);
const char *rnnc_lm_get_meta(const rnnc_lm *m, const char *key);

/* Atomic write of the parameters and metadata. */
rnnc_status rnnc_lm_save(const rnnc_lm *m, const char *path);
/* Loads and validates a model file: errors name the file and the tensor or metadata field
 * (truncated file, missing/extra/wrong-shaped tensor, config inconsistent with the tensors,
 * "tensor 'x' has shape (a, b) but rnnc.config asks for (c, d)", a NaN or Inf weight:
 * RNNC_ERR_NUMERIC naming the tensor). "rnnc.tokenizer" is kept as it is, unread. */
rnnc_status rnnc_lm_load(rnnc_lm **out, const char *path);
/* The same over a file already read (errors name st->path); tensors whose names start with
 * skip_prefix (NULL: none), such as a training checkpoint's "train." state, are left alone. */
rnnc_status rnnc_lm_from_safetensors(rnnc_lm **out, const rnnc_safetensors *st, const char *skip_prefix);
/* The tokenizer stored in m (metadata "rnnc.tokenizer"), checked against the model: one that does
 * not parse, or whose size differs from the vocabulary ("has 262 tokens but the model's
 * vocabulary is 13"), is RNNC_ERR_FORMAT naming `path`. *tok (when tok is not NULL) gets it, or
 * NULL when m has none (not an error: a model for id files). */
rnnc_status rnnc_lm_check_tokenizer(const rnnc_lm *m, const char *path, rnnc_tokenizer **tok);
/* rnnc_lm_load then rnnc_lm_check_tokenizer: what every command that loads a model uses, so a
 * model whose tokenizer disagrees with it is refused alike everywhere. */
rnnc_status rnnc_lm_load_tokenizer(rnnc_lm **out, rnnc_tokenizer **tok, const char *path);

/* Activations for windows of up to (B, T), plus the recurrent state carried between windows
 * (h and, for LSTM, c: (L, B, H), starting at zero). Allocated once; no malloc per step. */
typedef struct rnnc_lm_ws rnnc_lm_ws;
rnnc_status rnnc_lm_ws_new(rnnc_lm_ws **out, const rnnc_lm *m, int B, int T);
void rnnc_lm_ws_free(rnnc_lm_ws *ws);
void rnnc_lm_ws_reset_state(rnnc_lm_ws *ws);
/* The global row (stream) of the window's row 0, for dropout (rnnc_rnn_ws_set_row0): a process
 * holding streams [row0, row0 + B) of a data-parallel batch. Default 0. */
void rnnc_lm_ws_set_row0(rnnc_lm_ws *ws, long row0);
/* The carried state: h (L,B,H) and c (L,B,H) (c NULL unless LSTM); writable. It is laid out for
 * the B of the last forward, so keep B fixed between resets. */
float *rnnc_lm_ws_h(rnnc_lm_ws *ws);
float *rnnc_lm_ws_c(rnnc_lm_ws *ws);

/* Forward of a (B,T) window of ids from the carried state, which is then replaced by the final
 * state. Returns the logits (B*T, V) through *logits (owned by ws, valid until the next call).
 * `training` enables dropout (drawn from rng, which may be NULL otherwise). */
rnnc_status rnnc_lm_forward(rnnc_lm *m, rnnc_lm_ws *ws, const int *ids, int B, int T, bool training,
                            rnnc_rng *rng, const float **logits);
/* The same forward without the head: the last layer's outputs (B, T, H) through *y (owned by ws,
 * valid until the next call), the carried state advanced as by rnnc_lm_forward; for a caller
 * that needs only some positions' logits (a prompt's last). rnnc_lm_loss does not follow it. */
rnnc_status rnnc_lm_forward_hidden(rnnc_lm *m, rnnc_lm_ws *ws, const int *ids, int B, int T, const float **y);
/* For forwards over weights that do not change: the recurrent stack's weights packed once
 * (rnnc_rnn_packed_new on m->rnn and m->params + m->off_rnn), read by this workspace's forwards
 * instead of packing them at every window; the same numbers (rnnc_rnn_ws_set_packed). p (NULL:
 * none) must stay alive while set. */
rnnc_status rnnc_lm_ws_set_packed(rnnc_lm_ws *ws, const rnnc_rnn_packed *p);
/* Mean cross-entropy of the last forward's logits against targets (B,T) (RNNC_IGNORE_INDEX
 * skipped) into *loss; with `backward`, also backpropagates through the window (not into the
 * carried-in state: truncated BPTT) and accumulates parameter gradients into m->grads. */
rnnc_status rnnc_lm_loss(rnnc_lm *m, rnnc_lm_ws *ws, const int *targets, bool backward, double *loss);
/* Forward-only mean cross-entropy over the first `max_windows` windows of a stream (0: all),
 * starting from zero state in ws and carrying it from window to window. ws must be made for the
 * stream's B and T; x and y are scratch of B*T ints. Every window has B*T targets, so the mean of
 * the window means is the mean per target. */
rnnc_status rnnc_lm_stream_loss(rnnc_lm *m, rnnc_lm_ws *ws, const rnnc_stream *st, size_t max_windows,
                                int *x, int *y, double *loss);

/* Forward-only mean cross-entropy over every prediction a token sequence allows: each of the n ids
 * after the first is a target once (*targets gets n - 1). The targets are cut into B contiguous
 * streams (fewer when there are fewer targets) whose lengths differ by at most one, run as windows
 * of T from zero state with the state carried; where a stream ends inside a window the rest of its
 * row is not scored. Unlike rnnc_stream, nothing is dropped. `rnnc eval --data` and Python's
 * LM.eval use it. RNNC_ERR_ARG for n < 2. */
rnnc_status rnnc_lm_text_loss(rnnc_lm *m, const int32_t *ids, size_t n, int B, int T, double *loss, size_t *targets);

/* Sets every gradient to zero. */
void rnnc_lm_zero_grad(rnnc_lm *m);

/* One sampling step: ids (B) -> logits (B, V) (written to `logits`), carried state advanced. ws
 * must have been made with T >= 1 and B at least this B. */
rnnc_status rnnc_lm_step(rnnc_lm *m, rnnc_lm_ws *ws, const int *ids, int B, float *logits);

/* Parameters of recurrent layer l (both directions' tensors), for `rnnc info`. */
size_t rnnc_lm_layer_params(const rnnc_lm *m, int l);

#ifdef __cplusplus
}
#endif

#endif
