/* rnnc similar: nearest tokens by cosine similarity of the embedding vectors, and export for the
 * TensorBoard Embedding Projector. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "rnnc/tokenizer.h"

static const char *const similar_help =
    "usage: rnnc similar --model M WORD... [-k 10]\n"
    "       rnnc similar --model M WORD (+|-) WORD ... [-k 10]\n"
    "       rnnc similar --model M --export DIR\n"
    "\n"
    "Lists the tokens whose embedding vectors are closest in direction (cosine\n"
    "similarity) to each WORD's. With + and - between words, the query is the sum of\n"
    "their unit vectors (king - man + woman), and the words themselves are left out\n"
    "of the answer. A WORD must be one token of the model's tokenizer (a character\n"
    "for a char model; for BPE, the word or the word after a space). Tokens that\n"
    "never occurred in training are never answers, nor queries: their vectors are\n"
    "still random. The model lists them in its metadata (rnnc.unseen_ids); for a\n"
    "model that does not, a note says so and only the ids no text can produce are\n"
    "left out (char: reserved and byte ids, word: reserved ids).\n"
    "\n"
    "options:\n"
    "  --model M       model file (.safetensors with its tokenizer inside)\n"
    "  -k K            neighbours to list (default 10)\n"
    "  --export DIR    write DIR/vectors.tsv and DIR/metadata.tsv for\n"
    "                  projector.tensorflow.org\n";

/* Characters of UTF-8 text (lead bytes; a stray byte counts as one). */
static size_t count_chars(const char *s) {
    size_t c = 0;
    for (; *s; s++) c += ((unsigned char)*s & 0xC0) != 0x80;
    return c;
}

/* The id of `word`: its single token, or for BPE the single token of " word" (the form a word takes
 * inside running text). A form whose token never occurred in training (skip) gives way to the
 * other, so "government" finds " government" when only that was seen. 0 on success, else the
 * error has been printed. */
static int find_token(const rnnc_tokenizer *tok, const char *word, const unsigned char *skip, uint32_t *id) {
    rnnc_ids ids = {0};
    rnnc_tokenizer_type type = rnnc_tokenizer_type_of(tok);
    size_t len = strlen(word), n_tokens = 0, first_oov = 0;
    long unseen = -1; /* a form that is one token, but one never seen in training */
    bool unseen_spaced = false; /* that form is " word" */
    for (int attempt = 0; attempt < 2; attempt++) {
        char *text = malloc(len + 2);
        if (!text) return cli_fail("out of memory");
        snprintf(text, len + 2, "%s%s", attempt ? " " : "", word);
        size_t oov = 0;
        ids.len = 0;
        rnnc_status s = rnnc_tokenizer_encode(tok, (const unsigned char *)text, strlen(text), false, &ids, &oov);
        free(text);
        if (s) { rnnc_ids_free(&ids); return cli_fail_status(); }
        if (attempt == 0) { n_tokens = ids.len; first_oov = oov; }
        if (ids.len == 1 && oov == 0) {
            if (!skip[ids.data[0]]) {
                *id = ids.data[0];
                rnnc_ids_free(&ids);
                return 0;
            }
            if (unseen < 0) { unseen = ids.data[0]; unseen_spaced = attempt == 1; }
        }
        if (type != RNNC_TOKENIZER_BPE) break;
    }
    rnnc_ids_free(&ids);
    if (unseen >= 0)
        return cli_fail("'%s' never occurred in the training data (%s%s%s%stoken %ld; metadata %s), so its vector is still the "
                        "random initial one", word, type == RNNC_TOKENIZER_BPE ? "as '" : "", type == RNNC_TOKENIZER_BPE && unseen_spaced ? " " : "",
                        type == RNNC_TOKENIZER_BPE ? word : "", type == RNNC_TOKENIZER_BPE ? "', " : "", unseen, RNNC_UNSEEN_IDS_KEY);
    /* a character outside a char vocabulary falls back to its bytes: that is not "several tokens" */
    if (type == RNNC_TOKENIZER_CHAR && first_oov > 0 && count_chars(word) == 1)
        return cli_fail("unknown character '%s': not in this model's char vocabulary (text would encode it as its %zu bytes)",
                        word, n_tokens);
    if (n_tokens > 1)
        return cli_fail("unknown word '%s': it is %zu tokens for this model's %s tokenizer, not one", word, n_tokens,
                        rnnc_tokenizer_type_name(type));
    return cli_fail("unknown word '%s': not in this model's %s vocabulary", word, rnnc_tokenizer_type_name(type));
}

