"""The bone-loading report, from a demo database the virtual board synced day by day."""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as hst

from jumpclip import demodb, loading, loading_views
from jumpclip.cli import main

TODAY = dt.datetime.now().astimezone().date()  # what `jumpclip report` calls today
# The demo is built as if late today, so that it holds today's evening bout whatever the time
# of day the tests run at (a bout yet to come is left out of a real demo).
LATE_TODAY = dt.datetime.combine(TODAY, dt.time(23, 0)).astimezone()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("loading") / "demo.sqlite"
    demodb.build(path, n_days=6, today=TODAY, skip=(2,), now=LATE_TODAY)
    return path


def test_osteogenic_index_formula():
    # Turner & Robling: intensity x ln(1 + cycles); intensity = mean landing peak (g).
    assert loading.osteogenic_index([4.0, 6.0]) == pytest.approx(5.0 * math.log(3))
    assert loading.osteogenic_index([]) == 0.0


def test_days_streak_and_target(demo):
    from jumpclip.store import Store

    ds = loading.days(Store(demo), n_days=6, today=TODAY, target=30)
    dated = [d for d in ds if d.date]
    assert [d.date for d in dated] == [TODAY - dt.timedelta(days=5 - k) for k in range(6)]
    assert dated[2].jumps == 0 and not dated[2].target_met  # the rest day breaks the streak
    for d in dated:
        assert d.target_met == (d.qualifying >= 30)
        # The clip's default: the target counts impacts of 3.9 g from any movement; every
        # qualifying landing is among them (its peak is an impact peak).
        assert d.rules == ({loading.IMPACTS} if d.jumps else set())  # a rest day has no session
        assert d.qualifying == d.impacts_qualifying
        assert d.landings_qualifying == sum(c for mg, c in d.peaks_mg.items() if mg >= 3900)
        assert d.impacts_qualifying >= d.landings_qualifying
        assert d.jumps == 0 or sum(d.bands[2:]) == d.impacts_qualifying  # 3.9 g and over: the top three bands
    assert dated[-1].streak == (dated[-2].streak + 1 if dated[-1].target_met else 0)
    assert sum(d.jumps for d in dated) == sum(40 + (k * 7) % 45 for k in range(6) if k != 2)


def table_rows_from_terminal(text: str) -> list[list[str]]:
    days_part = text.split("Weeks")[0]  # the days table; the weeks table follows
    return [[c.strip() for c in line.split("│")[1:-1]] for line in days_part.splitlines() if re.match(r"│ \d{4}-\d\d-\d\d", line)]


def table_rows_from_html(page: str) -> list[list[str]]:
    body = page.split('<table id="days">')[1].split("<tbody>")[1].split("</tbody>")[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("</tr>") if "<td" in row]


def test_report_terminal_png_html_agree(demo, tmp_path):
    png, page = tmp_path / "r.png", tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", "--db", str(demo), "--days", "6", "--png", str(png), "--html", str(page)], terminal_width=320)
    assert res.exit_code == 0, res.output
    term = table_rows_from_terminal(res.output)
    html_rows = table_rows_from_html(page.read_text())
    assert len(term) == 6 and term == html_rows  # same days, same numbers
    # Every day of the window is a row, the rest day too (the chart shows it; the table skipped it).
    rest = [r for r in term if r[1] == "0"]
    assert len(rest) == 1 and rest[0][5] == "" and rest[0][12] == ""
    term = [r for r in term if r[1] != "0"]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and 'src="data:image/png;base64,' in text  # self-contained
    assert "not medical advice" in text and "Turner" in text
    # The demo wearer's body mass is set: bouts and forces show (the morning and evening bouts
    # of every other day, and each day's peak force with its band).
    by_day = {r[0]: r for r in term}
    assert any(", " in r[5] for r in term)  # two bouts that day
    assert all(re.fullmatch(r"(\d\d:\d\d \(\d+\)(, )?)+", r[5]) for r in term)
    assert all(re.fullmatch(r"≥? ?\d\.\d BW( ~±13 %)?", r[7]) for r in term) and by_day
    assert '<table id="weeks">' in text and 'id="next-bout"' in text and "Robling" in text and "body weights" in text


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium)")
def test_html_renders_in_headless_chromium(demo, tmp_path):
    from jumpclip.store import Store

    page = tmp_path / "r.html"
    page.write_text(loading_views.html_page(loading.days(Store(demo), 6, today=TODAY)))
    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
           "--window-size=1280,1000", f"--screenshot={shot}", page.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (1280, 1000)
    from PIL import Image

    img = Image.open(shot).convert("L")
    lo, hi = img.getextrema()
    assert hi - lo > 100  # not blank: text, table and chart are drawn
    assert len(set(img.resize((64, 50)).tobytes())) > 20


