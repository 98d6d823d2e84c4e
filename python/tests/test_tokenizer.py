"""Tokenizers: training, encoding and decoding against the CLI (`rnnc tokenizer ...`), OpenAI
encodings against tiktoken's own ids (tests/golden/tiktoken_cases.json, made by tiktoken), ids as
NumPy arrays over the library's buffer, and errors."""

import base64
import gc
import json
import random
from pathlib import Path

import numpy as np
import pytest

import rnnc
from conftest import cli

ROOT = Path(__file__).resolve().parents[2]


def ids_of(stdout):
    return [int(x) for x in stdout.split()]


@pytest.mark.parametrize("kind,extra,cli_extra", [
    ("char", {}, []),
    ("char", {"vocab_size": 300, "min_count": 2}, ["--vocab-size", 300, "--min-count", 2]),
    ("word", {"vocab_size": 600}, ["--vocab-size", 600]),
    ("bpe", {"vocab_size": 500, "specials": ["<|endoftext|>"]}, ["--vocab-size", 500, "--special", "<|endoftext|>"]),
    ("bpe", {"vocab_size": 400, "pattern": r"\S+|\s+", "min_frequency": 3},
     ["--vocab-size", 400, "--pattern", r"\S+|\s+", "--min-frequency", 3]),
])
def test_train_equals_cli(tmp_path, rnnc_bin, corpus, kind, extra, cli_extra):
    ext = ".tiktoken" if kind == "bpe" else ".json"
    phases = set()
    t = rnnc.Tokenizer.train(corpus.read_bytes(), kind, progress=lambda ph, d, n: phases.add(ph), **extra)
    t.save(tmp_path / ("py" + ext))
    cli(rnnc_bin, "tokenizer", "train", "--type", kind, *cli_extra, "-o", tmp_path / ("cli" + ext), corpus)
    assert (tmp_path / ("py" + ext)).read_bytes() == (tmp_path / ("cli" + ext)).read_bytes()
    if kind == "bpe":
        assert (tmp_path / "py.tiktoken.json").read_bytes() == (tmp_path / "cli.tiktoken.json").read_bytes()
        assert phases == {"count", "merge"}
    assert t.type == kind
    # encode and decode equal the CLI's with the saved file
    text = corpus.read_bytes()[:20000]
    (tmp_path / "in.txt").write_bytes(text)
    ids = t.encode(text)
    assert ids.dtype == np.uint32 and ids.tolist() == ids_of(cli(rnnc_bin, "tokenizer", "encode", "-t",
                                                                 tmp_path / ("cli" + ext), tmp_path / "in.txt").stdout)
    (tmp_path / "ids.txt").write_text(" ".join(map(str, ids.tolist())))
    assert t.decode_bytes(ids) == cli(rnnc_bin, "tokenizer", "decode", "-t", tmp_path / ("cli" + ext),
                                      tmp_path / "ids.txt").stdout
    # the file loads back to the same tokenizer
    u = rnnc.Tokenizer.load(tmp_path / ("cli" + ext))
    assert u.n_vocab == t.n_vocab and u.to_json() == t.to_json()
    assert rnnc.Tokenizer.from_json(t.to_json()).encode(text).tolist() == ids.tolist()


@pytest.mark.parametrize("kind,size", [("char", None), ("bpe", 300)])
def test_round_trip_random_bytes(kind, size, corpus):
    t = rnnc.Tokenizer.train(corpus.read_bytes()[:50000], kind, size)
    r = random.Random(3)
    for n in (0, 1, 7, 1000, 70000):
        b = bytes(r.randrange(256) for _ in range(n))
        assert t.decode_bytes(t.encode(b)) == b
    s = "héllo wörld ✓ 中文 😀"
    assert t.decode(t.encode(s)) == s


