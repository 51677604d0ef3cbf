"""Talking to the clip over its USB serial port.

`Transport` is the interface the rest of jumpclip uses; `SerialTransport` implements it
with pyserial and MicroPython's raw REPL: Ctrl-C hands the counting loop over (the firmware
polls for it and finishes its batch first), Ctrl-A enters the raw REPL, a command ends with
Ctrl-D and the reply is `OK`, its output, `\\x04`, its error output, `\\x04`, `>`.

The port is opened with DTR and RTS left alone: on ESP32 DevKit boards those lines drive
EN and GPIO0 through the auto-reset circuit, and toggling them resets the board mid-session.
Every device problem becomes a TransportError whose message is one line.
"""

from __future__ import annotations

import os
import time
from typing import Protocol

import serial
import serial.tools.list_ports

# USB serial adapters seen on ESP32 boards: (VID, PID or None for any) -> name.
ESP32_USB = {
    (0x10C4, 0xEA60): "CP210x",
    (0x1A86, 0x7523): "CH340",
    (0x1A86, 0x55D4): "CH9102",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6015): "FTDI FT231X",
    (0x303A, None): "Espressif native USB",
}


class TransportError(Exception):
    """A device or link problem; str() is one line saying what happened and what to do."""


class Transport(Protocol):
    port: str
    bytes_in: int
    bytes_out: int

    def open(self) -> None: ...
    def close(self) -> None: ...
    def interrupt(self) -> str: ...
    def enter_raw(self) -> None: ...
    def exec(self, code: str, timeout: float | None = None) -> str: ...
    def exec_start(self, code: str) -> None: ...
    def read_exact(self, n: int, timeout: float = 5.0) -> bytes: ...
    def exec_finish(self, timeout: float = 10.0) -> str: ...
    def read_line(self, timeout: float | None = None) -> str: ...
    def exec_detached(self, code: str) -> None: ...


def find_ports() -> list[tuple[str, str]]:
    """(device, description) of the USB serial ports that look like an ESP32 board."""
    found = []
    for p in serial.tools.list_ports.comports():
        for (vid, pid), name in ESP32_USB.items():
            if p.vid == vid and (pid is None or p.pid == pid):
                found.append((p.device, f"{name} {p.description or ''}".strip()))
                break
    return found


def timeout_from_env(default: float = 5.0) -> float:
    """JUMPCLIP_TIMEOUT_S (README), or default when it is not set. A value that is no number
    of seconds from 0.5 to 600 is an error, said in one line: a typo must not silently become
    5 s (abc, nan, inf, -1, 0, 601)."""
    text = os.environ.get("JUMPCLIP_TIMEOUT_S")
    if text is None or not text.strip():
        return default
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not 0.5 <= v <= 600:  # (NaN fails it too)
        raise TransportError(f"JUMPCLIP_TIMEOUT_S={text!r} is not a number of seconds from 0.5 to 600: fix it or unset it")
    return v


