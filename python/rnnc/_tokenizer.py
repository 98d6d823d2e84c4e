"""Tokenizers (character, word, byte-level BPE) and the tiktoken-style `encoding()`."""

import ctypes
import os
import re
import weakref
from ctypes import byref, c_char_p, c_int, c_size_t, c_uint32, c_void_p

import numpy as np

from . import _lib as L

# ------------------------------------------------------------------------------------- id arrays


def _ids_array(v):
    """A NumPy uint32 array over the ids the library wrote into v (an rnnc_ids), without copying:
    the array owns the library's buffer and frees it when it goes."""
    n = v.len
    if n == 0:
        L.ids_free(byref(v))
        return np.empty(0, dtype=np.uint32)
    addr = ctypes.cast(v.data, c_void_p).value
    buf = (c_uint32 * n).from_address(addr)
    weakref.finalize(buf, L.c_free, addr)
    return np.ctypeslib.as_array(buf)


def _as_ids(ids):
    """ids (a NumPy array or any sequence of ints) as a C-contiguous uint32 array, copied only
    when it is not one already. A negative id is refused as the library refuses an id outside the
    vocabulary."""
    a = np.asarray(ids)
    if a.ndim > 1:  # a batch would be read as one sequence of all its ids
        raise TypeError(f"ids must be one sequence (1-D), not an array of shape {a.shape}; take one row at a time")
    if a.dtype == np.uint32:
        return np.ascontiguousarray(a).reshape(-1)
    if a.size == 0:
        return np.empty(0, dtype=np.uint32)
    if a.dtype.kind not in "iu":
        raise TypeError(f"ids must be integers, not {a.dtype}")
    a = a.reshape(-1)
    if a.dtype.kind == "i":
        neg = np.flatnonzero(a < 0)
        if neg.size:
            raise L.Error(f"id {a[neg[0]]} at position {neg[0]} is negative", "range")
    big = np.flatnonzero(a > 0xFFFFFFFF)
    if big.size:
        raise L.Error(f"id {a[big[0]]} at position {big[0]} does not fit 32 bits", "range")
    return np.ascontiguousarray(a, dtype=np.uint32)


def _ptr(a, ctype=c_uint32):
    return a.ctypes.data_as(ctypes.POINTER(ctype))


# ------------------------------------------------------------------------------------- tokenizers


