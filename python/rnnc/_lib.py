"""librnnc.so through ctypes: finding and loading the library, the public structs the package
uses (mirrored field for field; tests/test_abi.py checks every size and offset against the C
compiler's), the function prototypes, and errors.

Nothing here is part of the package's interface: the modules beside it wrap it in Python types.
"""

import ctypes
import ctypes.util
import os
import sys
import warnings
from ctypes import (CFUNCTYPE, POINTER, Structure, c_bool, c_char, c_char_p, c_double, c_float, c_int, c_int32,
                    c_long, c_size_t, c_uint32, c_uint64, c_void_p)
from pathlib import Path

from ._version import __version__

# ---------------------------------------------------------------------------------------- loading

_HERE = Path(__file__).resolve().parent
_SONAME = "librnnc.so.0"


def _candidates():
    """Where librnnc.so is looked for, in order, as (path, how it was found)."""
    env = os.environ.get("RNNC_LIBRARY")
    if env:
        yield env, "RNNC_LIBRARY"
        return
    # a copy bundled by `pip install ./python` (setup.py)
    for name in (_SONAME, "librnnc.so"):
        yield str(_HERE / name), "the package directory"
    # the source tree's default build directory (python/rnnc -> <root>/build)
    for name in (_SONAME, "librnnc.so"):
        yield str(_HERE.parent.parent / "build" / name), "the source tree's build/"
    # an installed library (make install), through the dynamic loader's search
    found = ctypes.util.find_library("rnnc")
    yield found or _SONAME, "the system's library path"


def _load():
    tried = []
    for path, how in _candidates():
        if how != "the system's library path" and not os.path.exists(path):
            if how == "RNNC_LIBRARY":
                raise ImportError(f"rnnc: RNNC_LIBRARY={path}: no such file")
            tried.append(path)
            continue
        if os.path.exists(path):
            path = os.path.abspath(path)
        try:
            return ctypes.CDLL(path), path, how
        except OSError as e:
            if how == "RNNC_LIBRARY":
                raise ImportError(f"rnnc: RNNC_LIBRARY={path}: cannot load it: {e}") from None
            tried.append(f"{path} ({e})")
    raise ImportError(
        "rnnc: librnnc.so not found (looked for " + ", ".join(tried) + "); build it with "
        "`cmake -S . -B build -DRNNC_PACKAGE=ON && cmake --build build` (or `make build`), install it "
        "(`make install`), or set RNNC_LIBRARY to its path")


lib, path, found_by = _load()

# ---------------------------------------------------------------------------------------- structs

class token_bytes(Structure):
    _fields_ = [("data", c_void_p), ("len", c_size_t)]


class special_token(Structure):
    _fields_ = [("text", c_char_p), ("id", c_uint32)]


class ids(Structure):
    _fields_ = [("data", POINTER(c_uint32)), ("len", c_size_t), ("cap", c_size_t)]


class bytes_(Structure):
    _fields_ = [("data", c_void_p), ("len", c_size_t), ("cap", c_size_t)]


PROGRESS_FN = CFUNCTYPE(None, c_size_t, c_size_t, c_void_p)


class tokenizer_train_opts(Structure):
    _fields_ = [("type", c_int), ("vocab_size", c_size_t), ("min_count", c_uint64), ("min_frequency", c_uint64),
                ("pattern", c_char_p), ("specials", POINTER(c_char_p)), ("n_specials", c_size_t),
                ("threads", c_int), ("progress", PROGRESS_FN), ("count_progress", PROGRESS_FN),
                ("progress_ctx", c_void_p)]


class lm_config(Structure):
    _fields_ = [("cell", c_int), ("vocab", c_int), ("embed", c_int), ("hidden", c_int), ("layers", c_int),
                ("dropout", c_float)]


class rnn_config(Structure):
    _fields_ = [("cell", c_int), ("input", c_int), ("hidden", c_int), ("layers", c_int),
                ("bidirectional", c_bool), ("dropout", c_float)]


class lm(Structure):
    _fields_ = [("c", lm_config), ("rnn", rnn_config), ("n_params", c_size_t), ("params", POINTER(c_float)),
                ("grads", POINTER(c_float)), ("off_embedding", c_size_t), ("off_rnn", c_size_t),
                ("off_head_w", c_size_t), ("off_head_b", c_size_t), ("n_meta", c_size_t),
                ("meta_keys", POINTER(c_char_p)), ("meta_values", POINTER(c_char_p))]


