"""Training every task through the Python API: the same files as the CLI's trainers for the same
options (bit for bit: step budgets and one thread make runs repeatable), the progress events,
Ctrl-C that writes the checkpoint and then raises KeyboardInterrupt, exact resume, and errors."""

import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rnnc
from conftest import ROOT, cli, reverse_pairs

LM_OPTS = dict(tokenizer="char", layers=1, hidden=32, embed=8, batch=4, seq=16, eval_every=5, checkpoint_every=4,
               seed=9, lr=0.01)
LM_FLAGS = ["--tokenizer", "char", "--layers", 1, "--hidden", 32, "--embed", 8, "--batch", 4, "--seq", 16,
            "--eval-every", 5, "--checkpoint-every", 4, "--seed", 9, "--lr", 0.01]


def same_files(a, b, names=("model.safetensors", "best.safetensors")):
    for n in names:
        assert (Path(a) / n).read_bytes() == (Path(b) / n).read_bytes(), n


@pytest.fixture(scope="module")
def small(corpus, tmp_path_factory):
    p = tmp_path_factory.mktemp("small") / "small.txt"
    p.write_bytes(corpus.read_bytes()[:30000])
    return p


def test_lm_equals_cli_and_events(tmp_path, rnnc_bin, small):
    events = []
    run = rnnc.train_lm(small, tmp_path / "py", steps=12, progress=events.append, **LM_OPTS)
    cli(rnnc_bin, "train", "--data", small, *LM_FLAGS, "--steps", 12, "-o", tmp_path / "cli")
    same_files(tmp_path / "py", tmp_path / "cli")
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "done" and "checkpoint" in kinds
    assert [e.step for e in events if e.kind == "progress"] == list(range(1, 13))
    assert all(math.isfinite(e.loss) and e.total_steps == 12 for e in events if e.kind == "progress")
    valid = [e for e in events if e.kind == "valid"]
    assert [e.step for e in valid] == [5, 10, 12] and set(valid[0].metrics) >= {"val_loss", "val_ppl", "val_bpb"}
    assert valid[0].line.startswith("valid loss")
    assert run.validations == valid and run.best == [e for e in valid if e.improved][-1].metrics
    assert "budget" in run.done.message and os.path.isfile(run.checkpoint)
    m = rnnc.LM.load(run.best_model)
    assert m.config["hidden"] == 32 and m.tokenizer.type == "char"


def test_lm_model_out_without_run_dir(tmp_path, small):
    run = rnnc.train_lm([small, small], model_out=tmp_path / "m.safetensors", steps=3, **LM_OPTS)
    assert run.run_dir is None and Path(run.model).is_file() and os.listdir(tmp_path) == ["m.safetensors"]


def test_ema_equals_cli(tmp_path, rnnc_bin, small):
    """ema= is --ema: the same averaged model files as the CLI's, marked as averaged."""
    rnnc.train_lm(small, tmp_path / "py", steps=8, ema=0.9, **LM_OPTS)
    cli(rnnc_bin, "train", "--data", small, *LM_FLAGS, "--steps", 8, "--ema", 0.9, "-o", tmp_path / "cli")
    same_files(tmp_path / "py", tmp_path / "cli")
    rnnc.train_lm(small, tmp_path / "raw", steps=8, **LM_OPTS)
    assert (tmp_path / "py" / "model.safetensors").read_bytes() != (tmp_path / "raw" / "model.safetensors").read_bytes()
    assert '"ema":0.9' in rnnc.LM.load(tmp_path / "py" / "model.safetensors").meta("rnnc.training")
    with pytest.raises(rnnc.Error, match="ema must be in"):
        rnnc.train_lm(small, tmp_path / "bad", steps=2, ema=1.0, **LM_OPTS)


