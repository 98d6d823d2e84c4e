/* Every file knows its kind (include/rnnc/filekind.h): the safetensors kinds from their metadata,
 * other files from their first bytes, the sentence that names each kind's commands, and the
 * loaders that take a checkpoint of their own task as its model and refuse every other kind with
 * that sentence. The fixtures under tests/golden/old/ were written by the rnnc before the run
 * module (tests/golden/old/README.md): they must keep loading. */
#include <unistd.h>

#include "rnnc/rnnc.h"
#include "test.h"

#define OLD_LM "golden/old/lm/model.safetensors"
#define OLD_LM_CK "golden/old/lm/checkpoint.safetensors"
#define OLD_S2S "golden/old/s2s/model.safetensors"
#define OLD_S2S_CK "golden/old/s2s/checkpoint.safetensors"

static rnnc_file_kind kind_of_file(const char *rel) {
    rnnc_safetensors st;
    rnnc_status s = rnnc_st_load(&st, test_path(rel));
    CHECK_MSG(s == RNNC_OK, "%s", rnnc_last_error());
    if (s) return RNNC_FILE_UNKNOWN;
    rnnc_file_kind k = rnnc_file_kind_of(&st);
    rnnc_st_free(&st);
    return k;
}

/* Writes the tensors and metadata of file `rel` plus extra metadata pairs and extra tensors to
 * path (a checkpoint made from a model file). */
static void write_with(const char *rel, const char *path, const char *const *keys, const char *const *vals, size_t nk,
                       const rnnc_st_entry *extra, size_t nx) {
    rnnc_safetensors st;
    CHECK_EQ_LL(rnnc_st_load(&st, test_path(rel)), RNNC_OK);
    rnnc_st_entry e[64];
    const char *mk[32], *mv[32];
    size_t n = 0, nm = 0;
    for (size_t i = 0; i < st.n_tensors && n < 48; i++) {
        const rnnc_st_tensor *t = &st.tensors[i];
        e[n] = (rnnc_st_entry){.name = t->name, .dtype = t->dtype, .ndim = t->ndim, .data = t->data};
        for (int d = 0; d < t->ndim; d++) e[n].shape[d] = t->shape[d];
        n++;
    }
    for (size_t i = 0; i < nx; i++) e[n++] = extra[i];
    for (size_t i = 0; i < st.n_meta && nm < 24; i++) {
        mk[nm] = st.meta_keys[i];
        mv[nm++] = st.meta_values[i];
    }
    for (size_t i = 0; i < nk; i++) {
        mk[nm] = keys[i];
        mv[nm++] = vals[i];
    }
    CHECK_MSG(rnnc_st_save(path, e, n, mk, mv, nm) == RNNC_OK, "%s", rnnc_last_error());
    rnnc_st_free(&st);
}

static void test_kinds_of_the_old_files(void) {
    CHECK_EQ_LL(kind_of_file(OLD_LM), RNNC_FILE_LM);
    CHECK_EQ_LL(kind_of_file(OLD_LM_CK), RNNC_FILE_OLD_LM_CHECKPOINT);
    CHECK_EQ_LL(kind_of_file(OLD_S2S), RNNC_FILE_SEQ2SEQ);
    CHECK_EQ_LL(kind_of_file(OLD_S2S_CK), RNNC_FILE_OLD_S2S_CHECKPOINT);
    CHECK_EQ_LL(kind_of_file("golden/lm/bad_nometa.safetensors"), RNNC_FILE_SAFETENSORS);
    CHECK_EQ_LL(kind_of_file("golden/lm/lm_gru_l1.safetensors"), RNNC_FILE_LM);
    CHECK_EQ_LL(rnnc_file_kind_task(RNNC_FILE_OLD_LM_CHECKPOINT), RNNC_FILE_LM);
    CHECK_EQ_LL(rnnc_file_kind_task(RNNC_FILE_S2S_CHECKPOINT), RNNC_FILE_SEQ2SEQ);
    CHECK_EQ_LL(rnnc_file_kind_task(RNNC_FILE_TSV), RNNC_FILE_UNKNOWN);
    CHECK(rnnc_file_kind_is_checkpoint(RNNC_FILE_OLD_S2S_CHECKPOINT) && !rnnc_file_kind_is_checkpoint(RNNC_FILE_LM));
}

