/* Which kind of file is this: rnnc's safetensors kinds from their metadata, other files from their
 * first bytes, and the sentence that says what a file is and which command takes it. */
#include "rnnc/filekind.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rnnc/utf8.h"

/* The sequence tasks, by the "task" of their "rnnc.seqmodel" config: the model kind and the
 * checkpoint kind, the task's command. */
static const struct {
    const char *task;
    rnnc_file_kind model, checkpoint;
    const char *name, *cmd;
} seq_kinds[] = {
    {"classify", RNNC_FILE_CLASSIFIER, RNNC_FILE_CLS_CHECKPOINT, "a classifier", "classify"},
    {"tag", RNNC_FILE_TAGGER, RNNC_FILE_TAG_CHECKPOINT, "a tagger", "tag"},
    {"forecast", RNNC_FILE_FORECASTER, RNNC_FILE_FC_CHECKPOINT, "a forecaster", "forecast"},
};
#define N_SEQ_KINDS (sizeof seq_kinds / sizeof seq_kinds[0])

/* The seq_kinds row of a model or checkpoint kind, or -1. */
static int seq_row(rnnc_file_kind k) {
    for (size_t i = 0; i < N_SEQ_KINDS; i++)
        if (seq_kinds[i].model == k || seq_kinds[i].checkpoint == k) return (int)i;
    return -1;
}

rnnc_file_kind rnnc_file_kind_of(const rnnc_safetensors *st) {
    const char *seq = rnnc_st_meta(st, "rnnc.seqmodel");
    if (seq) {
        /* the task is a string field of a small config: any file whose config does not name a
         * known one is no rnnc model */
        cJSON *j = cJSON_Parse(seq);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "task");
        rnnc_file_kind k = RNNC_FILE_SAFETENSORS;
        for (size_t i = 0; cJSON_IsString(t) && i < N_SEQ_KINDS; i++)
            if (!strcmp(t->valuestring, seq_kinds[i].task))
                k = rnnc_st_meta(st, "rnnc.run") ? seq_kinds[i].checkpoint : seq_kinds[i].model;
        cJSON_Delete(j);
        return k;
    }
    bool s2s = rnnc_st_meta(st, "rnnc.seq2seq") != NULL, lm = rnnc_st_meta(st, "rnnc.config") != NULL;
    if (!s2s && !lm) return RNNC_FILE_SAFETENSORS;
    if (rnnc_st_meta(st, "rnnc.run")) return s2s ? RNNC_FILE_S2S_CHECKPOINT : RNNC_FILE_LM_CHECKPOINT;
    if (s2s) return rnnc_st_meta(st, "rnnc.train.pos") ? RNNC_FILE_OLD_S2S_CHECKPOINT : RNNC_FILE_SEQ2SEQ;
    return rnnc_st_meta(st, "rnnc.progress") ? RNNC_FILE_OLD_LM_CHECKPOINT : RNNC_FILE_LM;
}

rnnc_file_kind rnnc_file_kind_task(rnnc_file_kind k) {
    switch (k) {
    case RNNC_FILE_LM: case RNNC_FILE_LM_CHECKPOINT: case RNNC_FILE_OLD_LM_CHECKPOINT: return RNNC_FILE_LM;
    case RNNC_FILE_SEQ2SEQ: case RNNC_FILE_S2S_CHECKPOINT: case RNNC_FILE_OLD_S2S_CHECKPOINT: return RNNC_FILE_SEQ2SEQ;
    default: return seq_row(k) >= 0 ? seq_kinds[seq_row(k)].model : RNNC_FILE_UNKNOWN;
    }
}

bool rnnc_file_kind_is_checkpoint(rnnc_file_kind k) {
    int r = seq_row(k);
    return k == RNNC_FILE_LM_CHECKPOINT || k == RNNC_FILE_S2S_CHECKPOINT || k == RNNC_FILE_OLD_LM_CHECKPOINT ||
           k == RNNC_FILE_OLD_S2S_CHECKPOINT || (r >= 0 && seq_kinds[r].checkpoint == k);
}

