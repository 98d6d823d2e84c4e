/* rnnc — sequence models with a head: classification (sequence -> label), tagging (a label per
 * step) and forecasting (numeric values -> the next values). One recurrent stack (any cell,
 * stacked, bidirectional, dropout between layers), fed by an embedding lookup (tokens) or by
 * numeric features, and one linear head:
 *
 *   classify:  ids (B,T) -> embedding (V,E) -> rnn -> y (B,T,D*H) -> pool -> [dropout] -> head (C, D*H) -> logits (B,C)
 *   tag:       ids (B,T) -> embedding (V,E) -> rnn -> y (B,T,D*H) ---------> [dropout] -> head (C, D*H) -> logits (B,T,C)
 *   forecast:  x (B,T,F) ----------------------> rnn -> y (B,T,D*H) -> pool -> concat known (B, N*K)
 *                                                                 -> [dropout] -> head (N, D*H + N*K) -> predictions (B,N)
 *
 * Pooling over each sequence's valid steps t < len[b] (PyTorch's pack_padded_sequence):
 *   LAST   y[b, len-1, :]: for a bidirectional stack the forward half has read everything, the
 *          reverse half only the last step;
 *   MEAN   the mean of y[b, t, :] over t < len;
 *   MAX    the elementwise max of y[b, t, :] over t < len (its gradient goes to the first maximum);
 *   FINAL  the top layer's final states h_n as PyTorch lays them out: h_n[-1] (= LAST) for one
 *          direction, torch.cat((h_n[-2], h_n[-1]), 1) = [y[b,len-1,:H], y[b,0,H:]] for two.
 * Output dropout (inverted, training only, drawn from the rng after the stack's own) applies to
 * the head's input: the pooled vector (classify, forecast: before the known covariates are
 * appended) or every step's y (tag).
 *
 * Losses, as PyTorch computes them:
 *   classify  CrossEntropyLoss(weight=w): sum_b w[y_b] * nll_b / sum_b w[y_b] (w NULL: all 1);
 *   tag       the same over the steps whose label is >= 0 (padding and ignored steps are -1);
 *   forecast  MSELoss or L1Loss (mean over B*N; L1's gradient at 0 is 0, as torch.sign).
 *
 * Parameters are one buffer in state_dict order: "embedding.weight" (V,E) for tokens, then the
 * stack as "rnn.weight_ih_l0", ... (rnn.h's layout), then "head.weight" (C or N rows) and
 * "head.bias". Model files are safetensors with __metadata__ "rnnc.seqmodel" (the config as
 * JSON), for tokens "rnnc.vocab_kind" + "rnnc.vocab" (rnnc_s2s_vocab's stored form: ids 0..3 are
 * <pad> <bos> <eos> <unk>), for classify and tag "rnnc.labels" (the label names, one a line, in
 * id order), for forecast "rnnc.series" (JSON: columns, normalisation, context, horizon, season). */
#ifndef RNNC_SEQMODEL_H
#define RNNC_SEQMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnnc/rng.h"
#include "rnnc/rnn.h"
#include "rnnc/safetensors.h"
#include "rnnc/seq2seq.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { RNNC_SEQ_CLASSIFY, RNNC_SEQ_TAG, RNNC_SEQ_FORECAST } rnnc_seq_kind;
typedef enum { RNNC_POOL_LAST, RNNC_POOL_MEAN, RNNC_POOL_MAX, RNNC_POOL_FINAL } rnnc_pool;
typedef enum { RNNC_SEQ_LOSS_CE, RNNC_SEQ_LOSS_MSE, RNNC_SEQ_LOSS_MAE } rnnc_seq_loss;

/* "classify", "tag", "forecast"; "last", "mean", "max", "final"; "ce", "mse", "mae". Parsing an
 * unknown name is RNNC_ERR_ARG naming it and the choices. */
const char *rnnc_seq_kind_name(rnnc_seq_kind k);
rnnc_status rnnc_seq_kind_parse(const char *s, rnnc_seq_kind *out);
const char *rnnc_pool_name(rnnc_pool p);
rnnc_status rnnc_pool_parse(const char *s, rnnc_pool *out);
const char *rnnc_seq_loss_name(rnnc_seq_loss l);
rnnc_status rnnc_seq_loss_parse(const char *s, rnnc_seq_loss *out);

