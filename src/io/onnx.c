/* ONNX export (include/rnnc/onnx.h): the graphs of a language model and of a seq2seq model's
 * encoder and decoder, serialised by a small protobuf writer.
 *
 * Protobuf, as far as ONNX files need it: a message is a run of fields, each a key
 * varint(field_number << 3 | wire_type) and a value: wire type 0 a varint (int64 two's complement
 * in 10 bytes when negative), 2 a varint length and that many bytes (strings, bytes, nested
 * messages), 5 four little-endian bytes (float). The field numbers are those of onnx/onnx.proto
 * (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto,
 * TensorShapeProto, OperatorSetIdProto, StringStringEntryProto); the constants below name them.
 *
 * The file is written as a stream: everything but the weights is built in memory, the weights
 * (TensorProto raw_data) are written from the model's buffer or from one permuted copy, and every
 * length is known before its message starts, so nothing is copied twice. */
#include "rnnc/onnx.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/io.h"
#include "rnnc/utf8.h"
#include "rnnc/version.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ONNX raw_data is little-endian; this writer copies host floats as they are"
#endif

/* ---- onnx.proto field numbers ---- */
enum { MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_PRODUCER_VERSION = 3, MODEL_DOC = 6, MODEL_GRAPH = 7,
       MODEL_OPSET_IMPORT = 8, MODEL_METADATA = 14 };
enum { OPSET_DOMAIN = 1, OPSET_VERSION = 2 };
enum { ENTRY_KEY = 1, ENTRY_VALUE = 2 };
enum { GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_DOC = 10, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12 };
enum { NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4, NODE_ATTRIBUTE = 5 };
enum { ATTR_NAME = 1, ATTR_I = 3, ATTR_S = 4, ATTR_INTS = 8, ATTR_STRINGS = 9, ATTR_TYPE = 20 };
enum { ATTR_TYPE_INT = 2, ATTR_TYPE_STRING = 3, ATTR_TYPE_INTS = 7, ATTR_TYPE_STRINGS = 8 };
enum { TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW_DATA = 9 };
enum { DT_FLOAT = 1, DT_INT32 = 6, DT_INT64 = 7 };
enum { VALUE_NAME = 1, VALUE_TYPE = 2 };
enum { TYPE_TENSOR = 1 };
enum { TTENSOR_ELEM_TYPE = 1, TTENSOR_SHAPE = 2 };
enum { SHAPE_DIM = 1 };
enum { DIM_VALUE = 1, DIM_PARAM = 2 };
enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

/* protobuf's own limit on a message, and so on a file that is one ModelProto (internal: the test
 * lowers it to check the refusal) */
uint64_t rnnc_onnx_max_bytes = INT32_MAX;

/* ---- the protobuf writer: a growable byte buffer ---- */

typedef struct {
    unsigned char *p;
    size_t n, cap;
    bool oom;
} pb;

static void pb_free(pb *b) { free(b->p); memset(b, 0, sizeof *b); }

static void pb_raw(pb *b, const void *data, size_t n) {
    if (b->oom || !n) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) { b->oom = true; return; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}

static void pb_varint(pb *b, uint64_t v) {
    unsigned char tmp[10];
    size_t n = 0;
    while (v >= 0x80) { tmp[n++] = (unsigned char)(v | 0x80); v >>= 7; }
    tmp[n++] = (unsigned char)v;
    pb_raw(b, tmp, n);
}

static void pb_key(pb *b, int field, int wire) { pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }
static void pb_int(pb *b, int field, int64_t v) { pb_key(b, field, WIRE_VARINT); pb_varint(b, (uint64_t)v); }
static void pb_bytes(pb *b, int field, const void *data, size_t n) {
    pb_key(b, field, WIRE_LEN);
    pb_varint(b, n);
    pb_raw(b, data, n);
}
static void pb_str(pb *b, int field, const char *s) { pb_bytes(b, field, s, strlen(s)); }
/* A nested message: its bytes, length-prefixed. A failed sub-buffer fails the parent. */
static void pb_msg(pb *b, int field, const pb *sub) {
    if (sub->oom) { b->oom = true; return; }
    pb_bytes(b, field, sub->p, sub->n);
}

/* ---- the graph being built ---- */

typedef struct {
    char *name;
    int dtype; /* DT_FLOAT, DT_INT64 */
    int ndim;
    int64_t dims[3];
    const void *data; /* nbytes, little-endian; owned when `owned` */
    size_t nbytes;
    void *owned;
    pb hdr; /* the TensorProto up to and including raw_data's key and length (made at write time) */
} initializer;

typedef struct {
    pb nodes, inputs, outputs;
    initializer *init;
    size_t n_init, cap_init;
    char **names; /* every name made by gname, freed at the end */
    size_t n_names, cap_names;
    int n_nodes;
    bool oom;
} graph;

static void graph_free(graph *g) {
    pb_free(&g->nodes);
    pb_free(&g->inputs);
    pb_free(&g->outputs);
    for (size_t i = 0; i < g->n_init; i++) {
        free(g->init[i].name);
        free(g->init[i].owned);
        pb_free(&g->init[i].hdr);
    }
    free(g->init);
    for (size_t i = 0; i < g->n_names; i++) free(g->names[i]);
    free(g->names);
    memset(g, 0, sizeof *g);
}

