"""Training runs of every task through the run module (include/rnnc/run.h, train.h): the same
runs, files and exact resume as the CLI's trainers, a Python callable for the progress events, and
Ctrl-C that writes the checkpoint before KeyboardInterrupt."""

import math
import os
import re
import signal
import threading
from ctypes import byref, c_char_p, c_int, c_void_p

from . import _lib as L

# ------------------------------------------------------------------------------------------ events


class Event:
    """One event of a run, given to the progress callable:

    kind            "started", "progress" (after every step), "report" (a training report),
                    "valid" (a validation), "checkpoint", "done"
    step, total_steps (0 with only a time budget), epoch, tokens, elapsed (seconds), loss (the
    step's, or the report's average), lr, tokens_per_s (reports),
    metrics         valid: {"val_loss": ..., "val_ppl": ...} (the names of metrics.jsonl)
    line            valid: the one-line summary the CLI prints ("valid loss 1.234  ppl 3.43")
    improved        valid: best.safetensors was written
    resumed         started: the run continues from a checkpoint
    message         started: what is trained; done: why the run stopped
    threads, threads_trained
                    started: the thread count the run goes on with, and on a resume the one it
                    trained on (0: not recorded); different, the numbers are not those of a run
                    that never stopped
    best_step, best_line
                    started: the step of best.safetensors so far (-1: none yet) and its
                    validation line (None when a resumed checkpoint does not say)
    """

    __slots__ = ("kind", "step", "total_steps", "epoch", "tokens", "elapsed", "seconds_budget", "loss", "lr",
                 "tokens_per_s", "metrics", "line", "improved", "resumed", "message", "threads", "threads_trained",
                 "best_step", "best_line")

    def __init__(self, e):
        self.kind = L.EVENT_KINDS[e.kind] if 0 <= e.kind < len(L.EVENT_KINDS) else str(e.kind)
        self.step = e.step
        self.total_steps = e.total_steps
        self.epoch = e.epoch
        self.tokens = e.tokens
        self.elapsed = e.elapsed
        self.seconds_budget = e.seconds_budget
        self.loss = e.loss
        self.lr = e.lr
        self.tokens_per_s = e.tokens_per_s
        self.improved = bool(e.improved)
        self.resumed = bool(e.resumed)
        self.message = e.message.decode("utf-8", "replace") if e.message else None
        self.threads, self.threads_trained = e.threads, e.threads_trained
        started = self.kind == "started"
        self.best_step = e.best_step if started else -1
        self.best_line = e.best_line.decode("utf-8", "replace") if started and e.best_line else None
        self.metrics, self.line = {}, None
        if e.valid:
            v = e.valid.contents
            self.metrics = {v.m[i].name.decode(): v.m[i].value for i in range(min(v.n, len(v.m)))}
            self.line = v.line.decode("utf-8", "replace")

    def __repr__(self):
        extra = f" {self.line}" if self.line else (f" loss {self.loss:.4f}" if self.kind in ("progress", "report") else "")
        return f"<rnnc.Event {self.kind} step {self.step}{extra}>"


class Run:
    """What a finished run left: its directory and files, the validations made and the last
    event. `best_model` and `model` are the paths of best.safetensors and model.safetensors
    (a run without a directory has only `model`)."""

    def __init__(self, run_dir, model_out):
        self.run_dir = run_dir
        self.validations = []  # the "valid" events, in order
        self.done = None       # the "done" event
        self.started = None
        if run_dir is not None:
            self.model = os.path.join(run_dir, "model.safetensors")
            self.best_model = os.path.join(run_dir, "best.safetensors")
            self.checkpoint = os.path.join(run_dir, "checkpoint.safetensors")
        else:
            self.model, self.best_model, self.checkpoint = model_out, None, None

    @property
    def best(self):
        """The metrics of the best validation (the one that wrote best.safetensors), or None."""
        best = [v for v in self.validations if v.improved]
        return best[-1].metrics if best else None

    def __repr__(self):
        return f"<rnnc.Run {self.run_dir or self.model}: {self.done.message if self.done else 'not finished'}>"


