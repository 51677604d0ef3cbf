"""The counting loop's longest stall against the sensor's FIFO, with the flash chip's
typical and maximum program and erase times (W25Q32JV datasheet: tPP 0.4 / 3 ms, tSE 45 /
400 ms), on the virtual board: ten minutes of dense jumping (400 landings, each flush of
the log and each littlefs erase as the firmware makes them). Figures only."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from jumpclip.sim.board import BoardOptions, run_trace

FIFO_SAMPLES = 1024 // 6  # 170 whole samples (PS 7.17)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_power_and_daily import make_trace

    print("Flush stall (bench/flash_stall_bench.py; 400 landings in 10 min, every flush and erase of the log):")
    with tempfile.TemporaryDirectory(prefix="jumpclip-stall-") as td:
        tr = make_trace(Path(td) / "t.csv", [item for _ in range(10) for item in (("jumps", 40, 5.0), ("walk", 20))])
        for rate in (100, 200, 1000):
            for timing in ("typ", "max"):
                run = run_trace(tr, Path(td) / f"b{rate}{timing}",
                                BoardOptions(config={"idle_min": 0, "rate_hz": rate}, extra={"flash_timing": timing}), timeout=900)
                rep = run.report
                model = rep["models"][0]
                margin = FIFO_SAMPLES / rate
                print(f"  {rate:4d} Hz, {timing} flash times: longest stall {model['longest_fifo_gap_s'] * 1000:5.0f} ms against the"
                      f" FIFO's {margin * 1000:4.0f} ms; {model['overflows']} overflows; {len(run.jumps())} of {tr.label_jumps} landings;"
                      f" {rep['flash_erases']} erases")


if __name__ == "__main__":
    main()
