/* rnnc — tokenizers: character, word and byte-level BPE behind one interface.
 *
 * Id layout of the character and word tokenizers (BPE keeps its own ranks, see bpe.h; a BPE
 * tokenizer meant for seq2seq gets its <pad>/<bos>/<eos> as special tokens at training, found
 * again with rnnc_tokenizer_special_id):
 *
 *   0 <pad>   1 <bos>   2 <eos>   3 <unk>        reserved for sequence models (batch padding,
 *                                                seq2seq start/end), never produced by encode
 *                                                except <unk> in the word tokenizer
 *   char:  4 .. 259  the 256 byte-fallback tokens (id = 4 + byte value)
 *          260 ..    characters (Unicode code points) by descending corpus count, ties by code point
 *   word:  4 ..      words by descending corpus count, ties by their bytes (memcmp order)
 *
 * Character tokenizer: one token per code point of UTF-8 text. A code point outside the
 * vocabulary and every byte that is not part of valid UTF-8 become byte tokens, so
 * decode(encode(x)) == x for every byte string.
 *
 * Word tokenizer: the text is split by the regex RNNC_WORD_PATTERN: a word is a run of letters,
 * marks and digits, optionally joined by internal apostrophes ("don't", "1990s", "o'clock"); every
 * other non-space character is a token by itself ("U.S." is U . S .); white space is dropped.
 * Case is kept. A token outside the vocabulary is <unk>. Decoding is lossy by nature (white space
 * and unknown words are gone): tokens are joined by one space, except that no space goes before
 * . , ; : ! ? ) ] } % or a token starting with an apostrophe, and none after ( [ { $; a " opens
 * (no space after) and closes (no space before) in turn; <pad>/<bos>/<eos> decode to nothing and
 * <unk> to the text "<unk>". */
#ifndef RNNC_TOKENIZER_H
#define RNNC_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rnnc/bpe.h"
#include "rnnc/buf.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    RNNC_TOK_PAD = 0,
    RNNC_TOK_BOS = 1,
    RNNC_TOK_EOS = 2,
    RNNC_TOK_UNK = 3,
    RNNC_TOK_N_RESERVED = 4,
    RNNC_CHAR_BYTE_BASE = 4,  /* byte b is id 4 + b */
    RNNC_CHAR_FIRST = 260,    /* first character id */
};

/* The word rule as a PCRE2 pattern (UTF + UCP). */
#define RNNC_WORD_PATTERN "[\\p{L}\\p{M}\\p{N}]+(?:['\\x{2019}][\\p{L}\\p{M}\\p{N}]+)*|\\S"

/* ---- character tokenizer ---- */
typedef struct rnnc_char_tok rnnc_char_tok;

typedef struct {
    uint64_t min_count;  /* characters seen fewer times stay out (0 or 1: keep all) */
    size_t vocab_size;   /* 0: no limit; else at most this many ids in all (>= 260) */
} rnnc_char_opts;

/* Counts the code points of texts[0..n) (invalid UTF-8 bytes are not characters) and keeps the
 * most frequent. An empty corpus (no characters) is an error. */
rnnc_status rnnc_char_build(rnnc_char_tok **out, const unsigned char *const *texts, const size_t *lens,
                            size_t n, const rnnc_char_opts *opts);
/* From an explicit list: chars[k] gets id 260 + k. Duplicates and non-scalar values are errors. */
rnnc_status rnnc_char_create(rnnc_char_tok **out, const uint32_t *chars, size_t n_chars);
void rnnc_char_free(rnnc_char_tok *t);
size_t rnnc_char_n_vocab(const rnnc_char_tok *t);
/* The code point of id (>= 260), or UINT32_MAX for reserved and byte ids or ids out of range. */
uint32_t rnnc_char_codepoint(const rnnc_char_tok *t, uint32_t id);
/* The bytes of id: reserved ids give their name ("<pad>"), byte ids the byte, character ids the
 * UTF-8 of the character; data == NULL when out of range. */
rnnc_token_bytes rnnc_char_token(const rnnc_char_tok *t, uint32_t id);
/* Appends ids; *n_fallback (if not NULL) is increased by the number of code points and invalid
 * bytes that had to fall back to byte tokens (the character tokenizer's out-of-vocabulary count). */
rnnc_status rnnc_char_encode(const rnnc_char_tok *t, const unsigned char *text, size_t len,
                             rnnc_ids *out, size_t *n_fallback);
/* Reserved ids decode to nothing; an id >= n_vocab is RNNC_ERR_RANGE naming it and its position. */
rnnc_status rnnc_char_decode(const rnnc_char_tok *t, const uint32_t *ids, size_t n, rnnc_bytes *out);

/* ---- word tokenizer ---- */
typedef struct rnnc_word_tok rnnc_word_tok;

typedef struct {
    size_t vocab_size;   /* ids in all, reserved included: at least 5 */
    uint64_t min_count;  /* words seen fewer times stay out (0 or 1: keep all) */
} rnnc_word_opts;

