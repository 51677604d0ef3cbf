"""The auto-reset circuit of Espressif-style boards, between the USB bridge's modem lines
and the ESP32's EN and IO0 pins, driven by what the host's serial code really does.

Two cross-coupled transistors (ESP32-DevKitC, Adafruit HUZZAH32 and Feather V2 schematics):
EN is pulled low, holding the chip in reset, while RTS is asserted and DTR released; IO0 is
pulled low while DTR is asserted and RTS released; both lines asserted, or both released,
leave both pins high. esptool's reset strategies use exactly that (esptool/reset.py:
ClassicReset sets DTR released, "IO0=HIGH", then RTS asserted, "EN=LOW, chip in reset";
HardReset pulses RTS alone). An EN reset is a power-on reset: RTC memory is lost (ESP-IDF
"Sleep Modes": RTC memory is kept through deep sleep, not through a chip power-down).

Linux raises DTR and RTS together when a tty opens and lowers both together at the last
close when HUPCL is set (tty_port_open and tty_port_shutdown, drivers/tty/tty_port.c);
pyserial's open() then sets DTR and RTS one after the other, DTR first
(serial/serialposix.py, Serial.open: _update_dtr_state, then _update_rts_state). A pty has
no modem lines (the ioctls fail with ENOTTY, which pyserial ignores), so `wired()` watches
the host's own calls: os.open of the board's port and the TIOCMBIS/TIOCMBIC/TIOCMSET ioctls
on its file descriptor, as the serial module makes them, and answers those as a USB bridge's
tty would.
"""

from __future__ import annotations

import contextlib
import os
import struct
import termios
from collections.abc import Callable, Iterator

TIOCM_DTR = getattr(termios, "TIOCM_DTR", 0x002)
TIOCM_RTS = getattr(termios, "TIOCM_RTS", 0x004)
TIOCMBIS = getattr(termios, "TIOCMBIS", 0x5416)
TIOCMBIC = getattr(termios, "TIOCMBIC", 0x5417)
TIOCMSET = getattr(termios, "TIOCMSET", 0x5418)


class AutoReset:
    """DTR and RTS as the board sees them (True: asserted), and the EN resets they caused."""

    def __init__(self, on_reset: Callable[[], None] | None = None):
        self.dtr = False
        self.rts = False
        self.on_reset = on_reset
        self.resets = 0
        self.download_mode_selects = 0  # IO0 pulled low (harmless unless EN rises meanwhile)
        self.history: list[tuple[bool, bool]] = []

    def _lines(self, dtr: bool, rts: bool) -> None:
        was_reset = self.rts and not self.dtr
        self.dtr, self.rts = dtr, rts
        self.history.append((dtr, rts))
        if dtr and not rts:
            self.download_mode_selects += 1
        if rts and not dtr and not was_reset:  # EN falls: the chip is held in reset
            self.resets += 1
            if self.on_reset:
                self.on_reset()

    def opened(self) -> None:
        self._lines(True, True)  # the kernel raises both at once

    def closed(self) -> None:
        self._lines(False, False)  # HUPCL: both fall at once

    def ioctl(self, request: int, bits: int) -> None:
        dtr, rts = self.dtr, self.rts
        if request == TIOCMSET:
            dtr, rts = bool(bits & TIOCM_DTR), bool(bits & TIOCM_RTS)
        elif request in (TIOCMBIS, TIOCMBIC):
            on = request == TIOCMBIS
            if bits & TIOCM_DTR:
                dtr = on
            if bits & TIOCM_RTS:
                rts = on
        else:
            return
        self._lines(dtr, rts)


@contextlib.contextmanager
def wired(port: str, circuit: AutoReset) -> Iterator[AutoReset]:
    """While inside: the serial module's opens, modem-line ioctls and closes of `port` drive
    `circuit` (the calls themselves still go to the pty)."""
    import serial.serialposix as sp

    real_os, real_fcntl = sp.os, sp.fcntl
    fds: set[int] = set()

    class OsProxy:
        def __getattr__(self, name):
            return getattr(real_os, name)

        @staticmethod
        def open(path, flags, *args):
            fd = real_os.open(path, flags, *args)
            if os.path.realpath(path) == os.path.realpath(port):
                fds.add(fd)
                circuit.opened()
            return fd

        @staticmethod
        def close(fd):
            if fd in fds:
                fds.discard(fd)
                circuit.closed()
            return real_os.close(fd)

    class FcntlProxy:
        def __getattr__(self, name):
            return getattr(real_fcntl, name)

        @staticmethod
        def ioctl(fd, request, arg=0, *rest):
            if fd in fds and request in (TIOCMBIS, TIOCMBIC, TIOCMSET):
                # The USB bridge has the lines the pty lacks: the call succeeds, as on the
                # clip's port (on the pty it would fail, and pyserial would skip RTS).
                bits = struct.unpack("I", arg)[0] if isinstance(arg, (bytes, bytearray)) else int(arg)
                circuit.ioctl(request, bits)
                return arg
            return real_fcntl.ioctl(fd, request, arg, *rest)

    sp.os, sp.fcntl = OsProxy(), FcntlProxy()
    try:
        yield circuit
    finally:
        sp.os, sp.fcntl = real_os, real_fcntl