static bool graph_failed(const graph *g) {
    if (g->oom || g->nodes.oom || g->inputs.oom || g->outputs.oom) return true;
    return false;
}

/* A value name that lives as long as the graph ("" when out of memory: the graph is then failed). */
static const char *gname(graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *gname(graph *g, const char *fmt, ...) {
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (g->n_names == g->cap_names) {
        size_t cap = g->cap_names ? 2 * g->cap_names : 64;
        char **p = realloc(g->names, cap * sizeof *p);
        if (!p) { g->oom = true; return ""; }
        g->names = p;
        g->cap_names = cap;
    }
    char *s = strdup(buf);
    if (!s) { g->oom = true; return ""; }
    g->names[g->n_names++] = s;
    return s;
}

/* An initializer holding data (not copied: it must outlive the write) or, with owned, taking that
 * malloc'd block. Returns its name. */
static const char *add_init(graph *g, const char *name, int dtype, int ndim, const int64_t *dims, const void *data,
                            size_t nbytes, void *owned) {
    if (g->n_init == g->cap_init) {
        size_t cap = g->cap_init ? 2 * g->cap_init : 32;
        initializer *p = realloc(g->init, cap * sizeof *p);
        if (!p) { g->oom = true; free(owned); return ""; }
        g->init = p;
        g->cap_init = cap;
    }
    initializer *t = &g->init[g->n_init];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) { g->oom = true; free(owned); return ""; }
    t->dtype = dtype;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->dims[d] = dims[d];
    t->data = data;
    t->nbytes = nbytes;
    t->owned = owned;
    g->n_init++;
    return t->name;
}

/* A small int64 constant (axes, shapes, slice bounds), made once per name. */
static const char *const_i64(graph *g, const char *name, const int64_t *v, int n) {
    for (size_t i = 0; i < g->n_init; i++)
        if (!strcmp(g->init[i].name, name)) return g->init[i].name;
    int64_t *p = malloc((size_t)n * sizeof *p);
    if (!p) { g->oom = true; return ""; }
    memcpy(p, v, (size_t)n * sizeof *p);
    int64_t dims[1] = {n};
    return add_init(g, name, DT_INT64, 1, dims, p, (size_t)n * sizeof *p, p);
}

/* Attributes of a node, appended to a buffer that node() takes. */
static void attr_int(pb *a, const char *name, int64_t v) {
    pb x = {0};
    pb_str(&x, ATTR_NAME, name);
    pb_int(&x, ATTR_TYPE, ATTR_TYPE_INT);
    pb_int(&x, ATTR_I, v);
    pb_msg(a, NODE_ATTRIBUTE, &x);
    pb_free(&x);
}
static void attr_ints(pb *a, const char *name, const int64_t *v, int n) {
    pb x = {0};
    pb_str(&x, ATTR_NAME, name);
    pb_int(&x, ATTR_TYPE, ATTR_TYPE_INTS);
    for (int i = 0; i < n; i++) pb_int(&x, ATTR_INTS, v[i]);
    pb_msg(a, NODE_ATTRIBUTE, &x);
    pb_free(&x);
}
static void attr_str(pb *a, const char *name, const char *v) {
    pb x = {0};
    pb_str(&x, ATTR_NAME, name);
    pb_int(&x, ATTR_TYPE, ATTR_TYPE_STRING);
    pb_str(&x, ATTR_S, v);
    pb_msg(a, NODE_ATTRIBUTE, &x);
    pb_free(&x);
}
static void attr_strs(pb *a, const char *name, const char *v, int n) {
    pb x = {0};
    pb_str(&x, ATTR_NAME, name);
    pb_int(&x, ATTR_TYPE, ATTR_TYPE_STRINGS);
    for (int i = 0; i < n; i++) pb_str(&x, ATTR_STRINGS, v);
    pb_msg(a, NODE_ATTRIBUTE, &x);
    pb_free(&x);
}
/* One node; an empty input name is an omitted optional input. attrs may be NULL. */
static void node(graph *g, const char *op, const char *const *in, int n_in, const char *const *out, int n_out,
                 const pb *attrs) {
    pb x = {0};
    for (int i = 0; i < n_in; i++) pb_str(&x, NODE_INPUT, in[i]);
    for (int i = 0; i < n_out; i++) pb_str(&x, NODE_OUTPUT, out[i]);
    char name[64];
    snprintf(name, sizeof name, "%s_%d", op, g->n_nodes++);
    pb_str(&x, NODE_NAME, name);
    pb_str(&x, NODE_OP_TYPE, op);
    if (attrs) {
        if (attrs->oom) x.oom = true;
        pb_raw(&x, attrs->p, attrs->n); /* already NODE_ATTRIBUTE fields */
    }
    pb_msg(&g->nodes, GRAPH_NODE, &x);
    pb_free(&x);
}

#define NAMES(...) (const char *const[]){__VA_ARGS__}, (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* A node with one output named after its op; returns that output's name. */
static const char *op1(graph *g, const char *op, const char *const *in, int n_in, const pb *attrs) {
    const char *out = gname(g, "%s_%d_out", op, g->n_nodes);
    node(g, op, in, n_in, &out, 1, attrs);
    return out;
}

