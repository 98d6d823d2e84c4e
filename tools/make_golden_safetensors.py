"""Makes tests/golden/safetensors/sample.safetensors: tensors of several dtypes and metadata, as
PyTorch would save them, for tests/test_safetensors.c. Run: /usr/bin/python3 tools/make_golden_safetensors.py"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from st_write import save_file  # noqa: E402

out = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "safetensors", "sample.safetensors")
x = torch.tensor([[1.5, -2.25, 3.0], [0.1, 65504.0, -1e-3]], dtype=torch.float32)
save_file({
    "a.f32": x,
    "a.f64": x.double(),
    "a.f16": x.half(),
    "a.bf16": x.bfloat16(),
    "ids.i64": torch.tensor([0, -1, 2**40], dtype=torch.int64),
    "ids.i32": torch.tensor([7, -7], dtype=torch.int32),
    "flags": torch.tensor([True, False, True]),
    "empty": torch.zeros(0, 4),
}, out, metadata={"rnnc.config": '{"cell": "lstm"}', "note": "made by tools/make_golden_safetensors.py"})
print(out)
