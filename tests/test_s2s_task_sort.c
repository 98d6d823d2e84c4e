/* Synthetic seq2seq task: sorting 3-6 digits (see s2s_tasks.h). */
#include "s2s_tasks.h"

static void test_sort(void) {
    task_cfg tc = {RNNC_S2S_TOK_SPACE, RNNC_S2S_TOK_SPACE, RNNC_CELL_LSTM, true, 16, 64, 32, 2500, 3e-3};
    double ter, acc = run_task("sort", gen_sort, &tc, &ter);
    CHECK_MSG(acc >= 0.99, "exact match %.4f", acc);
    CHECK(ter <= 0.01);
}

int main(void) {
    RUN(test_sort);
    return test_report();
}
