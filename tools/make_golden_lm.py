"""Makes the language-model and optimizer fixtures in tests/golden/lm/ with PyTorch 1.13, for
tests/test_lm.c, tests/test_optim.c, tests/test_cli_train.c and tests/cli_model.sh.

Run: /usr/bin/python3 tools/make_golden_lm.py

- optim.safetensors: a 30-parameter problem (three tensors, flattened in order), 4 steps of given
  gradients, each clipped with clip_grad_norm_(max_norm=1) and then applied by SGD (momentum,
  weight decay), Adam (weight decay) and AdamW; the parameters after every step and the norms.
- lm_<cell>_l<L>.safetensors: the LM module of issue 3 with PyTorch's default initialisation, saved
  as safetensors.torch.save_file would (tools/st_write.py), with "rnnc.config" metadata.
  lm_<cell>_l<L>_ref.safetensors: the id stream, the loss of two consecutive windows with the state
  carried (detached) between them, every parameter's gradient summed over both windows, the final
  state, and the first window's logits. lm_<cell>_l2_fold*: the same for a 2-layer model with a
  5-token vocabulary at batch 4 x 6 steps (rnnc's projected-table path, rnn.h).
- cli_lstm.safetensors, cli_ids.txt and cli_expect.txt / cli_sgd1.safetensors /
  cli_adam12.safetensors: a 2-layer LSTM made in PyTorch, an id file, the eval loss, the model after
  one SGD step and after 12 Adam steps with clipping (wrapping past the last window), and the losses.
- bad_*.safetensors: a GRU model with a wrong-shaped tensor, a missing tensor, a config whose vocab
  disagrees with the tensors, and no rnnc.config at all;
  bad_nan.safetensors: the CLI model with a NaN bias (training must stop at step 1).
"""
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from st_write import save_file  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "lm")
os.makedirs(OUT, exist_ok=True)
torch.set_num_threads(1)


class LM(nn.Module):
    def __init__(self, V, E, H, layers, cell):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cell, nn.RNN)(
            E, H, layers, batch_first=True, **({"nonlinearity": cell[4:]} if cell.startswith("rnn_") else {}))
        self.head = nn.Linear(H, V)

    def forward(self, x, state=None):
        y, state = self.rnn(self.embedding(x), state)
        return self.head(y), state


def config(cell, V, E, H, L):
    return json.dumps({"cell": cell, "vocab": V, "embed": E, "hidden": H, "layers": L, "dropout": 0.0,
                       "bidirectional": False})


def detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def windows(ids, B, T):
    n = len(ids) // B
    s = ids[:B * n].view(B, n)
    k = 0
    while k * T + T < n:
        yield s[:, k * T:k * T + T], s[:, k * T + 1:k * T + T + 1]
        k += 1


# ---- optimizers ----
def make_optim():
    torch.manual_seed(1)
    shapes = [(5, 3), (7,), (2, 4)]
    init = [torch.randn(*s) for s in shapes]
    scales = [0.1, 5.0, 0.4, 20.0]
    grads = [[torch.randn(*s) * sc for s in shapes] for sc in scales]
    out = {"init": torch.cat([p.flatten() for p in init]),
           "grads": torch.stack([torch.cat([g.flatten() for g in gs]) for gs in grads])}
    opts = {"sgd": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
            "sgd_plain": lambda ps: torch.optim.SGD(ps, lr=0.05),
            "adam": lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.01),
            "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)}
    for name, make in opts.items():
        ps = [p.clone().requires_grad_() for p in init]
        opt = make(ps)
        after, norms = [], []
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = g.clone()
            norms.append(float(nn.utils.clip_grad_norm_(ps, 1.0)))
            opt.step()
            after.append(torch.cat([p.detach().flatten() for p in ps]))
        out[name + ".params"] = torch.stack(after)
        out[name + ".norms"] = torch.tensor(norms, dtype=torch.float64)
    save_file(out, os.path.join(OUT, "optim.safetensors"))


# ---- LM forward/backward ----
def make_lm():
    # (V, E, H, B, T, layers, seed base, file suffix): the second shape has a vocabulary small
    # against B*T (5 against 24), where rnnc projects the embedding table instead of the rows.
    shapes = [(11, 5, 6, 3, 4, (1, 2), 100, ""), (5, 4, 6, 4, 6, (2,), 200, "_fold")]
    for V, E, H, B, T, layers, seed, suffix in shapes:
        make_lm_shape(V, E, H, B, T, layers, seed, suffix)