def _drive(run_dir, model_out, start, progress):
    """Runs start(callback, stop_flag) with the events going to `progress` and SIGINT asking the
    run to stop (when called from the main thread): the run finishes its step and writes its
    checkpoint and model, and then KeyboardInterrupt is raised. An exception raised by `progress`
    stops the run the same way and is raised after it."""
    result = Run(run_dir, model_out)
    stop = c_int(0)
    state = {"exc": None, "signal": False}

    def on_event(ep, ctx):
        try:
            ev = Event(ep.contents)
            if ev.kind == "valid":
                result.validations.append(ev)
            elif ev.kind == "done":
                result.done = ev
            elif ev.kind == "started":
                result.started = ev
            if progress is not None:
                progress(ev)
        except BaseException as e:  # a C callback cannot raise: stop the run, raise it afterwards
            if state["exc"] is None:
                state["exc"] = e
            stop.value = 1

    cb = L.RUN_CALLBACK(on_event)
    old = None
    if threading.current_thread() is threading.main_thread():
        def on_sigint(signum, frame):
            state["signal"] = True
            stop.value = 1
        old = signal.signal(signal.SIGINT, on_sigint)
    try:
        code = start(cb, byref(stop))
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
    if state["exc"] is not None:
        raise state["exc"]
    if code == L.RNNC_ERR_INTERRUPTED:
        raise KeyboardInterrupt(L.last_error().decode("utf-8", "replace") +
                                (f"; continue with rnnc.resume({run_dir!r})" if run_dir else ""))
    L.check(code)
    return result


# ------------------------------------------------------------------------------------ options


def _set_run_options(o, kw):
    """Applies the run's keyword options to an rnnc_run_opts made by rnnc_run_defaults, as the
    CLI's run flags do (cli_run_opts): an optimizer choice brings that optimizer's defaults."""
    given = set(kw)
    if "optimizer" in kw:
        kind = c_int()
        name = kw.pop("optimizer")
        if L.optim_parse(L.enc(name), byref(kind)):
            raise L.Error(f"optimizer must be sgd, adam or adamw, got {name!r}")
        o.optim = L.optim_defaults(kind.value, o.optim.lr)
    if "lr" in kw:
        o.optim.lr = float(kw.pop("lr"))
    for k in ("momentum", "weight_decay", "beta1", "beta2", "eps"):
        if k in kw:
            setattr(o.optim, k, float(kw.pop(k)))
    if "schedule" in kw:
        s = kw.pop("schedule")
        if s not in ("cosine", "constant"):
            raise L.Error(f"schedule must be cosine or constant, got {s!r}")
        o.schedule = L.RNNC_SCHEDULE_COSINE if s == "cosine" else L.RNNC_SCHEDULE_CONSTANT
    for k in ("steps", "warmup", "log_every", "eval_every", "checkpoint_every", "patience"):
        if k in kw:
            setattr(o, k, _int(k, kw.pop(k)))
    for k in ("epochs", "seconds", "clip", "min_lr_ratio", "ema"):
        if k in kw:
            setattr(o, k, float(kw.pop(k)))
    for k in ("steps", "epochs", "seconds"):  # 0 would read as "no such budget" in C
        if getattr(o, k) == 0 and k in given:
            raise L.Error(f"{k} must be more than 0 (leave it out for no {k} budget)")
    if "seed" in kw:
        seed = _int("seed", kw.pop("seed"))
        if seed < 0:
            raise L.Error(f"seed must be >= 0, got {seed}")
        o.seed = seed
    if "force" in kw:
        o.force = bool(kw.pop("force"))