def test_seq2seq_equals_cli_and_translates(tmp_path, rnnc_bin, work, s2s_model):
    train, dev = work / "rev_train.tsv", work / "rev_dev.tsv"
    opts = dict(valid=dev, cell="lstm", hidden=24, embed=8, batch=16, steps=10, eval_every=5, seed=4,
                bidirectional=True, reverse_source=True, label_smoothing=0.1, teacher_forcing=0.8)
    rnnc.train_seq2seq(train, tmp_path / "py", **opts)
    cli(rnnc_bin, "seq2seq", "train", "--data", train, "--valid", dev, "--cell", "lstm", "--hidden", 24, "--embed", 8,
        "--batch", 16, "--steps", 10, "--eval-every", 5, "--seed", 4, "--bidirectional", "--reverse-source",
        "--label-smoothing", 0.1, "--teacher-forcing", 0.8, "-o", tmp_path / "cli")
    same_files(tmp_path / "py", tmp_path / "cli")


def test_translate_equals_cli(tmp_path, rnnc_bin, s2s_model):
    m = rnnc.Seq2Seq.load(s2s_model)
    lines = ["a b c", "f e d c", "b", "", "a z z", "c c a b e"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
    for beam in (1, 4):
        out = cli(rnnc_bin, "seq2seq", "translate", "--model", s2s_model, "--beam", beam, tmp_path / "in.txt")
        assert out.stdout.decode().split("\n")[:-1] == [m.translate(s, beam=beam) for s in lines]
    out = cli(rnnc_bin, "seq2seq", "translate", "--model", s2s_model, "--beam", 4, "--nbest", 3, "--alpha", 0.5,
              tmp_path / "in.txt").stdout.decode().splitlines()
    want = []
    for i, s in enumerate(lines):
        for text, score in m.translate(s, beam=4, nbest=3, alpha=0.5):
            want.append(f"{i}\t{score:.6f}\t{text}" if text or score != float("-inf") else f"{i}\t-inf\t")
    assert out == want
    # many lines at once: each exactly what translate() gives it, whatever the batch
    for beam, nbest, batch in ((1, 1, 64), (4, 1, 2), (4, 3, 1), (4, 3, 64)):
        a = 0.5 if beam > 1 else None  # (greedy ranks nothing: an alpha would only warn)
        assert m.translate_many(lines, beam, nbest=nbest, alpha=a, batch=batch) == \
            [m.translate(s, beam, nbest=nbest, alpha=a) for s in lines]
    with pytest.warns(UserWarning, match="^alpha is ignored without a beam") as w:
        assert m.translate("a b c", alpha=0.5) == m.translate("a b c")
    assert w[0].filename == __file__  # the warning names this line, not rnnc's own code
    with pytest.warns(UserWarning, match="^alpha is ignored without a beam") as w:
        m.translate_many(["a b"], alpha=0.5)
    assert w[0].filename == __file__
    assert m.translate_many([]) == [] and m.translate_many(["", ""]) == ["", ""]
    with pytest.raises(TypeError, match="lines must be a list of lines, not one str"):
        m.translate_many("a b c")  # not one translation per character
    with pytest.raises(rnnc.Error, match="batch must be in"):
        m.translate_many(lines, batch=0)
    # it learned the task: reversing
    assert m.translate("a b c d", beam=4) == "d c b a"
    with pytest.raises(rnnc.Error, match="nbest 3 needs a beam of at least 3"):
        m.translate("a", beam=2, nbest=3)


def test_translate_from_threads(s2s_model):
    """Threads translating with one fresh Seq2Seq at once share its translator (made once, under
    its lock) and each get what a lone call gives."""
    import threading
    lines = ["a b c", "f e d c", "b", "a z z", "c c a b e"] * 4
    want = [rnnc.Seq2Seq.load(s2s_model).translate(s, beam=3) for s in lines]
    m = rnnc.Seq2Seq.load(s2s_model)
    got, start = [None] * 6, threading.Barrier(6)

    def work(k):
        start.wait()
        got[k] = [m.translate(s, beam=3) for s in lines] if k % 2 else m.translate_many(lines, 3, batch=1 + k)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert got == [want] * 6


def seq_data(d):
    r = random.Random(11)
    cls = []
    for _ in range(400):
        n = r.choice([3, 5, 7, 9])
        s = [r.choice("xy") for _ in range(n)]
        cls.append(("more_x" if 2 * s.count("x") > n else "more_y") + "\t" + " ".join(s))
    (d / "cls_train.tsv").write_text("\n".join(cls[:300]) + "\n")
    (d / "cls_dev.tsv").write_text("\n".join(cls[300:]) + "\n")
    tag = []
    for _ in range(400):
        a = [r.choice("abc") for _ in range(r.randint(4, 9))]
        g = ["SAME" if k < len(a) - 1 and a[k + 1] == a[k] else "O" for k in range(len(a))]
        tag.append(" ".join(a) + "\t" + " ".join(g))
    (d / "tag_train.tsv").write_text("\n".join(tag[:300]) + "\n")
    (d / "tag_dev.tsv").write_text("\n".join(tag[300:]) + "\n")
    rows = ["day,value,weekend"]
    for i in range(600):
        rows.append(f"{i},{10 + 5 * (i % 7 >= 5) + r.random():.4f},{int(i % 7 >= 5)}")
    (d / "series.csv").write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("kind", ["classify", "tag", "forecast"])
def test_seq_tasks_equal_cli(tmp_path, rnnc_bin, kind):
    seq_data(tmp_path)
    common = dict(hidden=16, batch=16, steps=8, eval_every=4, seed=5)
    flags = ["--hidden", 16, "--batch", 16, "--steps", 8, "--eval-every", 4, "--seed", 5]
    if kind == "forecast":
        data = tmp_path / "series.csv"
        opts = dict(target="value", known=["weekend"], context=14, horizon=2, season=7, relative=True, **common)
        flags += ["--target", "value", "--known", "weekend", "--context", 14, "--horizon", 2, "--season", 7, "--relative"]
    else:
        data = tmp_path / f"{kind[:3].replace('cla', 'cls')}_train.tsv"
        opts = dict(valid=Path(str(data).replace("_train", "_dev")), bidirectional=True, embed=8, **common)
        flags += ["--valid", opts["valid"], "--bidirectional", "--embed", 8]
    if kind == "classify":
        opts.update(pool="mean", class_weight="balanced")
        flags += ["--pool", "mean", "--class-weight", "balanced"]
    events = []
    train = getattr(rnnc, f"train_{kind}")
    run = train(data, tmp_path / "py", progress=events.append, **opts)
    cli(rnnc_bin, kind, "train", "--data", data, *flags, "-o", tmp_path / "cli")
    same_files(tmp_path / "py", tmp_path / "cli")
    metric = {"classify": "val_macro_f1", "tag": "val_acc", "forecast": "val_mae"}[kind]
    assert metric in run.validations[-1].metrics and events[-1].kind == "done"


def test_seq_task_option_errors(tmp_path):
    seq_data(tmp_path)
    with pytest.raises(TypeError, match="pool does not apply to tag"):
        rnnc.train_tag(tmp_path / "tag_train.tsv", tmp_path / "r", pool="max", steps=1)
    with pytest.raises(rnnc.Error, match="pool"):
        rnnc.train_classify(tmp_path / "cls_train.tsv", tmp_path / "r", pool="median", steps=1)


def test_run_errors(tmp_path, small):
    with pytest.raises(rnnc.Error, match="no training budget: give steps, epochs or seconds"):  # keywords, not flags
        rnnc.train_lm(small, tmp_path / "r", **LM_OPTS)
    with pytest.raises(rnnc.Error, match=r"steps must be more than 0 \(leave it out for no steps budget\)"):
        rnnc.train_lm(small, tmp_path / "r", steps=0, **LM_OPTS)
    with pytest.raises(TypeError, match="unknown option hiden"):
        rnnc.train_lm(small, tmp_path / "r", hiden=3, steps=1)
    with pytest.raises(rnnc.Error, match="layers 1099511627776 is outside the range"):  # not wrapped to 0
        rnnc.train_lm(small, tmp_path / "r", steps=1, layers=2**40)
    with pytest.raises(rnnc.Error, match=r"hidden 0 is outside \[1, 65536\]"):
        rnnc.train_lm(small, tmp_path / "r", steps=1, hidden=0)
    with pytest.raises(rnnc.Error, match="^train_lm: lr must be in"):
        rnnc.train_lm(small, tmp_path / "r", steps=1, lr=float("nan"))
    with pytest.raises(rnnc.Error, match="cell"):
        rnnc.train_lm(small, tmp_path / "r", steps=1, cell="transformer")
    with pytest.raises(rnnc.Error, match="optimizer"):
        rnnc.train_lm(small, tmp_path / "r", steps=1, optimizer="lion")
    with pytest.raises(rnnc.Error, match="missing.txt"):
        rnnc.train_lm(tmp_path / "missing.txt", tmp_path / "r", steps=1)
    with pytest.raises(rnnc.Error, match="run_dir"):
        rnnc.train_lm(small, steps=1)
    rnnc.train_lm(small, tmp_path / "done", steps=2, **LM_OPTS)
    with pytest.raises(rnnc.Error):  # a directory holding another run
        rnnc.train_lm(small, tmp_path / "done", steps=2, **LM_OPTS)
    with pytest.raises(rnnc.Error, match="used up"):
        rnnc.resume(tmp_path / "done")
    with pytest.raises(rnnc.Error):
        rnnc.resume(tmp_path / "done", steps=5, task="seq2seq")


def test_ctrl_c_writes_checkpoint_and_resumes_exactly(tmp_path, small):
    """SIGINT during training: the run finishes its step, writes checkpoint and model, raises
    KeyboardInterrupt; resume continues to the same model as a run never stopped."""
    rnnc.train_lm(small, tmp_path / "whole", steps=14, **LM_OPTS)
    seen = []

    def progress(e):
        seen.append(e)
        if e.kind == "progress" and e.step == 6:
            os.kill(os.getpid(), signal.SIGINT)

    old = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match="stopped at step 6") as ki:
        rnnc.train_lm(small, tmp_path / "cut", steps=14, progress=progress, **LM_OPTS)
    assert "rnnc.resume" in str(ki.value)
    assert signal.getsignal(signal.SIGINT) is old  # the handler is put back
    assert seen[-1].kind == "checkpoint" and max(e.step for e in seen) == 6
    assert (tmp_path / "cut" / "checkpoint.safetensors").is_file()
    run = rnnc.resume(tmp_path / "cut")
    assert run.started is not None and run.started.resumed and run.started.step == 6
    same_files(tmp_path / "whole", tmp_path / "cut")


