"""`jumpclip doctor` on the virtual board: one line per check, the sample rate measured
against the clip's own clock, and the clip counting again afterwards."""

from __future__ import annotations

import re

from click.testing import CliRunner

from jumpclip import doctor
from jumpclip.cli import main as cli
from test_chip_witness import served_board, wait_console


def run_doctor(port, seconds=3):
    return CliRunner().invoke(cli, ["doctor", "--port", port, "--seconds", str(seconds)])


def test_doctor_on_a_healthy_clip_and_a_fast_sample_clock(tmp_path):
    # Real time (x1), the sensor's clock 3 % fast: measured against the clip's clock, doctor
    # finds it; everything else passes, and the clip counts again afterwards.
    board, port = served_board(tmp_path, time_scale=1, config={"idle_min": 0}, extra={"mpu": {"clock_error": 0.03}})
    try:
        wait_console(board, "counting: session 1")
        res = run_doctor(port)
        assert res.exit_code == 0, res.output
        lines = {ln.split()[1]: ln for ln in res.output.splitlines() if ln[:1] in "✓!✗"}
        assert lines["sensor"].startswith("✓") and "0x68: MPU-6050" in lines["sensor"]
        assert lines["sample"].startswith("!"), lines["sample"]  # "sample rate": a warning
        measured = float(lines["sample"].split()[3])
        assert 203 < measured < 209, lines["sample"]  # 200 Hz x 1.03
        # The heap, from gc and the GC's own mem_info text (the unix port has no IDF heap).
        assert re.search(r"✓ heap +[\d.]+ KB free of [\d.]+ KB, largest free block [\d.]+ KB$", lines["heap"]), lines["heap"]
        for name in ("firmware", "FIFO", "I2C", "flash", "battery", "watchdog", "wake"):
            assert lines[name].startswith("✓"), lines[name]
        assert lines["clock"].startswith("!")  # never synced: not set
        wait_console(board, "counting on: session 1 of boot 1")  # doctor held the session open
        assert board.resets == []
    finally:
        board.stop()


def test_doctor_without_a_sensor_says_what_to_check(tmp_path):
    board, port = served_board(tmp_path, sensor=False, config={"idle_min": 0})
    try:
        wait_console(board, "sensor error")
        res = run_doctor(port)
        assert res.exit_code == 1
        assert "✗ sensor" in res.output and "check the wiring" in res.output
        assert "✗ sample rate" in res.output
        assert "error: 3 check(s) failed: sensor, sample rate, I2C errors" in res.output  # every test read failed
        assert "Traceback" not in res.output
    finally:
        board.stop()


FACTS = {
    "firmware": "0.1.0", "micropython": "1.24.1", "machine": "ESP32", "app": True, "who_am_i": 0x68, "family": "MPU-6050",
    "i2c_failed": 0, "i2c_tries": 100, "i2c_errors_since_boot": 0, "fifo_overflows_session": 0, "rate_hz": 100,
    "sensor_up": True, "wdt_armed": True, "wdt_ms": 8000, "low_battery_mv": 3400, "battery_mv": 3900,
    "flash_free": 1 << 20, "flash_total": 2 << 20, "clock_set": True,
}


def verdicts(**changes):
    f = dict(FACTS, **{k: v for k, v in changes.items() if k not in ("wake", "rate")})
    return {c.name: c.status for c in doctor.checks_from(f, changes.get("wake", 0.2), changes.get("rate", (1000, 0, 10.0, 10.0)))}


def test_each_verdict_follows_its_limit():
    assert set(verdicts().values()) == {doctor.OK}
    assert verdicts(who_am_i=0x70, family="MPU-6500")["sensor"] == doctor.FAIL
    assert verdicts(rate=(1040, 0, 10.0, 10.0))["sample rate"] == doctor.WARN  # 4 %
    assert verdicts(rate=(1100, 0, 10.0, 10.0))["sample rate"] == doctor.FAIL  # 10 %
    # A busy computer heard the end 25 s late: the sensor is judged on the clip's clock.
    assert verdicts(rate=(1000, 0, 35.0, 10.0))["sample rate"] == doctor.OK
    assert verdicts(rate=(1100, 0, 35.0, 10.0))["sample rate"] == doctor.FAIL
    assert verdicts(rate=(1000, 2, 10.0, 10.0))["FIFO overflows"] == doctor.FAIL
    assert verdicts(i2c_failed=3)["I2C errors"] == doctor.FAIL
    assert verdicts(i2c_errors_since_boot=1)["I2C errors"] == doctor.WARN
    assert verdicts(flash_free=10_000)["flash free"] == doctor.FAIL
    assert verdicts(battery_mv=3300)["battery"] == doctor.FAIL
    assert verdicts(clock_set=False)["clock"] == doctor.WARN
    assert verdicts(wdt_armed=False)["watchdog"] == doctor.FAIL
    assert verdicts(wake=1.5)["wake latency"] == doctor.FAIL
    assert verdicts(wake=1.5, up_ms=60_000)["wake latency"] == doctor.FAIL
    # Right after a deploy or a reset the clip answers when its boot is done: not a slow wake.
    assert verdicts(wake=2.9, up_ms=4_000)["wake latency"] == doctor.WARN
    assert verdicts(wake=0.05, up_ms=500)["wake latency"] == doctor.OK  # a quick answer is one
    assert verdicts(app=False) == {"firmware": doctor.OK, "counting loop": doctor.FAIL}


def test_landings_during_doctors_measurement_are_counted(tmp_path):
    # A new user's first try: `sim`, `doctor`, `sync`. The landings during doctor's
    # sample-rate measurement were read from the FIFO and dropped: 17 of the demo's 20.
    from jumpclip import sync as syncmod
    from jumpclip.store import Store
    from jumpclip.transport import SerialTransport

    from conftest import DATA

    # 5 jumps 4.5 s apart (2.4 to 20.4 s): the measurement (from about 1.5 s to 8.5 s) holds
    # two, and the hand-overs around it fall in the calm between jumps.
    trace = DATA / "box_jumps_s1.csv"
    board, port = served_board(tmp_path, trace, time_scale=1, config={"idle_min": 0})
    store = Store(tmp_path / "db.sqlite")
    try:
        wait_console(board, "counting: session 1")
        res = run_doctor(port, seconds=7)
        assert "sample rate" in res.output, res.output
        assert board.trace_end.wait(60)
        syncmod.sync(SerialTransport(port, timeout=5, quiet=0.1), store)
    finally:
        board.stop()
    sessions = store.sessions()
    assert store.count_jumps() == 5, ([(s["session_id"], s["jumps"]) for s in sessions], board.console_text()[-2500:])
    assert len(sessions) == 1  # doctor's measurement counted into the session it found open