static const char *transpose(graph *g, const char *x, const int64_t *perm, int n) {
    pb a = {0};
    attr_ints(&a, "perm", perm, n);
    const char *y = op1(g, "Transpose", &x, 1, &a);
    pb_free(&a);
    return y;
}

/* A graph input or output: a tensor of elem_type with dims (a dim < 0 is symbolic: params[-d-1]). */
static void value_info(pb *list, int field, const char *name, int elem_type, int ndim, const int64_t *dims,
                       const char *const *params) {
    pb shape = {0}, tt = {0}, type = {0}, vi = {0};
    for (int d = 0; d < ndim; d++) {
        pb dim = {0};
        if (dims[d] >= 0) pb_int(&dim, DIM_VALUE, dims[d]);
        else pb_str(&dim, DIM_PARAM, params[-dims[d] - 1]);
        pb_msg(&shape, SHAPE_DIM, &dim);
        pb_free(&dim);
    }
    pb_int(&tt, TTENSOR_ELEM_TYPE, elem_type);
    pb_msg(&tt, TTENSOR_SHAPE, &shape);
    pb_msg(&type, TYPE_TENSOR, &tt);
    pb_str(&vi, VALUE_NAME, name);
    pb_msg(&vi, VALUE_TYPE, &type);
    pb_msg(list, field, &vi);
    pb_free(&shape); pb_free(&tt); pb_free(&type); pb_free(&vi);
}

/* symbolic dims: BATCH is "batch", TIME "time" (or "src_time" in the encoder) */
static const char *const dim_params[] = {"batch", "time", "src_time"};
enum { BATCH = -1, TIME = -2, SRC_TIME = -3 };

/* ---- the recurrent stack ---- */

/* ONNX gate block k is PyTorch's block perm[k]: LSTM ONNX i,o,f,c from PyTorch i,f,g,o; GRU ONNX
 * z,r,h from PyTorch r,z,n; Elman one block. */
static const int lstm_perm[4] = {0, 3, 1, 2};
static const int gru_perm[3] = {1, 0, 2};
static const int rnn_perm[1] = {0};

typedef struct {
    const char *op;    /* "RNN", "LSTM", "GRU" */
    const int *perm;   /* gate blocks, ONNX order */
    int gates;
    const char *activation; /* RNN only */
} cell_map;

static rnnc_status map_cell(rnnc_cell cell, cell_map *cm) {
    switch (cell) {
    case RNNC_CELL_RNN_TANH: *cm = (cell_map){"RNN", rnn_perm, 1, "Tanh"}; break;
    case RNNC_CELL_RNN_RELU: *cm = (cell_map){"RNN", rnn_perm, 1, "Relu"}; break;
    case RNNC_CELL_LSTM: *cm = (cell_map){"LSTM", lstm_perm, 4, NULL}; break;
    case RNNC_CELL_GRU: *cm = (cell_map){"GRU", gru_perm, 3, NULL}; break;
    default:
        return rnnc_error(RNNC_ERR_ARG, "ONNX export: the %s cell has no ONNX operator (rnnc exports rnn_tanh, "
                          "rnn_relu, lstm and gru)", rnnc_cell_name(cell));
    }
    if (cm->gates != rnnc_cell_gates(cell))
        return rnnc_error(RNNC_ERR_ARG, "ONNX export: the %s cell has %d gates, its ONNX operator %d",
                          rnnc_cell_name(cell), rnnc_cell_gates(cell), cm->gates);
    return RNNC_OK;
}

/* The three ONNX tensors of layer l: W (D, G*H, I), R (D, G*H, H), B (D, 2*G*H), gate blocks
 * reordered, directions stacked (forward first). */
static void layer_tensors(graph *g, const char *prefix, const rnnc_rnn_config *c, const float *params, int l,
                          const cell_map *cm, const char **wn, const char **rn, const char **bn) {
    int D = c->bidirectional ? 2 : 1, H = c->hidden, G = cm->gates;
    rnnc_rnn_layer_layout lay0 = rnnc_rnn_layer(c, l, 0);
    size_t I = (size_t)lay0.input, GH = (size_t)G * (size_t)H, Hz = (size_t)H;
    float *W = malloc((size_t)D * GH * I * sizeof(float));
    float *R = malloc((size_t)D * GH * Hz * sizeof(float));
    float *B = malloc((size_t)D * 2 * GH * sizeof(float));
    if (!W || !R || !B) { free(W); free(R); free(B); g->oom = true; *wn = *rn = *bn = ""; return; }
    for (int d = 0; d < D; d++) {
        rnnc_rnn_layer_layout lay = rnnc_rnn_layer(c, l, d);
        for (int k = 0; k < G; k++) {
            size_t src = (size_t)cm->perm[k] * Hz, dst = (size_t)k * Hz;
            memcpy(W + ((size_t)d * GH + dst) * I, params + lay.w_ih + src * I, Hz * I * sizeof(float));
            memcpy(R + ((size_t)d * GH + dst) * Hz, params + lay.w_hh + src * Hz, Hz * Hz * sizeof(float));
            memcpy(B + (size_t)d * 2 * GH + dst, params + lay.b_ih + src, Hz * sizeof(float));
            memcpy(B + (size_t)d * 2 * GH + GH + dst, params + lay.b_hh + src, Hz * sizeof(float));
        }
    }
    char name[96];
    int64_t dw[3] = {D, (int64_t)GH, (int64_t)I}, dr[3] = {D, (int64_t)GH, H}, db[2] = {D, 2 * (int64_t)GH};
    snprintf(name, sizeof name, "%sW_l%d", prefix, l);
    *wn = add_init(g, name, DT_FLOAT, 3, dw, W, (size_t)D * GH * I * sizeof(float), W);
    snprintf(name, sizeof name, "%sR_l%d", prefix, l);
    *rn = add_init(g, name, DT_FLOAT, 3, dr, R, (size_t)D * GH * Hz * sizeof(float), R);
    snprintf(name, sizeof name, "%sB_l%d", prefix, l);
    *bn = add_init(g, name, DT_FLOAT, 2, db, B, (size_t)D * 2 * GH * sizeof(float), B);
}