def make_lm_shape(V, E, H, B, T, layers, seed, suffix):
    for ci, cell in enumerate(["rnn_tanh", "rnn_relu", "lstm", "gru"]):
        for L in layers:
            torch.manual_seed(seed + 10 * ci + L)
            m = LM(V, E, H, L, cell)
            ids = torch.randint(0, V, (B * (2 * T + 1) + 2,))
            state, losses = None, []
            m.zero_grad()
            for k, (x, y) in enumerate(windows(ids, B, T)):
                if k == 2:
                    break
                logits, state = m(x, state)
                if k == 0:
                    logits0 = logits.detach().reshape(B * T, V)
                loss = nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
                loss.backward()
                losses.append(float(loss))
                state = detach(state)
            ref = {"ids": ids, "loss": torch.tensor(losses, dtype=torch.float64), "logits0": logits0}
            for name, p in m.named_parameters():
                ref["grad." + name] = p.grad
            if isinstance(state, tuple):
                ref["h"], ref["c"] = state
            else:
                ref["h"] = state
            stem = os.path.join(OUT, f"lm_{cell}_l{L}{suffix}")
            save_file(m.state_dict(), stem + ".safetensors", metadata={"rnnc.config": config(cell, V, E, H, L)})
            save_file(ref, stem + "_ref.safetensors")


# ---- CLI: eval and train ----
def run_train(m, ids, B, T, steps, opt, clip):
    wins = list(windows(ids, B, T))
    state, losses = None, []
    for s in range(steps):
        k = s % len(wins)
        if k == 0:
            state = None
        x, y = wins[k]
        opt.zero_grad()
        logits, state = m(x, state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, m.head.out_features), y.reshape(-1))
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(m.parameters(), clip)
        opt.step()
        state = detach(state)
        losses.append(float(loss))
    return losses


def make_cli():
    V, E, H, L, B, T = 13, 6, 8, 2, 4, 5
    torch.manual_seed(7)
    m = LM(V, E, H, L, "lstm")
    ids = torch.randint(0, V, (203,))
    meta = {"rnnc.config": config("lstm", V, E, H, L)}
    save_file(m.state_dict(), os.path.join(OUT, "cli_lstm.safetensors"), metadata=meta)
    with open(os.path.join(OUT, "cli_ids.txt"), "w") as f:
        for i in range(0, len(ids), 20):
            f.write(" ".join(str(int(v)) for v in ids[i:i + 20]) + "\n")
    with torch.no_grad():
        state, tot, cnt = None, 0.0, 0
        for x, y in windows(ids, B, T):
            logits, state = m(x, state)
            tot += float(nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction="sum"))
            cnt += y.numel()
    lines = [f"eval {tot / cnt:.9g}"]
    import copy
    m1 = copy.deepcopy(m)
    l1 = run_train(m1, ids, B, T, 1, torch.optim.SGD(m1.parameters(), lr=0.5, momentum=0.9, weight_decay=0.01), None)
    save_file(m1.state_dict(), os.path.join(OUT, "cli_sgd1.safetensors"), metadata=meta)
    lines.append("sgd1 " + " ".join(f"{v:.9g}" for v in l1))
    m2 = copy.deepcopy(m)
    l2 = run_train(m2, ids, B, T, 12, torch.optim.Adam(m2.parameters(), lr=0.01), 0.5)
    save_file(m2.state_dict(), os.path.join(OUT, "cli_adam12.safetensors"), metadata=meta)
    lines.append("adam12 " + " ".join(f"{v:.9g}" for v in l2))
    nan = copy.deepcopy(m)
    with torch.no_grad():
        nan.head.bias[3] = float("nan")
    save_file(nan.state_dict(), os.path.join(OUT, "bad_nan.safetensors"), metadata=meta)
    with open(os.path.join(OUT, "cli_expect.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def make_bad():
    """Damaged model files for the bad-input tests (the truncated one is cut by the tests)."""
    V, E, H, L = 5, 3, 4, 1
    torch.manual_seed(9)
    sd = LM(V, E, H, L, "gru").state_dict()
    meta = {"rnnc.config": config("gru", V, E, H, L)}
    bad = dict(sd)
    bad["head.weight"] = torch.zeros(V, H + 1)
    save_file(bad, os.path.join(OUT, "bad_shape.safetensors"), metadata=meta)
    bad = dict(sd)
    del bad["rnn.bias_hh_l0"]
    save_file(bad, os.path.join(OUT, "bad_missing.safetensors"), metadata=meta)
    save_file(sd, os.path.join(OUT, "bad_meta.safetensors"), metadata={"rnnc.config": config("gru", V + 1, E, H, L)})
    save_file(sd, os.path.join(OUT, "bad_nometa.safetensors"))


make_optim()
make_lm()
make_cli()
make_bad()
print("wrote", OUT)
