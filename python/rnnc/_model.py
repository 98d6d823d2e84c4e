"""Language models: load, weights as NumPy views, logits, sampling, evaluation, nearest neighbours."""

import codecs
import ctypes
import os
import time
from ctypes import byref, c_double, c_float, c_int, c_int32, c_size_t, c_uint32, c_ubyte, c_void_p

import numpy as np

from . import _lib as L
from ._tokenizer import Tokenizer, _as_ids, _ptr


def _view(handle, ptr, offset, shape):
    """A read-only NumPy float32 view of `shape` at float offset `offset` of ptr, keeping
    `handle` (the object that owns the memory) alive as long as the view or any view of it lives."""
    n = int(np.prod(shape))
    addr = ctypes.cast(ptr, c_void_p).value + 4 * offset
    buf = (c_float * n).from_address(addr)
    buf._owner = handle
    a = np.frombuffer(memoryview(buf).cast("B").toreadonly(), dtype=np.float32, count=n)
    return a.reshape(shape)


class LM:
    """A language model file written by `rnnc train` (or any safetensors with its rnnc.config):
    embedding -> recurrent stack -> linear head, PyTorch's names and layout.

        m = rnnc.LM.load("runs/char/best.safetensors")
        m.embedding          # (V, E) float32, read-only, no copy
        for piece in m.sample("The state", n=100, seed=1): print(piece, end="")
    """

    def __init__(self, handle, tokenizer, path):
        self._h = handle
        self.tokenizer = tokenizer
        self.path = path

    @classmethod
    def load(cls, path):
        """Loads and validates a model file, with its tokenizer (None for a model of id files).
        A file of another kind (a seq2seq model, a checkpoint, a tokenizer) is an Error saying what
        it is and which command takes it."""
        m = ctypes.POINTER(L.lm)()
        tok = c_void_p()
        L.check(L.lm_load_tokenizer(byref(m), byref(tok), L.fspath(path)))
        h = L.Handle(m, L.lm_free)
        return cls(h, Tokenizer._own(tok) if tok.value else None, os.fspath(path))

    @property
    def _m(self):
        return self._h.ptr.contents

    @property
    def config(self):
        """{"cell", "vocab", "embed", "hidden", "layers", "dropout"} (the file's rnnc.config)."""
        c = self._m.c
        return {"cell": L.cell_name(c.cell).decode(), "vocab": c.vocab, "embed": c.embed, "hidden": c.hidden,
                "layers": c.layers, "dropout": float(c.dropout)}

    @property
    def n_params(self):
        return self._m.n_params

    def __repr__(self):
        c = self.config
        return (f"<rnnc.LM {c['cell']} {c['layers']}x{c['hidden']}, embed {c['embed']}, vocab {c['vocab']}, "
                f"{self.n_params} parameters>")

    def meta(self, key):
        """A metadata value of the file ("rnnc.tokenizer", "rnnc.unseen_ids", ...), or None."""
        v = L.lm_get_meta(self._h.ptr, L.enc(key))
        return None if v is None else v.decode("utf-8")

    # ---- weights

    def state_dict(self):
        """{name: read-only float32 view} of every parameter tensor in PyTorch's state_dict order
        and names ("embedding.weight", "rnn.weight_ih_l0", ..., "head.bias"): load it into the
        equivalent torch module with load_state_dict({k: torch.from_numpy(v.copy()) ...})."""
        m = self._h.ptr
        out = {}
        for k in range(L.lm_num_tensors(m)):
            t = L.lm_tensor(m, k)
            shape = tuple(t.shape[i] for i in range(t.ndim))
            out[t.name.decode()] = _view(self._h, m.contents.params, t.offset, shape)
        return out

    @property
    def embedding(self):
        """The (V, E) embedding matrix: a read-only view of the model's own memory (no copy), which
        keeps the model alive."""
        m = self._m
        return _view(self._h, m.params, m.off_embedding, (m.c.vocab, m.c.embed))

    # ---- computing

    def logits(self, ids):
        """The next-token logits after each of `ids`, from the zero state: (len(ids), V) float32 (a
        copy). ids: a NumPy array or a sequence of ints, or a str encoded with the model's tokenizer."""
        if isinstance(ids, (str, bytes)):
            ids = self._require_tokenizer().encode(ids)
        a = _as_ids(ids)
        T = a.size
        if T == 0:
            raise L.Error("logits: no ids")
        V = self._m.c.vocab
        bad = np.flatnonzero(a >= V)
        if bad.size:
            raise L.Error(f"id {a[bad[0]]} at position {bad[0]} is outside the vocabulary of {V}", "range")
        x = np.ascontiguousarray(a, dtype=np.int32)
        ws = c_void_p()
        L.check(L.lm_ws_new(byref(ws), self._h.ptr, 1, T))
        try:
            out = ctypes.POINTER(c_float)()
            L.check(L.lm_forward(self._h.ptr, ws, _ptr(x, c_int), 1, T, False, None, byref(out)))
            return np.ctypeslib.as_array(out, shape=(T, V)).copy()
        finally:
            L.lm_ws_free(ws)

    def generator(self, seed=None, temperature=1.0, top_k=0, top_p=1.0, half=False, threads=1):
        """A Generator: feed ids, draw tokens one at a time (the state of one sequence)."""
        return Generator(self, seed, temperature, top_k, top_p, half, threads)

    def sample(self, prompt="", n=200, *, temperature=1.0, top_k=0, top_p=1.0, seed=None, half=False, threads=1):
        """Generates n tokens after the prompt and yields their text as it is made (a str per
        token, a character split across tokens held back until it is whole), as `rnnc sample`
        writes it: with the same seed and options (--threads 1) the pieces joined are what
        `rnnc sample` prints after the prompt. Without a prompt generation starts after a newline.
        seed None: a different one every call."""
        tok = self._require_tokenizer()
        g = self.generator(seed, temperature, top_k, top_p, half, threads)
        primer = prompt if prompt else "\n"
        ids = tok.encode(primer)
        if ids.size == 0:
            raise L.Error("prompt: the tokenizer gives no tokens for this text")
        n = int(n)
        if n < 0:
            raise L.Error(f"n must be >= 0, got {n}")
        return self._stream(g, tok, ids, n, bool(prompt))

    def _stream(self, g, tok, ids, n, shown_prompt):
        g.feed(ids)
        dec = codecs.getincrementaldecoder("utf-8")("replace")
        nxt = g._next
        if tok.type == "word":
            # word spacing depends on the neighbours: decode the whole text, yield its new tail
            all_ids = list(ids) if shown_prompt else []
            shown = len(tok.decode_bytes(all_ids)) if all_ids else 0
            for _ in range(n):
                all_ids.append(nxt())
                b = tok.decode_bytes(all_ids)
                if len(b) > shown:
                    s = dec.decode(b[shown:])
                    shown = len(b)
                    if s:
                        yield s
        else:
            table = _token_table(tok)
            for _ in range(n):
                s = dec.decode(table(nxt()))
                if s:
                    yield s
        s = dec.decode(b"", final=True)
        if s:
            yield s

    def eval(self, text, batch=16, seq=128):
        """Loss of the model on `text` (str, bytes, or a path given as os.PathLike) encoded with
        its tokenizer, as `rnnc eval --data` computes it: every token but the first is a target,
        the targets cut into B streams (fewer when the text is short) read in windows of T tokens,
        the state carried between windows, the last window stopping where each stream ends.
        Returns {"loss" (nats per token), "ppl", "bpb" (absent when a word model met <unk>: the
        bytes behind it are not modelled), "tokens" (the targets), "bytes", "oov" (the
        tokenizer's out-of-vocabulary count)}."""
        tok = self._require_tokenizer()
        if isinstance(text, os.PathLike):
            with open(text, "rb") as f:
                text = f.read()
        data = L.enc(text)
        if not data:
            raise L.Error("no text to evaluate (it is empty)")
        ids, oov = tok.encode_count_oov(data)
        if ids.size < 2:
            raise L.Error(f"nothing to evaluate: its {len(data)} bytes give {ids.size} tokens, and the first token is only context")
        B, T = int(batch), int(seq)
        if B < 1 or T < 1:
            raise L.Error(f"batch and seq must be >= 1, got {B} and {T}")
        x32 = ids.view(np.int32)
        L.check(L.ids_check_vocab(_ptr(x32, c_int32), ids.size, self._m.c.vocab, b"text"))
        loss, n_targets = c_double(), c_size_t()
        L.check(L.lm_text_loss(self._h.ptr, _ptr(x32, c_int32), ids.size, B, T, byref(loss), byref(n_targets)))
        targets = float(n_targets.value)
        # the text's bytes but the first token's (char, BPE: the tokens are the bytes, in order); a
        # word tokenizer's share out the text in proportion to the tokens, as rnnc eval does
        first = len(tok.token_bytes(int(ids[0]))) if tok.type != "word" else None
        nbytes = float(len(data) - first) if first is not None and first <= len(data) else len(data) * targets / ids.size
        r = {"loss": loss.value, "ppl": L.perplexity(loss.value), "tokens": int(targets), "bytes": nbytes,
             "oov": oov}
        if not (tok.type == "word" and oov > 0):
            r["bpb"] = L.bits_per_byte(loss.value, targets, nbytes)
        return r

    def similar(self, *terms, k=10):
        """The k tokens whose embedding vectors are nearest in direction (cosine similarity) to a
        word's, as `rnnc similar`: similar("war") for one word, similar("king", "-", "man", "+",
        "woman") for the sum of unit vectors (the words themselves left out). A word is one token
        of the model's tokenizer (for BPE also the word after a space). Tokens never seen in
        training are never answers nor queries. Returns [(token text, similarity), ...], best
        first."""
        ids, signs, sign, dangling = [], [], 1, False
        tok = self._require_tokenizer()
        for t in terms:
            if t in ("+", "-"):
                if not ids or dangling:
                    raise L.Error(f"'{t}' must stand between two words")
                sign, dangling = (-1 if t == "-" else 1), True
                continue
            ids.append(self._find_token(tok, t) if isinstance(t, str) else int(t))
            signs.append(sign)
            sign, dangling = 1, False
        if dangling:
            raise L.Error("'+' or '-' at the end needs a word after it")
        if not ids:
            raise L.Error("similar: give one or more words")
        k = int(k)
        if k < 1:
            raise L.Error(f"k must be >= 1, got {k}")
        skip = self._unseen_mask(tok)
        V, D = self._m.c.vocab, self._m.c.embed
        k = min(k, V)
        for t, i in zip([t for t in terms if t not in ("+", "-")], ids):
            if not 0 <= i < V:
                raise L.Error(f"id {i} is outside the vocabulary of {V}", "range")
            if skip[i]:
                raise L.Error(f"'{t}' (token {i}) never occurred in the training data (metadata rnnc.unseen_ids), "
                              "so its vector is still the random initial one")
        a_ids = np.array(ids, dtype=np.uint32)
        a_signs = np.array(signs, dtype=np.int32)
        nb = (L.neighbor * k)()
        n = c_size_t()
        m = self._m
        E = ctypes.cast(ctypes.cast(m.params, c_void_p).value + 4 * m.off_embedding, ctypes.POINTER(c_float))
        L.check(L.similar_terms_skip(E, V, D, _ptr(a_ids), _ptr(a_signs, c_int), len(ids),
                                     _ptr(skip, c_ubyte), k, nb, byref(n)))
        return [(tok.token_bytes(nb[i].id).decode("utf-8", "replace"), float(nb[i].sim)) for i in range(n.value)]

    def _find_token(self, tok, word):
        first = None
        for attempt in range(2):
            ids, oov = tok.encode_count_oov((" " if attempt else "") + word)
            if attempt == 0:
                first = ids.size
            if ids.size == 1 and oov == 0:
                return int(ids[0])
            if tok.type != "bpe":
                break
        if first > 1:
            raise L.Error(f"unknown word '{word}': it is {first} tokens for this model's {tok.type} tokenizer, not one")
        raise L.Error(f"unknown word '{word}': not in this model's {tok.type} vocabulary")

    def _unseen_mask(self, tok):
        V = self._m.c.vocab
        skip = np.zeros(V, dtype=np.uint8)
        first = {"char": L.RNNC_CHAR_FIRST, "word": L.RNNC_TOK_N_RESERVED}.get(tok.type, 0)
        if first < V:
            skip[:first] = 1
        unseen = L.lm_get_meta(self._h.ptr, b"rnnc.unseen_ids")
        if unseen is not None:
            code = L.unseen_ids_parse(unseen, V, _ptr(skip, c_ubyte))
            if code:
                raise L.Error(f"{self.path}: {L.last_error().decode()}", L.status_name(code).decode())
        return skip

    def _require_tokenizer(self):
        if self.tokenizer is None:
            raise L.Error(f"{self.path}: the model file has no tokenizer (metadata 'rnnc.tokenizer'); give it ids")
        return self.tokenizer