/* The stack over x (T, B, I) (time-major, as the ONNX operators take it) from the states h0, c0
 * (L*D, B, H) ("" for zeros), with lengths lens (int32 (B), "" for all T). Returns the top
 * layer's output (T, B, D*H); hn[l], cn[l] get layer l's final states (D, B, H). */
static const char *emit_stack(graph *g, const char *prefix, const rnnc_rnn_config *c, const float *params,
                              const cell_map *cm, const char *x, const char *h0, const char *c0, const char *lens,
                              const char **hn, const char **cn) {
    int D = c->bidirectional ? 2 : 1, L = c->layers;
    bool lstm = !strcmp(cm->op, "LSTM");
    const char *sq_axes = NULL, *reshape_cat = NULL;
    if (D == 1) sq_axes = const_i64(g, "const.axes_1", (int64_t[]){1}, 1);
    else reshape_cat = const_i64(g, "const.shape_0_0_m1", (int64_t[]){0, 0, -1}, 3);
    for (int l = 0; l < L; l++) {
        const char *w, *r, *b;
        layer_tensors(g, prefix, c, params, l, cm, &w, &r, &b);
        const char *hi = "", *ci = "";
        if (*h0 || (lstm && *c0)) {
            if (L == 1) {
                hi = h0;
                ci = c0;
            } else { /* rows [l*D, (l+1)*D) of the (L*D, B, H) states */
                const char *st = const_i64(g, gname(g, "const.start_%d", l * D), (int64_t[]){(int64_t)l * D}, 1);
                const char *en = const_i64(g, gname(g, "const.start_%d", (l + 1) * D), (int64_t[]){(int64_t)(l + 1) * D}, 1);
                const char *ax = const_i64(g, "const.axes_0", (int64_t[]){0}, 1);
                if (*h0) hi = op1(g, "Slice", NAMES(h0, st, en, ax), NULL);
                if (lstm && *c0) ci = op1(g, "Slice", NAMES(c0, st, en, ax), NULL);
            }
        }
        pb a = {0};
        attr_int(&a, "hidden_size", c->hidden);
        if (D == 2) attr_str(&a, "direction", "bidirectional");
        if (cm->activation) attr_strs(&a, "activations", cm->activation, D);
        if (!strcmp(cm->op, "GRU")) attr_int(&a, "linear_before_reset", 1);
        const char *y = gname(g, "%sY_l%d", prefix, l);
        hn[l] = gname(g, "%sY_h_l%d", prefix, l);
        if (lstm) {
            cn[l] = gname(g, "%sY_c_l%d", prefix, l);
            node(g, cm->op, NAMES(x, w, r, b, lens, hi, ci), NAMES(y, hn[l], cn[l]), &a);
        } else {
            node(g, cm->op, NAMES(x, w, r, b, lens, hi), NAMES(y, hn[l]), &a);
        }
        pb_free(&a);
        /* Y is (T, D, B, H): to (T, B, D*H) for the next layer (forward then reverse, as PyTorch) */
        if (D == 1) {
            x = op1(g, "Squeeze", NAMES(y, sq_axes), NULL);
        } else {
            const char *t = transpose(g, y, (int64_t[]){0, 2, 1, 3}, 4);
            x = op1(g, "Reshape", NAMES(t, reshape_cat), NULL);
        }
    }
    return x;
}

/* Concat of the layers' (D, B, H) states into (L*D, B, H), named out. */
static void concat_states(graph *g, const char *const *parts, int L, const char *out) {
    pb a = {0};
    attr_int(&a, "axis", 0);
    node(g, "Concat", parts, L, &out, 1, &a);
    pb_free(&a);
}

/* ids (B, T) -> embedding -> stack -> head: logits (B, T, V), hn, cn. The language model, and
 * the seq2seq decoder (T = 1: one step). */