class Tokenizer:
    """A character, word or byte-level BPE tokenizer (see include/rnnc/tokenizer.h).

    Make one with `Tokenizer.load` (a file written by `rnnc tokenizer train`, a .tiktoken rank
    file, or an OpenAI encoding such as "cl100k_base"), `Tokenizer.train` or
    `Tokenizer.from_json`; a model's own is `LM.tokenizer`. Ids are NumPy uint32 arrays."""

    def __init__(self, handle, name=None):
        self._h = handle
        self.name = name

    @classmethod
    def _own(cls, ptr, name=None):
        return cls(L.Handle(ptr, L.tokenizer_free), name)

    @classmethod
    def load(cls, name_or_path, pattern=None):
        """A tokenizer file or an OpenAI encoding by name (r50k_base, p50k_base, cl100k_base,
        o200k_base, read from the data folder). `pattern`: the pre-tokenizer of a .tiktoken file
        without a sidecar (default cl100k)."""
        out = c_void_p()
        L.check(L.tokenizer_load(byref(out), L.fspath(name_or_path), None if pattern is None else L.enc(pattern)))
        return cls._own(out, str(name_or_path))

    @classmethod
    def from_json(cls, text):
        """The tokenizer from its JSON form (`to_json`, a model's "rnnc.tokenizer" metadata)."""
        b = L.enc(text)
        out = c_void_p()
        L.check(L.tokenizer_from_json(byref(out), b, len(b)))
        return cls._own(out)

    @classmethod
    def train(cls, texts, type="bpe", vocab_size=None, *, min_count=0, min_frequency=0, pattern=None, specials=(),
              threads=0, progress=None):
        """Trains a tokenizer on `texts` (one str or bytes, or a list of them: each a separate text,
        as `rnnc tokenizer train` takes each file), exactly as `rnnc tokenizer train` does:

        type            "char", "word" or "bpe"
        vocab_size      ids in all (word and bpe: required; char: None = no limit)
        min_count       char/word: leave out what occurs fewer times
        min_frequency   bpe: never merge a pair seen fewer times
        pattern         bpe: the pre-tokenizer, r50k | cl100k | o200k or a PCRE2 regex (None: cl100k)
        specials        bpe: special-token texts (they take the top ids)
        threads         bpe: 0 = OpenMP's default
        progress        called as progress(phase, done, total): phase "count" (bytes counted) or
                        "merge" (merges made)
        """
        if isinstance(texts, (str, bytes)):
            texts = [texts]
        blobs = [L.enc(t) for t in texts]
        o = L.tokenizer_train_opts_r()
        t = c_int()
        if not isinstance(type, str) or not L.tokenizer_type_parse(type.encode(), byref(t)):
            raise L.Error(f"type must be char, word or bpe, got {type!r}")
        o.type = t.value
        if vocab_size is None and t.value != L.RNNC_TOKENIZER_CHAR:
            raise L.Error(f"vocab_size is required for a {type} tokenizer")
        o.vocab_size = 0 if vocab_size is None else _nonneg("vocab_size", vocab_size)
        o.min_count = _nonneg("min_count", min_count)
        o.min_frequency = _nonneg("min_frequency", min_frequency)
        if t.value != L.RNNC_TOKENIZER_BPE and (pattern is not None or specials or min_frequency):
            raise L.Error("pattern, specials and min_frequency apply only to type 'bpe'")
        if t.value == L.RNNC_TOKENIZER_BPE and min_count:
            raise L.Error("min_count applies to char and word; BPE has min_frequency")
        pat = None if pattern is None else L.enc(pattern)
        o.pattern = pat
        sp = [L.enc(s) for s in specials]
        sp_arr = (c_char_p * max(1, len(sp)))(*sp)
        o.specials = sp_arr
        o.n_specials = len(sp)
        o.threads = int(threads)
        if not 0 <= o.threads <= 1024 or o.threads != threads:
            raise L.Error(f"threads must be in [0, 1024] (0: OpenMP's default), got {threads}")
        failed = []

        def wrap(phase):
            def cb(done, total, ctx):
                if failed:
                    return
                try:
                    progress(phase, done, total)
                except BaseException as e:  # reported after training: a C callback cannot raise
                    failed.append(e)
            return L.PROGRESS_FN(cb)

        if progress is not None:
            o.progress = wrap("merge")
            o.count_progress = wrap("count")
        arr = (c_char_p * max(1, len(blobs)))(*blobs)
        lens = (c_size_t * max(1, len(blobs)))(*[len(b) for b in blobs])
        out = c_void_p()
        code = L.tokenizer_train(byref(out), arr, lens, len(blobs), byref(o))
        if code:
            raise L.error(code)
        tok = cls._own(out)
        if failed:
            raise failed[0]
        return tok

    # ---- what it is

    @property
    def type(self):
        """"char", "word" or "bpe"."""
        return L.TOKENIZER_TYPES[L.tokenizer_type_of(self._h.ptr)]

    @property
    def n_vocab(self):
        """Ids in all: one past the largest id."""
        return L.tokenizer_n_vocab(self._h.ptr)

    def __len__(self):
        return self.n_vocab

    def __repr__(self):
        return f"<rnnc.Tokenizer {self.type}, {self.n_vocab} ids{', ' + self.name if self.name else ''}>"

    def token_bytes(self, id):
        """The bytes of one id (a char tokenizer's character or byte, a word, a BPE rank or special
        token); an unused id or one outside the vocabulary is an Error."""
        if not 0 <= int(id) < self.n_vocab:
            raise L.Error(f"id {int(id)} is outside the vocabulary of {self.n_vocab} ids", "range")
        b = L.tokenizer_token(self._h.ptr, int(id))
        if not b.data:
            raise L.Error(f"id {int(id)} is not used by this tokenizer", "range")
        return ctypes.string_at(b.data, b.len)

    def special_id(self, text):
        """The id of a reserved or special token by its text ("<bos>", "<|endoftext|>"), or None."""
        i = L.tokenizer_special_id(self._h.ptr, L.enc(text))
        return None if i == 0xFFFFFFFF else i

    @property
    def special_tokens(self):
        """BPE: {text: id} of the special tokens ({} for char and word)."""
        b = L.tokenizer_bpe(self._h.ptr)
        if not b:
            return {}
        out = {}
        for i in range(L.bpe_n_specials(b)):
            s = L.bpe_special(b, i)
            out[s.text.decode("utf-8", "surrogateescape")] = s.id
        return out

    @property
    def pattern(self):
        """BPE: the pre-tokenizer regex (None for char and word)."""
        b = L.tokenizer_bpe(self._h.ptr)
        return L.bpe_pattern(b).decode() if b else None

    # ---- encoding

    def _encode(self, text, allow_special=False):
        units = L.str_units(text)  # a non-ASCII str, read in place (text keeps it alive)
        if units is not None:
            v = L.ids()
            oov = c_size_t(0)
            code = L.tokenizer_encode_units(self._h.ptr, units[0], units[1], units[2], bool(allow_special),
                                            byref(v), byref(oov))
            if not code:
                return _ids_array(v), oov.value
            L.ids_free(byref(v))  # e.g. a lone surrogate: str.encode below raises Python's own error
        ptr, n, _owner = L.text_view(text)  # _owner keeps the bytes alive through the call
        v = L.ids()
        oov = c_size_t(0)
        code = L.tokenizer_encode(self._h.ptr, ptr, n, bool(allow_special), byref(v), byref(oov))
        if code:
            err = L.error(code)
            L.ids_free(byref(v))
            raise err
        return _ids_array(v), oov.value

    def encode(self, text, allow_special=False):
        """The ids of text (str, encoded as UTF-8, or bytes) as a NumPy uint32 array (the library's
        own buffer, not copied). allow_special (BPE): special-token text becomes its id; by default
        it is ordinary text (tiktoken's encode_ordinary)."""
        return self._encode(text, allow_special)[0]

    def encode_count_oov(self, text):
        """(ids, n) with n the out-of-vocabulary count: a word tokenizer's <unk>s, a char
        tokenizer's byte fallbacks (0 for BPE)."""
        return self._encode(text)

    def decode_bytes(self, ids):
        """The bytes of ids (a NumPy array or a sequence of ints)."""
        a = _as_ids(ids)
        out = L.bytes_()
        code = L.tokenizer_decode(self._h.ptr, _ptr(a), a.size, byref(out))
        if code:
            err = L.error(code)
            L.bytes_free(byref(out))
            raise err
        return L.take_bytes(out)

    def decode(self, ids, errors="replace"):
        """The text of ids, bytes that are not valid UTF-8 decoded with `errors` (as tiktoken)."""
        return self.decode_bytes(ids).decode("utf-8", errors)

    # ---- files

    def to_json(self):
        """The whole tokenizer as one JSON text (the form model files store)."""
        p = c_void_p()
        L.check(L.tokenizer_to_json(self._h.ptr, byref(p)))
        try:
            return ctypes.string_at(p.value).decode("utf-8")
        finally:
            L.c_free(p.value)

    def save(self, path):
        """char/word: the JSON file; bpe: a .tiktoken rank file and its sidecar PATH.json. Atomic."""
        L.check(L.tokenizer_save(self._h.ptr, L.fspath(path)))


