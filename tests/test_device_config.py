"""`jumpclip config get/set` and `deploy --config` against the virtual board."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from conftest import DATA
from jumpclip.cli import main
from jumpclip.sim import flash
from jumpclip.sim.board import VirtualBoard


def board(tmp_path):
    b = VirtualBoard(tmp_path / "b")
    b.flash_firmware()
    b.load_trace(DATA / "car_ride_s1.csv")
    port = b.serve()
    b.start(interactive=True)
    assert b.trace_end.wait(30)
    return b, port


def test_config_set_then_get(tmp_path):
    b, port = board(tmp_path)
    try:
        res = CliRunner().invoke(main, ["config", "set", "impact_g", "2.5", "--port", port])
        assert res.exit_code == 0, res.output
        assert json.loads(flash.read_file(b.image, "config.json")) == {"impact_g": 2.5}
        res = CliRunner().invoke(main, ["config", "get", "impact_g", "--port", port])
        assert res.exit_code == 0 and res.output.strip() == "2.5"
    finally:
        b.stop()


def test_bad_value_is_refused_with_the_allowed_range(tmp_path):
    res = CliRunner().invoke(main, ["config", "set", "impact_g", "99", "--port", "/dev/unused"])
    assert res.exit_code == 1 and "impact_g=99 not allowed (1.1..15.0)" in res.output
    res = CliRunner().invoke(main, ["config", "set", "colour", "red", "--port", "/dev/unused"])
    assert res.exit_code == 1 and "unknown key 'colour'" in res.output and "impact_g, rearm_g" in res.output


def test_a_value_the_other_settings_would_override_is_refused_and_default_resets(tmp_path):
    # rearm_g above impact_g (2.0 by default) is allowed alone; at boot the clip would
    # fall back to 2.0. Refuse it before writing, and let `default` remove a key again.
    b, port = board(tmp_path)
    try:
        res = CliRunner().invoke(main, ["config", "set", "rearm_g", "3", "--port", port])
        assert res.exit_code == 1 and "conflicts with the clip's other settings" in res.output and "impact_g" in res.output, res.output
        assert "config.json" not in flash.open_image(b.image).listdir("/")
        res = CliRunner().invoke(main, ["config", "set", "impact_g", "4", "--port", port])
        assert res.exit_code == 0, res.output
        res = CliRunner().invoke(main, ["config", "set", "rearm_g", "3", "--port", port])
        assert res.exit_code == 0, res.output
        res = CliRunner().invoke(main, ["config", "set", "rearm_g", "default", "--port", port])
        assert res.exit_code == 0 and "back to its default" in res.output
        assert json.loads(flash.read_file(b.image, "config.json")) == {"impact_g": 4.0}
    finally:
        b.stop()


def test_deploy_installs_a_tuned_config(tmp_path):
    b, port = board(tmp_path)
    cfg = tmp_path / "tuned.json"
    cfg.write_text(json.dumps({"min_flight_ms": 150, "freefall_g": 0.5}))
    try:
        res = CliRunner().invoke(main, ["deploy", "--port", port, "--config", str(cfg)])
        assert res.exit_code == 0, res.output
        assert json.loads(flash.read_file(b.image, "config.json")) == {"min_flight_ms": 150, "freefall_g": 0.5}
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"min_flight_ms": 5000}))
        res = CliRunner().invoke(main, ["deploy", "--port", port, "--config", str(bad)])
        assert res.exit_code == 1 and "min_flight_ms=5000 not allowed" in res.output
    finally:
        b.stop()


def test_deploy_reaches_a_counting_clip_in_light_sleep(tmp_path):
    # A clip as a user has it: counting, light-sleeping between FIFO reads, in real time.
    # mpremote's `resume` lost its few Ctrl-C bytes in the sleeps and timed out after 60 s.
    from conftest import DATA
    from test_chip_witness import served_board, wait_console

    b, port = served_board(tmp_path, DATA / "car_ride_s1.csv", time_scale=1, config={"idle_min": 0})
    cfg = tmp_path / "tuned.json"
    cfg.write_text(json.dumps({"min_flight_ms": 150}))
    try:
        wait_console(b, "counting: session 1")
        res = CliRunner().invoke(main, ["deploy", "--port", port, "--config", str(cfg)])
        assert res.exit_code == 0, res.output
        assert "reaching the clip" in res.output
        assert json.loads(flash.read_file(b.image, "config.json")) == {"min_flight_ms": 150}
    finally:
        b.stop()


def test_deploy_ends_the_held_session_before_it_writes_files(tmp_path):
    # Issue 34, item 13: a deploy to a counting clip failed once in four with "mpremote: rm:
    # No space left on device" on a flash 90 % free. While mpremote wrote files, the held
    # session's timer wrote the log: two writers in littlefs at once (on the board its timer
    # runs on another thread; on the chip a scheduled callback can run inside a filesystem
    # call, between the bytecodes of the erase guard's Python ioctl). Now the deploy ends
    # the session first, and nothing else writes the flash while the host does.
    from conftest import DATA
    from test_chip_witness import served_board, wait_console

    from jumpclip import deploy as deploymod
    from jumpclip.sim.flash import open_image

    b, port = served_board(tmp_path, DATA / "rope_single_s1.csv", time_scale=1, config={"idle_min": 0})
    try:
        wait_console(b, "counting: session 1")
        time.sleep(2)
        deploymod.reach(port, files=True)

        def log_files():
            fs = open_image(b.image)
            out = {}
            for n in fs.listdir("log"):
                with fs.open("log/" + n, "rb") as f:
                    out[n] = f.read()
            return out

        from jumpclip.logread import read_files

        # the held session has its END on the flash
        assert [e.session_id for e in read_files(log_files()).ends] == [1 << 10 | 1], b.console_text()[-1500:]
        before = {n: len(d) for n, d in log_files().items()}
        time.sleep(3)  # jumps land meanwhile (one a second), the lease's timer ticks
        assert {n: len(d) for n, d in log_files().items()} == before  # nothing written while the host may write files
        for _ in range(3):  # and deploys one after another succeed
            res = CliRunner().invoke(main, ["deploy", "--port", port])
            assert res.exit_code == 0, res.output
    finally:
        b.stop()
