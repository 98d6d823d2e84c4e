/* libFuzzer target: language model files and their config.
 *
 * Input starting with '{': the "rnnc.config" JSON text (rnnc_lm_config_from_json). A config that
 * parses must pass rnnc_lm_config_check and survive to_json -> from_json unchanged.
 * Input starting with '[': an "rnnc.unseen_ids" value (rnnc_unseen_ids_parse, over 64 ids; also
 * read from a loaded model's metadata over its vocabulary): what parses formats back to the same
 * ranges; what does not leaves the marks untouched.
 * Any other input: a whole model file, written to a temp file and loaded with rnnc_lm_load (the
 * loader reads a path). A model that loads must have a valid config, parameter tensors that tile
 * its buffer, finite weights, and run a forward window, the loss with backward, and a sampling
 * step. Its embedded tokenizer ("rnnc.tokenizer"), when there is one, goes through
 * rnnc_lm_check_tokenizer (the second half of rnnc_lm_load_tokenizer, which every command uses):
 * it fails cleanly or has the model's vocabulary size and round-trips text (char and BPE exactly).
 * Failures must leave a message and no object.
 * Seeds: real tiny models made by tools/make_fuzz_seeds.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rnnc/rnnc.h"

static void config_mode(const uint8_t *data, size_t size) {
    char *text = fuzz_strndup(data, size);
    rnnc_lm_config c;
    fuzz_clear_error();
    rnnc_status s = rnnc_lm_config_from_json(&c, text, "fuzz");
    free(text);
    if (s) { fuzz_check_failed(s); return; }
    FUZZ_CHECK(rnnc_lm_config_check(&c) == RNNC_OK);
    char *j = rnnc_lm_config_to_json(&c);
    FUZZ_CHECK(j != NULL);
    rnnc_lm_config d;
    FUZZ_CHECK(rnnc_lm_config_from_json(&d, j, "again") == RNNC_OK);
    FUZZ_CHECK(c.cell == d.cell && c.vocab == d.vocab && c.embed == d.embed && c.hidden == d.hidden &&
               c.layers == d.layers && c.dropout == d.dropout);
    free(j);
}

/* "rnnc.unseen_ids" ([[first, last], ...], read by `rnnc similar`) over a vocabulary of V ids: it
 * parses or fails cleanly, leaving skip alone on failure; what parses formats back to the same
 * ranges. */
static void check_unseen(const char *json, size_t V) {
    unsigned char *skip = calloc(V, 1), *seen = malloc(V), *again = calloc(V, 1);
    FUZZ_CHECK(skip && seen && again);
    fuzz_clear_error();
    rnnc_status s = rnnc_unseen_ids_parse(json, V, skip);
    if (s) {
        fuzz_check_failed(s);
        for (size_t i = 0; i < V; i++) FUZZ_CHECK(skip[i] == 0);
    } else {
        for (size_t i = 0; i < V; i++) seen[i] = !skip[i];
        char *out;
        FUZZ_CHECK(rnnc_unseen_ids_format(seen, V, &out) == RNNC_OK);
        FUZZ_CHECK(rnnc_unseen_ids_parse(out, V, again) == RNNC_OK);
        FUZZ_CHECK(memcmp(skip, again, V) == 0);
        free(out);
    }
    free(skip);
    free(seen);
    free(again);
}

static void unseen_mode(const uint8_t *data, size_t size) {
    char *text = fuzz_strndup(data, size);
    check_unseen(text, 64);
    free(text);
}

static const unsigned char PROBE[] = "the cat sat. Hello, w\xC3\xB6rld! \xFF\xC3 <|endoftext|> don't 12";

/* The embedded tokenizer ("rnnc.tokenizer"), through rnnc_lm_check_tokenizer: absent (NULL), or it
 * fails cleanly, or it has the model's vocabulary size and round-trips text. */
