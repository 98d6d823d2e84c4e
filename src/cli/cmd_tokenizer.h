/* What rnnc tokenizer's subcommands share (cmd_tokenizer.c, cmd_tokenizer_stats.c). */
#ifndef RNNC_CLI_CMD_TOKENIZER_H
#define RNNC_CLI_CMD_TOKENIZER_H

#include "cli/cli.h"

/* The files of a corpus, read whole. */
typedef struct {
    unsigned char **data;
    size_t *lens;
    size_t n;
    size_t total;
} tok_corpus;

/* Reads every file; returns 0 or the exit code of a printed error (an empty corpus is one). */
int tok_corpus_read(tok_corpus *c, char **paths, size_t n);
void tok_corpus_free(tok_corpus *c);

/* BPE training reports two phases, counting (bytes) then merging; one bar shows each in turn.
 * tok_on_count and tok_on_merge are the rnnc_bpe_train_opts callbacks (ctx: the progress). */
typedef struct {
    cli_progress bar;
    int phase; /* 0 none, 1 counting, 2 merging */
} tok_bpe_progress;
void tok_on_count(size_t done, size_t total, void *ctx);
void tok_on_merge(size_t done, size_t total, void *ctx);
void tok_progress_done(tok_bpe_progress *p);

int tok_is_space(int c);
/* rnnc tokenizer stats */
int tok_stats(int argc, char **argv);

#endif