def test_the_report_counts_with_each_sessions_own_settings(tmp_path):
    # One definition of a qualifying impact: the clip's. A session recorded with
    # qualify_g 4.2 and a target of 30 counts a 4.0 g landing as ordinary; a session from
    # firmware that did not record its settings counts with the defaults (3.9 g, 50).
    from jumpclip.logread import Jump, LogContents, SessionStart
    from jumpclip.store import Store

    store = Store(tmp_path / "db.sqlite")
    # Early today (local): the sessions fall on today's date at any time of day the test runs.
    midnight = dt.datetime.combine(TODAY, dt.time(0, 0)).astimezone()
    now = int((midnight - dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)).total_seconds()) + 1
    old = SessionStart(0, 1025, 1, "a4cf12345678", now, True, 1, 200, 16, "0.1.0")
    new = SessionStart(10, 1026, 1, "a4cf12345678", now + 60, True, 1, 200, 16, "0.2.0", 4200, 30)
    jumps = [Jump(1, 1025, 0, 200, 60, 4000), Jump(11, 1026, 0, 200, 60, 4000), Jump(11, 1026, 1, 400, 60, 4300)]
    store.import_log("a4cf12345678", LogContents(starts=[old, new], jumps=jumps), None, "test")
    st = loading.Settings()
    (today,) = [d for d in loading.days(store, 1, settings=st) if d.jumps]
    assert today.qualifying == 2 and today.target == 30  # 4.0 under 3.9 (old) + 4.3 under 4.2 (new)
    assert "as set on the clip" in st.describe() and "3.9, 4.2 g" in st.describe()
    st = loading.Settings()
    (today,) = [d for d in loading.days(store, 1, qualify_g=3.9, target=50, settings=st) if d.jumps]
    assert today.qualifying == 3 and today.target == 50
    assert "command line" in st.describe()


def test_report_refuses_nonsense_settings(tmp_path):
    from click.testing import CliRunner

    from jumpclip.cli import main

    for args in (["--qualify-g", "nan"], ["--qualify-g", "inf"], ["--target", "-5"], ["--qualify-g", "0"]):
        res = CliRunner().invoke(main, ["report", "--db", str(tmp_path / "none.sqlite"), *args])
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert not (tmp_path / "none.sqlite").exists()


