/* rnnc plot: training and validation curves of one or more runs as one SVG. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <libgen.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "rnnc/filekind.h"
#include "rnnc/metrics.h"
#include "rnnc/plot.h"

static const char *const plot_help =
    "usage: rnnc plot RUN_DIR|metrics.jsonl... -o OUT.svg [options]\n"
    "\n"
    "Draws the training and validation loss of each run against the tokens it has\n"
    "seen (a forecaster: the rows its windows read), as an SVG (open it in a\n"
    "browser). Several runs go in one chart, one colour each: training solid,\n"
    "validation dashed with dots. The axes name the run's units: the loss per token\n"
    "(language model, seq2seq, tag), per item (classify) or on normalised values\n"
    "(forecast).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE    the SVG to write (required)\n"
    "  --labels A,B,...     legend names of the runs (default: the run directory\n"
    "                       names)\n"
    "  --title TEXT         chart title (default: \"Training and validation loss\", or\n"
    "                       the figure --metric draws)\n"
    "  --x tokens|step|time the x axis: tokens seen (rows read), optimizer steps, or\n"
    "                       minutes of training (for runs given the same time\n"
    "                       budget; default: tokens)\n"
    "  --metric M           loss: training and validation (default);\n"
    "                       or one validation figure: bpb, ppl, ter, ser, acc,\n"
    "                       macro_f1, seq_acc, span_f1, mae, rmse, smape; or\n"
    "                       grad_norm: the training's gradient norm before clipping\n"
    "  --log-x              logarithmic x axis\n"
    "  --width W --height H size in pixels (default 900 x 540)\n";

/* Legend name of a run: the directory's name, or the parent of a metrics file. */
static void run_name(const char *path, char *buf, size_t n) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    size_t len = strlen(tmp);
    while (len > 1 && tmp[len - 1] == '/') tmp[--len] = 0;
    const char *base = strrchr(tmp, '/') ? strrchr(tmp, '/') + 1 : tmp;
    if (len > 6 && strcmp(tmp + len - 6, ".jsonl") == 0) {
        if (strcmp(base, "metrics.jsonl") == 0) {
            if (base == tmp) { snprintf(buf, n, "run"); return; }
            tmp[base - tmp - 1] = 0;
            const char *p = strrchr(tmp, '/');
            /* a longer name is cut to the label buffer, n - 1 bytes (the length is looked at so that
             * GCC does not take the cut for a mistake at -O1) */
            if (snprintf(buf, n, "%s", p ? p + 1 : tmp) <= 0) snprintf(buf, n, "run");
            return;
        }
        snprintf(buf, n, "%.*s", (int)(strlen(base) - 6), base);
        return;
    }
    if (snprintf(buf, n, "%s", base) <= 0) snprintf(buf, n, "run"); /* cut to the buffer, as above */
}

/* A file given as a log that has lines but no JSON object among them: say what it is instead
 * ("no metrics in the log yet" would send the user to wait for a run). */
static int not_a_log(const char *path, size_t skipped) {
    size_t len = strlen(path);
    struct stat sb;
    if ((stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) || (len >= 13 && !strcmp(path + len - 13, "metrics.jsonl")))
        return cli_fail("%s: no metrics in the log yet (%zu %s: a torn write?)", path, skipped,
                        skipped == 1 ? "line that is not a JSON object" : "lines that are not JSON objects");
    rnnc_file_kind k = rnnc_file_kind_sniff_path(path);
    if (k == RNNC_FILE_UNKNOWN) { /* binary: a safetensors file says what it holds in its header */
        rnnc_safetensors st;
        if (rnnc_st_load(&st, path) == RNNC_OK) {
            k = rnnc_file_kind_of(&st);
            rnnc_st_free(&st);
        }
    }
    return cli_fail("%s: this is %s, not a metrics log; rnnc plot draws a run "
                    "directory or its metrics.jsonl", path, rnnc_file_kind_name(k));
}