/* The old files still load, and an old checkpoint loads as the very model its run wrote. */
static void test_old_files_load(void) {
    rnnc_lm *m = NULL, *mc = NULL;
    rnnc_tokenizer *tok = NULL;
    CHECK_MSG(rnnc_lm_load_tokenizer(&m, &tok, test_path(OLD_LM)) == RNNC_OK, "%s", rnnc_last_error());
    CHECK(tok && rnnc_tokenizer_n_vocab(tok) == 324);
    CHECK_MSG(rnnc_lm_load(&mc, test_path(OLD_LM_CK)) == RNNC_OK, "%s", rnnc_last_error());
    if (m && mc) {
        CHECK_EQ_LL(mc->n_params, m->n_params);
        CHECK(!memcmp(mc->params, m->params, m->n_params * sizeof(float)));
        /* the old run's metadata is the checkpoint's, not the model's */
        CHECK(rnnc_lm_get_meta(mc, "rnnc.progress") == NULL && rnnc_lm_get_meta(mc, "rnnc.train") == NULL);
        CHECK(rnnc_lm_get_meta(mc, "rnnc.tokenizer") != NULL);
    }
    rnnc_lm_free(mc);
    rnnc_lm_free(m);
    rnnc_tokenizer_free(tok);

    rnnc_s2s_model *s = NULL, *sc = NULL;
    CHECK_MSG(rnnc_s2s_load(&s, test_path(OLD_S2S)) == RNNC_OK, "%s", rnnc_last_error());
    CHECK_MSG(rnnc_s2s_load(&sc, test_path(OLD_S2S_CK)) == RNNC_OK, "%s", rnnc_last_error());
    if (s && sc) {
        CHECK_EQ_LL(s->src_vocab.n, 10);
        CHECK_EQ_LL(sc->n_params, s->n_params);
        CHECK(!memcmp(sc->params, s->params, s->n_params * sizeof(float)));
    }
    rnnc_s2s_model_free(sc);
    rnnc_s2s_model_free(s);
}

/* Each loader refuses the other task's files (and others) with what they are. */
static void expect_refused(int lm, const char *path, const char *needle) {
    rnnc_status s;
    if (lm) {
        rnnc_lm *m = (rnnc_lm *)1;
        s = rnnc_lm_load(&m, path);
        CHECK(m == NULL);
    } else {
        rnnc_s2s_model *m = (rnnc_s2s_model *)1;
        s = rnnc_s2s_load(&m, path);
        CHECK(m == NULL);
    }
    CHECK_MSG(s == RNNC_ERR_FORMAT, "%s: status %d", path, (int)s);
    const char *e = rnnc_last_error();
    CHECK_MSG(strstr(e, needle) != NULL, "%s loader on %s: '%s' lacks '%s'", lm ? "LM" : "seq2seq", path, e, needle);
    CHECK_MSG(strncmp(e, path, strlen(path)) == 0, "'%s' does not start with the file name", e);
}

