"""Every `jumpclip` line of the README runs as written (issue 36): the package installed from
its wheel outside the checkout (tests/test_install.py's fixture), a fresh database, and the
README's own virtual board (`jumpclip sim`) standing in for the clip. Port placeholders
(/dev/pts/7, PORT) become the board's port, and $JUMPCLIP_PORT names it for the lines
without --port, as a clip on USB would be found."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from test_install import ROOT, installed  # noqa: F401  (the fixture)


def readme_commands() -> list[str]:
    """The `jumpclip ...` lines of the README's code blocks, in order, without their comments."""
    text = (ROOT / "README.md").read_text()
    cmds = []
    for block in re.findall(r"```\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("jumpclip "):
                cmds.append(re.split(r"\s+#", line)[0].strip())
    return cmds


def test_the_readme_lists_its_commands():
    cmds = readme_commands()
    assert "jumpclip sim" in cmds and any(c.startswith("jumpclip wearer add") for c in cmds) and len(cmds) >= 20


def test_every_readme_command_runs_as_written(installed):  # noqa: F811
    venv, tmp = installed
    run_dir = tmp / "readme"
    run_dir.mkdir()
    env = dict(os.environ, PATH=f"{venv / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}",
               XDG_DATA_HOME=str(tmp / "readme-data"), COLUMNS="80")
    cmds = readme_commands()
    assert cmds[0] == "jumpclip sim"
    board = subprocess.Popen(["jumpclip", "sim"], cwd=run_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ran = []
    try:
        lines = [board.stdout.readline() for _ in range(2)]  # what it plays, then its port
        line = next((ln for ln in lines if "virtual board on /dev/" in ln), "".join(lines))
        assert "virtual board on /dev/" in line, line
        port = line.split()[3]
        env["JUMPCLIP_PORT"] = port
        time.sleep(2)
        for cmd in cmds[1:]:
            assert cmd != "jumpclip sim", "one virtual board is enough"
            args = [port if a in ("/dev/pts/7", "PORT") else a for a in cmd.split()]
            res = subprocess.run(args, cwd=run_dir, env=env, capture_output=True, text=True, timeout=120)
            ran.append(f"$ {cmd}\n{res.stdout}{res.stderr}")
            assert res.returncode == 0 and "Traceback" not in res.stdout + res.stderr, "\n".join(ran[-3:])
    finally:
        board.terminate()
        board.wait(15)
    story = "\n".join(ran)
    assert (run_dir / "r.html").is_file() and (run_dir / "ann.html").is_file(), story
    assert "Ann" in ran[-1], story  # wearer list
    sessions = next(r for r in ran if r.startswith("$ jumpclip sessions"))
    assert re.search(r"\b345678\b", sessions), sessions  # the clip the wearer lines name
