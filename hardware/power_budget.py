"""Power budget of the clip: currents from cited datasheet rows x the duty cycle measured on
the virtual board, as a range (best case, worst case), for the board in the BOM and for the
board that reaches the standby goal.

Run: `make power` (or python hardware/power_budget.py). It prints the budget and writes it to
build/power.md; hardware/POWER.md explains it and quotes the result. These are estimates:
POWER.md says how to measure the real thing.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CELL_MAH = 500
GOAL_HOURS = 100
GOAL_DAYS = 90

ESP32_DS = "ESP32 datasheet v4.x, table 'Power consumption by power modes'"
MPU_PS = "MPU-6000/6050 Product Specification PS-MPU-6000A rev 3.4, 6.2"
ADA_V2 = "Adafruit 'ESP32 Feather V2: Power Management' guide (whole board, external parts unpowered)"

# (low mA, high mA, source). A single figure has low == high.
PARTS = {
    "esp32_awake": (27.0, 44.0, f"{ESP32_DS}: modem-sleep, 160 MHz (MicroPython's default), dual-core, 27-44 mA"),
    "esp32_light_sleep": (0.8, 0.8, f"{ESP32_DS}: light-sleep 0.8 mA"),
    "esp32_deep_sleep": (0.010, 0.150, f"{ESP32_DS}: deep-sleep, RTC timer + RTC memory 10 uA; ULP powered on 150 uA "
                                       "(ext0 keeps the RTC peripherals on: ESP-IDF 'Sleep Modes', ext0): between the two"),
    "mpu_accel_normal": (0.5, 0.5, f"{MPU_PS}: accelerometer normal mode 500 uA"),
    "mpu_cycle_5hz": (0.020, 0.020, f"{MPU_PS}: low-power accelerometer mode, 5 Hz wake-up 20 uA"),
    "led_on": (1.3, 1.5, "the board's red LED through 1 kOhm from 3.3 V: (3.3 V - 1.8..2.0 V forward) / 1 kOhm"),
}

# Everything on the board besides the ESP32 and the sensor: regulator, USB-serial bridge,
# charger, battery divider. (low, high, source) in mA, in light sleep and in deep sleep.
BOARDS = {
    "HUZZAH32 (Adafruit 3405, in the BOM)": {
        "static": (2.0, 6.5, "board draw besides the ESP32: 'about 2 mA static load on the cell' (news.ezsbc.com, "
                             "'ESP32 in Feather format'); 6.5 mA measured in deep sleep on the battery lead (forums.adafruit.com "
                             "t=120675, tve); the CP2104 bridge and AP2112K regulator stay powered"),
        "whole_board": False,
    },
    "ESP32 Feather V2 (Adafruit 5400)": {
        "light_sleep": (2.0, 2.0, f"{ADA_V2}: light sleep about 2 mA"),
        "deep_sleep": (0.100, 0.100, f"{ADA_V2}: deep sleep about 100 uA"),
        "whole_board": True,
    },
}

# The ESP32 runs MicroPython much slower than this desktop runs the unix port. The factor is
# the ratio of instruction throughput (a desktop core at ~3.5 GHz retiring ~3 instructions per
# cycle vs the ESP32's LX6 at 160 MHz at ~1 per cycle, about 65x), rounded up to 100 to leave
# room for flash cache misses. It is an assumption; measure with a USB power meter.
ESP32_SLOWER = 100.0
WAKE_OVERHEAD_MS = 1.0  # leaving and entering light sleep, per wake (ESP32 light-sleep wake-up ~0.5 ms, doubled)


def measure() -> dict:
    """Run the firmware on the virtual board (demo session) and read its duty cycle."""
    sys.path.insert(0, str(ROOT))  # for bench/ (the detector cost measurement)
    from bench.firmware_bench import DEMO, run_mp
    from jumpclip.sim.board import BoardOptions, run_trace

    with tempfile.TemporaryDirectory() as td:
        run = run_trace(DEMO, Path(td), BoardOptions(config={"idle_min": 0}))
        raw = Path(td) / "raw.bin"
        from jumpclip.sim import feed
        from jumpclip.traces import read_trace

        raw.write_bytes(feed.counts(read_trace(DEMO), 200, 16).astype(">i2").tobytes())
        # Conservative: CPU time as if the portable detector ran (with the viper decode). The
        # clip's viper detector is faster, but its desktop timing is too small to measure well.
        us_per_sample = run_mp(raw, 200_000, "viper")["us_per_sample"] - run_mp(raw, 200_000, "copy")["us_per_sample"]
    rep = run.report
    return {
        "clock_s": rep["clock_s"],
        "i2c_s": rep["i2c_s"],  # bus time alone: the sim's awake time also holds host compute
        "wakes": rep["light_sleeps"],
        "samples": int(rep["clock_s"] * 200),
        "us_per_sample_desktop": us_per_sample,
    }


def duty(m: dict) -> dict:
    cpu_s = m["samples"] * m["us_per_sample_desktop"] * 1e-6 * ESP32_SLOWER
    wake_s = m["wakes"] * WAKE_OVERHEAD_MS / 1000
    return {
        "i2c": m["i2c_s"] / m["clock_s"],
        "cpu": cpu_s / m["clock_s"],
        "wake": wake_s / m["clock_s"],
        "awake": (m["i2c_s"] + cpu_s + wake_s) / m["clock_s"],
    }


def board_budget(board: dict, awake: float, end: int) -> tuple[float, float]:
    """(counting mA, standby mA) at one end of every range: 0 = low, 1 = high."""
    p = {k: v[end] for k, v in PARTS.items()}
    led = 0.020 / 10 * p["led_on"]  # the counting blip: 20 ms every 10 s
    if board["whole_board"]:
        sleep_ma = board["light_sleep"][end]
        deep_ma = board["deep_sleep"][end]
    else:
        sleep_ma = p["esp32_light_sleep"] + board["static"][end]
        deep_ma = p["esp32_deep_sleep"] + board["static"][end]
    counting = awake * p["esp32_awake"] + (1 - awake) * sleep_ma + p["mpu_accel_normal"] + led
    standby = deep_ma + p["mpu_cycle_5hz"]
    return counting, standby


def report(m: dict, d: dict) -> str:
    rng = lambda lo, hi, f="{:g}": f.format(lo) if lo == hi else f.format(lo) + "-" + f.format(hi)  # noqa: E731
    lines = [
        "| part | current | source |",
        "|---|---|---|",
        *(f"| {k} | {rng(lo, hi)} mA | {src} |" for k, (lo, hi, src) in PARTS.items()),
    ]
    for name, b in BOARDS.items():
        for k in ("static", "light_sleep", "deep_sleep"):
            if k in b:
                lo, hi, src = b[k]
                lines.append(f"| {name}: {k.replace('_', ' ')} | {rng(lo, hi)} mA | {src} |")
    lines += [
        "",
        "Measured on the virtual board (demo session, 200 Hz, light sleep between FIFO reads):",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| session length | {m['clock_s']:.1f} s |",
        f"| I2C bus time (bytes and transactions at 400 kHz) | {100 * d['i2c']:.2f} % |",
        f"| CPU time: {m['us_per_sample_desktop']:.3f} us/sample on the unix port x {ESP32_SLOWER:g} (ESP32 factor) | {100 * d['cpu']:.2f} % |",
        f"| wake-up overhead: {m['wakes']} wakes x {WAKE_OVERHEAD_MS:g} ms | {100 * d['wake']:.2f} % |",
        f"| **awake fraction** | **{100 * d['awake']:.2f} %** |",
        "",
        f"| board ({CELL_MAH} mAh cell) | counting | lasts (goal >= {GOAL_HOURS} h) | standby | lasts (goal >= {GOAL_DAYS} days) |",
        "|---|---|---|---|---|",
    ]
    for name, b in BOARDS.items():
        (c_lo, s_lo), (c_hi, s_hi) = board_budget(b, d["awake"], 0), board_budget(b, d["awake"], 1)
        h_lo, h_hi = CELL_MAH / c_hi, CELL_MAH / c_lo
        days_lo, days_hi = CELL_MAH / s_hi / 24, CELL_MAH / s_lo / 24
        ok_h = "meets" if h_lo >= GOAL_HOURS else ("may miss" if h_hi >= GOAL_HOURS else "misses")
        ok_d = "meets" if days_lo >= GOAL_DAYS else ("may miss" if days_hi >= GOAL_DAYS else "misses")
        lines.append(
            f"| {name} | {rng(c_lo, c_hi, '{:.2f}')} mA | **{rng(h_lo, h_hi, '{:.0f}')} h** ({ok_h}) "
            f"| {rng(1000 * s_lo, 1000 * s_hi, '{:.0f}')} uA | **{rng(days_lo, days_hi, '{:.0f}')} days** ({ok_d}) |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    m = measure()
    text = report(m, duty(m))
    print(text)
    out = ROOT / "build" / "power.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("# Power budget (`make power`)\n\n" + text)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
