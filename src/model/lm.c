/* The language model: embedding -> recurrent stack -> linear head, over one contiguous parameter
 * buffer and one gradient buffer, with PyTorch's state_dict names and safetensors files. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "model/layout.h"
#include "rnnc/filekind.h"
#include "rnnc/lm.h"
#include "rnnc/nn.h"
#include "rnnc/optim.h"
#include "rnnc/safetensors.h"
#include "core/bigmem.h"

/* Sizes beyond this many floats in one tensor are refused as implausible (and keep int math safe). */
#define MAX_TENSOR ((size_t)1 << 31)

/* a * b and a + b, false on size_t overflow */
static bool mul_sz(size_t a, size_t b, size_t *out) {
    if (b && a > SIZE_MAX / b) return false;
    *out = a * b;
    return true;
}
static bool add_sz(size_t a, size_t b, size_t *out) {
    if (a > SIZE_MAX - b) return false;
    *out = a + b;
    return true;
}

/* The parameter count of a config whose fields are in range, with every step checked: false when
 * it (params and grads, in bytes) would not fit a size_t. */
static bool count_params(const rnnc_lm_config *c, size_t *n) {
    size_t V = (size_t)c->vocab, E = (size_t)c->embed, H = (size_t)c->hidden;
    size_t GH = (size_t)rnnc_cell_gates(c->cell) * H, t, total;
    if (!mul_sz(V, E, &total)) return false;
    for (int l = 0; l < c->layers; l++) {
        size_t in = l == 0 ? E : H; /* weight_ih, weight_hh, two biases */
        if (!add_sz(in, H + 2, &t) || !mul_sz(GH, t, &t) || !add_sz(total, t, &total)) return false;
    }
    if (!mul_sz(V, H + 1, &t) || !add_sz(total, t, &total)) return false; /* head weight and bias */
    if (total > SIZE_MAX / (2 * sizeof(float))) return false;
    *n = total;
    return true;
}

rnnc_status rnnc_lm_config_check(const rnnc_lm_config *c) {
    if (rnnc_cell_check(c->cell, "model config")) return RNNC_ERR_ARG;
    if (c->vocab < 1 || c->vocab > RNNC_LM_MAX_VOCAB)
        return rnnc_error(RNNC_ERR_ARG, "model config: vocab %d is outside [1, %d]", c->vocab, RNNC_LM_MAX_VOCAB);
    if (c->embed < 1 || c->embed > RNNC_LM_MAX_EMBED)
        return rnnc_error(RNNC_ERR_ARG, "model config: embed %d is outside [1, %d]", c->embed, RNNC_LM_MAX_EMBED);
    if (c->hidden < 1 || c->hidden > RNNC_LM_MAX_HIDDEN)
        return rnnc_error(RNNC_ERR_ARG, "model config: hidden %d is outside [1, %d]", c->hidden, RNNC_LM_MAX_HIDDEN);
    if (c->layers < 1 || c->layers > RNNC_LM_MAX_LAYERS)
        return rnnc_error(RNNC_ERR_ARG, "model config: layers %d is outside [1, %d]", c->layers, RNNC_LM_MAX_LAYERS);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return rnnc_error(RNNC_ERR_ARG, "model config: dropout %g is not in [0, 1)", (double)c->dropout);
    /* with the fields bounded above, these products fit a 64-bit size_t; each tensor must also
     * fit an int's count of floats */
    size_t G = (size_t)rnnc_cell_gates(c->cell), n;
    if ((size_t)c->vocab * (size_t)c->embed > MAX_TENSOR || (size_t)c->vocab * (size_t)c->hidden > MAX_TENSOR ||
        G * (size_t)c->hidden * (size_t)(c->embed > c->hidden ? c->embed : c->hidden) > MAX_TENSOR)
        return rnnc_error(RNNC_ERR_ARG, "model config: vocab %d, embed %d, hidden %d give tensors of over 2^31 floats",
                          c->vocab, c->embed, c->hidden);
    if (!count_params(c, &n))
        return rnnc_error(RNNC_ERR_ARG, "model config: %d layers of hidden %d have more parameters than memory can address",
                          c->layers, c->hidden);
    return RNNC_OK;
}

char *rnnc_lm_config_to_json(const rnnc_lm_config *c) {
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"cell\": \"%s\", \"vocab\": %d, \"embed\": %d, \"hidden\": %d, \"layers\": %d, \"dropout\": %.9g, "
             "\"bidirectional\": false}",
             rnnc_cell_name(c->cell), c->vocab, c->embed, c->hidden, c->layers, (double)c->dropout);
    size_t n = strlen(buf) + 1;
    char *s = malloc(n);
    if (s) memcpy(s, buf, n);
    return s;
}

