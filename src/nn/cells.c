/* The cell table: everything rnnc knows about a cell type, one row each (rnnc_cell_info in
 * include/rnnc/rnn.h). The runner (rnn.c), the generator's batch-1 step and the models size their
 * buffers, count their tensors and call the pointwise code from here; nothing else names a cell.
 *
 * Adding a cell: its pointwise file (src/nn/X.c with RNNC_CELL_FUNCS(X) and the pair it declares,
 * see cell.h), an RNNC_CELL_FUNCS(X) line and a row here, and its value in the rnnc_cell enum
 * (include/rnnc/rnn.h), before RNNC_CELL_COUNT. */
#include <stdio.h>
#include <string.h>

#include "nn/cell.h"
#include "rnnc/rnn.h"

RNNC_CELL_FUNCS(rnn_tanh);
RNNC_CELL_FUNCS(rnn_relu);
RNNC_CELL_FUNCS(lstm);
RNNC_CELL_FUNCS(gru);

#define ROW(X, G, S, AUX, SPLIT) {#X, G, S, AUX, SPLIT, rnnc_cell_##X##_forward, rnnc_cell_##X##_backward}

/* name, gates, states, aux (values per unit and step kept for backward), split_dg */
static const rnnc_cell_info table[] = {
    [RNNC_CELL_RNN_TANH] = ROW(rnn_tanh, 1, 1, 0, 0),
    [RNNC_CELL_RNN_RELU] = ROW(rnn_relu, 1, 1, 0, 0),
    [RNNC_CELL_LSTM] = ROW(lstm, 4, 2, 0, 0),     /* i, f, g, o; state h and the cell state c */
    [RNNC_CELL_GRU] = ROW(gru, 3, 1, 1, 1),       /* r, z, n; keeps W_hn h + b_hn; dG_h differs in n */
};
_Static_assert(sizeof table / sizeof *table == RNNC_CELL_COUNT, "one row per rnnc_cell value");

const rnnc_cell_info *rnnc_cell_info_of(rnnc_cell cell) {
    return (unsigned)cell < RNNC_CELL_COUNT && table[cell].name ? &table[cell] : NULL;
}

size_t rnnc_cell_list(char *buf, size_t size) {
    size_t n = 0;
    for (int k = 0; k < RNNC_CELL_COUNT; k++) {
        const char *sep = k == 0 ? "" : k + 1 < RNNC_CELL_COUNT ? ", " : " or ";
        int w = snprintf(buf && n < size ? buf + n : NULL, buf && n < size ? size - n : 0, "%s%s", sep, table[k].name);
        n += w > 0 ? (size_t)w : 0;
    }
    return n;
}

rnnc_status rnnc_cell_check(rnnc_cell cell, const char *what) {
    if (rnnc_cell_info_of(cell)) return RNNC_OK;
    char list[256];
    rnnc_cell_list(list, sizeof list);
    return rnnc_error(RNNC_ERR_ARG, "%s: unknown cell %d (the cells are 0 to %d: %s)", what ? what : "cell", (int)cell,
                      RNNC_CELL_COUNT - 1, list);
}

rnnc_status rnnc_cell_parse(const char *name, rnnc_cell *out) {
    for (int k = 0; k < RNNC_CELL_COUNT; k++)
        if (name && !strcmp(name, table[k].name)) { *out = (rnnc_cell)k; return RNNC_OK; }
    char list[256];
    rnnc_cell_list(list, sizeof list);
    return rnnc_error(RNNC_ERR_ARG, "unknown cell \"%s\" (expected %s)", name ? name : "(null)", list);
}

const char *rnnc_cell_name(rnnc_cell cell) {
    const rnnc_cell_info *c = rnnc_cell_info_of(cell);
    return c ? c->name : "unknown";
}

int rnnc_cell_gates(rnnc_cell cell) {
    const rnnc_cell_info *c = rnnc_cell_info_of(cell);
    return c ? c->gates : 0;
}
