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


def cpu_us_per_sample() -> float:
    """The virtual board's CPU charge per sample: its instructions a sample times its ns per
    instruction, read from the simulation's own constants (jumpclip/sim/mp/simcore.py)."""
    return loop_instructions("LOOP_INSTRUCTIONS") * ns_per_instruction() / 1000


def ns_per_instruction() -> float:
    import re

    from jumpclip.sim.board import MP_DIR

    text = (MP_DIR / "simcore.py").read_text()
    return int(re.search(r"^NS_PER_INSTRUCTION_X100 = (\d+)", text, re.M).group(1)) / 100


def loop_instructions(name: str) -> int:
    """The counting loop's instructions a sample, as simcore.py states them (LOOP_INSTRUCTIONS:
    the demo mix, which the board charges; SKIPPING_INSTRUCTIONS: 2 landings a second)."""
    import re

    from jumpclip.sim.board import MP_DIR

    return int(re.search(rf"^{name} = (\d+)", (MP_DIR / "simcore.py").read_text(), re.M).group(1))


ROOT = HERE.parent
CELL_MAH = 500
GOAL_HOURS = 100
GOAL_DAYS = 90
SKIP_GOAL_HOURS = 150  # issue 35: counting while skipping, ESP32 Feather V2

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
BOM_BOARD = "ESP32 Feather V2 (Adafruit 5400, in the BOM)"  # the board the goals are set for

BOARDS = {
    "HUZZAH32 (Adafruit 3405)": {
        "static": (2.0, 6.5, "board draw besides the ESP32: 'about 2 mA static load on the cell' (news.ezsbc.com, "
                             "'ESP32 in Feather format'); 6.5 mA measured in deep sleep on the battery lead (forums.adafruit.com "
                             "t=120675, tve); the CP2104 bridge and AP2112K regulator stay powered"),
        "whole_board": False,
    },
    "ESP32 Feather V2 (Adafruit 5400, in the BOM)": {
        "light_sleep": (2.0, 2.0, f"{ADA_V2}: light sleep about 2 mA"),
        "deep_sleep": (0.100, 0.100, f"{ADA_V2}: deep sleep about 100 uA"),
        "whole_board": True,
    },
}

WAKE_OVERHEAD_MS = 1.0  # leaving and entering light sleep, per wake (ESP32 light-sleep wake-up ~0.5 ms, doubled)


def measure() -> dict:
    """Run the firmware on the virtual board (demo session) and read its duty cycle. The
    board's clock holds the modelled work (docs/virtual-board.md, "The clock"): the counting
    path's CPU per sample calibrated against the ESP32's published loop timing, the I2C bus
    at 400 kHz, the console's bytes at 115200 baud, flash programs and erases. The same
    trace gives the same figures on any computer, idle or busy."""
    from jumpclip.sim.board import BoardOptions, run_trace

    sys.path.insert(0, str(ROOT))
    from bench.firmware_bench import DEMO

    with tempfile.TemporaryDirectory() as td:
        run = run_trace(DEMO, Path(td), BoardOptions(config={"idle_min": 0}))
    rep = run.report
    return {
        "clock_s": rep["clock_s"],
        "awake_s": rep["awake_s"],  # modelled: CPU, bus, wire, flash
        "i2c_s": rep["i2c_s"],
        "erase_s": rep["erase_s"],  # sector erases: littlefs erases one at each flush (see report)
        "erases": rep["flash_erases"],
        "uart_s": rep["uart_tx_s"],
        "samples": rep["models"][0]["samples_to_fifo"],  # each charged the loop's CPU once read
        "wakes": rep["light_sleeps"],
    }


def duty(m: dict) -> dict:
    wake_s = m["wakes"] * WAKE_OVERHEAD_MS / 1000
    return {
        "i2c": m["i2c_s"] / m["clock_s"],
        "cpu": (m["awake_s"] - m["i2c_s"]) / m["clock_s"],
        "erase": m["erase_s"] / m["clock_s"],
        "uart": m["uart_s"] / m["clock_s"],
        "loop": m["samples"] * cpu_us_per_sample() / 1e6 / m["clock_s"],
        "wake": wake_s / m["clock_s"],
        "awake": (m["awake_s"] + wake_s) / m["clock_s"],
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
        f"| CPU, console and flash time (the board's cost model: {cpu_us_per_sample():.1f} us of ESP32 CPU a sample) | {100 * d['cpu']:.2f} % |",
        f"| of which sector erases: {m['erases']} in {m['clock_s']:.0f} s, one per log flush | {100 * d['erase']:.2f} % |",
        f"| of which console bytes at 115200 baud | {100 * d['uart']:.2f} % |",
        f"| of which the counting loop's CPU ({m['samples']:,} samples x {cpu_us_per_sample():.1f} us) | {100 * d['loop']:.2f} % |",
        f"| of which the rest: page programs, clock reads | {100 * (d['cpu'] - d['erase'] - d['uart'] - d['loop']):.2f} % |",
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
    # A training session: the loop's work at 2 landings a second instead of the demo mix,
    # the rest of the duty cycle as measured (the sensor's rate, the wakes, the bus).
    extra = 200 * (loop_instructions("SKIPPING_INSTRUCTIONS") - loop_instructions("LOOP_INSTRUCTIONS")) * ns_per_instruction() / 1e9
    skip_awake = d["awake"] + extra
    lines += [
        "",
        f"While skipping (a training session, 2 landings a second: the loop at {loop_instructions('SKIPPING_INSTRUCTIONS'):,} "
        f"instructions a sample instead of {loop_instructions('LOOP_INSTRUCTIONS'):,}, `make bench`): "
        f"**{100 * skip_awake:.2f} % awake**",
        "",
        f"| board ({CELL_MAH} mAh cell) | counting while skipping | lasts (goal >= {SKIP_GOAL_HOURS} h on the Feather V2) |",
        "|---|---|---|",
    ]
    for name, b in BOARDS.items():
        c_lo, c_hi = board_budget(b, skip_awake, 0)[0], board_budget(b, skip_awake, 1)[0]
        h_lo, h_hi = CELL_MAH / c_hi, CELL_MAH / c_lo
        ok = "meets" if h_lo >= SKIP_GOAL_HOURS else ("may miss" if h_hi >= SKIP_GOAL_HOURS else "misses")
        lines.append(f"| {name} | {rng(c_lo, c_hi, '{:.2f}')} mA | **{rng(h_lo, h_hi, '{:.0f}')} h** ({ok}) |")
    need_lo, need_hi = (awake_for_hours(BOARDS[BOM_BOARD], SKIP_GOAL_HOURS, end) for end in (0, 1))
    lines += [
        "",
        f"{SKIP_GOAL_HOURS} h on the {BOM_BOARD.split(' (')[0]} needs at most {100 * need_lo:.2f} % awake at the best end of "
        f"the ranges ({100 * need_hi:.2f} % at the worst): the I2C bus alone takes {100 * d['i2c']:.2f} %, the sector "
        f"erases {100 * d['erase']:.2f} %, the whole loop's CPU while skipping {100 * (d['loop'] + extra):.2f} %.",
    ]
    return "\n".join(lines) + "\n"


def awake_for_hours(board: dict, hours: float, end: int) -> float:
    """The awake fraction at which the counting current lasts `hours` on the cell (linear in it)."""
    base = board_budget(board, 0.0, end)[0]
    slope = board_budget(board, 1.0, end)[0] - base
    return (CELL_MAH / hours - base) / slope


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