def test_force_needs_a_body_mass_and_shows_in_show_and_export(demo, tmp_path):
    import json as jsonlib

    from jumpclip.store import Store

    db = tmp_path / "copy.sqlite"
    db.write_bytes(demo.read_bytes())
    run = CliRunner()
    shown = run.invoke(main, ["show", "1", "--db", str(db)], terminal_width=200).output
    assert re.search(r"\d\.\d BW ~±13 %", shown) and "filtered" in shown
    exported = jsonlib.loads(run.invoke(main, ["export", "--json", "--db", str(db)]).output)
    jumps = [j for s in exported["sessions"] for j in s["jumps"]]
    assert exported["body_mass_kg"] == 70 and all(j["force_bw"] and j["force_bw_low"] < j["force_bw"] < j["force_bw_high"] for j in jumps)
    # Without a body mass: g only, and it says why.
    assert run.invoke(main, ["body-mass", "--clear", "--db", str(db)]).exit_code == 0
    shown = run.invoke(main, ["show", "1", "--db", str(db)], terminal_width=200).output
    assert "BW" not in shown.split("peak: raw")[0] and "set your body mass first" in shown
    csv_text = run.invoke(main, ["export", "--csv", "--db", str(db)]).output
    header, first = csv_text.splitlines()[:2]
    assert "force_bw" in header and first.split(",")[header.split(",").index("force_bw")] == ""
    res = run.invoke(main, ["body-mass", "72.5", "--db", str(db)])
    assert res.exit_code == 0 and Store(db).body_mass() == 72.5
    assert run.invoke(main, ["body-mass", "9000", "--db", str(db)]).exit_code == 2  # a user error, no traceback
    for bad in ("nan", "inf", "-inf", "NaN", "x"):  # FloatRange let NaN through: "nan BW", NaN in JSON
        res = run.invoke(main, ["body-mass", "--db", str(db), "--", bad])
        assert res.exit_code == 2 and "Traceback" not in res.output, (bad, res.output)
    assert Store(db).body_mass() == 72.5
    store = Store(db)
    store.db.execute("UPDATE body_masses SET kg = 'nan'")  # a value no check took: as if unset
    assert store.body_mass() is None


def test_bouts_score_and_recovery_follow_the_sources():
    # Four bouts of 90 landings at 4 g, 3 h apart, score more than one bout of 360 (Robling
    # 2002), each weighted by the recovery before it (full after 8 h: Robling 2001).
    one = loading.Bout.of(None, None, [4.0] * 360)
    four = [loading.Bout.of(None, None, [4.0] * 90, 1.0)] + [loading.Bout.of(None, None, [4.0] * 90, 3 / 8) for _ in range(3)]
    assert sum(b.score for b in four) > one.score
    assert one.score == pytest.approx(4.0 * math.log(361))
    bouts_fw = loading.bouts_fw
    assert bouts_fw.split([0, 10, 20, 5000, 5010], gap_s=1800) == [[0, 20, 3], [5000, 5010, 2]]
    assert bouts_fw.split([], 1800) == []


def _build_bouts(by_date, landings):
    """(epoch s, g, force, day) landings through loading.BoutBuilder in time order, as
    loading.days feeds it."""
    b = loading.BoutBuilder(by_date, 1800)
    for t, g, bw, d in sorted(landings, key=lambda x: x[0]):
        b.add(t, g, bw, d)
    b.finish()


def test_a_bout_across_midnight_stays_one_bout_on_the_day_it_began():
    # 20 qualifying landings from 23:50 to 00:09: one bout, filed under the first day; the
    # per-day grouping split it, and its second half got a near-zero rest weight.
    d1 = dt.date(2026, 3, 9)
    d2 = d1 + dt.timedelta(days=1)
    t0 = dt.datetime.combine(d1, dt.time(23, 50)).astimezone().timestamp()
    by_date = {d1: loading.Day(d1), d2: loading.Day(d2)}
    landings = []
    for k in range(20):
        t = t0 + 60 * k
        landings.append((t, 4.0, None, d1 if dt.datetime.fromtimestamp(t).date() == d1 else d2))
    later = t0 + 10 * 3600  # a bout 10 h later, on the second day: fully rested
    landings += [(later + 60 * k, 4.0, None, d2) for k in range(10)]
    _build_bouts(by_date, landings)
    assert [b.landings for b in by_date[d1].bouts] == [20]
    assert [b.landings for b in by_date[d2].bouts] == [10] and by_date[d2].bouts[0].recovery == 1.0