/* Splits texts[0..n) by the word rule and keeps the vocab_size - 4 most frequent tokens. Tokens
 * that are not valid UTF-8 or contain U+0000 never enter the vocabulary. No tokens at all is an error. */
rnnc_status rnnc_word_build(rnnc_word_tok **out, const unsigned char *const *texts, const size_t *lens,
                            size_t n, const rnnc_word_opts *opts);
/* From an explicit list: words[k] gets id 4 + k. Empty or duplicate words, words with ASCII white
 * space (the rule never yields them) and more than INT32_MAX - 4 words are errors. */
rnnc_status rnnc_word_create(rnnc_word_tok **out, const char *const *words, size_t n_words);
void rnnc_word_free(rnnc_word_tok *t);
size_t rnnc_word_n_vocab(const rnnc_word_tok *t);
/* The text of id (reserved ids give "<pad>" ...), or NULL if out of range. */
const char *rnnc_word_text(const rnnc_word_tok *t, uint32_t id);
/* Appends ids; *n_unk (if not NULL) is increased by the number of <unk> tokens produced. */
rnnc_status rnnc_word_encode(const rnnc_word_tok *t, const unsigned char *text, size_t len,
                             rnnc_ids *out, size_t *n_unk);
rnnc_status rnnc_word_decode(const rnnc_word_tok *t, const uint32_t *ids, size_t n, rnnc_bytes *out);

/* Splits text by the word rule and calls fn for each token (white space dropped). */
rnnc_status rnnc_word_split(const unsigned char *text, size_t len,
                            int (*fn)(const unsigned char *tok, size_t len, void *ctx), void *ctx);

/* ---- any tokenizer ---- */
typedef enum { RNNC_TOKENIZER_CHAR, RNNC_TOKENIZER_WORD, RNNC_TOKENIZER_BPE } rnnc_tokenizer_type;

typedef struct rnnc_tokenizer rnnc_tokenizer;

/* "char", "word", "bpe" <-> the type; parse returns false for anything else. */
const char *rnnc_tokenizer_type_name(rnnc_tokenizer_type type);
bool rnnc_tokenizer_type_parse(const char *name, rnnc_tokenizer_type *type);

typedef struct {
    rnnc_tokenizer_type type;
    size_t vocab_size;           /* char: 0 = no limit; word: required; bpe: required */
    uint64_t min_count;          /* char/word: minimum count of a character/word */
    uint64_t min_frequency;      /* bpe: minimum pair count of a merge */
    const char *pattern;         /* bpe: built-in name or PCRE2 regex (NULL: cl100k) */
    const char *const *specials; /* bpe: special-token texts */
    size_t n_specials;
    int threads;                 /* bpe: 0 = OpenMP default */
    void (*progress)(size_t done, size_t total, void *ctx);       /* bpe: merges done, wanted */
    void (*count_progress)(size_t done, size_t total, void *ctx); /* bpe: bytes counted, in all */
    void *progress_ctx;
} rnnc_tokenizer_train_opts;

rnnc_status rnnc_tokenizer_train(rnnc_tokenizer **out, const unsigned char *const *texts, const size_t *lens,
                                 size_t n, const rnnc_tokenizer_train_opts *opts);

/* ---- tokenizer specs: the --tokenizer values of the trainers (rnnc train, rnnc seq2seq train) ----
 * "char" | "char:N" | "word" | "word:N" | "bpe:N" name a tokenizer of that type trained on the
 * caller's text, N its vocabulary size in ids (char: default no limit; word: default
 * RNNC_WORD_DEFAULT_VOCAB, the reserved ids included; bpe: required); anything else names a
 * tokenizer for rnnc_tokenizer_load (a file, or an OpenAI encoding such as cl100k_base). */
#define RNNC_WORD_DEFAULT_VOCAB 10000

typedef struct {
    bool load;                /* true: `name` is for rnnc_tokenizer_load; false: trained */
    rnnc_tokenizer_type type; /* trained: the type */
    size_t vocab_size;        /* trained: N, or the type's default (char: 0 = no limit) */
    bool sized;               /* trained: N was given */
    const char *name;         /* the spec as given (not copied) */
} rnnc_tokenizer_spec;

/* A size that is not a positive integer ("bpe:abc", "word:0") or "bpe" without one is
 * RNNC_ERR_ARG with a message that starts with the spec ("bpe:abc: expected bpe:N with a positive
 * size N"), so a caller can put its flag in front. Nothing is opened here: a missing file shows up
 * in rnnc_tokenizer_from_spec. */
rnnc_status rnnc_tokenizer_spec_parse(const char *spec, rnnc_tokenizer_spec *out);
/* Trains on texts[0..n) or loads the tokenizer that a parsed spec names. */
rnnc_status rnnc_tokenizer_from_spec(rnnc_tokenizer **out, const rnnc_tokenizer_spec *spec,
                                     const unsigned char *const *texts, const size_t *lens, size_t n);

