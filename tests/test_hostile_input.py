"""What a user (or a forged file) hands the desktop: each answered in one line, no traceback,
nothing half done, nothing printed raw (issue 34, items 10 to 12)."""

from __future__ import annotations

import builtins
import sqlite3

import pytest
from click.testing import CliRunner

from jumpclip import launch
from jumpclip.cli import main as cli
from jumpclip.logread import LogContents, Note
from jumpclip.store import Store, StoreError
from jumpclip.text import visible


def run(*args: str, env: dict | None = None):
    res = CliRunner().invoke(cli, list(args), env=env)
    assert "Traceback" not in res.output and not isinstance(res.exception, (AssertionError, TypeError, ValueError)), res.output
    return res


@pytest.mark.parametrize("version", range(1, 8))
def test_a_foreign_database_with_a_version_number_is_refused(tmp_path, version):
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE things (x)")
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="another application's database"):
        Store(path)
    res = run("sessions", "--db", str(path))
    assert res.exit_code != 0 and "another application's database" in res.output
    assert [r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")] == ["things"]  # untouched


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "-1", "0", "601"])
def test_a_bad_timeout_setting_is_said_not_replaced(tmp_path, value):
    res = run("sessions", "--db", str(tmp_path / "x.sqlite"), env={"JUMPCLIP_TIMEOUT_S": value})
    assert res.exit_code != 0
    assert "JUMPCLIP_TIMEOUT_S" in res.output and "0.5 to 600" in res.output
    assert len(res.output.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["Ann\x1b[2J", "Bo\nb", "A\u202eB", "Zero\u200bW", "(nobody named)", "(NOBODY NAMED)"])
def test_a_name_with_hidden_characters_or_the_reserved_label_is_refused(tmp_path, name):
    db = str(tmp_path / "w.sqlite")
    res = run("wearer", "add", name, "--db", db)
    assert res.exit_code != 0
    assert "is not a wearer's name" in res.output or "how tables show sessions of nobody named" in res.output
    assert "\x1b" not in res.output and "\u202e" not in res.output and "\u200b" not in res.output


def test_a_clips_note_is_shown_with_its_hidden_characters_escaped(tmp_path):
    db = tmp_path / "n.sqlite"
    store = Store(db)
    log = LogContents(notes=[Note(1, "sensor lost\x1b[2J\nFAKE ROW \u202eevil [bold]x[/]")])
    store.import_log("a4cf12345678", log, None, "rescue", log_id="abc")
    store.close()
    res = run("notes", "--db", str(db))
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and "\u202e" not in res.output
    assert "\\x1b[2J\\x0aFAKE ROW \\u202eevil [bold]x[/]" in res.output  # one line, written out, no markup applied


def test_two_output_formats_at_once_are_refused(tmp_path):
    db = tmp_path / "e.sqlite"
    Store(db).close()
    for pair in (("--bands", "--json"), ("--csv", "--json")):
        res = run("export", *pair, "--db", str(db))
        assert res.exit_code != 0 and "one format at a time" in res.output


def test_an_export_into_a_system_folder_says_so(tmp_path):
    db = tmp_path / "e.sqlite"
    Store(db).close()
    res = run("export", "--out", "/proc/version", "--db", str(db))
    assert res.exit_code != 0 and "system folder" in res.output and "No such file" not in res.output


def test_a_day_a_clip_cannot_have_counted_on_is_refused(tmp_path):
    db = str(tmp_path / "w.sqlite")
    run("wearer", "add", "Ann", "--db", db)
    res = run("wearer", "assign", "Ann", "345678", "--from", "0001-01-01", "--db", db)
    assert res.exit_code == 2 and "0001-01-01 is not a day a clip counted on" in res.output


def test_ctrl_c_while_the_command_loads_is_one_line(monkeypatch, capsys):
    real = builtins.__import__

    def interrupted(name, *args, **kw):
        if name == "cli" or name.endswith(".cli"):
            raise KeyboardInterrupt
        return real(name, *args, **kw)

    import sys

    monkeypatch.delitem(sys.modules, "jumpclip.cli")
    monkeypatch.setattr(builtins, "__import__", interrupted)
    with pytest.raises(SystemExit) as ex:
        launch.main()
    assert ex.value.code == 130
    err = capsys.readouterr().err
    assert err.strip().startswith("jumpclip: interrupted") and len(err.strip().splitlines()) == 1


def test_visible_writes_hidden_characters_out():
    assert visible("plain text, ü and 日本") == "plain text, ü and 日本"
    assert visible("a\tb\u2028c\ud800") == "a\\x09b\\u2028c\\ud800"


def test_a_wearer_with_a_clip_that_cannot_be_found_is_not_half_added(tmp_path):
    # Issue 36: `wearer add Bob --clip 77b204` added Bob, then failed on the clip (exit 1,
    # half done). Both or neither; and the message says what to give before a first sync.
    db = str(tmp_path / "w.sqlite")
    res = run("wearer", "add", "Bob", "--clip", "77b204", "--db", db)
    assert res.exit_code == 1 and "12-digit id" in res.output and "added Bob" not in res.output
    assert "Bob" not in run("wearer", "list", "--db", db).output
    res = run("wearer", "add", "Bob", "--clip", "a4cf1277b204", "--db", db)
    assert res.exit_code == 0 and "added Bob" in res.output and "a4cf1277b204" in res.output


def test_replay_of_a_missing_file_says_so_without_an_empty_table(tmp_path):
    res = run("replay", str(tmp_path / "nothing.csv"))
    assert res.exit_code == 1 and "no such file" in res.output and "┏" not in res.output


def test_sim_plays_the_bundled_session_without_trace_and_says_when_its_trace_ends(tmp_path):
    # Issue 36: after `pipx install`, `jumpclip sim --trace host_tools/...` failed outside the
    # checkout; the sim said nothing while its trace played, nor why it exited.
    import signal
    import subprocess
    import sys
    import time

    def start(*args):
        return subprocess.Popen([sys.executable, "-m", "jumpclip.cli", "sim", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, cwd=tmp_path)

    def read_until(proc, text, timeout):
        seen, end = [], time.monotonic() + timeout
        while time.monotonic() < end:
            line = proc.stdout.readline()
            seen.append(line)
            if text in line:
                return "".join(seen)
        raise AssertionError("".join(seen))

    p = start()
    try:
        read_until(p, "bundled demo session", 60)
        read_until(p, "virtual board on", 60)
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=60)
    from conftest import DATA

    p = start("--trace", str(DATA / "stomping_s1.csv"))
    try:
        read_until(p, "the trace ended", 120)
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=60)


def test_a_bogus_micropy_src_is_named_not_called_unset(tmp_path, monkeypatch):
    # Issue 34, item 11: MICROPY_SRC pointing at no MicroPython tree said "not set".
    from bench import heap_bench

    monkeypatch.setenv("MICROPY_SRC", str(tmp_path))
    assert heap_bench.source() is None
    why = heap_bench.why_no_source()
    assert str(tmp_path) in why and "no MicroPython source tree" in why and "not set" not in why
    monkeypatch.delenv("MICROPY_SRC")
    assert "MICROPY_SRC is not set" in heap_bench.why_no_source()