def test_the_first_bout_of_the_window_is_weighed_by_the_rest_before_it():
    # A bout that ended at 22:00 the evening before the report's first day, then one at
    # 02:00: 4 h of rest, half the recovery. It got full weight, as if nothing came before.
    d = dt.date(2026, 3, 10)
    evening = dt.datetime.combine(d - dt.timedelta(days=1), dt.time(21, 50)).astimezone().timestamp()
    night = dt.datetime.combine(d, dt.time(1, 50)).astimezone().timestamp()
    bout = [(night + 60 * k, 4.0, None, d) for k in range(11)]  # 01:50 to 02:00
    by_date = {d: loading.Day(d)}
    _build_bouts(by_date, bout)
    assert by_date[d].bouts[0].recovery == 1.0  # nothing known before
    by_date = {d: loading.Day(d)}
    # The evening's landings are before the report's first day: no day, only the rest.
    _build_bouts(by_date, bout + [(evening + 60 * k, 0.0, None, None) for k in range(11)])  # 21:50 to 22:00
    assert by_date[d].bouts[0].recovery == pytest.approx((night - (evening + 600)) / (8 * 3600))
    assert by_date[d].bouts[0].landings == 11


def test_the_page_explains_a_mark_only_where_a_row_carries_it_and_labels_a_partial_week():
    d0 = dt.date(2026, 3, 4)  # a Wednesday: the first week of the window is partial
    ds = [loading.Day(d0 + dt.timedelta(days=k), jumps=10, qualifying=5) for k in range(8)]
    for d in ds:
        d.bouts = [loading.Bout.of(None, None, [4.0] * 5)]
    page = loading_views.html_page(ds)
    assert 'id="estimated"' not in page and "~ after a day" not in page
    ds[2].estimated = True
    page = loading_views.html_page(ds)
    assert 'id="estimated"' in page and "2026-03-06~" in page
    wk = loading_views.week_rows(loading.weeks(ds), False)
    assert wk[0][0] == "2026-03-02 (5 of 7 days)" and wk[1][0] == "2026-03-09 (3 of 7 days)"
    assert wk[1][-1].endswith("a day (so far)")  # this week: in progress, compared per day
    # Issue 36: a week just begun, with nothing yet, is in progress, not -100 % a day; and
    # today, before its target is met, is "so far", not "no".
    ds.append(loading.Day(d0 + dt.timedelta(days=12)))
    wk = loading_views.week_rows(loading.weeks(ds), False)
    assert wk[-1][-1] == "in progress" and "-100" not in " ".join(map(str, wk))
    today = loading.Day(dt.date.today(), jumps=3, qualifying=2, target=50)
    assert loading_views.rows([today])[0][3] == "so far"
    assert loading_views.rows([loading.Day(dt.date.today() - dt.timedelta(days=1), jumps=3, qualifying=2)])[0][3] == "no"


def test_the_index_uses_force_in_body_weights_when_every_member_has_one():
    # Turner & Robling's index is force x ln(1 + cycles): with a body mass set and a force for
    # every member, the bout is scored by force; with one missing (an impact without a
    # filtered peak), by g for all, and the page says "with g in place of force".
    by_force = loading.Bout.of(None, None, [4.0] * 10, 1.0, [2.5] * 10)
    assert by_force.by_force and by_force.score == pytest.approx(2.5 * math.log(11))
    mixed = loading.Bout.of(None, None, [4.0] * 10, 1.0, loading._forces([2.5] * 9 + [None]))
    assert not mixed.by_force and mixed.score == pytest.approx(4.0 * math.log(11))


def test_a_force_past_the_fitted_range_is_flagged_not_extrapolated():
    from jumpclip import force as fm

    inside = fm.force(4.0, False, 70)
    assert inside and not inside.extrapolated and "~±13 %" in inside.text()
    far = fm.force(15.0, False, 70)  # 15 g filtered: far past the 0-7 BW the model was fitted on
    assert far and far.extrapolated and far.text() == "> 7 BW (past the model's range)"
    assert far.bw > fm.MODEL_MAX_BW


