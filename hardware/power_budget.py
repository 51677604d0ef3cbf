"""Power budget of the clip: datasheet currents x the duty cycle measured on the virtual board.

Run: python hardware/power_budget.py  (or `make power`): prints the budget and rewrites the
tables in hardware/POWER.md. These are estimates; POWER.md says how to measure the real thing.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CELL_MAH = 500

# Currents (mA), each from its datasheet.
CURRENTS = {
    "esp32_active": (31.0, "ESP32 datasheet v4.x, table 'power consumption by power modes': modem-sleep, 160 MHz, dual core, 20-31 mA (CPU running, radio off): the top of the range"),
    "esp32_light_sleep": (0.8, "ESP32 datasheet: light-sleep 0.8 mA"),
    "esp32_deep_sleep": (0.010, "ESP32 datasheet: deep-sleep with RTC timer and RTC memory, 10 uA (ext0 wake keeps RTC IO powered)"),
    "mpu_accel_normal": (0.5, "MPU-6000/6050 datasheet PS-MPU-6000A rev 3.4, 6.2: accelerometer normal mode 500 uA"),
    "mpu_accel_cycle_5hz": (0.020, "PS-MPU-6000A 6.2: low-power accelerometer mode, 5 Hz wake-up: 20 uA"),
    "regulator_quiescent": (0.055, "AP2112K-3.3 (the HUZZAH32's LDO) datasheet: 55 uA typical quiescent current"),
    "battery_divider": (0.021, "HUZZAH32: 2 x 100 kOhm divider across a 4.2 V cell = 21 uA"),
    "led_on": (2.0, "red LED through the Feather's 1 kOhm resistor at 3.3 V: about 2 mA while lit"),
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
        "i2c_transactions": rep["i2c_transactions"],
        "wakes": rep["light_sleeps"],
        "samples": int(rep["clock_s"] * 200),
        "us_per_sample_desktop": us_per_sample,
    }


def budget(m: dict) -> dict:
    c = {k: v for k, (v, _) in CURRENTS.items()}
    cpu_s = m["samples"] * m["us_per_sample_desktop"] * 1e-6 * ESP32_SLOWER
    wake_s = m["wakes"] * WAKE_OVERHEAD_MS / 1000
    awake = (m["i2c_s"] + cpu_s + wake_s) / m["clock_s"]
    led_duty = 0.020 / 10  # the counting blip: 20 ms every 10 s
    counting = (
        awake * c["esp32_active"] + (1 - awake) * c["esp32_light_sleep"] + c["mpu_accel_normal"]
        + c["regulator_quiescent"] + c["battery_divider"] + led_duty * c["led_on"]
    )
    standby = c["esp32_deep_sleep"] + c["mpu_accel_cycle_5hz"] + c["regulator_quiescent"] + c["battery_divider"]
    return {
        "awake_fraction": awake,
        "i2c_fraction": m["i2c_s"] / m["clock_s"],
        "cpu_fraction": cpu_s / m["clock_s"],
        "wake_fraction": wake_s / m["clock_s"],
        "counting_ma": counting,
        "standby_ma": standby,
        "counting_hours": CELL_MAH / counting,
        "standby_days": CELL_MAH / standby / 24,
        "busy_loop_hours": CELL_MAH / (c["esp32_active"] + c["mpu_accel_normal"] + c["regulator_quiescent"]),
    }


def report(m: dict, b: dict) -> str:
    lines = [
        "| input | value | source |",
        "|---|---|---|",
        *(f"| {k} | {v:g} mA | {src} |" for k, (v, src) in CURRENTS.items()),
        "",
        "Measured on the virtual board (demo session, 200 Hz, light sleep between FIFO reads):",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| session length | {m['clock_s']:.1f} s |",
        f"| I2C bus time (bytes and transactions at 400 kHz) | {100 * b['i2c_fraction']:.2f} % |",
        f"| CPU time: {m['us_per_sample_desktop']:.3f} us/sample on the unix port x {ESP32_SLOWER:g} (ESP32 factor) | {100 * b['cpu_fraction']:.2f} % |",
        f"| wake-up overhead: {m['wakes']} wakes x {WAKE_OVERHEAD_MS:g} ms | {100 * b['wake_fraction']:.2f} % |",
        f"| **awake fraction** | **{100 * b['awake_fraction']:.2f} %** |",
        "",
        "| result (500 mAh cell) | average current | lasts | goal |",
        "|---|---|---|---|",
        f"| counting (light sleep between reads) | {b['counting_ma']:.2f} mA | **{b['counting_hours']:.0f} hours** | >= 100 h |",
        f"| standby (deep sleep, wake on motion) | {1000 * b['standby_ma']:.0f} uA | **{b['standby_days']:.0f} days** | >= 90 days |",
        f"| for comparison: a busy loop, no sleep | {CURRENTS['esp32_active'][0] + 0.555:.1f} mA | {b['busy_loop_hours']:.0f} hours | |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    m = measure()
    b = budget(m)
    text = report(m, b)
    print(text)
    doc = HERE / "POWER.md"
    if doc.exists():
        src = doc.read_text()
        start, end = "<!-- budget:start -->", "<!-- budget:end -->"
        if start in src and end in src:
            doc.write_text(src.split(start)[0] + start + "\n" + text + end + src.split(end)[1])


if __name__ == "__main__":
    main()