def test_str_read_in_place_equals_bytes(corpus):
    """An ASCII str is read in place (CPython's own UTF-8 view); every other str, str subclass,
    lone surrogate (surrogateescape) or bytes gives the ids of its UTF-8 bytes."""
    t = rnnc.Tokenizer.train(corpus.read_bytes()[:50000], "bpe", 400)

    class S(str):
        pass

    text = corpus.read_text(encoding="utf-8", errors="replace")[:20000]
    ascii_text = text.encode("ascii", "ignore").decode("ascii")
    for s in (ascii_text, "", "a", text, "caf\u00e9 \u4e2d\U0001f600", "x\udc80y", S(ascii_text), ascii_text[5:900],
              "caf\u00e9", "\u2014" + ascii_text + "\u00e9\udcff", "\U0001f600\udc80"):
        want = t.encode(s.encode("utf-8", "surrogateescape"))
        got = t.encode(s)
        assert got.tolist() == want.tolist()
        assert t.decode_bytes(got) == s.encode("utf-8", "surrogateescape")
    for bad in ("x\ud800y", "\ud83d\ude00", "\u00e9\udbff", "\U0001f600\ud800"):
        with pytest.raises(UnicodeEncodeError):  # surrogates that are not escaped bytes: as str.encode
            t.encode(bad)
    with pytest.raises(TypeError):
        t.encode(1234)


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_str_code_units_read_in_place(corpus, kind):
    """A non-ASCII str of each of CPython's three forms (Latin-1, UCS-2, UCS-4) is read in place as
    code units (rnnc_tokenizer_encode_units) and gives the ids of its UTF-8; a str subclass, an
    ASCII str and non-str take the other ways."""
    import platform
    from rnnc import _lib as L
    t = rnnc.Tokenizer.train(corpus.read_bytes()[:50000], kind, None if kind == "char" else 400)
    base = corpus.read_text(encoding="utf-8", errors="replace")[:30000].encode("ascii", "ignore").decode()
    texts = {1: base + " caf\u00e9 \u00ff", 2: "\u2014" + base + "\u4e2d\udcc3 \ufffd", 4: base + " \U0001f600\udc80 \U0010ffff"}
    for unit, s in texts.items():
        view = L.str_units(s)
        if platform.python_implementation() == "CPython":
            assert view is not None and view[1] == len(s) and view[2] == unit
        assert t.encode(s).tolist() == t.encode(s.encode("utf-8", "surrogateescape")).tolist()
        assert t.encode_count_oov(s)[1] == t.encode_count_oov(s.encode("utf-8", "surrogateescape"))[1]

    class S(str):
        pass

    assert L.str_units(S(texts[2])) is None and L.str_units(base) is None and L.str_units(b"x") is None
    assert t.encode(S(texts[2])).tolist() == t.encode(texts[2]).tolist()
    with pytest.raises(UnicodeEncodeError):
        t.encode(texts[4] + "\ud800")


def test_ids_are_the_library_buffer():
    """encode returns the library's own buffer (no copy); it is freed with the last array over it."""
    t = rnnc.Tokenizer.train("abcabc", "char")
    ids = t.encode("abc" * 1000)
    assert not ids.flags.owndata and ids.flags.writeable and ids.size == 3000
    view = ids[10:20]
    del ids
    gc.collect()
    assert t.decode(view) == ("abc" * 4)[1:11]


def test_decode_accepts_lists_and_arrays():
    t = rnnc.Tokenizer.train("hello", "char")
    ids = t.encode("hello")
    for x in (ids, ids.tolist(), ids.astype(np.int64), tuple(ids.tolist()), ids.astype(np.int32)[::-1][::-1]):
        assert t.decode(x) == "hello"
    assert t.decode([]) == ""


def test_errors(tmp_path):
    t = rnnc.Tokenizer.train("hello", "char")
    with pytest.raises(rnnc.Error) as e:
        t.decode([4, 99999])
    assert e.value.status == "range" and "99999" in str(e.value) and "position 1" in str(e.value)
    with pytest.raises(rnnc.Error) as e:
        t.decode([-1])
    assert e.value.status == "range" and "-1" in str(e.value)
    with pytest.raises(rnnc.Error) as e:
        rnnc.Tokenizer.load(tmp_path / "none.json")
    assert "none.json" in str(e.value)
    with pytest.raises(rnnc.Error) as e:
        rnnc.Tokenizer.train("", "bpe", 300)
    assert "empty" in str(e.value)
    with pytest.raises(rnnc.Error) as e:
        rnnc.Tokenizer.train("abc", "bpe", 300, pattern="(ab")
    assert "missing closing parenthesis" in str(e.value)
    with pytest.raises(rnnc.Error):
        rnnc.Tokenizer.train("abc", "bpe")  # no vocab_size
    with pytest.raises(rnnc.Error):
        rnnc.Tokenizer.train("abc", "unigram", 10)
    with pytest.raises(rnnc.Error) as e:
        rnnc.Tokenizer.from_json('{"type": "char"')
    assert "tokenizer JSON" in str(e.value)
    with pytest.raises(rnnc.Error):
        t.save(tmp_path / "missing_dir" / "t.json")
    assert not (tmp_path / "missing_dir").exists()


def test_progress_exception_is_raised(corpus):
    def progress(phase, done, total):
        raise RuntimeError("stop here")
    with pytest.raises(RuntimeError, match="stop here"):
        rnnc.Tokenizer.train(corpus.read_bytes()[:20000], "bpe", 300, progress=progress)