static rnnc_status emit_lm_graph(graph *g, const cell_map *cm, const rnnc_rnn_config *rc, const float *rnn_params,
                                 const float *emb, int V, int E, const char *emb_name, const float *head_w,
                                 const float *head_b, const char *prefix, int Vout) {
    int L = rc->layers, H = rc->hidden;
    bool lstm = !strcmp(cm->op, "LSTM");
    const char **hn = calloc((size_t)L, sizeof *hn), **cn = calloc((size_t)L, sizeof *cn);
    float *wt = malloc((size_t)Vout * (size_t)H * sizeof(float));
    if (!hn || !cn || !wt) {
        free(hn); free(cn); free(wt);
        return rnnc_error(RNNC_ERR_NOMEM, "out of memory for the ONNX graph");
    }
    /* the head as a MatMul: its weight transposed to (H, V) */
    for (size_t v = 0; v < (size_t)Vout; v++)
        for (size_t h = 0; h < (size_t)H; h++) wt[h * (size_t)Vout + v] = head_w[v * (size_t)H + h];
    int64_t de[2] = {V, E}, dwt[2] = {H, Vout}, db[1] = {Vout};
    const char *emb_t = add_init(g, emb_name, DT_FLOAT, 2, de, emb, (size_t)V * (size_t)E * sizeof(float), NULL);
    const char *wt_n = add_init(g, "head.weight_t", DT_FLOAT, 2, dwt, wt, (size_t)H * (size_t)Vout * sizeof(float), wt);
    const char *b_n = add_init(g, "head.bias", DT_FLOAT, 1, db, head_b, (size_t)Vout * sizeof(float), NULL);

    int64_t d_ids[2] = {BATCH, TIME}, d_st[3] = {L, BATCH, H}, d_lg[3] = {BATCH, TIME, Vout};
    value_info(&g->inputs, GRAPH_INPUT, "ids", DT_INT64, 2, d_ids, dim_params);
    value_info(&g->inputs, GRAPH_INPUT, "h0", DT_FLOAT, 3, d_st, dim_params);
    if (lstm) value_info(&g->inputs, GRAPH_INPUT, "c0", DT_FLOAT, 3, d_st, dim_params);
    value_info(&g->outputs, GRAPH_OUTPUT, "logits", DT_FLOAT, 3, d_lg, dim_params);
    value_info(&g->outputs, GRAPH_OUTPUT, "hn", DT_FLOAT, 3, d_st, dim_params);
    if (lstm) value_info(&g->outputs, GRAPH_OUTPUT, "cn", DT_FLOAT, 3, d_st, dim_params);

    /* ids (B, T) -> (T, B) -> rows of the table: x (T, B, E) */
    const char *ids_t = transpose(g, "ids", (int64_t[]){1, 0}, 2);
    pb a = {0};
    attr_int(&a, "axis", 0);
    const char *x = op1(g, "Gather", NAMES(emb_t, ids_t), &a);
    pb_free(&a);
    const char *y = emit_stack(g, prefix, rc, rnn_params, cm, x, "h0", lstm ? "c0" : "", "", hn, cn);
    concat_states(g, hn, L, "hn");
    if (lstm) concat_states(g, cn, L, "cn");
    /* (T, B, H) -> (B, T, H) -> head */
    const char *yb = transpose(g, y, (int64_t[]){1, 0, 2}, 3);
    const char *mm = op1(g, "MatMul", NAMES(yb, wt_n), NULL);
    node(g, "Add", NAMES(mm, b_n), NAMES("logits"), NULL);
    free(hn);
    free(cn);
    return RNNC_OK;
}

/* ---- writing ---- */

typedef struct { const char *key, *value; } meta_kv;

/* Streams the ModelProto: header fields, the graph (its small parts from memory, each
 * initializer's header then its data), the metadata. */