RUN_OPTIONS = ("steps", "epochs", "seconds", "optimizer", "lr", "momentum", "weight_decay", "beta1", "beta2", "eps",
               "clip", "schedule", "warmup", "min_lr_ratio", "log_every", "eval_every", "checkpoint_every", "patience",
               "seed", "force", "ema")


def _int(name, v, bits=64):
    """An integer option, refused (not wrapped, as ctypes would) when it does not fit its C field."""
    if isinstance(v, bool) or int(v) != v:
        raise L.Error(f"{name} must be an integer, got {v!r}")
    v = int(v)
    if not -(1 << (bits - 1)) <= v < 1 << (bits - 1):
        raise L.Error(f"{name} {v} is outside the range of its C field ({bits}-bit)")
    return v


def _parse(fn, what, name):
    v = c_int()
    code = fn(L.enc(name), byref(v))
    if code:
        raise L.Error(f"{what}: {L.last_error().decode()}", L.status_name(code).decode())
    return v.value


def _apply(struct, kw, fields, keep):
    """Sets struct fields from kw for the names in `fields` ({name: (path, kind)}); strings are
    kept alive in `keep` for as long as the struct is used."""
    for name, (path, kind) in fields.items():
        if name not in kw:
            continue
        v = kw.pop(name)
        target = struct
        parts = path.split(".")
        for p in parts[:-1]:
            target = getattr(target, p)
        if kind == "str":
            if v is None:
                setattr(target, parts[-1], None)
                continue
            b = L.fspath(v) if isinstance(v, os.PathLike) else L.enc(v, name)
            keep.append(b)
            setattr(target, parts[-1], b)
        elif kind == "int":
            setattr(target, parts[-1], _int(name, v, 32))
        elif kind == "long":
            setattr(target, parts[-1], _int(name, v, 64))
        elif kind == "float":
            setattr(target, parts[-1], float(v))
        elif kind == "bool":
            setattr(target, parts[-1], bool(v))
        elif kind == "cell":
            setattr(target, parts[-1], _parse(L.cell_parse, "cell", v))
        elif kind == "pool":
            setattr(target, parts[-1], _parse(L.pool_parse, "pool", v))
        elif kind == "loss":
            setattr(target, parts[-1], _parse(L.seq_loss_parse, "loss", v))


def _unknown(kw, what, allowed):
    if kw:
        raise TypeError(f"{what}: unknown option{'s' if len(kw) > 1 else ''} {', '.join(sorted(kw))} "
                        f"(known: {', '.join(allowed)})")


def _paths(p):
    return [p] if isinstance(p, (str, bytes, os.PathLike)) else list(p)


LM_OPTIONS = {
    "valid": ("valid", "str"), "valid_fraction": ("valid_fraction", "float"), "tokenizer": ("tokenizer", "str"),
    "cell": ("cell", "cell"), "layers": ("layers", "int"), "hidden": ("hidden", "int"), "embed": ("embed", "int"),
    "dropout": ("dropout", "float"), "unigram_bias": ("unigram_bias", "bool"), "batch": ("batch", "int"),
    "seq": ("seq", "int"), "eval_max_tokens": ("eval_max_tokens", "long"),
}

S2S_OPTIONS = {
    "valid": ("valid", "str"), "source_tokenizer": ("source_tokenizer", "str"),
    "target_tokenizer": ("target_tokenizer", "str"), "cell": ("model.cell", "cell"),
    "layers": ("model.layers", "int"), "hidden": ("model.hidden", "int"), "embed": ("model.embed", "int"),
    "dropout": ("model.dropout", "float"), "output_dropout": ("model.output_dropout", "float"),
    "bidirectional": ("model.bidirectional", "bool"), "reverse_source": ("model.reverse_source", "bool"),
    "batch": ("batch", "int"), "teacher_forcing": ("teacher_forcing", "float"),
    "label_smoothing": ("label_smoothing", "float"), "max_source": ("max_source", "int"),
    "max_target": ("max_target", "int"), "skip_bad": ("skip_bad", "bool"), "skip_long": ("skip_long", "bool"),
    "valid_max": ("valid_max", "long"),
}

