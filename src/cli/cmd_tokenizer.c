/* rnnc tokenizer — placeholder dispatcher; the subcommands arrive with the tokenizer library. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cmd_tokenizer(int argc, char **argv) {
    if (argc < 2 || cli_is_help(argv[1])) {
        printf("usage: rnnc tokenizer train|encode|decode|stats [options]\n");
        return argc < 2 ? 2 : 0;
    }
    return cli_usage_error("tokenizer", "unknown subcommand '%s'", argv[1]);
}
