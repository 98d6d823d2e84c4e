#!/usr/bin/env python3
"""Python's Seq2Seq.translate called a word at a time, against translate_many on the same words.

    RNNC_LIBRARY=build/librnnc.so /usr/bin/python3 bench/python_translate_loop.py \
        --model /tmp/rnnc-s2s-bench/g2p.trained.safetensors [--words 300] [--repeats 3]

Prints the median milliseconds a word for each (greedy and beam 5) and checks that both give
the same outputs. The words are the first --words sources of data/cmudict/test.tsv."""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import rnnc  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="data/cmudict/test.tsv")
    ap.add_argument("--words", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    m = rnnc.Seq2Seq.load(a.model)
    with open(a.data, encoding="utf-8") as f:
        lines = [ln.split("\t", 1)[0] for ln in f][: a.words]
    for beam in (1, 5):
        loop, many = [], []
        for _ in range(a.repeats):
            t = time.perf_counter()
            one = [m.translate(x, beam=beam) for x in lines]
            loop.append((time.perf_counter() - t) / len(lines) * 1e3)
            t = time.perf_counter()
            all_ = m.translate_many(lines, beam=beam)
            many.append((time.perf_counter() - t) / len(lines) * 1e3)
            if one != all_:
                sys.exit("translate and translate_many differ")
        print(f"beam {beam}: translate {statistics.median(loop):.2f} ms/word, "
              f"translate_many {statistics.median(many):.3f} ms/word ({len(lines)} words, median of {a.repeats})")


if __name__ == "__main__":
    main()