typedef struct {
    char label[256];
    double *x[2], *y[2];
    size_t n[2];
    char names[2][300];
} run_curves;

/* The task of the run whose log is `input` (a run directory or its metrics.jsonl): "task" in
 * rnnc.run of the checkpoint beside the log, read from the file's header alone (a checkpoint may
 * be large); into task (empty when there is none), with a forecaster's loss ("mse", "mae") from
 * rnnc.seqmodel into loss. */
static void run_task(const char *input, char *task, size_t n, char *loss, size_t nl) {
    task[0] = loss[0] = 0;
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s", input);
    size_t len = strlen(dir);
    if (len > 6 && !strcmp(dir + len - 6, ".jsonl")) { /* the log's directory */
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        else snprintf(dir, sizeof dir, ".");
    }
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    unsigned char h8[8];
    uint64_t hn = 0;
    char *hdr = NULL;
    if (fread(h8, 1, 8, f) == 8) {
        for (int i = 7; i >= 0; i--) hn = hn << 8 | h8[i];
        /* (a header of over 64 MiB is no checkpoint of rnnc's: the labels stay generic) */
        if (hn > 0 && hn <= (64u << 20) && (hdr = malloc(hn + 1)) && fread(hdr, 1, hn, f) == hn) hdr[hn] = 0;
        else { free(hdr); hdr = NULL; }
    }
    fclose(f);
    cJSON *j = hdr ? cJSON_Parse(hdr) : NULL, *meta = cJSON_GetObjectItemCaseSensitive(j, "__metadata__");
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(meta, "rnnc.run"), *seq = cJSON_GetObjectItemCaseSensitive(meta, "rnnc.seqmodel");
    cJSON *r = cJSON_IsString(run) ? cJSON_Parse(run->valuestring) : NULL, *sm = cJSON_IsString(seq) ? cJSON_Parse(seq->valuestring) : NULL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "task"), *l = cJSON_GetObjectItemCaseSensitive(sm, "loss");
    if (cJSON_IsString(t)) snprintf(task, n, "%s", t->valuestring);
    if (cJSON_IsString(l)) snprintf(loss, nl, "%s", l->valuestring);
    cJSON_Delete(sm);
    cJSON_Delete(r);
    cJSON_Delete(j);
    free(hdr);
}

/* Without a checkpoint (a log copied out, a run killed before its first): the task its
 * validation figures belong to, or "" when they say nothing. */
static const char *task_of_rows(const rnnc_metrics_series *s) {
    for (size_t i = 0; i < s->n; i++) {
        const rnnc_metrics_row *r = &s->rows[i];
        if (!isnan(r->val_mae)) return "forecast";
        if (!isnan(r->val_seq_acc)) return "tag";
        if (!isnan(r->val_acc)) return "classify";
        if (!isnan(r->val_ter)) return "seq2seq";
        if (!isnan(r->val_ppl) || !isnan(r->val_bpb)) return "lm";
    }
    return "";
}

/* The loss axis of a task's runs: what its loss is a mean over. */
static void loss_label(const char *task, const char *loss, char *buf, size_t n) {
    if (!strcmp(task, "classify")) snprintf(buf, n, "loss (nats per item)");
    else if (!strcmp(task, "forecast"))
        snprintf(buf, n, "loss (%son the normalised values)", !strcmp(loss, "mae") ? "MAE " : !strcmp(loss, "mse") ? "MSE " : "");
    else if (task[0]) snprintf(buf, n, "loss (nats per token)");
    else snprintf(buf, n, "loss");
}