/* A JSON number as an int in [lo, hi]. Finite, integral and in range are checked on the double
 * before the conversion: converting an out-of-range double to int is undefined behaviour. */
static rnnc_status json_int(const cJSON *root, const char *key, int lo, int hi, int *out, const char *what) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v) return rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.config has no \"%s\"", what, key);
    if (!cJSON_IsNumber(v)) return rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.config \"%s\" is not a number", what, key);
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi)
        return rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.config \"%s\" is %.17g, not an integer in [%d, %d]", what, key, d,
                          lo, hi);
    *out = (int)d;
    return RNNC_OK;
}

rnnc_status rnnc_lm_config_from_json(rnnc_lm_config *c, const char *json, const char *what) {
    memset(c, 0, sizeof *c);
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.config is not a JSON object", what);
    }
    rnnc_status s = RNNC_OK;
    bool nomem;
    const char *dup = rnnc_json_dup_key(root, &nomem);
    if (nomem) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory reading rnnc.config", what); goto out; }
    if (dup) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.config has the key \"%s\" twice", what, dup); goto out; }
    const cJSON *cell = cJSON_GetObjectItemCaseSensitive(root, "cell");
    if (!cJSON_IsString(cell)) { s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.config has no \"cell\" string", what); goto out; }
    if (rnnc_cell_parse(cell->valuestring, &c->cell)) {
        char cells[256];
        rnnc_cell_list(cells, sizeof cells);
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.config \"cell\" is '%.64s' (expected %s)", what, cell->valuestring,
                       cells);
        goto out;
    }
    if ((s = json_int(root, "vocab", 1, RNNC_LM_MAX_VOCAB, &c->vocab, what)) ||
        (s = json_int(root, "embed", 1, RNNC_LM_MAX_EMBED, &c->embed, what)) ||
        (s = json_int(root, "hidden", 1, RNNC_LM_MAX_HIDDEN, &c->hidden, what)) ||
        (s = json_int(root, "layers", 1, RNNC_LM_MAX_LAYERS, &c->layers, what)))
        goto out;
    const cJSON *dr = cJSON_GetObjectItemCaseSensitive(root, "dropout");
    if (dr) {
        if (!cJSON_IsNumber(dr) || !(dr->valuedouble >= 0 && dr->valuedouble < 1)) {
            s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.config \"dropout\" is not a number in [0, 1)", what);
            goto out;
        }
        c->dropout = (float)dr->valuedouble;
    }
    const cJSON *bi = cJSON_GetObjectItemCaseSensitive(root, "bidirectional");
    if (bi && !cJSON_IsFalse(bi)) {
        s = rnnc_error(RNNC_ERR_FORMAT, "%s: rnnc.config \"bidirectional\" must be false for a language model", what);
        goto out;
    }
    if (rnnc_lm_config_check(c)) s = rnnc_error(RNNC_ERR_FORMAT, "%s: %s", what, rnnc_last_error());
out:
    cJSON_Delete(root);
    return s;
}

/* The offsets and parameter count of config c in m (c already checked): no allocation, so the
 * tensor table (rnnc_lm_tensor) can be compared with a file before anything is allocated. */
static void lm_layout(rnnc_lm *m, const rnnc_lm_config *c) {
    memset(m, 0, sizeof *m);
    m->c = *c;
    m->rnn = (rnnc_rnn_config){c->cell, c->embed, c->hidden, c->layers, false, c->dropout};
    size_t V = (size_t)c->vocab, E = (size_t)c->embed, H = (size_t)c->hidden;
    m->off_embedding = 0;
    m->off_rnn = V * E;
    m->off_head_w = m->off_rnn + rnnc_rnn_num_params(&m->rnn);
    m->off_head_b = m->off_head_w + V * H;
    m->n_params = m->off_head_b + V;
}

rnnc_status rnnc_lm_new(rnnc_lm **out, const rnnc_lm_config *c) {
    *out = NULL;
    rnnc_status s = rnnc_lm_config_check(c);
    if (s) return s;
    rnnc_lm *m = calloc(1, sizeof *m);
    if (!m) return rnnc_error(RNNC_ERR_NOMEM, "model: out of memory");
    lm_layout(m, c);
    m->params = calloc(m->n_params, sizeof(float));
    m->grads = calloc(m->n_params, sizeof(float));
    if (!m->params || !m->grads) {
        size_t n = m->n_params; /* m is gone after the free */
        rnnc_lm_free(m);
        return rnnc_error(RNNC_ERR_NOMEM, "model: out of memory for %zu parameters", n);
    }
    *out = m;
    return RNNC_OK;
}
void rnnc_lm_free(rnnc_lm *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_meta; i++) { free(m->meta_keys[i]); free(m->meta_values[i]); }
    free(m->meta_keys);
    free(m->meta_values);
    free(m->params);
    free(m->grads);
    free(m);
    rnnc_scratch_trim(); /* done with a model: the temporaries cached for computing go too */
}

