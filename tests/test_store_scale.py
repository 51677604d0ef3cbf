"""The desktop at scale: every query the commands run reads through an index (EXPLAIN QUERY
PLAN, so that a schema change cannot quietly bring a whole-table scan back), and an import
does work in the size of what came, not of the database. Timings are `make bench`'s
(bench/store_bench.py); nothing here is timed."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import pytest

from jumpclip.store import MIGRATIONS, Store

from bench import store_bench


@pytest.fixture(scope="module")
def year_db(tmp_path_factory):
    """Sixty days of one wearer, written by the firmware's EventLog and synced daily."""
    path = tmp_path_factory.mktemp("year") / "db.sqlite"
    store_bench.year_of_syncs(path, days=60)
    return path


def statements(store: Store, run) -> list[str]:
    """Every SQL statement `run(store)` executes, with its values in place."""
    seen: list[str] = []
    store.db.set_trace_callback(seen.append)
    try:
        run(store)
    finally:
        store.db.set_trace_callback(None)
    return [q for q in seen if q.split()[0].upper() in ("SELECT", "UPDATE", "DELETE", "INSERT")]


def plan(db: sqlite3.Connection, sql: str) -> list[str]:
    return [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql)]


def jump_reads(lines: list[str]) -> list[str]:
    """The plan's lines that read the jumps table (aliased j, or by name)."""
    return [x for x in lines if re.match(r"(SCAN|SEARCH) (jumps|j)\b", x)]


def assert_indexed(db: sqlite3.Connection, queries: list[str]) -> int:
    checked = 0
    for q in queries:
        lines = plan(db, q)
        for x in jump_reads(lines):
            # A session's jumps come from the session index, with both of its keys.
            assert x.startswith("SEARCH") and "jumps_by_session (log_id=? AND session_id=?)" in x, (q, lines)
            checked += 1
        if jump_reads(lines) and "ORDER BY seq" in q:
            assert not any("TEMP B-TREE" in x for x in lines), (q, lines)  # the index is in log order
        for x in lines:
            assert not re.match(r"SCAN (jumps|j|notes|n)\b", x), (q, lines)
    return checked


def test_every_query_of_sessions_report_and_export_reads_jumps_through_the_session_index(year_db, tmp_path):
    from jumpclip import loading, report

    store = Store(year_db)

    def everything(st: Store) -> None:
        rows = st.sessions()
        st.jumps(rows[3]["log_id"], rows[3]["session_id"])
        loading.days(st, 30)
        for _ in report.export_csv(st):
            pass
        for _ in report.export_json(st):
            pass

    queries = statements(store, everything)
    assert len(queries) > 3 * 60  # a session's jumps each, at least
    assert assert_indexed(store.db, queries) > 3 * 60


def test_the_plan_check_fails_on_the_schema_before_the_session_index(tmp_path):
    # The same check on schema 4, where SQLite took the primary key (log_id, seq, idx) to
    # spare the sort and read the whole log for every session: the check must see it.
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    for m in MIGRATIONS[:4]:
        db.executescript(m)
    q = "SELECT t_samples, air_samples, peak_mg, filtered FROM jumps WHERE log_id='x' AND session_id=1 ORDER BY seq, idx"
    with pytest.raises(AssertionError):
        assert_indexed(db, [q])


def test_a_days_import_does_not_read_the_logs_earlier_records(year_db, tmp_path):
    # One more day on a copy of the database: the import's statements touch only the rows
    # of what came (no COUNT over the log, no read of its earlier sessions, jumps or notes).
    import shutil

    from jumpclip.logread import LogContents

    path = tmp_path / "db.sqlite"
    shutil.copy(year_db, path)
    store = Store(path)
    log_id = store.db.execute("SELECT log_id FROM logs").fetchone()[0]
    before = store.db.execute("SELECT jumps FROM logs").fetchone()[0]
    assert before == store.count_jumps() == 60 * 3 * 150
    day = store_bench.club_day(log_id, seq=10**6, day=dt.date.today() + dt.timedelta(days=1))
    queries = statements(store, lambda st: st.import_log(store_bench.DEVICE, day, None, "sync", log_id=log_id))
    assert_indexed(store.db, queries)
    for q in queries:
        if q.startswith("SELECT"):
            assert "COUNT(" not in q.upper(), q
            lines = plan(store.db, q)
            assert all(x.startswith("SEARCH") for x in lines), (q, lines)
    assert store.db.execute("SELECT jumps FROM logs").fetchone()[0] == store.count_jumps() == before + len(day.jumps)
    again = store.import_log(store_bench.DEVICE, day, None, "sync", log_id=log_id)
    assert again.new_jumps == 0 and again.new_sessions == 0 and again.total_jumps == before + len(day.jumps)
    assert isinstance(day, LogContents)