static void test_wrong_kinds_refused(void) {
    char p[4200];
    snprintf(p, sizeof p, "%s", test_path(OLD_S2S));
    expect_refused(1, p, "this is a seq2seq model, not a language model; use rnnc seq2seq translate or rnnc seq2seq eval");
    snprintf(p, sizeof p, "%s", test_path(OLD_S2S_CK));
    expect_refused(1, p, "this is a checkpoint of a seq2seq run written by an older rnnc, not a language model; this "
                         "version cannot resume it, but its model loads");
    expect_refused(1, p, "/golden/old/s2s/model.safetensors) to rnnc seq2seq translate or rnnc seq2seq eval");
    snprintf(p, sizeof p, "%s", test_path(OLD_LM));
    expect_refused(0, p, "this is a language model, not a seq2seq model; use rnnc sample, rnnc eval or rnnc similar");
    snprintf(p, sizeof p, "%s", test_path(OLD_LM_CK));
    expect_refused(0, p, "a checkpoint of a language-model run written by an older rnnc, not a seq2seq model");
    snprintf(p, sizeof p, "%s", test_path("golden/lm/bad_nometa.safetensors"));
    expect_refused(1, p, "this is not an rnnc language model, nor any rnnc file (no \"rnnc.config\"");
    expect_refused(0, p, "this is not an rnnc seq2seq model");
    snprintf(p, sizeof p, "%s", test_path("golden/old/s2s/train.tsv"));
    expect_refused(1, p, "this is a TSV file, not a language model; TSV lines are data (source TAB target for rnnc seq2seq, "
                         "label TAB text for rnnc classify, tokens TAB tags for rnnc tag)");
    expect_refused(0, p, "this is a TSV file, not a seq2seq model");
    snprintf(p, sizeof p, "%s", test_path("golden/old/README.md"));
    expect_refused(1, p, "this is a text file, not a language model");
    /* a tokenizer JSON: told before the file is read as safetensors */
    char tp[64];
    snprintf(tp, sizeof tp, "test_filekind_tok_%d.json", (int)getpid());
    FILE *f = fopen(tp, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("{\"type\":\"char\",\"version\":1,\"chars\":[97]}\n", f);
        fclose(f);
        expect_refused(1, tp, "this is a tokenizer (JSON), not a language model; give it to rnnc train --tokenizer");
        expect_refused(0, tp, "this is a tokenizer (JSON), not a seq2seq model");
        unlink(tp);
    }
    /* what the reader says about a damaged safetensors file is kept */
    expect_refused(1, test_path("golden/lm/bad_shape.safetensors"), "has shape (5, 5) but rnnc.config asks for (5, 4)");
}

/* A checkpoint of the current format: "rnnc.run" beside the model's metadata, train.* tensors. */
static void test_current_checkpoints(void) {
    char path[64], path2[64];
    snprintf(path, sizeof path, "test_filekind_ck_%d.safetensors", (int)getpid());
    snprintf(path2, sizeof path2, "test_filekind_re_%d.safetensors", (int)getpid());
    float state[8] = {0};
    rnnc_st_entry x[] = {{"train.optimizer_state", RNNC_DT_F32, 1, {8}, state}, {"train.h", RNNC_DT_F32, 1, {4}, state}};
    const char *keys[] = {"rnnc.run", "rnnc.run.options", "rnnc.task.options"};
    const char *lm_vals[] = {"{\"format\":2,\"task\":\"lm\",\"step\":7}", "{\"steps\":10}", "{\"data\":[\"x.txt\"]}"};
    write_with(OLD_LM, path, keys, lm_vals, 3, x, 2);
    rnnc_safetensors st;
    CHECK_EQ_LL(rnnc_st_load(&st, path), RNNC_OK);
    CHECK_EQ_LL(rnnc_file_kind_of(&st), RNNC_FILE_LM_CHECKPOINT);
    rnnc_st_free(&st);
    rnnc_lm *m = NULL;
    CHECK_MSG(rnnc_lm_load(&m, path) == RNNC_OK, "%s", rnnc_last_error());
    if (m) {
        CHECK(!rnnc_lm_get_meta(m, "rnnc.run") && !rnnc_lm_get_meta(m, "rnnc.run.options") &&
              !rnnc_lm_get_meta(m, "rnnc.task.options"));
        /* saved again, it is a model file, not a checkpoint without its state */
        CHECK_EQ_LL(rnnc_lm_save(m, path2), RNNC_OK);
        CHECK_EQ_LL(rnnc_st_load(&st, path2), RNNC_OK);
        CHECK_EQ_LL(rnnc_file_kind_of(&st), RNNC_FILE_LM);
        rnnc_st_free(&st);
    }
    rnnc_lm_free(m);
    expect_refused(0, path, "this is a checkpoint of a language-model run, not a seq2seq model; resume its run with rnnc "
                            "train --resume RUN_DIR");

    const char *s2s_vals[] = {"{\"format\":2,\"task\":\"seq2seq\",\"step\":7}", "{\"steps\":10}", "{\"data\":\"x.tsv\"}"};
    write_with(OLD_S2S, path, keys, s2s_vals, 3, x, 1);
    CHECK_EQ_LL(rnnc_st_load(&st, path), RNNC_OK);
    CHECK_EQ_LL(rnnc_file_kind_of(&st), RNNC_FILE_S2S_CHECKPOINT);
    rnnc_st_free(&st);
    rnnc_s2s_model *s = NULL;
    CHECK_MSG(rnnc_s2s_load(&s, path) == RNNC_OK, "%s", rnnc_last_error());
    rnnc_s2s_model_free(s);
    expect_refused(1, path, "this is a checkpoint of a seq2seq run, not a language model; resume its run with rnnc "
                            "seq2seq train --resume RUN_DIR");
    /* a model file with train.* tensors but no rnnc.run is no checkpoint: the tensor is unexpected */
    write_with(OLD_LM, path, NULL, NULL, 0, x + 1, 1);
    expect_refused(1, path, "unexpected tensor 'train.h'");
    unlink(path);
    unlink(path2);
}

