"""`jumpclip demo` (make demo): the device log is whole, and a board that cannot run says why."""

from __future__ import annotations


from click.testing import CliRunner

from jumpclip.cli import main
from jumpclip.demo import handover_log


def test_the_demo_shows_the_whole_device_log_then_the_synced_session():
    res = CliRunner().invoke(main, ["demo"], terminal_width=200)
    assert res.exit_code == 0, res.output
    device = [ln.split("device> ", 1)[1] for ln in res.output.splitlines() if "device> " in ln]
    jumps = [ln for ln in device if ln.startswith("jump ")]
    # Every landing's line is whole (the log was cut mid-line at jump 18 when printed at the
    # trace's end), and the session's summary closes it, before the sync.
    assert len(jumps) == 20 and all(ln.endswith("cm") for ln in jumps)
    assert "session 1 of boot 1: 20 jumps" in device[-1] and not any("MicroPython" in ln for ln in device)
    assert "synced" in res.output and "20 jumps counted, synced and listed" in res.output


def test_handover_log_stops_at_the_repl():
    console = "jumpclip: counting\r\njump 1 t=1.0s\r\njumpclip: session 1: 1 jumps\r\nMicroPython v1\r\nType\r\n>>> \r\nraw REPL; CTRL-B"
    assert handover_log(console) == ["jumpclip: counting", "jump 1 t=1.0s", "jumpclip: session 1: 1 jumps"]


def test_a_board_whose_interpreter_is_broken_says_so(tmp_path, monkeypatch):
    # Not "did not reach the end of the trace" after two minutes: the board stopped, and why.
    fake = tmp_path / "micropython"
    fake.write_text("#!/bin/sh\necho 'micropython: cannot open shared object' >&2\nexit 127\n")
    fake.chmod(0o755)
    monkeypatch.setenv("MICROPYTHON", str(fake))
    res = CliRunner().invoke(main, ["demo"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "stopped before the end of the trace" in res.output and "cannot open shared object" in res.output
    assert "reinstall" in res.output
