#!/usr/bin/env python3
"""Writes the .npy id-file fixtures of tests/test_batch.c and tests/cli_model.sh with NumPy itself
(np.save), so that rnnc's reader is tested on the bytes NumPy writes, not on its own writer's:

  tests/golden/ids/cli_ids_u4.npy   tests/golden/lm/cli_ids.txt as uint32 ('<u4')
  tests/golden/ids/cli_ids_i4.npy   the same as int32 ('<i4')
  tests/golden/ids/empty_u4.npy     no ids
  tests/golden/ids/big_u4.npy       5000 ids 0..4999 in a fixed shuffled order (seed 17)

Usage: /usr/bin/python3 tools/make_npy_ids.py   (from the repository root)"""
import os

import numpy as np

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "tests", "golden", "ids")
os.makedirs(out, exist_ok=True)
with open(os.path.join(root, "tests", "golden", "lm", "cli_ids.txt")) as f:
    ids = [int(t) for t in f.read().split()]
np.save(os.path.join(out, "cli_ids_u4.npy"), np.asarray(ids, dtype=np.uint32))
np.save(os.path.join(out, "cli_ids_i4.npy"), np.asarray(ids, dtype=np.int32))
np.save(os.path.join(out, "empty_u4.npy"), np.zeros(0, dtype=np.uint32))
np.save(os.path.join(out, "big_u4.npy"), np.random.default_rng(17).permutation(5000).astype(np.uint32))
print("numpy", np.__version__, "wrote", sorted(os.listdir(out)))
