"""Makes the golden fixtures for tests/test_seq_golden.c with PyTorch (Debian's python3-torch 1.13).

The models of include/rnnc/seqmodel.h written the way a PyTorch user writes them:

  classify  nn.Embedding -> nn.LSTM/GRU/RNN(batch_first=True) over pack_padded_sequence -> pool -> nn.Linear
  tag       nn.Embedding -> rnn -> nn.Linear at every step
  forecast  x (B,T,F) -> rnn -> pool -> cat(pooled, known) -> nn.Linear

with pooling LAST (y at each sequence's last valid step), MEAN and MAX over the valid steps, and
FINAL (h_n[-1], or torch.cat((h_n[-2], h_n[-1]), 1) when bidirectional); losses
nn.CrossEntropyLoss(weight=w, ignore_index=-1) (classify, tag), nn.MSELoss or nn.L1Loss (forecast).
No dropout (the fixtures are the training=false math). Each case's file holds the config as
metadata, every parameter under its state_dict name ("embedding.weight", "rnn.weight_ih_l0", ...,
"head.weight", "head.bias"), the inputs (ids (I64, 0 = <pad> beyond each length), x, known,
lengths, labels (-1 = no loss), targets, class_weight), the outputs (logits, zero at padded tag
steps, or predictions), loss and count (1-element tensors; the loss also as repr in the metadata)
and "grad.<name>" for every parameter. Inputs and parameters are drawn in float32; PyTorch computes
in float64, so the fixtures hold the exact answer for those float32 values, rounded to float32.

Draws whose answer a float32 computation could not reproduce are drawn again with the next seed
(recorded in the metadata): a MAX pooling whose best and second-best valid step are closer than
1e-3 (the gradient could go to either), an L1 residual within 1e-3 of zero (its sign could flip).

Run from the repository root:  /usr/bin/python3 tools/make_golden_seq.py
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_write import save_file  # noqa: E402


class Redraw(Exception):
    """This draw is too close to a tie for float32; try the next seed."""

OUT = "tests/golden/seq"
B, T = 4, 6
V, E = 12, 3          # vocabulary (the 4 specials included), embedding width
F, N, K = 3, 4, 2     # forecast: features per step, horizon, known covariates per future step
C_CLASSIFY, C_TAG = 3, 4
VAR_LENGTHS = [4, 6, 1, 3]  # unsorted, with a length-1 sequence: enforce_sorted=False as users write it
PAD = 0

# name, kind, cell, layers, bidirectional, hidden, pool, loss, class weights, variable lengths, K
CASES = [
    ("cls_lstm_l1_uni_last", "classify", "lstm", 1, False, 5, "last", "ce", False, True, 0),
    ("cls_lstm_l1_bi_last_w", "classify", "lstm", 1, True, 4, "last", "ce", True, True, 0),
    ("cls_rnn_relu_l1_uni_last", "classify", "rnn_relu", 1, False, 5, "last", "ce", False, True, 0),
    ("cls_gru_l2_uni_mean_w", "classify", "gru", 2, False, 5, "mean", "ce", True, True, 0),
    ("cls_rnn_tanh_l1_bi_mean_eq", "classify", "rnn_tanh", 1, True, 4, "mean", "ce", False, False, 0),
    ("cls_rnn_tanh_l2_uni_max", "classify", "rnn_tanh", 2, False, 5, "max", "ce", False, True, 0),
    ("cls_lstm_l1_bi_max_w", "classify", "lstm", 1, True, 4, "max", "ce", True, True, 0),
    ("cls_gru_l1_uni_final", "classify", "gru", 1, False, 5, "final", "ce", False, True, 0),
    ("cls_gru_l1_bi_final", "classify", "gru", 1, True, 4, "final", "ce", False, True, 0),
    ("cls_lstm_l2_bi_final_w", "classify", "lstm", 2, True, 4, "final", "ce", True, True, 0),
    ("tag_lstm_l1_uni", "tag", "lstm", 1, False, 5, "last", "ce", False, True, 0),
    ("tag_rnn_tanh_l1_bi", "tag", "rnn_tanh", 1, True, 4, "last", "ce", False, True, 0),
    ("tag_gru_l2_bi_w", "tag", "gru", 2, True, 4, "last", "ce", True, True, 0),
    ("fc_lstm_l1_uni_last_mse", "forecast", "lstm", 1, False, 5, "last", "mse", False, True, K),
    ("fc_rnn_tanh_l1_bi_last_mae", "forecast", "rnn_tanh", 1, True, 4, "last", "mae", False, True, K),
    ("fc_gru_l1_uni_final_mae", "forecast", "gru", 1, False, 5, "final", "mae", False, True, K),
    ("fc_gru_l1_bi_final_mse", "forecast", "gru", 1, True, 4, "final", "mse", False, True, K),
    ("fc_lstm_l2_bi_final_mae", "forecast", "lstm", 2, True, 4, "final", "mae", False, True, K),
    ("fc_lstm_l1_uni_mean_mse_k0", "forecast", "lstm", 1, False, 5, "mean", "mse", False, True, 0),
    ("fc_gru_l1_bi_max_mae_k0", "forecast", "gru", 1, True, 4, "max", "mae", False, True, 0),
]


class SeqModel(nn.Module):
    """Attribute names give the state_dict names the header defines."""

    def __init__(self, kind, cell, layers, bidir, hidden, outputs, known):
        super().__init__()
        self.kind, self.cell, self.bidir = kind, cell, bidir
        inp = F if kind == "forecast" else E
        if kind != "forecast":
            self.embedding = nn.Embedding(V, E)
        kw = dict(input_size=inp, hidden_size=hidden, num_layers=layers, batch_first=True, bidirectional=bidir)
        if cell == "lstm":
            self.rnn = nn.LSTM(**kw)
        elif cell == "gru":
            self.rnn = nn.GRU(**kw)
        else:
            self.rnn = nn.RNN(nonlinearity=cell[4:], **kw)
        D = 2 if bidir else 1
        self.head = nn.Linear(D * hidden + (N * known if kind == "forecast" else 0), outputs)

    def forward(self, inp, lengths, pool, known=None):
        e = self.embedding(inp) if self.kind != "forecast" else inp
        packed = nn.utils.rnn.pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        out, st = self.rnn(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
        h_n = st[0] if self.cell == "lstm" else st
        mask = torch.arange(T)[None, :] < lengths[:, None]  # (B,T): valid steps
        if self.kind == "tag":
            return self.head(y) * mask[:, :, None], None
        argmax = None
        if pool == "last":
            v = y[torch.arange(B), lengths - 1]
        elif pool == "mean":
            v = y.sum(1) / lengths[:, None].to(y.dtype)
        elif pool == "max":
            v, argmax = y.masked_fill(~mask[:, :, None], float("-inf")).max(1)
        else:  # final: the top layer's h_n as PyTorch lays it out
            v = torch.cat((h_n[-2], h_n[-1]), 1) if self.bidir else h_n[-1]
        if self.kind == "forecast" and known is not None:
            v = torch.cat((v, known), 1)
        return self.head(v), (y, mask, argmax)


def max_margin(y, mask, argmax):
    """Smallest gap between each pooled maximum and the best other valid step (inf if one step)."""
    yy = y.detach().masked_fill(~mask[:, :, None], float("-inf")).clone()
    best = yy.gather(1, argmax[:, None, :]).squeeze(1)
    yy.scatter_(1, argmax[:, None, :], float("-inf"))
    second = yy.max(1).values
    return (best - second).min().item()


def make(case, seed):
    name, kind, cell, layers, bidir, H, pool, loss_kind, weighted, var, known_k = case
    g = torch.Generator().manual_seed(seed)
    f32 = lambda *s: (torch.rand(*s, generator=g) * 2 - 1)  # noqa: E731  uniform(-1, 1) in float32
    C = {"classify": C_CLASSIFY, "tag": C_TAG, "forecast": N}[kind]
    m = SeqModel(kind, cell, layers, bidir, H, C, known_k)
    with torch.no_grad():
        for pname, p in m.named_parameters():  # wider than the default init so the nonlinearities bend
            p.copy_(f32(*p.shape) * (1.0 if pname.startswith("embedding") else 0.7))
    m = m.double()
    lengths = torch.tensor(VAR_LENGTHS if var else [T] * B, dtype=torch.int64)
    mask = torch.arange(T)[None, :] < lengths[:, None]

    t = {"lengths": lengths}
    if kind == "forecast":
        x = f32(B, T, F) * mask[:, :, None]  # zeros beyond each length, as a batcher would pad
        t["x"] = x
        inp = x.double()
        known = f32(B, N * known_k) if known_k else None
        if known is not None:
            t["known"] = known
        targets = f32(B, N)
        t["targets"] = targets
    else:
        ids = torch.randint(3, V, (B, T), generator=g, dtype=torch.int64)  # <unk> and symbols
        ids = torch.where(mask, ids, torch.full_like(ids, PAD))
        t["ids"] = ids
        inp = ids
        known = None
    cw = None
    if weighted:
        cw = torch.rand(C, generator=g) * 1.5 + 0.25
        t["class_weight"] = cw

    out, aux = m(inp, lengths, pool, known.double() if known is not None else None)
    if kind == "classify":
        labels = torch.randint(0, C, (B,), generator=g, dtype=torch.int64)
        lossf = nn.CrossEntropyLoss(weight=cw.double() if cw is not None else None)
        loss = lossf(out, labels)
        count = float(B)  # the labelled rows (seqmodel.h), whatever their weights
        t["labels"], t["logits"] = labels, out.detach().float()
    elif kind == "tag":
        labels = torch.randint(0, C, (B, T), generator=g, dtype=torch.int64)
        labels[0, 1] = -1  # ignored steps inside the valid ones
        labels[1, 4] = -1
        labels = torch.where(mask, labels, torch.full_like(labels, -1))
        lossf = nn.CrossEntropyLoss(weight=cw.double() if cw is not None else None, ignore_index=-1)
        loss = lossf(out.reshape(B * T, C), labels.reshape(B * T))
        keep = labels >= 0
        count = float(keep.sum().item())  # the labelled steps, whatever their weights
        t["labels"], t["logits"] = labels, out.detach().float()
    else:
        lossf = nn.MSELoss() if loss_kind == "mse" else nn.L1Loss()
        loss = lossf(out, targets.double())
        count = float(B * N)
        resid = (out.detach() - targets.double()).abs().min().item()
        if loss_kind == "mae" and resid < 1e-3:
            raise Redraw(f"an L1 residual is {resid:.3g}")
        t["predictions"] = out.detach().float()
    if pool == "max" and kind != "tag":
        y, msk, argmax = aux
        gap = max_margin(y, msk, argmax)
        if gap < 1e-3:
            raise Redraw(f"a max-pooling gap is {gap:.3g}")
    loss.backward()

    t["loss"] = torch.tensor([loss.item()], dtype=torch.float32)
    t["count"] = torch.tensor([count], dtype=torch.float32)
    for pname, p in m.named_parameters():
        t[pname] = p.detach().float()
        t["grad." + pname] = p.grad.float()
    meta = {"kind": kind, "cell": cell, "vocab": V if kind != "forecast" else 0, "embed": E if kind != "forecast" else 0,
            "features": F if kind == "forecast" else 0, "hidden": H, "layers": layers, "bidirectional": int(bidir),
            "pool": pool, "outputs": C, "known": known_k, "loss": loss_kind, "weighted": int(weighted),
            "batch": B, "seq": T, "seed": seed, "loss_value": repr(loss.item()), "count": repr(count), "torch": torch.__version__}
    fname = name + ".safetensors"
    save_file(t, os.path.join(OUT, fname), metadata=meta)
    return fname


def main():
    os.makedirs(OUT, exist_ok=True)
    for i, case in enumerate(CASES):
        seed = 2000 + 100 * i
        while True:
            try:
                print(make(case, seed))
                break
            except Redraw as e:
                print(f"{case[0]}: seed {seed}: {e}; drawing again", file=sys.stderr)
                seed += 1


if __name__ == "__main__":
    main()
