"""Non-neural baselines for the classify, tag and forecast tasks (issue 13), on the data of
`scripts/fetch-data.sh --tasks` (rules and splits: scripts/make-task-data.js). Each section prints
a small table and the seconds it took. Results with commands: docs/RESULTS.md.

Usage: /usr/bin/python3 bench/baselines.py [spam] [stress] [truecase] [births]   (default: all four)
       /usr/bin/python3 bench/baselines.py truecase-score|stress-score PREDICTIONS [--json]
The second form scores a tagger's predictions of the test split (a file of `rnnc tag predict` on
the test texts, the first TSV column: one line of space-separated tags per test line) with the
same code as the baselines: truecase P/R/F1 on cased words and character accuracy; stress tag,
vowel-tag and word accuracy, word accuracy on the unseen phoneme strings (bench/seqtasks.sh), the
primary-stress word accuracy (only the positions of the 1s), and the wrong words whose predicted
pattern has no or several primary stresses.
Needs scikit-learn for spam only (Debian's python3-sklearn: scripts/install-deps.sh --bench); the
others use the standard library. Data folder: $RNNC_DATA or data/.

spam (data/spam/{train,dev,test}.tsv, "label<TAB>text"):
  Bag-of-words models fitted on train; the one hyperparameter of each is chosen on dev (best dev
  accuracy, ties to the first in the grid), then the model fitted on train with it is measured on
  test. Words are scikit-learn's default tokens (lowercased runs of 2+ word characters).
  - multinomial naive Bayes on word counts (CountVectorizer), alpha in ALPHAS;
  - logistic regression (liblinear, L2) on TF-IDF unigrams (TfidfVectorizer, sublinear tf,
    min_df 2), C in CS; and the same on unigrams + bigrams.
  Accuracy = correct / messages. Macro-F1 = the mean over the two classes (spam, ham) of
  F1 = 2PR/(P+R), P and R the precision and recall of that class. Also printed: how many test
  texts occur verbatim in train (the corpus has duplicate messages under different file names).

stress (data/stress/{train,dev,test}.tsv, "phonemes<TAB>tags", tags 0/1/2 or -):
  - per phoneme: each phoneme gets its most frequent tag in train (ties: the smaller tag in byte
    order); a phoneme unseen in train gets the most frequent tag overall.
  - per vowel count (an extra, stronger baseline): a word gets the most frequent stress pattern
    (the tags of its vowels in order) among train words with the same number of vowels;
    consonants get "-".
  Tag accuracy = correct tags / all tags (consonants included: always "-", so always right; vowel
  accuracy is also shown). Word accuracy = lines whose tags are all right / lines (one line per
  pronunciation of a word). The word split does not separate homophones ("cats", "cat's"): about a
  fifth of the test lines have a phoneme string that a train line has too, so word accuracy is
  also shown on the test lines whose phonemes no train line has ("unseen"). Primary-stress word
  accuracy = lines whose predicted positions of tag "1" are exactly the true ones (the 0/2 of the
  other vowels ignored): Dou et al. 2009's "up to 98% word accuracy" measures primary stress, and
  their 96.2% for English the full pattern, which is what word accuracy above measures.

truecase (data/truecase/{train,dev,test}.tsv, "lowercased text<TAB>U/L per code point"):
  The original text is the lowercased text with the "U" code points upper-cased. A word is a
  maximal match of WORD_RE, letters and digits with inner apostrophes ("america's", "u" and "s" in
  "u.s."); its true form is its span in the original text, and a word is "cased" when its true
  form differs from its lowercase.
  - most frequent casing per word: each lowercased word of train gets its most frequent true form
    there (all occurrences, sentence-initial ones included; ties: the lowercase form if tied, then
    byte order); a test word seen in train gets that form; an unseen word stays lowercase, except
    that the first word of a line gets a capital first letter.
  - the same, plus: the first word of a line always gets a capital first letter (seen or not).
  Word F1 on cased words: over all test words, with pred the predicted form and true the true form:
    TP = true is cased and pred == true;
    FP = pred differs from its lowercase and (pred != true or true is not cased);
    FN = true is cased and pred != true
  (a cased word predicted with the wrong casing counts in both FP and FN); P = TP/(TP+FP),
  R = TP/(TP+FN), F1 = 2PR/(P+R). Character accuracy = code points whose predicted U/L tag equals
  the true tag / all code points of the test texts (spaces and punctuation included; they are
  always "L" in both).

births (data/births/births.csv, 7305 days 1969-01-01..1988-12-31; target births):
  y_0..y_{N-1}, N = 7305; the test year is the last 366 days (1988), indices T0 = 6939..N-1; the
  training part is y_0..y_{T0-1}. Seasonal naive, season m = 7, horizon H = 14, direct multi-step:
  from forecast origin t (the last observed day) the forecast of day t+h, h = 1..14, is
  yhat_{t+h} = y_{t+h-7*ceil(h/7)}, the last observed day of the same weekday. Origins are every t
  whose 14 targets all lie in the test year: t = T0-1 .. N-1-H (353 origins, 4942 forecasts; the
  first origin is the last training day). Over all (origin, h) pairs, e = y - yhat:
    MAE = mean |e|;  RMSE = sqrt(mean e^2);  sMAPE = mean 200 |e| / (|y| + |yhat|)  (in %);
    MASE = MAE / S, S = mean over t = m..T0-1 of |y_t - y_{t-m}| (the in-sample one-step seasonal-
    naive MAE on the training part, m = 7).
  Also printed: MAE by horizon h.
"""
import csv
import json
import math
import os
import re
import sys
import time
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("RNNC_DATA", os.path.join(ROOT, "data"))
ALPHAS = [0.01, 0.03, 0.1, 0.3, 1.0]
CS = [1.0, 3.0, 10.0, 30.0, 100.0, 300.0]
WORD_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


