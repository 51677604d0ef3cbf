"""Trace files: the format, repairs, and one-line errors for bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import DATA
from jumpclip.cli import main
from jumpclip.sim import feed
from jumpclip.traces import TraceError, parse_trace, read_trace, regular_grid, write_trace

HEADER = "# rate_hz: 200 (nominal)\n# label: jumps=2\n# placement: waist\n# custom_key: kept\nt_s,ax_g,ay_g,az_g\n"


def rows(n=10, rate=200.0):
    return "".join(f"{k / rate:.4f},0.0,0.0,1.0\n" for k in range(n))


def test_header_keys_and_labels():
    tr = parse_trace(HEADER + rows())
    assert tr.header["custom_key"] == "kept"
    assert tr.header_number("rate_hz") == 200
    assert tr.label_jumps == 2
    assert tr.rate_hz == pytest.approx(200)
    assert tr.notes == []


def test_columns_in_any_order():
    tr = parse_trace("az_g,t_s,ay_g,ax_g\n1.0,0.0,0,0\n1.0,0.005,0,0\n")
    assert tr.acc[0].tolist() == [0, 0, 1.0]


@pytest.mark.parametrize(
    "text,words",
    [
        ("", "empty trace"),
        ("# rate_hz: 200\n", "empty trace"),
        ("t_s,ax_g,ay_g\n0,0,0\n", "missing column(s) az_g"),
        ("t_s,ax_g,ay_g,az_g\n", "no data rows"),
        ("t_s,ax_g,ay_g,az_g\n0,0,0,1\n0.005,0,abc,1\n", "line 3: 'abc' is not a number"),
        ("t_s,ax_g,ay_g,az_g\n0,0,0,1\n0.005,0,1\n", "line 3: 3 values, expected 4"),
        ("t_s,ax_g,ay_g,az_g\n0,0,0,1\n0.010,0,0,1\n0.005,0,0,1\n", "timestamps go backwards"),
        ("t_s,ax_g,ay_g,az_g\n0,0,0,1\n", "fewer than 2"),
        ("t_s,ax_g,ay_g,az_g\n0,nan,0,1\n0.005,nan,0,1\n", "NaN"),
    ],
)
def test_bad_input_is_one_clear_line(text, words):
    with pytest.raises(TraceError) as e:
        parse_trace(text, "bad.csv")
    msg = str(e.value)
    assert words in msg and "\n" not in msg and msg.startswith("bad.csv")


def test_duplicates_and_isolated_nans_are_repaired_and_said():
    text = "t_s,ax_g,ay_g,az_g\n" + rows(50).replace("0.0100,0.0,0.0,1.0\n", "0.0100,0.0,0.0,1.0\n0.0100,0.0,0.0,1.0\n")
    text = text.replace("0.0200,0.0,0.0,1.0", "0.0200,nan,0.0,1.0")
    tr = parse_trace(text)
    assert any("repeated timestamp" in n for n in tr.notes)
    assert any("NaN" in n for n in tr.notes)
    assert len(tr.t) == 49


def test_rate_header_disagreeing_with_timestamps_trusts_timestamps():
    tr = parse_trace("# rate_hz: 100\nt_s,ax_g,ay_g,az_g\n" + rows(40, 200.0))
    assert tr.rate_hz == pytest.approx(200)
    assert any("trusting the timestamps" in n for n in tr.notes)


def test_irregular_timestamps_are_resampled():
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(0.003, 0.007, 400))
    text = "t_s,ax_g,ay_g,az_g\n" + "".join(f"{x:.5f},0,0,{1 + x:.5f}\n" for x in t)
    tr = parse_trace(text)
    assert any("irregular" in n for n in tr.notes)
    g = regular_grid(tr, 200)
    tk = tr.t[0] + np.arange(len(g)) / 200
    assert np.allclose(g[:, 2], 1 + tk, atol=1e-4)  # linear data, linear interpolation


def test_write_then_read_round_trip(tmp_path):
    t = np.arange(100) / 200
    acc = np.column_stack([np.zeros(100), np.zeros(100), np.ones(100)])
    write_trace(tmp_path / "a.csv", t, acc, {"rate_hz": 200, "label": "jumps=1"}, truth=[0.25])
    tr = read_trace(tmp_path / "a.csv")
    assert tr.label_jumps == 1 and tr.truth.tolist() == [0.25]
    assert np.allclose(tr.acc, acc)


def test_counts_follow_range_and_rate():
    tr = read_trace(DATA / "cmj_s1.csv")
    c16 = feed.counts(tr, 200, 16)
    c8 = feed.counts(tr, 200, 8)
    c1k = feed.counts(tr, 1000, 16)
    assert len(c1k) == 5 * len(c16)
    assert np.array_equal(c1k[::5], c16)  # sample and hold: every 5th is the original
    unclipped = np.abs(c8.astype(int)) < 32767
    assert np.all(np.abs(c8[unclipped].astype(int) - 2 * c16[unclipped].astype(int)) <= 1)


def test_replay_cli_reports_bad_files_and_carries_on(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,ax_g\n0,0\n")
    res = CliRunner().invoke(main, ["replay", str(bad), str(DATA / "cmj_s1.csv")])
    assert res.exit_code == 1
    assert "missing column(s)" in res.output
    assert "│ cmj_s1.csv │     6 │" in res.output  # the readable file is still replayed
    assert "Traceback" not in res.output


def test_missing_file_is_one_line(tmp_path):
    res = CliRunner().invoke(main, ["replay", str(tmp_path / "nope.csv")])
    assert res.exit_code == 1 and "no such file" in res.output and "Traceback" not in res.output


def test_files_that_are_not_g_traces_are_refused_in_one_line(tmp_path):
    # A column named twice, m/s2 under g headers (it counted 6 "jumps" of 21-26 g), a value
    # of 1e300 g (replay --plot raised in matplotlib), and /dev/zero (read until killed).
    from jumpclip.traces import TraceError, read_trace

    def refused(text, *words, units=None):
        p = tmp_path / "t.csv"
        p.write_text(text)
        with pytest.raises(TraceError) as e:
            read_trace(p, units)
        for w in words:
            assert w in str(e.value), str(e.value)
        return str(e.value)

    rows = "".join(f"{k / 200:.3f},0.1,0.2,{9.81 if k % 400 else 49.0}\n" for k in range(2000))
    refused("t_s,ax_g,ay_g,az_g,az_g\n0,0,0,1,1\n0.005,0,0,1,1\n", "az_g appears 2 times")
    refused("t_s,ax_g,ay_g,az_g\n" + rows, "m/s2, not g", "--units m/s2")
    refused("t_s,ax_g,ay_g,az_g\n" + "".join(f"{k / 200},0,0,{1e300 if k == 9 else 1}\n" for k in range(20)), "line 11", "1000 g")
    refused("t_s,ax_g,ay_g,az_g\n0,0,0,1\n", "units 'furlongs'", units="furlongs")
    # m/s2 said in the header or on the command line: converted.
    p = tmp_path / "ms2.csv"
    p.write_text("# units: m/s2\nt_s,ax_g,ay_g,az_g\n" + rows)
    tr = read_trace(p)
    assert abs(np.median(tr.acc[:, 2]) - 1.0) < 0.01 and any("m/s2" in n for n in tr.notes)
    p.write_text("t_s,ax_g,ay_g,az_g\n" + rows)
    assert abs(read_trace(p, "m/s2").acc[:, 2].max() - 49.0 / 9.80665) < 1e-9
    if os.path.exists("/dev/zero"):
        with pytest.raises(TraceError, match="not a text file"):
            read_trace("/dev/zero")
