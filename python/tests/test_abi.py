"""The ctypes mirrors of the public structs (rnnc/_lib.py) against the C compiler's layout, printed
by abi_layout.c (built as py_abi_layout): a struct changed in include/rnnc/ without its mirror
fails here instead of corrupting memory."""

import ctypes
import json
import os
import subprocess

import pytest

from rnnc import _lib


@pytest.fixture(scope="module")
def layout():
    exe = os.environ.get("RNNC_ABI_LAYOUT")
    if not exe:
        pytest.skip("RNNC_ABI_LAYOUT (the built py_abi_layout) not set: run through ctest")
    return json.loads(subprocess.run([exe], check=True, capture_output=True).stdout)


def test_every_mirror_is_checked(layout):
    assert set(_lib.STRUCTS) == set(layout) - {"constants"}


@pytest.mark.parametrize("name", sorted(_lib.STRUCTS))
def test_struct_layout(layout, name):
    c = layout[name]
    py = _lib.STRUCTS[name]
    fields = {f[0]: getattr(py, f[0]).offset for f in py._fields_}
    assert fields == c["fields"], f"{name}: ctypes offsets {fields} but C has {c['fields']}"
    assert ctypes.sizeof(py) == c["size"], f"{name}: ctypes size {ctypes.sizeof(py)} but C has {c['size']}"


def test_constants(layout):
    assert _lib.CONSTANTS == layout["constants"]