def need(path):
    if not os.path.exists(path):
        sys.exit(f"baselines: {path} is missing; run scripts/fetch-data.sh --tasks")
    return path


def read_tsv(name, part):
    rows = []
    with open(need(os.path.join(DATA, name, part + ".tsv")), encoding="utf-8", newline="\n") as f:
        for n, line in enumerate(f, 1):
            a, sep, b = line.rstrip("\n").partition("\t")
            if not sep:
                sys.exit(f"baselines: {name}/{part}.tsv:{n}: no tab")
            rows.append((a, b))
    return rows


def table(title, head, rows, seconds):
    print(f"== {title}")
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print(f"({seconds:.1f} s)\n")


# ------------------------------------------------------------------ spam
def spam():
    t0 = time.time()
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.naive_bayes import MultinomialNB

    tr, dv, te = (read_tsv("spam", p) for p in ("train", "dev", "test"))
    xs = {k: [t for _, t in d] for k, d in (("train", tr), ("dev", dv), ("test", te))}
    ys = {k: [lab for lab, _ in d] for k, d in (("train", tr), ("dev", dv), ("test", te))}
    for k in ys:
        bad = set(ys[k]) - {"spam", "ham"}
        if bad:
            sys.exit(f"baselines: spam/{k}.tsv: labels {sorted(bad)}")
    dup = len(set(xs["test"]) & set(xs["train"]))

    def run(name, vec, make, grid, pname):
        t1 = time.time()
        xtr = vec.fit_transform(xs["train"])
        xdv, xte = vec.transform(xs["dev"]), vec.transform(xs["test"])
        best = None
        for v in grid:
            m = make(v).fit(xtr, ys["train"])
            acc = accuracy_score(ys["dev"], m.predict(xdv))
            if best is None or acc > best[0]:
                best = (acc, v, m)
        acc_dev, v, m = best
        pred = m.predict(xte)
        wrong = sum(1 for a, b in zip(pred, ys["test"]) if a != b)
        return [name, f"{pname}={v:g}", f"{100 * acc_dev:.2f}", f"{100 * accuracy_score(ys['test'], pred):.2f}",
                str(wrong), f"{f1_score(ys['test'], pred, average='macro'):.4f}", f"{time.time() - t1:.1f}"]

    rows = [
        run("naive Bayes, word counts", CountVectorizer(), lambda a: MultinomialNB(alpha=a), ALPHAS, "alpha"),
        run("logistic regression, tf-idf 1-grams", TfidfVectorizer(sublinear_tf=True, min_df=2),
            lambda c: LogisticRegression(C=c, solver="liblinear"), CS, "C"),
        run("logistic regression, tf-idf 1+2-grams", TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2)),
            lambda c: LogisticRegression(C=c, solver="liblinear"), CS, "C"),
    ]
    nspam = ys["test"].count("spam")
    table(f"spam: {len(tr)} train / {len(dv)} dev / {len(te)} test messages ({nspam} spam in test; "
          f"{dup} test texts also in train)",
          ["model", "chosen", "dev acc %", "test acc %", "test errors", "test macro-F1", "s"], rows, time.time() - t0)