class param_info(Structure):
    _fields_ = [("name", c_char * 48), ("ndim", c_int), ("shape", c_int * 2), ("offset", c_size_t),
                ("size", c_size_t)]


class sample_params(Structure):
    _fields_ = [("temperature", c_float), ("top_k", c_int), ("top_p", c_float)]


class stream(Structure):
    _fields_ = [("ids", POINTER(c_int32)), ("len", c_size_t), ("B", c_int), ("T", c_int), ("n", c_size_t),
                ("windows", c_size_t)]


class neighbor(Structure):
    _fields_ = [("id", c_uint32), ("sim", c_float)]


class optim_config(Structure):
    _fields_ = [("kind", c_int), ("lr", c_double), ("momentum", c_double), ("weight_decay", c_double),
                ("beta1", c_double), ("beta2", c_double), ("eps", c_double)]


class run_opts(Structure):
    _fields_ = [("steps", c_long), ("epochs", c_double), ("seconds", c_double), ("optim", optim_config),
                ("clip", c_double), ("schedule", c_int), ("warmup", c_long), ("min_lr_ratio", c_double),
                ("log_every", c_long), ("eval_every", c_long), ("checkpoint_every", c_long), ("patience", c_long),
                ("seed", c_uint64), ("run_dir", c_char_p), ("model_out", c_char_p), ("force", c_bool),
                ("comm", c_void_p), ("ema", c_double)]


class run_change(Structure):
    _fields_ = [("steps", c_long), ("epochs", c_double), ("seconds", c_double), ("log_every", c_long),
                ("eval_every", c_long), ("checkpoint_every", c_long), ("patience", c_long), ("task", c_char_p),
                ("comm", c_void_p), ("threads", c_int)]


class metric(Structure):
    _fields_ = [("name", c_char_p), ("value", c_double)]


class valid_result(Structure):
    _fields_ = [("m", metric * 8), ("n", c_size_t), ("score", c_double * 2), ("line", c_char * 160)]


class run_event(Structure):
    _fields_ = [("kind", c_int), ("step", c_long), ("total_steps", c_long), ("epoch", c_double),
                ("tokens", c_double), ("elapsed", c_double), ("seconds_budget", c_double), ("loss", c_double),
                ("lr", c_double), ("tokens_per_s", c_double), ("valid", POINTER(valid_result)),
                ("improved", c_bool), ("resumed", c_bool), ("message", c_char_p), ("allreduce_s", c_double),
                ("wait_s", c_double), ("threads", c_int), ("threads_trained", c_int),
                ("best_step", c_long), ("best_line", c_char_p), ("lr_was", c_double),
                ("from_stdin", c_bool)]


RUN_CALLBACK = CFUNCTYPE(None, POINTER(run_event), c_void_p)


class lm_task_opts(Structure):
    _fields_ = [("data", POINTER(c_char_p)), ("n_data", c_size_t), ("valid", c_char_p),
                ("valid_fraction", c_double), ("tokenizer", c_char_p), ("cell", c_int), ("layers", c_int),
                ("hidden", c_int), ("embed", c_int), ("dropout", c_float), ("unigram_bias", c_bool),
                ("batch", c_int), ("seq", c_int), ("eval_max_tokens", c_long)]


class s2s_config(Structure):
    _fields_ = [("cell", c_int), ("src_vocab", c_int), ("tgt_vocab", c_int), ("embed", c_int), ("hidden", c_int),
                ("layers", c_int), ("bidirectional", c_bool), ("reverse_source", c_bool), ("dropout", c_float),
                ("output_dropout", c_float)]


class s2s_task_opts(Structure):
    _fields_ = [("data", c_char_p), ("valid", c_char_p), ("source_tokenizer", c_char_p),
                ("target_tokenizer", c_char_p), ("model", s2s_config), ("batch", c_int),
                ("teacher_forcing", c_double), ("label_smoothing", c_double), ("max_source", c_int),
                ("max_target", c_int), ("skip_bad", c_bool), ("skip_long", c_bool), ("valid_max", c_long)]


class seq_config(Structure):
    _fields_ = [("kind", c_int), ("cell", c_int), ("vocab", c_int), ("embed", c_int), ("features", c_int),
                ("hidden", c_int), ("layers", c_int), ("bidirectional", c_bool), ("dropout", c_float),
                ("output_dropout", c_float), ("pool", c_int), ("outputs", c_int), ("known", c_int),
                ("loss", c_int), ("max_len", c_int)]


