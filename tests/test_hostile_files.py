"""Hostile files and values for the desktop tools, generated with hypothesis: any trace
text, events file, log file or config either works or gives a one-line error, and
`replay --json` is always one strict JSON document."""

from __future__ import annotations

import json
import math

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA
from jumpclip.cli import main
from jumpclip.fw import config as fwconfig
from jumpclip.logread import read_files
from jumpclip.traces import TraceError, parse_trace, read_trace

QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def strict_json(text: str):
    def refuse(c):
        raise ValueError(f"non-standard JSON constant {c}")

    return json.loads(text, parse_constant=refuse)


number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30)).map(str)
row = st.lists(st.one_of(number, st.text(max_size=4)), min_size=0, max_size=5).map(",".join)


@QUICK
@given(st.lists(row, max_size=12), st.booleans())
def test_any_trace_text_parses_or_says_why(rows, with_header):
    text = ("t_s,ax_g,ay_g,az_g\n" if with_header else "") + "\n".join(rows)
    try:
        tr = parse_trace(text)
    except TraceError as e:
        assert "\n" not in str(e) and str(e)
        return
    assert len(tr.t) >= 2 and (tr.t[1:] > tr.t[:-1]).all() and math.isfinite(tr.rate_hz)


@QUICK
@given(st.lists(st.one_of(number, st.text(max_size=6)), max_size=6))
def test_replay_json_is_one_strict_document_for_any_events_file(tmp_path, values):
    trace = tmp_path / "t.csv"
    trace.write_bytes((DATA / "cmj_s1.csv").read_bytes())
    (tmp_path / "t.events.csv").write_text("t_s\n" + "\n".join(values) + "\n")
    res = CliRunner().invoke(main, ["replay", str(trace), "--json"])
    doc = strict_json(res.stdout)
    assert doc["summary"]["files"] == 1
    assert res.exit_code == (1 if doc["files"][0]["error"] else 0)


def test_a_trace_spanning_a_billion_seconds_is_refused_not_resampled(tmp_path):
    p = tmp_path / "long.csv"
    p.write_text("t_s,ax_g,ay_g,az_g\n0,0,0,1\n0.005,0,0,1\n0.01,0,0,1\n0.015,0,0,1\n1e9,0,0,1\n")
    res = CliRunner().invoke(main, ["replay", str(p), str(DATA / "cmj_s1.csv"), "--json"])
    doc = strict_json(res.stdout)  # the other file is still reported
    assert "split it" in doc["files"][0]["error"] and not doc["files"][1]["error"]


def test_a_byte_order_mark_is_not_part_of_the_header(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbft_s,ax_g,ay_g,az_g\n0,0,0,1\n0.005,0,0,1\n0.01,0,0,1\n")
    assert len(read_trace(p).t) == 3


@QUICK
@given(st.dictionaries(st.sampled_from(list(fwconfig.SCHEMA) + ["x", "profile"]),
                       st.one_of(st.none(), st.booleans(), st.floats(), st.integers(-10**40, 10**40), st.text(max_size=5),
                                 st.lists(st.integers(), max_size=2))))
def test_any_config_gives_a_valid_config(raw):
    cfg, errors = fwconfig.validate(raw)
    for key, value in cfg.items():
        assert fwconfig.check(key, value) == (value, None), (key, value)
    assert len(errors) <= fwconfig.MAX_ERRORS


@QUICK
@given(st.dictionaries(st.sampled_from(["0000000000.log", "0000000100.log", "state.json", "id", "junk"]), st.binary(max_size=600)))
def test_any_log_files_read_without_raising(files):
    log = read_files(files)
    assert log.records >= 0 and all(j.seq <= log.last_seq for j in log.jumps)
