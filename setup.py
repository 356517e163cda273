"""Build hooks for the openmed Python package (metadata is in pyproject.toml).

build_py compiles libopenmed.so with `go build -buildmode=c-shared ./capi`
straight into the package folder of the build tree, so the wheel ships the
library next to openmed/__init__.py (the binding's second lookup place).
The distribution is marked platform-specific (it contains a native library).
"""

import os
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithGo(build_py):
    """build_py that also builds the Go shared library into the package."""

    def run(self):
        super().run()
        go = os.environ.get("GO", shutil.which("go") or "go")
        pkg_dir = os.path.join(self.build_lib, "openmed")
        os.makedirs(pkg_dir, exist_ok=True)
        target = os.path.join(pkg_dir, "libopenmed.so")
        cmd = [go, "build", "-trimpath", "-buildmode=c-shared", "-o", target, "./capi"]
        self.announce("running " + " ".join(cmd), level=2)
        subprocess.run(cmd, cwd=ROOT, check=True)
        header = os.path.join(pkg_dir, "libopenmed.h")
        if os.path.exists(header):  # the stable header is bindings/openmed.h
            os.remove(header)


class BinaryDistribution(Distribution):
    """A distribution with a native library: wheels get a platform tag."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPyWithGo}, distclass=BinaryDistribution)