/* The y axis of a one-figure plot. */
static const char *metric_label(const char *m) {
    static const char *const names[][2] = {
        {"bpb", "validation bits per byte"}, {"ppl", "validation perplexity"}, {"ter", "validation token error rate"},
        {"ser", "validation sequence error rate"}, {"acc", "validation accuracy"}, {"macro_f1", "validation macro-F1"},
        {"seq_acc", "validation sequence accuracy"}, {"span_f1", "validation span F1"},
        {"mae", "validation MAE (data units)"}, {"rmse", "validation RMSE (data units)"}, {"smape", "validation sMAPE (%)"},
        {"grad_norm", "gradient norm before clipping (mean per report)"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(m, names[i][0])) return names[i][1];
    return m;
}

int cmd_plot(int argc, char **argv) {
    const char *out = NULL, *labels = NULL, *title = NULL, *xaxis = "tokens", *metric = "loss";
    const char *inputs[64];
    int n_in = 0, log_x = 0, err = 0;
    long width = 900, height = 540;
    if (cli_wants_help(argc, argv)) { fputs(plot_help, stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_opt("plot", argc, argv, &i, "-o", &v, &err) || cli_opt("plot", argc, argv, &i, "--output", &v, &err)) out = v;
        else if (cli_opt("plot", argc, argv, &i, "--labels", &v, &err)) labels = v;
        else if (cli_opt("plot", argc, argv, &i, "--title", &v, &err)) title = v;
        else if (cli_opt("plot", argc, argv, &i, "--x", &v, &err)) xaxis = v;
        else if (cli_opt("plot", argc, argv, &i, "--metric", &v, &err)) metric = v;
        else if (cli_opt("plot", argc, argv, &i, "--width", &v, &err)) { if (!err && !cli_parse_long("plot", "--width", v, 240, 10000, &width)) return 2; }
        else if (cli_opt("plot", argc, argv, &i, "--height", &v, &err)) { if (!err && !cli_parse_long("plot", "--height", v, 160, 10000, &height)) return 2; }
        else if (cli_flag(argv, i, "--log-x")) log_x = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("plot", "unknown option '%s'", argv[i]);
        else if (n_in == 64) return cli_usage_error("plot", "at most 64 runs in one plot");
        else inputs[n_in++] = argv[i];
        if (err) return err;
    }
    if (n_in == 0) return cli_usage_error("plot", "no run directory or metrics.jsonl given");
    if (!out) return cli_usage_error("plot", "-o OUT.svg is required");
    /* the logs read (RUN/metrics.jsonl for a run directory) must not be the picture's file */
    static char logs[64][4096]; /* (as many as inputs[] holds) */
    const char *log_of[64];
    for (int r = 0; r < n_in; r++) {
        struct stat st;
        bool dir = stat(inputs[r], &st) == 0 && S_ISDIR(st.st_mode);
        snprintf(logs[r], sizeof logs[r], dir ? "%s/metrics.jsonl" : "%s", inputs[r]);
        log_of[r] = logs[r];
    }
    int orc = cli_output_ok("plot", "-o", &out, false, log_of, n_in);
    if (orc) return orc;
    int by_step = strcmp(xaxis, "step") == 0, by_time = strcmp(xaxis, "time") == 0;
    if (!by_step && !by_time && strcmp(xaxis, "tokens") != 0)
        return cli_usage_error("plot", "--x must be tokens, step or time, got '%s'", xaxis);
    /* --metric loss: training and validation loss; grad_norm: one training curve of that field;
     * anything else one validation field val_<metric> */
    int gnorm = strcmp(metric, "grad_norm") == 0;
    int bpb = strcmp(metric, "loss") != 0 && !gnorm; /* (named for its first use: one validation curve, no training one) */
    size_t field = 0;
    char field_name[64] = "";
    if (bpb || gnorm) { /* the one field drawn */
        snprintf(field_name, sizeof field_name, gnorm ? "%.50s" : "val_%.50s", metric);
        while (field < RNNC_METRICS_NFIELDS && (strcmp(rnnc_metrics_fields[field], field_name) || !strcmp(field_name, "val_loss") ||
                                                 !strcmp(field_name, "val_unk")))
            field++;
        if (field == RNNC_METRICS_NFIELDS)
            return cli_usage_error("plot", "--metric must be loss, bpb, ppl, ter, ser, acc, macro_f1, seq_acc, span_f1, mae, rmse, "
                                   "smape or grad_norm, got '%s'", metric);
    }

    run_curves *runs = calloc((size_t)n_in, sizeof *runs);
    if (!runs) return cli_fail("out of memory");
    /* legend names */
    const char *lp = labels;
    for (int r = 0; r < n_in; r++) {
        if (labels) {
            if (!lp) { free(runs); return cli_usage_error("plot", "--labels has fewer names than the %d runs", n_in); }
            const char *comma = strchr(lp, ',');
            size_t len = comma ? (size_t)(comma - lp) : strlen(lp);
            snprintf(runs[r].label, sizeof runs[r].label, "%.*s", (int)len, lp);
            lp = comma ? comma + 1 : NULL;
        } else run_name(inputs[r], runs[r].label, sizeof runs[r].label);
    }
    if (labels && lp) { free(runs); return cli_usage_error("plot", "--labels has more names than the %d runs", n_in); }

    int rc = 0;
    /* the runs' task and forecast loss, for the axes' units: kept while every run whose task is
     * known agrees ("?" once they differ: generic labels) */
    char task[32] = "", loss[16] = "";
    for (int r = 0; r < n_in && !rc; r++) {
        rnnc_metrics_series s;
        if (rnnc_metrics_read(inputs[r], &s)) { rc = cli_fail_status(); break; }
        if (s.n == 0 && s.skipped > 0) { rc = not_a_log(inputs[r], s.skipped); rnnc_metrics_series_free(&s); break; }
        if (s.n == 0) { rc = cli_fail("%s: no metrics in the log yet", inputs[r]); rnnc_metrics_series_free(&s); break; }
        /* A torn last line is what a run killed while logging leaves (documented, skipped quietly);
         * any other line that is not a JSON object is said below, with where the first one is. */
        const size_t mid = s.skipped - (size_t)s.last_skipped, first_bad = s.first_skipped;
        char rt[32], rl[16];
        run_task(inputs[r], rt, sizeof rt, rl, sizeof rl);
        if (!rt[0]) snprintf(rt, sizeof rt, "%s", task_of_rows(&s));
        if (rt[0] && !task[0]) { snprintf(task, sizeof task, "%s", rt); snprintf(loss, sizeof loss, "%s", rl); }
        else if (rt[0]) {
            if (strcmp(task, rt)) snprintf(task, sizeof task, "?");
            if (strcmp(loss, rl)) loss[0] = 0;
        }
        for (int c = 0; c < 2; c++) {
            runs[r].x[c] = malloc(s.n * sizeof(double));
            runs[r].y[c] = malloc(s.n * sizeof(double));
            if (!runs[r].x[c] || !runs[r].y[c]) { rc = cli_fail("out of memory"); break; }
        }
        size_t unplaced = 0; /* values whose x a logarithmic axis cannot show (<= 0) */
        for (size_t i = 0; i < s.n && !rc; i++) {
            rnnc_metrics_row *row = &s.rows[i];
            double x = by_step ? row->step : by_time ? row->elapsed / 60.0 : row->tokens;
            double ys[2] = {bpb ? NAN : gnorm ? *rnnc_metrics_field(row, field) : row->train_loss,
                            bpb ? *rnnc_metrics_field(row, field) : gnorm ? NAN : row->val_loss};
            for (int c = 0; c < 2; c++) {
                /* a row without this curve's value is not a gap in it, just another report; nor is
                 * a value that is not finite (1e400 reads as infinity), which no axis can show */
                if (!isfinite(ys[c]) || !isfinite(x)) continue;
                if (log_x && x <= 0) { unplaced++; continue; }
                runs[r].x[c][runs[r].n[c]] = x;
                runs[r].y[c][runs[r].n[c]++] = ys[c];
            }
        }
        rnnc_metrics_series_free(&s);
        if (rc) break;
        const char *xs = by_step ? "a step" : by_time ? "an elapsed time" : "a token count";
        struct stat sb;
        const char *log_name = stat(inputs[r], &sb) == 0 && S_ISDIR(sb.st_mode) ? "/metrics.jsonl" : "";
        char bad_lines[160] = "";
        if (mid)
            snprintf(bad_lines, sizeof bad_lines, "; skipped %zu line%s that %s, the first at %s%s:%zu", mid, mid == 1 ? "" : "s",
                     mid == 1 ? "is not a JSON object" : "are not JSON objects", inputs[r], log_name, first_bad);
        if (runs[r].n[0] + runs[r].n[1] == 0) { /* an empty chart is no answer: one error line says why */
            rc = cli_fail("%s: the log has no finite %s values with %s%s%s", inputs[r], bpb || gnorm ? field_name : "train_loss or val_loss",
                          xs, unplaced ? " above 0 (--log-x cannot place 0)" : "", bad_lines);
            break;
        }
        if (mid)
            fprintf(stderr, "rnnc plot: warning: %s%s:%zu: not a JSON object, skipped (%zu such line%s before the last; a run killed "
                            "while logging, then resumed, leaves one)\n", inputs[r], log_name, first_bad, mid, mid == 1 ? "" : "s");
        if (unplaced)
            fprintf(stderr, "rnnc plot: warning: %s: %zu value%s at %s of 0 left out (--log-x cannot place 0)\n", inputs[r], unplaced,
                    unplaced == 1 ? "" : "s", xs);
    }
    if (!rc) {
        rnnc_plot_series *ser = calloc((size_t)(unsigned)n_in * 2, sizeof *ser);
        size_t ns = 0;
        if (!ser) rc = cli_fail("out of memory");
        for (int r = 0; r < n_in && !rc; r++)
            for (int c = 0; c < 2; c++) {
                if ((bpb && c == 0) || (gnorm && c == 1)) continue;
                if (n_in == 1) snprintf(runs[r].names[c], sizeof runs[r].names[c], "%s", c ? "validation" : "training");
                else snprintf(runs[r].names[c], sizeof runs[r].names[c], "%s %s", runs[r].label, c ? "validation" : "training");
                rnnc_plot_series p = {runs[r].names[c], runs[r].x[c], runs[r].y[c], runs[r].n[c], r, c, c};
                ser[ns++] = p;
            }
        /* the default title names what is drawn: the axis label, capitalised */
        char deftitle[96];
        snprintf(deftitle, sizeof deftitle, "%s", bpb || gnorm ? metric_label(metric) : "Training and validation loss");
        deftitle[0] = (char)toupper((unsigned char)deftitle[0]);
        /* the units follow the task: a forecaster counts the rows its windows read; a mix of
         * tasks gets labels true of all */
        bool mixed = !strcmp(task, "?");
        char xlabel[64], ylabel[64];
        snprintf(xlabel, sizeof xlabel, "%s", mixed ? "tokens seen (rows read, forecast)"
                                                    : !strcmp(task, "forecast") ? "rows read" : "tokens seen");
        loss_label(mixed ? "" : task, loss, ylabel, sizeof ylabel);
        rnnc_plot_opts o = {title ? title : deftitle, by_step ? "optimizer steps" : by_time ? "minutes of training" : xlabel,
                            bpb || gnorm ? metric_label(metric) : ylabel, (int)width, (int)height, log_x, 1, 0};
        if (!rc && rnnc_plot_svg_file(out, &o, ser, ns)) rc = cli_fail_status();
        size_t points = 0;
        for (size_t k = 0; k < ns; k++) points += ser[k].n;
        if (!rc) fprintf(stderr, "wrote %s: %d run%s, %zu point%s\n", out, n_in, n_in == 1 ? "" : "s", points, points == 1 ? "" : "s");
        free(ser);
    }
    for (int r = 0; r < n_in; r++)
        for (int c = 0; c < 2; c++) { free(runs[r].x[c]); free(runs[r].y[c]); }
    free(runs);
    return rc;
}
