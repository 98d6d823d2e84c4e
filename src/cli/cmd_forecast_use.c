/* rnnc forecast predict / eval: continue a series past its last row, or score a forecaster on a
 * CSV against the seasonal-naive forecast (and draw both against the truth, --plot). Training is
 * in cmd_seqtask.c. */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/seqtask_cli.h"
#include "rnnc/plot.h"
#include "rnnc/series.h"

static const char HELP_PREDICT[] =
    "usage: rnnc forecast predict --model M --data RECENT.csv [-o OUT.csv]\n"
    "\n"
    "Forecasts the --horizon steps after the series in RECENT.csv from its last\n"
    "--context rows (the model's). The CSV has the columns the model was trained on\n"
    "(others are ignored). When the model takes covariates known ahead, the file ends\n"
    "with one row per forecast step whose target cell is empty and whose known\n"
    "covariates are filled in. Writes a CSV: step,<target> (1 to N).\n"
    "\n"
    "options:\n"
    "  --model M        a model written by rnnc forecast train (required)\n"
    "  --data FILE      the recent rows (required; '-' is stdin)\n"
    "  -o, --output F   write the CSV to F (atomically) instead of stdout\n";

static const char HELP_EVAL[] =
    "usage: rnnc forecast eval --model M --data SERIES.csv [--last R] [--json]\n"
    "                          [--plot OUT.svg]\n"
    "\n"
    "Forecasts every window of SERIES.csv whose targets lie in its last R rows\n"
    "(default: every window of the file) and prints MAE, RMSE, sMAPE and MASE, in the\n"
    "data's units, beside the same for the seasonal-naive forecast (the model's\n"
    "--season; naive without one). MASE is scaled by the seasonal-naive in-sample\n"
    "error of the rows before the first target.\n"
    "\n"
    "--plot draws the truth of the scored rows and, over it, the forecasts that tile\n"
    "them: for a horizon of N steps, those made from every Nth row on (the first\n"
    "scored row, N rows later, ...), each a stretch of N points, and the\n"
    "seasonal-naive forecasts from the same rows, dashed. The x axis is the row\n"
    "number of the data, as the report counts rows; rows past the last whole stretch\n"
    "are drawn as truth only.\n"
    "\n"
    "options:\n"
    "  --model M        a model written by rnnc forecast train (required)\n"
    "  --data FILE      the series (required)\n"
    "  --last R         score the windows whose targets lie in the last R rows\n"
    "  --json           the numbers as one JSON object\n"
    "  --plot OUT.svg   draw the forecasts against the truth (an SVG, written\n"
    "                   atomically)\n"
    "  --batch B        windows run together (default 64)\n"
    "  --threads N      OpenMP threads (default: OMP_NUM_THREADS)\n";