class seq_task_opts(Structure):
    _fields_ = [("kind", c_int), ("data", c_char_p), ("valid", c_char_p), ("tokenizer", c_char_p),
                ("model", seq_config), ("batch", c_int), ("max_len", c_int), ("skip_bad", c_bool),
                ("skip_long", c_bool), ("class_weight", c_char_p), ("target", c_char_p), ("covariates", c_char_p),
                ("known", c_char_p), ("context", c_int), ("horizon", c_int), ("season", c_int),
                ("valid_last", c_long), ("holdout", c_long), ("relative", c_bool)]


class s2s_vocab(Structure):
    _fields_ = [("tok", c_int), ("sym", POINTER(c_char_p)), ("n", c_size_t), ("cap", c_size_t),
                ("table", POINTER(c_uint32)), ("table_cap", c_size_t), ("tk", c_void_p)]


class s2s_model(Structure):
    _fields_ = [("c", s2s_config), ("enc", rnn_config), ("dec", rnn_config), ("n_params", c_size_t),
                ("params", POINTER(c_float)), ("off_src_emb", c_size_t), ("off_enc", c_size_t),
                ("off_bridge_h", c_size_t), ("off_bridge_c", c_size_t), ("off_tgt_emb", c_size_t),
                ("off_dec", c_size_t), ("off_head_w", c_size_t), ("off_head_b", c_size_t),
                ("src_vocab", s2s_vocab), ("tgt_vocab", s2s_vocab)]


class s2s_hyp(Structure):
    _fields_ = [("ids", POINTER(c_uint32)), ("len", c_int), ("logprob", c_double), ("score", c_double),
                ("finished", c_bool)]


def _reserved(cls):
    """The mirror of an options struct that C reads (or returns by value) with 64 zero bytes
    after it: a field appended to the C struct before its mirror follows (the layout test then
    fails) lands in them and reads as zero, its "unset" value, instead of C reading or writing
    past the Python object."""
    return type(cls.__name__ + "_reserved", (cls,), {"_fields_": [("_reserved", ctypes.c_ubyte * 64)]})


run_opts_r = _reserved(run_opts)
run_change_r = _reserved(run_change)
lm_task_opts_r = _reserved(lm_task_opts)
s2s_task_opts_r = _reserved(s2s_task_opts)
seq_task_opts_r = _reserved(seq_task_opts)
tokenizer_train_opts_r = _reserved(tokenizer_train_opts)
sample_params_r = _reserved(sample_params)
optim_config_r = _reserved(optim_config)

# The C name of each mirror, for the layout test.
STRUCTS = {
    "rnnc_token_bytes": token_bytes, "rnnc_special_token": special_token, "rnnc_ids": ids,
    "rnnc_bytes": bytes_, "rnnc_tokenizer_train_opts": tokenizer_train_opts, "rnnc_lm_config": lm_config,
    "rnnc_rnn_config": rnn_config, "rnnc_lm": lm, "rnnc_param_info": param_info,
    "rnnc_sample_params": sample_params, "rnnc_stream": stream, "rnnc_neighbor": neighbor,
    "rnnc_optim_config": optim_config, "rnnc_run_opts": run_opts, "rnnc_run_change": run_change,
    "rnnc_valid_result": valid_result, "rnnc_run_event": run_event, "rnnc_lm_task_opts": lm_task_opts,
    "rnnc_s2s_config": s2s_config, "rnnc_s2s_task_opts": s2s_task_opts, "rnnc_seq_config": seq_config,
    "rnnc_seq_task_opts": seq_task_opts, "rnnc_s2s_vocab": s2s_vocab, "rnnc_s2s_model": s2s_model,
    "rnnc_s2s_hyp": s2s_hyp,
}