# ------------------------------------------------------------------ stress
def primary(tags):
    """The positions of the primary stress (tag 1) in a line's tags."""
    return tuple(k for k, t in enumerate(tags) if t == "1")


def stress_eval(te, seen, predict):
    """Tag, vowel-tag and word accuracy of predict(i, phonemes, tags) -> predicted tags on the test
    lines te [(phonemes, tags)], and word accuracy on the lines whose phonemes are not in seen.
    Also: primary-stress word accuracy (the positions of the 1s right, the 0/2 of the other vowels
    ignored: the measure of Dou et al. 2009's "up to 98%"), and the wrong words whose predicted
    pattern is invalid (no primary stress, or more than one) with the word accuracy an oracle that
    fixed exactly those words would reach (an upper bound of a one-primary-stress constrained
    decode); truth_invalid counts the test lines whose own pattern has no or several 1s."""
    tags = right = vt = vright = words = wright = unseen = uright = 0
    pright = puright = wrong_invalid = pred_invalid = truth_invalid = 0
    for i, (ph, tg) in enumerate(te):
        pr = predict(i, ph, tg)
        if len(pr) != len(tg):
            sys.exit(f"baselines: stress: line {i + 1}: {len(pr)} predicted tags for {len(tg)} phonemes")
        ok = [a == b for a, b in zip(pr, tg)]
        tags += len(ok)
        right += sum(ok)
        vt += sum(1 for t in tg if t != "-")
        vright += sum(1 for o, t in zip(ok, tg) if o and t != "-")
        words += 1
        wright += all(ok)
        pok = primary(pr) == primary(tg)
        pright += pok
        invalid = len(primary(pr)) != 1
        pred_invalid += invalid
        wrong_invalid += invalid and not all(ok)
        truth_invalid += len(primary(tg)) != 1
        if " ".join(ph) not in seen:
            unseen += 1
            uright += all(ok)
            puright += pok
    return {"lines": words, "tag_acc": right / tags, "vowel_acc": vright / vt, "word_acc": wright / words,
            "unseen": unseen, "word_acc_unseen": uright / unseen, "words_right": wright, "unseen_right": uright,
            "primary_word_acc": pright / words, "primary_word_acc_unseen": puright / unseen,
            "wrong": words - wright, "wrong_invalid": wrong_invalid, "pred_invalid": pred_invalid,
            "oracle_valid_word_acc": (wright + wrong_invalid) / words, "truth_invalid": truth_invalid}


