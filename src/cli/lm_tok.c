/* Loading a model file together with the tokenizer stored inside it (shared by sample, similar). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "rnnc/tokenizer.h"

int cli_load_lm_tokenizer(const char *path, rnnc_lm **m, rnnc_tokenizer **tok) {
    *m = NULL;
    *tok = NULL;
    if (rnnc_lm_load(m, path)) return cli_fail_status();
    const char *json = rnnc_lm_get_meta(*m, "rnnc.tokenizer");
    if (!json) {
        rnnc_lm_free(*m);
        *m = NULL;
        return cli_fail("%s: the model has no tokenizer (metadata key rnnc.tokenizer), so text cannot be mapped to its ids", path);
    }
    if (rnnc_tokenizer_from_json(tok, json, strlen(json))) {
        int rc = cli_fail("%s: tokenizer in metadata rnnc.tokenizer: %s", path, rnnc_last_error());
        rnnc_lm_free(*m);
        *m = NULL;
        return rc;
    }
    size_t nv = rnnc_tokenizer_n_vocab(*tok);
    if (nv != (size_t)(*m)->c.vocab) {
        int rc = cli_fail("%s: the tokenizer has %zu tokens but the model's vocabulary is %d", path, nv, (*m)->c.vocab);
        rnnc_tokenizer_free(*tok);
        rnnc_lm_free(*m);
        *m = NULL;
        *tok = NULL;
        return rc;
    }
    return 0;
}