def _nonneg(name, v):
    v = int(v)
    if not 0 <= v < 1 << 63:
        raise L.Error(f"{name} must be in [0, 2^63), got {v}")
    return v


# ------------------------------------------------------------------------------ tiktoken's shape

_OPENAI = ("r50k_base", "p50k_base", "cl100k_base", "o200k_base")


class Encoding:
    """An OpenAI encoding with tiktoken's interface (`tiktoken.get_encoding(name)`): encode gives
    a list of ints, the same ids as tiktoken's; encode_to_numpy a NumPy uint32 array."""

    def __init__(self, name):
        self.name = name
        self._tok = Tokenizer.load(name)
        self._special_tokens = self._tok.special_tokens
        self.n_vocab = self._tok.n_vocab
        self.max_token_value = self.n_vocab - 1
        self.eot_token = self._special_tokens.get("<|endoftext|>")
        self._regexes = {}
        self._prefixes = {}

    def __repr__(self):
        return f"<Encoding {self.name!r}>"

    def _regex(self, specials):
        """One compiled pattern matching any of the special texts (a single pass over the text),
        cached per set."""
        rx = self._regexes.get(specials)
        if rx is None:
            rx = self._regexes[specials] = re.compile(
                "|".join(re.escape(t) for t in sorted(specials, key=len, reverse=True)))
        return rx

    def _find_special(self, text, specials):
        """The first of `specials` in text (the longest where several start there), or None. Where
        they share a prefix of 2+ characters (tiktoken's all start with "<|"), str.find runs over
        the text for that prefix at memchr-like speed, which is about twice as fast as the
        regular expression on big texts; after 64 hits that are no special, the expression."""
        if not text or not specials:
            return None
        plan = self._prefixes.get(specials)
        if plan is None:  # per set, once: the common prefix and the specials longest first
            plan = self._prefixes[specials] = (os.path.commonprefix(list(specials)),
                                               sorted(specials, key=len, reverse=True))
        prefix, by_len = plan
        if len(prefix) >= 2:
            at = text.find(prefix)
            for _ in range(64):
                if at < 0:
                    return None
                for sp in by_len:
                    if text.startswith(sp, at):
                        return sp
                at = text.find(prefix, at + 1)
            if at < 0:
                return None
        else:
            at = 0
        m = self._regex(specials).search(text, at)
        return m.group() if m else None

    @property
    def special_tokens_set(self):
        return set(self._special_tokens)

    @property
    def tokenizer(self):
        """The rnnc.Tokenizer behind it."""
        return self._tok

    def _specials(self, text, allowed_special, disallowed_special):
        """The special tokens text may turn into, after tiktoken's checks: text holding a
        disallowed special token is a ValueError, as in tiktoken."""
        if allowed_special == "all":
            allowed_special = self.special_tokens_set
        allowed = set(allowed_special)
        if disallowed_special == "all":
            disallowed_special = self.special_tokens_set - allowed
        if disallowed_special:
            s = self._find_special(text, frozenset(disallowed_special))
            if s is not None:
                raise ValueError(
                    f"Encountered text corresponding to disallowed special token {s!r}.\n"
                    f"If you want this text to be encoded as a special token, pass it to `allowed_special`, "
                    f"e.g. `allowed_special={{{s!r}, ...}}`.\n"
                    f"If you want this text to be encoded as normal text, disable the check for this token "
                    f"by passing `disallowed_special=(enc.special_tokens_set - {{{s!r}}})`.\n"
                    f"To disable this check for all special tokens, pass `disallowed_special=()`.\n")
        return allowed

    def encode_to_numpy(self, text, *, allowed_special=frozenset(), disallowed_special="all"):
        allowed = self._specials(text, allowed_special, disallowed_special)
        if not allowed:
            return self._tok.encode(text)
        if allowed == self.special_tokens_set:
            return self._tok.encode(text, allow_special=True)
        # some specials only: the text between them is ordinary text (as tiktoken splits it)
        rx = self._regex(frozenset(allowed))
        parts, pos = [], 0
        for m in rx.finditer(text):
            parts.append(self._tok.encode(text[pos:m.start()]))
            parts.append(np.array([self._special_tokens[m.group()]], dtype=np.uint32))
            pos = m.end()
        parts.append(self._tok.encode(text[pos:]))
        return np.concatenate(parts)

    def encode(self, text, *, allowed_special=frozenset(), disallowed_special="all"):
        """tiktoken's encode: special-token text is an error unless allowed (allowed_special a set
        of texts or "all"), or made ordinary text by leaving it out of disallowed_special."""
        return self.encode_to_numpy(text, allowed_special=allowed_special,
                                    disallowed_special=disallowed_special).tolist()

    def encode_ordinary(self, text):
        return self._tok.encode(text).tolist()

    def encode_batch(self, texts, *, allowed_special=frozenset(), disallowed_special="all"):
        return [self.encode(t, allowed_special=allowed_special, disallowed_special=disallowed_special) for t in texts]

    def encode_single_token(self, text_or_bytes):
        ids = self._tok.encode(text_or_bytes, allow_special=True)
        if ids.size != 1:
            raise KeyError(text_or_bytes)
        return int(ids[0])

    def decode(self, tokens, errors="replace"):
        return self._tok.decode(tokens, errors)

    def decode_bytes(self, tokens):
        return self._tok.decode_bytes(tokens)

    def decode_single_token_bytes(self, token):
        return self._tok.token_bytes(token)

    def decode_batch(self, batch, errors="replace"):
        return [self.decode(t, errors) for t in batch]


_encodings = {}


def encoding(name):
    """tiktoken.get_encoding's counterpart: "r50k_base", "p50k_base", "cl100k_base" or
    "o200k_base", read from the data folder ($RNNC_DATA, or the source tree's data/ filled by
    scripts/fetch-data.sh). Encodings are cached, as tiktoken's are."""
    if name not in _OPENAI:
        raise ValueError(f"Unknown encoding {name!r}; rnnc knows {', '.join(_OPENAI)}")
    e = _encodings.get(name)
    if e is None:
        e = _encodings[name] = Encoding(name)
    return e


def list_encoding_names():
    return list(_OPENAI)