def test_progress_exception_stops_the_run(tmp_path, small):
    def progress(e):
        if e.kind == "progress" and e.step == 3:
            raise ValueError("enough")

    with pytest.raises(ValueError, match="enough"):
        rnnc.train_lm(small, tmp_path / "r", steps=10, progress=progress, **LM_OPTS)
    run = rnnc.resume(tmp_path / "r", steps=5)
    assert run.done.step == 5


def test_resume_threads(tmp_path, small):
    """The started event says the thread count a resume goes on with and the one the run trained
    on (the tests run under OMP_NUM_THREADS=1: the caller's choice); threads= chooses one."""
    rnnc.train_lm(small, tmp_path / "r", steps=3, **LM_OPTS)
    run = rnnc.resume(tmp_path / "r", steps=4)
    assert run.started.threads_trained == 1 and run.started.threads == 1
    run = rnnc.resume(tmp_path / "r", steps=5, threads=2)
    assert run.started.threads_trained == 1 and run.started.threads == 2
    # and where its best stands: the step of best.safetensors and its validation line
    assert run.started.best_step == 4 and run.started.best_line.startswith("valid loss ")
    with pytest.raises(rnnc.Error, match=r"threads must be in \[0, 1024\]"):
        rnnc.resume(tmp_path / "r", steps=6, threads=-1)
    # a budget no checkpoint could record, and cadences the library would read as "unset"
    with pytest.raises(rnnc.Error, match="seconds must be finite and not negative"):
        rnnc.resume(tmp_path / "r", seconds=float("inf"))
    with pytest.raises(rnnc.Error, match="epochs must be finite"):
        rnnc.resume(tmp_path / "r", epochs=float("nan"))
    with pytest.raises(rnnc.Error, match="log_every must be at least 0"):
        rnnc.resume(tmp_path / "r", steps=6, log_every=-1)
    with pytest.raises(rnnc.Error, match="checkpoint_every must be at least 1"):
        rnnc.resume(tmp_path / "r", steps=6, checkpoint_every=0)
    with pytest.raises(rnnc.Error, match="finite"):
        rnnc.train_lm(small, tmp_path / "inf", seconds=float("inf"), **LM_OPTS)
    with pytest.raises(rnnc.Error, match="'bogus' is not a task"):
        rnnc.resume(tmp_path / "r", steps=6, task="bogus")