# The enum values and constants used here (checked by the layout test too).
CONSTANTS = {
    "RNNC_OK": 0, "RNNC_ERR_IO": 1, "RNNC_ERR_FORMAT": 2, "RNNC_ERR_ARG": 3, "RNNC_ERR_NOMEM": 4,
    "RNNC_ERR_RANGE": 5, "RNNC_ERR_NUMERIC": 6, "RNNC_ERR_INTERRUPTED": 7,
    "RNNC_TOKENIZER_CHAR": 0, "RNNC_TOKENIZER_WORD": 1, "RNNC_TOKENIZER_BPE": 2,
    "RNNC_SCHEDULE_COSINE": 0, "RNNC_SCHEDULE_CONSTANT": 1,
    "RNNC_RUN_STARTED": 0, "RNNC_RUN_PROGRESS": 1, "RNNC_RUN_REPORT": 2, "RNNC_RUN_VALID": 3,
    "RNNC_RUN_CHECKPOINT": 4, "RNNC_RUN_DONE": 5, "RNNC_MAX_METRICS": 8,
    "RNNC_SEQ_CLASSIFY": 0, "RNNC_SEQ_TAG": 1, "RNNC_SEQ_FORECAST": 2,
    "RNNC_TOK_N_RESERVED": 4, "RNNC_CHAR_FIRST": 260, "RNNC_S2S_EOS": 2,
}
globals().update(CONSTANTS)
TOKENIZER_TYPES = ("char", "word", "bpe")
EVENT_KINDS = ("started", "progress", "report", "valid", "checkpoint", "done")

# ------------------------------------------------------------------------------------- prototypes

