#!/usr/bin/env python3
"""Stress predictions scored by how common the word is (issue 13's stress goal).

    /usr/bin/python3 bench/stress_by_frequency.py PREDICTIONS [--errors N]

PREDICTIONS: one line of tags per line of data/stress/test.tsv, as `rnnc tag predict` writes them
(`cut -f1 data/stress/test.tsv | rnnc tag predict --model RUN/best.safetensors -o PREDICTIONS`).

CMUdict holds many surnames and foreign names, whose stress no rule predicts; the question this
answers is whether the model's errors are those. Each test line is mapped back to its words
(the same parse and FNV-1a split as scripts/make-task-data.js: a line is one distinct pronunciation
of a word, and homophones share a line) and bucketed by the highest count, among its words, of
that word in the State of the Union text (data/sotu.txt, lowercased runs of letters and
apostrophes): not in it, 1-9 times, 10 or more. For each bucket: lines, word accuracy (the full
pattern) and primary-stress word accuracy (the positions of the 1s), as bench/baselines.py
stress-score counts them. With --errors N it then lists the N most common words (by their count
in the speeches) whose primary stress the predictions put in the wrong place: the word, its count,
the phonemes with the data's stress digits, and the predicted digits.
"""
import collections
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fnv1a(s):
    h = 0x811C9DC5
    for ch in s:
        h ^= ord(ch)
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def test_line_words():
    """'tokens\\ttags' line of the test split -> the set of words that have it."""
    with open(os.path.join(ROOT, "data", "cmudict", "cmudict.json"), encoding="utf-8") as f:
        entries = json.load(f)
    words = collections.defaultdict(set)
    for key, pron in entries.items():
        word = re.match(r"^(.*?)(?:\((\d+)\))?$", key).group(1)
        if not re.fullmatch(r"[a-z']+", word) or not re.search("[a-z]", word):
            continue
        if fnv1a(word) % 100 < 95:  # train (< 90) and dev (< 95)
            continue
        phones = pron.split("#")[0].split()
        if not phones:
            continue
        toks, tags = [], []
        for p in phones:
            m = re.fullmatch(r"([A-Z]{1,2})([012]?)", p)
            toks.append(m.group(1))
            tags.append(m.group(2) or "-")
        words[" ".join(toks) + "\t" + " ".join(tags)].add(word)
    return words


def primary(tags):
    return [i for i, t in enumerate(tags.split()) if t == "1"]


def main():
    args = sys.argv[1:]
    n_err = 0
    if "--errors" in args:
        i = args.index("--errors")
        if i + 1 >= len(args) or not args[i + 1].isdigit():
            sys.exit("stress_by_frequency.py: --errors needs a whole number")
        n_err = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit("usage: stress_by_frequency.py PREDICTIONS [--errors N]")
    with open(os.path.join(ROOT, "data", "stress", "test.tsv"), encoding="utf-8") as f:
        test = [line.rstrip("\n") for line in f]
    with open(args[0], encoding="utf-8") as f:
        pred = [line.rstrip("\n") for line in f]
    if len(pred) != len(test):
        sys.exit(f"{args[0]}: {len(pred)} lines, data/stress/test.tsv has {len(test)}")
    with open(os.path.join(ROOT, "data", "sotu.txt"), encoding="utf-8") as f:
        counts = collections.Counter(re.findall(r"[a-z']+", f.read().lower()))
    words = test_line_words()
    order = ["not in SOTU", "1-9 times", ">= 10 times", "all"]
    stats = {k: [0, 0, 0] for k in order}
    wrong = []
    for line, p in zip(test, pred):
        n = max((counts[w] for w in words[line]), default=0)
        if primary(line.split("\t")[1]) != primary(p):
            w = max(words[line], key=lambda x: counts[x], default="?")
            wrong.append((n, w, line, p))
        bucket = order[0] if n == 0 else order[1] if n < 10 else order[2]
        gold = line.split("\t")[1]
        for k in (bucket, "all"):
            stats[k][0] += 1
            stats[k][1] += gold == p
            stats[k][2] += primary(gold) == primary(p)
    print("| words of the line in the SOTU text | test lines | word acc | primary-stress word acc |")
    print("|---|---:|---:|---:|")
    for k in order:
        n, full, prim = stats[k]
        print(f"| {k} | {n:,} | {100 * full / n:.2f}% | {100 * prim / n:.2f}% |" if n else f"| {k} | 0 | - | - |")
    if n_err:
        print(f"\nthe {min(n_err, len(wrong))} most common words (of {len(wrong)} test lines) with the primary stress misplaced:")
        print("| word | count in SOTU | phonemes with the data's stress | predicted |")
        print("|---|---:|---|---|")
        for n, w, line, p in sorted(wrong, key=lambda e: (-e[0], e[1]))[:n_err]:
            ph, tg = line.split("\t")
            show = lambda tags: " ".join(a + (t if t != "-" else "") for a, t in zip(ph.split(), tags.split()))
            print(f"| {w} | {n:,} | {show(tg)} | {show(p)} |")


if __name__ == "__main__":
    main()