/* A token for display: escaped, and quoted when spaces at its ends would otherwise be invisible. */
static void show_token(const rnnc_tokenizer *tok, uint32_t id, char *buf, size_t cap) {
    rnnc_token_bytes b = rnnc_tokenizer_token(tok, id);
    char esc[256];
    rnnc_projector_escape(b.data ? (const char *)b.data : "", b.data ? b.len : 0, esc, sizeof esc);
    size_t n = strlen(esc);
    if (n && (esc[0] == ' ' || esc[n - 1] == ' ')) snprintf(buf, cap, "\"%s\"", esc);
    else snprintf(buf, cap, "%s", esc);
}

/* The ids that are never an answer nor a query: those the model's metadata lists as never seen
 * in training (RNNC_UNSEEN_IDS_KEY), and the ids training never feeds a model of this tokenizer
 * (their vectors are still the random initial ones): the char tokenizer's reserved and
 * byte-fallback ids, the word tokenizer's reserved ids. A model without the key (older ones)
 * gets a note that it may list unseen tokens. 0, or the exit code of a printed error. */
static int unseen_mask(const rnnc_lm *m, const rnnc_tokenizer *tok, const char *path, unsigned char *skip) {
    size_t V = (size_t)m->c.vocab;
    rnnc_tokenizer_type type = rnnc_tokenizer_type_of(tok);
    size_t first = type == RNNC_TOKENIZER_CHAR ? RNNC_CHAR_FIRST : type == RNNC_TOKENIZER_WORD ? RNNC_TOK_N_RESERVED : 0;
    if (first >= V) first = 0;
    memset(skip, 1, first);
    const char *unseen = rnnc_lm_get_meta(m, RNNC_UNSEEN_IDS_KEY);
    if (unseen) {
        if (rnnc_unseen_ids_parse(unseen, V, skip)) return cli_fail("%s: %s", path, rnnc_last_error());
    } else {
        fprintf(stderr, "note: %s does not record which tokens occurred in training (metadata %s); tokens never "
                        "seen may be listed\n", path, RNNC_UNSEEN_IDS_KEY);
    }
    return 0;
}

static int export_projector(const rnnc_lm *m, const rnnc_tokenizer *tok, const char *dir) {
    size_t V = (size_t)m->c.vocab;
    const char **labels = malloc(V * sizeof *labels);
    size_t *lens = malloc(V * sizeof *lens);
    /* a char model's byte-fallback ids read as their byte, the same text as the character token
     * beside them: they get labels of their own, "<0x65>" (as SentencePiece names byte pieces),
     * so that a search for "e" finds the trained character, not also an untrained byte */
    const bool chars = rnnc_tokenizer_type_of(tok) == RNNC_TOKENIZER_CHAR;
    char(*byte_label)[8] = chars ? malloc(256 * sizeof *byte_label) : NULL;
    if (!labels || !lens || (chars && !byte_label)) { free(labels); free(lens); free(byte_label); return cli_fail("out of memory"); }
    for (size_t i = 0; i < V; i++) {
        if (chars && i >= RNNC_CHAR_BYTE_BASE && i < RNNC_CHAR_FIRST) {
            char *l = byte_label[i - RNNC_CHAR_BYTE_BASE];
            lens[i] = (size_t)snprintf(l, sizeof byte_label[0], "<0x%02X>", (unsigned)(i - RNNC_CHAR_BYTE_BASE));
            labels[i] = l;
            continue;
        }
        rnnc_token_bytes b = rnnc_tokenizer_token(tok, (uint32_t)i);
        labels[i] = b.data ? (const char *)b.data : "";
        lens[i] = b.data ? b.len : 0;
    }
    int rc = 0;
    if (rnnc_projector_export(dir, m->params + m->off_embedding, V, (size_t)m->c.embed, labels, lens)) rc = cli_fail_status();
    else {
        int n = (int)strlen(dir);
        while (n > 1 && dir[n - 1] == '/') n--; /* "proj/" names proj/vectors.tsv, not proj//vectors.tsv */
        printf("wrote %.*s/vectors.tsv and %.*s/metadata.tsv (%zu tokens x %d dimensions)\n", n, dir, n, dir, V, m->c.embed);
    }
    free(labels);
    free(lens);
    free(byte_label);
    return rc;
}

