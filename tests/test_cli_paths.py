"""Where the commands write: folders are created, inputs are never overwritten, a foreign
database is never adopted, read-only commands create nothing, and every refusal is one line."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from conftest import DATA
from jumpclip import demodb
from jumpclip.cli import main


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "db.sqlite"
    demodb.build(db, n_days=2)
    return db


@pytest.fixture
def db(built, tmp_path):
    path = tmp_path / "db.sqlite"
    shutil.copy(built, path)
    return path


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_error(res, *words):
    assert res.exit_code != 0, res.output
    text = res.output.strip()
    assert len(text.splitlines()) == 1 and "Traceback" not in text, text
    for w in words:
        assert w in text, text


def test_outputs_go_into_new_folders(tmp_path, db):
    res = run("export", "--db", db, "--out", tmp_path / "a" / "b" / "jumps.csv")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "a" / "b" / "jumps.csv").read_text().startswith("device")
    res = run("report", "--db", db, "--days", 3, "--html", tmp_path / "c" / "r.html", "--png", tmp_path / "d" / "r.png")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c" / "r.html").exists() and (tmp_path / "d" / "r.png").exists()


def test_an_output_that_is_an_input_is_refused(tmp_path, db):
    before = digest(db)
    one_line_error(run("export", "--db", db, "--out", db), "also an input")
    one_line_error(run("report", "--db", db, "--html", db), "also an input")
    one_line_error(run("report", "--db", db, "--png", db), "also an input")
    assert digest(db) == before
    trace = tmp_path / "t.csv"
    shutil.copy(DATA / "cmj_s1.csv", trace)
    before = digest(trace)
    one_line_error(run("tune", trace, "--out", trace), "also an input")
    assert digest(trace) == before


def test_a_foreign_database_is_not_adopted(tmp_path):
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE contacts (name TEXT)")
    con.commit()
    con.close()
    before = digest(other)
    for cmd in (["sessions"], ["report"], ["export"]):
        one_line_error(run(*cmd, "--db", other), "another application")
    assert digest(other) == before


def test_read_only_commands_create_no_database(tmp_path):
    db = tmp_path / "none.sqlite"
    res = run("sessions", "--db", db)
    assert res.exit_code == 0 and "no sessions yet" in res.output
    one_line_error(run("show", 1, "--db", db), "no database")
    one_line_error(run("export", "--db", db), "no database")
    one_line_error(run("report", "--db", db), "no database")
    assert not db.exists()


def test_absurd_arguments_are_one_line(tmp_path, db):
    one_line_error(run("show", "99999999999999999999", "--db", db))
    one_line_error(run("replay", DATA / "cmj_s1.csv", "--tolerance-ms", -100))


def test_a_damaged_database_is_one_line(tmp_path, db):
    data = bytearray(db.read_bytes())
    for i in range(4096, len(data), 7):  # every page after the first: the schema survives
        data[i] ^= 0x5A
    db.write_bytes(bytes(data))
    for cmd in (["sessions"], ["export"], ["report"]):
        one_line_error(run(*cmd, "--db", db), "damaged")


def test_export_numbers_sessions_as_sessions_and_show_do(db):
    import csv
    import io
    import json

    rows = list(csv.DictReader(io.StringIO(run("export", "--db", db).output)))
    assert rows and all(int(r["session"]) < 1000 for r in rows)  # the #N of `sessions`, not the clip's 1025...
    assert all(int(r["clip_session_id"]) >= 1024 for r in rows)
    first = rows[0]["session"]
    assert f"session #{first}" in run("show", first, "--db", db).output
    doc = json.loads(run("export", "--json", "--db", db).output)
    assert {s["session"] for s in doc["sessions"]} == {int(r["session"]) for r in rows}


def test_a_glob_that_names_events_files_replays_only_the_traces(tmp_path):
    import json

    names = [DATA / "cmj_s1.csv", DATA / "cmj_s1.events.csv", DATA / "car_ride_s1.csv", DATA / "car_ride_s1.events.csv"]
    res = run("replay", *names, "--json")
    doc = json.loads(res.stdout)
    assert res.exit_code == 0 and [f["path"].split("/")[-1] for f in doc["files"]] == ["cmj_s1.csv", "car_ride_s1.csv"]
    one_line_error(run("replay", DATA / "cmj_s1.events.csv"), "ground-truth files")
    unlabelled = tmp_path / "u.csv"
    unlabelled.write_text("t_s,ax_g,ay_g,az_g\n" + "\n".join(f"{k / 200},0,0,1" for k in range(400)))
    doc = json.loads(run("replay", unlabelled, "--json").stdout)
    assert doc["summary"]["with_truth"]["f1"] is None  # nothing scored: no F1 of 1.0


def test_tune_speaks_plain_numbers_and_warns_when_nothing_can_be_held_out(tmp_path):
    res = run("tune", DATA / "cmj_s1.csv", "--grid", "min_flight_ms=150:170:10", "--out", tmp_path / "c.json")
    assert res.exit_code == 0, res.output
    assert "nothing can be held out" in res.output and "no validation score" in res.output
    assert "validation F1" not in res.output and "deploy --config" in res.output
    bad = run("tune", DATA / "cmj_s1.csv", "--grid", "impact_g=1.0:99:0.5", "--out", tmp_path / "d.json")
    one_line_error(bad)
    assert "np.float64" not in bad.output
    cfg = tmp_path / "inf.json"
    cfg.write_text('{"refractory_ms": Infinity}')
    one_line_error(run("tune", DATA / "cmj_s1.csv", "--config", cfg, "--out", tmp_path / "e.json"), "refractory_ms=inf")
    one_line_error(run("config", "set", "refractory_ms", "Infinity", "--port", "/dev/null"), "refractory_ms=inf not allowed")


def test_an_unwritable_output_is_one_line(tmp_path, db):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    one_line_error(run("export", "--db", db, "--out", blocker / "sub" / "x.csv"), "cannot create the folder")
    one_line_error(run("report", "--db", db, "--html", blocker / "r.html"), "cannot create the folder")
    one_line_error(run("replay", DATA / "cmj_s1.csv", "--plot", blocker / "plots"))


def test_a_failed_first_sync_leaves_no_database(tmp_path):
    db = tmp_path / "new.sqlite"
    one_line_error(run("sync", "--port", "/dev/no-such-clip", "--db", db), "no device")
    assert not db.exists()


def test_a_trace_too_large_for_memory_is_one_line(tmp_path, monkeypatch):
    # `jumpclip sim` on a 1.2 GB trace under a 4 GB address limit raised numpy's
    # _ArrayMemoryError; any command that runs out of memory now says it in one line.
    import jumpclip.sim.board as board

    def too_big(self, trace):
        raise MemoryError("Unable to allocate 14.4 GiB for an array")

    monkeypatch.setattr(board.VirtualBoard, "load_trace", too_big)
    res = CliRunner().invoke(main, ["sim", "--trace", str(DATA / "cmj_s1.csv"), "--workdir", str(tmp_path / "w")])
    assert res.exit_code == 1 and "not enough memory" in res.output and "Traceback" not in res.output