void rnnc_lm_init(rnnc_lm *m, rnnc_rng *rng) {
    size_t VE = (size_t)m->c.vocab * (size_t)m->c.embed;
    for (size_t i = 0; i < VE; i++) m->params[m->off_embedding + i] = rnnc_rng_normal(rng);
    rnnc_rnn_init(&m->rnn, m->params + m->off_rnn, rng);
    float k = 1.0f / sqrtf((float)m->c.hidden);
    for (size_t i = m->off_head_w; i < m->n_params; i++) m->params[i] = (2.0f * rnnc_rng_uniform(rng) - 1.0f) * k;
}

size_t rnnc_lm_num_tensors(const rnnc_lm *m) { return rnnc_rnn_num_tensors(&m->rnn) + 3; }

rnnc_param_info rnnc_lm_tensor(const rnnc_lm *m, size_t k) {
    rnnc_param_info p;
    memset(&p, 0, sizeof p);
    size_t nr = rnnc_rnn_num_tensors(&m->rnn);
    if (k == 0) {
        snprintf(p.name, sizeof p.name, "embedding.weight");
        p.ndim = 2; p.shape[0] = m->c.vocab; p.shape[1] = m->c.embed;
        p.offset = m->off_embedding;
    } else if (k <= nr) {
        rnnc_param_info r = rnnc_rnn_tensor(&m->rnn, k - 1);
        p = r;
        char full[sizeof r.name + 8];
        snprintf(full, sizeof full, "rnn.%s", r.name); /* PyTorch names are far below 47 chars */
        memcpy(p.name, full, sizeof p.name - 1);
        p.name[sizeof p.name - 1] = 0;
        p.offset = m->off_rnn + r.offset;
    } else if (k == nr + 1) {
        snprintf(p.name, sizeof p.name, "head.weight");
        p.ndim = 2; p.shape[0] = m->c.vocab; p.shape[1] = m->c.hidden;
        p.offset = m->off_head_w;
    } else {
        snprintf(p.name, sizeof p.name, "head.bias");
        p.ndim = 1; p.shape[0] = m->c.vocab;
        p.offset = m->off_head_b;
    }
    p.size = (size_t)p.shape[0] * (size_t)(p.ndim == 2 ? p.shape[1] : 1);
    return p;
}

size_t rnnc_lm_layer_params(const rnnc_lm *m, int l) {
    size_t n = 0;
    for (size_t k = 0; k < 4; k++) n += rnnc_rnn_tensor(&m->rnn, (size_t)l * 4 + k).size;
    return n;
}

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

rnnc_status rnnc_lm_set_meta(rnnc_lm *m, const char *key, const char *value) {
    if (strcmp(key, "rnnc.config") == 0)
        return rnnc_error(RNNC_ERR_ARG, "model: metadata 'rnnc.config' is derived from the model and cannot be set");
    for (size_t i = 0; i < m->n_meta; i++) {
        if (strcmp(m->meta_keys[i], key) == 0) {
            char *v = dupstr(value);
            if (!v) return rnnc_error(RNNC_ERR_NOMEM, "model: out of memory");
            free(m->meta_values[i]);
            m->meta_values[i] = v;
            return RNNC_OK;
        }
    }
    char **k2 = realloc(m->meta_keys, (m->n_meta + 1) * sizeof *k2);
    if (!k2) return rnnc_error(RNNC_ERR_NOMEM, "model: out of memory");
    m->meta_keys = k2;
    char **v2 = realloc(m->meta_values, (m->n_meta + 1) * sizeof *v2);
    if (!v2) return rnnc_error(RNNC_ERR_NOMEM, "model: out of memory");
    m->meta_values = v2;
    char *k = dupstr(key), *v = dupstr(value);
    if (!k || !v) { free(k); free(v); return rnnc_error(RNNC_ERR_NOMEM, "model: out of memory"); }
    m->meta_keys[m->n_meta] = k;
    m->meta_values[m->n_meta] = v;
    m->n_meta++;
    return RNNC_OK;
}

