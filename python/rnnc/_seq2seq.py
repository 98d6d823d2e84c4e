"""Sequence-to-sequence models: translate with greedy or beam search."""

import ctypes
import os
import threading
from ctypes import byref, c_int, c_size_t

import numpy as np

from . import _lib as L
from ._tokenizer import _ptr


class Seq2Seq:
    """A model written by `rnnc seq2seq train`: an encoder whose final states, through the bridge,
    start the decoder (include/rnnc/seq2seq.h).

        g2p = rnnc.Seq2Seq.load("runs/g2p/best.safetensors")
        g2p.translate("h e l l o", beam=5)                 # 'HH AH0 L OW1'
        g2p.translate("h e l l o", beam=5, nbest=3)        # [(text, score), ...] best first
    """

    def __init__(self, handle, path):
        self._h = handle
        self._tr = None  # the translator (the packed weights), made at the first translation, then kept
        self._tr_lock = threading.Lock()
        self.path = path

    @classmethod
    def load(cls, path):
        m = ctypes.POINTER(L.s2s_model)()
        L.check(L.s2s_load(byref(m), L.fspath(path)))
        return cls(L.Handle(m, L.s2s_model_free), os.fspath(path))

    @property
    def _m(self):
        return self._h.ptr.contents

    @property
    def config(self):
        c = self._m.c
        return {"cell": L.cell_name(c.cell).decode(), "src_vocab": c.src_vocab, "tgt_vocab": c.tgt_vocab,
                "embed": c.embed, "hidden": c.hidden, "layers": c.layers, "bidirectional": bool(c.bidirectional),
                "reverse_source": bool(c.reverse_source), "dropout": float(c.dropout),
                "output_dropout": float(c.output_dropout)}

    def __repr__(self):
        c = self.config
        return (f"<rnnc.Seq2Seq {c['cell']} {c['layers']}x{c['hidden']}{' bidirectional' if c['bidirectional'] else ''}, "
                f"vocabularies {c['src_vocab']} -> {c['tgt_vocab']}>")

    def encode_source(self, text):
        """(source ids, unknown symbols) of a source line, as translate reads it."""
        b = L.enc(text)
        v = L.ids()
        unk = c_size_t(0)
        src_vocab = ctypes.pointer(self._m.src_vocab)
        try:
            L.check(L.s2s_encode_ex(src_vocab, b, len(b), False, byref(v), byref(unk)))
            return np.ctypeslib.as_array(v.data, shape=(v.len,)).copy() if v.len else np.empty(0, np.uint32), unk.value
        finally:
            L.ids_free(byref(v))

    def _decode(self, ids, n):
        out = L.bytes_()
        code = L.s2s_decode(ctypes.pointer(self._m.tgt_vocab), ids, n, byref(out))
        if code:
            err = L.error(code)
            L.bytes_free(byref(out))
            raise err
        return L.take_bytes(out).decode("utf-8", "replace")

    @staticmethod
    def _check_search(beam, nbest, alpha):
        beam, nbest = int(beam), int(nbest)
        if not 1 <= beam <= 1000:
            raise L.Error(f"beam must be in [1, 1000], got {beam}")
        if not 1 <= nbest <= beam:
            raise L.Error(f"nbest {nbest} needs a beam of at least {nbest}" if nbest > beam else
                          f"nbest must be >= 1, got {nbest}")
        if alpha is None:
            alpha = 1.0
        elif beam == 1:  # as `rnnc seq2seq translate --alpha` without --beam
            L.warn("alpha is ignored without a beam (greedy decoding ranks nothing)")
        alpha = float(alpha)
        if not 0 <= alpha <= 10:
            raise L.Error(f"alpha must be in [0, 10], got {alpha}")
        return beam, nbest, alpha

    def _translator(self):
        """The model's translator, its weights packed once: made at the first translation (under a
        lock, so threads translating at once share one and none is freed under another), then kept.
        The library lets several threads run one translator at once."""
        with self._tr_lock:
            if self._tr is None:
                t = ctypes.c_void_p()
                L.check(L.s2s_translator_new(byref(t), self._h.ptr))
                self._tr = L.Handle(t.value, L.s2s_translator_free)
            return self._tr

    def _search(self, srcs, beam, nbest, alpha, max_len, batch):
        """[(text, score), ...] best first for each of the non-empty id arrays srcs."""
        n = len(srcs)
        ptrs = (ctypes.POINTER(ctypes.c_uint32) * n)(*[_ptr(x) for x in srcs])
        lens = (c_int * n)(*[x.size for x in srcs])
        hyps = (L.s2s_hyp * (n * nbest))()
        n_out = (c_int * n)()
        tr = self._translator()  # held for the call
        L.check(L.s2s_translator_run(tr.ptr, ptrs, lens, n, beam, alpha, nbest, max_len, batch, hyps, n_out))
        try:
            return [[(self._decode(hyps[j * nbest + k].ids, hyps[j * nbest + k].len), hyps[j * nbest + k].score)
                     for k in range(n_out[j])] for j in range(n)]
        finally:
            for k in range(n * nbest):
                L.s2s_hyp_free(byref(hyps[k]))

    @staticmethod
    def _check_max_len(max_len):
        ml = 0 if max_len is None else int(max_len)
        if max_len is not None and not 1 <= ml <= 1 << 20:
            raise L.Error(f"max_len must be in [1, {1 << 20}], got {ml}")
        return ml

    def translate_many(self, lines, beam=1, *, nbest=1, alpha=None, max_len=None, batch=64):
        """The translations of many source lines, one entry per line, each exactly what
        translate() gives it, made `batch` lines at a time (lines of like length together) as
        `rnnc seq2seq translate` makes them from a file: much faster than a loop over translate()."""
        beam, nbest, alpha = self._check_search(beam, nbest, alpha)
        batch = int(batch)
        if not 1 <= batch <= 1 << 16:
            raise L.Error(f"batch must be in [1, {1 << 16}], got {batch}")
        ml = self._check_max_len(max_len)
        if isinstance(lines, (str, bytes)):  # iterating it would translate each character
            raise TypeError(f"translate_many: lines must be a list of lines, not one {type(lines).__name__} "
                            "(translate() takes one line)")
        srcs = [self.encode_source(t)[0] for t in lines]
        empty = "" if nbest == 1 else [("", float("-inf"))] * nbest
        res = [empty if nbest == 1 else list(empty) for _ in srcs]
        idx = [i for i, x in enumerate(srcs) if x.size]
        if idx:
            for i, got in zip(idx, self._search([srcs[i] for i in idx], beam, nbest, alpha, ml, batch)):
                res[i] = got[0][0] if nbest == 1 else got
        return res

    def translate(self, text, beam=1, *, nbest=1, alpha=None, max_len=None):
        """The translation of one source line, as `rnnc seq2seq translate` makes it: greedy
        decoding (beam 1) or beam search of width `beam` ranked by log-probability /
        (length + 1)^alpha (default 1; given with beam 1 it changes nothing, and warns); max_len:
        the longest output in symbols (default 2 x source length + 10). With nbest > 1 (at most
        beam): a list of (text, score), best first. An empty source gives "" (or [("", -inf)] *
        nbest). The model's weights are packed for decoding at the first call and kept, so a loop
        over lines pays for that once."""
        beam, nbest, alpha = self._check_search(beam, nbest, alpha)
        ml = self._check_max_len(max_len)
        src, _ = self.encode_source(text)
        if src.size == 0:
            return "" if nbest == 1 else [("", float("-inf"))] * nbest
        got = self._search([src], beam, nbest, alpha, ml, 1)[0]
        return got[0][0] if nbest == 1 else got
