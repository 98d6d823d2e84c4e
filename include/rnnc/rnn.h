/* rnnc — recurrent layers: Elman RNN (tanh/relu), LSTM and GRU; stacked and bidirectional; with
 * variable-length batches and backpropagation through time. PyTorch's semantics and layout.
 *
 * Parameters live in one contiguous float buffer, tensor after tensor in PyTorch's state_dict
 * order: for each layer l, for each direction (forward, then reverse when bidirectional):
 *     weight_ih_l{l}[_reverse]  (G*H, I_l)     I_0 = input size, I_l = D*H for l > 0
 *     weight_hh_l{l}[_reverse]  (G*H, H)
 *     bias_ih_l{l}[_reverse]    (G*H)
 *     bias_hh_l{l}[_reverse]    (G*H)
 * G = 1 (Elman), 4 (LSTM: gates i,f,g,o), 3 (GRU: r,z,n with b_hn inside the reset product):
 * the cell table's `gates` (rnnc_cell_info_of below).
 * Gradients use the same layout in a buffer of their own; backward accumulates (+=) into it.
 *
 * Shapes (batch first, like nn.LSTM(batch_first=True)): x (B,T,I), y (B,T,D*H), states
 * (L*D,B,H) with index l*D+d. lengths[b] in [1,T] (NULL: all T): steps t >= lengths[b] change no
 * state, give y = 0 and take no gradient; hn/cn hold each sequence's state after its last step
 * (the reverse direction starts at step lengths[b]-1), as with pack_padded_sequence.
 *
 * Threads: forward and backward use omp_get_max_threads() threads for the time loop and BLAS's own
 * threads for the large products (OpenBLAS follows OMP_NUM_THREADS). For a given thread count the
 * results are the same on every run; across thread counts they differ only by BLAS rounding.
 * On a heavily shared machine one thread can be faster (see docs/PERFORMANCE.md). */
#ifndef RNNC_RNN_H
#define RNNC_RNN_H

#include <stdbool.h>
#include <stddef.h>
#include "rnnc/rng.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The cell types. RNNC_CELL_COUNT is not one: it counts them (a new cell goes before it). */
typedef enum { RNNC_CELL_RNN_TANH, RNNC_CELL_RNN_RELU, RNNC_CELL_LSTM, RNNC_CELL_GRU, RNNC_CELL_COUNT } rnnc_cell;

/* Everything rnnc knows about a cell type, in one table (src/nn/cells.c): the runner, the
 * generator and the models read it instead of naming cells. `forward` and `backward` are the
 * cell's pointwise math over one step's gate pre-activations; their argument structs are internal
 * (src/nn/cell.h), so outside src/ they are only identities. */
struct rnnc_cell_fwd;
struct rnnc_cell_bwd;
#define RNNC_CELL_MAX_STATES 2 /* the API carries h (h0, hn) and at most a second state c (c0, cn) */
typedef struct {
    const char *name; /* "rnn_tanh", "rnn_relu", "lstm", "gru": rnnc_cell_parse / rnnc_cell_name */
    int gates;        /* G: weight_ih, weight_hh and the biases have G*H rows (LSTM 4, GRU 3, Elman 1) */
    int states;       /* 1 (h) or 2 (h and c, the c0/cn arguments): the state carried between steps */
    int aux;          /* values per unit and step that forward keeps for backward besides the gates
                         and the states (GRU 1: W_hn h + b_hn, the n gate's hidden part; else 0) */
    int split_dg;     /* 1 when the hidden-side gate gradients differ from the input side's in the
                         last gate block (GRU: the reset gate multiplies the n block), so the runner
                         keeps that block of the hidden side apart */
    void (*forward)(const struct rnnc_cell_fwd *);
    void (*backward)(const struct rnnc_cell_bwd *);
} rnnc_cell_info;

/* The table row of a cell type, or NULL for a value that is none. */
const rnnc_cell_info *rnnc_cell_info_of(rnnc_cell cell);
/* RNNC_OK for a cell type, else RNNC_ERR_ARG with "<what>: unknown cell N (...)" naming the value. */
rnnc_status rnnc_cell_check(rnnc_cell cell, const char *what);
/* The table's names <-> rnnc_cell. Parsing an unknown name is RNNC_ERR_ARG naming it and the known
 * ones; rnnc_cell_name of a value that is no cell type is "unknown". */
rnnc_status rnnc_cell_parse(const char *name, rnnc_cell *out);
const char *rnnc_cell_name(rnnc_cell cell);
/* The known names as a sentence, "rnn_tanh, rnn_relu, lstm or gru", into buf (snprintf's rules;
 * returns the length it needs). For messages that list the choices. */
size_t rnnc_cell_list(char *buf, size_t size);
/* Gate count G (the table's `gates`); 0 for a value that is no cell type. */
int rnnc_cell_gates(rnnc_cell cell);

