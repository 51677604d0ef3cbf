"""Hostile input on the clip (issue: nothing a file or a user does stops the counting): a
bad config.json, damaged log state. Each case boots the unmodified firmware on the virtual
board and checks that it counts and says why, in one line."""

from __future__ import annotations

import json

import pytest

from jumpclip.sim import flash
from jumpclip.sim.board import BoardOptions, VirtualBoard, run_trace
from test_power_and_daily import log_of, make_trace

BAD_CONFIGS = [
    '{"refractory_ms": 1e999}',
    '{"min_flight_ms": -1e999, "wdt_ms": 1e999}',
    '{"wdt_ms": NaN}',
    '{"rate_hz": 1e300, "range_g": "16"}',
    '{"idle_min": 100000000000000000000000000000000000000}',
    "{" + ", ".join(f'"k{i}": {i}' for i in range(20000)) + "}",
    "[" * 300 + "]" * 300,
    '{"profile": {"a": 1}}',
    "\x00\x01garbage",
]


@pytest.mark.parametrize("text", BAD_CONFIGS, ids=range(len(BAD_CONFIGS)))
def test_any_config_json_leads_to_counting_with_the_reason(tmp_path, text):
    tr = make_trace(tmp_path / "t.csv", [("jumps", 3, 5.0)])
    run = run_trace(tr, tmp_path / "b", BoardOptions(config_text=text))
    assert len(run.jumps()) == 3, run.console[-800:]
    assert "Traceback" not in run.console
    reasons = [ln for ln in run.console.splitlines() if ln.startswith("jumpclip: config: ")]
    assert 1 <= len(reasons) <= 5 and all(len(r) < 220 for r in reasons), reasons


def test_a_config_problem_is_logged_once_not_at_every_boot(tmp_path):
    text = json.dumps({f"unknown{i}": i for i in range(200)})  # 3 KB: read, 200 problems summarised
    tr = make_trace(tmp_path / "t.csv", [("jumps", 1, 5.0)])
    board_dir = tmp_path / "b"
    sizes = []
    for boot in range(3):
        opts = BoardOptions(config_text=text)
        board = VirtualBoard(board_dir, opts)
        if boot == 0:
            board.flash_firmware()
        board.load_trace(tr)
        board.start()
        assert board.trace_end.wait(60)
        board.interrupt()
        board.wait(30)
        board.stop()
        notes = [n for n in log_of(board_dir).notes if n.text.startswith("config: ")]
        sizes.append(len(notes))
        assert "config: " in board.console_text()  # still said on the console every boot
    assert sizes[0] >= 1 and sizes == [sizes[0]] * 3, sizes  # logged at the first boot only