static rnnc_status write_model(graph *g, const char *path, const char *graph_name, const char *doc,
                               const meta_kv *meta, size_t n_meta) {
    if (graph_failed(g)) return rnnc_error(RNNC_ERR_NOMEM, "out of memory building the ONNX graph for %s", path);
    pb head = {0}, gsmall = {0}, tail = {0};
    rnnc_status s = RNNC_OK;
    pb_str(&gsmall, GRAPH_NAME, graph_name);
    pb_str(&gsmall, GRAPH_DOC, doc);
    uint64_t glen = gsmall.n + g->nodes.n + g->inputs.n + g->outputs.n;
    for (size_t i = 0; i < g->n_init; i++) {
        initializer *t = &g->init[i];
        for (int d = 0; d < t->ndim; d++) pb_int(&t->hdr, TENSOR_DIMS, t->dims[d]);
        pb_int(&t->hdr, TENSOR_DATA_TYPE, t->dtype);
        pb_str(&t->hdr, TENSOR_NAME, t->name);
        pb_key(&t->hdr, TENSOR_RAW_DATA, WIRE_LEN);
        pb_varint(&t->hdr, t->nbytes);
        if (t->hdr.oom) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory building the ONNX graph for %s", path); goto out; }
        uint64_t tlen = t->hdr.n + t->nbytes;
        glen += 1 + varint_len(tlen) + tlen; /* GRAPH_INITIALIZER's key is one byte */
    }
    pb_int(&head, MODEL_IR_VERSION, RNNC_ONNX_IR_VERSION);
    pb_str(&head, MODEL_PRODUCER_NAME, "rnnc");
    pb_str(&head, MODEL_PRODUCER_VERSION, rnnc_version());
    pb opset = {0};
    pb_str(&opset, OPSET_DOMAIN, "");
    pb_int(&opset, OPSET_VERSION, RNNC_ONNX_OPSET);
    pb_msg(&head, MODEL_OPSET_IMPORT, &opset);
    pb_free(&opset);
    pb_str(&head, MODEL_DOC, doc);
    pb_key(&head, MODEL_GRAPH, WIRE_LEN);
    pb_varint(&head, glen);
    for (size_t i = 0; i < n_meta; i++) {
        /* protobuf strings are UTF-8: a value that is not (a vocabulary of raw bytes) is left out */
        if (rnnc_utf8_valid_prefix((const unsigned char *)meta[i].value, strlen(meta[i].value)) != strlen(meta[i].value))
            continue;
        pb e = {0};
        pb_str(&e, ENTRY_KEY, meta[i].key);
        pb_str(&e, ENTRY_VALUE, meta[i].value);
        pb_msg(&tail, MODEL_METADATA, &e);
        pb_free(&e);
    }
    if (head.oom || gsmall.oom || tail.oom) { s = rnnc_error(RNNC_ERR_NOMEM, "out of memory building the ONNX graph for %s", path); goto out; }
    uint64_t total = head.n + glen + tail.n;
    if (total > rnnc_onnx_max_bytes) {
        s = rnnc_error(RNNC_ERR_ARG, "%s: the ONNX graph would take %.2f GiB, and an ONNX file (one protobuf "
                       "message) holds at most 2 GiB; nothing was written", path, (double)total / (1 << 30));
        goto out;
    }
    rnnc_atomic_file af;
    if ((s = rnnc_atomic_open(&af, path))) goto out;
    bool ok = fwrite(head.p, 1, head.n, af.fp) == head.n && fwrite(gsmall.p, 1, gsmall.n, af.fp) == gsmall.n &&
              fwrite(g->nodes.p, 1, g->nodes.n, af.fp) == g->nodes.n;
    for (size_t i = 0; ok && i < g->n_init; i++) {
        initializer *t = &g->init[i];
        pb k = {0};
        pb_key(&k, GRAPH_INITIALIZER, WIRE_LEN);
        pb_varint(&k, t->hdr.n + t->nbytes);
        ok = !k.oom && fwrite(k.p, 1, k.n, af.fp) == k.n && fwrite(t->hdr.p, 1, t->hdr.n, af.fp) == t->hdr.n &&
             (t->nbytes == 0 || fwrite(t->data, 1, t->nbytes, af.fp) == t->nbytes);
        pb_free(&k);
    }
    ok = ok && fwrite(g->inputs.p, 1, g->inputs.n, af.fp) == g->inputs.n &&
         fwrite(g->outputs.p, 1, g->outputs.n, af.fp) == g->outputs.n && fwrite(tail.p, 1, tail.n, af.fp) == tail.n;
    if (!ok) {
        s = rnnc_error_errno(RNNC_ERR_IO, "%s: write failed (the old file is unchanged)", path);
        rnnc_atomic_abort(&af);
        goto out;
    }
    s = rnnc_atomic_commit(&af);
out:
    pb_free(&head);
    pb_free(&gsmall);
    pb_free(&tail);
    return s;
}

/* ---- the three graphs ---- */

rnnc_status rnnc_onnx_export_lm(const rnnc_lm *m, const char *path) {
    cell_map cm;
    rnnc_status s = map_cell(m->c.cell, &cm);
    if (s) return s;
    graph g = {0};
    const float *P = m->params;
    s = emit_lm_graph(&g, &cm, &m->rnn, P + m->off_rnn, P + m->off_embedding, m->c.vocab, m->c.embed,
                      "embedding.weight", P + m->off_head_w, P + m->off_head_b, "rnn.", m->c.vocab);
    char *cfg = rnnc_lm_config_to_json(&m->c);
    meta_kv *meta = calloc(m->n_meta + 2, sizeof *meta);
    if (!s && (!cfg || !meta)) s = rnnc_error(RNNC_ERR_NOMEM, "out of memory for the ONNX metadata");
    if (!s) {
        size_t n = 0;
        meta[n++] = (meta_kv){"rnnc.graph", "language model"};
        meta[n++] = (meta_kv){"rnnc.config", cfg};
        for (size_t i = 0; i < m->n_meta; i++)
            if (strcmp(m->meta_keys[i], "rnnc.config") && strcmp(m->meta_keys[i], "rnnc.graph"))
                meta[n++] = (meta_kv){m->meta_keys[i], m->meta_values[i]};
        char doc[512];
        snprintf(doc, sizeof doc,
                 "rnnc language model (%s, %d x %d, vocabulary %d). Inputs: ids int64 [batch, time] (batch first), "
                 "h0%s float [%d, batch, %d] (zeros to start). Outputs: logits float [batch, time, %d], hn%s "
                 "(the next call's h0%s).", rnnc_cell_name(m->c.cell), m->c.layers, m->c.hidden, m->c.vocab,
                 cm.gates == 4 ? ", c0" : "", m->c.layers, m->c.hidden, m->c.vocab, cm.gates == 4 ? ", cn" : "",
                 cm.gates == 4 ? ", c0" : "");
        s = write_model(&g, path, "rnnc_lm", doc, meta, n);
    }
    free(meta);
    free(cfg);
    graph_free(&g);
    return s;
}