int cmd_forecast_predict(int argc, char **argv) {
    const char *mode = "forecast predict", *model = NULL, *data = NULL, *output = NULL;
    if (cli_wants_help(argc, argv)) { fputs(HELP_PREDICT, stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int err = 0;
#define OPT(name) cli_opt(mode, argc, argv, &i, name, &v, &err)
        if (OPT("--model")) { if (err) return err; model = v; }
        else if (OPT("--data")) { if (err) return err; data = v; }
        else if (OPT("-o") || OPT("--output")) { if (err) return err; output = v; }
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(mode, "unknown option '%s'", argv[i]);
        else return cli_usage_error(mode, "unexpected argument '%s' (the series goes in --data)", argv[i]);
#undef OPT
    }
    if (!model) return cli_usage_error(mode, "--model M is required");
    if (!data) return cli_usage_error(mode, "--data RECENT.csv is required");
    int rc = cli_output_ok(mode, "-o", &output, true, (const char *const[]){model, data}, 2);
    if (rc) return rc;
    rnnc_seq_model *m = NULL;
    rc = cli_seq_load(RNNC_SEQ_FORECAST, model, &m);
    if (rc) return rc;
    const rnnc_seq_series *sr = &m->series;
    int T = sr->context, N = m->c.outputs, K = m->c.known;
    rnnc_series_spec spec = rnnc_series_spec_of(sr, true);
    rnnc_series_data d = {0};
    float *x = malloc((size_t)T * sr->n_cols * sizeof *x), *known = malloc((size_t)N * (K ? K : 1) * sizeof *known);
    float *pred = malloc((size_t)N * sizeof *pred);
    rnnc_seq_ws *ws = NULL;
    if (!x || !known || !pred) rc = cli_fail("out of memory");
    else if (rnnc_series_read(data, &spec, &d)) rc = cli_fail_status();
    int observed = d.rows - d.future;
    if (!rc && observed < T)
        rc = cli_fail("%s: %d rows with a target, but the model reads the last %d (its --context)", data, observed, T);
    else if (!rc && K > 0 && d.future < N)
        rc = cli_fail("%s: the model takes %d covariate%s known ahead, so the file must end with %d row%s (one per forecast step) "
                      "with the target empty and those covariates filled in; it has %d", data, K, K == 1 ? "" : "s", N, N == 1 ? "" : "s",
                      d.future);
    /* future rows past the horizon are not read: said once, not passed over silently */
    if (!rc && d.future > N)
        fprintf(stderr, "rnnc %s: warning: %s has %d rows with the target empty after the last one with a target, but the model "
                        "forecasts %d step%s (its --horizon): the last %d are not used\n", mode, data, d.future, N, N == 1 ? "" : "s",
                d.future - N);
    int start = observed - T;
    rnnc_seq_batch b = {.B = 1, .T = T, .x = x, .known = K ? known : NULL};
    if (!rc && (rnnc_series_fill(sr, &d, &start, 1, N, x, K ? known : NULL, NULL) || rnnc_seq_ws_new(&ws, m, 1, T) ||
                rnnc_seq_forward_backward(ws, m, &b, NULL, NULL, 1, NULL, pred, NULL, NULL)))
        rc = cli_fail_status();
    if (!rc) {
        /* (a forecast beyond a float: the model file is at fault, and named) */
        if (rnnc_series_denorm_windows(sr, &d, &start, 1, N, pred, pred)) rc = cli_fail("%s: %s", model, rnnc_last_error());
        rnnc_atomic_file af = {0};
        FILE *fp = stdout;
        if (!rc && output && rnnc_atomic_open(&af, output)) rc = cli_fail_status();
        if (output && !rc) fp = af.fp;
        if (!rc) {
            fprintf(fp, "step,%s\n", sr->name[0]);
            for (int h = 0; h < N; h++) fprintf(fp, "%d,%.9g\n", h + 1, pred[h]);
            if (output) rc = rnnc_atomic_commit(&af) ? cli_fail_status() : 0;
            else if (fflush(stdout) || ferror(stdout)) rc = cli_fail_stdout();
        }
    }
    rnnc_seq_ws_free(ws);
    rnnc_series_data_free(&d);
    free(x); free(known); free(pred);
    rnnc_seq_model_free(m);
    return rc;
}

static cJSON *metrics_json(const rnnc_series_metrics *mt) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "mae", mt->mae);
    cJSON_AddNumberToObject(j, "rmse", mt->rmse);
    cJSON_AddNumberToObject(j, "smape", mt->smape);
    if (isfinite(mt->mase)) cJSON_AddNumberToObject(j, "mase", mt->mase);
    else cJSON_AddNullToObject(j, "mase");
    return j;
}

/* --plot: the truth of rows [first, rows) and the forecasts from the origins first, first + N, ...
 * (fc, nv: [rows - first], NaN where no forecast was kept), N > 1 as one stretch of line per origin
 * (a NaN point between them breaks the line), the naive ones dashed. x: 1-based row numbers. */
static int plot_forecasts(const char *path, const char *data, const rnnc_series_data *d, const rnnc_seq_series *sr, int first,
                          int N, const float *fc, const float *nv) {
    int R = d->rows - first, gaps = N > 1 ? R / N + 1 : 0;
    double *buf = malloc((size_t)(2 * R + 4 * (R + gaps)) * sizeof *buf);
    if (!buf) return cli_fail("out of memory for --plot");
    double *tx = buf, *ty = tx + R, *fx = ty + R, *fy = fx + R + gaps, *nx = fy + R + gaps, *ny = nx + R + gaps;
    size_t n = 0;
    for (int i = 0; i < R; i++) {
        tx[i] = first + i + 1;
        ty[i] = d->v[(size_t)(first + i) * (size_t)d->cols];
        if (N > 1 && i > 0 && i % N == 0) { fx[n] = nx[n] = fy[n] = ny[n] = NAN; n++; } /* a new origin */
        fx[n] = nx[n] = first + i + 1;
        fy[n] = fc[i];
        ny[n++] = nv[i];
    }
    char model[96], naive[64], title[300];
    if (N > 1) snprintf(model, sizeof model, "model (%d steps ahead, from every %d rows)", N, N);
    else snprintf(model, sizeof model, "model (one step ahead)");
    if (sr->season > 0) snprintf(naive, sizeof naive, "seasonal naive (m = %d)", sr->season);
    else snprintf(naive, sizeof naive, "naive (the last value)");
    snprintf(title, sizeof title, "%s: %s, forecasts against the truth", data, sr->name[0]);
    rnnc_plot_series s[3] = {
        {.label = "truth", .x = tx, .y = ty, .n = (size_t)R, .color = 0},
        {.label = model, .x = fx, .y = fy, .n = n, .color = 1},
        {.label = naive, .x = nx, .y = ny, .n = n, .color = 2, .dashed = 1},
    };
    rnnc_plot_opts o = {.title = title, .xlabel = "row", .ylabel = sr->name[0]};
    int rc = rnnc_plot_svg_file(path, &o, s, 3) ? cli_fail_status() : 0;
    free(buf);
    return rc;
}