status = c_int
P = POINTER
vp = c_void_p
_PROTOS = {
    # status, version, buffers
    "rnnc_last_error": (c_char_p, []),
    "rnnc_status_name": (c_char_p, [status]),
    "rnnc_version": (c_char_p, []),
    "rnnc_ids_free": (None, [P(ids)]),
    "rnnc_bytes_free": (None, [P(bytes_)]),
    # tokenizers
    "rnnc_tokenizer_train": (status, [P(vp), P(c_char_p), P(c_size_t), c_size_t, P(tokenizer_train_opts_r)]),
    "rnnc_tokenizer_load": (status, [P(vp), c_char_p, c_char_p]),
    "rnnc_tokenizer_save": (status, [vp, c_char_p]),
    "rnnc_tokenizer_to_json": (status, [vp, P(c_void_p)]),
    "rnnc_tokenizer_from_json": (status, [P(vp), c_char_p, c_size_t]),
    "rnnc_tokenizer_free": (None, [vp]),
    "rnnc_tokenizer_type_of": (c_int, [vp]),
    "rnnc_tokenizer_n_vocab": (c_size_t, [vp]),
    "rnnc_tokenizer_token": (token_bytes, [vp, c_uint32]),
    "rnnc_tokenizer_special_id": (c_uint32, [vp, c_char_p]),
    "rnnc_tokenizer_encode": (status, [vp, c_void_p, c_size_t, c_bool, P(ids), P(c_size_t)]),
    "rnnc_tokenizer_encode_units": (status, [vp, c_void_p, c_size_t, c_int, c_bool, P(ids), P(c_size_t)]),
    "rnnc_tokenizer_decode": (status, [vp, P(c_uint32), c_size_t, P(bytes_)]),
    "rnnc_tokenizer_type_parse": (c_bool, [c_char_p, P(c_int)]),
    "rnnc_tokenizer_bpe": (vp, [vp]),
    "rnnc_bpe_n_specials": (c_size_t, [vp]),
    "rnnc_bpe_special": (special_token, [vp, c_size_t]),
    "rnnc_bpe_pattern": (c_char_p, [vp]),
    "rnnc_bpe_encode": (status, [vp, c_char_p, c_size_t, c_bool, P(ids)]),
    # language models
    "rnnc_lm_load_tokenizer": (status, [P(P(lm)), P(vp), c_char_p]),
    "rnnc_lm_free": (None, [P(lm)]),
    "rnnc_lm_num_tensors": (c_size_t, [P(lm)]),
    "rnnc_lm_tensor": (param_info, [P(lm), c_size_t]),
    "rnnc_lm_get_meta": (c_char_p, [P(lm), c_char_p]),
    "rnnc_lm_ws_new": (status, [P(vp), P(lm), c_int, c_int]),
    "rnnc_lm_ws_free": (None, [vp]),
    "rnnc_lm_forward": (status, [P(lm), vp, P(c_int), c_int, c_int, c_bool, vp, P(P(c_float))]),
    "rnnc_lm_stream_loss": (status, [P(lm), vp, P(stream), c_size_t, P(c_int), P(c_int), P(c_double)]),
    "rnnc_lm_text_loss": (status, [P(lm), P(c_int32), c_size_t, c_int, c_int, P(c_double), P(c_size_t)]),
    "rnnc_cell_name": (c_char_p, [c_int]),
    "rnnc_cell_parse": (status, [c_char_p, P(c_int)]),
    "rnnc_stream_init": (status, [P(stream), P(c_int32), c_size_t, c_int, c_int]),
    "rnnc_ids_check_vocab": (status, [P(c_int32), c_size_t, c_int, c_char_p]),
    "rnnc_perplexity": (c_double, [c_double]),
    "rnnc_bits_per_byte": (c_double, [c_double, c_double, c_double]),
    # generation
    "rnnc_sample_check": (status, [P(sample_params_r)]),
    "rnnc_generator_new": (status, [P(vp), P(lm), P(sample_params_r), c_uint64]),
    "rnnc_generator_free": (None, [vp]),
    "rnnc_generator_reset": (None, [vp]),
    "rnnc_generator_feed": (status, [vp, P(c_uint32), c_size_t]),
    "rnnc_generator_next": (status, [vp, P(c_uint32)]),
    "rnnc_generator_use_half": (status, [vp]),
    "rnnc_generator_set_threads": (None, [vp, c_int]),
    "rnnc_generator_logits": (P(c_float), [vp]),
    # embeddings
    "rnnc_similar_terms_skip": (status, [P(c_float), c_size_t, c_size_t, P(c_uint32), P(c_int), c_size_t,
                                         P(ctypes.c_ubyte), c_size_t, P(neighbor), P(c_size_t)]),
    "rnnc_unseen_ids_parse": (status, [c_char_p, c_size_t, P(ctypes.c_ubyte)]),
    # training
    "rnnc_optim_defaults": (optim_config_r, [c_int, c_double]),
    "rnnc_optim_parse": (status, [c_char_p, P(c_int)]),
    "rnnc_run_defaults": (run_opts_r, []),
    "rnnc_run_opts_check": (status, [P(run_opts_r)]),
    "rnnc_run_dir_check": (status, [c_char_p, c_bool]),
    "rnnc_run_change_none": (run_change_r, []),
    "rnnc_run_start": (status, [P(run_opts_r), vp, RUN_CALLBACK, vp, P(c_int)]),
    "rnnc_run_resume": (status, [c_char_p, P(run_change_r), RUN_CALLBACK, vp, P(c_int)]),
    "rnnc_task_free": (None, [vp]),
    "rnnc_lm_task_defaults": (lm_task_opts_r, []),
    "rnnc_lm_task_new": (status, [P(vp), P(lm_task_opts_r), c_uint64]),
    "rnnc_s2s_task_defaults": (s2s_task_opts_r, []),
    "rnnc_s2s_task_new": (status, [P(vp), P(s2s_task_opts_r), c_uint64, c_char_p, c_size_t]),
    "rnnc_seq_task_defaults": (seq_task_opts_r, [c_int]),
    "rnnc_seq_task_new": (status, [P(vp), P(seq_task_opts_r), c_uint64, c_char_p, c_size_t]),
    "rnnc_seq_kind_parse": (status, [c_char_p, P(c_int)]),
    "rnnc_pool_parse": (status, [c_char_p, P(c_int)]),
    "rnnc_seq_loss_parse": (status, [c_char_p, P(c_int)]),
    # seq2seq
    "rnnc_s2s_load": (status, [P(P(s2s_model)), c_char_p]),
    "rnnc_s2s_model_free": (None, [P(s2s_model)]),
    "rnnc_s2s_encode_ex": (status, [P(s2s_vocab), c_char_p, c_size_t, c_bool, P(ids), P(c_size_t)]),
    "rnnc_s2s_decode": (status, [P(s2s_vocab), P(c_uint32), c_size_t, P(bytes_)]),
    "rnnc_s2s_greedy": (status, [P(s2s_model), P(c_uint32), P(c_int), c_int, c_int, c_int, P(c_uint32), P(c_int)]),
    "rnnc_s2s_beam": (status, [P(s2s_model), P(c_uint32), c_int, c_int, c_int, c_double, c_int, P(s2s_hyp),
                               P(c_int)]),
    "rnnc_s2s_hyp_free": (None, [P(s2s_hyp)]),
    "rnnc_s2s_translate": (status, [P(s2s_model), P(P(c_uint32)), P(c_int), c_size_t, c_int, c_double, c_int, c_int,
                                    c_int, P(s2s_hyp), P(c_int)]),
    "rnnc_s2s_translator_new": (status, [P(vp), P(s2s_model)]),
    "rnnc_s2s_translator_free": (None, [vp]),
    "rnnc_s2s_translator_run": (status, [vp, P(P(c_uint32)), P(c_int), c_size_t, c_int, c_double, c_int, c_int,
                                            c_int, P(s2s_hyp), P(c_int)]),
}