def test_the_report_shows_the_impact_ladder_and_what_the_target_counted(demo, tmp_path):
    page = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", "--db", str(demo), "--days", "6", "--html", str(page)], terminal_width=320)
    assert res.exit_code == 0, res.output
    assert "Impact ladder" in res.output and "3.9-5.3 g" in res.output
    assert "impacts from any movement" in res.output and "Bassey 1998" in res.output  # the rule, and why
    text = page.read_text()
    ladder = text.split('<table id="ladder">')[1].split("</table>")[0]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in ladder.split("</tr>") if "<td" in row]
    assert len(rows) == 5  # the five days with sessions
    from jumpclip.store import Store

    ds = {d.date.isoformat(): d for d in loading.days(Store(demo), 6, TODAY)}
    for r in rows:
        assert [int(c) for c in r[1:6]] == ds[r[0]].bands and int(r[6]) == ds[r[0]].impacts_qualifying
    assert 'id="rungs"' in text and "no source we could check" in text  # stomps: no band claimed
    # Landings only: the same days, counted by landings.
    res = CliRunner().invoke(main, ["report", "--db", str(demo), "--days", "6", "--target-counts", "landings"], terminal_width=320)
    assert res.exit_code == 0 and "landings after a flight" in res.output, res.output


def test_the_wearers_group_shows_what_the_evidence_says_for_it(demo, tmp_path):
    db = tmp_path / "g.sqlite"
    shutil.copy(demo, db)
    res = CliRunner().invoke(main, ["report", "--db", str(db), "--days", "6"], terminal_width=320)
    assert "jumpclip group premenopausal" in res.output  # optional: how to say it
    res = CliRunner().invoke(main, ["group", "postmenopausal", "--db", str(db)])
    assert res.exit_code == 0 and "no effect on hip bone density after menopause" in res.output, res.output
    res = CliRunner().invoke(main, ["report", "--db", str(db), "--days", "6"], terminal_width=320)
    assert "The evidence for women after menopause" in res.output and "not medical advice" in res.output
    res = CliRunner().invoke(main, ["group", "--clear", "--db", str(db)])
    assert res.exit_code == 0
    res = CliRunner().invoke(main, ["group", "nonsense", "--db", str(db)])
    assert res.exit_code != 0 and "Traceback" not in res.output