# ---- OpenAI encodings

def cases():
    return json.loads((ROOT / "tests" / "golden" / "tiktoken_cases.json").read_text())["cases"]


def need(data_dir, name):
    if not (data_dir / "tiktoken" / f"{name}.tiktoken").is_file():
        pytest.skip(f"{name} not fetched (scripts/fetch-data.sh)")


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_encoding_equals_tiktoken(data_dir, name):
    need(data_dir, name)
    enc = rnnc.encoding(name)
    assert rnnc.get_encoding(name) is enc and enc.name == name
    n = 0
    for c in cases():
        raw = base64.b64decode(c["b64"])
        assert enc.tokenizer.encode(raw).tolist() == c["ordinary"][name], c["name"]
        if "special" in c:
            assert enc.tokenizer.encode(raw, allow_special=True).tolist() == c["special"][name], c["name"]
        if raw == c["text"].encode("utf-8", "surrogatepass"):
            assert enc.encode_ordinary(c["text"]) == c["ordinary"][name], c["name"]
            if "special" in c:
                assert enc.encode(c["text"], allowed_special="all") == c["special"][name], c["name"]
            assert enc.decode(c["ordinary"][name]) == c["text"]
            n += 1
    assert n > 100


def test_encoding_special_rules_as_tiktoken(data_dir):
    need(data_dir, "cl100k_base")
    enc = rnnc.encoding("cl100k_base")
    assert enc.encode("i hate programming") == [72, 12491, 15840]
    assert enc.eot_token == 100257 and enc.n_vocab == 100277 and "<|fim_prefix|>" in enc.special_tokens_set
    with pytest.raises(ValueError, match="disallowed special token"):
        enc.encode("a <|endoftext|>")
    assert enc.encode("a <|endoftext|>", disallowed_special=()) == enc.encode_ordinary("a <|endoftext|>")
    # only the allowed special becomes its id; the other stays text (and must then be allowed as text)
    text = "x<|endoftext|>y<|fim_prefix|>z"
    got = enc.encode(text, allowed_special={"<|endoftext|>"}, disallowed_special=())
    assert got == (enc.encode_ordinary("x") + [100257] + enc.encode_ordinary("y<|fim_prefix|>z"))
    with pytest.raises(ValueError):
        enc.encode(text, allowed_special={"<|endoftext|>"})
    assert enc.encode_single_token("<|endoftext|>") == 100257
    assert enc.decode_single_token_bytes(15339) == b"hello"
    assert enc.decode([9906, 11, 1917, 0]) == "Hello, world!"
    with pytest.raises(ValueError):
        rnnc.encoding("gpt2")


def test_find_special_equals_regex(data_dir):
    """The disallowed-special check (a prefix scan with str.find, then the expression after 64
    decoys) finds what one regular expression over the text finds: the leftmost special, the
    longest where several start there, also for specials without a common prefix."""
    import random
    import re
    need(data_dir, "cl100k_base")
    enc = rnnc.encoding("cl100k_base")
    r = random.Random(7)
    sets = [frozenset(enc.special_tokens_set), frozenset({"<|a|>", "<|ab|>", "<|a"}), frozenset({"END", "<|x|>"}),
            frozenset({"\u00e9\u00e9", "\u00e9\u00e9!"})]
    bits = ["<|", "<|a", "<|ab|>", "<|a|>", "<|endoftext|>", "<|fim_prefix|", "END", "EN", "x", " ", "\u00e9", "!",
            "<|x|>", "\u4e2d"]
    for k in range(400):
        specials = sets[k % len(sets)]
        decoys = r.choice((0, 3, 70, 200))
        text = "".join(r.choice(bits[:2]) for _ in range(decoys)) + "".join(r.choice(bits) for _ in range(r.randrange(30)))
        rx = re.compile("|".join(re.escape(t) for t in sorted(specials, key=len, reverse=True)))
        m = rx.search(text)
        assert enc._find_special(text, specials) == (m.group() if m else None), (text, specials)


def test_encoding_equals_cli_on_sotu(data_dir, rnnc_bin):
    need(data_dir, "cl100k_base")
    sotu = data_dir / "sotu.txt"
    if not sotu.is_file():
        pytest.skip("data/sotu.txt not fetched")
    enc = rnnc.encoding("cl100k_base")
    text = sotu.read_bytes()[:300000]  # over 256 KiB: the threaded encoder
    ids = enc.encode_to_numpy(text.decode("utf-8"))
    assert ids.tolist() == ids_of(cli(rnnc_bin, "tokenizer", "encode", "-t", "cl100k_base", input=text).stdout)