SEQ_OPTIONS = {
    "valid": ("valid", "str"), "tokenizer": ("tokenizer", "str"), "cell": ("model.cell", "cell"),
    "layers": ("model.layers", "int"), "hidden": ("model.hidden", "int"), "embed": ("model.embed", "int"),
    "dropout": ("model.dropout", "float"), "output_dropout": ("model.output_dropout", "float"),
    "bidirectional": ("model.bidirectional", "bool"), "pool": ("model.pool", "pool"), "loss": ("model.loss", "loss"),
    "batch": ("batch", "int"), "max_len": ("max_len", "int"), "skip_bad": ("skip_bad", "bool"),
    "skip_long": ("skip_long", "bool"), "class_weight": ("class_weight", "str"), "target": ("target", "str"),
    "covariates": ("covariates", "str"), "known": ("known", "str"), "context": ("context", "int"),
    "horizon": ("horizon", "int"), "season": ("season", "int"), "valid_last": ("valid_last", "long"),
    "holdout": ("holdout", "long"), "relative": ("relative", "bool"),
}
# the options each sequence task takes (as the CLI's flag table marks them)
SEQ_TASK_OPTIONS = {
    "classify": ("valid", "tokenizer", "cell", "layers", "hidden", "embed", "dropout", "output_dropout", "bidirectional",
                 "pool", "batch", "max_len", "skip_bad", "class_weight"),
    "tag": ("valid", "tokenizer", "cell", "layers", "hidden", "embed", "dropout", "output_dropout", "bidirectional",
            "batch", "max_len", "skip_bad", "skip_long"),
    "forecast": ("cell", "layers", "hidden", "dropout", "output_dropout", "bidirectional", "pool", "loss", "batch",
                 "target", "covariates", "known", "context", "horizon", "season", "valid_last", "holdout", "relative"),
}


def _list_like(v):
    """A comma list given as a list or tuple of column names."""
    return ",".join(v) if isinstance(v, (list, tuple)) else v


# ---------------------------------------------------------------------------------------- runs


def _start(run_dir, model_out, kw, make_task, what, task_options, progress):
    """The common part of the trainers: run options, directory check, the task, the run."""
    ro = L.run_defaults()
    _set_run_options(ro, kw)
    _unknown(kw, what, RUN_OPTIONS + tuple(task_options))
    if run_dir is None and model_out is None:
        raise L.Error(f"{what}: give run_dir (a run directory) or model_out (only the final model)")
    rd = None if run_dir is None else L.fspath(run_dir)
    mo = None if model_out is None else L.fspath(model_out)
    ro.run_dir = rd
    ro.model_out = mo
    if L.run_opts_check(byref(ro)):
        # the library names options as the CLI's flags (--steps, --time): here, as keywords
        msg = L.last_error().decode("utf-8", "replace")
        msg = re.sub(r"--([a-z][a-z-]*)", lambda m: "seconds" if m.group(1) == "time" else m.group(1).replace("-", "_"), msg)
        raise L.Error(f"{what}: {msg}")
    if rd is not None:
        L.check(L.run_dir_check(rd, ro.force))
    task = make_task(ro.seed)
    try:
        return _drive(None if run_dir is None else os.fspath(run_dir), None if model_out is None else os.fspath(model_out),
                      lambda cb, stop: _run_start(ro, task, cb, stop), progress)
    finally:
        if task.value:  # the run never took it
            L.task_free(task)


def _run_start(ro, task, cb, stop):
    t, task.value = task.value, None  # the run owns the task from here (it frees it, also on failure)
    return L.run_start(byref(ro), t, cb, None, stop)


def _new_task(fn, *args):
    t = c_void_p()
    L.check(fn(byref(t), *args))
    return t


