"""Wearers: a club's people change clips and body mass over time; one wearer sets up nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from click.testing import CliRunner

from bench import store_bench
from jumpclip import wearers
from jumpclip.cli import main
from jumpclip.store import MIGRATIONS, Store

A, B = "c1b000000000", "c1b000000001"  # store_bench.club's clips


def test_a_session_is_whoever_wore_its_clip_when_it_started():
    p = wearers.People(names=["Ann", "Bob"])
    p.clips[A] = wearers.Timeline()
    p.clips[A].add("2026-03-01T00:00:00+00:00", "Ann")
    p.clips[A].add("2026-06-01T00:00:00+00:00", "Bob")  # Ann's clip went to Bob
    assert p.wearer_of(A, "2026-02-28T23:59:59+00:00") == wearers.DEFAULT  # before anyone was named
    assert p.wearer_of(A, "2026-03-01T00:00:00+00:00") == "Ann"
    assert p.wearer_of(A, "2026-05-31T23:00:00+00:00") == "Ann"
    assert p.wearer_of(A, "2026-06-01T00:00:00+00:00") == "Bob"
    assert p.wearer_of(A, None) == "Bob"  # unknown start: whoever wears it now
    assert p.wearer_of(B, "2026-04-01T00:00:00+00:00") == wearers.DEFAULT  # a clip nobody was given
    p.masses["Ann"] = wearers.Timeline()
    p.masses["Ann"].add(wearers.BEGINNING, 70.0)
    p.masses["Ann"].add("2026-05-01T00:00:00+00:00", 74.0)
    assert p.mass_of("Ann", "2026-01-01T00:00:00+00:00") == 70.0  # the first mass holds from the beginning
    assert p.mass_of("Ann", "2026-05-02T00:00:00+00:00") == 74.0 and p.latest_mass("Ann") == 74.0
    assert p.mass_of("Bob", "2026-05-02T00:00:00+00:00") is None
    p.masses["Bob"] = wearers.Timeline([(wearers.BEGINNING, float("nan"))])
    assert p.mass_of("Bob", None) is None


def test_names_clips_and_masses_are_checked():
    with pytest.raises(wearers.WearerError, match="not a wearer's name"):
        wearers.check_name("a,b")
    with pytest.raises(wearers.WearerError, match="not a body mass"):
        wearers.check_mass(float("nan"))
    assert wearers.find_clip([A, B], "000001") == B and wearers.find_clip([A], "aabbccddeeff") == "aabbccddeeff"
    with pytest.raises(wearers.WearerError, match="the end of 2 clips"):
        wearers.find_clip(["aaaa00000001", "bbbb00000001"], "0001")
    with pytest.raises(wearers.WearerError, match="no synced clip ends in"):
        wearers.find_clip([A, B], "12")


@pytest.fixture()
def club_db(tmp_path):
    path = tmp_path / "club.sqlite"
    store_bench.club(path, clips=2, days=20)
    return path


def run(*args):
    res = CliRunner().invoke(main, [str(a) for a in args], terminal_width=200)
    return res.exit_code, res.output


def test_a_replaced_clip_and_a_new_body_mass_follow_the_wearer(club_db):
    db = ["--db", club_db]
    today = dt.date.today()
    switch = today - dt.timedelta(days=9)  # Bob's clip was lost: from then on he wears Ann's old one
    assert run("wearer", "add", "Ann", "--clip", "000000", *db)[0] == 0
    assert run("wearer", "add", "Bob", "--clip", "000001", *db)[0] == 0
    rc, text = run("wearer", "assign", "Bob", "000000", "--from", switch, *db)
    assert rc == 0 and f"from {switch}" in text
    assert run("body-mass", "80", "--wearer", "Bob", *db)[0] == 0
    rc, text = run("body-mass", "76", "--wearer", "Bob", "--from", today - dt.timedelta(days=3), *db)
    assert rc == 0 and "(80 kg before)" in text

    rc, text = run("export", "--json", "--wearer", "Bob", *db)
    doc = json.loads(text)
    sessions = doc["sessions"]
    assert rc == 0 and doc["body_mass_kg"] == 76 and {s["wearer"] for s in sessions} == {"Bob"}
    switch_utc = wearers.since_text(switch)
    mass_from = wearers.since_text(today - dt.timedelta(days=3))
    for s in sessions:  # clip B before the switch is Bob's too (his first clip), clip A only after it
        assert s["device"] == B or s["start_utc"] >= switch_utc
        assert s["body_mass_kg"] == (76 if s["start_utc"] >= mass_from else 80)
    assert sum(s["device"] == A for s in sessions) == 3 * 10 and len(sessions) == 3 * 20 + 3 * 10  # today - 9 .. today
    # Ann keeps clip A's sessions before the switch, and has no body mass: no forces.
    ann = list(csv.DictReader(io.StringIO(run("export", "--csv", "--wearer", "Ann", *db)[1])))
    assert {r["wearer"] for r in ann} == {"Ann"} and {r["device"] for r in ann} == {A}
    assert len(ann) == 3 * 10 * store_bench.JUMPS_A_SESSION and all(r["force_bw"] == "" for r in ann)

    rc, text = run("report", "--days", 20, "--wearer", "Bob", *db)
    assert rc == 0 and "Bob" in text.split("┏")[0].splitlines()[-1] and "76 to 80 kg" in text.replace("\n", " ")  # the table's title
    rc, text = run("sessions", "--last", 0, "--wearer", "Ann", *db)
    assert rc == 0 and "Ann" in text and "Bob" not in text and "c1b000000001"[-6:] not in text
    rc, text = run("wearer", "list", *db)
    assert rc == 0 and "Ann" in text and "Bob" in text and "76 kg" in text
    rc, text = run("report", "--wearer", "Zed", *db)
    assert rc == 1 and "no wearer 'Zed'" in text and "Traceback" not in text


def test_one_wearer_sets_up_nothing_and_an_old_body_mass_is_kept(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    for k, m in enumerate(MIGRATIONS[:5], 1):
        db.executescript(m + f"; PRAGMA user_version = {k};")
    db.execute("INSERT INTO settings VALUES ('body_mass_kg', '72.5')")
    db.commit()
    db.close()
    store = Store(path)
    assert store.body_mass() == 72.5 and store.setting("body_mass_kg") is None  # moved to the default wearer
    assert not store.people().named
    store.db.execute("UPDATE body_masses SET kg = 'nan'")  # stored by hand: reads as unset
    assert store.body_mass() is None


def test_one_wearers_report_reads_only_their_clips_sessions(tmp_path, monkeypatch):
    # Issue 35: one wearer's report in a club's database read every clip's sessions before
    # filtering, so its time grew with the club. The query now names the wearer's clips.
    from jumpclip import loading

    path = tmp_path / "club.sqlite"
    store_bench.club(path, clips=3, days=5)
    store = Store(path)
    store.add_wearer("Ann")
    store.assign(A, "Ann", wearers.BEGINNING)
    read = []
    real = Store.sessions

    def counting(self, *args, **kw):
        rows = real(self, *args, **kw)
        read.extend(rows)
        return rows

    monkeypatch.setattr(Store, "sessions", counting)
    ds = loading.days(store, 5, settings=loading.Settings(wearer="Ann"))
    assert read and {r["device_id"] for r in read} == {A}  # nothing of the other two clips was read
    alone = loading.days(store, 5, settings=loading.Settings())
    assert 0 < sum(d.jumps for d in ds) < sum(d.jumps for d in alone)