int cmd_similar(int argc, char **argv) {
    const char *model = NULL, *export_dir = NULL;
    long k = 10;
    int err = 0;
    char **words = calloc((size_t)argc, sizeof *words);
    int *signs = calloc((size_t)argc, sizeof *signs);
    int n_words = 0, has_ops = 0, next_sign = 1, dangling = 0;
    bool k_given = false;
    if (!words || !signs) { free(words); free(signs); return cli_fail("out of memory"); }
    int rc = 0;
    if (cli_wants_help(argc, argv)) { fputs(similar_help, stdout); free(words); free(signs); return 0; }
    for (int i = 1; i < argc && !rc; i++) {
        const char *v;
        if (strcmp(argv[i], "+") == 0 || strcmp(argv[i], "-") == 0) {
            if (n_words == 0 || dangling) rc = cli_usage_error("similar", "'%s' must stand between two words", argv[i]);
            has_ops = 1;
            dangling = 1;
            next_sign = argv[i][0] == '-' ? -1 : 1;
            continue;
        }
        if (cli_opt("similar", argc, argv, &i, "--model", &v, &err)) model = v;
        else if (cli_opt("similar", argc, argv, &i, "--export", &v, &err)) export_dir = v;
        else if (cli_opt("similar", argc, argv, &i, "-k", &v, &err)) {
            if (!err && !cli_parse_long("similar", "-k", v, 1, 100000, &k)) rc = 2;
            k_given = true;
        }
        else if (argv[i][0] == '-' && argv[i][1]) rc = cli_usage_error("similar", "unknown option '%s'", argv[i]);
        else {
            words[n_words] = argv[i];
            signs[n_words++] = next_sign;
            next_sign = 1;
            dangling = 0;
        }
        if (err) rc = err;
    }
    if (!rc && dangling) rc = cli_usage_error("similar", "'+' or '-' at the end needs a word after it");
    if (!rc && !model) rc = cli_usage_error("similar", "--model M is required");
    if (!rc && !export_dir && n_words == 0) rc = cli_usage_error("similar", "give one or more words, or --export DIR");
    if (!rc && export_dir && n_words) rc = cli_usage_error("similar", "--export takes no words");
    if (!rc && export_dir && (!*export_dir || !strcmp(export_dir, "-")))
        rc = cli_usage_error("similar", "--export needs the name of a directory to write vectors.tsv and metadata.tsv into");
    if (rc) { free(words); free(signs); return rc; }
    if (export_dir && k_given) /* every token's vector is written, no neighbours listed */
        fprintf(stderr, "rnnc similar: warning: -k is ignored with --export (it writes every token's vector; -k counts the "
                        "neighbours listed for a WORD)\n");

    rnnc_lm *m;
    rnnc_tokenizer *tok;
    rc = cli_load_lm_tokenizer(model, &m, &tok);
    if (rc) { free(words); free(signs); return rc; }
    if (export_dir) {
        rc = export_projector(m, tok, export_dir);
    } else {
        const float *E = m->params + m->off_embedding;
        size_t V = (size_t)m->c.vocab, D = (size_t)m->c.embed;
        uint32_t *ids = malloc((size_t)n_words * sizeof *ids);
        rnnc_neighbor *nb = malloc((size_t)k * sizeof *nb);
        if (!ids || !nb) rc = cli_fail("out of memory");
        char label[300];
        unsigned char *skip = rc ? NULL : calloc(V, 1);
        if (!rc && !skip) rc = cli_fail("out of memory");
        if (!rc) rc = unseen_mask(m, tok, model, skip);
        for (int w = 0; w < n_words && !rc; w++) rc = find_token(tok, words[w], skip, &ids[w]);
        for (int q = 0; q < (has_ops ? 1 : n_words) && !rc; q++) {
            size_t n = 0;
            rnnc_status s = has_ops ? rnnc_similar_terms_skip(E, V, D, ids, signs, (size_t)n_words, skip, (size_t)k, nb, &n)
                                    : rnnc_similar_terms_skip(E, V, D, ids + q, signs + q, 1, skip, (size_t)k, nb, &n);
            if (s) { rc = cli_fail_status(); break; }
            if (has_ops) {
                printf("nearest to");
                for (int w = 0; w < n_words; w++) printf("%s %s", w ? (signs[w] > 0 ? " +" : " -") : (signs[w] > 0 ? "" : " -"), words[w]);
                printf(":\n");
            } else printf("%snearest to %s:\n", q ? "\n" : "", words[q]);
            for (size_t i = 0; i < n; i++) {
                show_token(tok, nb[i].id, label, sizeof label);
                printf("  %7.4f  %s\n", (double)nb[i].sim, label);
            }
        }
        free(ids);
        free(nb);
        free(skip);
    }
    free(words);
    free(signs);
    rnnc_tokenizer_free(tok);
    rnnc_lm_free(m);
    return rc;
}