typedef struct {
    rnnc_cell cell;
    int input;         /* I */
    int hidden;        /* H */
    int layers;        /* L >= 1 */
    bool bidirectional;/* D = 2 when true */
    float dropout;     /* on each layer's output except the last, in training only (as PyTorch) */
} rnnc_rnn_config;

rnnc_status rnnc_rnn_config_check(const rnnc_rnn_config *c); /* names the bad field */
size_t rnnc_rnn_num_params(const rnnc_rnn_config *c);

/* The k-th tensor (0 <= k < 4*L*D) of the layout above: its PyTorch name (without any module
 * prefix such as "rnn."), rank (1 or 2), shape and offset into the parameter buffer. */
typedef struct { char name[48]; int ndim; int shape[2]; size_t offset, size; } rnnc_param_info;
size_t rnnc_rnn_num_tensors(const rnnc_rnn_config *c);
rnnc_param_info rnnc_rnn_tensor(const rnnc_rnn_config *c, size_t k);

/* Where layer l (0 <= l < L), direction d (0, or 1 = reverse) lives in the parameter buffer: the
 * offsets of its weight_ih (rows x input), weight_hh (rows x H), bias_ih and bias_hh (rows), with
 * rows = G*H and input = I_l. Everything that reads the weights directly (the generator's batch-1
 * step) takes them from here. */
typedef struct { size_t w_ih, w_hh, b_ih, b_hh; int rows, input; } rnnc_rnn_layer_layout;
rnnc_rnn_layer_layout rnnc_rnn_layer(const rnnc_rnn_config *c, int l, int d);

/* PyTorch's default initialisation: every tensor uniform(-1/sqrt(H), 1/sqrt(H)). */
void rnnc_rnn_init(const rnnc_rnn_config *c, float *params, rnnc_rng *rng);

/* Activations and scratch for one (B, T) shape, allocated once; forward stores what backward
 * needs. Reusable for any batch B' <= B and length T' <= T. */
typedef struct rnnc_rnn_ws rnnc_rnn_ws;
rnnc_status rnnc_rnn_ws_new(rnnc_rnn_ws **out, const rnnc_rnn_config *c, int B, int T);
void rnnc_rnn_ws_free(rnnc_rnn_ws *ws);
/* Bytes the workspace holds (for memory reports). */
size_t rnnc_rnn_ws_bytes(const rnnc_rnn_ws *ws);
/* The global row of the batch's row 0 (default 0): dropout draws row b's masks from stream
 * row0 + b (rnnc_rng_substream), so a process holding rows [row0, row0 + B) of a data-parallel
 * batch draws the masks those rows get in the whole batch. */
void rnnc_rnn_ws_set_row0(rnnc_rnn_ws *ws, long row0);
/* The layout of the forwards that follow, and of their backwards: false (the default) for x, ids,
 * y, dy and dx as (B,T,...), true for (T,B,...), PyTorch's batch_first=False. The runner works
 * time-major, so with true and no `lengths` it writes y and reads dy in place instead of through
 * a transposed copy of each (an LSTM 128 language model's step: two copies of 2 MiB). An id's
 * position in an error is its index in the caller's array either way. */
void rnnc_rnn_ws_set_time_major(rnnc_rnn_ws *ws, bool time_major);

/* A stack's weights packed once for the product kernel, for forwards over weights that do not
 * change (inference: a seq2seq translator's encoder). Made from params as they are; read only
 * afterwards, so several workspaces on several threads may read one at once. */
typedef struct rnnc_rnn_packed rnnc_rnn_packed;
rnnc_status rnnc_rnn_packed_new(rnnc_rnn_packed **out, const rnnc_rnn_config *c, const float *params);
void rnnc_rnn_packed_free(rnnc_rnn_packed *p);
/* The workspace's forwards over the params p was made from read p's panels instead of packing
 * W_hh and W_ih at every call: the same numbers, to the bit, except for an input projection that
 * the forward without p runs through BLAS (fewer than 256 rows of time steps x batch with a W_ih
 * over 1 MiB packed, or any over 16 MiB): with p it runs on p's panels, as with 256 rows, which
 * rounds differently in the last bits. Each row's numbers then do not depend on how many rows
 * are run with it. A forward over other params packs its own, as without p. p (NULL: none) must
 * stay alive while set; a p of another shape than the workspace's stack is RNNC_ERR_ARG. Backward
 * packs its own always. */
rnnc_status rnnc_rnn_ws_set_packed(rnnc_rnn_ws *ws, const rnnc_rnn_packed *p);