static rnnc_tokenizer *check_tokenizer(const rnnc_lm *m, const char *path) {
    rnnc_tokenizer *t = (rnnc_tokenizer *)&t; /* must be overwritten */
    fuzz_clear_error();
    rnnc_status s = rnnc_lm_check_tokenizer(m, path, &t);
    if (s) { fuzz_check_failed(s); FUZZ_CHECK(t == NULL); return NULL; }
    FUZZ_CHECK((t == NULL) == (rnnc_lm_get_meta(m, "rnnc.tokenizer") == NULL));
    if (!t) return NULL;
    FUZZ_CHECK(rnnc_tokenizer_n_vocab(t) == (size_t)m->c.vocab);
    rnnc_ids ids = {0};
    rnnc_bytes back = {0};
    FUZZ_CHECK(rnnc_tokenizer_encode(t, PROBE, sizeof PROBE - 1, false, &ids, NULL) == RNNC_OK);
    for (size_t i = 0; i < ids.len; i++) FUZZ_CHECK(ids.data[i] < rnnc_tokenizer_n_vocab(t));
    FUZZ_CHECK(rnnc_tokenizer_decode(t, ids.data, ids.len, &back) == RNNC_OK);
    if (rnnc_tokenizer_type_of(t) != RNNC_TOKENIZER_WORD)
        FUZZ_CHECK(back.len == sizeof PROBE - 1 && memcmp(back.data, PROBE, back.len) == 0);
    rnnc_ids_free(&ids);
    rnnc_bytes_free(&back);
    return t;
}

static void run_model(rnnc_lm *m, const rnnc_tokenizer *t) {
    enum { T = 3 };
    int V = m->c.vocab, x[T], y[T];
    for (int i = 0; i < T; i++) x[i] = y[i] = (i * 7 + 1) % V;
    if (t) {
        rnnc_ids ids = {0};
        FUZZ_CHECK(rnnc_tokenizer_encode(t, PROBE, sizeof PROBE - 1, false, &ids, NULL) == RNNC_OK);
        for (size_t i = 0; i < ids.len && i < T; i++) x[i] = (int)ids.data[i];
        rnnc_ids_free(&ids);
    }
    rnnc_lm_ws *ws;
    FUZZ_CHECK(rnnc_lm_ws_new(&ws, m, 1, T) == RNNC_OK);
    const float *logits;
    FUZZ_CHECK(rnnc_lm_forward(m, ws, x, 1, T, false, NULL, &logits) == RNNC_OK);
    double loss;
    (void)rnnc_lm_loss(m, ws, y, true, &loss); /* non-finite parameters may make this an error */
    float *row = malloc((size_t)V * sizeof *row);
    FUZZ_CHECK(row != NULL);
    FUZZ_CHECK(rnnc_lm_step(m, ws, x, 1, row) == RNNC_OK);
    int bad = V; /* an id outside the vocabulary is an error, not a read out of bounds */
    fuzz_clear_error();
    fuzz_check_failed(rnnc_lm_step(m, ws, &bad, 1, row));
    free(row);
    rnnc_lm_ws_free(ws);
}

static void model_mode(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("model.safetensors", data, size);
    rnnc_lm *m;
    fuzz_clear_error();
    rnnc_status s = rnnc_lm_load(&m, path);
    if (s) { fuzz_check_failed(s); FUZZ_CHECK(m == NULL); return; }
    FUZZ_CHECK(rnnc_lm_config_check(&m->c) == RNNC_OK);
    size_t nt = rnnc_lm_num_tensors(m), total = 0;
    for (size_t k = 0; k < nt; k++) {
        rnnc_param_info p = rnnc_lm_tensor(m, k);
        FUZZ_CHECK(p.offset + p.size <= m->n_params);
        total += p.size;
    }
    FUZZ_CHECK(total == m->n_params);
    for (size_t i = 0; i < m->n_params; i++) FUZZ_CHECK(isfinite(m->params[i]));
    FUZZ_CHECK(rnnc_lm_get_meta(m, "rnnc.config") == NULL); /* the config is not kept as extra metadata */
    const char *unseen = rnnc_lm_get_meta(m, RNNC_UNSEEN_IDS_KEY);
    if (unseen) check_unseen(unseen, (size_t)m->c.vocab);
    rnnc_tokenizer *t = check_tokenizer(m, path);
    run_model(m, t);
    rnnc_tokenizer_free(t);
    rnnc_lm_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size && data[0] == '{') config_mode(data, size);
    else if (size && data[0] == '[') unseen_mode(data, size);
    else model_mode(data, size);
    return 0;
}
