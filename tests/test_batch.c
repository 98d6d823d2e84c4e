/* Stream batching (windows, tail dropping, too-small data) and the id text format. */
#include <unistd.h>

#include "rnnc/batch.h"
#include "rnnc/rnnc.h"
#include "test.h"

static void test_windows(void) {
    int32_t ids[23];
    for (int i = 0; i < 23; i++) ids[i] = i;
    rnnc_stream s;
    /* B=2: n = 11 per stream (id 22 dropped); T=3: windows k with 3k+3 < 11 -> k = 0,1,2. */
    CHECK_EQ_LL(rnnc_stream_init(&s, ids, 23, 2, 3), RNNC_OK);
    CHECK_EQ_LL(s.n, 11);
    CHECK_EQ_LL(s.windows, 3);
    int x[6], y[6];
    rnnc_stream_window(&s, 0, x, y);
    CHECK(x[0] == 0 && x[2] == 2 && y[0] == 1 && y[2] == 3);
    CHECK(x[3] == 11 && x[5] == 13 && y[3] == 12 && y[5] == 14);
    rnnc_stream_window(&s, 2, x, y);
    CHECK(x[0] == 6 && y[2] == 9 && x[3] == 17 && y[5] == 20);
    /* Exactly T+1 ids per stream: one window. */
    CHECK_EQ_LL(rnnc_stream_init(&s, ids, 8, 2, 3), RNNC_OK);
    CHECK_EQ_LL(s.windows, 1);
    /* Every target of every window is the next id of its stream (a property over sizes). */
    for (int B = 1; B <= 4; B++)
        for (int T = 1; T <= 5; T++) {
            if (rnnc_stream_init(&s, ids, 23, B, T)) continue;
            for (size_t k = 0; k < s.windows; k++) {
                int xx[32], yy[32];
                rnnc_stream_window(&s, k, xx, yy);
                for (int i = 0; i < B * T; i++) CHECK(yy[i] == xx[i] + 1 && xx[i] / (int)s.n == i / T);
            }
            CHECK((s.windows + 1) * (size_t)T >= s.n); /* no further window fits */
        }
}

static void test_too_small(void) {
    int32_t ids[10] = {0};
    rnnc_stream s;
    CHECK_EQ_LL(rnnc_stream_init(&s, ids, 10, 4, 2), RNNC_ERR_ARG);
    CHECK(strstr(rnnc_last_error(), "batch 4 x seq 2 needs at least 12 ids") != NULL);
    CHECK_EQ_LL(rnnc_stream_init(&s, ids, 10, 0, 2), RNNC_ERR_ARG);
}

static const char *write_tmp(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "test_batch_%d.txt", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_read_text(void) {
    int32_t *ids;
    size_t n;
    const char *p = write_tmp(" 3 14\n15\t9  2 6\n\n");
    CHECK_EQ_LL(rnnc_ids_read_text(p, &ids, &n), RNNC_OK);
    CHECK_EQ_LL(n, 6);
    CHECK(ids[0] == 3 && ids[1] == 14 && ids[5] == 6);
    CHECK_EQ_LL(rnnc_ids_check_vocab(ids, n, 15, p), RNNC_ERR_RANGE);
    CHECK(strstr(rnnc_last_error(), "id 15 at position 2 is outside the vocabulary of 15") != NULL);
    CHECK_EQ_LL(rnnc_ids_check_vocab(ids, n, 16, p), RNNC_OK);
    free(ids);
    p = write_tmp("1 2 x3 4");
    CHECK_EQ_LL(rnnc_ids_read_text(p, &ids, &n), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "token 2 ('x3')") != NULL);
    p = write_tmp("1 -2");
    CHECK_EQ_LL(rnnc_ids_read_text(p, &ids, &n), RNNC_ERR_FORMAT);
    p = write_tmp("99999999999");
    CHECK_EQ_LL(rnnc_ids_read_text(p, &ids, &n), RNNC_ERR_FORMAT);
    CHECK(strstr(rnnc_last_error(), "2^31") != NULL);
    unlink(p);
    CHECK_EQ_LL(rnnc_ids_read_text("/nonexistent/ids.txt", &ids, &n), RNNC_ERR_IO);
}

int main(void) {
    RUN(test_windows);
    RUN(test_too_small);
    RUN(test_read_text);
    return test_report();
}