def stress():
    t0 = time.time()
    tr, te = read_tsv("stress", "train"), read_tsv("stress", "test")
    split = lambda d: [(a.split(" "), b.split(" ")) for a, b in d]
    tr, te = split(tr), split(te)
    for ph, tg in tr + te:
        if len(ph) != len(tg):
            sys.exit("baselines: stress: tag count differs from phoneme count")

    def most(counter):  # most frequent key, ties to the smaller key
        return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]

    per_ph, overall = defaultdict(Counter), Counter()
    per_n = defaultdict(Counter)
    for ph, tg in tr:
        for p, t in zip(ph, tg):
            per_ph[p][t] += 1
            overall[t] += 1
        pat = tuple(t for t in tg if t != "-")
        per_n[len(pat)][pat] += 1
    fallback = most(overall)
    seen = {" ".join(ph) for ph, _ in tr}
    by_ph = {p: most(c) for p, c in per_ph.items()}
    by_n = {n: most(c) for n, c in per_n.items()}

    def pred_phoneme(ph, tg):
        return [by_ph.get(p, fallback) for p in ph]

    def pred_count(ph, tg):
        nv = sum(1 for t in tg if t != "-")  # vowels: the positions whose tag is a digit
        pat = list(by_n.get(nv, ("0",) * nv))
        return [pat.pop(0) if t != "-" else "-" for t in tg]

    rows = []
    for name, f in (("most frequent tag per phoneme", pred_phoneme), ("most frequent pattern per vowel count", pred_count)):
        sc = stress_eval(te, seen, lambda i, ph, tg: f(ph, tg))
        unseen = sc["unseen"]
        rows.append([name, f"{100 * sc['tag_acc']:.2f}", f"{100 * sc['vowel_acc']:.2f}", f"{100 * sc['word_acc']:.2f}",
                     f"{100 * sc['word_acc_unseen']:.2f}", f"{100 * sc['primary_word_acc']:.2f}",
                     f"{100 * sc['primary_word_acc_unseen']:.2f}"])
    table(f"stress: {len(tr)} train / {len(te)} test pronunciations ({unseen} test lines whose phonemes no train line has)",
          ["baseline", "tag acc %", "vowel tag acc %", "word acc %", "word acc % (unseen)", "primary word acc %",
           "primary (unseen) %"], rows, time.time() - t0)
    print(f"stress: {sc['truth_invalid']} test lines have no or several primary stresses in the data")
    # the homophone ceiling: the most frequent pattern (and primary positions) of each phoneme
    # string over all three splits, as an oracle would predict it
    full, prim = defaultdict(Counter), defaultdict(Counter)
    for ph, tg in tr + split(read_tsv("stress", "dev")) + te:
        full[" ".join(ph)][tuple(tg)] += 1
        prim[" ".join(ph)][primary(tg)] += 1
    fo = sum(full[" ".join(ph)].most_common(1)[0][0] == tuple(tg) for ph, tg in te)
    po = sum(prim[" ".join(ph)].most_common(1)[0][0] == primary(tg) for ph, tg in te)
    print(f"stress: ceiling of any tagger of phonemes (most frequent pattern per phoneme string, all splits): "
          f"word acc {100 * fo / len(te):.2f}%, primary-stress word acc {100 * po / len(te):.2f}%\n")


# ------------------------------------------------------------------ truecase
def truecase_load(part):
    out = []
    for n, (low, tags) in enumerate(read_tsv("truecase", part), 1):
        tg = tags.split(" ")
        if len(tg) != len(low):
            sys.exit(f"baselines: truecase/{part}.tsv:{n}: {len(tg)} tags for {len(low)} code points")
        out.append((low, "".join(c.upper() if t == "U" else c for c, t in zip(low, tg)), tg))
    return out


def truecase_eval(te, form):
    """Word P/R/F1 on cased words and character accuracy (the docstring's definitions) of
    form(line, i, w) -> the predicted form of word i (w, lowercased) of test line `line`."""
    tp = fp = fn = 0
    chars = cright = 0
    for k, (low, orig, tg) in enumerate(te):
        pred = list(low)
        for i, m in enumerate(WORD_RE.finditer(low)):
            w = m.group()
            p = form(k, i, m)
            true = orig[m.start():m.end()]
            cased, pcased = true != w, p != w
            tp += cased and p == true
            fp += pcased and (p != true or not cased)
            fn += cased and p != true
            pred[m.start():m.end()] = list(p)
        chars += len(low)
        cright += sum(1 for c, l, t in zip(pred, low, tg) if (c != l) == (t == "U"))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"p": prec, "r": rec, "f1": f1, "char_acc": cright / chars, "tp": tp, "fp": fp, "fn": fn}


