"""The bone-loading report, from a demo database the virtual board synced day by day."""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from jumpclip import demodb, loading
from jumpclip.cli import main

TODAY = dt.datetime.now().astimezone().date()  # what `jumpclip report` calls today


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("loading") / "demo.sqlite"
    demodb.build(path, n_days=6, today=TODAY, skip=(2,))
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
        assert d.qualifying == sum(1 for p in d.peaks_g if p >= 3.9)
    assert dated[-1].streak == (dated[-2].streak + 1 if dated[-1].target_met else 0)
    assert sum(d.jumps for d in dated) == sum(40 + (k * 7) % 45 for k in range(6) if k != 2)


def table_rows_from_terminal(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines() if re.match(r"│ \d{4}-\d\d-\d\d", line)]


def table_rows_from_html(page: str) -> list[list[str]]:
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return [re.findall(r"<td>(.*?)</td>", row) for row in body.split("</tr>") if "<td>" in row]


def test_report_terminal_png_html_agree(demo, tmp_path):
    png, page = tmp_path / "r.png", tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", "--db", str(demo), "--days", "6", "--png", str(png), "--html", str(page)], terminal_width=200)
    assert res.exit_code == 0, res.output
    term = table_rows_from_terminal(res.output)
    html_rows = table_rows_from_html(page.read_text())
    assert len(term) == 5 and term == html_rows  # same days, same numbers
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and 'src="data:image/png;base64,' in text  # self-contained
    assert "not medical advice" in text and "Turner" in text


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium)")
def test_html_renders_in_headless_chromium(demo, tmp_path):
    from jumpclip.store import Store

    page = tmp_path / "r.html"
    page.write_text(loading.html_page(loading.days(Store(demo), 6, today=TODAY)))
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
    now = int((dt.datetime.now(dt.timezone.utc) - dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)).total_seconds()) - 3600
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