def _token_table(tok):
    """id -> bytes for a tokenizer, cached on it (one library call per id the first time)."""
    t = getattr(tok, "_bytes_cache", None)
    if t is None:
        cache = {}
        ptr = tok._h.ptr

        def t(i):
            b = cache.get(i)
            if b is None:
                tb = L.tokenizer_token(ptr, i)
                b = cache[i] = ctypes.string_at(tb.data, tb.len) if tb.data else b""
            return b
        tok._bytes_cache = t
    return t


class Generator:
    """The recurrent state of one sequence with its sampler and random generator (generate.h):
    feed() runs ids through the model, next() draws the following token and makes it the next
    input. Temperature 0 is greedy."""

    def __init__(self, model, seed=None, temperature=1.0, top_k=0, top_p=1.0, half=False, threads=1):
        p = L.sample_params_r(float(temperature), int(top_k), float(top_p))
        L.check(L.sample_check(byref(p)))
        if float(temperature) == 0:  # greedy draws nothing: as `rnnc sample` says, these change nothing
            given = [n for n, on in (("top_k", int(top_k) > 0), ("top_p", float(top_p) < 1), ("seed", seed is not None))
                     if on]
            if given:
                L.warn(f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} ignored with temperature 0 "
                       "(greedy: always the likeliest token)")
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "little") ^ time.time_ns()
        seed = int(seed)
        if not 0 <= seed < 2**64:
            raise L.Error(f"seed must be in [0, 2^64), got {seed}")
        g = c_void_p()
        L.check(L.generator_new(byref(g), model._h.ptr, byref(p), seed))
        self._model = model  # the generator borrows the model
        self._h = L.Handle(g.value, L.generator_free)
        if half:
            L.check(L.generator_use_half(self._h.ptr))
        threads = int(threads)
        if not 0 <= threads <= 1024:
            raise L.Error(f"threads must be in [0, 1024] (0: OpenMP's default), got {threads}")
        L.generator_set_threads(self._h.ptr, threads)
        self._id = c_uint32()
        self._id_ref = byref(self._id)
        self._gen_next = L.generator_next
        self._vocab = model._m.c.vocab

    def feed(self, ids):
        """Runs ids (a NumPy array, a sequence of ints) through the model after what came before."""
        a = _as_ids(ids)
        L.check(L.generator_feed(self._h.ptr, _ptr(a), a.size))

    def _next(self):
        code = self._gen_next(self._h.ptr, self._id_ref)
        if code:
            raise L.error(code)
        return self._id.value

    def next(self):
        """Draws the next token id from the logits of the last input; it becomes the next input."""
        return self._next()

    def reset(self):
        """Back to the zero state (the random generator is not reseeded)."""
        L.generator_reset(self._h.ptr)

    def logits(self):
        """The (V,) logits next() would draw from (a copy), or None before any input."""
        p = L.generator_logits(self._h.ptr)
        if not p:
            return None
        return np.ctypeslib.as_array(p, shape=(self._vocab,)).copy()