typedef struct {
    rnnc_seq_kind kind;
    rnnc_cell cell;
    int vocab;          /* V (classify, tag; the 4 specials included); 0 for forecast */
    int embed;          /* E (classify, tag); 0 for forecast */
    int features;       /* F: numeric inputs per step (forecast); 0 otherwise */
    int hidden, layers; /* H per direction, L */
    bool bidirectional;
    float dropout;        /* between recurrent layers (PyTorch's), training only */
    float output_dropout; /* on the head's input, training only */
    rnnc_pool pool;       /* classify and forecast; tag ignores it */
    int outputs;          /* C classes or tags; N = the forecast horizon */
    int known;            /* forecast: K covariates known for each future step, fed to the head */
    rnnc_seq_loss loss;   /* CE for classify and tag; MSE or MAE for forecast */
    int max_len;          /* classify, tag: the tokens per item it was trained on (0: the readers'
                             default), which predict and eval use unless told otherwise */
} rnnc_seq_config;

#define RNNC_SEQ_MAX_OUTPUTS (1 << 20)
/* Names the bad field (dimensions within rnnc_s2s's bounds, the loss matching the kind, ...). */
rnnc_status rnnc_seq_config_check(const rnnc_seq_config *c);
/* The head's input width: D*H, plus N*K for forecast. */
int rnnc_seq_head_in(const rnnc_seq_config *c);

/* Forecast series: what the model needs to turn CSV columns into inputs and back. Column 0 of
 * `name` is the target; inputs per step are the target and then every covariate (F = 1 + n_cov);
 * the known covariates (known[i]) are also fed for the horizon's steps (K = their count). Each
 * column is normalised as (v - mean) / std. */
typedef struct {
    int n_cols;        /* 1 + covariates */
    char **name;       /* [n_cols] */
    bool *known;       /* [n_cols]; known[0] is false */
    double *mean, *std;/* [n_cols] */
    int context;       /* T: steps read */
    int season;        /* for the seasonal-naive comparison (0: none) */
    /* Each window's target relative to its own level: the mean of the (normalised) target over
     * the window's context rows is subtracted from that input column and from the targets, and
     * added back to the predictions (rnnc_series_denorm_windows). For series whose level drifts
     * beyond the training rows' range (stored as "relative"; absent: false). */
    bool relative;
} rnnc_seq_series;
void rnnc_seq_series_free(rnnc_seq_series *s);

typedef struct {
    rnnc_seq_config c;
    rnnc_rnn_config rnn;
    size_t n_params;
    float *params;
    size_t off_emb, off_rnn, off_head_w, off_head_b;
    /* classify, tag: the input vocabulary and the label names (owned) */
    rnnc_s2s_vocab vocab;
    char **labels;
    int n_labels;
    /* forecast (owned) */
    rnnc_seq_series series;
} rnnc_seq_model;

/* A model with zero parameters. The vocabulary (classify, tag), the labels (classify, tag:
 * c->outputs names, copied) and the series (forecast, moved in and cleared) come with it; the
 * config's vocab comes from the vocabulary. */
rnnc_status rnnc_seq_model_new(rnnc_seq_model **out, const rnnc_seq_config *c, rnnc_s2s_vocab *vocab,
                               const char *const *labels, rnnc_seq_series *series);
void rnnc_seq_model_free(rnnc_seq_model *m); /* with the cached temporaries, as rnnc_lm_free */
/* PyTorch's defaults: embedding N(0,1); recurrent and head uniform(+-1/sqrt(fan_in)). */
void rnnc_seq_model_init(rnnc_seq_model *m, rnnc_rng *rng);
size_t rnnc_seq_num_tensors(const rnnc_seq_model *m);
rnnc_param_info rnnc_seq_tensor(const rnnc_seq_model *m, size_t k);
/* The label id of a name, or -1. */
int rnnc_seq_label_id(const rnnc_seq_model *m, const char *name);
/* The tags of one tagged item from its head's outputs z (n positions, C scores each, one row after
 * another): each position's highest score; or, with one >= 0 (a tag id, C >= 2, n >= 1), the most
 * probable tagging in which exactly one position carries tag `one` (lexical stress: one primary
 * stress a word). The position where z[one] - max over c != one of z[c] is largest gets it and
 * every other its best other tag: under the softmax the positions are independent, so that is
 * the constrained maximum of the summed log-probabilities (the first position on a tie). */