def test_ctrl_c_from_outside(tmp_path, small):
    """A real Ctrl-C from another process (as a terminal sends it) stops a Python training."""
    code = f"""
import sys, rnnc
def progress(e):
    if e.kind == "progress" and e.step == 2:
        print("training", flush=True)
try:
    rnnc.train_lm({str(small)!r}, {str(tmp_path / 'r')!r}, steps=100000, progress=progress, **{LM_OPTS!r})
except KeyboardInterrupt as e:
    print("interrupted:", e, flush=True)
    sys.exit(3)
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env)
    assert p.stdout.readline() == "training\n"
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 3, err
    assert out.startswith("interrupted: stopped at step ") and "checkpoint.safetensors and model.safetensors saved" in out
    step = int(out.split("stopped at step ")[1].split(";")[0])
    run = rnnc.resume(tmp_path / "r", steps=step + 2)
    assert run.started.step == step and run.done.step == step + 2


def test_run_in_another_thread(tmp_path, small):
    """Outside the main thread no signal handler is set (Python allows none there); an exception
    from progress still stops the run with its checkpoint."""
    import threading
    got = {}

    def work():
        def progress(e):
            if e.kind == "progress" and e.step == 3:
                raise RuntimeError("stop from a thread")
        try:
            rnnc.train_lm(small, tmp_path / "r", steps=50, progress=progress, **LM_OPTS)
        except RuntimeError as e:
            got["error"] = str(e)

    old = signal.getsignal(signal.SIGINT)
    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert got == {"error": "stop from a thread"} and signal.getsignal(signal.SIGINT) is old
    assert rnnc.resume(tmp_path / "r", steps=4).started.step == 3


def test_seq2seq_wrong_kind_and_missing(tmp_path, char_lm):
    with pytest.raises(rnnc.Error, match="language model, not a seq2seq model"):
        rnnc.Seq2Seq.load(char_lm)
    with pytest.raises(rnnc.Error) as e:
        rnnc.Seq2Seq.load(tmp_path / "none.safetensors")
    assert e.value.status == "io" and "none.safetensors" in str(e.value)


def test_resume_across_python_and_cli(tmp_path, rnnc_bin, small):
    """A run started in Python continues with `rnnc train --resume`, and the other way round, to
    the same model as a run never stopped (the first part stopped by Ctrl-C, so the budget, and
    the cosine schedule over it, is the same)."""
    opts = dict(LM_OPTS, log_every=1)  # the CLI reports every step (the test stops it after one)
    rnnc.train_lm(small, tmp_path / "whole", steps=10, **opts)

    def ctrl_c_at_6(e):
        if e.kind == "progress" and e.step == 6:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        rnnc.train_lm(small, tmp_path / "py_then_cli", steps=10, progress=ctrl_c_at_6, **opts)
    cli(rnnc_bin, "train", "--resume", tmp_path / "py_then_cli")
    same_files(tmp_path / "whole", tmp_path / "py_then_cli", ("model.safetensors",))
    # the CLI's run stopped by SIGINT after its report of step 6 (some steps later: enough of
    # them that it is still running), then resumed in Python
    rnnc.train_lm(small, tmp_path / "whole300", steps=300, **opts)
    p = subprocess.Popen([rnnc_bin, "train", "--data", str(small), *map(str, LM_FLAGS), "--steps", "300", "--log-every",
                          "1", "-o", str(tmp_path / "cli_then_py")], stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, RNNC_NO_PROGRESS="1", OMP_NUM_THREADS="1"))
    for line in p.stderr:
        if line.startswith("step 6 "):
            p.send_signal(signal.SIGINT)
            break
    p.communicate(timeout=120)
    run = rnnc.resume(tmp_path / "cli_then_py")
    assert p.returncode == 130 and 6 <= run.started.step < 300 and run.done.step == 300
    same_files(tmp_path / "whole300", tmp_path / "cli_then_py", ("model.safetensors",))