/* The seq2seq configuration as JSON (the fields of the model file's "rnnc.seq2seq"). */
static void s2s_config_json(const rnnc_s2s_config *c, char *buf, size_t n) {
    snprintf(buf, n,
             "{\"cell\":\"%s\",\"src_vocab\":%d,\"tgt_vocab\":%d,\"embed\":%d,\"hidden\":%d,\"layers\":%d,"
             "\"bidirectional\":%s,\"reverse_source\":%s}",
             rnnc_cell_name(c->cell), c->src_vocab, c->tgt_vocab, c->embed, c->hidden, c->layers,
             c->bidirectional ? "true" : "false", c->reverse_source ? "true" : "false");
}

/* Writes graph g with the seq2seq metadata of one side (0 source, 1 target). */
static rnnc_status write_s2s(graph *g, const rnnc_s2s_model *m, const char *path, const char *graph_name,
                             const char *what, const char *doc, int side) {
    const rnnc_s2s_vocab *v = side ? &m->tgt_vocab : &m->src_vocab;
    rnnc_bytes vs = {0};
    rnnc_status s = rnnc_s2s_vocab_to_string(v, &vs);
    if (!s) s = rnnc_bytes_append(&vs, "", 1); /* NUL-terminated */
    if (s) { rnnc_bytes_free(&vs); return s; }
    char cfg[512], tags[32];
    s2s_config_json(&m->c, cfg, sizeof cfg);
    snprintf(tags, sizeof tags, "%s %s", rnnc_s2s_tok_name(m->src_vocab.tok), rnnc_s2s_tok_name(m->tgt_vocab.tok));
    const char *vkey = side ? (v->tk ? "rnnc.tgt_tokenizer" : "rnnc.tgt_vocab") : (v->tk ? "rnnc.src_tokenizer" : "rnnc.src_vocab");
    meta_kv meta[5] = {{"rnnc.graph", what}, {"rnnc.seq2seq", cfg}, {"rnnc.tokenizers", tags},
                       {vkey, (const char *)vs.data}, {"rnnc.specials", "0 <pad>, 1 <bos>, 2 <eos>, 3 <unk>"}};
    s = write_model(g, path, graph_name, doc, meta, 5);
    rnnc_bytes_free(&vs);
    return s;
}

rnnc_status rnnc_onnx_export_s2s_decoder(const rnnc_s2s_model *m, const char *path) {
    cell_map cm;
    rnnc_status s = map_cell(m->c.cell, &cm);
    if (s) return s;
    graph g = {0};
    const float *P = m->params;
    s = emit_lm_graph(&g, &cm, &m->dec, P + m->off_dec, P + m->off_tgt_emb, m->c.tgt_vocab, m->c.embed,
                      "tgt_embedding.weight", P + m->off_head_w, P + m->off_head_b, "decoder.", m->c.tgt_vocab);
    if (!s) {
        char doc[512];
        bool lstm = cm.gates == 4;
        snprintf(doc, sizeof doc,
                 "rnnc seq2seq decoder (%s, %d x %d, target vocabulary %d). Inputs: ids int64 [batch, time] (the "
                 "previous tokens, <bos> = 1 first; time 1 for one step), h0%s float [%d, batch, %d] (the encoder's "
                 "outputs of the same names, then this graph's hn%s). Outputs: logits float [batch, time, %d], hn%s.",
                 rnnc_cell_name(m->c.cell), m->c.layers, m->c.hidden, m->c.tgt_vocab, lstm ? ", c0" : "", m->c.layers,
                 m->c.hidden, lstm ? ", cn" : "", m->c.tgt_vocab, lstm ? ", cn" : "");
        s = write_s2s(&g, m, path, "rnnc_seq2seq_decoder", "seq2seq decoder", doc, 1);
    }
    graph_free(&g);
    return s;
}

/* One bridge: per layer tanh(W_l [h_fwd; h_bwd] + b_l) from the layer's (2, B, H) final states,
 * stacked into out (L, B, H). */
static void emit_bridge(graph *g, const rnnc_s2s_model *m, const float *W, const char *which, const char *const *st,
                        const char *out) {
    int L = m->c.layers, H = m->c.hidden;
    const char **parts = calloc((size_t)L, sizeof *parts);
    if (!parts) { g->oom = true; return; }
    const char *shape = const_i64(g, "const.shape_0_m1", (int64_t[]){0, -1}, 2);
    const char *ax0 = const_i64(g, "const.axes_0", (int64_t[]){0}, 1);
    for (int l = 0; l < L; l++) {
        const float *Wl = W + (size_t)l * (2 * (size_t)H * H + (size_t)H);
        float *wt = malloc(2 * (size_t)H * (size_t)H * sizeof(float));
        if (!wt) { g->oom = true; break; }
        for (size_t o = 0; o < (size_t)H; o++) /* (H, 2H) -> (2H, H) */
            for (size_t i = 0; i < 2 * (size_t)H; i++) wt[i * (size_t)H + o] = Wl[o * 2 * (size_t)H + i];
        char name[64];
        snprintf(name, sizeof name, "%s.weight_t_l%d", which, l);
        const char *wn = add_init(g, name, DT_FLOAT, 2, (int64_t[]){2 * (int64_t)H, H}, wt, 2 * (size_t)H * (size_t)H * sizeof(float), wt);
        snprintf(name, sizeof name, "%s.bias_l%d", which, l);
        const char *bn = add_init(g, name, DT_FLOAT, 1, (int64_t[]){H}, Wl + 2 * (size_t)H * H, (size_t)H * sizeof(float), NULL);
        /* (2, B, H) -> (B, 2, H) -> (B, 2H): [forward; reverse] per row */
        const char *t = transpose(g, st[l], (int64_t[]){1, 0, 2}, 3);
        const char *cat = op1(g, "Reshape", NAMES(t, shape), NULL);
        const char *mm = op1(g, "MatMul", NAMES(cat, wn), NULL);
        const char *pre = op1(g, "Add", NAMES(mm, bn), NULL);
        const char *th = op1(g, "Tanh", NAMES(pre), NULL);
        parts[l] = op1(g, "Unsqueeze", NAMES(th, ax0), NULL);
    }
    if (!g->oom) concat_states(g, parts, L, out);
    free(parts);
}