static rnnc_file_kind sniff(const char *s) { return rnnc_file_kind_sniff((const unsigned char *)s, strlen(s)); }

static void test_sniff(void) {
    CHECK_EQ_LL(sniff("{\"type\":\"word\",\"version\":1}"), RNNC_FILE_TOKENIZER_JSON);
    CHECK_EQ_LL(sniff("  \n{\"pattern\":\"cl100k\",\"special_tokens\":{}}"), RNNC_FILE_JSON);
    CHECK_EQ_LL(sniff("[1, 2, 3]"), RNNC_FILE_JSON);
    CHECK_EQ_LL(sniff("IQ== 0\nIg== 1\n"), RNNC_FILE_TIKTOKEN);
    CHECK_EQ_LL(sniff("IQ== 0\r\nIg== 1\r\n"), RNNC_FILE_TIKTOKEN);
    CHECK_EQ_LL(sniff("a b c\tc b a\n"), RNNC_FILE_TSV);
    CHECK_EQ_LL(sniff("1 2 3\n4 5\n"), RNNC_FILE_IDS);
    CHECK_EQ_LL(sniff("The cat sat on the mat.\n"), RNNC_FILE_TEXT);
    CHECK_EQ_LL(sniff("\xEF\xBB\xBFhello\n"), RNNC_FILE_TEXT);
    CHECK_EQ_LL(sniff("\xEF\xBB\xBF{\"type\":\"char\"}"), RNNC_FILE_TOKENIZER_JSON);
    CHECK_EQ_LL(sniff("  \n "), RNNC_FILE_TEXT);
    CHECK_EQ_LL(sniff("abc"), RNNC_FILE_TEXT); /* shorter than a safetensors header length */
    CHECK_EQ_LL(sniff("hello 12"), RNNC_FILE_TIKTOKEN); /* a one-line rank file and a line of text look alike */
    CHECK_EQ_LL(rnnc_file_kind_sniff(NULL, 0), RNNC_FILE_UNKNOWN);
    CHECK_EQ_LL(sniff(""), RNNC_FILE_UNKNOWN);
    CHECK_EQ_LL(sniff("caf\xC3\xA9 au lait\n"), RNNC_FILE_TEXT);
    CHECK_EQ_LL(sniff("bad \xFF\xFE utf-8 in the middle of a line\n"), RNNC_FILE_UNKNOWN);
    /* a head cut inside a UTF-8 sequence is still text */
    CHECK_EQ_LL(rnnc_file_kind_sniff((const unsigned char *)"some text caf\xC3\xA9", 14), RNNC_FILE_TEXT);
    /* a safetensors start (a header length within the limit) is left to the safetensors reader */
    unsigned char st[16] = {0x20, 0, 0, 0, 0, 0, 0, 0, '{', '"', '_', '_', 'm', 'e', 't', 'a'};
    CHECK_EQ_LL(rnnc_file_kind_sniff(st, sizeof st), RNNC_FILE_UNKNOWN);
    unsigned char bin[12] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0, 0}; /* gzip */
    CHECK_EQ_LL(rnnc_file_kind_sniff(bin, sizeof bin), RNNC_FILE_UNKNOWN);
    CHECK_EQ_LL(rnnc_file_kind_sniff_path(test_path(OLD_LM)), RNNC_FILE_UNKNOWN);
    CHECK_EQ_LL(rnnc_file_kind_sniff_path(test_path("golden/old/s2s/dev.tsv")), RNNC_FILE_TSV);
    CHECK_EQ_LL(rnnc_file_kind_sniff_path("/nonexistent/file"), RNNC_FILE_UNKNOWN);
    CHECK_EQ_LL(rnnc_file_kind_sniff_path(RNNC_TEST_DIR), RNNC_FILE_UNKNOWN); /* a directory */
}

