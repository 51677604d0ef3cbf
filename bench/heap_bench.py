"""`make bench-heap` (and part of `make bench`): the firmware's heap on a 32-bit MicroPython.

The ESP32's words are 32 bits; the unix port from PyPI is 64-bit, and every object and
pointer there is twice the size. So this builds the unix port 32-bit from a MicroPython
source tree ($MICROPY_SRC: a checkout of the version requirements.txt pins; its submodules
are not needed), twice, into build/micropython-32/:
- plain: `make MICROPY_FORCE_32BIT=1` (ports/unix/Makefile), as the stock ESP32 firmware;
- frozen: the same with firmware/manifest.py frozen in (FROZEN_MANIFEST), as an ESP32 image
  built from docs/frozen-build.md.
Then it runs the firmware on the virtual board with each:
- the demo session's peak live heap (after a collection at every wake), three runs each:
  the figure moves by a few KB between runs, because the collector also scans the stacks
  of the simulation's threads, which hold stale pointers;
- a day of trace with a sync every two hours of it, under the ESP32's heap: its GC heap
  starts at 56 KB (MICROPY_GC_INITIAL_HEAP_SIZE, ports/esp32/mpconfigport.h) and can grow
  once into the IDF heap (MICROPY_GC_SPLIT_HEAP_AUTO; the same file's comment: sized "so they
  can grow the heap once (double it)"). The firmware gets exactly what such a heap leaves
  after the GC's own tables, measured with this build's gc.mem_free().
Prints figures; a MemoryError or a lost jump is printed as such.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jumpclip.fw import FIRMWARE_DIR, build_dir
from jumpclip.sim.board import BoardOptions, VirtualBoard, run_trace

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "host_tools" / "jumpclip" / "data" / "demo_session.csv"
ESP32_HEAP_KB = 56  # ports/esp32/mpconfigport.h, CONFIG_IDF_TARGET_ESP32
# No micropython-lib, SSL, btree or ffi: the firmware uses none, and they need submodules.
_MAKE_FLAGS = ["VARIANT=standard", "MICROPY_FORCE_32BIT=1", "MICROPY_PY_FFI=0", "MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=0"]


def source() -> Path | None:
    src = os.environ.get("MICROPY_SRC")
    if src and (Path(src) / "ports" / "unix" / "Makefile").is_file():
        return Path(src).resolve()
    return None


def why_no_source() -> str:
    """Why source() found nothing, in one line: not set, or set to what is no MicroPython tree."""
    src = os.environ.get("MICROPY_SRC")
    if not src:
        return "MICROPY_SRC is not set: building the 32-bit unix port needs a MicroPython source tree (see bench/heap_bench.py)"
    return (f"MICROPY_SRC={src} is no MicroPython source tree (no ports/unix/Makefile there): point it at a clone of "
            "micropython (see bench/heap_bench.py)")


def build(src: Path, frozen: bool, log=print) -> Path:
    """The 32-bit unix port (frozen: with firmware/manifest.py), built once and kept."""
    out = build_dir() / "micropython-32"
    kind = "frozen" if frozen else "plain"
    exe = out / kind / "micropython"
    stamp = out / kind / "stamp"
    key = f"{src} {subprocess.run(['git', '-C', str(src), 'describe', '--tags', '--always'], capture_output=True, text=True).stdout.strip()}"
    if frozen:
        key += " " + " ".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in sorted(FIRMWARE_DIR.glob("*.py")))
    if exe.is_file() and stamp.is_file() and stamp.read_text() == key:
        return exe
    log(f"  building the 32-bit unix port ({kind}) from {src} ...")
    if not (src / "mpy-cross" / "build" / "mpy-cross").is_file():
        subprocess.run(["make", "-C", str(src / "mpy-cross"), "-j2"], check=True, capture_output=True)
    nolib = out / "no-micropython-lib"
    nolib.mkdir(parents=True, exist_ok=True)
    (nolib / "README.md").write_text("The frozen manifest needs nothing from micropython-lib.\n")  # the build checks it exists
    flags = list(_MAKE_FLAGS) + [f"BUILD={out / kind / 'build'}", "PROG=micropython"]
    if frozen:
        flags += [f"FROZEN_MANIFEST={FIRMWARE_DIR / 'manifest.py'}", "MPY_CROSS_FLAGS=-march=x86", f"MPY_LIB_DIR={nolib}"]
    else:
        flags += ["FROZEN_MANIFEST="]
    p = subprocess.run(["make", "-C", str(src / "ports" / "unix"), "-j2", *flags], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("building the unix port failed: " + (p.stdout + p.stderr).strip().splitlines()[-1])
    (out / kind).mkdir(parents=True, exist_ok=True)
    shutil.copy2(out / kind / "build" / "micropython", exe)
    stamp.write_text(key)
    return exe


def mpy_files(cross: Path, arch: str, td: Path) -> dict[str, bytes]:
    """The firmware as `jumpclip deploy` puts it on a clip: .mpy for the arch (the unix
    port's build here: x86 or x64), main.py as source."""
    files = {}
    for f in sorted(FIRMWARE_DIR.glob("*.py")):
        if f.name in ("main.py", "manifest.py"):
            continue
        dst = td / (f.stem + ".mpy")
        subprocess.run([str(cross), f"-march={arch}", "-O2", "-o", str(dst), str(f)], check=True)
        files[dst.name] = dst.read_bytes()
    files["main.py"] = (FIRMWARE_DIR / "main.py").read_bytes()
    return files


def layouts(src: Path, td: Path) -> dict[str, tuple[Path, BoardOptions]]:
    plain, frozen = build(src, False), build(src, True)
    main_only = {"main.py": (FIRMWARE_DIR / "main.py").read_bytes()}
    return {
        ".py on the flash": (plain, BoardOptions()),
        ".mpy on the flash (jumpclip deploy)": (plain, BoardOptions(firmware=False, files=mpy_files(src / "mpy-cross" / "build" / "mpy-cross", "x86", td))),
        "frozen (firmware/manifest.py)": (frozen, BoardOptions(firmware=False, files=main_only)),
    }


def with_env(exe: Path):
    class _Env:
        def __enter__(self):
            self.old = os.environ.get("MICROPYTHON")
            os.environ["MICROPYTHON"] = str(exe)

        def __exit__(self, *a):
            if self.old is None:
                os.environ.pop("MICROPYTHON", None)
            else:
                os.environ["MICROPYTHON"] = self.old

    return _Env()


def demo_peak(exe: Path, opts: BoardOptions, td: Path) -> tuple[int, int]:
    """(peak live heap of the firmware, landings) on the demo session."""
    o = BoardOptions(**{**opts.__dict__, "extra": {**opts.extra, "heap_probe": True}})
    with with_env(exe):
        run = run_trace(DEMO, td / "demo", o)
    shutil.rmtree(td / "demo", ignore_errors=True)
    return run.report["heap_peak_live"], len(run.jumps())


def heap_for(exe: Path, opts: BoardOptions, firmware_kb: float, td: Path) -> tuple[int, int]:
    """(-X heapsize in bytes, bytes free for the firmware at boot) so that the firmware gets
    what a firmware_kb GC heap leaves on this build. Both heaps are measured, not derived:
    gc.mem_free() of a bare interpreter with that heap, and of the board at boot."""
    def usable(heap: int) -> tuple[int, int]:
        p = subprocess.run([str(exe), "-X", f"heapsize={heap}", "-c", "import gc; gc.collect(); print(gc.mem_free(), gc.mem_alloc())"],
                           capture_output=True, text=True, check=True)
        free, alloc = map(int, p.stdout.split())
        return free, alloc

    room = usable(int(firmware_kb * 1024))[0]  # what the chip's heap leaves its main.py
    # No pin log: the simulation's own lists would grow into the firmware's room.
    o = BoardOptions(**{**opts.__dict__, "extra": {**opts.extra, "heap_probe": True}, "trace_pins": []})

    def free_with(heap: int) -> int:
        # Started as day_with_syncs starts its board (interactive: the REPL after main.py).
        board = VirtualBoard(td / "probe", BoardOptions(**{**o.__dict__, "heap_bytes": heap}))
        with with_env(exe):
            board.flash_firmware()
            board.load_trace(DEMO)
            board.start(interactive=True)
            try:  # the line comes at boot, before the firmware runs
                end = time.monotonic() + 20
                while time.monotonic() < end and not board.exited.is_set():
                    if any("bytes free for the firmware" in ln for ln in board.sim_lines):
                        break
                    time.sleep(0.02)
            finally:
                board.stop()
        shutil.rmtree(td / "probe", ignore_errors=True)
        for ln in board.sim_lines:
            m = re.search(r"heap (\d+) bytes free for the firmware", ln)
            if m:
                return int(m.group(1))
        return -1  # the simulation itself did not fit

    # The smallest heap (to 256 bytes) that leaves the firmware at least `room`: the
    # simulation's own part is not linear in the heap (its buffers need contiguous room).
    lo, hi = room, 1 << 20
    while hi - lo > 256:
        mid = (lo + hi) // 2
        if free_with(mid) >= room:
            hi = mid
        else:
            lo = mid
    return hi, free_with(hi)


def day_with_syncs(exe: Path, opts: BoardOptions, heap: int, td: Path, hours: float = 24.0) -> dict:
    td = Path(tempfile.mkdtemp(dir=td))  # a fresh board and database for each run
    """A day of the demo session repeated, through the board in fast mode with the heap
    given, synced every 30 s of host time (about 2 h of the board's at its usual pace);
    then every jump it counted must be in the store."""
    import numpy as np

    from jumpclip import sync as syncmod
    from jumpclip.sim import feed
    from jumpclip.store import Store
    from jumpclip.traces import Trace, read_trace
    from jumpclip.transport import SerialTransport

    demo = feed.counts(read_trace(DEMO), 200, 16)
    n = int(hours * 3600 * 200)
    day = np.concatenate([demo] * (n // len(demo) + 1))[:n]
    tr = Trace(str(td / "day.csv"), {"rate_hz": "200"}, np.arange(n) / 200.0, day.astype(np.float64) / 2048.0, 200.0)
    o = BoardOptions(**{**opts.__dict__, "config": {"idle_min": 0}, "heap_bytes": heap, "trace_pins": []})
    board = VirtualBoard(td / "day", o)
    board.flash_firmware()
    board.load_trace(tr)
    port = board.serve()
    env = with_env(exe)  # for the whole run: a reset starts the interpreter again
    env.__enter__()
    board.start(interactive=True)
    store = Store(td / "day.sqlite")
    syncs = 0
    errors = []
    t0 = time.monotonic()
    try:
        next_s = time.monotonic() + 30
        give_up = time.monotonic() + 120 + hours * 3600 / 50  # the board runs at 200-300x; a stuck one is a finding
        while not board.trace_end.wait(0.2):
            if board.proc is not None and board.proc.poll() is not None:
                break
            if "Traceback" in board.console_text():  # the firmware stopped (a MemoryError, say)
                c = board.console_text()
                errors.append("the firmware stopped: " + c[c.index("Traceback"):][:900].replace("\n", " | "))
                break
            if time.monotonic() > give_up:
                errors.append("the board did not reach the end of the trace: " + board.console_text()[-300:].replace("\n", " | "))
                break
            if time.monotonic() >= next_s:
                try:
                    syncmod.sync(SerialTransport(port, timeout=30, quiet=0.1), store)
                    syncs += 1
                except Exception as e:  # printed: a failed sync is a finding, not a crash of the bench
                    errors.append(f"sync {syncs + 1}: {e}")
                next_s = time.monotonic() + 30
        try:
            syncmod.sync(SerialTransport(port, timeout=30, quiet=0.1), store)
            syncs += 1
        except Exception as e:
            errors.append(f"the last sync: {e}")
    finally:
        board.stop()
        env.__exit__()
    console = board.console_text()
    # What the clip counted: each session's last summary (at its end, or at the last
    # hand-over); the jump echo is silent while the host holds the console.
    last: dict = {}
    for sid, n in re.findall(r"session (\d+ of boot \d+): (\d+) jumps", console):
        last[sid] = int(n)
    counted = sum(last.values())
    return {
        "host_s": time.monotonic() - t0,
        "syncs": syncs,
        "sync_errors": errors,
        "counted": counted,
        "stored": store.count_jumps(),
        "sessions": len(store.sessions()),
        "memory_errors": console.count("MemoryError"),
        "overflows": len(re.findall(r"FIFO overflow \d+:", console)),
        "console_tail": console[-1500:],
        "resets": [ln for ln in board.sim_lines if "halt" in ln or "reset" in ln or "hang" in ln][:5],
        "errors_in_console": [console[max(0, m.start() - 300): m.start() + 600] for m in re.finditer("Error", console)][:2],
    }


def main(hours: float = 24.0) -> None:
    print("Firmware heap on a 32-bit MicroPython (unix port built from source; ESP32 word size):")
    src = source()
    if src is None:
        print(f"  skipped: {why_no_source()}; the version in requirements.txt, no submodules needed, gcc-multilib "
              "for -m32; then `make bench-heap`")
        return
    with tempfile.TemporaryDirectory() as tds:
        td = Path(tds)
        print(f"  source: {src}")
        for name, (exe, opts) in layouts(src, td).items():
            peaks = []
            for _ in range(3):
                peak, landings = demo_peak(exe, opts, td)
                peaks.append(peak)
            print(f"  {name:38s} demo session peak live heap {min(peaks) / 1024:5.1f} to {max(peaks) / 1024:5.1f} KB "
                  f"({landings} landings; goal <= 32 KB frozen)")
        print(f"  {hours:g} h of trace with a sync every 30 s of host time, under the ESP32's GC heap ({ESP32_HEAP_KB} KB, and {2 * ESP32_HEAP_KB} KB once grown):")
        for name, (exe, opts) in layouts(src, td).items():
            for kb in (ESP32_HEAP_KB, 2 * ESP32_HEAP_KB):
                heap, free = heap_for(exe, opts, kb, td)
                r = day_with_syncs(exe, opts, heap, td, hours)
                verdict = "ok" if not r["memory_errors"] and r["stored"] == r["counted"] and not r["sync_errors"] else "FAILED"
                print(f"    {name:38s} {kb:3d} KB heap ({free / 1024:.1f} KB free for the firmware at boot): {verdict}: "
                      f"{r['counted']} landings counted, {r['stored']} synced in {r['syncs']} syncs, {r['sessions']} sessions, "
                      f"{r['memory_errors']} MemoryErrors, {r['overflows']} FIFO overflows; {r['host_s']:.0f} s of host time")
                for e in r["sync_errors"][:3]:
                    print(f"      {e}")
                if verdict == "ok":
                    break  # the grown heap is only needed where the initial one is not enough


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 24.0)
