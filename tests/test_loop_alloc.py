"""The counting loop takes nothing from the heap in a wake that counts nothing new (issue 35,
item 3): not even a frame. A bytecode function whose state passes 11 words gets its frame
from the heap at each call (py/objfun.c, VM_MAX_STATE_ON_STACK), which heap_lock cannot
show (the VM then falls back to the C stack); the unix port's micropython.mem_total counts
every allocation, frames included. bench/mp_loop_bench.py runs App.wake as the clip does, on
the demo session and on rope skipping, and sums mem_total over the wakes in which no landing
or impact was counted and the log was left as it was."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from bench.firmware_bench import HERE, mp_command
from jumpclip.demo import DEMO_TRACE
from jumpclip.fw import FIRMWARE_DIR
from jumpclip.sim import feed
from jumpclip.traces import read_trace

ROPE = Path(__file__).parent / "data" / "rope_single_s1.csv"


@pytest.mark.parametrize("trace,repeat", [(DEMO_TRACE, 1), (ROPE, 4)], ids=["demo", "rope"])
def test_a_wake_that_counts_nothing_new_allocates_nothing(tmp_path, trace, repeat):
    raw = tmp_path / "raw.bin"
    counts = feed.counts(read_trace(trace), 200, 16)
    raw.write_bytes(np.concatenate([counts] * repeat).astype(">i2").tobytes())
    with tempfile.TemporaryDirectory() as wd:  # its own flash log
        proc = subprocess.run(mp_command() + [str(HERE / "mp_loop_bench.py"), str(raw), "250", "quiet"], capture_output=True, text=True,
                              cwd=wd, timeout=300, env={"MICROPYPATH": f"{HERE / 'loopfakes'}:{FIRMWARE_DIR}", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    m = re.search(r"quiet_wakes (\d+) bytes (\d+)", proc.stdout)
    jumps = int(re.search(r"jumps (\d+)", proc.stdout).group(1))
    assert m, proc.stdout
    quiet, quiet_bytes = int(m.group(1)), int(m.group(2))
    assert jumps > 10 and quiet > 100, proc.stdout  # both kinds of wake were seen
    assert quiet_bytes == 0, proc.stdout