/* Wrap an existing tokenizer; the wrapper owns it from then on (also on failure). */
rnnc_status rnnc_tokenizer_wrap_char(rnnc_tokenizer **out, rnnc_char_tok *t);
rnnc_status rnnc_tokenizer_wrap_word(rnnc_tokenizer **out, rnnc_word_tok *t);
rnnc_status rnnc_tokenizer_wrap_bpe(rnnc_tokenizer **out, rnnc_bpe *t);

/* `name_or_path`: r50k_base, p50k_base, cl100k_base, o200k_base (the fetched OpenAI files), or a
 * file: a JSON tokenizer (first non-blank byte '{', any type) or else a .tiktoken rank file, read
 * by rnnc_bpe_load with its sidecar (`bpe_pattern` is used when there is no sidecar; NULL: cl100k). */
rnnc_status rnnc_tokenizer_load(rnnc_tokenizer **out, const char *name_or_path, const char *bpe_pattern);
/* char/word: the JSON text (atomically); bpe: rnnc_bpe_save's rank file and sidecar. */
rnnc_status rnnc_tokenizer_save(const rnnc_tokenizer *t, const char *path);
/* The whole tokenizer as one JSON object (malloc'd, NUL-terminated), for model files:
 *   {"type":"char","version":1,"reserved":["<pad>","<bos>","<eos>","<unk>"],"byte_fallback":true,
 *    "chars":[code points in id order from 260]}
 *   {"type":"word","version":1,"reserved":[...],"rule":RNNC_WORD_PATTERN,"words":[texts from id 4]}
 *   {"type":"bpe","version":1,"pattern":P,"ranks":[base64 bytes of rank r, or null for a gap],
 *    "special_tokens":{text:id}} */
rnnc_status rnnc_tokenizer_to_json(const rnnc_tokenizer *t, char **json);
/* Reads that object strictly (messages start "tokenizer JSON: "): nothing but white space after
 * it, no key twice in it or in "special_tokens", no NUL in any string (\u0000 would cut the text
 * short), numbers range-checked before any integer conversion, base64 canonical, "version" 1,
 * "reserved"/"byte_fallback"/"rule" (if present) as written above; then the checks of the
 * constructors (rnnc_char_create, rnnc_word_create, rnnc_bpe_check_specials, rnnc_bpe_create). */
rnnc_status rnnc_tokenizer_from_json(rnnc_tokenizer **out, const char *json, size_t len);
void rnnc_tokenizer_free(rnnc_tokenizer *t);

rnnc_tokenizer_type rnnc_tokenizer_type_of(const rnnc_tokenizer *t);
/* At most INT32_MAX for every type (the constructors refuse more), so it fits the models' int. */
size_t rnnc_tokenizer_n_vocab(const rnnc_tokenizer *t);
/* The bytes of id (char: the character or byte; word: its text; bpe: rank or special bytes);
 * data == NULL if the id is unused or out of range. */
rnnc_token_bytes rnnc_tokenizer_token(const rnnc_tokenizer *t, uint32_t id);
/* Id of a reserved/special token by its text ("<bos>", "<|endoftext|>"), or UINT32_MAX. */
uint32_t rnnc_tokenizer_special_id(const rnnc_tokenizer *t, const char *text);
/* The wrapped tokenizers (NULL when of another type). */
const rnnc_char_tok *rnnc_tokenizer_char(const rnnc_tokenizer *t);
const rnnc_word_tok *rnnc_tokenizer_word(const rnnc_tokenizer *t);
const rnnc_bpe *rnnc_tokenizer_bpe(const rnnc_tokenizer *t);

/* allow_special only matters for BPE (see rnnc_bpe_encode). *n_oov (if not NULL) is increased by
 * the char fallbacks or word <unk>s (BPE has none). */
rnnc_status rnnc_tokenizer_encode(const rnnc_tokenizer *t, const unsigned char *text, size_t len,
                                  bool allow_special, rnnc_ids *out, size_t *n_oov);
/* The same for text given as n code units of `unit` bytes (1 Latin-1, 2 UCS-2, 4 code points, the
 * forms CPython keeps a str in; surrogate escapes as Python's "surrogateescape": see utf8.h): the
 * ids of its UTF-8. BPE makes the UTF-8 chunk by chunk on its encoding threads; char and word
 * whole, first. A unit with no UTF-8 form (another surrogate, above U+10FFFF) is RNNC_ERR_ARG. */
rnnc_status rnnc_tokenizer_encode_units(const rnnc_tokenizer *t, const void *units, size_t n, int unit,
                                        bool allow_special, rnnc_ids *out, size_t *n_oov);
/* Ids outside [0, n_vocab) or unused are RNNC_ERR_RANGE naming the position and the id. */
rnnc_status rnnc_tokenizer_decode(const rnnc_tokenizer *t, const uint32_t *ids, size_t n, rnnc_bytes *out);

#ifdef __cplusplus
}
#endif

#endif
