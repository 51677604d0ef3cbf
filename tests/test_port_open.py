"""Opening the clip's port never resets it (issue: "Opening the port can reset the ESP32").

The model (jumpclip.sim.autoreset) is the two-transistor auto-reset circuit of
Espressif-style boards, driven by the host's real serial calls: an open raises DTR and RTS
together (Linux tty_port_open), pyserial then sets DTR and RTS in turn, a close drops both
(HUPCL). EN low (RTS asserted, DTR released) is a power-on reset of the board."""

from __future__ import annotations

import os
import pty
import tty

import serial
from click.testing import CliRunner

from conftest import DATA
from jumpclip.cli import main
from jumpclip.sim.autoreset import AutoReset, wired
from jumpclip.transport import SerialTransport
from test_chip_witness import served_board, wait_console


def a_port():
    master, slave = pty.openpty()
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def test_the_model_resets_on_the_sequences_its_sources_name():
    master, slave, port = a_port()
    try:
        # The transport as it was: both lines released before open. pyserial releases DTR
        # first, so RTS is asserted alone for a moment: EN low.
        c = AutoReset()
        with wired(port, c):
            ser = serial.serial_for_url(port, do_not_open=True)
            ser.dtr = False
            ser.rts = False
            ser.open()
            ser.close()
        assert c.resets == 1 and (False, True) in c.history
        # esptool's hard reset after flashing: RTS pulsed alone.
        c = AutoReset()
        with wired(port, c):
            ser = serial.Serial(port)
            ser.dtr = False
            ser.rts = True
            ser.rts = False
            ser.close()
        assert c.resets == 1
        # A serial monitor with pyserial's defaults (miniterm): both raised at open, both
        # dropped at close: no reset.
        c = AutoReset()
        with wired(port, c):
            serial.Serial(port).close()
        assert c.resets == 0 and c.history[0] == (True, True)
    finally:
        os.close(master)
        os.close(slave)


def test_the_transport_opens_and_closes_without_a_reset():
    master, slave, port = a_port()
    try:
        c = AutoReset()
        with wired(port, c):
            for _ in range(3):
                t = SerialTransport(port)
                t.open()
                t.close()
        assert c.resets == 0 and len(c.history) >= 3 * 3
        assert all(not (rts and not dtr) for dtr, rts in c.history)
    finally:
        os.close(master)
        os.close(slave)


def test_config_doctor_record_and_sync_never_reset_a_counting_clip(tmp_path):
    # Every host command through the real transport, on a board whose EN follows the model:
    # a reset would power-cycle it (RTC memory lost) and boot it again.
    board, port = served_board(tmp_path, DATA / "box_jumps_s1.csv", time_scale=4, config={"idle_min": 0})
    circuit = AutoReset(on_reset=lambda: board.restart())
    run = CliRunner()
    try:
        wait_console(board, "counting: session 1")
        with wired(port, circuit):
            steps = {
                "config": run.invoke(main, ["config", "get", "impact_g", "--port", port]),
                "doctor": run.invoke(main, ["doctor", "--port", port, "--seconds", "1"]),
                "record": run.invoke(main, ["record", "--port", port, "--out", str(tmp_path / "r.csv"), "--seconds", "2"]),
                "sync": run.invoke(main, ["sync", "--port", port, "--db", str(tmp_path / "db.sqlite")]),
            }
    finally:
        board.stop()
    for name, res in steps.items():
        assert "Traceback" not in res.output, (name, res.output)
    assert steps["config"].exit_code == 0 and steps["record"].exit_code == 0 and steps["sync"].exit_code == 0, steps
    assert circuit.resets == 0 and board.boots == 1, circuit.history
    assert sum(1 for dtr, rts in circuit.history if dtr and rts) >= 4  # the model saw every command's open


def test_a_device_that_vanishes_mid_command_is_one_line_not_a_traceback():
    # pyserial reconfigures the port when the read timeout changes; on a device that has gone
    # it raises "Could not configure port", which escaped while a TransportError was raised.
    from jumpclip.transport import TransportError

    class Gone:
        timeout = 0.05

        def __setattr__(self, name, value):
            if name == "timeout":
                raise serial.SerialException("Could not configure port: (5, 'Input/output error')")
            object.__setattr__(self, name, value)

        def reset_input_buffer(self):
            pass

    t = SerialTransport("/dev/ttyUSB9")
    t.ser = Gone()
    try:
        t.interrupt()
    except TransportError as e:
        assert "lost the connection to /dev/ttyUSB9" in str(e)
    else:
        raise AssertionError("no TransportError")
