"""Only what pyproject.toml cannot say: the wheel carries the firmware it deploys and
simulates. build_py copies firmware/*.py into the package as jumpclip/_firmware/, so an
installed jumpclip (pipx, pip) has the same files a checkout reads from firmware/."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithFirmware(build_py):
    def run(self):
        super().run()
        dest = Path(self.build_lib) / "jumpclip" / "_firmware"
        dest.mkdir(parents=True, exist_ok=True)
        for src in sorted((HERE / "firmware").glob("*.py")):
            shutil.copy2(src, dest / src.name)


setup(cmdclass={"build_py": BuildWithFirmware})