def test_exports_stream_and_parquet_holds_the_csvs_rows(year_db, tmp_path):
    import csv
    import io
    import json

    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from jumpclip import report
    from jumpclip.cli import main

    store = Store(year_db)
    n_sessions = store.count_sessions()
    # A chunk a session (and the document's head and tail): nothing waits for the whole database.
    assert len(list(report.export_json(store))) == n_sessions + 2
    assert len(json.loads("".join(report.export_json(store)))["sessions"]) == n_sessions
    text = "".join(report.export_csv(store))
    rows = list(csv.DictReader(io.StringIO(text)))
    res = CliRunner().invoke(main, ["export", "--db", str(year_db), "--parquet", "--out", str(tmp_path / "j.parquet")])
    assert res.exit_code == 0, res.output
    table = pq.read_table(tmp_path / "j.parquet").to_pylist()
    assert len(table) == len(rows) == 60 * 3 * 150
    for r, t in zip(rows[::997], table[::997]):
        assert r.keys() == t.keys()
        assert r["device"] == t["device"] and int(r["jump"]) == t["jump"] and float(r["peak_g"]) == t["peak_g"]
        assert float(r["t_s"]) == round(t["t_s"], 3) and r["time_utc"] == t["time_utc"]
    res = CliRunner().invoke(main, ["export", "--db", str(year_db), "--parquet"])
    assert res.exit_code == 1 and "--out" in res.output and "Traceback" not in res.output


def test_commands_opening_a_new_database_at_once_do_not_race_in_the_upgrade(tmp_path):
    # Two syncs of a charging station, or a sync and a report, on a database that does not
    # exist yet: each migration ran in its own deferred transaction, and the second command
    # failed with "table ... already exists" (3 of 10 trials in the issue).
    import threading

    failures = []

    def open_it(path, gate):
        gate.wait()
        try:
            Store(path).sessions()
        except Exception as e:  # noqa: BLE001 - every failure is what this test counts
            failures.append(repr(e))

    for trial in range(12):
        path = tmp_path / f"new{trial}.sqlite"
        gate = threading.Barrier(4)
        threads = [threading.Thread(target=open_it, args=(path, gate)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert Store(path).db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert failures == []


def test_messages_about_the_database_say_what_is_wrong(tmp_path):
    # A foreign file with a version number was "written by a newer jumpclip"; /dev/full was
    # a full disk to free space on; a disk that fails writing a new database said only
    # "disk I/O error".
    import os

    from jumpclip.store import StoreError

    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE photos (x)")
    db.execute("PRAGMA user_version = 42")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="another application's database"):
        Store(other)
    if os.path.exists("/dev/full"):
        with pytest.raises(StoreError, match="not a file a database can live in"):
            Store("/dev/full").sessions()
    store = Store(tmp_path / "ok.sqlite")
    text = store._explain(sqlite3.OperationalError("disk I/O error"))
    assert "disk is full, or it failed" in text and "nothing was lost" in text


def test_the_reports_days_hold_counts_not_landings(tmp_path):
    # A club's year report held every landing (a peak, a height and a force each) and every
    # qualifying one twice more (for the bouts): 439 MB for 12 clips, growing with the club.
    # The days now keep counts of what the log stores and the bouts are built as the
    # landings come in time order. What still grows with the club is per session (its row;
    # the four clips' sessions overlap in time and wait together), not per landing: four
    # times the landings take about 1.5 times the memory, where they took 3.9 times.
    import tracemalloc

    from jumpclip import loading

    peaks = []
    for clips in (1, 4):
        db = tmp_path / f"club{clips}.sqlite"
        n = store_bench.club(db, clips, days=40)
        tracemalloc.start()
        ds = loading.days(Store(db), n_days=40)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert sum(d.jumps for d in ds) == n  # every landing counted
    assert peaks[1] < 2.5 * peaks[0], peaks
