/* rnnc lab — the seed's claims, each shown on a real run with a picture (src/lab/): `rnnc lab`
 * lists the labs, `rnnc lab NAME [--quick] [-o DIR] [--seed N] [--threads N]` runs one. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lab/lab.h"

static void list_labs(FILE *f) {
    for (int i = 0; i < rnnc_lab_count; i++) cli_print_wrapped(f, fprintf(f, "  %-16s ", rnnc_labs[i].name), 19, rnnc_labs[i].summary);
}

static void usage(FILE *f, const rnnc_lab *lab) {
    if (lab) {
        fprintf(f, "usage: rnnc lab %s [--quick] [-o DIR] [--seed N] [--threads N]\n\n", lab->name);
        char line[1024];
        snprintf(line, sizeof line, "%s.", lab->summary);
        cli_print_wrapped(f, 0, 0, line);
        snprintf(line, sizeof line, "The seed's claim: %s.", lab->claim);
        cli_print_wrapped(f, 0, 0, line);
    } else {
        fprintf(f, "usage: rnnc lab                 list the labs\n"
                   "       rnnc lab NAME [--quick] [-o DIR] [--seed N] [--threads N]\n\n"
                   "Each lab tests one claim of the lesson behind rnnc on a real run: it prints a\n"
                   "table, writes its picture (SVG) and its numbers (CSV, JSON) into DIR, and ends\n"
                   "with a line saying whether the claim held. docs/LESSONS.md has every lab's full\n"
                   "run.\n\nlabs:\n");
        list_labs(f);
    }
    fprintf(f, "\noptions:\n"
               "  --quick          a few seconds instead of a few minutes (smaller models,\n"
               "                   shorter runs)\n"
               "  -o, --output DIR where the SVG, CSV and JSON go (default: lab-NAME); created\n"
               "  --seed N         the seed of every initialisation and data draw (default 1337)\n"
               "  --threads N      OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
               "Data: labs on the State of the Union or the task data read data/ (or\n"
               "$RNNC_DATA), filled by scripts/fetch-data.sh (--tasks for the tagging data); a\n"
               "lab says what it lacks.\n");
}

int cmd_lab(int argc, char **argv) {
    const rnnc_lab *lab = NULL;
    /* the help of one lab when its name comes before --help */
    if (argc >= 2 && !cli_looks_like_flag(argv[1])) lab = rnnc_lab_find(argv[1]);
    if (cli_wants_help(argc, argv)) { usage(stdout, lab); return 0; }
    if (argc < 2) {
        printf("labs (rnnc lab NAME [--quick] [-o DIR]; rnnc lab --help):\n");
        list_labs(stdout);
        return 0;
    }
    if (!lab) {
        if (cli_looks_like_flag(argv[1])) return cli_usage_error("lab", "the lab's name comes first (got %s)", argv[1]);
        fprintf(stderr, "rnnc lab: no lab '%s'; the labs are:\n", argv[1]);
        list_labs(stderr);
        return 2;
    }
    char defdir[64];
    snprintf(defdir, sizeof defdir, "lab-%s", lab->name);
    rnnc_lab_ctx ctx = {.quick = false, .out_dir = defdir, .seed = 1337, .threads = 0, .out = stdout};
    for (int i = 2; i < argc; i++) {
        const char *v = NULL, *typed;
        int err = 0;
        if (cli_flag(argv, i, "--quick")) {
            ctx.quick = true;
        } else if ((typed = "-o", cli_opt_text("lab", argc, argv, &i, typed, &v, &err)) ||
                   (typed = "--output", cli_opt_text("lab", argc, argv, &i, typed, &v, &err))) {
            if (err) return err;
            if (!*v) return cli_usage_error("lab", "%s needs a directory name", typed); /* as the trainers' run directory */
            if (!strcmp(v, "-"))
                return cli_usage_error("lab", "%s -: a lab writes a directory of files, not to stdout; give the directory", typed);
            ctx.out_dir = v;
        } else if (cli_opt("lab", argc, argv, &i, "--seed", &v, &err)) {
            long n;
            if (err) return err;
            if (!cli_parse_long("lab", "--seed", v, 0, 0x7fffffffffffffffL, &n)) return 2;
            ctx.seed = (uint64_t)n;
        } else if (cli_opt("lab", argc, argv, &i, "--threads", &v, &err)) {
            long n;
            if (err) return err;
            if (!cli_parse_long("lab", "--threads", v, 1, 1024, &n)) return 2;
            ctx.threads = (int)n;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("lab", "unknown option '%s'", argv[i]); /* in every command's words */
        } else {
            return cli_usage_error("lab", "unexpected argument '%s' (one lab at a time: its name comes first)", argv[i]);
        }
    }
    if (ctx.threads > 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        if (cores > 0 && ctx.threads > cores)
            fprintf(stderr, "rnnc lab: warning: --threads %d is more than the %ld cores of this machine (slower, not faster)\n",
                    ctx.threads, cores);
        omp_set_num_threads(ctx.threads);
    }
    if (rnnc_mkdirs(ctx.out_dir)) return cli_fail_status();
    printf("== rnnc lab %s%s: %s\nclaim: %s\n", lab->name, ctx.quick ? " --quick" : "", lab->summary, lab->claim);
    fflush(stdout);
    rnnc_status s = lab->run(&ctx);
    fflush(stdout);
    if (s) return cli_fail("lab %s: %s", lab->name, rnnc_last_error());
    return 0;
}