def train_lm(data, run_dir=None, *, model_out=None, progress=None, **options):
    """Trains a language model on text files, as `rnnc train` does, and returns a Run.

    data            a text file or a list of them
    run_dir         the run directory (model, best model, checkpoint, metrics.jsonl)
    model_out       without run_dir: only the final model, written to this file
    progress        called with an Event after every step, report, validation, checkpoint
    task options    valid (held-out file), valid_fraction (0.05), tokenizer ("char", "word",
                    "word:N", "bpe:N", a tokenizer file or OpenAI name), cell ("lstm", "gru",
                    "rnn_tanh", "rnn_relu"), layers, hidden, embed, dropout, unigram_bias, batch, seq,
                    eval_max_tokens
    run options     steps, epochs, seconds (a budget is required), optimizer ("adamw", "adam",
                    "sgd"), lr, momentum, weight_decay, beta1, beta2, eps, clip, schedule ("cosine",
                    "constant"), warmup, min_lr_ratio, log_every, eval_every, checkpoint_every,
                    patience, seed, force, ema (decay of a moving average of the weights, which
                    validation and the saved models use; 0 = off)
    Defaults are the CLI's. Ctrl-C stops the run after its current step with the checkpoint
    written, then raises KeyboardInterrupt; rnnc.resume(run_dir) continues it exactly. (Python
    handles signals in the main thread only: a run in another thread is stopped by raising an
    exception in `progress`, which stops it the same way and is raised afterwards.)"""
    keep = []
    files = [L.fspath(p) for p in _paths(data)]
    if not files:
        raise L.Error("train_lm: no data files")
    arr = (c_char_p * len(files))(*files)
    o = L.lm_task_defaults()
    o.data = arr
    o.n_data = len(files)
    kw = dict(options)
    _apply(o, kw, LM_OPTIONS, keep)
    return _start(run_dir, model_out, kw, lambda seed: _new_task(L.lm_task_new, byref(o), seed), "train_lm",
                  LM_OPTIONS, progress)


def train_seq2seq(data, run_dir=None, *, model_out=None, progress=None, **options):
    """Trains a sequence-to-sequence model on TSV pairs (source TAB target), as `rnnc seq2seq
    train`. Task options: valid, source_tokenizer, target_tokenizer ("space", "char", "word[:N]",
    "bpe:N", a file), cell, layers, hidden, embed, dropout, output_dropout, bidirectional,
    reverse_source, batch, teacher_forcing, label_smoothing, max_source, max_target, skip_bad,
    skip_long, valid_max; run options as train_lm's."""
    keep = []
    o = L.s2s_task_defaults()
    d = L.fspath(data)
    o.data = d
    kw = dict(options)
    _apply(o, kw, S2S_OPTIONS, keep)
    summary = (L.ctypes.c_char * 2048)()
    return _start(run_dir, model_out, kw,
                  lambda seed: _new_task(L.s2s_task_new, byref(o), seed, L.ctypes.cast(summary, c_char_p), 2048),
                  "train_seq2seq", S2S_OPTIONS, progress)


def _train_seq(kind, data, run_dir, model_out, progress, options):
    keep = []
    k = {"classify": L.RNNC_SEQ_CLASSIFY, "tag": L.RNNC_SEQ_TAG, "forecast": L.RNNC_SEQ_FORECAST}[kind]
    allowed = SEQ_TASK_OPTIONS[kind]
    what = f"train_{kind}"
    kw = dict(options)
    bad = [n for n in kw if n in SEQ_OPTIONS and n not in allowed]
    if bad:
        raise TypeError(f"{what}: {', '.join(sorted(bad))} do{'es' if len(bad) == 1 else ''} not apply to {kind} "
                        f"(its options: {', '.join(allowed)})")
    for n in ("covariates", "known"):
        if n in kw:
            kw[n] = _list_like(kw[n])
    o = L.seq_task_defaults(k)
    d = L.fspath(data)
    o.data = d
    _apply(o, kw, SEQ_OPTIONS, keep)
    summary = (L.ctypes.c_char * 2048)()
    return _start(run_dir, model_out, kw,
                  lambda seed: _new_task(L.seq_task_new, byref(o), seed, L.ctypes.cast(summary, c_char_p), 2048),
                  what, allowed, progress)