/* ---- other files, from their first bytes ---- */

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static bool is_b64(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* "base64 rank" (a .tiktoken line): [A-Za-z0-9+/]+ ={0,2} ' ' [0-9]+ '\r'? */
static bool tiktoken_line(const unsigned char *s, size_t n) {
    if (n && s[n - 1] == '\r') n--;
    size_t i = 0;
    while (i < n && is_b64(s[i])) i++;
    if (i == 0) return false;
    size_t pad = 0;
    while (i < n && s[i] == '=' && pad < 2) { i++; pad++; }
    if (i >= n || s[i] != ' ') return false;
    size_t d = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    return i > d && i == n;
}

static bool contains(const unsigned char *h, size_t n, const char *needle) {
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(h + i, needle, m)) return true;
    return false;
}

rnnc_file_kind rnnc_file_kind_sniff(const unsigned char *h, size_t n) {
    if (!h || n == 0) return RNNC_FILE_UNKNOWN;
    if (n >= 6 && memcmp(h, "\x93NUMPY", 6) == 0) return RNNC_FILE_IDS; /* a binary id file (.npy) */
    if (n >= 8) {
        /* a safetensors header length within the reader's limit: the file may be safetensors (text
         * never starts so: the high bytes would be NULs) */
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--) len = len << 8 | h[i];
        if (len <= 100000000u) return RNNC_FILE_UNKNOWN;
    }
    /* an ONNX ModelProto: field 1 (ir_version, a small varint), then field 2 (producer_name) */
    if (n >= 4 && h[0] == 0x08 && h[1] >= 1 && h[1] <= 30 && h[2] == 0x12) return RNNC_FILE_ONNX;
    if (memchr(h, 0, n)) return RNNC_FILE_UNKNOWN;
    /* UTF-8 but for a sequence that the head may have cut */
    if (rnnc_utf8_valid_prefix(h, n) + 3 < n) return RNNC_FILE_UNKNOWN;
    size_t i = 0;
    if (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF) i = 3; /* a byte-order mark */
    while (i < n && is_space(h[i])) i++;
    if (i == n) return RNNC_FILE_TEXT; /* white space only */
    if (h[i] == '{') return contains(h + i, n - i, "\"type\"") ? RNNC_FILE_TOKENIZER_JSON : RNNC_FILE_JSON;
    if (h[i] == '[') return RNNC_FILE_JSON;
    const unsigned char *nl = memchr(h, '\n', n);
    size_t line = nl ? (size_t)(nl - h) : n;
    if (tiktoken_line(h, line)) return RNNC_FILE_TIKTOKEN;
    if (memchr(h, '\t', line)) return RNNC_FILE_TSV;
    bool digits = false, ids = true;
    for (size_t k = 0; k < n && ids; k++) {
        if (h[k] >= '0' && h[k] <= '9') digits = true;
        else ids = is_space(h[k]);
    }
    return ids && digits ? RNNC_FILE_IDS : RNNC_FILE_TEXT;
}

rnnc_file_kind rnnc_file_kind_sniff_path(const char *path) {
    /* only a regular file is peeked at: the start of a pipe (a FIFO, <(...), stdin) read here
     * would be gone for the reader that comes next, and opening a FIFO with no writer waits */
    struct stat st;
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return RNNC_FILE_UNKNOWN;
    FILE *f = fopen(path, "rb");
    if (!f) return RNNC_FILE_UNKNOWN;
    unsigned char head[4096];
    size_t n = fread(head, 1, sizeof head, f);
    bool err = ferror(f);
    fclose(f);
    return err ? RNNC_FILE_UNKNOWN : rnnc_file_kind_sniff(head, n);
}

/* ---- in words ---- */

