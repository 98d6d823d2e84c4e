/* Embedding lookup (nn.Embedding): a row copy forward, a row scatter-add backward. */
#include <string.h>

#include "rnnc/nn.h"

rnnc_status rnnc_embedding_forward(float *out, const int *ids, const float *W, int N, int V, int E) {
    for (int n = 0; n < N; n++) {
        int id = ids[n];
        if (id < 0 || id >= V)
            return rnnc_error(RNNC_ERR_RANGE, "embedding: id %d at position %d is outside the vocabulary of %d", id, n, V);
        memcpy(out + (size_t)n * E, W + (size_t)id * E, (size_t)E * sizeof(float));
    }
    return RNNC_OK;
}

void rnnc_embedding_backward(float *dW, const float *dout, const int *ids, int N, int E) {
    /* Serial on purpose: repeated ids would race, and the work is O(N*E), tiny next to the GEMMs. */
    for (int n = 0; n < N; n++) {
        float *row = dW + (size_t)ids[n] * E;
        const float *g = dout + (size_t)n * E;
        for (int e = 0; e < E; e++) row[e] += g[e];
    }
}
