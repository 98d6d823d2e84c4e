"""Makes the golden fixtures for tests/test_rnn_golden.c with PyTorch (Debian's python3-torch 1.13).

For every cell (rnn_tanh, rnn_relu, lstm, gru) x layers {1, 2, 3} x {uni-, bidirectional} x
{equal, variable lengths}: random parameters, input x, nonzero h0 (and c0), the outputs y, hn, cn of
nn.RNN/LSTM/GRU(batch_first=True) (variable lengths through pack_padded_sequence), and the gradients
of x, h0, c0 and every parameter for the loss sum(wy*y) + sum(wh*hn) + sum(wc*cn) with fixed random
weights. Inputs are drawn in float32; PyTorch computes in float64 so the fixtures hold the exact
answer for those float32 inputs, rounded to float32.

Run from the repository root:  /usr/bin/python3 tools/make_golden_rnn.py
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_write import save_file  # noqa: E402

OUT = "tests/golden/rnn"
I, H, B, T = 3, 4, 3, 5
VAR_LENGTHS = [5, 2, 4]  # unsorted on purpose: enforce_sorted=False as users write it


def module(cell, layers, bidir):
    kw = dict(input_size=I, hidden_size=H, num_layers=layers, batch_first=True, bidirectional=bidir)
    if cell == "lstm":
        return nn.LSTM(**kw)
    if cell == "gru":
        return nn.GRU(**kw)
    return nn.RNN(nonlinearity=cell[4:], **kw)


def make(cell, layers, bidir, var, seed):
    g = torch.Generator().manual_seed(seed)
    D = 2 if bidir else 1
    m = module(cell, layers, bidir)
    with torch.no_grad():
        for p in m.parameters():  # wider than the default init so the nonlinearities bend
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * 0.7)
    m = m.double()
    f32 = lambda *s: (torch.rand(*s, generator=g) * 2 - 1)  # noqa: E731
    x = f32(B, T, I)
    h0 = f32(layers * D, B, H) * 0.8
    c0 = f32(layers * D, B, H) * 0.8
    wy, wh, wc = f32(B, T, D * H), f32(layers * D, B, H), f32(layers * D, B, H)
    lengths = torch.tensor(VAR_LENGTHS if var else [T] * B, dtype=torch.int64)

    xd, h0d, c0d = (t.double().requires_grad_() for t in (x, h0, c0))
    inp = nn.utils.rnn.pack_padded_sequence(xd, lengths, batch_first=True, enforce_sorted=False) if var else xd
    state = (h0d, c0d) if cell == "lstm" else h0d
    out, st = m(inp, state)
    if var:
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    hn, cn = (st if cell == "lstm" else (st, None))
    loss = (wy.double() * out).sum() + (wh.double() * hn).sum()
    if cn is not None:
        loss = loss + (wc.double() * cn).sum()
    loss.backward()

    t = {"x": x, "h0": h0, "wy": wy, "wh": wh, "lengths": lengths, "y": out.detach().float(),
         "hn": hn.detach().float(), "grad.x": xd.grad.float(), "grad.h0": h0d.grad.float()}
    if cell == "lstm":
        t.update({"c0": c0, "wc": wc, "cn": cn.detach().float(), "grad.c0": c0d.grad.float()})
    for name, p in m.named_parameters():
        t[name] = p.detach().float()
        t["grad." + name] = p.grad.float()
    meta = {"cell": cell, "layers": layers, "bidirectional": int(bidir), "input": I, "hidden": H,
            "batch": B, "seq": T, "loss": repr(loss.item()), "torch": torch.__version__}
    name = f"{cell}_l{layers}_{'bi' if bidir else 'uni'}_{'var' if var else 'eq'}.safetensors"
    save_file(t, os.path.join(OUT, name), metadata=meta)
    return name


def main():
    os.makedirs(OUT, exist_ok=True)
    seed = 1000
    for cell in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
        for layers in (1, 2, 3):
            for bidir in (False, True):
                for var in (False, True):
                    seed += 1
                    print(make(cell, layers, bidir, var, seed))


if __name__ == "__main__":
    main()