def train_classify(data, run_dir=None, *, model_out=None, progress=None, **options):
    """Trains a classifier on TSV lines label TAB text, as `rnnc classify train`. Options: valid,
    tokenizer, cell, layers, hidden, embed, dropout, output_dropout, bidirectional, pool, batch,
    max_len, skip_bad, class_weight; run options as train_lm's."""
    return _train_seq("classify", data, run_dir, model_out, progress, options)


def train_tag(data, run_dir=None, *, model_out=None, progress=None, **options):
    """Trains a tagger on TSV lines tokens TAB tags, as `rnnc tag train`. Options: valid,
    tokenizer ("space" or "char"), cell, layers, hidden, embed, dropout, output_dropout,
    bidirectional, batch, max_len, skip_bad, skip_long; run options as train_lm's."""
    return _train_seq("tag", data, run_dir, model_out, progress, options)


def train_forecast(data, run_dir=None, *, model_out=None, progress=None, **options):
    """Trains a forecaster on a CSV series, as `rnnc forecast train`. Options: target (the column,
    required), covariates, known (column names: a comma list or a list), context, horizon, season,
    valid_last, holdout, relative, cell, layers, hidden, dropout, output_dropout, bidirectional,
    pool, loss ("mse", "mae"), batch; run options as train_lm's."""
    return _train_seq("forecast", data, run_dir, model_out, progress, options)


def resume(run_dir, *, progress=None, steps=None, epochs=None, seconds=None, log_every=None, eval_every=None,
           checkpoint_every=None, patience=None, task=None, threads=None):
    """Continues the run in run_dir from its checkpoint, exactly (with step or epoch budgets, the
    result is the run that never stopped, bit for bit). A new budget (steps, epochs, seconds)
    replaces the old one; the cadence may change too; anything else comes from the checkpoint.
    task ("lm", "seq2seq", "classify", "tag", "forecast"): the run must be of that task. It goes on
    with the thread count it trained on (a step's numbers depend on it), where this process may use
    that many cores, unless `threads` (or OMP_NUM_THREADS) chooses another; the "started" event
    says both counts. The thread count of the process is as it was afterwards."""
    c = L.run_change_none()
    if steps is not None or epochs is not None or seconds is not None:
        c.steps = 0 if steps is None else _int("steps", steps)
        c.epochs = 0.0 if epochs is None else float(epochs)
        c.seconds = 0.0 if seconds is None else float(seconds)
        for k in ("steps", "epochs", "seconds"):
            v = getattr(c, k)
            if not (v >= 0 and math.isfinite(v)):
                raise L.Error(f"{k} must be finite and not negative, got {v}")
    for k, v, lo in (("log_every", log_every, 0), ("eval_every", eval_every, 0), ("checkpoint_every", checkpoint_every, 1),
                     ("patience", patience, 0)):
        if v is not None:
            setattr(c, k, _int(k, v))
            if getattr(c, k) < lo:  # the library reads a negative as "keep the checkpoint's"
                raise L.Error(f"{k} must be at least {lo}, got {v}")
    if threads is not None:  # 0, as in sample(): no choice (the run's own count)
        c.threads = _int("threads", threads, 32)
        if not 0 <= c.threads <= 1024:
            raise L.Error(f"threads must be in [0, 1024] (0: the run's own), got {threads}")
    t = None if task is None else L.enc(task)
    c.task = t
    rd = L.fspath(run_dir)
    return _drive(os.fspath(run_dir), None, lambda cb, stop: L.run_resume(rd, byref(c), cb, None, stop), progress)
