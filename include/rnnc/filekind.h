/* rnnc — which kind of file is this? rnnc's files are safetensors files told apart by their
 * metadata; a file given to the wrong command is refused with what it is and which command takes
 * it ("m.safetensors: this is a seq2seq model, not a language model; use rnnc seq2seq translate or
 * rnnc seq2seq eval"), never with a symptom ("no rnnc.config", "unexpected tensor 'train.c'").
 *
 * Safetensors kinds (rnnc_file_kind_of, from the metadata only):
 *   LM              "rnnc.config" (and usually "rnnc.tokenizer")
 *   SEQ2SEQ         "rnnc.seq2seq" (checked first: the seq2seq loader keys on it alone)
 *   LM_CHECKPOINT   "rnnc.run" beside "rnnc.config": a run's checkpoint.safetensors (it also loads
 *                   as its model; its "train.*" tensors are the run's state)
 *   S2S_CHECKPOINT  "rnnc.run" beside "rnnc.seq2seq"
 *   OLD_LM_CHECKPOINT   "rnnc.progress" beside "rnnc.config" (before the run module: cannot be
 *                       resumed; its model loads)
 *   OLD_S2S_CHECKPOINT  "rnnc.train.pos" beside "rnnc.seq2seq" (the same)
 *   SAFETENSORS     any other safetensors file (a PyTorch state_dict without rnnc.config, ...)
 * Other files, told from their first bytes (rnnc_file_kind_sniff; no file is read whole):
 *   TOKENIZER_JSON  a JSON object naming a "type" (rnnc tokenizer train's char/word output)
 *   JSON            another JSON file (a BPE sidecar, a config, metrics.jsonl)
 *   TIKTOKEN        a BPE rank file: "base64 rank" lines
 *   TSV             text whose first line holds a tab (seq2seq pairs)
 *   IDS             whitespace-separated decimal token ids
 *   TEXT            other UTF-8 text
 *   ONNX            an ONNX model (rnnc export's output, or any ModelProto that starts with its
 *                   IR version and producer name, as exporters write them)
 *   UNKNOWN         anything else: binary, empty, unreadable, or a start that may be safetensors */
#ifndef RNNC_FILEKIND_H
#define RNNC_FILEKIND_H

#include <stdbool.h>
#include <stddef.h>
#include "rnnc/safetensors.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    RNNC_FILE_UNKNOWN,
    RNNC_FILE_LM,
    RNNC_FILE_SEQ2SEQ,
    RNNC_FILE_LM_CHECKPOINT,
    RNNC_FILE_S2S_CHECKPOINT,
    RNNC_FILE_OLD_LM_CHECKPOINT,
    RNNC_FILE_OLD_S2S_CHECKPOINT,
    RNNC_FILE_SAFETENSORS,
    RNNC_FILE_TOKENIZER_JSON,
    RNNC_FILE_JSON,
    RNNC_FILE_TIKTOKEN,
    RNNC_FILE_TSV,
    RNNC_FILE_IDS,
    RNNC_FILE_TEXT,
    /* the sequence tasks (seqmodel.h): "rnnc.seqmodel" whose "task" names them; "rnnc.run" beside
     * it makes a checkpoint */
    RNNC_FILE_CLASSIFIER,
    RNNC_FILE_TAGGER,
    RNNC_FILE_FORECASTER,
    RNNC_FILE_CLS_CHECKPOINT,
    RNNC_FILE_TAG_CHECKPOINT,
    RNNC_FILE_FC_CHECKPOINT,
    RNNC_FILE_ONNX,
} rnnc_file_kind;

/* The kind of a parsed safetensors file, from its metadata (one of LM ... SAFETENSORS). */
rnnc_file_kind rnnc_file_kind_of(const rnnc_safetensors *st);

/* The kind of a file from its first n bytes (4096 are plenty; fewer when the file is shorter):
 * TOKENIZER_JSON ... TEXT for a file that cannot be safetensors, else UNKNOWN (a start that may be
 * safetensors: its 8-byte header length is at most the reader's 100 MB limit; or binary; or
 * empty). Cheap: no parsing beyond the first line. */
rnnc_file_kind rnnc_file_kind_sniff(const unsigned char *head, size_t n);
/* The same on a file's first 4096 bytes; UNKNOWN when it cannot be read. */
rnnc_file_kind rnnc_file_kind_sniff_path(const char *path);

/* The model task a kind holds: RNNC_FILE_LM for LM and LM checkpoints (old or new),
 * RNNC_FILE_SEQ2SEQ for seq2seq models and checkpoints, RNNC_FILE_CLASSIFIER / TAGGER / FORECASTER
 * for those models and their checkpoints, RNNC_FILE_UNKNOWN for the rest. */
rnnc_file_kind rnnc_file_kind_task(rnnc_file_kind k);
/* A training checkpoint of either format. */
bool rnnc_file_kind_is_checkpoint(rnnc_file_kind k);

/* A short name: "a language model", "a checkpoint of a seq2seq run", "a BPE rank file
 * (.tiktoken)", ... */
const char *rnnc_file_kind_name(rnnc_file_kind k);

/* One sentence (no trailing period) saying what the file at path is and which commands take it,
 * written to buf (always terminated; cut to n - 1 bytes): "this is a seq2seq model; use rnnc
 * seq2seq translate or rnnc seq2seq eval", "this is a checkpoint of a language-model run; resume it
 * with rnnc train --resume RUN, or give it (or RUN/model.safetensors) to rnnc sample, rnnc eval or
 * rnnc similar" (RUN: the file's directory when it is named checkpoint.safetensors), "this is not an
 * rnnc file (no \"rnnc.config\", \"rnnc.seq2seq\" or \"rnnc.seqmodel\" metadata)". With wanted
 * RNNC_FILE_LM, RNNC_FILE_SEQ2SEQ, RNNC_FILE_CLASSIFIER, TAGGER or FORECASTER (what the caller
 * expected) the sentence says "..., not a language model; ..." (or "not a seq2seq model", "not a
 * classifier", ...); any other wanted adds nothing. Returns buf. */
char *rnnc_file_kind_describe(char *buf, size_t n, rnnc_file_kind k, rnnc_file_kind wanted, const char *path);

/* Files rnnc writes beside the others whose content alone reads as something else, known by their
 * names: a run directory's run.lock (a number, like an id file), a BPE rank file's .tiktoken.json
 * sidecar (JSON), a .rnnc-cache (binary). True, with its sentence in buf, when path is one of
 * them and k (what its content sniffed as) agrees; rnnc_file_kind_describe says the same. */
bool rnnc_file_kind_by_name(char *buf, size_t n, const char *path, rnnc_file_kind k);

/* For loaders: records "PATH: <rnnc_file_kind_describe(k, wanted)>" as the error and returns
 * RNNC_ERR_FORMAT. */
rnnc_status rnnc_file_kind_refuse(const char *path, rnnc_file_kind k, rnnc_file_kind wanted);

#ifdef __cplusplus
}
#endif

#endif
