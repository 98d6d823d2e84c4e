/* The classify, tag and forecast commands: train (cmd_seqtask.c), predict and eval
 * (cmd_seqtask_use.c; forecast's in cmd_forecast_use.c). */
#ifndef RNNC_CLI_SEQTASK_CLI_H
#define RNNC_CLI_SEQTASK_CLI_H

#include <stdio.h>

#include "cli/cli.h"
#include "rnnc/seqmodel.h"

void cmd_seqtask_usage(rnnc_seq_kind kind, FILE *f);
/* Loads a model of this task for predict/eval; another task's model (or any other file) is one
 * error line saying what it is and which command takes it. Returns 0 or the exit code. */
int cli_seq_load(rnnc_seq_kind kind, const char *path, rnnc_seq_model **m);
/* classify and tag (cmd_seqtask_use.c) */
int cmd_seqtask_predict(rnnc_seq_kind kind, int argc, char **argv);
int cmd_seqtask_eval(rnnc_seq_kind kind, int argc, char **argv);
/* forecast (cmd_forecast_use.c) */
int cmd_forecast_predict(int argc, char **argv);
int cmd_forecast_eval(int argc, char **argv);

#endif