int cmd_forecast_eval(int argc, char **argv) {
    const char *mode = "forecast eval", *model = NULL, *data = NULL, *plot = NULL;
    long last = 0, batch = 64, threads = 0;
    bool json = false;
    if (cli_wants_help(argc, argv)) { fputs(HELP_EVAL, stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int err = 0;
#define OPT(name) cli_opt(mode, argc, argv, &i, name, &v, &err)
        if (OPT("--model")) { if (err) return err; model = v; }
        else if (OPT("--data")) { if (err) return err; data = v; }
        else if (OPT("--plot")) { if (err) return err; plot = v; }
        else if (OPT("--last")) { if (err || !cli_parse_long(mode, "--last", v, 1, 1L << 40, &last)) return err ? err : 2; }
        else if (OPT("--batch")) { if (err || !cli_parse_long(mode, "--batch", v, 1, CLI_BATCH_MAX, &batch)) return err ? err : 2; }
        else if (OPT("--threads")) { if (err || !cli_parse_long(mode, "--threads", v, 1, 1024, &threads)) return err ? err : 2; }
        else if (cli_flag(argv, i, "--json")) json = true;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(mode, "unknown option '%s'", argv[i]);
        else return cli_usage_error(mode, "unexpected argument '%s' (the series goes in --data)", argv[i]);
#undef OPT
    }
    if (!model) return cli_usage_error(mode, "--model M is required");
    if (!data) return cli_usage_error(mode, "--data SERIES.csv is required");
    int orc = cli_output_ok(mode, "--plot", &plot, false, (const char *const[]){model, data}, 2);
    if (orc) return orc;
    if (threads) omp_set_num_threads((int)threads);
    rnnc_seq_model *m = NULL;
    int rc = cli_seq_load(RNNC_SEQ_FORECAST, model, &m);
    if (rc) return rc;
    const rnnc_seq_series *sr = &m->series;
    int T = sr->context, N = m->c.outputs, K = m->c.known, B = (int)batch, season = sr->season;
    rnnc_series_spec spec = rnnc_series_spec_of(sr, false);
    rnnc_series_data d = {0};
    int n_win = 0, lo = 0, first = 0;
    double scale = 0;
    float *fc = NULL, *nv = NULL; /* --plot: the forecasts from every Nth row (the model's, the naive) */
    rnnc_series_acc acc, naive;
    rnnc_seq_ws *ws = NULL;
    float *x = malloc((size_t)B * T * sr->n_cols * sizeof *x), *known = malloc((size_t)B * N * (K ? K : 1) * sizeof *known);
    float *pred = malloc((size_t)B * N * sizeof *pred), *y = malloc((size_t)B * N * sizeof *y), *sn = malloc((size_t)N * sizeof *sn);
    int *starts = malloc((size_t)B * sizeof *starts);
    if (!x || !known || !pred || !y || !sn || !starts) rc = cli_fail("out of memory");
    else if (rnnc_series_read(data, &spec, &d)) rc = cli_fail_status();
    if (!rc) {
        /* the first target row: the last R rows, or the first row a window can reach */
        first = last ? d.rows - (int)last : T;
        if (last && (last > d.rows || first < T))
            rc = cli_fail("%s: --last %ld leaves %d row%s before it, fewer than the model's context of %d", data, last,
                          d.rows - (int)(last < d.rows ? last : d.rows), d.rows - last == 1 ? "" : "s", T);
        lo = first - T;
        int m_ = season > 0 ? season : 1;
        /* (the windows' own error would count rows and name --context and --horizon, not --last) */
        if (!rc && last && last < N)
            rc = cli_fail("%s: --last %ld is fewer rows than the model's horizon of %d: no window has all its targets in them "
                          "(give --last %d or more)", data, last, N, N);
        if (!rc && rnnc_series_windows(&d, lo, d.rows, T, N, &n_win)) rc = cli_fail_status();
        else if (!rc && first <= m_) rc = cli_fail("%s: MASE needs more than %d rows before the first target (its season)", data, m_);
        else if (!rc && rnnc_series_mase_scale(&d, first, season, &scale)) rc = cli_fail_status();
        else if (!rc && (rnnc_seq_ws_new(&ws, m, B, T) || rnnc_seq_ws_pack(ws, m))) rc = cli_fail_status();
        if (!rc && plot) {
            fc = malloc((size_t)(d.rows - first) * sizeof *fc);
            nv = malloc((size_t)(d.rows - first) * sizeof *nv);
            if (!fc || !nv) rc = cli_fail("out of memory for --plot");
            for (int i = 0; !rc && i < d.rows - first; i++) fc[i] = nv[i] = NAN;
        }
    }
    rnnc_series_acc_init(&acc, scale);
    rnnc_series_acc_init(&naive, scale);
    for (int w0 = 0; !rc && w0 < n_win; w0 += B) {
        int n = n_win - w0 < B ? n_win - w0 : B;
        for (int k = 0; k < n; k++) starts[k] = lo + w0 + k;
        rnnc_seq_batch b = {.B = n, .T = T, .x = x, .known = K ? known : NULL};
        if (rnnc_series_fill(sr, &d, starts, n, N, x, K ? known : NULL, NULL) ||
            rnnc_seq_forward_backward(ws, m, &b, NULL, NULL, 1, NULL, pred, NULL, NULL)) { rc = cli_fail_status(); break; }
        if (rnnc_series_denorm_windows(sr, &d, starts, n, N, pred, pred)) { rc = cli_fail("%s: %s", model, rnnc_last_error()); break; }
        for (int k = 0; k < n && !rc; k++) {
            int origin = starts[k] + T;
            for (int h = 0; h < N; h++) y[k * N + h] = d.v[(size_t)(origin + h) * (size_t)d.cols];
            if (rnnc_series_snaive(&d, origin, N, season, sn)) rc = cli_fail_status();
            else rnnc_series_acc_add(&naive, y + k * N, sn, (size_t)N);
            if (plot && (origin - first) % N == 0)
                for (int h = 0; h < N; h++) {
                    fc[origin - first + h] = pred[k * N + h];
                    nv[origin - first + h] = sn[h];
                }
        }
        rnnc_series_acc_add(&acc, y, pred, (size_t)n * N);
    }
    rnnc_series_metrics mm, mn;
    if (!rc && rnnc_series_acc_finish(&acc, &mm)) rc = cli_fail("%s: %s", model, rnnc_last_error()); /* the model's forecasts */
    else if (!rc && rnnc_series_acc_finish(&naive, &mn)) rc = cli_fail_status();
    /* (the plot before the report: a failure to write it is the one line printed) */
    if (!rc && plot) rc = plot_forecasts(plot, data, &d, sr, first, N, fc, nv);
    if (!rc && json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "data", data);
        cJSON_AddNumberToObject(j, "windows", n_win);
        cJSON_AddNumberToObject(j, "horizon", N);
        cJSON_AddNumberToObject(j, "season", season);
        cJSON_AddItemToObject(j, "model", metrics_json(&mm));
        cJSON_AddItemToObject(j, "seasonal_naive", metrics_json(&mn));
        if (plot) cJSON_AddStringToObject(j, "plot", plot);
        rc = cli_print_json(j);
    } else if (!rc) {
        printf("%s: %d window%s of %d steps -> %d (targets in rows %d-%d), %zu forecast%s\n", data, n_win, n_win == 1 ? "" : "s", T, N,
               lo + T + 1, d.rows, mm.n, mm.n == 1 ? "" : "s");
        printf("%-16s %12s %12s %9s %9s\n", "", "MAE", "RMSE", "sMAPE", "MASE");
        const rnnc_series_metrics *rows[2] = {&mm, &mn};
        const char *names[2] = {"model", season > 0 ? "seasonal naive" : "naive"};
        for (int r = 0; r < 2; r++) {
            printf("%-16s %12.4g %12.4g %8.2f%%", names[r], rows[r]->mae, rows[r]->rmse, rows[r]->smape);
            if (isfinite(rows[r]->mase)) printf(" %9.4f\n", rows[r]->mase);
            else printf(" %9s\n", "-");
        }
        if (mn.mae > 0) printf("model MAE is %.1f%% %s the %s forecast's\n", 100 * fabs(1 - mm.mae / mn.mae), mm.mae <= mn.mae ? "below" : "above", names[1]);
        if (!isfinite(mm.mase)) printf("(no MASE: the rows before the first target repeat exactly with the season, so its scale is 0)\n");
        if (plot) printf("plot: %s (the truth, the model's and the %s forecasts)\n", plot, names[1]);
    }
    rnnc_seq_ws_free(ws);
    rnnc_series_data_free(&d);
    free(x); free(known); free(pred); free(y); free(sn); free(starts); free(fc); free(nv);
    rnnc_seq_model_free(m);
    return rc;
}