void rnnc_tag_decode(const float *z, int n, int C, int one, int *pred);

/* Atomic save with extra metadata and extra tensors (names "train.*" / "run.*" / "task.*", skipped
 * by load); load checks the config, the vocabulary, labels and series against it and every
 * tensor's shape before allocating; a file of another kind says what it is. */
rnnc_status rnnc_seq_save(const rnnc_seq_model *m, const char *path, const char *const *keys, const char *const *values,
                          size_t n, const rnnc_st_entry *extra, size_t n_extra);
rnnc_status rnnc_seq_load(rnnc_seq_model **out, const char *path);
rnnc_status rnnc_seq_load_st(rnnc_seq_model **out, const rnnc_safetensors *st);

/* One batch. Token kinds read ids (B,T) (RNNC_S2S_PAD beyond each length); forecast reads x
 * (B,T,F) and, when K > 0, known (B, N*K), step-major ([n*K + k]). lengths (B) in [1,T] (NULL: all
 * T). Labels: classify (B), tag (B,T) (-1: no loss at that step); forecast targets (B,N). Labels
 * and targets may be NULL for prediction. */
typedef struct {
    int B, T;
    const uint32_t *ids;
    const float *x;
    const float *known;
    const int *lengths;
    const int *labels;
    const float *targets;
} rnnc_seq_batch;

typedef struct {
    const float *class_weight; /* C weights for the CE losses (NULL: all 1) */
    bool training;             /* dropout on (needs rng) */
} rnnc_seq_opts;

/* Workspace for batches up to (B, T). A prediction (no gradients, not training) of a
 * one-direction classifier or forecaster may run more steps than T: its recurrent stack then runs
 * min(T, RNNC_SEQ_STEP_CHUNK) steps at a time, each chunk from the states the one before ended in,
 * with the pooling carried along, so its memory follows the chunk, not the text, and its numbers
 * are those of one pass. rnnc_seq_ws_steps gives the T that such a prediction of T steps needs
 * (T itself for taggers and bidirectional stacks, which need every step at once). */
typedef struct rnnc_seq_ws rnnc_seq_ws;
#define RNNC_SEQ_STEP_CHUNK 4096
rnnc_status rnnc_seq_ws_new(rnnc_seq_ws **out, const rnnc_seq_model *m, int B, int T);
int rnnc_seq_ws_steps(const rnnc_seq_model *m, int T);
void rnnc_seq_ws_free(rnnc_seq_ws *ws);
/* The global row of a batch's row 0 (default 0): dropout and output dropout draw item b's masks
 * from stream row0 + b of a key drawn per use (rnnc_rng_substream), so a process holding rows
 * [row0, row0 + B) of a data-parallel batch draws what those rows get in the whole batch. */
void rnnc_seq_ws_set_row0(rnnc_seq_ws *ws, long row0);
/* For prediction over m's weights as they are now: the recurrent weights packed once
 * (rnnc_rnn_packed), which every later forward through ws over m reads instead of packing its own
 * (the same numbers), until ws is freed. Not for training: once m's weights change, a forward
 * would mix the old packed ones with the new. */
rnnc_status rnnc_seq_ws_pack(rnnc_seq_ws *ws, const rnnc_seq_model *m);

/* Forward of a batch: out (may be NULL) gets the logits (classify (B,C); tag (B,T,C), zero at
 * padded steps) or the predictions (forecast (B,N), normalised). With labels/targets, *loss gets
 * the batch loss and *count the labelled rows (classify: B; tag: the steps with a label >= 0 within
 * the lengths; forecast: B*N), whatever the class weights (the run counts throughput with it);
 * with grads (not NULL), the gradient of loss * grad_scale is accumulated into grads (n_params).
 * A batch whose labels carry no weight (every tag -1) has loss 0 and count 0. */
rnnc_status rnnc_seq_forward_backward(rnnc_seq_ws *ws, const rnnc_seq_model *m, const rnnc_seq_batch *b,
                                      const rnnc_seq_opts *o, float *grads, float grad_scale, rnnc_rng *rng,
                                      float *out, double *loss, double *count);

#ifdef __cplusplus
}
#endif

#endif