def truecase():
    t0 = time.time()
    tr, te = truecase_load("train"), truecase_load("test")
    forms = defaultdict(Counter)
    for low, orig, _ in tr:
        for m in WORD_RE.finditer(low):
            forms[m.group()][orig[m.start():m.end()]] += 1
    best = {w: min(c.items(), key=lambda kv: (-kv[1], kv[0] != w, kv[0]))[0] for w, c in forms.items()}

    def cap(w):
        u = w[0].upper()
        return u + w[1:] if len(u) == 1 else w

    rows = []
    for name, always_first in (("most frequent casing per word", False),
                               ("  + first word always capitalised", True)):
        def form(k, i, m):
            w = m.group()
            p = best.get(w)
            if i == 0 and (p is None or always_first):
                p = cap(p if p is not None else w)
            elif p is None:
                p = w
            return p
        sc = truecase_eval(te, form)
        rows.append([name, f"{100 * sc['p']:.2f}", f"{100 * sc['r']:.2f}", f"{100 * sc['f1']:.2f}", f"{100 * sc['char_acc']:.3f}"])
    nwords = sum(1 for low, _, _ in te for _ in WORD_RE.finditer(low))
    ncased = sum(1 for low, orig, _ in te for m in WORD_RE.finditer(low) if orig[m.start():m.end()] != m.group())
    table(f"truecase: {len(tr)} train / {len(te)} test sentences; test: {nwords} words, {ncased} cased",
          ["baseline", "P %", "R %", "F1 %", "char acc %"], rows, time.time() - t0)


# ------------------------------------------------------------------ scoring a tagger's predictions
def read_pred(path, n):
    """A predictions file of `rnnc tag predict`: one line of space-separated tags per test line."""
    with open(path, encoding="utf-8", newline="\n") as f:
        lines = [l.rstrip("\n").split(" ") if l.strip() else [] for l in f]
    if len(lines) != n:
        sys.exit(f"baselines: {path}: {len(lines)} lines for {n} test lines")
    return lines


def truecase_score(path, as_json):
    """The baseline's metric for a char tagger: the predicted form of a word is its lowercase span
    with the code points tagged U upper-cased (rnnc tag predict on the test texts' first column)."""
    te = truecase_load("test")
    pred = read_pred(path, len(te))
    for k, ((low, _, _), tg) in enumerate(zip(te, pred)):
        if len(tg) != len(low):
            sys.exit(f"baselines: {path}:{k + 1}: {len(tg)} tags for {len(low)} code points")
    up = ["".join(c.upper() if t == "U" else c for c, t in zip(low, tg)) for (low, _, _), tg in zip(te, pred)]
    sc = truecase_eval(te, lambda k, i, m: up[k][m.start():m.end()])
    if as_json:
        print(json.dumps(sc))
    else:
        table(f"truecase: {path} on the test split", ["predictions", "P %", "R %", "F1 %", "char acc %"],
              [[os.path.basename(path), f"{100 * sc['p']:.2f}", f"{100 * sc['r']:.2f}", f"{100 * sc['f1']:.2f}",
                f"{100 * sc['char_acc']:.3f}"]], 0.0)


