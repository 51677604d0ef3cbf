"""hardware/ agrees with firmware/board.py, the only source of the pin map."""

from __future__ import annotations

import re

import pytest

from conftest import REPO_ROOT


from jumpclip.fw import pin_map as board_pins


def test_wiring_table_matches_board_py():
    pins = board_pins()
    table = (REPO_ROOT / "hardware" / "WIRING.md").read_text()
    rows = dict(re.findall(r"^\| ([A-Z0-9_]+) \| (\d+) \|", table, re.M))
    gpio_names = {k for k in pins if k not in ("I2C_ID", "I2C_FREQ", "MPU_ADDR")}
    assert gpio_names, "no pins found in board.py"
    assert set(rows) == gpio_names
    for name, gpio in rows.items():
        assert pins[name] == int(gpio), name


def test_wake_pins_are_rtc_capable():
    # ESP32 RTC GPIOs (the only ones ext0/ext1 can wake from): technical reference, table 5-1.
    rtc = {0, 2, 4, 12, 13, 14, 15, 25, 26, 27, 32, 33, 34, 35, 36, 37, 38, 39}
    pins = board_pins()
    assert pins["MPU_INT"] in rtc and pins["BUTTON"] in rtc


def test_schematic_is_generated_from_board_py():
    import importlib.util

    spec = importlib.util.spec_from_file_location("schematic", REPO_ROOT / "hardware" / "schematic.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    committed = (REPO_ROOT / "hardware" / "schematic.svg").read_text()
    assert committed == mod.svg(), "run `python hardware/schematic.py` and commit the SVG"
    for name, gpio in board_pins().items():
        if name not in ("I2C_ID", "I2C_FREQ", "MPU_ADDR"):
            assert f"GPIO{gpio}" in committed, name


def test_bom_lists_the_parts():
    import csv

    rows = list(csv.DictReader((REPO_ROOT / "hardware" / "bom.csv").open()))
    names = " ".join(r["part"] for r in rows).lower()
    for part in ("esp32", "mpu6050", "lipo", "button"):
        assert part in names
    assert all(float(r["approx price (EUR)"]) > 0 for r in rows)


OPENSCAD = __import__("shutil").which("openscad")


@__import__("pytest").mark.skipif(OPENSCAD is None, reason="openscad is not installed (Debian package openscad)")
def test_enclosure_renders_to_stl(tmp_path):
    import subprocess

    stl = tmp_path / "clip.stl"
    p = subprocess.run([OPENSCAD, "-o", str(stl), str(REPO_ROOT / "hardware" / "enclosure" / "clip.scad")], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    text = stl.read_text(errors="replace")
    assert text.startswith("solid") and text.count("facet normal") > 100


def test_power_budget_splits_the_awake_time_and_solves_the_skipping_goal():
    # make power's duty cycle from a board report: the parts of "CPU, console and flash" are
    # the report's own figures, and the awake fraction it says 150 h needs gives 150 h.
    import importlib.util

    spec = importlib.util.spec_from_file_location("power_budget", REPO_ROOT / "hardware" / "power_budget.py")
    pb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pb)
    m = {"clock_s": 100.0, "awake_s": 5.0, "i2c_s": 3.0, "erase_s": 0.9, "erases": 20, "uart_s": 0.2,
         "samples": 20_000, "wakes": 250}
    d = pb.duty(m)
    assert (d["i2c"], d["erase"], d["uart"]) == pytest.approx((0.03, 0.009, 0.002))
    assert abs(d["loop"] - 20_000 * pb.cpu_us_per_sample() / 1e8) < 1e-12
    assert abs(d["awake"] - (5.0 + 0.25) / 100) < 1e-12
    text = pb.report(m, d)
    assert "| of which sector erases: 20 in 100 s, one per log flush | 0.90 % |" in text
    board = pb.BOARDS[pb.BOM_BOARD]
    for end in (0, 1):
        need = pb.awake_for_hours(board, pb.SKIP_GOAL_HOURS, end)
        assert 0 < need < 1
        assert abs(pb.CELL_MAH / pb.board_budget(board, need, end)[0] - pb.SKIP_GOAL_HOURS) < 1e-9
    assert f"needs at most {100 * pb.awake_for_hours(board, pb.SKIP_GOAL_HOURS, 0):.2f} % awake" in text