const char *rnnc_file_kind_name(rnnc_file_kind k) {
    switch (k) {
    case RNNC_FILE_LM: return "a language model";
    case RNNC_FILE_SEQ2SEQ: return "a seq2seq model";
    case RNNC_FILE_LM_CHECKPOINT: return "a checkpoint of a language-model run";
    case RNNC_FILE_S2S_CHECKPOINT: return "a checkpoint of a seq2seq run";
    case RNNC_FILE_OLD_LM_CHECKPOINT: return "a checkpoint of a language-model run written by an older rnnc";
    case RNNC_FILE_OLD_S2S_CHECKPOINT: return "a checkpoint of a seq2seq run written by an older rnnc";
    case RNNC_FILE_SAFETENSORS: return "a safetensors file that is not rnnc's";
    case RNNC_FILE_TOKENIZER_JSON: return "a tokenizer (JSON)";
    case RNNC_FILE_JSON: return "a JSON file";
    case RNNC_FILE_TIKTOKEN: return "a BPE rank file (.tiktoken)";
    case RNNC_FILE_TSV: return "a TSV file";
    case RNNC_FILE_IDS: return "a file of token ids";
    case RNNC_FILE_TEXT: return "a text file";
    case RNNC_FILE_CLASSIFIER: case RNNC_FILE_TAGGER: case RNNC_FILE_FORECASTER: return seq_kinds[seq_row(k)].name;
    case RNNC_FILE_CLS_CHECKPOINT: return "a checkpoint of a classifier's run";
    case RNNC_FILE_TAG_CHECKPOINT: return "a checkpoint of a tagger's run";
    case RNNC_FILE_FC_CHECKPOINT: return "a checkpoint of a forecaster's run";
    case RNNC_FILE_ONNX: return "an ONNX model";
    case RNNC_FILE_UNKNOWN: break;
    }
    return "a file of unknown kind";
}

static const char *const LM_USE = "rnnc sample, rnnc eval or rnnc similar";
static const char *const S2S_USE = "rnnc seq2seq translate or rnnc seq2seq eval";
static const char *const TOK_USE = "give it to rnnc train --tokenizer, rnnc seq2seq train --source-tokenizer/"
                                   "--target-tokenizer or rnnc tokenizer encode -t";

/* The run directory of a checkpoint named checkpoint.safetensors (its directory, "." when the
 * name has none), written to dir; false for any other name. */
static bool run_dir_of(const char *path, char *dir, size_t n) {
    if (!path) return false;
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (strcmp(base, "checkpoint.safetensors") != 0) return false;
    if (!slash) snprintf(dir, n, ".");
    else if (slash == path) snprintf(dir, n, "/");
    else snprintf(dir, n, "%.*s", (int)(slash - path), path);
    return true;
}

/* Whether a text file starts as a CSV with a header does: its first two lines hold the same
 * number of commas, at least one (a series for rnnc forecast, not text for rnnc train). */
static bool csv_with_header(const char *path) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return false;
    char head[4096];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    size_t commas[2] = {0, 0}, line = 0;
    for (size_t i = 0; i < n && line < 2; i++) {
        if (head[i] == '\n') line++;
        else if (head[i] == ',') commas[line]++;
    }
    return line >= 1 && commas[0] > 0 && commas[0] == commas[1];
}

/* Whether path's last component is name, or ends in suffix (either NULL). */
static bool named_like(const char *path, const char *name, const char *suffix) {
    if (!path) return false;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base), m = suffix ? strlen(suffix) : 0;
    return (name && !strcmp(base, name)) || (suffix && n > m && !strcmp(base + n - m, suffix));
}

