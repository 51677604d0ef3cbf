"""A clip whose sensor does not answer stays reachable and says what is wrong (it was
invisible: sync reported 0 new sessions, notes nothing, and later every command found a
device that "does not answer like MicroPython")."""

from __future__ import annotations

from click.testing import CliRunner

from jumpclip.cli import main
from test_chip_witness import served_board, wait_console


def test_a_clip_without_its_sensor_is_reached_and_says_why(tmp_path):
    board, port = served_board(tmp_path, sensor=False, time_scale=1, config={"idle_min": 0})
    db = str(tmp_path / "db.sqlite")
    run = CliRunner()
    try:
        wait_console(board, "retrying in 4 s")  # waiting between retries: the host must still get through
        res = run.invoke(main, ["sync", "--port", port, "--db", db])
        assert res.exit_code == 0, res.output
        assert "the clip says: sensor error: MPU6050 not found" in res.output, res.output
        notes = run.invoke(main, ["notes", "--db", db]).output
        assert "MPU6050 not found at I2C address 0x68" in notes and "check wiring" in notes
        wait_console(board, "retrying in 2 s")  # a sync restarts the clip: it looks for the sensor again
        res = run.invoke(main, ["doctor", "--port", port, "--seconds", "1"])
        assert res.exit_code == 1 and "✗ sensor" in res.output and "check the wiring" in res.output, res.output
        assert "does not answer like MicroPython" not in res.output
    finally:
        board.stop()
    # Each hand-over was reached within a second of the host's first Ctrl-C, on the board's clock.
    reached = [int(line.split()[5]) for line in board.sim_lines if line.startswith("SIM uart reached the REPL")]
    assert reached and max(reached) < 1000, reached


def test_a_board_in_a_relative_folder_finds_its_flash(tmp_path, monkeypatch):
    # `jumpclip sim --workdir sw` booted a board without its flash: the micropython process
    # runs from another folder, and "no module named 'syncserver'" followed.
    from conftest import DATA
    from jumpclip.sim.board import run_trace

    monkeypatch.chdir(tmp_path)
    run = run_trace(DATA / "cmj_s1.csv", "sw")
    assert run.report["crashed"] is None and len(run.jumps()) == 6
    assert (tmp_path / "sw" / "flash.img").exists()