for _name, (_res, _args) in _PROTOS.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args
    globals()[_name[len("rnnc_"):]] = _f
del _name, _res, _args, _f

_libc = ctypes.CDLL(None)
c_free = _libc.free
c_free.restype = None
c_free.argtypes = [c_void_p]

# ---------------------------------------------------------------------------------------- errors


class Error(Exception):
    """A failure reported by librnnc: the library's one-line message (naming the file, line, flag,
    tensor or id at fault), with `status` the library's short name of its class ("io", "format",
    "arg", "nomem", "range", "numeric", "interrupted")."""

    def __init__(self, message, status="arg"):
        super().__init__(message)
        self.message = message
        self.status = status


def warn(message):
    """warnings.warn(message) pointed at the first frame outside this package: the user's line,
    however many of rnnc's own calls (LM.generator, LM.sample, Seq2Seq.translate_many) lie
    between it and the check that warns."""
    here, f, level = os.path.dirname(os.path.abspath(__file__)), sys._getframe(1), 2  # 1: this function
    while f is not None and os.path.dirname(os.path.abspath(f.f_code.co_filename)) == here:
        f, level = f.f_back, level + 1
    warnings.warn(message, stacklevel=level)


def error(code):
    """The Error for a failed call: the message the library left on this thread."""
    return Error(last_error().decode("utf-8", "replace"), status_name(code).decode())


def check(code):
    if code != RNNC_OK:
        raise error(code)


def enc(s, what="text"):
    """A str or bytes argument as bytes (UTF-8 for str)."""
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode("utf-8", "surrogateescape")
    if isinstance(s, os.PathLike):
        return os.fsencode(s)
    raise TypeError(f"{what} must be str or bytes, not {type(s).__name__}")


# CPython's own UTF-8 view of a str: for an ASCII-only str it is the str's storage itself (no copy
# and no conversion), so encode() reads an ASCII text in place.
try:
    _as_utf8 = ctypes.pythonapi.PyUnicode_AsUTF8AndSize
    _as_utf8.restype = c_void_p
    _as_utf8.argtypes = [ctypes.py_object, POINTER(ctypes.c_ssize_t)]
except (AttributeError, ValueError):  # not CPython
    _as_utf8 = None


def text_view(s, what="text"):
    """(pointer, length, owner) of the UTF-8 bytes of s (str or bytes), for a call that reads them
    while owner is alive: an ASCII str in place, any other str encoded (surrogateescape, as enc)."""
    if _as_utf8 is not None and type(s) is str and s.isascii():
        n = ctypes.c_ssize_t(0)
        addr = _as_utf8(s, ctypes.byref(n))
        if addr:
            return addr, n.value, s
    b = enc(s, what)
    return b, len(b), b


# Any other str: CPython keeps it (PEP 393) as a "compact" object, a header and then the code
# units, 1, 2 or 4 bytes each (Latin-1, UCS-2, code points), which the library reads in place
# (rnnc_tokenizer_encode_units) and makes UTF-8 on its threads, chunk by chunk, instead of
# str.encode("utf-8") making a copy of the whole text first. The header's layout is CPython's
# own, not its API, so it is found at import on strs of each kind and checked against their own
# encodings (and at each call, the length and both ends against the str): where any check fails
# (another interpreter, another layout, a str subclass) the text goes through str.encode.
_SSIZE = ctypes.sizeof(ctypes.c_ssize_t)
_STATE = 4 * _SSIZE  # after ob_refcnt, ob_type, length and hash
_LENGTH = 2 * _SSIZE
_UNIT_CODEC = {1: "latin-1", 2: "utf-16-" + ("le" if sys.byteorder == "little" else "be"),
               4: "utf-32-" + ("le" if sys.byteorder == "little" else "be")}


def _units_raw(s):
    """(address, kind) of s's code units from its header, or None; no checks against s."""
    state = ctypes.c_uint32.from_address(id(s) + _STATE).value
    kind, compact, ascii_ = (state >> 2) & 7, (state >> 5) & 1, (state >> 6) & 1
    if not compact or ascii_ or kind not in (1, 2, 4):
        return None
    return id(s) + _HEADER, kind


