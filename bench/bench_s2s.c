/* seq2seq speed of rnnc's library (driven by bench/seq2seq_vs_torch.py), the G2P configuration F of
 * docs/RESULTS.md: LSTM 2x256 encoder and decoder, embeddings 64, batch 64, dropout 0.3 between
 * layers and on the decoder's outputs, label smoothing 0.1, reversed sources, Adam 3e-3, clipping 5.
 *
 *   bench_s2s train TRAIN.tsv WARMUP STEPS OUT_PREFIX
 *       Reads TRAIN.tsv, makes the model (seed 1) and writes it to OUT_PREFIX.init.safetensors, plans
 *       the batches as `rnnc seq2seq train` does (its first epoch's order, seed 1) and writes the
 *       WARMUP + STEPS batches it takes to OUT_PREFIX.batches (see write_batch), then the loss of
 *       the first batch without dropout (eval mode: the PyTorch side checks its model against it),
 *       then takes WARMUP untimed and STEPS timed training steps and writes the trained model to
 *       OUT_PREFIX.trained.safetensors. Prints key=value: steps, seconds (median step), steps/s,
 *       tokens/s (source + target symbols of the real, unpadded steps, <eos> included), the CPU
 *       seconds of the process (all threads) and the wall seconds of the timed steps, pad share.
 *   bench_s2s beam MODEL TEST.tsv K OUT
 *       Beam search of width K (alpha 1, at most 2 * source length + 10 steps) over every test
 *       source, as `rnnc seq2seq eval --beam K` runs it, in-process; prints items, seconds, CPU
 *       seconds, words/s, PER, WER; writes each item's best output, one line of ids, to OUT.
 * Threads: OMP_NUM_THREADS. BENCH_LOOP=auto|serial|units|rows|dirs|wave forces the recurrent time
 * loops' schedule (rnnc_rnn_set_loop_mode). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "rnnc/rnnc.h"

/* The error of the failed step (what: its name, or NULL where the error names the file itself). */
static void die(const char *what) {
    if (what) fprintf(stderr, "bench_s2s: %s: %s\n", what, rnnc_last_error());
    else fprintf(stderr, "bench_s2s: %s\n", rnnc_last_error());
    exit(1);
}

/* One batch: i32 B, Ts, Tt, then src (B*Ts u32), src_len (B i32), tgt_in, tgt_out (B*Tt u32),
 * tgt_len (B i32), all little-endian (the machine's order; x86). */
static void write_batch(FILE *f, const rnnc_s2s_batch *b) {
    int32_t hdr[3] = {b->B, b->Ts, b->Tt};
    fwrite(hdr, sizeof hdr, 1, f);
    fwrite(b->src, sizeof *b->src, (size_t)b->B * b->Ts, f);
    fwrite(b->src_len, sizeof *b->src_len, (size_t)b->B, f);
    fwrite(b->tgt_in, sizeof *b->tgt_in, (size_t)b->B * b->Tt, f);
    fwrite(b->tgt_out, sizeof *b->tgt_out, (size_t)b->B * b->Tt, f);
    fwrite(b->tgt_len, sizeof *b->tgt_len, (size_t)b->B, f);
}

