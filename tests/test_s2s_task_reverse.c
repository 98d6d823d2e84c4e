/* Synthetic seq2seq task: reversing 3-6 symbols of 8 (see s2s_tasks.h). */
#include "s2s_tasks.h"

static void test_reverse(void) {
    task_cfg tc = {RNNC_S2S_TOK_SPACE, RNNC_S2S_TOK_SPACE, RNNC_CELL_LSTM, true, 16, 64, 32, 4000, 3e-3};
    double ter, acc = run_task("reverse", gen_reverse, &tc, &ter);
    CHECK_MSG(acc >= 0.99, "exact match %.4f", acc);
    CHECK(ter <= 0.01);
}

int main(void) {
    RUN(test_reverse);
    return test_report();
}
