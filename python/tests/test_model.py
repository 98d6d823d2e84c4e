"""Language models: sampling, evaluation and nearest neighbours against the CLI on models trained
by both; the embedding and state_dict as read-only views of the model's memory; and the logits
against PyTorch's for the same weights in torch.nn.Embedding + LSTM/GRU/RNN + Linear."""

import gc

import numpy as np
import pytest

import rnnc
from conftest import cli


@pytest.fixture(scope="module", params=["char_lm", "bpe_lm", "word_lm"])
def model_path(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("prompt,opts", [
    ("The ", {"temperature": 1.0}),
    ("We the people", {"temperature": 0.7, "top_k": 20}),
    ("", {"temperature": 1.3, "top_p": 0.9}),
    ("Congress", {"temperature": 0}),
])
def test_sample_equals_cli(rnnc_bin, model_path, prompt, opts):
    m = rnnc.LM.load(model_path)
    args = ["sample", "--model", model_path, "-n", 60, "--seed", 11, "--threads", 1]
    if prompt:
        args += ["--prompt", prompt]
    flags = {"temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p"}
    for k, v in opts.items():
        args += [flags[k], v]
    if not prompt and m.tokenizer.type == "word":  # a newline is no word: nothing to start from
        with pytest.raises(rnnc.Error, match="no tokens") as e:
            m.sample(prompt, n=60, seed=11, **opts)
        p = cli(rnnc_bin, *args, check=False)
        assert p.returncode == 1 and e.value.message in p.stderr.decode()
        return
    pieces = list(m.sample(prompt, n=60, seed=11, **opts))
    assert all(isinstance(p, str) for p in pieces)
    out = cli(rnnc_bin, *args).stdout.decode("utf-8", "replace")
    text = prompt + "".join(pieces)
    # the CLI ends the text with a newline when it does not end with one
    assert out == (text if text.endswith("\n") else text + "\n")


def test_sample_streams(char_lm):
    m = rnnc.LM.load(char_lm)
    it = m.sample("The", n=5, seed=1)
    assert iter(it) is it
    first = next(it)
    assert isinstance(first, str) and len(list(it)) <= 4
    # the same seed, the same text; another seed, another
    assert "".join(m.sample("The", n=50, seed=2)) == "".join(m.sample("The", n=50, seed=2))
    assert "".join(m.sample("The", n=50, seed=2)) != "".join(m.sample("The", n=50, seed=3))


def test_sample_holds_back_split_characters(tmp_path):
    """A byte-level BPE model emits characters split across tokens only once whole."""
    text = ("日本語のテキスト 😀 ✓ " * 200)
    (tmp_path / "u.txt").write_text(text)
    run = rnnc.train_lm(tmp_path / "u.txt", tmp_path / "run", tokenizer="bpe:260", layers=1, hidden=32, embed=8,
                        batch=4, seq=16, steps=5, seed=1)
    m = rnnc.LM.load(run.model)
    pieces = list(m.sample("日", n=200, seed=5))
    g = m.generator(seed=5)
    g.feed(m.tokenizer.encode("日"))
    ids = [g.next() for _ in range(200)]
    assert sum(len(m.tokenizer.token_bytes(i)) == 1 and m.tokenizer.token_bytes(i)[0] >= 0x80 for i in ids) > 50
    # streamed piece by piece, the text is what decoding all the ids at once gives: no character
    # split across tokens was cut (it would have become U+FFFD)
    assert "".join(pieces) == m.tokenizer.decode(ids) and len(pieces) < 200


def test_eval_equals_cli(tmp_path, rnnc_bin, model_path, corpus):
    held = corpus.read_bytes()[-30000:]
    (tmp_path / "held.txt").write_bytes(held)
    r = rnnc.LM.load(model_path).eval(held)
    out = dict(line.split(" ", 1) for line in cli(rnnc_bin, "eval", "--model", model_path, "--data",
                                                     tmp_path / "held.txt").stdout.decode().splitlines())
    assert f"{r['loss']:.6f}" == out["loss"] and f"{r['ppl']:.4f}" == out["ppl"]
    assert f"{r['tokens']}" == out["tokens"] and f"{r['bytes']:.0f}" == out["bytes"]
    if "bpb" in out:
        assert f"{r['bpb']:.6f}" == out["bpb"]
    else:
        assert "bpb" not in r and r["oov"] > 0
    assert rnnc.LM.load(model_path).eval(tmp_path / "held.txt")["loss"] == r["loss"]


def test_eval_errors(char_lm):
    m = rnnc.LM.load(char_lm)
    with pytest.raises(rnnc.Error, match="empty"):
        m.eval("")
    with pytest.raises(rnnc.Error, match="only context"):
        m.eval("a")
    # a text shorter than a window is scored whole (every token but the first), not refused
    assert m.eval("a" * 10, seq=100)["tokens"] == 9


def test_no_silent_reshape_no_copies(char_lm):
    """A batch of ids is refused rather than read as one long sequence; a model cannot be pickled
    or deep-copied (its pointer would be freed twice), and says what to do instead."""
    import copy
    import pickle
    m = rnnc.LM.load(char_lm)
    with pytest.raises(TypeError, match=r"one sequence \(1-D\), not an array of shape \(2, 2\)"):
        m.logits(np.array([[5, 6], [7, 8]]))
    with pytest.raises(TypeError, match="1-D"):
        m.tokenizer.decode(np.array([[5, 6], [7, 8]], dtype=np.uint32))
    assert m.logits(np.array([5, 6, 7], dtype=np.uint32)).shape == (3, m.config["vocab"])
    for f in (pickle.dumps, copy.deepcopy):
        with pytest.raises(TypeError, match="cannot be pickled or copied: save the model"):
            f(m)


def test_similar_equals_cli(rnnc_bin, char_lm, bpe_lm):
    for path, queries in ((char_lm, [["e"], ["a", "+", "b", "-", "c"]]), (bpe_lm, [["the"], ["of"]])):
        m = rnnc.LM.load(path)
        for q in queries:
            got = m.similar(*q, k=5)
            out = cli(rnnc_bin, "similar", "--model", path, *q, "-k", 5).stdout.decode().splitlines()
            rows = [line.split(None, 1) for line in out[1:] if line.strip()]
            assert len(got) == len(rows) == 5
            for (tok, sim), (csim, ctok) in zip(got, rows):
                assert f"{sim:.4f}" == csim
                assert ctok in (tok, f'"{tok}"')


def test_similar_errors(char_lm, bpe_lm):
    m = rnnc.LM.load(char_lm)
    with pytest.raises(rnnc.Error, match="unknown word 'xyz': it is 3 tokens"):
        m.similar("xyz")
    with pytest.raises(rnnc.Error, match="must stand between"):
        m.similar("+", "a")
    with pytest.raises(rnnc.Error, match="never occurred"):
        m.similar(5)  # a byte-fallback id: never seen in training


def test_embedding_is_a_read_only_view(char_lm):
    m = rnnc.LM.load(char_lm)
    E = m.embedding
    c = m.config
    assert E.shape == (c["vocab"], c["embed"]) and E.dtype == np.float32
    assert not E.flags.writeable and not E.flags.owndata
    with pytest.raises(ValueError):
        E[0, 0] = 1.0
    with pytest.raises(ValueError):
        E.flags.writeable = True
    sd = m.state_dict()
    assert np.shares_memory(E, sd["embedding.weight"]) and np.array_equal(E, sd["embedding.weight"])
    # the view keeps the model alive
    copy = E.copy()
    del m, sd
    gc.collect()
    junk = [np.ones(100000, dtype=np.float32) for _ in range(20)]
    assert np.array_equal(E, copy)
    del junk


def test_state_dict_names_and_shapes(bpe_lm):
    m = rnnc.LM.load(bpe_lm)
    sd = m.state_dict()
    c = m.config
    V, E, H = c["vocab"], c["embed"], c["hidden"]
    assert list(sd)[0] == "embedding.weight" and list(sd)[-2:] == ["head.weight", "head.bias"]
    assert sd["rnn.weight_ih_l0"].shape == (3 * H, E) and sd["rnn.weight_hh_l1"].shape == (3 * H, H)
    assert sd["head.weight"].shape == (V, H)
    assert sum(v.size for v in sd.values()) == m.n_params


def test_generator(char_lm):
    m = rnnc.LM.load(char_lm)
    tok = m.tokenizer
    g = m.generator(temperature=0)
    with pytest.warns(UserWarning, match="^top_k and seed are ignored with temperature 0") as w:
        m.generator(seed=5, temperature=0, top_k=3)  # greedy draws nothing, as `rnnc sample` warns
    assert w[0].filename == __file__  # the warning names this line, not rnnc's own wrapper
    with pytest.warns(UserWarning, match="^seed is ignored") as w:
        rnnc.Generator(m, seed=5, temperature=0)
    assert w[0].filename == __file__
    assert g.logits() is None
    with pytest.raises(rnnc.Error):
        g.next()  # no input yet
    ids = tok.encode("The Congress")
    g.feed(ids)
    logits = g.logits()
    np.testing.assert_allclose(logits, m.logits(ids)[-1], rtol=1e-5, atol=1e-5)
    a = g.next()
    assert a == int(np.argmax(logits))
    with pytest.raises(rnnc.Error, match="position 1"):
        g.feed([4, 10**6])
    with pytest.raises(rnnc.Error, match="temperature"):
        m.generator(temperature=-1)


def test_wrong_kind_of_file(s2s_model, tmp_path):
    with pytest.raises(rnnc.Error, match="seq2seq model, not a language model"):
        rnnc.LM.load(s2s_model)


# ---- PyTorch: the same weights in torch modules give the same logits



def _torch():
    try:
        import torch as t
        return t
    except ImportError:
        pytest.skip("torch is not installed (python3-torch; scripts/install-deps.sh --bench)")


def test_logits_equal_torch(model_path):
    t = _torch()
    m = rnnc.LM.load(model_path)
    c = m.config
    rnn_cls = {"lstm": t.nn.LSTM, "gru": t.nn.GRU, "rnn_tanh": t.nn.RNN, "rnn_relu": t.nn.RNN}[c["cell"]]
    kw = {"nonlinearity": c["cell"][4:]} if c["cell"].startswith("rnn_") else {}

    class LM(t.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = t.nn.Embedding(c["vocab"], c["embed"])
            self.rnn = rnn_cls(c["embed"], c["hidden"], c["layers"], batch_first=True, **kw)
            self.head = t.nn.Linear(c["hidden"], c["vocab"])

        def forward(self, x):
            return self.head(self.rnn(self.embedding(x))[0])

    ref = LM()
    ref.load_state_dict({k: t.from_numpy(v.copy()) for k, v in m.state_dict().items()})
    ref.eval()
    ids = m.tokenizer.encode("Fellow-Citizens of the Senate and of the House of Representatives: " * 3)
    with t.no_grad():
        want = ref(t.from_numpy(ids.astype(np.int64))[None])[0].numpy()
    got = m.logits(ids)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert np.abs(got - want).max() < 1e-4 * max(1.0, np.abs(want).max())
