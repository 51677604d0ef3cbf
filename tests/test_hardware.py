"""hardware/ agrees with firmware/board.py, the only source of the pin map."""

from __future__ import annotations

import re

from conftest import REPO_ROOT


def board_pins() -> dict[str, int]:
    src = (REPO_ROOT / "firmware" / "board.py").read_text()
    return {k: int(v, 0) for k, v in re.findall(r"^([A-Z_]+) = const\(([0-9x_]+)\)", src, re.M)}


def test_wiring_table_matches_board_py():
    pins = board_pins()
    table = (REPO_ROOT / "hardware" / "WIRING.md").read_text()
    rows = dict(re.findall(r"^\| ([A-Z_]+) \| (\d+) \|", table, re.M))
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
