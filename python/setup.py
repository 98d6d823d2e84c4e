"""The rnnc package's install step: the Python files, plus a copy of librnnc.so and the path of
the data folder, so that the installed package works without the source tree. Nothing is
compiled (librnnc.so comes from the CMake build). The library taken: $RNNC_LIBRARY, else the
source tree's build/librnnc.so.0; the data folder: $RNNC_DATA, else the source tree's data/."""

import os
import shutil
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def find_library():
    env = os.environ.get("RNNC_LIBRARY")
    if env:
        if not os.path.isfile(env):
            raise SystemExit(f"rnnc setup: RNNC_LIBRARY={env}: no such file")
        return Path(env)
    for name in ("librnnc.so.0", "librnnc.so"):
        p = HERE.parent / "build" / name
        if p.is_file():
            return p
    return None


class BuildPy(build_py):
    def run(self):
        super().run()
        pkg = Path(self.build_lib) / "rnnc"
        lib = find_library()
        if lib is None:
            print("rnnc setup: no librnnc.so found (build it first, or set RNNC_LIBRARY): the installed package "
                  "will look for an installed one (make install) or RNNC_LIBRARY at import")
        else:
            shutil.copyfile(lib.resolve(), pkg / "librnnc.so.0")
            os.chmod(pkg / "librnnc.so.0", 0o755)
            print(f"rnnc setup: bundled {lib.resolve()}")
        data = os.environ.get("RNNC_DATA") or (str(HERE.parent / "data") if (HERE.parent / "data").is_dir() else "")
        (pkg / "_install.py").write_text(
            "# Written by setup.py at install: the data folder of the source tree it was installed from.\n"
            f"DATA_DIR = {os.path.abspath(data) if data else ''!r}\n")


class BinaryDistribution(Distribution):
    """The package carries a shared library: a platform wheel, not a pure one."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPy}, distclass=BinaryDistribution)
