/* `rnnc train` end to end against PyTorch: a model made in PyTorch, trained by the CLI for one SGD
 * step (momentum, weight decay) and for 12 Adam steps with clipping (wrapping past the last window
 * with zero state), must equal torch's updated weights tensor by tensor. */
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "test.h"

static void compare_models(const char *got_path, const char *want_rel, double rel) {
    rnnc_lm *got, *want;
    CHECK_EQ_LL(rnnc_lm_load(&got, got_path), RNNC_OK);
    CHECK_EQ_LL(rnnc_lm_load(&want, test_path(want_rel)), RNNC_OK);
    if (!got || !want) { rnnc_lm_free(got); rnnc_lm_free(want); return; }
    CHECK_EQ_LL(got->n_params, want->n_params);
    for (size_t k = 0; k < rnnc_lm_num_tensors(want); k++) {
        rnnc_param_info p = rnnc_lm_tensor(want, k);
        double err = 0, scale = 0;
        for (size_t i = 0; i < p.size; i++) {
            err = fmax(err, fabs((double)got->params[p.offset + i] - want->params[p.offset + i]));
            scale = fmax(scale, fabs(want->params[p.offset + i]));
        }
        CHECK_MSG(err <= rel * scale, "%s %s: max error %g (scale %g)", want_rel, p.name, err, scale);
    }
    rnnc_lm_free(got);
    rnnc_lm_free(want);
}

static void run_and_compare(const char *flags, const char *want_rel, double rel) {
    char out[64], cmd[16384];
    snprintf(out, sizeof out, "test_cli_train_%d.safetensors", (int)getpid());
    /* test_path returns a static buffer: copy the two paths separately. */
    char model[4200], ids[4200];
    snprintf(model, sizeof model, "%s", test_path("golden/lm/cli_lstm.safetensors"));
    snprintf(ids, sizeof ids, "%s", test_path("golden/lm/cli_ids.txt"));
    snprintf(cmd, sizeof cmd, "'%s' train --model '%s' --ids '%s' --batch 4 --seq 5 %s -o %s >/dev/null 2>&1", RNNC_BIN,
             model, ids, flags, out);
    CHECK_EQ_LL(system(cmd), 0);
    compare_models(out, want_rel, rel);
    unlink(out);
}

static void test_sgd_one_step(void) {
    run_and_compare("--steps 1 --optimizer sgd --lr 0.5 --momentum 0.9 --weight-decay 0.01", "golden/lm/cli_sgd1.safetensors", 1e-5);
}

/* Adam divides by sqrt(v): on near-zero gradients float rounding differences are amplified to
 * a sizeable fraction of lr, so 12 steps are held to the 1e-4 rather than 1e-5. */
static void test_adam_twelve_steps_clipped(void) {
    run_and_compare("--steps 12 --optimizer adam --lr 0.01 --clip 0.5", "golden/lm/cli_adam12.safetensors", 1e-4);
}

int main(void) {
    RUN(test_sgd_one_step);
    RUN(test_adam_twelve_steps_clipped);
    return test_report();
}