def stress_score(path, as_json):
    """The stress baseline's metrics for a tagger's predictions of the test split."""
    split = lambda d: [(a.split(" "), b.split(" ")) for a, b in d]
    tr, te = split(read_tsv("stress", "train")), split(read_tsv("stress", "test"))
    seen = {" ".join(ph) for ph, _ in tr}
    pred = read_pred(path, len(te))
    sc = stress_eval(te, seen, lambda i, ph, tg: pred[i])
    if as_json:
        print(json.dumps(sc))
    else:
        table(f"stress: {path} on the test split ({sc['unseen']} test lines whose phonemes no train line has)",
              ["predictions", "tag acc %", "vowel tag acc %", "word acc %", "word acc % (unseen)", "primary word acc %",
               "primary (unseen) %"],
              [[os.path.basename(path), f"{100 * sc['tag_acc']:.2f}", f"{100 * sc['vowel_acc']:.2f}",
                f"{100 * sc['word_acc']:.2f}", f"{100 * sc['word_acc_unseen']:.2f}",
                f"{100 * sc['primary_word_acc']:.2f}", f"{100 * sc['primary_word_acc_unseen']:.2f}"]], 0.0)
        print(f"{sc['wrong']} wrong words, {sc['wrong_invalid']} of them with an invalid pattern (no primary stress, or "
              f"several; {sc['pred_invalid']} invalid predictions in all); fixing exactly those (an oracle) would give "
              f"word acc {100 * sc['oracle_valid_word_acc']:.2f}%. {sc['truth_invalid']} test lines have no or several "
              f"primary stresses in the data.")


# ------------------------------------------------------------------ births
def births():
    t0 = time.time()
    with open(need(os.path.join(DATA, "births", "births.csv")), newline="") as f:
        rd = csv.reader(f)
        head = next(rd)
        if head[:2] != ["date", "births"]:
            sys.exit("baselines: births.csv: header is not date,births,...")
        y = [float(r[1]) for r in rd]
    N, M, H, TEST = len(y), 7, 14, 366
    if N != 7305:
        sys.exit(f"baselines: births.csv: {N} days, not 7305")
    T0 = N - TEST
    S = sum(abs(y[t] - y[t - M]) for t in range(M, T0)) / (T0 - M)
    err, sm = [], []
    by_h = defaultdict(list)
    origins = range(T0 - 1, N - H)
    for t in origins:
        for h in range(1, H + 1):
            yhat = y[t + h - M * math.ceil(h / M)]
            e = y[t + h] - yhat
            err.append(e)
            sm.append(200 * abs(e) / (abs(y[t + h]) + abs(yhat)))
            by_h[h].append(abs(e))
    mae = sum(abs(e) for e in err) / len(err)
    rmse = math.sqrt(sum(e * e for e in err) / len(err))
    smape = sum(sm) / len(sm)
    table(f"births: seasonal naive, m = {M}, horizon {H}, test year 1988 ({len(origins)} origins, {len(err)} forecasts)",
          ["baseline", "MAE", "RMSE", "sMAPE %", "MASE", "scale S"],
          [["seasonal naive (m=7)", f"{mae:.1f}", f"{rmse:.1f}", f"{smape:.3f}", f"{mae / S:.4f}", f"{S:.1f}"]],
          time.time() - t0)
    print("births: seasonal-naive MAE by horizon h: " +
          " ".join(f"{h}:{sum(v) / len(v):.0f}" for h, v in sorted(by_h.items())) + "\n")


SECTIONS = {"spam": spam, "stress": stress, "truecase": truecase, "births": births}
SCORERS = {"truecase-score": truecase_score, "stress-score": stress_score}

if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] in SCORERS:
        files = [a for a in args[1:] if a != "--json"]
        if len(files) != 1:
            sys.exit(f"usage: baselines.py {args[0]} PREDICTIONS [--json]")
        SCORERS[args[0]](files[0], "--json" in args)
        sys.exit(0)
    which = args or list(SECTIONS)
    for w in which:
        if w not in SECTIONS:
            sys.exit(f"usage: baselines.py [{'] ['.join(SECTIONS)}]  |  baselines.py truecase-score|stress-score PREDICTIONS [--json]")
    for w in which:
        SECTIONS[w]()