static int train(const char *tsv, long warmup, long steps, const char *prefix) {
    rnnc_s2s_vocab sv, tv;
    rnnc_s2s_vocab_init(&sv, RNNC_S2S_TOK_SPACE);
    rnnc_s2s_vocab_init(&tv, RNNC_S2S_TOK_SPACE);
    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    rnnc_s2s_read_opts ro = {.grow = true};
    if (rnnc_s2s_data_read(&d, tsv, &ro, &sv, &tv)) die(NULL);
    rnnc_s2s_config c = {.cell = RNNC_CELL_LSTM, .embed = 64, .hidden = 256, .layers = 2, .reverse_source = true,
                         .dropout = 0.3f, .output_dropout = 0.3f};
    rnnc_s2s_model *m;
    if (rnnc_s2s_model_new(&m, &c, &sv, &tv)) die("model");
    rnnc_rng rng;
    rnnc_rng_seed(&rng, 1);
    rnnc_s2s_model_init(m, &rng);
    char path[4096];
    snprintf(path, sizeof path, "%s.init.safetensors", prefix);
    if (rnnc_s2s_save(m, path, NULL, NULL, 0)) die(NULL);
    rnnc_s2s_batcher bt;
    if (rnnc_s2s_batcher_new(&bt, &d, 64, true)) die("batcher");
    rnnc_rng plan;
    rnnc_rng_seed(&plan, 1 ^ 0x9E3779B97F4A7C15ULL); /* the run's first epoch, seed 1 */
    rnnc_s2s_batcher_plan(&bt, &plan);
    int Ts = 1, Tt = 1;
    for (size_t i = 0; i < d.n; i++) {
        if (d.items[i].src_len > Ts) Ts = d.items[i].src_len;
        for (int r = 0; r < d.items[i].n_refs; r++) if (d.items[i].ref_len[r] + 1 > Tt) Tt = d.items[i].ref_len[r] + 1;
    }
    rnnc_s2s_ws *ws;
    if (rnnc_s2s_ws_new(&ws, m, 64, Ts, Tt)) die("workspace");
    long total = warmup + steps;
    if ((size_t)total > bt.n_batches) total = (long)bt.n_batches;
    snprintf(path, sizeof path, "%s.batches", prefix);
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); return 1; }
    for (long k = 0; k < total; k++) write_batch(f, rnnc_s2s_batcher_get(&bt, (size_t)k));
    if (fclose(f)) { perror(path); return 1; }
    /* the first batch's loss in eval mode (no dropout), for the PyTorch side's check */
    double loss;
    long count;
    rnnc_s2s_train_opts eval = {.teacher_forcing = 1.0f};
    if (rnnc_s2s_forward_backward(ws, m, rnnc_s2s_batcher_get(&bt, 0), &eval, NULL, 1.0f, NULL, &loss, &count)) die("eval");
    printf("rnnc first_batch_loss=%.7f count=%ld\n", loss, count);
    float *grads = calloc(m->n_params, sizeof *grads);
    rnnc_optim opt;
    rnnc_optim_config oc = rnnc_optim_defaults(RNNC_OPT_ADAM, 3e-3);
    if (!grads || rnnc_optim_init(&opt, &oc, m->n_params)) die("optimizer");
    rnnc_s2s_train_opts to = {.teacher_forcing = 1.0f, .label_smoothing = 0.1f, .training = true};
    double *dt = malloc((size_t)(total + 1) * sizeof *dt), tok = 0, pad = 0, cells = 0, sum_t = 0, cpu = 0;
    long timed = 0;
    for (long k = 0; k < total; k++) {
        const rnnc_s2s_batch *b = rnnc_s2s_batcher_get(&bt, (size_t)k);
        double t0 = bench_now(), c0 = bench_process_cpu_now();
        if (rnnc_s2s_train_step(m, ws, b, &opt, grads, &to, 5.0, &rng, &loss, NULL)) die("train step");
        double t1 = bench_now();
        if (k < warmup) continue;
        cpu += bench_process_cpu_now() - c0;
        dt[timed++] = t1 - t0;
        sum_t += t1 - t0;
        for (int r = 0; r < b->B; r++) tok += b->src_len[r] + b->tgt_len[r];
        cells += (double)b->B * (b->Ts + b->Tt);
        pad = 1.0 - tok / cells;
    }
    double med = bench_upper_median(dt, (size_t)timed);
    printf("rnnc steps=%ld median_s=%.6f steps_per_s=%.3f tokens_per_s=%.1f cpu_s=%.4f wall_s=%.4f pad_share=%.3f last_loss=%.4f\n",
           timed, med, timed / sum_t, tok / sum_t, cpu, sum_t, pad, loss);
    snprintf(path, sizeof path, "%s.trained.safetensors", prefix);
    if (rnnc_s2s_save(m, path, NULL, NULL, 0)) die(NULL);
    free(dt);
    free(grads);
    rnnc_optim_free(&opt);
    rnnc_s2s_ws_free(ws);
    rnnc_s2s_batcher_free(&bt);
    rnnc_s2s_data_free(&d);
    rnnc_s2s_model_free(m);
    return 0;
}

static int beam(const char *model, const char *tsv, int K, const char *out) {
    rnnc_s2s_model *m;
    if (rnnc_s2s_load(&m, model)) die(NULL);
    rnnc_s2s_data d;
    rnnc_s2s_data_init(&d);
    rnnc_s2s_read_opts ro = {.grow = false};
    if (rnnc_s2s_data_read(&d, tsv, &ro, &m->src_vocab, &m->tgt_vocab)) die(NULL);
    rnnc_s2s_score score;
    rnnc_s2s_hyp *hyps;
    double t0 = bench_now(), c0 = bench_process_cpu_now();
    if (rnnc_s2s_evaluate(m, &d, K, 1.0, 64, 0, &score, &hyps)) die("beam search");
    double t = bench_now() - t0, c = bench_process_cpu_now() - c0;
    printf("rnnc items=%zu seconds=%.4f cpu_s=%.4f words_per_s=%.1f per=%.4f wer=%.4f\n", d.n, t, c, (double)d.n / t,
           100 * rnnc_s2s_ter(&score), 100 * rnnc_s2s_ser(&score));
    FILE *f = fopen(out, "w");
    if (!f) { perror(out); return 1; }
    for (size_t i = 0; i < d.n; i++) {
        for (int k = 0; k < hyps[i].len; k++) fprintf(f, k ? " %u" : "%u", hyps[i].ids[k]);
        fputc('\n', f);
        rnnc_s2s_hyp_free(&hyps[i]);
    }
    fclose(f);
    free(hyps);
    rnnc_s2s_data_free(&d);
    rnnc_s2s_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    const char *loop = getenv("BENCH_LOOP");
    int mode = bench_loop_mode_parse(loop);
    if (mode < 0) { fprintf(stderr, "bench_s2s: BENCH_LOOP=%s: " BENCH_LOOP_EXPECTED "\n", loop); return 2; }
    rnnc_rnn_set_loop_mode((rnnc_loop_mode)mode);
    if (argc == 6 && strcmp(argv[1], "train") == 0)
        return train(argv[2], bench_parse_long("bench_s2s train", "WARMUP", argv[3], 0, 1000000),
                     bench_parse_long("bench_s2s train", "STEPS", argv[4], 1, 1000000), argv[5]);
    if (argc == 6 && strcmp(argv[1], "beam") == 0)
        return beam(argv[2], argv[3], (int)bench_parse_long("bench_s2s beam", "K", argv[4], 1, 1024), argv[5]);
    fprintf(stderr, "usage: bench_s2s train TRAIN.tsv WARMUP STEPS OUT_PREFIX | beam MODEL TEST.tsv K OUT\n");
    return 2;
}
