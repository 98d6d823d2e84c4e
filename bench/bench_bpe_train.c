/* BPE training benchmark: trains on one corpus file and saves the tokenizer, the same job
 * `spm_train` does, so bench/bpe_train_vs_spm.sh can time both processes side by side (wall time
 * and peak memory from /usr/bin/time). Prints the phases measured inside the process too.
 *
 * usage: bench_bpe_train CORPUS VOCAB_SIZE THREADS [OUT.tiktoken] [PATTERN] */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "rnnc/rnnc.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s CORPUS VOCAB_SIZE THREADS [OUT.tiktoken] [PATTERN]\n", argv[0]);
        return 2;
    }
    rnnc_bpe_train_opts o = {0};
    o.vocab_size = (size_t)bench_parse_long("bench_bpe_train", "VOCAB_SIZE", argv[2], 1, 1L << 31);
    o.threads = (int)bench_parse_long("bench_bpe_train", "THREADS", argv[3], 0, 1024);
    double t0 = bench_now();
    unsigned char *text;
    size_t len;
    if (rnnc_read_file(argv[1], &text, &len)) {
        fprintf(stderr, "bench_bpe_train: %s\n", rnnc_last_error());
        return 1;
    }
    double t1 = bench_now();
    o.pattern = argc > 5 ? argv[5] : "cl100k";
    const unsigned char *texts[1] = {text};
    rnnc_bpe *bpe;
    if (rnnc_bpe_train(&bpe, texts, &len, 1, &o)) {
        fprintf(stderr, "bench_bpe_train: %s\n", rnnc_last_error());
        return 1;
    }
    double t2 = bench_now();
    if (argc > 4 && rnnc_bpe_save(bpe, argv[4])) {
        fprintf(stderr, "bench_bpe_train: %s\n", rnnc_last_error());
        return 1;
    }
    double t3 = bench_now();
    printf("rnnc bpe train: %.1f MB, vocab %zu, %d threads: read %.3f s, train %.3f s, save %.3f s\n",
           (double)len / 1e6, rnnc_bpe_n_vocab(bpe), o.threads, t1 - t0, t2 - t1, t3 - t2);
    rnnc_bpe_free(bpe);
    free(text);
    return 0;
}
