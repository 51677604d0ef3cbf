"""Firmware tests that run under both interpreters: CPython here, and the MicroPython unix
port through tests/fw/mprun.py. The same test functions, the same assertions."""

from __future__ import annotations

import functools
import importlib.util

import pytest

import jumpclip.fw  # noqa: F401  (puts firmware's detector and config in sys.modules)
from conftest import FW_TESTS, run_micropython

MODULES = ["fw_detector_cases", "fw_config_cases", "fw_impacts_cases"]


def load(name):
    spec = importlib.util.spec_from_file_location(name, FW_TESTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CASES = [(m, f) for m in MODULES for f in sorted(dir(load(m))) if f.startswith("test_")]


@functools.cache
def micropython_results(module: str) -> dict[str, str]:
    proc = run_micropython(FW_TESTS / "mprun.py", module, extra_path=(FW_TESTS,))
    lines = proc.stdout.splitlines()
    assert lines and lines[-1].startswith("DONE"), f"mprun did not finish: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    results = {}
    for line in lines:
        parts = line.split(" ", 2)
        if parts[0] in ("PASS", "FAIL"):
            results[parts[1]] = line
    results["_output"] = proc.stdout
    return results


@pytest.mark.parametrize("module,func", CASES, ids=[f"{m}.{f}" for m, f in CASES])
def test_cpython(module, func):
    getattr(load(module), func)()


@pytest.mark.parametrize("module,func", CASES, ids=[f"{m}.{f}" for m, f in CASES])
def test_micropython(module, func):
    res = micropython_results(module)
    assert func in res, f"{func} did not run under MicroPython:\n{res['_output']}"
    assert res[func].startswith("PASS"), res["_output"]


# --- MicroPython only: the driver (viper) against the register model, and heap_lock ----
MP_ONLY = ["mp_driver_cases", "mp_log_cases", "mp_flash_reentry_cases"]


def _mp_only_cases():
    import ast

    from conftest import FW_TESTS

    cases = []
    for mod in MP_ONLY:
        tree = ast.parse((FW_TESTS / f"{mod}.py").read_text())
        cases += [(mod, n.name) for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    return sorted(cases)


@functools.cache
def mp_only_results(module: str) -> dict[str, str]:
    from jumpclip.sim.board import MP_DIR

    proc = run_micropython(FW_TESTS / "mprun.py", module, extra_path=(FW_TESTS, MP_DIR))
    lines = proc.stdout.splitlines()
    assert lines and lines[-1].startswith("DONE"), proc.stdout[-2000:] + proc.stderr[-2000:]
    res = {ln.split(" ", 2)[1]: ln for ln in lines if ln.split(" ", 1)[0] in ("PASS", "FAIL")}
    res["_output"] = proc.stdout
    return res


@pytest.mark.parametrize("module,func", _mp_only_cases())
def test_micropython_only(module, func):
    res = mp_only_results(module)
    assert func in res, res["_output"]
    assert res[func].startswith("PASS"), res["_output"]