def _probe_units():
    if sys.implementation.name != "cpython":
        return False
    global _HEADER
    _HEADER = sys.getsizeof(chr(0x100)) - 2 * 2  # a fresh 1-unit UCS-2 str: header + 2 units (with NUL)
    for s, kind in (("\xe9" + "abc" * 5, 1), ("\u2022x" * 7, 2), ("\U0001F600y" * 3, 4)):
        s = "".join(list(s))  # a fresh object, not a constant
        got = _units_raw(s)
        if got is None or got[1] != kind or ctypes.c_ssize_t.from_address(id(s) + _LENGTH).value != len(s):
            return False
        if ctypes.string_at(got[0], len(s) * kind) != s.encode(_UNIT_CODEC[kind], "surrogatepass"):
            return False
    return True


_HEADER = 0
try:
    _units_ok = _probe_units()
except Exception:  # noqa: BLE001 - any surprise means: do not read strs in place
    _units_ok = False


def str_units(s):
    """(address, n, unit) of a non-ASCII str's own code units, valid while s is alive; or None
    (not a str, ASCII, or not a layout this module checked)."""
    if not _units_ok or type(s) is not str or s.isascii() or not s:
        return None
    got = _units_raw(s)
    if got is None:
        return None
    addr, kind = got
    n = len(s)
    if ctypes.c_ssize_t.from_address(id(s) + _LENGTH).value != n:
        return None
    at = ctypes.c_uint8 if kind == 1 else ctypes.c_uint16 if kind == 2 else ctypes.c_uint32
    if at.from_address(addr).value != ord(s[0]) or at.from_address(addr + (n - 1) * kind).value != ord(s[-1]):
        return None
    return addr, n, kind


def fspath(p):
    """A path argument (str, bytes or os.PathLike) as bytes for the library."""
    if isinstance(p, (str, bytes, os.PathLike)):
        return os.fsencode(p)
    raise TypeError(f"a path must be str, bytes or os.PathLike, not {type(p).__name__}")


def take_bytes(b):
    """The contents of an rnnc_bytes as Python bytes; frees the buffer."""
    try:
        return ctypes.string_at(b.data, b.len) if b.len else b""
    finally:
        bytes_free(ctypes.byref(b))


class Handle:
    """Owns one library object and frees it when the last Python reference goes: models, views of
    their weights and generators hold the handle of what they read, so nothing is freed under
    them."""

    __slots__ = ("ptr", "_free", "__weakref__")

    def __init__(self, ptr, free):
        self.ptr = ptr
        self._free = free

    def __del__(self):
        if getattr(self, "ptr", None):  # (a half-made copy has none)
            self._free(self.ptr)
            self.ptr = None

    def __reduce__(self):
        # a pointer into this process's library: pickling or copying it would free one object
        # twice; the objects that hold it (models, tokenizers) say what to do instead
        raise TypeError("rnnc objects cannot be pickled or copied: save the model (or tokenizer) to a file and load it "
                        "again")

    def __copy__(self):
        return self.__reduce__()

    def __deepcopy__(self, memo):
        return self.__reduce__()


def library_version():
    return version().decode()


def _check_version():
    have = library_version()
    if have.split(".")[:2] != __version__.split(".")[:2]:
        raise ImportError(f"rnnc: the package is version {__version__} but {path} is librnnc {have}: their "
                          "structs may differ; use the library of the same release (or set RNNC_LIBRARY)")


_check_version()


def _data_dir():
    """The data folder (OpenAI encodings) when RNNC_DATA is not set: the one recorded at install
    (`pip install ./python` from a source tree), else the source tree's data/ beside the library's
    build folder or beside this package."""
    dirs = []
    try:
        from . import _install
        dirs.append(_install.DATA_DIR)
    except ImportError:
        pass
    dirs += [str(Path(path).resolve().parent.parent / "data"), str(_HERE.parent.parent / "data")]
    for d in dirs:
        if d and os.path.isdir(d):
            return d
    return None


if not os.environ.get("RNNC_DATA"):
    _d = _data_dir()
    if _d:
        # librnnc reads RNNC_DATA (rnnc_data_dir); its fallback beside the executable would look
        # beside python3
        os.environ["RNNC_DATA"] = _d
