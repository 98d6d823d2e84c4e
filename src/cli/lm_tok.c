/* Loading a model file together with the tokenizer stored inside it (shared by sample, similar). */
#include "cli/cli.h"
#include "rnnc/tokenizer.h"

int cli_load_lm_tokenizer(const char *path, rnnc_lm **m, rnnc_tokenizer **tok) {
    /* the library checks the tokenizer against the model (one place for every command) */
    if (rnnc_lm_load_tokenizer(m, tok, path)) return cli_fail_status();
    if (!*tok) {
        rnnc_lm_free(*m);
        *m = NULL;
        return cli_fail("%s: the model has no tokenizer (metadata key rnnc.tokenizer), so text cannot be mapped to its ids", path);
    }
    return 0;
}
