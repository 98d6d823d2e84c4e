/* Shared by eval and train: load a model and an id file, check the ids against the vocabulary and
 * make the stream batching, with errors that name the file, position or flags. */
#include <stdlib.h>

#include "cli/lm_common.h"

int cli_lm_open(const char *cmd, const char *model_path, const char *ids_path, long B, long T, cli_lm_data *d) {
    (void)cmd;
    d->m = NULL;
    d->ids = NULL;
    /* the tokenizer is not used on id files, but a model whose tokenizer disagrees with it is
     * damaged: refused here as by every other command */
    if (rnnc_lm_load_tokenizer(&d->m, NULL, model_path)) return cli_fail_status();
    if (rnnc_ids_read_text(ids_path, &d->ids, &d->n_ids)) { cli_lm_close(d); return cli_fail_status(); }
    if (rnnc_ids_check_vocab(d->ids, d->n_ids, d->m->c.vocab, ids_path)) {
        cli_lm_close(d);
        return cli_fail("%s (model %s)", rnnc_last_error(), model_path);
    }
    if (rnnc_stream_init(&d->stream, d->ids, d->n_ids, (int)B, (int)T)) {
        size_t need = (size_t)B * (size_t)(T + 1);
        cli_lm_close(d);
        return cli_fail("--batch %ld x --seq %ld needs at least %zu ids (batch x (seq+1)), but %s has %zu; lower --batch or --seq",
                        B, T, need, ids_path, d->n_ids);
    }
    return 0;
}

void cli_lm_close(cli_lm_data *d) {
    rnnc_lm_free(d->m);
    free(d->ids);
    d->m = NULL;
    d->ids = NULL;
}
