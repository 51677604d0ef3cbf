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
