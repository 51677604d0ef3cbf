"""jumpclip installed from its wheel, outside the checkout: the firmware travels inside the
package, so replay, the virtual board and deploy work from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from conftest import DATA

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    wheels = tmp / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)],
                   check=True, cwd=tmp, capture_output=True)
    (wheel,) = wheels.glob("jumpclip-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    # The dependencies come from this environment's site-packages, added after the new
    # venv's own (a plain path: its .pth files, such as the editable checkout's, stay off).
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)], check=True, capture_output=True)
    (venv / "bin" / "jumpclip").write_text(f"#!{venv / 'bin' / 'python'}\nfrom jumpclip.cli import main\nmain()\n")
    (venv / "bin" / "jumpclip").chmod(0o755)
    return venv, tmp


def run(venv, tmp, *args, **kw):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.run([str(venv / "bin" / "jumpclip"), *map(str, args)], cwd=tmp, env=env, capture_output=True, text=True, **kw)


def test_the_installed_package_uses_its_own_firmware_copy(installed):
    venv, tmp = installed
    out = subprocess.run([str(venv / "bin" / "python"), "-c", "import jumpclip.fw as f; print(f.FIRMWARE_DIR, f.IN_CHECKOUT)"],
                         cwd=tmp, capture_output=True, text=True, check=True).stdout
    path, in_checkout = out.split()
    assert in_checkout == "False" and path.endswith("jumpclip/_firmware") and str(ROOT) not in path
    shipped = sorted(p.name for p in Path(path).glob("*.py"))
    assert shipped == sorted(p.name for p in (ROOT / "firmware").glob("*.py"))


def test_replay_from_the_installed_package(installed):
    venv, tmp = installed
    res = run(venv, tmp, "replay", DATA / "cmj_s1.csv", "--json")
    assert res.returncode == 0, res.stderr
    assert '"f1"' in res.stdout


def test_sim_from_the_installed_package(installed):
    venv, tmp = installed
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    proc = subprocess.Popen([str(venv / "bin" / "jumpclip"), "sim", "--trace", str(DATA / "car_ride_s1.csv")], cwd=tmp, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert "virtual board on /dev/" in line, line
        port = line.split()[3]
        time.sleep(2)
        res = run(venv, tmp, "doctor", "--port", port, "--seconds", 1)
        assert "✓ sensor" in res.stdout, res.stdout + res.stderr
    finally:
        proc.terminate()
        proc.wait(10)


def test_one_version_for_the_package_the_firmware_and_the_readme():
    import re
    import tomllib

    import jumpclip
    from jumpclip.fw import FIRMWARE_DIR

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    firmware = re.search(r'^VERSION = "([^"]+)"', (FIRMWARE_DIR / "app.py").read_text(), re.M).group(1)
    readme = re.findall(r"firmware +jumpclip (\S+) on", (ROOT / "README.md").read_text())
    assert project["version"] == jumpclip.__version__ == firmware, (project["version"], jumpclip.__version__, firmware)
    assert readme and set(readme) == {firmware}, readme


def test_the_package_brings_the_virtual_board():
    # An installed jumpclip's `sim` said "MicroPython unix port not found: run make setup":
    # the unix port was in requirements.txt only.
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = [ln.split("==")[0] for ln in (ROOT / "requirements.txt").read_text().splitlines() if "micropython-unix" in ln]
    assert pinned and all(any(d.startswith(p) for d in deps) for p in pinned), deps
