"""replay --json / --plot, tune and record: the desktop half of testing the detector."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import DATA
from jumpclip import replay
from jumpclip.cli import main
from jumpclip.sim.board import BoardOptions, VirtualBoard
from jumpclip.traces import read_trace
from jumpclip.transport import SerialTransport


def test_replay_json_follows_the_schema(tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text("t_s,ax_g,ay_g,az_g\n0,0,0,1\n0.005,x,0,1\n")
    res = CliRunner().invoke(main, ["replay", "--json", str(DATA / "cmj_s1.csv"), str(DATA / "walking_s1.csv"), str(bad)])
    assert res.exit_code == 1  # one file could not be read
    doc = json.loads(res.output)
    assert set(doc) == {"files", "summary"}
    ok, free, broken = doc["files"]
    for f in doc["files"]:
        assert {"path", "rate_hz", "duration_s", "count", "events", "truth", "metrics", "error"} <= set(f)
    assert ok["count"] == 6 and ok["truth"]["count"] == 6 and ok["metrics"]["f1"] == 1.0
    assert set(ok["events"][0]) == {"t_s", "peak_g", "airtime_s", "height_cm", "filtered_peak_g", "clipped"}
    assert free["truth"]["count"] == 0 and free["metrics"]["false_per_min"] == 0.0
    assert broken["error"] and "line 3" in broken["error"] and broken["events"] == []
    assert doc["summary"]["with_truth"]["f1"] == 1.0 and doc["summary"]["jump_free"]["files"] == 1
    assert doc["summary"]["errors"] == 1


def test_replay_tolerance_changes_the_matching(tmp_path):
    import shutil

    trace = tmp_path / "t.csv"
    shutil.copy(DATA / "cmj_s1.csv", trace)
    truth = read_trace(DATA / "cmj_s1.csv").truth + 0.020  # the labels sit 20 ms late
    (tmp_path / "t.events.csv").write_text("t_s\n" + "".join(f"{x:.4f}\n" for x in truth))
    tight = json.loads(CliRunner().invoke(main, ["replay", "--json", "--tolerance-ms", "10", str(trace)]).output)
    loose = json.loads(CliRunner().invoke(main, ["replay", "--json", "--tolerance-ms", "30", str(trace)]).output)
    assert tight["files"][0]["metrics"]["tp"] == 0 and tight["files"][0]["metrics"]["fn"] == 6
    assert loose["files"][0]["metrics"]["tp"] == 6


def test_replay_says_when_it_resamples(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"rate_hz": 1000}))
    doc = json.loads(CliRunner().invoke(main, ["replay", "--json", "--config", str(cfg), str(DATA / "cmj_s1.csv")]).output)
    f = doc["files"][0]
    assert f["rate_hz"] == 1000 and any("resampled from 200 Hz to the detector's 1000 Hz" in n for n in f["notes"])
    assert f["count"] == 6


def test_plot_is_a_png(tmp_path):
    res = CliRunner().invoke(main, ["replay", "--plot", str(tmp_path), str(DATA / "cmj_s1.csv")])
    assert res.exit_code == 0
    png = tmp_path / "cmj_s1.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 400) and 20_000 < len(data) < 2_000_000  # the legend beside the plot: 14 inches


def test_tune_writes_a_config_the_clip_accepts(tmp_path):
    out = tmp_path / "config.json"
    res = CliRunner().invoke(main, ["tune", str(DATA), "--grid", "min_flight_ms=100,170;freefall_g=0.5,0.55", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "4 configurations" in res.output and "validation F1" in res.output
    cfg = json.loads(out.read_text())
    from jumpclip.fw import config as fwconfig

    _, errors = fwconfig.validate(cfg)
    assert errors == [] and cfg["min_flight_ms"] in (100, 170)


def test_tune_rejects_a_bad_grid(tmp_path):
    res = CliRunner().invoke(main, ["tune", str(DATA), "--grid", "min_flight_ms=99999"])
    assert res.exit_code == 1 and "min_flight_ms=99999 not allowed" in res.output
    res = CliRunner().invoke(main, ["tune", str(DATA), "--grid", "nonsense"])
    assert res.exit_code == 1 and "not key=values" in res.output


@pytest.mark.parametrize("range_g", [16, 2])
def test_record_then_replay_gives_the_same_events(tmp_path, range_g):
    original = DATA / "cmj_s1.csv"
    cfg = {"range_g": range_g, "impact_g": 1.9} if range_g == 2 else {}
    # Recording happens in real time on a clip, so the board runs paced (2x real time), and
    # the trace plays after a 4 s lead-in: the recording starts before the first jump.
    lead_s = 4.0
    opts = BoardOptions(config=cfg, time_scale=2, extra={"run_main": False, "trace_delay_s": lead_s})
    b = VirtualBoard(tmp_path / "b", opts)
    b.flash_firmware()
    tr = b.load_trace(original)
    port = b.serve()
    b.start(interactive=True)
    out = tmp_path / "rec.csv"
    try:
        seconds = int(lead_s + tr.duration_s) + 1
        res = CliRunner().invoke(main, ["record", "--port", port, "--out", str(out), "--seconds", str(seconds), "--jumps", "6", "--placement", "waist"])
    finally:
        b.stop()
    assert res.exit_code == 0, res.output
    assert "no gaps" in res.output
    rec = read_trace(out)
    assert rec.header["label"] == "jumps=6" and rec.header["placement"] == "waist" and rec.header["rate_hz"] == "200"
    # Find where the trace starts in the recording: the shift at which the recorded counts
    # equal the original's.
    from jumpclip.sim import feed

    c = replay.make_detector(cfg)[1]
    orig_counts = feed.counts(read_trace(original), c["rate_hz"], c["range_g"])
    rec_counts = feed.counts(rec, c["rate_hz"], c["range_g"])
    n = len(orig_counts)
    k0 = next(k for k in range(int(lead_s * 200) + 1) if (rec_counts[k : k + n] == orig_counts).all())
    want, c = replay.detect_trace(read_trace(original), cfg)
    got, _ = replay.detect_trace(rec, cfg)
    shifted = [(e.index + k0, e.peak_m2, e.air) for e in want]
    assert [e.as_tuple() for e in got] == shifted and len(got) == 6


def _max_matching(pred, truth, tol):
    """Exhaustive maximum bipartite matching (augmenting paths): the oracle for score.match."""
    adj = [[k for k, y in enumerate(truth) if abs(x - y) <= tol] for x in pred]
    owner: dict[int, int] = {}

    def augment(i, seen):
        for k in adj[i]:
            if k not in seen:
                seen.add(k)
                if k not in owner or augment(owner[k], seen):
                    owner[k] = i
                    return True
        return False

    return sum(augment(i, set()) for i in range(len(pred)))


def test_match_is_a_maximum_matching():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from jumpclip.score import match

    assert match([0.0, 0.09], [0.08, 0.17], 0.1) == (2, 0, 0)  # a greedy nearest-first pairing finds 1
    times = st.lists(st.integers(0, 60).map(lambda k: k / 100), max_size=9)

    @settings(max_examples=400, deadline=None)
    @given(times, times)
    def check(pred, truth):
        tp, fp, fn = match(pred, truth, 0.1)
        assert tp == _max_matching(pred, truth, 0.1)
        assert tp + fp == len(pred) and tp + fn == len(truth)

    check()


def test_record_without_a_sensor_names_the_sensor_not_the_firmware(tmp_path):
    b = VirtualBoard(tmp_path / "b", BoardOptions(sensor=False, config={"idle_min": 0}))
    b.flash_firmware()
    b.load_trace(DATA / "car_ride_s1.csv")
    port = b.serve()
    b.start(interactive=True)
    try:
        assert b.wait_for("sensor error", 20)
        res = CliRunner().invoke(main, ["record", "--port", port, "--out", str(tmp_path / "r.csv"), "--seconds", "2"])
    finally:
        b.stop()
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "sensor did not start" in res.output and "deploy" not in res.output, res.output


def test_record_from_jumpclip_sim_outlasts_a_short_trace(tmp_path, monkeypatch):
    # `jumpclip sim` runs in real time; past the trace's end the sensor holds its last
    # sample, so a recording longer than what is left of the trace completes without gaps.
    # A busy machine can starve the board for seconds (a loaded run: "sends too slowly"):
    # the host waits as long as a slow link needs.
    import subprocess
    import sys

    monkeypatch.setenv("JUMPCLIP_TIMEOUT_S", "60")

    proc = subprocess.Popen([sys.executable, "-m", "jumpclip.cli", "sim", "--trace", str(DATA / "cmj_s1.csv")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        port = line.split()[3]
        res = CliRunner().invoke(main, ["record", "--port", port, "--out", str(tmp_path / "r.csv"), "--seconds", "25"])
    finally:
        proc.terminate()
        proc.wait(10)
    assert res.exit_code == 0, res.output
    assert "5000 samples at 200 Hz" in res.output and "no gaps" in res.output


def test_the_streaming_path_for_big_files_gives_the_general_paths_events(tmp_path, monkeypatch):
    # bigtrace.read_counts is taken for files over 64 MB; here for every file. It must give
    # what the general path gives (same events, same counts) or decline (irregular timing).
    import numpy as np

    from jumpclip import bigtrace
    from jumpclip.sim import feed
    from jumpclip.traces import read_trace

    taken = 0
    for path in sorted(DATA.glob("*.csv")):
        if path.name.endswith(".events.csv"):
            continue
        general = replay.replay_file(str(path))
        monkeypatch.setattr(bigtrace, "BIG_BYTES", 0)
        streamed = replay.replay_file(str(path))
        monkeypatch.setattr(bigtrace, "BIG_BYTES", 64 << 20)
        assert streamed["events"] == general["events"] and streamed["metrics"] == general["metrics"], path.name
        assert streamed["duration_s"] == general["duration_s"]
        got = bigtrace.read_counts(path, 200, 16)
        if got is not None:
            taken += 1
            assert np.array_equal(got[1], feed.counts(read_trace(path), 200, 16)), path.name
    assert taken >= 5  # the corpus is regular: most files take the streaming path
    irregular = tmp_path / "jitter.csv"
    rng = np.random.default_rng(1)
    t = np.arange(2000) / 200 + rng.uniform(-0.001, 0.001, 2000)
    irregular.write_text("t_s,ax_g,ay_g,az_g\n" + "\n".join(f"{x:.6f},0,0,1" for x in np.sort(t)))
    assert bigtrace.read_counts(irregular, 200, 16) is None


def test_the_streaming_quantiser_is_the_feeds():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import numpy as np

    from jumpclip import bigtrace
    from jumpclip.sim import feed

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.floats(-40, 40, allow_nan=False), min_size=1, max_size=50), st.sampled_from([2, 4, 8, 16]))
    def check(values, range_g):
        g = np.array(values)
        v = np.clip(np.rint(g * feed.FINE_LSB_PER_G), -(2**31) + 1, 2**31 - 1).astype(np.int32)
        assert np.array_equal(bigtrace._quantise(g.copy(), feed.AFS_SHIFT[range_g]), feed.quantise(v, range_g))

    check()


def test_a_count_label_without_landing_times_is_not_scored_as_f1_one(tmp_path):
    # `record` writes a jumps=N label and no landing times: there is nothing to match, so
    # no TP, FP, FN or F1 (it said F1 1.000 in the table, the plot title and --json).
    import json as _json

    p = tmp_path / "rec.csv"
    p.write_bytes((DATA / "cmj_s1.csv").read_bytes())  # its events file stays behind
    res = CliRunner().invoke(main, ["replay", str(p), "--json"])
    doc = _json.loads(res.stdout)
    m = doc["files"][0]["metrics"]
    assert m["f1"] is None and m["precision"] is None and m["tp"] is None and m["count_error"] == 0.0, m
    assert doc["summary"]["with_truth"]["f1"] is None and doc["summary"]["with_truth"]["count_error"] == 0.0
    text = CliRunner().invoke(main, ["replay", str(p)], terminal_width=200).output
    row = next(ln for ln in text.splitlines() if "rec.csv" in ln)
    assert "count only" in row and "1.000" not in row and "no landing times to match" in text, text
    assert "F1 1.000" not in text


def test_the_replay_plot_draws_the_qualifying_line_and_keeps_its_legend_off_the_data(tmp_path, monkeypatch):
    # Issue 36: the legend covered landing markers, and the 3.9 g line the product is about
    # was not drawn.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jumpclip import plots, replay

    figures = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: figures.append(fig))
    entry = replay.replay_file(str(DATA / "rope_single_s1.csv"))
    plots.plot_replay(entry, {}, tmp_path)
    (fig,) = figures
    ax = fig.axes[0]
    assert any(len(set(line.get_ydata())) == 1 and abs(line.get_ydata()[0] - 3.9) < 1e-9 for line in ax.lines)
    fig.canvas.draw()
    legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.x0 >= axes.x1  # beside the plot, not over it
    real_close(fig)
