"""Fixtures of the Python package's tests (run by ctest as the test `python`, which sets
RNNC_LIBRARY, RNNC_BIN, RNNC_ABI_LAYOUT and RNNC_DATA to the build's files; run by hand with
`RNNC_LIBRARY=build/librnnc.so.0 RNNC_BIN=build/rnnc /usr/bin/python3 -m pytest python/tests`).

The small models every test shares are trained once per session: through the Python API (a
char LM, a seq2seq model) and through the CLI (a BPE LM, a word LM), so that each side reads the
other's files."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import rnnc  # noqa: E402


def _bin():
    b = os.environ.get("RNNC_BIN") or str(ROOT / "build" / "rnnc")
    return b if os.path.exists(b) else None


@pytest.fixture(scope="session")
def rnnc_bin():
    b = _bin()
    if not b:
        pytest.fail("the rnnc binary is needed to check the package against the CLI: set RNNC_BIN")
    return b


@pytest.fixture(scope="session")
def data_dir():
    return Path(os.environ.get("RNNC_DATA") or ROOT / "data")


def cli(rnnc_bin, *args, input=None, check=True, env=None):
    """Runs the CLI; returns the CompletedProcess (stdout and stderr as bytes)."""
    e = dict(os.environ, RNNC_NO_PROGRESS="1", OMP_NUM_THREADS="1")
    if env:
        e.update(env)
    p = subprocess.run([rnnc_bin, *map(str, args)], input=input, capture_output=True, env=e)
    if check and p.returncode != 0:
        raise AssertionError(f"rnnc {' '.join(map(str, args))}: exit {p.returncode}: {p.stderr.decode()}")
    return p


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("rnnc")


@pytest.fixture(scope="session")
def corpus(work, data_dir):
    """200 KB of the State of the Union corpus (or, without the data, a generated English-like
    text, as the CLI tests do)."""
    p = work / "corpus.txt"
    sotu = data_dir / "sotu.txt"
    if sotu.is_file() and sotu.stat().st_size > 200000:
        with open(sotu, "rb") as f:
            p.write_bytes(f.read(200000))
    else:
        import random
        r = random.Random(5)
        words = ("the state of union people government congress nation war peace year law public "
                 "great country american world states united first time new").split()
        lines = []
        for _ in range(4000):
            s = " ".join(r.choice(words) for _ in range(r.randint(4, 14)))
            lines.append(s.capitalize() + r.choice(".,;!?") + " Ünïcödé ✓ 中文" * (r.random() < 0.05))
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


@pytest.fixture(scope="session")
def char_lm(work, corpus):
    """A char LSTM trained through the Python API (1x64, 60 steps)."""
    run = rnnc.train_lm(corpus, work / "char_run", tokenizer="char", layers=1, hidden=64, embed=16, batch=8, seq=32,
                        steps=60, eval_every=30, seed=7)
    return Path(run.best_model)


@pytest.fixture(scope="session")
def bpe_lm(work, corpus, rnnc_bin):
    """A BPE GRU trained by the CLI (2x48)."""
    d = work / "bpe_run"
    cli(rnnc_bin, "train", "--data", corpus, "--tokenizer", "bpe:400", "--cell", "gru", "--layers", 2, "--hidden", 48,
        "--embed", 16, "--batch", 8, "--seq", 32, "--steps", 40, "--eval-every", 20, "-o", d)
    return d / "best.safetensors"


@pytest.fixture(scope="session")
def word_lm(work, corpus, rnnc_bin):
    """A word-level Elman RNN trained by the CLI."""
    d = work / "word_run"
    cli(rnnc_bin, "train", "--data", corpus, "--tokenizer", "word:500", "--cell", "rnn_tanh", "--layers", 1,
        "--hidden", 48, "--embed", 16, "--batch", 8, "--seq", 16, "--steps", 40, "--eval-every", 20, "-o", d)
    return d / "best.safetensors"


def reverse_pairs(path, n, seed):
    """TSV pairs source TAB target: space-separated letters and the same letters reversed."""
    import random
    r = random.Random(seed)
    lines = []
    for _ in range(n):
        w = [r.choice("abcdef") for _ in range(r.randint(2, 5))]
        lines.append(" ".join(w) + "\t" + " ".join(reversed(w)))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def s2s_model(work):
    """A seq2seq GRU that learns to reverse short letter strings, trained through the Python API."""
    train = reverse_pairs(work / "rev_train.tsv", 2000, 1)
    dev = reverse_pairs(work / "rev_dev.tsv", 100, 2)
    run = rnnc.train_seq2seq(train, work / "s2s_run", valid=dev, cell="gru", hidden=64, embed=16, batch=32,
                             steps=400, eval_every=200, lr=0.01, seed=3)
    return Path(run.best_model)