const char *rnnc_lm_get_meta(const rnnc_lm *m, const char *key) {
    for (size_t i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta_keys[i], key) == 0) return m->meta_values[i];
    return NULL;
}

rnnc_status rnnc_lm_save(const rnnc_lm *m, const char *path) {
    size_t nt = rnnc_lm_num_tensors(m);
    rnnc_st_entry *e = calloc(nt, sizeof *e);
    rnnc_param_info *info = calloc(nt, sizeof *info);
    const char **keys = calloc(m->n_meta + 1, sizeof *keys), **vals = calloc(m->n_meta + 1, sizeof *vals);
    char *cfg = rnnc_lm_config_to_json(&m->c);
    rnnc_status s;
    if (!e || !info || !keys || !vals || !cfg) { s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", path); goto out; }
    for (size_t k = 0; k < nt; k++) {
        info[k] = rnnc_lm_tensor(m, k);
        e[k].name = info[k].name;
        e[k].dtype = RNNC_DT_F32;
        e[k].ndim = info[k].ndim;
        for (int d = 0; d < info[k].ndim; d++) e[k].shape[d] = info[k].shape[d];
        e[k].data = m->params + info[k].offset;
    }
    keys[0] = "rnnc.config";
    vals[0] = cfg;
    for (size_t i = 0; i < m->n_meta; i++) { keys[i + 1] = m->meta_keys[i]; vals[i + 1] = m->meta_values[i]; }
    s = rnnc_st_save(path, e, nt, keys, vals, m->n_meta + 1);
out:
    free(e); free(info); free(keys); free(vals); free(cfg);
    return s;
}

/* Every tensor the config asks for is in the file with that shape, and the file holds no other
 * (but skip_prefix ones): model/layout.h. */
static rnnc_status check_tensors(const rnnc_lm *lay, const rnnc_safetensors *st, const char *skip_prefix) {
    const rnnc_lm_config *c = &lay->c;
    char cfg[160];
    snprintf(cfg, sizeof cfg, "cell %s, vocab %d, embed %d, hidden %d, layers %d", rnnc_cell_name(c->cell), c->vocab,
             c->embed, c->hidden, c->layers);
    size_t nt = rnnc_lm_num_tensors(lay);
    rnnc_param_info *want = malloc(nt * sizeof *want);
    if (!want) return rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory", st->path);
    for (size_t k = 0; k < nt; k++) want[k] = rnnc_lm_tensor(lay, k);
    const char *skip[] = {skip_prefix, NULL};
    rnnc_status s = rnnc_check_layout(st, want, nt, skip, "rnnc.config", cfg);
    free(want);
    return s;
}

/* NaN or Inf in a tensor: one such weight makes every loss NaN, so it is refused by name on load
 * (rnnc_st_read_f32 refuses them too; checked here as well so the model's guarantee does not rest
 * on the reader's). */
static rnnc_status check_finite(const char *path, const char *name, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return rnnc_error(RNNC_ERR_NUMERIC, "%s: tensor '%s' holds a non-finite value (%s) at element %zu", path,
                              name, isnan(x[i]) ? "nan" : x[i] > 0 ? "inf" : "-inf", i);
    return RNNC_OK;
}

rnnc_status rnnc_lm_from_safetensors(rnnc_lm **out, const rnnc_safetensors *st, const char *skip_prefix) {
    *out = NULL;
    const char *path = st->path;
    const char *cfg = rnnc_st_meta(st, "rnnc.config");
    if (!cfg) return rnnc_error(RNNC_ERR_FORMAT, "%s: no \"rnnc.config\" in __metadata__ (not an rnnc model file)", path);
    rnnc_lm_config c;
    rnnc_status s = rnnc_lm_config_from_json(&c, cfg, path);
    if (s) return s;
    rnnc_lm lay;
    lm_layout(&lay, &c);
    if ((s = check_tensors(&lay, st, skip_prefix))) return s;
    /* only now, with the file holding every tensor the config implies, is the model allocated */
    rnnc_lm *m = NULL;
    if ((s = rnnc_lm_new(&m, &c))) return s;
    size_t nt = rnnc_lm_num_tensors(m);
    for (size_t k = 0; k < nt && !s; k++) {
        rnnc_param_info p = rnnc_lm_tensor(m, k);
        int64_t shape[2] = {p.shape[0], p.shape[1]};
        s = rnnc_st_read_f32(st, p.name, p.ndim, shape, m->params + p.offset);
        if (!s) s = check_finite(path, p.name, m->params + p.offset, p.size);
    }
    /* the other metadata, copied in one go (rnnc_lm_set_meta's search per key would be quadratic
     * in a hostile file's thousands of keys) */
    size_t nm = 0;
    for (size_t i = 0; i < st->n_meta; i++) nm += strcmp(st->meta_keys[i], "rnnc.config") != 0;
    if (!s && nm) {
        m->meta_keys = calloc(nm, sizeof *m->meta_keys);
        m->meta_values = calloc(nm, sizeof *m->meta_values);
        if (!m->meta_keys || !m->meta_values) s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory for the metadata", path);
        for (size_t i = 0; i < st->n_meta && !s; i++) {
            if (!strcmp(st->meta_keys[i], "rnnc.config")) continue;
            char *k = dupstr(st->meta_keys[i]), *v = dupstr(st->meta_values[i]);
            if (!k || !v) { free(k); free(v); s = rnnc_error(RNNC_ERR_NOMEM, "%s: out of memory for the metadata", path); break; }
            m->meta_keys[m->n_meta] = k;
            m->meta_values[m->n_meta++] = v;
        }
    }
    if (s) { rnnc_lm_free(m); return s; }
    *out = m;
    return RNNC_OK;
}

/* The metadata a run writes into its checkpoint (rnnc.run, rnnc.run.options, rnnc.task.options,
 * rnnc.run.inputs;
 * before the run module rnnc.train and rnnc.progress) is not the model's: a model loaded from a
 * checkpoint and saved again is a model file, not a checkpoint that lost its state. */
static void drop_checkpoint_meta(rnnc_lm *m) {
    size_t k = 0;
    for (size_t i = 0; i < m->n_meta; i++) {
        const char *key = m->meta_keys[i];
        if (!strcmp(key, "rnnc.run") || !strcmp(key, "rnnc.run.options") || !strcmp(key, "rnnc.task.options") ||
            !strcmp(key, "rnnc.run.inputs") || !strcmp(key, "rnnc.train") || !strcmp(key, "rnnc.progress")) {
            free(m->meta_keys[i]);
            free(m->meta_values[i]);
            continue;
        }
        m->meta_keys[k] = m->meta_keys[i];
        m->meta_values[k++] = m->meta_values[i];
    }
    m->n_meta = k;
}

/* A language model or a checkpoint of a language-model run (either format: its "train.*" tensors
 * skipped); any other kind of file is refused with what it is and which command takes it. */
rnnc_status rnnc_lm_load(rnnc_lm **out, const char *path) {
    *out = NULL;
    /* a tokenizer, TSV, id or text file is told by its first bytes, before the file is read whole */
    rnnc_file_kind k = rnnc_file_kind_sniff_path(path);
    if (k != RNNC_FILE_UNKNOWN) return rnnc_file_kind_refuse(path, k, RNNC_FILE_LM);
    rnnc_safetensors st;
    rnnc_status s = rnnc_st_load(&st, path);
    if (s) return s;
    k = rnnc_file_kind_of(&st);
    bool checkpoint = rnnc_file_kind_is_checkpoint(k);
    if (rnnc_file_kind_task(k) != RNNC_FILE_LM) s = rnnc_file_kind_refuse(path, k, RNNC_FILE_LM);
    else if (!(s = rnnc_lm_from_safetensors(out, &st, checkpoint ? "train." : NULL)) && checkpoint)
        drop_checkpoint_meta(*out);
    rnnc_st_free(&st);
    return s;
}

rnnc_status rnnc_lm_check_tokenizer(const rnnc_lm *m, const char *path, rnnc_tokenizer **tok) {
    if (tok) *tok = NULL;
    const char *json = rnnc_lm_get_meta(m, "rnnc.tokenizer");
    if (!json) return RNNC_OK;
    rnnc_tokenizer *t = NULL;
    rnnc_status s = rnnc_tokenizer_from_json(&t, json, strlen(json));
    if (s) return rnnc_error(s, "%s: tokenizer in metadata 'rnnc.tokenizer': %s", path, rnnc_last_error());
    size_t nv = rnnc_tokenizer_n_vocab(t);
    if (nv != (size_t)m->c.vocab) {
        rnnc_tokenizer_free(t);
        return rnnc_error(RNNC_ERR_FORMAT,
                          "%s: the tokenizer in metadata 'rnnc.tokenizer' has %zu tokens but the model's vocabulary is %d",
                          path, nv, m->c.vocab);
    }
    if (tok) *tok = t;
    else rnnc_tokenizer_free(t);
    return RNNC_OK;
}

rnnc_status rnnc_lm_load_tokenizer(rnnc_lm **out, rnnc_tokenizer **tok, const char *path) {
    if (tok) *tok = NULL;
    rnnc_status s = rnnc_lm_load(out, path);
    if (s) return s;
    if ((s = rnnc_lm_check_tokenizer(*out, path, tok))) {
        rnnc_lm_free(*out);
        *out = NULL;
    }
    return s;
}

/* ---- forward / backward ---- */

struct rnnc_lm_ws {
    int Bmax, Tmax, B, T;
    rnnc_rnn_ws *rnn;
    float *y;        /* (B,T,H) recurrent output, (T,B,H) when tm */
    float *logits;   /* (B*T,V) in y's row order; becomes dlogits in place during backward */
    float *dy;       /* y's shape */
    int *ids_tm, *tgt_tm; /* (T,B) the window's ids and targets, when the rows run time-major */
    bool tm;         /* the last forward ran time-major: y, logits and dy are (T,B,...) */
    float *h[2], *c[2]; /* carried state (L,B,H), double-buffered: [cur] is the state in */
    int cur;
    size_t state_size;
    bool have_forward;
};

rnnc_status rnnc_lm_ws_new(rnnc_lm_ws **out, const rnnc_lm *m, int B, int T) {
    *out = NULL;
    if (B < 1 || T < 1) return rnnc_error(RNNC_ERR_ARG, "model workspace: batch %d and seq %d must be at least 1", B, T);
    /* forward counts the window's positions in an int, and the logits (B*T, V) must fit a size_t */
    size_t nbt = (size_t)B * (size_t)T, nl;
    if (nbt > INT_MAX || !mul_sz(nbt, (size_t)m->c.vocab, &nl) || nl > SIZE_MAX / sizeof(float))
        return rnnc_error(RNNC_ERR_ARG, "model workspace: batch %d x seq %d x vocab %d is too large", B, T, m->c.vocab);
    rnnc_lm_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return rnnc_error(RNNC_ERR_NOMEM, "model workspace: out of memory");
    ws->Bmax = B;
    ws->Tmax = T;
    size_t N = (size_t)B * (size_t)T, H = (size_t)m->c.hidden, V = (size_t)m->c.vocab;
    ws->state_size = (size_t)m->c.layers * (size_t)B * H;
    rnnc_status s = rnnc_rnn_ws_new(&ws->rnn, &m->rnn, B, T);
    if (s) { free(ws); return s; }
    ws->y = malloc(N * H * sizeof(float));
    ws->logits = malloc(N * V * sizeof(float));
    ws->dy = malloc(N * H * sizeof(float));
    ws->ids_tm = malloc(N * sizeof(int));
    ws->tgt_tm = malloc(N * sizeof(int));
    bool two = rnnc_cell_info_of(m->c.cell)->states > 1; /* the cell carries c besides h */
    for (int i = 0; i < 2; i++) {
        ws->h[i] = calloc(ws->state_size, sizeof(float));
        ws->c[i] = two ? calloc(ws->state_size, sizeof(float)) : NULL;
    }
    if (!ws->y || !ws->logits || !ws->dy || !ws->ids_tm || !ws->tgt_tm || !ws->h[0] || !ws->h[1] ||
        (two && (!ws->c[0] || !ws->c[1]))) {
        rnnc_lm_ws_free(ws);
        return rnnc_error(RNNC_ERR_NOMEM, "model workspace: out of memory for batch %d x seq %d", B, T);
    }
    *out = ws;
    return RNNC_OK;
}

void rnnc_lm_ws_free(rnnc_lm_ws *ws) {
    if (!ws) return;
    rnnc_rnn_ws_free(ws->rnn);
    free(ws->y); free(ws->logits); free(ws->dy); free(ws->ids_tm); free(ws->tgt_tm);
    for (int i = 0; i < 2; i++) { free(ws->h[i]); free(ws->c[i]); }
    free(ws);
}

void rnnc_lm_ws_reset_state(rnnc_lm_ws *ws) {
    memset(ws->h[ws->cur], 0, ws->state_size * sizeof(float));
    if (ws->c[ws->cur]) memset(ws->c[ws->cur], 0, ws->state_size * sizeof(float));
}

void rnnc_lm_ws_set_row0(rnnc_lm_ws *ws, long row0) { rnnc_rnn_ws_set_row0(ws->rnn, row0); }

float *rnnc_lm_ws_h(rnnc_lm_ws *ws) { return ws->h[ws->cur]; }
float *rnnc_lm_ws_c(rnnc_lm_ws *ws) { return ws->c[ws->cur]; }

rnnc_status rnnc_lm_ws_set_packed(rnnc_lm_ws *ws, const rnnc_rnn_packed *p) { return rnnc_rnn_ws_set_packed(ws->rnn, p); }

/* The window's forward; the head too where `head` (and *logits, if logits is not NULL). */
static rnnc_status forward(rnnc_lm *m, rnnc_lm_ws *ws, const int *ids, int B, int T, bool training, rnnc_rng *rng,
                           bool head, const float **logits) {
    if (B < 1 || T < 1 || B > ws->Bmax || T > ws->Tmax)
        return rnnc_error(RNNC_ERR_ARG, "model forward: window %d x %d does not fit the workspace of %d x %d", B, T,
                          ws->Bmax, ws->Tmax);
    const int V = m->c.vocab, H = m->c.hidden;
    const int N = B * T;
    ws->have_forward = false;
    /* The state in stays untouched in [cur] (backward may need it); the state out goes to the
     * other buffer, which then becomes the current one. */
    int nxt = 1 - ws->cur;
    /* A caller that does not read the logits (training, the loss) gets the rows in the recurrent
     * runner's own order, time-major: y, the logits and dy then need no transposed copies. The
     * ids are put in that order here, with their positions in errors still the caller's. */
    ws->tm = head && logits == NULL && T > 1 && B > 1;
    if (ws->tm) {
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                const int id = ids[(size_t)b * T + t];
                if (id < 0 || id >= V)
                    return rnnc_error(RNNC_ERR_RANGE, "embedding: id %d at position %d is outside the vocabulary of %d",
                                      id, b * T + t, V);
                ws->ids_tm[(size_t)t * B + b] = id;
            }
        ids = ws->ids_tm;
    }
    rnnc_rnn_ws_set_time_major(ws->rnn, ws->tm);
    /* the embedding lookup happens inside the recurrent layer (rnnc_rnn_forward_ids), which can
     * then project the table instead of every looked-up row; it also rejects ids outside it */
    rnnc_status s = rnnc_rnn_forward_ids(ws->rnn, m->params + m->off_rnn, B, T, ids, m->params + m->off_embedding, V,
                                         NULL, ws->h[ws->cur], ws->c[ws->cur], ws->y, ws->h[nxt], ws->c[nxt], training,
                                         rng);
    if (s) return s;
    ws->cur = nxt;
    ws->B = B;
    ws->T = T;
    if (!head) return RNNC_OK; /* have_forward stays false: there are no logits to take a loss of */
    rnnc_linear_forward(ws->logits, ws->y, m->params + m->off_head_w, m->params + m->off_head_b, N, H, V);
    ws->have_forward = true;
    if (logits) *logits = ws->logits;
    return RNNC_OK;
}

