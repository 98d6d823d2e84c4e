/* Example: training a tiny character-level language model from C, then sampling from it.
 * The task (data, tokenizer, model) and the run (budget, optimizer, directory) are made from
 * their defaults, the run writes RUN_DIR/model.safetensors with the tokenizer inside, and that
 * file is all sampling needs.
 *
 * Build: cc train_lm.c $(pkg-config --cflags --libs rnnc), or with CMake:
 *   find_package(rnnc REQUIRED) ... target_link_libraries(app PRIVATE rnnc::rnnc)
 * The text: one short rhyme repeated; the model learns it well in a few hundred steps (about a
 * second). Exits 1 unless the validation loss falls below 0.5 nats per character. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rnnc/rnnc.h>

static const char rhyme[] = "twinkle twinkle little star, how i wonder what you are. "
                            "up above the world so high, like a diamond in the sky. ";

static double last_val_loss = 1e9;

static void on_event(const rnnc_run_event *e, void *ctx) {
    (void)ctx;
    if (e->kind != RNNC_RUN_VALID) return;
    for (size_t i = 0; i < e->valid->n; i++)
        if (!strcmp(e->valid->m[i].name, "val_loss")) last_val_loss = e->valid->m[i].value;
    printf("  step %4ld  %s\n", e->step, e->valid->line);
}

static int fail(const char *what) {
    fprintf(stderr, "train_lm: %s: %s\n", what, rnnc_last_error());
    return 1;
}

int main(void) {
    char dir[] = "/tmp/rnnc_train_lm_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char text[64], run_dir[64], model[96];
    snprintf(text, sizeof text, "%s/rhyme.txt", dir);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    snprintf(model, sizeof model, "%s/model.safetensors", run_dir);
    FILE *f = fopen(text, "w");
    for (int i = 0; f && i < 60; i++) fputs(rhyme, f);
    if (!f || fclose(f)) return 1;

    /* A character tokenizer trained on the text, an LSTM of 1 x 64, windows of 32. */
    const char *files[] = {text};
    rnnc_lm_task_opts task = rnnc_lm_task_defaults();
    task.data = files;
    task.n_data = 1;
    task.tokenizer = "char";
    task.layers = 1;
    task.hidden = 64;
    task.embed = 16;
    task.batch = 8;
    task.seq = 32;
    rnnc_run_opts run = rnnc_run_defaults();
    run.steps = 300;
    run.optim = rnnc_optim_defaults(RNNC_OPT_ADAM, 1e-2);
    run.warmup = 20;
    run.eval_every = 100;
    run.run_dir = run_dir;
    printf("rnnc %s: training a character LSTM for %ld steps\n", rnnc_version(), run.steps);
    rnnc_task *t;
    if (rnnc_lm_task_new(&t, &task, run.seed)) return fail("task");
    if (rnnc_run_start(&run, t, on_event, NULL, NULL)) return fail("run");

    /* Sampling: the model file carries its tokenizer. */
    rnnc_lm *m;
    rnnc_tokenizer *tok;
    if (rnnc_lm_load_tokenizer(&m, &tok, model)) return fail("load");
    const char *prompt = "twinkle twinkle ";
    rnnc_ids ids = {0};
    if (rnnc_tokenizer_encode(tok, (const unsigned char *)prompt, strlen(prompt), false, &ids, NULL)) return fail("encode");
    rnnc_sample_params p = rnnc_sample_defaults();
    p.temperature = 0.5f;
    rnnc_generator *g;
    if (rnnc_generator_new(&g, m, &p, 7) || rnnc_generator_feed(g, ids.data, ids.len)) return fail("generator");
    uint32_t out[60];
    for (size_t i = 0; i < 60; i++)
        if (rnnc_generator_next(g, &out[i])) return fail("next");
    rnnc_bytes continuation = {0};
    if (rnnc_tokenizer_decode(tok, out, 60, &continuation)) return fail("decode");
    printf("%s|%.*s\n", prompt, (int)continuation.len, (const char *)continuation.data);

    rnnc_bytes_free(&continuation);
    rnnc_ids_free(&ids);
    rnnc_generator_free(g);
    rnnc_tokenizer_free(tok);
    rnnc_lm_free(m);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    if (last_val_loss >= 0.5) {
        fprintf(stderr, "train_lm: the model did not learn the rhyme (validation loss %.3f)\n", last_val_loss);
        return 1;
    }
    return 0;
}
