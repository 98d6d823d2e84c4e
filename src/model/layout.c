/* A model file against its layout; see layout.h. */
#include "model/layout.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rnnc/rnnc.h"

bool rnnc_layout_has_prefix(const char *name, const char *const *prefixes) {
    for (size_t i = 0; prefixes && prefixes[i]; i++)
        if (!strncmp(name, prefixes[i], strlen(prefixes[i]))) return true;
    return false;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int d = 0; d < ndim && k < n; d++) k += (size_t)snprintf(buf + k, n - k, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (k < n) snprintf(buf + k, n - k, ")");
}

rnnc_status rnnc_check_layout(const rnnc_safetensors *st, const rnnc_param_info *want, size_t n,
                              const char *const *skip, const char *key, const char *cfg) {
    char tail[320];
    if (cfg) snprintf(tail, sizeof tail, "%s: %s", key, cfg);
    else snprintf(tail, sizeof tail, "%s asks for it", key);
    for (size_t k = 0; k < n; k++) {
        const rnnc_param_info *p = &want[k];
        const rnnc_st_tensor *t = rnnc_st_find(st, p->name);
        if (!t) return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s' is missing (%s)", st->path, p->name, tail);
        int64_t shape[2] = {p->shape[0], p->shape[1]};
        bool same = t->ndim == p->ndim;
        for (int d = 0; same && d < p->ndim; d++) same = t->shape[d] == shape[d];
        if (!same) {
            char got[200], exp[64];
            shape_str(got, sizeof got, t->ndim, t->shape);
            shape_str(exp, sizeof exp, p->ndim, shape);
            return rnnc_error(RNNC_ERR_FORMAT, "%s: tensor '%s' has shape %s but %s asks for %s%s%s%s", st->path, p->name, got,
                              key, exp, cfg ? " (" : "", cfg ? cfg : "", cfg ? ")" : "");
        }
    }
    /* with every expected tensor there, any further one is unexpected (a file for another
     * architecture), or a name is given twice */
    size_t n_file = 0;
    for (size_t i = 0; i < st->n_tensors; i++) n_file += !rnnc_layout_has_prefix(st->tensors[i].name, skip);
    if (n_file == n) return RNNC_OK;
    for (size_t i = 0; i < st->n_tensors; i++) {
        const char *name = st->tensors[i].name;
        if (rnnc_layout_has_prefix(name, skip)) continue;
        size_t k = 0;
        while (k < n && strcmp(want[k].name, name) != 0) k++;
        if (k == n)
            return rnnc_error(RNNC_ERR_FORMAT, "%s: unexpected tensor '%s' (%s%s%s)", st->path, name, key, cfg ? ": " : " does not have it",
                              cfg ? cfg : "");
    }
    return rnnc_error(RNNC_ERR_FORMAT, "%s: %zu model tensors, but %s%s%s%s has %zu", st->path, n_file, key, cfg ? " (" : "",
                      cfg ? cfg : "", cfg ? ")" : "", n);
}