class SerialTransport:
    def __init__(self, port: str, baudrate: int = 115200, timeout: float | None = None, quiet: float = 0.3,
                 answer_s: float | None = None):
        self.port = port
        self.baudrate = baudrate
        # How long silence may last before the link counts as broken: 5 s, or
        # $JUMPCLIP_TIMEOUT_S for a slow link (a virtual board on a busy computer).
        self.timeout = timeout if timeout is not None else timeout_from_env()
        # How long Ctrl-C waits for a prompt. A clip already at its raw REPL answers Ctrl-C
        # with silence, and enter_raw() reaches it anyway: a shorter wait than timeout
        # shortens that case without making anything else less patient.
        self.answer_s = self.timeout if answer_s is None else answer_s
        self.quiet = quiet  # silence that ends the firmware's hand-over output
        self.ser: serial.Serial | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self._pending = b""

    # --- link ---
    def open(self) -> None:
        try:
            ser = serial.serial_for_url(self.port, do_not_open=True, baudrate=self.baudrate, timeout=0.05, exclusive=True)
            # Opening must not reset the clip. On Espressif-style boards the auto-reset
            # circuit holds EN low while RTS is asserted and DTR released (esptool reset.py,
            # ClassicReset): an EN reset is a power-on reset, and RTC memory (the unwritten
            # jumps, today's count) goes with it. Linux raises both lines at open; pyserial
            # then sets DTR, then RTS, so the lines must stay asserted: releasing them passed
            # through the reset state (DTR released first). On Windows the CP210x driver
            # drops DTR before RTS at open: open with both released, then raise DTR before
            # RTS (mpremote's transport_serial.py does the same).
            if os.name == "nt":
                ser.dtr = False
                ser.rts = False
                ser.open()
                ser.dtr = True
                ser.rts = True
            else:
                ser.open()
        except serial.SerialException as e:
            text = str(e)
            if "No such file" in text or "could not open port" in text and "Errno 2" in text:
                raise TransportError(f"no device at {self.port}: is the clip plugged in? (`jumpclip sync` finds it by itself)") from None
            if "busy" in text.lower() or "Errno 16" in text or "exclusively lock" in text:
                raise TransportError(f"{self.port} is busy: close the other program using it (a serial monitor, mpremote)") from None
            if "Permission denied" in text or "Errno 13" in text:
                raise TransportError(f"no permission to open {self.port}: add yourself to the dialout group, then log in again") from None
            raise TransportError(f"cannot open {self.port}: {text}") from None
        self.ser = ser

    def close(self) -> None:
        if self.ser is not None:
            try:
                # RTS released before DTR: the lines pass through "IO0 low, EN high", which
                # does nothing to a running chip, never through "EN low" (open() above).
                self.ser.rts = False
                self.ser.dtr = False
            except (OSError, serial.SerialException):
                pass
            try:
                self.ser.close()
            except (OSError, serial.SerialException):
                pass
            self.ser = None

    def _write(self, data: bytes) -> None:
        assert self.ser is not None
        try:
            self.ser.write(data)
            self.ser.flush()
        except (OSError, serial.SerialException):
            raise TransportError(f"lost the connection to {self.port} (cable pulled?): plug it in and run the command again") from None
        self.bytes_out += len(data)

    def _read_some(self, n: int = 4096) -> bytes:
        assert self.ser is not None
        try:
            data = self.ser.read(min(n, max(1, self.ser.in_waiting)))
        except (OSError, serial.SerialException):
            raise TransportError(f"lost the connection to {self.port} (cable pulled?): plug it in and run the command again") from None
        self.bytes_in += len(data)
        return data

    MAX_REPLY = 1 << 20  # a command's reply is a few KB; a device that sends more is not answering

    def _read_until(self, ending: bytes, timeout: float) -> bytes:
        data = self._pending
        self._pending = b""
        end = time.monotonic() + timeout
        # The timeout is for silence; the deadline bounds the whole reply, so a port that
        # keeps sending bytes (noise, another program, a runaway device) cannot hold us.
        deadline = time.monotonic() + max(10.0, 4 * timeout)
        while ending not in data:
            now = time.monotonic()
            if now > end:
                raise TransportError(
                    f"the device on {self.port} stopped answering (waited {timeout:.0f} s): "
                    "unplug and replug it, then try again"
                )
            if now > deadline or len(data) > self.MAX_REPLY:
                raise TransportError(
                    f"the device on {self.port} keeps sending without answering: is it a jumpclip? "
                    "unplug and replug it, then try again"
                )
            chunk = self._read_some()
            if chunk:
                end = time.monotonic() + timeout
            data += chunk
        i = data.index(ending) + len(ending)
        self._pending = data[i:]
        return data[:i]

    def read_exact(self, n: int, timeout: float | None = None) -> bytes:
        timeout = self.timeout if timeout is None else timeout
        data = self._pending
        self._pending = b""
        end = time.monotonic() + timeout
        deadline = time.monotonic() + timeout + n / 1000  # at least 1 KB/s; 115200 baud is 11 KB/s
        while len(data) < n:
            if time.monotonic() > end:
                raise TransportError(f"the device on {self.port} stopped sending mid-transfer: run the command again")
            if time.monotonic() > deadline:
                raise TransportError(f"the device on {self.port} sends too slowly (under 1 KB/s): try another cable or USB port")
            chunk = self._read_some(n - len(data))
            if chunk:
                end = time.monotonic() + timeout
            data += chunk
        self._pending = data[n:]
        return data[:n]

    def read_line(self, timeout: float | None = None) -> str:
        """One line of a running command's output, without its line ending."""
        line = self._read_until(b"\n", self.timeout if timeout is None else timeout)
        return line.decode(errors="replace").rstrip("\r\n")

    # --- raw REPL ---
    def interrupt(self) -> str:
        """Ctrl-C: the firmware finishes its batch, closes the session, prints a summary and
        returns to a prompt. Returns what it printed."""
        assert self.ser is not None
        # What the clip printed while no host was listening (it goes on counting and echoing
        # after a sync) is not an answer to this Ctrl-C: drop it.
        try:
            self.ser.reset_input_buffer()
        except (OSError, serial.SerialException):
            raise TransportError(f"lost the connection to {self.port} (cable pulled?): plug it in and run the command again") from None
        self._pending = b""
        self.first_reply_s: float | None = None  # how long the clip took to notice (light sleep)
        read_timeout = self.ser.timeout
        self._set_timeout(0.002)  # short reads: the resends below must not wait on them
        try:
            return self._interrupt_loop()
        finally:
            self._set_timeout(read_timeout)

    def _set_timeout(self, seconds: float) -> None:
        # Setting it reconfigures the port: on a device that vanished, pyserial raises
        # "Could not configure port" (while a TransportError was on its way: a traceback).
        assert self.ser is not None
        try:
            self.ser.timeout = seconds
        except (OSError, serial.SerialException):
            raise TransportError(f"lost the connection to {self.port} (cable pulled?): plug it in and run the command again") from None

    def _interrupt_loop(self) -> str:
        # A byte that arrives while the chip is in light sleep is lost (the esp32 port arms no
        # UART wake-up), and the clip is awake a few ms in every few hundred: keep the line
        # busy with Ctrl-C until a prompt appears. Pause while the clip is talking (its
        # session summary comes before the prompt), and resume if it falls silent without a
        # prompt (what it printed was a landing's echo, not the hand-over).
        out = b""
        started = time.monotonic()
        give_up = started + self.answer_s
        last_rx = 0.0
        resend = started
        while True:
            now = time.monotonic()
            if now > give_up:
                return out.decode(errors="replace")  # no prompt: enter_raw says what is wrong
            chunk = self._read_some()
            if chunk:
                if self.first_reply_s is None:
                    self.first_reply_s = now - started
                out += chunk
                last_rx = now
                if out.endswith(b">>> ") or out.endswith(b"\x04>"):
                    return out.decode(errors="replace")  # a prompt: the hand-over is complete
            elif now >= resend and (not out or now - last_rx > self.quiet):
                self._write(b"\x03")
                resend = now + 0.003  # several bytes in each few-ms awake window

    def enter_raw(self) -> None:
        """The raw REPL, within `timeout`. A clip still counting when interrupt() gave up
        (slow to notice Ctrl-C: asleep, or the computer was busy) took Ctrl-A for the byte
        that ends its loop: Ctrl-C again and ask again, until the time is up."""
        deadline = time.monotonic() + self.timeout
        while True:
            self._write(b"\r\x01")
            try:
                self._read_until(b"raw REPL; CTRL-B to exit\r\n>", min(1.0, max(0.1, deadline - time.monotonic())))
                return
            except TransportError:
                if time.monotonic() >= deadline:
                    if getattr(self, "first_reply_s", 1) is None:  # not one byte came back, to any Ctrl-C
                        raise TransportError(
                            f"the clip on {self.port} does not answer: it is asleep (idle, or its battery is low): move "
                            "it or press its button to wake it (charge it if it blinked low battery), then run the "
                            "command again") from None
                    raise TransportError(
                        f"the device on {self.port} does not answer like MicroPython: is it a jumpclip? "
                        "(if it is, unplug and replug it)"
                    ) from None
            self.interrupt()

    def exit_raw(self) -> None:
        """From the raw REPL back to the friendly one (Ctrl-B), within `timeout`."""
        self._write(b"\x02")
        self._read_until(b">>> ", self.timeout)

    def exec_start(self, code: str) -> None:
        self._write(code.encode() + b"\x04")
        reply = self._read_until(b"OK", self.timeout)
        if not reply.endswith(b"OK"):
            raise TransportError(f"the device on {self.port} refused the command: {reply[-60:]!r}")

    def exec_finish(self, timeout: float | None = None) -> str:
        timeout = self.timeout if timeout is None else timeout
        out = self._read_until(b"\x04", timeout)[:-1]
        err = self._read_until(b"\x04", timeout)[:-1]
        self._read_until(b">", timeout)
        if err.strip():
            last = err.decode(errors="replace").strip().splitlines()[-1]
            raise DeviceError(last)
        return out.decode(errors="replace")

    def exec(self, code: str, timeout: float | None = None) -> str:
        self.exec_start(code)
        return self.exec_finish(timeout)

    def exec_detached(self, code: str) -> None:
        """Start code (the counting loop) and leave it running."""
        self.exec_start(code)


class DeviceError(TransportError):
    """The command ran on the device and raised; str() is the device's last error line."""