bool rnnc_file_kind_by_name(char *buf, size_t n, const char *path, rnnc_file_kind k) {
    if (!buf || !n) return false;
    if (named_like(path, "run.lock", NULL) && (k == RNNC_FILE_IDS || k == RNNC_FILE_TEXT || k == RNNC_FILE_UNKNOWN))
        snprintf(buf, n, "this is a run directory's lock (the process id of the run that holds it)");
    else if (named_like(path, NULL, ".tiktoken.json") && (k == RNNC_FILE_JSON || k == RNNC_FILE_TOKENIZER_JSON))
        snprintf(buf, n, "this is the sidecar of a BPE rank file (its pattern and special tokens); give the .tiktoken "
                 "file beside it as the tokenizer");
    else if (named_like(path, NULL, ".rnnc-cache") && k == RNNC_FILE_UNKNOWN)
        snprintf(buf, n, "this is rnnc's cache of a BPE rank file (made on first use, safe to delete)");
    else
        return false;
    return true;
}

char *rnnc_file_kind_describe(char *buf, size_t n, rnnc_file_kind k, rnnc_file_kind wanted, const char *path) {
    if (!buf || !n) return buf;
    if (rnnc_file_kind_by_name(buf, n, path, k)) return buf;
    const char *not_ = wanted == RNNC_FILE_LM ? ", not a language model" : wanted == RNNC_FILE_SEQ2SEQ ? ", not a seq2seq model" : "";
    char not_seq[64];
    if (seq_row(wanted) >= 0) {
        snprintf(not_seq, sizeof not_seq, ", not %s", seq_kinds[seq_row(wanted)].name);
        not_ = not_seq;
    }
    bool model_kind = rnnc_file_kind_task(k) != RNNC_FILE_UNKNOWN;
    if (!*not_ && !model_kind && k != RNNC_FILE_SAFETENSORS && k != RNNC_FILE_ONNX) not_ = ", not a model";
    if (model_kind && rnnc_file_kind_task(k) == wanted) not_ = "";
    char dir[1024];
    bool named = run_dir_of(path, dir, sizeof dir);
    const char *sub = k == RNNC_FILE_LM_CHECKPOINT || k == RNNC_FILE_OLD_LM_CHECKPOINT ? "" : "seq2seq ";
    const char *use = k == RNNC_FILE_LM_CHECKPOINT || k == RNNC_FILE_OLD_LM_CHECKPOINT ? LM_USE : S2S_USE;
    int r = seq_row(k);
    if (r >= 0) {
        const char *cmd = seq_kinds[r].cmd;
        if (seq_kinds[r].model == k)
            snprintf(buf, n, "this is %s%s; use rnnc %s predict or rnnc %s eval", seq_kinds[r].name, not_, cmd, cmd);
        else if (named)
            snprintf(buf, n, "this is %s%s; resume it with rnnc %s train --resume %s, or give it (or %s/model.safetensors) "
                     "to rnnc %s predict or rnnc %s eval", rnnc_file_kind_name(k), not_, cmd, dir, strcmp(dir, "/") ? dir : "",
                     cmd, cmd);
        else
            snprintf(buf, n, "this is %s%s; resume its run with rnnc %s train --resume RUN_DIR (it is read as "
                     "RUN_DIR/checkpoint.safetensors), or give it to rnnc %s predict or rnnc %s eval", rnnc_file_kind_name(k),
                     not_, cmd, cmd, cmd);
        return buf;
    }
    switch (k) {
    case RNNC_FILE_LM:
        snprintf(buf, n, "this is a language model%s; use %s", not_, LM_USE);
        break;
    case RNNC_FILE_SEQ2SEQ:
        snprintf(buf, n, "this is a seq2seq model%s; use %s", not_, S2S_USE);
        break;
    case RNNC_FILE_LM_CHECKPOINT:
    case RNNC_FILE_S2S_CHECKPOINT:
        if (named)
            snprintf(buf, n, "this is %s%s; resume it with rnnc %strain --resume %s, or give it (or %s/model.safetensors) to %s",
                     rnnc_file_kind_name(k), not_, sub, dir, strcmp(dir, "/") ? dir : "", use);
        else
            snprintf(buf, n, "this is %s%s; resume its run with rnnc %strain --resume RUN_DIR (it is read as "
                     "RUN_DIR/checkpoint.safetensors), or give it to %s", rnnc_file_kind_name(k), not_, sub, use);
        break;
    case RNNC_FILE_OLD_LM_CHECKPOINT:
    case RNNC_FILE_OLD_S2S_CHECKPOINT:
        if (named)
            snprintf(buf, n, "this is %s%s; this version cannot resume it, but its model loads: give it (or "
                     "%s/model.safetensors) to %s", rnnc_file_kind_name(k), not_, strcmp(dir, "/") ? dir : "", use);
        else
            snprintf(buf, n, "this is %s%s; this version cannot resume it, but its model loads: give it to %s",
                     rnnc_file_kind_name(k), not_, use);
        break;
    case RNNC_FILE_SAFETENSORS:
        if (wanted == RNNC_FILE_LM)
            snprintf(buf, n, "this is not an rnnc language model, nor any rnnc file (no \"rnnc.config\", "
                     "\"rnnc.seq2seq\" or \"rnnc.seqmodel\" metadata); rnnc info lists its tensors");
        else if (wanted == RNNC_FILE_SEQ2SEQ)
            snprintf(buf, n, "this is not an rnnc seq2seq model, nor any rnnc file (no \"rnnc.seq2seq\", "
                     "\"rnnc.config\" or \"rnnc.seqmodel\" metadata); rnnc info lists its tensors");
        else
            snprintf(buf, n, "this is not an rnnc file (no \"rnnc.config\", \"rnnc.seq2seq\" or \"rnnc.seqmodel\" metadata)");
        break;
    case RNNC_FILE_TOKENIZER_JSON:
    case RNNC_FILE_TIKTOKEN:
        snprintf(buf, n, "this is %s%s; %s", rnnc_file_kind_name(k), not_, TOK_USE);
        break;
    case RNNC_FILE_TSV:
        snprintf(buf, n, "this is %s%s; TSV lines are data (source TAB target for rnnc seq2seq, label TAB text for rnnc "
                 "classify, tokens TAB tags for rnnc tag): give it as --data to their train or eval", rnnc_file_kind_name(k), not_);
        break;
    case RNNC_FILE_IDS:
        snprintf(buf, n, "this is %s%s; give it as --ids to rnnc eval or rnnc train", rnnc_file_kind_name(k), not_);
        break;
    case RNNC_FILE_TEXT:
        if (csv_with_header(path))
            snprintf(buf, n, "this is %s (a CSV with a header)%s; a series is data: give it as --data to rnnc forecast train, "
                     "predict or eval (and text as --data to rnnc train or rnnc eval)", rnnc_file_kind_name(k), not_);
        else
            snprintf(buf, n, "this is %s%s; text is data: give it as --data to rnnc train or rnnc eval", rnnc_file_kind_name(k),
                     not_);
        break;
    case RNNC_FILE_ONNX:
        snprintf(buf, n, "this is %s (what rnnc export writes)%s; rnnc reads its models from safetensors files (a run "
                 "directory's model.safetensors), ONNX Runtime runs this one", rnnc_file_kind_name(k), not_);
        break;
    case RNNC_FILE_JSON:
    case RNNC_FILE_UNKNOWN:
    default:
        snprintf(buf, n, "this is %s%s; rnnc's models are safetensors files (a run directory's model.safetensors)",
                 rnnc_file_kind_name(k), not_);
        break;
    }
    return buf;
}

rnnc_status rnnc_file_kind_refuse(const char *path, rnnc_file_kind k, rnnc_file_kind wanted) {
    char what[1600];
    return rnnc_error(RNNC_ERR_FORMAT, "%s: %s", path, rnnc_file_kind_describe(what, sizeof what, k, wanted, path));
}