def test_exports_carry_the_impact_bands(demo, tmp_path):
    import csv
    import json

    res = CliRunner().invoke(main, ["export", "--json", "--db", str(demo)])
    doc = json.loads(res.output)
    with_bands = [s for s in doc["sessions"] if s["impact_bands"] is not None]
    assert with_bands and all(s["target_counts"] == "impacts" for s in with_bands)
    assert all(sum(list(s["impact_bands"].values())[2:]) == len(s["qualifying_impacts"]) for s in with_bands)
    out = tmp_path / "b.csv"
    res = CliRunner().invoke(main, ["export", "--bands", "--db", str(demo), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(doc["sessions"]) and "impacts 3.9-5.3 g" in rows[0]
    assert sum(int(r["qualifying_impacts"]) for r in rows) == sum(len(s["qualifying_impacts"]) for s in doc["sessions"])


def run_in_terminal(args: list[str], columns: int, rows: int = 200) -> str:
    """`jumpclip ARGS` in a terminal `columns` wide (a pseudo-terminal with that window size,
    as a tmux pane or a phone's SSH app gives it), ANSI codes stripped."""
    import fcntl
    import os
    import pty
    import struct
    import sys
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen([sys.executable, "-m", "jumpclip.cli", *args], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the program exited and closed its side
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(60)
    os.close(master)
    text = b"".join(chunks).decode(errors="replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", text)
    # What a terminal shows: a line redrawn after a carriage return (a progress bar) is its
    # last drawing.
    return "\n".join(line.rstrip("\r").split("\r")[-1] for line in text.replace("\r\n", "\n").split("\n"))


@pytest.mark.parametrize("columns", [80, 100, 140])
def test_the_terminal_report_elides_no_cell_at_any_width(demo, columns):
    # Issue 36: at 80 columns every day-table cell but one showed as '…'. Now a terminal
    # narrower than every column gets the compact table (day, jumps, qualifying of target,
    # bouts; --wide for the rest), and a cell that does not fit wraps inside its column.
    text = run_in_terminal(["report", "--db", str(demo), "--days", "8"], columns)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"terminal-{columns}-columns.txt").write_text(text)  # for a person to read (make report-shots)
    assert "…" not in text, text
    assert max(len(line) for line in text.splitlines()) <= columns, text
    header = next(line for line in text.splitlines() if "day" in line and "jumps" in line)
    assert ("peak force" in text) == (columns >= loading_views.WIDE_COLUMNS), header
    if columns < loading_views.WIDE_COLUMNS:
        assert "--wide" in text
    days = [line for line in text.split("Weeks")[0].splitlines() if re.match(r"│ \d{4}-\d\d-\d\d", line)]
    assert days and days[0].split("│")[1].strip() == (TODAY - dt.timedelta(days=5)).isoformat()  # from the first day with data
    wide = run_in_terminal(["report", "--db", str(demo), "--days", "8", "--wide"], columns)
    assert "…" not in wide and "BW" in wide.split("Weeks")[0]  # the forces column, whatever the width


@pytest.mark.parametrize("columns", [80, 100, 140])
def test_every_report_table_fits_its_terminal_uncut(demo, columns):
    # Rich crops a line wider than the console at its edge: a table too wide for 80 columns
    # lost its last column without a mark. Printed uncropped here, every line must fit.
    from rich.console import Console

    from jumpclip.store import Store

    st = loading.Settings()
    ds = loading.days(Store(demo), 8, settings=st, today=TODAY)
    compact = columns < loading_views.WIDE_COLUMNS
    for table in (loading_views.terminal_table(ds, st, compact), loading_views.weeks_table(ds, st, compact),
                  loading_views.ladder_table(ds, st, compact)):
        con = Console(width=columns, record=True, file=open("/dev/null", "w"))
        con.print(table, crop=False)
        text = con.export_text()
        assert "…" not in text, text
        assert max(len(line) for line in text.splitlines()) <= columns, text


def test_the_page_and_the_terminal_say_whole_sentences_and_what_a_column_counts():
    # Issue 36: the page showed `jumpclip group premenopausal` with its backticks, a sentence
    # ended "...jogging) with a peak.", and the bouts column said landings where it counted
    # qualifying impacts.
    ds = [loading.Day(dt.date(2026, 3, 4), jumps=10, qualifying=5)]
    page = loading_views.html_page(ds)
    assert "<code>jumpclip group premenopausal</code>" in page and "`" not in page.split("<body>")[-1]
    st = loading.Settings()
    assert not loading_views.target_rule_text(st).endswith("with a peak.")
    assert ">= 3.9 g" in loading_views.target_rule_text(st)
    assert "bouts (start, qualifying)" in loading_views.HEADERS and not any("landings)" in h for h in loading_views.HEADERS)
    res = CliRunner().invoke(main, ["group", "--help"])
    assert "Only this wearer's sessions" not in res.output and "The group of this wearer" in res.output


def test_every_export_and_the_report_count_the_same_qualifying_landings_and_impacts(demo):
    # Issue 36: export --bands gave qualifying_landings 0 for sessions with 13 landings of
    # 3.9 g and more (it read the END's count, which this clip's sessions did not carry, and
    # was blank for an open one). One rule (qualify.py), counted from the jumps everywhere.
    import csv
    import io
    import json

    from jumpclip.store import Store

    run = CliRunner()
    jumps = list(csv.DictReader(io.StringIO(run.invoke(main, ["export", "--db", str(demo)]).output)))
    bands = list(csv.DictReader(io.StringIO(run.invoke(main, ["export", "--bands", "--db", str(demo)]).output)))
    doc = json.loads(run.invoke(main, ["export", "--json", "--db", str(demo)]).output)
    ds = loading.days(Store(demo), 8, today=TODAY)
    from_csv = sum(1 for j in jumps if float(j["peak_g"]) >= 3.9)
    from_bands = sum(int(r["qualifying_landings"]) for r in bands)
    from_report = sum(d.landings_qualifying for d in ds)
    from_json = sum(1 for s in doc["sessions"] for j in s["jumps"] if j["peak_g"] >= 3.9)
    assert from_csv == from_bands == from_report == from_json > 0
    by_session = {r["session"]: int(r["qualifying_landings"]) for r in bands}
    for r in bands:  # and per session, not only in total
        assert by_session[r["session"]] == sum(1 for j in jumps if j["session"] == r["session"] and float(j["peak_g"]) >= 3.9)
    impacts_report = sum(d.impacts_qualifying for d in ds)
    assert impacts_report == sum(int(r["qualifying_impacts"]) for r in bands) == sum(len(s["qualifying_impacts"]) for s in doc["sessions"])


# What a phone, a tablet and a laptop show: the page in headless Chromium at 390, 768 and
# 1280 CSS px. A probe inside the page (in a frame of that width: headless Chromium's window
# is at least 500 px wide) reports the widest content and the smallest text it draws.
PROBE = """<script>
window.addEventListener('load', function () {
  var min = 1e9, who = '';
  var all = document.querySelectorAll('body *');
  for (var i = 0; i < all.length; i++) {
    var el = all[i], text = false;
    for (var k = 0; k < el.childNodes.length; k++) {
      var n = el.childNodes[k];
      if (n.nodeType === 3 && n.textContent.trim()) text = true;
    }
    var r = el.getBoundingClientRect();
    if (!text || r.width === 0 || r.height === 0) continue;
    var size = parseFloat(getComputedStyle(el).fontSize);
    if (size < min) { min = size; who = el.tagName + ': ' + el.textContent.slice(0, 40); }
  }
  var scrollers = 0, shrunk = 0;
  for (var j = 0; j < all.length; j++) {
    var e = all[j], ox = getComputedStyle(e).overflowX;
    if ((ox === 'auto' || ox === 'scroll') && e.scrollWidth > e.clientWidth + 1) scrollers++;  // a box that scrolls sideways
    if (e.tagName === 'IMG' && e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().width < 0.75 * e.naturalWidth) shrunk++;
  }
  parent.postMessage(JSON.stringify({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                                     minfont: min, smallest: who, scrollers: scrollers, shrunk: shrunk}), '*');
});
</script></body>"""
FRAME = """<!doctype html><html><body style="margin:0"><iframe src="page.html" width="{w}" height="2400" style="border:0"></iframe>
<script>window.addEventListener('message', function (e) {{ document.body.setAttribute('data-metrics', e.data); }});</script>
</body></html>"""
SHOTS = Path(__file__).resolve().parents[1] / "build" / "report-shots"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium)")
@pytest.mark.parametrize("width", [390, 768, 1280])
def test_the_page_fits_a_phone_a_tablet_and_a_laptop(demo, tmp_path, width):
    # Issue 36: at 390 px the charts were one image shrunk to a thumbnail, and the day table
    # showed 3 of 13 columns with a scrollbar. Now the rows stack as cards and the daily
    # chart is HTML bars that reflow; no page scrolls sideways, no text is under 11 px.
    import html as htmlmod
    import json

    from jumpclip.store import Store

    page = loading_views.html_page(loading.days(Store(demo), 8, today=TODAY))
    (tmp_path / "page.html").write_text(page.replace("</body>", PROBE))
    (tmp_path / "frame.html").write_text(FRAME.format(w=width))
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--allow-file-access-from-files",
            f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={max(width, 500)},2400", "--virtual-time-budget=5000"]
    dom = subprocess.run(base + ["--dump-dom", (tmp_path / "frame.html").as_uri()], capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'data-metrics="([^"]*)"', dom)
    assert found, dom[-500:]
    m = json.loads(htmlmod.unescape(found.group(1)))
    assert m["inner"] == width
    assert m["scroll"] <= width and m["scrollers"] == 0, m  # nothing wider than the screen, no box scrolling sideways
    assert m["minfont"] >= 11, m
    assert m["shrunk"] == 0, m  # no chart drawn smaller than 3/4 of its size (its labels would be unreadable)
    # The screenshot, for a person to look at (make report-shots).
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"report-{width}px.png"
    subprocess.run(base + [f"--screenshot={shot}", (tmp_path / "frame.html").as_uri()], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_chart_counts_in_the_reports_own_unit_at_every_range(tmp_path):
    # Issue 36: --days 1 and 2 put the chart on an hour axis (today's impacts as one bar from
    # yesterday afternoon); --days 365 drew ten days as slivers at the edge of a year. Now a
    # bar a day up to two months, a week beyond, a month beyond a year, from the first day
    # with data.
    def window(n, active_from=0):
        ds = [loading.Day(TODAY - dt.timedelta(days=n - 1 - k), jumps=10 if k >= active_from else 0,
                          qualifying=(20 + k % 40) if k >= active_from else 0, target=50) for k in range(n)]
        for d in ds:
            d.target_met = d.qualifying >= d.target
        return ds

    assert [p[0] for p in loading_views.chart_periods(loading_views.from_first_data(window(1)))] == [f"{TODAY:%d %b}"]
    assert loading_views.periods_unit(window(2)) == "day" and len(loading_views.chart_periods(window(2))) == 2
    year = loading_views.from_first_data(window(365, active_from=355))  # ten days in a year's window
    assert loading_views.periods_unit(year) == "day" and len(loading_views.chart_periods(year)) == 10
    assert loading_views.periods_unit(window(200)) == "week" and len(loading_views.chart_periods(window(200))) in (29, 30)
    assert loading_views.periods_unit(window(400)) == "month" and 13 <= len(loading_views.chart_periods(window(400))) <= 15
    for n in (1, 2, 365):
        loading_views.png(window(n, active_from=max(0, n - 10)), tmp_path / f"c{n}.png")
        assert (tmp_path / f"c{n}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_first_screen_says_where_the_wearer_stands(demo):
    # Issue 36: the first screen is today so far (with the rest hint), this week's days met,
    # the bests of the window and the trend; the report and the page open with it.
    from jumpclip.store import Store

    ds = loading.days(Store(demo), 8, today=TODAY)
    lines = loading_views.first_screen(ds, LATE_TODAY)
    today = next(d for d in ds if d.date == TODAY)
    assert lines[0].startswith(f"Today: {today.qualifying} of {today.target} ")
    assert "fully effective" in lines[0] or "No bouts yet" in lines[0]
    assert lines[1].startswith("This week: the target met on ")
    best = max(d.qualifying for d in ds)
    assert any(line.startswith("Bests in these 8 days: best day " + str(best)) and "highest jump" in line for line in lines)
    res = CliRunner().invoke(main, ["report", "--db", str(demo), "--days", "8"])
    assert res.output.splitlines()[0].startswith("Today: "), res.output[:300]
    page = loading_views.html_page(ds, now=LATE_TODAY)
    assert '<div id="first-screen"><p>Today: ' in page


@settings(max_examples=300, deadline=None)
@given(hst.lists(hst.integers(0, 65535), max_size=60), hst.lists(hst.tuples(hst.integers(0, 400), hst.sampled_from([100, 200, 400])), max_size=30))
def test_a_days_counts_give_what_its_landings_would(peaks_mg, flights):
    # The day keeps counts of peaks and flights, not a list of landings: its peak, median and
    # mean height are still those of the landings themselves (statistics.median, fmean).
    import statistics

    from jumpclip.report import height_cm

    day = loading.Day(TODAY)
    day.peaks_mg.update(peaks_mg)
    day.flights.update(flights)
    gs = [p / 1000 for p in peaks_mg]
    assert day.peak_g == (max(gs) if gs else 0.0)
    assert day.median_g == (statistics.median(gs) if gs else 0.0)
    hs = [height_cm(a, r) for a, r in flights]
    assert day.max_height_cm == max(hs, default=0.0)
    assert day.mean_height_cm == pytest.approx(statistics.fmean(hs) if hs else 0.0, rel=1e-12)
