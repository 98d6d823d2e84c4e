/* Synthetic seq2seq task: rewriting dates, "march 3 2001" -> "2001-03-03" (see s2s_tasks.h). */
#include "s2s_tasks.h"

static void test_dates(void) {
    /* words in (month, day and year are symbols), characters out */
    task_cfg tc = {RNNC_S2S_TOK_SPACE, RNNC_S2S_TOK_CHAR, RNNC_CELL_GRU, true, 32, 64, 32, 4000, 3e-3};
    double ter, acc = run_task("dates", gen_date, &tc, &ter);
    CHECK_MSG(acc >= 0.99, "exact match %.4f", acc);
    CHECK(ter <= 0.01);
}

int main(void) {
    RUN(test_dates);
    return test_report();
}
