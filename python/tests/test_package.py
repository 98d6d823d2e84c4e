"""The package itself: its version against the library's and CMake's, where it finds librnnc,
errors, and an offline install with pip that works without the source tree."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rnnc
from rnnc import _lib

ROOT = Path(__file__).resolve().parents[2]


def test_versions_agree():
    cmake = re.search(r"project\(rnnc VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text()).group(1)
    assert rnnc.__version__ == cmake == rnnc.library_version()


def test_library_found_by_env():
    if "RNNC_LIBRARY" not in os.environ:
        pytest.skip("RNNC_LIBRARY not set")
    assert os.path.samefile(rnnc.library_path, os.environ["RNNC_LIBRARY"]) and _lib.found_by == "RNNC_LIBRARY"


def test_error_carries_the_library_message(tmp_path):
    with pytest.raises(rnnc.Error) as e:
        rnnc.LM.load(tmp_path / "missing.safetensors")
    assert "missing.safetensors" in str(e.value) and e.value.status == "io"
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(rnnc.Error) as e:
        rnnc.LM.load(bad)
    assert "bad.safetensors" in str(e.value) and e.value.status == "format"


def test_import_error_names_what_to_do(tmp_path):
    env = dict(os.environ, RNNC_LIBRARY=str(tmp_path / "nope.so"), PYTHONPATH=str(ROOT / "python"))
    p = subprocess.run([sys.executable, "-c", "import rnnc"], capture_output=True, text=True, env=env)
    assert p.returncode != 0 and "RNNC_LIBRARY=" in p.stderr and "nope.so" in p.stderr


def test_pip_install_offline(tmp_path, data_dir):
    """`pip install --no-deps --no-build-isolation` of a copy of python/ bundles the library, and
    the installed package imports from anywhere without RNNC_LIBRARY or the source tree."""
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        pytest.fail("pip is needed (Debian: python3-pip; scripts/install-deps.sh installs it)")
    src = tmp_path / "src"
    shutil.copytree(ROOT / "python", src, ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info"))
    site = tmp_path / "site"
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", RNNC_LIBRARY=rnnc.library_path)
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                        "--target", str(site), str(src)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (site / "rnnc" / "librnnc.so.0").is_file()
    env = {k: v for k, v in os.environ.items() if k not in ("RNNC_LIBRARY", "PYTHONPATH", "RNNC_DATA")}
    env["PYTHONPATH"] = str(site)
    code = ("import rnnc, os; print(rnnc.library_path); print(os.environ.get('RNNC_DATA'));"
            "t = rnnc.Tokenizer.train('abc abd', 'char'); print(t.decode(t.encode('abd')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lib, data, text = p.stdout.splitlines()
    assert Path(lib).parent == site / "rnnc" and text == "abd"
    if data_dir.is_dir():
        assert os.path.samefile(data, data_dir)  # the source tree's data folder, recorded at install
