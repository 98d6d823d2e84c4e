/* libFuzzer target for the LM tools that read untrusted bytes or must hold invariants on any
 * input: the metrics.jsonl parser (no crash, every row field a number or NaN), the Projector
 * label escape (escape then unescape gives the bytes back, and no raw tab or newline survives),
 * the UTF-8 stream (output == input, whatever the split), and the sampler (any float logits: an
 * id in range or a clean error; the kept distribution sums to 1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/rnnc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* metrics parser: no crash, no leak */
    rnnc_metrics_series s;
    if (rnnc_metrics_parse((const char *)data, size, "fuzz", &s) == RNNC_OK) rnnc_metrics_series_free(&s);

    /* label escape round trip */
    size_t cap = 4 * size + 16;
    char *esc = malloc(cap), *back = malloc(cap);
    size_t need = rnnc_projector_escape((const char *)data, size, esc, cap);
    if (need >= cap) __builtin_trap();
    if (strchr(esc, '\t') || strchr(esc, '\n') || strchr(esc, '\r')) __builtin_trap();
    size_t n;
    if (rnnc_projector_unescape(esc, back, &n) != RNNC_OK || n != size || memcmp(back, data, size)) __builtin_trap();
    rnnc_projector_unescape((const char *)esc, back, &n); /* idempotent call on valid input */
    free(esc);
    free(back);

    /* UTF-8 stream: split the input at every 3rd byte */
    rnnc_utf8_stream st = {{0}, 0};
    unsigned char *out = malloc(size + 8);
    size_t w = 0;
    for (size_t i = 0; i < size; i += 3) {
        size_t k = size - i < 3 ? size - i : 3;
        w += rnnc_utf8_stream_push(&st, data + i, k, out + w);
    }
    w += rnnc_utf8_stream_flush(&st, out + w);
    if (w != size || (size && memcmp(out, data, size))) __builtin_trap();
    free(out);

    /* sampler over the input as floats; the first byte picks the parameters */
    if (size >= 5) {
        rnnc_sample_params p = {(float)(data[0] % 4) * 0.5f, data[0] >> 5, (data[0] & 8) ? 0.5f : 1.0f};
        size_t V = (size - 1) / sizeof(float);
        if (V > 0) {
            float *logits = malloc(V * sizeof *logits), *probs = malloc(V * sizeof *probs);
            memcpy(logits, data + 1, V * sizeof *logits);
            rnnc_sampler smp;
            if (rnnc_sampler_init(&smp, V, &p) == RNNC_OK) {
                rnnc_rng r;
                rnnc_rng_seed(&r, 1);
                uint32_t id;
                if (rnnc_sampler_next(&smp, logits, &r, &id) == RNNC_OK) {
                    if (id >= V) __builtin_trap();
                    if (logits[id] == -INFINITY) __builtin_trap();
                    if (rnnc_sampler_probs(&smp, logits, probs) != RNNC_OK) __builtin_trap();
                    double sum = 0;
                    for (size_t i = 0; i < V; i++) {
                        if (!(probs[i] >= 0)) __builtin_trap();
                        sum += probs[i];
                    }
                    if (fabs(sum - 1) > 1e-3) __builtin_trap();
                }
                rnnc_sampler_free(&smp);
            }
            free(logits);
            free(probs);
        }
    }
    return 0;
}