/* Forward over x (B,T,I). h0, c0 (L*D,B,H) may be NULL (zeros; c0 only for LSTM). Writes y
 * (B,T,D*H) and, when not NULL, hn, cn (L*D,B,H). `training` enables dropout (inverted: kept
 * values scaled by 1/(1-p); p = 1 drops everything): one key drawn from rng (which must then not
 * be NULL) per layer, and each row's mask from its own stream of that key (rnnc_rng_substream: row
 * row0 + b, steps in order, units in order). Errors (RNNC_ERR_ARG) name the bad argument: B or T beyond the workspace, lengths[b]
 * outside [1, T]. */
rnnc_status rnnc_rnn_forward(rnnc_rnn_ws *ws, const float *params, int B, int T, const float *x,
                             const int *lengths, const float *h0, const float *c0, float *y,
                             float *hn, float *cn, bool training, rnnc_rng *rng);

/* Backward of the last forward: dy (B,T,D*H) (NULL: zero); dhn, dcn (L*D,B,H) may be NULL (zero).
 * Accumulates parameter gradients into dparams; writes dx (B,T,I), dh0, dc0 when not NULL (dx is 0
 * at padded steps). It leaves the forward's activations intact, so it may be called again. */
rnnc_status rnnc_rnn_backward(rnnc_rnn_ws *ws, const float *params, float *dparams, const float *dy,
                              const float *dhn, const float *dcn, float *dx, float *dh0, float *dc0);

/* Forward and backward with layer 0's input an embedding lookup: x[b,t,:] = table[ids[b*T+t], :]
 * for table (V, I) and ids (B,T) in [0, V) (an id outside is RNNC_ERR_RANGE naming its position).
 * The same function as rnnc_rnn_forward on the looked-up rows, but when the table has at most
 * half as many rows as the batch has tokens (a character-level model: V = 96 against B*T = 4096)
 * layer 0's input projection is made once per table row, table W_ih^T, and gathered in the time
 * loop; backward then sums the gate gradients per id and makes the W_ih and table gradients from
 * V rows instead of B*T: three of the layer's products shrink by the factor B*T/V. Results
 * differ from the looked-up path only by float rounding (the sums run in another order).
 * backward_ids needs the same table as the forward and accumulates its gradient into dtable (V, I)
 * when dtable is not NULL (nn.Embedding's backward included). Each backward must match its
 * forward's kind: the other one is RNNC_ERR_ARG. */
rnnc_status rnnc_rnn_forward_ids(rnnc_rnn_ws *ws, const float *params, int B, int T, const int *ids,
                                 const float *table, int V, const int *lengths, const float *h0, const float *c0,
                                 float *y, float *hn, float *cn, bool training, rnnc_rng *rng);
rnnc_status rnnc_rnn_backward_ids(rnnc_rnn_ws *ws, const float *params, float *dparams, const float *dy,
                                  const float *dhn, const float *dcn, const float *table, float *dtable, float *dh0,
                                  float *dc0);

/* How the time loops use the OpenMP threads. AUTO (the default), on more than one thread, picks
 * DIRS for two directions whose W_hh fill 2 MiB or more, or when ROWS cannot be used; else ROWS
 * when W_hh (all directions) is at most 12 MiB and the batch has 8 rows per thread; else WAVE for
 * a one-direction stack of L >= 2 layers and T >= 2L steps; else UNITS when a step has at least 8M multiply-adds
 * (B x G*H x H x directions), else SERIAL (one thread: SERIAL). ROWS: each thread carries its own
 * rows of the batch through all steps, with no waiting between threads; UNITS: each step is split
 * by hidden units, the threads meeting at every step; SERIAL: one thread (the input and gradient
 * GEMMs around the loop still use every thread); DIRS: each direction's rows through all its steps
 * on threads of its own (nth / D blocks of rows per direction), the directions never meeting;
 * WAVE: a one-direction stack of 2 or more layers runs all its layers' forward loops at once as a
 * wavefront (layer l+1 at step t while layer l runs step t+1, each waiting on a per-step counter
 * of the layer below, no barrier), where each layer's input projection can be made step by step
 * with the same kernel; elsewhere, and in backward, WAVE falls back to AUTO's pick. Every mode
 * gives the same numbers; across thread counts the weight gradients differ (their sums over the
 * tokens add per-thread partials), and so may whatever passes through BLAS's own products. Global, not thread-safe: set it before training (the tests
 * use it to run every mode). */
typedef enum { RNNC_LOOP_AUTO, RNNC_LOOP_SERIAL, RNNC_LOOP_UNITS, RNNC_LOOP_ROWS, RNNC_LOOP_DIRS, RNNC_LOOP_WAVE } rnnc_loop_mode;
void rnnc_rnn_set_loop_mode(rnnc_loop_mode mode);
/* The largest block of rows that ROWS mode hands a thread: 0 (the default) for its own choice
 * (32 rows where W_hh fills a core's L2, 16 below); 8, 16, 24 or 32 to force that bound (the
 * tests use it to run every block size on small layers). Global, as above. */
void rnnc_rnn_set_row_block_max(int rows);

#ifdef __cplusplus
}
#endif

#endif