rnnc_status rnnc_lm_forward(rnnc_lm *m, rnnc_lm_ws *ws, const int *ids, int B, int T, bool training,
                            rnnc_rng *rng, const float **logits) {
    return forward(m, ws, ids, B, T, training, rng, true, logits);
}

rnnc_status rnnc_lm_forward_hidden(rnnc_lm *m, rnnc_lm_ws *ws, const int *ids, int B, int T, const float **y) {
    rnnc_status s = forward(m, ws, ids, B, T, false, NULL, false, NULL);
    if (!s) *y = ws->y;
    return s;
}

rnnc_status rnnc_lm_loss(rnnc_lm *m, rnnc_lm_ws *ws, const int *targets, bool backward, double *loss) {
    if (!ws->have_forward) return rnnc_error(RNNC_ERR_ARG, "model loss: no forward pass to take the loss of");
    const int V = m->c.vocab, H = m->c.hidden;
    const int N = ws->B * ws->T;
    if (ws->tm) { /* the targets in the rows' time-major order (forward) */
        const int B = ws->B, T = ws->T;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                const int y = targets[(size_t)b * T + t];
                if (y != RNNC_IGNORE_INDEX && (y < 0 || y >= V))
                    return rnnc_error(RNNC_ERR_RANGE,
                                      "cross-entropy: target %d at position %d is outside the vocabulary of %d", y,
                                      b * T + t, V);
                ws->tgt_tm[(size_t)t * B + b] = y;
            }
        targets = ws->tgt_tm;
    }
    rnnc_status s = rnnc_xent_forward_backward(ws->logits, targets, N, V, RNNC_IGNORE_INDEX, 1.0f,
                                               backward ? ws->logits : NULL, loss, NULL);
    if (s || !backward) return s;
    ws->have_forward = false; /* the logits now hold their gradient */
    rnnc_linear_backward(ws->dy, m->grads + m->off_head_w, m->grads + m->off_head_b, ws->logits, ws->y,
                         m->params + m->off_head_w, N, H, V);
    return rnnc_rnn_backward_ids(ws->rnn, m->params + m->off_rnn, m->grads + m->off_rnn, ws->dy, NULL, NULL,
                                 m->params + m->off_embedding, m->grads + m->off_embedding, NULL, NULL);
}

