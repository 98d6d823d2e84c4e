/* Example: a language model made by PyTorch, loaded and sampled from C.
 *
 * tests/golden/lm/lm_lstm_l2.safetensors was written by tools/make_golden_lm.py: a torch.nn.Module
 * (Embedding(11, 5) -> 2-layer LSTM(5, 6) -> Linear(6, 11)) with PyTorch's own initialisation,
 * its state_dict saved as safetensors with an "rnnc.config" entry in the metadata. rnnc reads
 * PyTorch's tensor names and layouts as they are: no conversion step. lm_lstm_l2_ref.safetensors
 * holds what PyTorch computed with it: the id stream ("ids") and the logits of its first window
 * ("logits0", rows b * 4 + t for stream b of 3 after t + 1 ids); the first 4 rows are the logits
 * after each of the first 4 ids, which this program checks before sampling.
 *
 * Build: cc pytorch_sample.c $(pkg-config --cflags --libs rnnc), or with CMake:
 *   find_package(rnnc REQUIRED) ... target_link_libraries(app PRIVATE rnnc::rnnc)
 * Run:   pytorch_sample [MODEL.safetensors]   (default: the fixture above, from the source tree,
 *        checked against PyTorch's logits; another model is only sampled) */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <rnnc/rnnc.h>

static int fail(const char *what) {
    fprintf(stderr, "pytorch_sample: %s: %s\n", what, rnnc_last_error());
    return 1;
}

/* n tokens after the prompt, drawn with p and seed; printed, and decoded when there is a tokenizer */
static int generate(rnnc_lm *m, const rnnc_tokenizer *tok, const uint32_t *prompt, size_t n_prompt,
                    const rnnc_sample_params *p, uint64_t seed, uint32_t *out, size_t n, const char *label) {
    rnnc_generator *g;
    if (rnnc_generator_new(&g, m, p, seed)) return fail("generator");
    if (rnnc_generator_feed(g, prompt, n_prompt)) return fail("prompt");
    for (size_t i = 0; i < n; i++)
        if (rnnc_generator_next(g, &out[i])) return fail("next token");
    rnnc_generator_free(g);
    printf("  %-24s", label);
    for (size_t i = 0; i < n; i++) printf(" %u", out[i]);
    if (tok) {
        rnnc_bytes text = {0};
        if (rnnc_tokenizer_decode(tok, out, n, &text)) return fail("decode");
        printf("  \"%.*s\"", (int)text.len, (const char *)text.data);
        rnnc_bytes_free(&text);
    }
    printf("\n");
    for (size_t i = 0; i < n; i++)
        if (out[i] >= (uint32_t)m->c.vocab) {
            fprintf(stderr, "pytorch_sample: id %u outside the vocabulary\n", out[i]);
            return 1;
        }
    return 0;
}

/* The logits after each of the first T ids of PyTorch's stream, against PyTorch's. */
static int check_against_pytorch(rnnc_lm *m, const char *ref_path) {
    enum { T = 4 };
    int V = m->c.vocab;
    rnnc_safetensors ref;
    if (rnnc_st_load(&ref, ref_path)) return fail("reference");
    const rnnc_st_tensor *ids = rnnc_st_find(&ref, "ids"), *lg = rnnc_st_find(&ref, "logits0");
    if (!ids || !lg || lg->ndim != 2 || lg->shape[1] != V || lg->shape[0] < T || ids->numel < T) {
        fprintf(stderr, "pytorch_sample: %s: no ids and logits0 of this model\n", ref_path);
        return 1;
    }
    int64_t id64[64];
    float want[64 * 64];
    int64_t ids_shape[1] = {ids->shape[0]}, lg_shape[2] = {lg->shape[0], V};
    if (ids->numel > 64 || lg->numel > 64 * 64 || rnnc_st_read_i64(&ref, "ids", 1, ids_shape, id64) ||
        rnnc_st_read_f32(&ref, "logits0", 2, lg_shape, want))
        return fail("reference tensors");
    rnnc_st_free(&ref);
    rnnc_sample_params p = rnnc_sample_defaults();
    rnnc_generator *g;
    if (rnnc_generator_new(&g, m, &p, 1)) return fail("generator");
    double worst = 0;
    for (int t = 0; t < T; t++) {
        uint32_t id = (uint32_t)id64[t];
        if (rnnc_generator_feed(g, &id, 1)) return fail("feed");
        const float *got = rnnc_generator_logits(g);
        for (int v = 0; v < V; v++) {
            double e = fabs((double)got[v] - want[t * V + v]) / (fabs(want[t * V + v]) + 1e-3);
            worst = e > worst ? e : worst;
        }
    }
    rnnc_generator_free(g);
    printf("next-token logits after each of PyTorch's first %d ids: largest relative difference from "
           "PyTorch's %.1e\n", T, worst);
    if (worst > 1e-4) {
        fprintf(stderr, "pytorch_sample: rnnc's logits differ from PyTorch's\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "tests/golden/lm/lm_lstm_l2.safetensors";
    printf("rnnc %s\n", rnnc_version());
    rnnc_lm *m;
    rnnc_tokenizer *tok; /* NULL for a model of bare ids, as this one */
    if (rnnc_lm_load_tokenizer(&m, &tok, path)) return fail("load");
    printf("%s: %s, %d layers x %d, embedding %d, vocabulary %d, %zu parameters:\n", path,
           rnnc_cell_name(m->c.cell), m->c.layers, m->c.hidden, m->c.embed, m->c.vocab, m->n_params);
    for (size_t k = 0; k < rnnc_lm_num_tensors(m); k++) { /* PyTorch's state_dict names */
        rnnc_param_info t = rnnc_lm_tensor(m, k);
        printf("  %-22s (%d%s%.0d)\n", t.name, t.shape[0], t.ndim == 2 ? ", " : "", t.ndim == 2 ? t.shape[1] : 0);
    }
    if (argc < 2 && check_against_pytorch(m, "tests/golden/lm/lm_lstm_l2_ref.safetensors")) return 1;

    const uint32_t prompt[] = {4, 8, 1, 4, 6};
    enum { N = 16 };
    uint32_t greedy[N], a[N], b[N];
    rnnc_sample_params p = rnnc_sample_defaults();
    p.temperature = 0; /* greedy */
    printf("after the prompt 4 8 1 4 6:\n");
    if (generate(m, tok, prompt, 5, &p, 1, greedy, N, "greedy")) return 1;
    p.temperature = 0.8f;
    p.top_k = 5;
    if (generate(m, tok, prompt, 5, &p, 42, a, N, "T 0.8, top-k 5, seed 42")) return 1;
    if (generate(m, tok, prompt, 5, &p, 42, b, N, "the same again")) return 1;
    rnnc_tokenizer_free(tok);
    rnnc_lm_free(m);
    if (memcmp(a, b, sizeof a) != 0) {
        fprintf(stderr, "pytorch_sample: the same seed drew different tokens\n");
        return 1;
    }
    return 0;
}