rnnc_status rnnc_onnx_export_s2s_encoder(const rnnc_s2s_model *m, const char *path) {
    cell_map cm;
    rnnc_status s = map_cell(m->c.cell, &cm);
    if (s) return s;
    int L = m->c.layers, H = m->c.hidden, D = m->c.bidirectional ? 2 : 1;
    bool lstm = cm.gates == 4;
    graph g = {0};
    const char **hn = calloc((size_t)L, sizeof *hn), **cn = calloc((size_t)L, sizeof *cn);
    if (!hn || !cn) { free(hn); free(cn); return rnnc_error(RNNC_ERR_NOMEM, "out of memory for the ONNX graph"); }
    const float *P = m->params;
    int64_t d_src[2] = {BATCH, SRC_TIME}, d_len[1] = {BATCH}, d_y[3] = {BATCH, SRC_TIME, (int64_t)D * H},
            d_st[3] = {L, BATCH, H};
    value_info(&g.inputs, GRAPH_INPUT, "src", DT_INT64, 2, d_src, dim_params);
    value_info(&g.inputs, GRAPH_INPUT, "src_lengths", DT_INT64, 1, d_len, dim_params);
    value_info(&g.outputs, GRAPH_OUTPUT, "encoder_outputs", DT_FLOAT, 3, d_y, dim_params);
    value_info(&g.outputs, GRAPH_OUTPUT, "h0", DT_FLOAT, 3, d_st, dim_params);
    if (lstm) value_info(&g.outputs, GRAPH_OUTPUT, "c0", DT_FLOAT, 3, d_st, dim_params);

    int64_t de[2] = {m->c.src_vocab, m->c.embed};
    const char *emb = add_init(&g, "src_embedding.weight", DT_FLOAT, 2, de, P + m->off_src_emb,
                               (size_t)m->c.src_vocab * (size_t)m->c.embed * sizeof(float), NULL);
    pb a = {0};
    attr_int(&a, "to", DT_INT32);
    const char *lens = op1(&g, "Cast", NAMES("src_lengths"), &a);
    pb_free(&a);
    const char *src_t = transpose(&g, "src", (int64_t[]){1, 0}, 2); /* (S, B) */
    if (m->c.reverse_source) { /* each row's first src_lengths ids reversed, the padding left in place */
        attr_int(&a, "batch_axis", 1);
        attr_int(&a, "time_axis", 0);
        src_t = op1(&g, "ReverseSequence", NAMES(src_t, "src_lengths"), &a);
        pb_free(&a);
    }
    attr_int(&a, "axis", 0);
    const char *x = op1(&g, "Gather", NAMES(emb, src_t), &a);
    pb_free(&a);
    const char *y = emit_stack(&g, "encoder.", &m->enc, P + m->off_enc, &cm, x, "", "", lens, hn, cn);
    attr_ints(&a, "perm", (int64_t[]){1, 0, 2}, 3); /* (S, B, D*H) -> (B, S, D*H) */
    node(&g, "Transpose", NAMES(y), NAMES("encoder_outputs"), &a);
    pb_free(&a);
    if (!m->c.bidirectional) {
        concat_states(&g, hn, L, "h0");
        if (lstm) concat_states(&g, cn, L, "c0");
    } else {
        emit_bridge(&g, m, P + m->off_bridge_h, "bridge_h", hn, "h0");
        if (lstm) emit_bridge(&g, m, P + m->off_bridge_c, "bridge_c", cn, "c0");
    }
    free(hn);
    free(cn);
    char doc[640];
    snprintf(doc, sizeof doc,
             "rnnc seq2seq encoder (%s, %d x %d%s%s, source vocabulary %d). Inputs: src int64 [batch, src_time] "
             "(padded with <pad> = 0 after each row's length), src_lengths int64 [batch] (each in [1, src_time]). "
             "Outputs: encoder_outputs float [batch, src_time, %d], h0%s float [%d, batch, %d]: the decoder's "
             "initial state, its inputs of the same names.",
             rnnc_cell_name(m->c.cell), L, H, m->c.bidirectional ? ", bidirectional with a tanh bridge" : "",
             m->c.reverse_source ? ", sources read reversed" : "", m->c.src_vocab, D * H, lstm ? ", c0" : "", L, H);
    s = write_s2s(&g, m, path, "rnnc_seq2seq_encoder", "seq2seq encoder", doc, 0);
    graph_free(&g);
    return s;
}
