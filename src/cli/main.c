/* rnnc — command-line front end: git-style subcommands over the library in include/rnnc/. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"tokenizer", cmd_tokenizer, "train tokenizers (char, word, BPE), encode and decode with them; stats measures them side by side"},
    {"plot", cmd_plot, "draw training and validation loss curves of runs as an SVG"},
    {"init", cmd_init, "make a language model with PyTorch's default initialisation"},
    {"eval", cmd_eval, "loss of a language model on an id file or on text (ppl, bits per byte)"},
    {"train", cmd_train, "train a language model (truncated BPTT, SGD/Adam/AdamW)"},
    {"sample", cmd_sample, "generate text from a language model, streamed as it is produced"},
    {"similar", cmd_similar, "nearest tokens by embedding cosine similarity; Embedding Projector export"},
    {"export", cmd_export, "write a model as ONNX graphs (language models, seq2seq encoder and decoder)"},
    {"info", cmd_info, "a model's configuration and parameter counts per layer"},
    {"seq2seq", cmd_seq2seq, "train, apply and evaluate encoder-decoder models (TSV pairs)"},
    {"classify", cmd_classify, "sequence -> label: train, predict and evaluate classifiers (TSV)"},
    {"tag", cmd_tag, "a label per token: train, predict and evaluate taggers (TSV)"},
    {"forecast", cmd_forecast, "numbers -> the next numbers: train, predict and evaluate forecasters (CSV)"},
    {"lab", cmd_lab, "the lesson's claims shown on real runs: a table, a picture and a verdict each"},
    {"version", cmd_version, "print the version; --verbose: the build, kernels, CPU, caches and BLAS"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: rnnc <command> [options]\n\nRecurrent sequence models in C.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        cli_print_wrapped(out, fprintf(out, "  %-10s ", commands[i].name), 13, commands[i].summary);
    fprintf(out, "\nRun 'rnnc <command> --help' for a command's options.\n");
}

/* A command's exit status, failing one that succeeded when its standard output could not be
 * written in full (a full disk, a closed pipe's reader gone): the data is lost, so the exit says
 * so, for every command alike. */
static int out_checked(int rc) {
    if (rc == 0 && (fflush(stdout) || ferror(stdout))) return cli_fail_stdout();
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) { usage(stdout); return out_checked(0); }
    if (strcmp(argv[1], "--version") == 0) return out_checked(cmd_version(argc - 1, argv + 1));
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return cli_dist_finish(out_checked(commands[i].run(argc - 1, argv + 1)));
    fprintf(stderr, "rnnc: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
