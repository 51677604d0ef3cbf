"""Shared test helpers: the MicroPython unix port, the corpus, the real recordings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

# CI (CI=true, as .ci/run is called) draws the same examples every run: a red CI then means
# the change, not the draw. A developer's `make test` keeps drawing new ones, which is how the
# properties find what nobody thought to try (report what one finds: the failing example is
# printed, with the seed to reproduce it).
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

from jumpclip.fw import FIRMWARE_DIR
from jumpclip.sim.board import MP_DIR, find_micropython

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
DATA = TESTS / "data"
FW_TESTS = TESTS / "fw"
REAL_DEV = REPO_ROOT.parent / "shared" / "data" / "real-dev"

needs_real_dev = pytest.mark.skipif(not REAL_DEV.is_dir(), reason="../shared/data/real-dev not present")


def corpus() -> list[Path]:
    return sorted(p for p in DATA.glob("*.csv") if not p.name.endswith(".events.csv"))


def run_micropython(
    script: Path | str, *args: str, timeout: float = 120, extra_path: tuple[Path, ...] = (), args_before: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """Run a script under the unix port with firmware/ (and extra folders) importable."""
    path = ":".join(str(p) for p in (*extra_path, FIRMWARE_DIR))
    env = {"MICROPYPATH": path, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [find_micropython(), *args_before, str(script), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=str(TESTS)
    )


@pytest.fixture(scope="session")
def micropython() -> str:
    return find_micropython()


@pytest.fixture(scope="session")
def mp_dir() -> Path:
    return MP_DIR
