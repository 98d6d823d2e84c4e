/* CLI helpers shared by the model subcommands (eval, train). */
#ifndef RNNC_CLI_LM_COMMON_H
#define RNNC_CLI_LM_COMMON_H

#include "cli/cli.h"

typedef struct {
    rnnc_lm *m;
    int32_t *ids;
    size_t n_ids;
    rnnc_stream stream;
} cli_lm_data;

/* Loads the model and ids and batches them; returns 0, or an exit code after printing the error. */
int cli_lm_open(const char *cmd, const char *model_path, const char *ids_path, long B, long T, cli_lm_data *d);
void cli_lm_close(cli_lm_data *d);

#endif