static void test_describe(void) {
    char b[1024];
    CHECK_STR(rnnc_file_kind_describe(b, sizeof b, RNNC_FILE_SEQ2SEQ, RNNC_FILE_UNKNOWN, "m.safetensors"),
              "this is a seq2seq model; use rnnc seq2seq translate or rnnc seq2seq eval");
    CHECK_STR(rnnc_file_kind_describe(b, sizeof b, RNNC_FILE_LM, RNNC_FILE_LM, "m.safetensors"),
              "this is a language model; use rnnc sample, rnnc eval or rnnc similar");
    CHECK_STR(rnnc_file_kind_describe(b, sizeof b, RNNC_FILE_LM_CHECKPOINT, RNNC_FILE_UNKNOWN, "runs/a/checkpoint.safetensors"),
              "this is a checkpoint of a language-model run; resume it with rnnc train --resume runs/a, or give it (or "
              "runs/a/model.safetensors) to rnnc sample, rnnc eval or rnnc similar");
    CHECK_STR(rnnc_file_kind_describe(b, sizeof b, RNNC_FILE_S2S_CHECKPOINT, RNNC_FILE_LM, "checkpoint.safetensors"),
              "this is a checkpoint of a seq2seq run, not a language model; resume it with rnnc seq2seq train --resume ., "
              "or give it (or ./model.safetensors) to rnnc seq2seq translate or rnnc seq2seq eval");
    CHECK_STR(rnnc_file_kind_describe(b, sizeof b, RNNC_FILE_SAFETENSORS, RNNC_FILE_UNKNOWN, "x"),
              "this is not an rnnc file (no \"rnnc.config\", \"rnnc.seq2seq\" or \"rnnc.seqmodel\" metadata)");
    CHECK_STR(rnnc_file_kind_describe(b, sizeof b, RNNC_FILE_IDS, RNNC_FILE_UNKNOWN, "x"),
              "this is a file of token ids, not a model; give it as --ids to rnnc eval or rnnc train");
    CHECK(strstr(rnnc_file_kind_describe(b, sizeof b, RNNC_FILE_TIKTOKEN, RNNC_FILE_SEQ2SEQ, "x"),
                 "this is a BPE rank file (.tiktoken), not a seq2seq model; give it to rnnc train --tokenizer") == b);
    /* every kind has a name and a sentence; a short buffer is cut and terminated */
    for (int k = RNNC_FILE_UNKNOWN; k <= RNNC_FILE_FC_CHECKPOINT; k++) {
        CHECK(strncmp(rnnc_file_kind_name((rnnc_file_kind)k), "a", 1) == 0);
        CHECK(strncmp(rnnc_file_kind_describe(b, sizeof b, (rnnc_file_kind)k, RNNC_FILE_LM, "d/checkpoint.safetensors"),
                      "this is ", 8) == 0);
        CHECK(strlen(b) < 400);
        rnnc_file_kind_describe(b, 12, (rnnc_file_kind)k, RNNC_FILE_UNKNOWN, "x");
        CHECK_EQ_LL(strlen(b), 11);
    }
}

int main(void) {
    RUN(test_kinds_of_the_old_files);
    RUN(test_old_files_load);
    RUN(test_wrong_kinds_refused);
    RUN(test_current_checkpoints);
    RUN(test_sniff);
    RUN(test_describe);
    return test_report();
}
