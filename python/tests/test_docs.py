"""docs/PYTHON.md's walk-through: every ```python block runs, in order, in one namespace, from a
folder whose data/ is the repository's (as if run from the repository's root), so the page
cannot drift from the package."""

import contextlib
import io
import os
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def blocks():
    text = (ROOT / "docs" / "PYTHON.md").read_text()
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


def test_the_page_has_code():
    assert len(blocks()) >= 10


def test_walkthrough_runs(tmp_path, data_dir, monkeypatch):
    for need in ("sotu.txt", "tiktoken/cl100k_base.tiktoken", "cmudict/train.tsv"):
        if not (data_dir / need).is_file():
            pytest.skip(f"{data_dir / need} not fetched (scripts/fetch-data.sh)")
    (tmp_path / "data").symlink_to(data_dir.resolve())
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "__walkthrough__"}
    for i, code in enumerate(blocks()):
        out = io.StringIO()
        t0 = time.time()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"docs/PYTHON.md block {i + 1}", "exec"), ns)
        if os.environ.get("RNNC_SHOW_DOCS"):  # to refresh the page's text blocks by hand
            print(f"--- block {i + 1} ({time.time() - t0:.1f} s)\n{out.getvalue()}", file=os.sys.stderr)
