"""rnnc from Python: the C library librnnc.so through ctypes (no compiler needed).

    import rnnc
    enc = rnnc.encoding("cl100k_base")              # tiktoken's get_encoding
    enc.encode("i hate programming")                 # [72, 12491, 15840]
    tok = rnnc.Tokenizer.train(text, "bpe", 1000)    # char | word | bpe; ids as NumPy arrays
    run = rnnc.train_lm("data/sotu.txt", "runs/lm", tokenizer="char", steps=500, progress=print)
    m = rnnc.LM.load(run.best_model)
    print("".join(m.sample("The state of the Union", n=200, seed=1)))
    m.embedding                                      # (V, E) read-only view, no copy
    rnnc.Seq2Seq.load("runs/g2p/best.safetensors").translate("h e l l o", beam=5)

Failures of the library raise rnnc.Error with its message. docs/PYTHON.md walks through it.
"""

from ._lib import Error, library_version
from ._lib import path as library_path
from ._model import LM, Generator
from ._seq2seq import Seq2Seq
from ._tokenizer import Encoding, Tokenizer, encoding, list_encoding_names
from ._train import Event, Run, resume, train_classify, train_forecast, train_lm, train_seq2seq, train_tag
from ._version import __version__

get_encoding = encoding

__all__ = ["Error", "Tokenizer", "Encoding", "encoding", "get_encoding", "list_encoding_names", "LM", "Generator",
           "Seq2Seq", "train_lm", "train_seq2seq", "train_classify", "train_tag", "train_forecast", "resume", "Event",
           "Run", "library_version", "library_path", "__version__"]