void rnnc_lm_zero_grad(rnnc_lm *m) { rnnc_zero_grad(m->grads, m->n_params); }

rnnc_status rnnc_lm_step(rnnc_lm *m, rnnc_lm_ws *ws, const int *ids, int B, float *logits) {
    const float *l;
    rnnc_status s = rnnc_lm_forward(m, ws, ids, B, 1, false, NULL, &l);
    if (s) return s;
    memcpy(logits, l, (size_t)B * (size_t)m->c.vocab * sizeof(float));
    return RNNC_OK;
}

/* Mean cross-entropy over every prediction a text allows: each of its ids after the first is a
 * target once. The n - 1 targets are cut into B contiguous streams whose lengths differ by at
 * most one (fewer streams when there are fewer targets), run as windows of T with the state
 * carried; where a stream ends inside a window, the rest of its row is padding whose targets are
 * ignored, so the last window is in effect shorter. (rnnc_stream, as --ids uses it, drops the
 * tail that B and T do not divide: up to half a short text.) *targets gets n - 1 (see lm.h). */
rnnc_status rnnc_lm_text_loss(rnnc_lm *m, const int32_t *ids, size_t n, int B, int T, double *loss, size_t *targets) {
    if (n < 2) return rnnc_error(RNNC_ERR_ARG, "%zu token%s: nothing to predict (the first token is only context)", n, n == 1 ? "" : "s");
    if (B < 1 || T < 1) return rnnc_error(RNNC_ERR_ARG, "batch %d and seq %d must both be at least 1", B, T);
    const size_t N = n - 1;
    if ((size_t)B > N) B = (int)N;
    const size_t per = N / (size_t)B, extra = N % (size_t)B, longest = per + (extra > 0);
    const size_t windows = (longest + (size_t)T - 1) / (size_t)T;
    rnnc_lm_ws *ws = NULL;
    int *x = malloc((size_t)B * (size_t)T * sizeof *x), *y = malloc((size_t)B * (size_t)T * sizeof *y);
    rnnc_status s = (!x || !y) ? rnnc_error(RNNC_ERR_NOMEM, "out of memory") : rnnc_lm_ws_new(&ws, m, B, T);
    double sum = 0; /* of the window means weighted by their targets */
    for (size_t k = 0; k < windows && !s; k++) {
        size_t count = 0, start = 0;
        for (int b = 0; b < B; b++) {
            const size_t len = per + ((size_t)b < extra);
            for (size_t t = 0; t < (size_t)T; t++) {
                const size_t at = k * (size_t)T + t, i = (size_t)b * (size_t)T + t;
                if (at < len) {
                    x[i] = ids[start + at];
                    y[i] = ids[start + at + 1];
                    count++;
                } else {
                    x[i] = 0; /* a valid id whose prediction is not scored */
                    y[i] = RNNC_IGNORE_INDEX;
                }
            }
            start += len;
        }
        double l = 0;
        s = rnnc_lm_forward(m, ws, x, B, T, false, NULL, NULL);
        if (!s) s = rnnc_lm_loss(m, ws, y, false, &l);
        sum += l * (double)count;
    }
    free(x);
    free(y);
    rnnc_lm_ws_free(ws);
    *loss = sum / (double)N;
    *targets = N;
    return s;
}

rnnc_status rnnc_lm_stream_loss(rnnc_lm *m, rnnc_lm_ws *ws, const rnnc_stream *st, size_t max_windows,
                                int *x, int *y, double *loss) {
    size_t windows = max_windows && max_windows < st->windows ? max_windows : st->windows;
    rnnc_lm_ws_reset_state(ws);
    double sum = 0;
    for (size_t k = 0; k < windows; k++) {
        rnnc_stream_window(st, k, x, y);
        double l = 0;
        rnnc_status s = rnnc_lm_forward(m, ws, x, st->B, st->T, false, NULL, NULL);
        if (!s) s = rnnc_lm_loss(m, ws, y, false, &l);
        if (s) return s;
        sum += l;
    }
    *loss = sum / (double)windows;
    return RNNC_OK;
}
