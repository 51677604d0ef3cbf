"""The desktop database: SQLite through the standard library.

Sessions and jumps are keyed by what the clip wrote (its log's random id, session id, record
sequence number), so importing the same records twice changes nothing: a sync that was cut
and repeated, a rescue of a log already synced, all count once. A clip (device id) may have
had several logs: one per erased or re-created flash, or restored image. Schema changes go through
MIGRATIONS and PRAGMA user_version.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .logread import LogContents
from .wearers import BEGINNING, DEFAULT, People, Timeline

EPOCH_2000 = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)  # the ESP32 port's time epoch

MIGRATIONS = [
    # 1: the first schema
    """
    CREATE TABLE devices (
        device_id   TEXT PRIMARY KEY,
        first_seen  TEXT NOT NULL,
        last_sync   TEXT,
        acked_seq   INTEGER NOT NULL DEFAULT -1
    );
    CREATE TABLE sessions (
        id               INTEGER PRIMARY KEY,
        device_id        TEXT NOT NULL REFERENCES devices(device_id),
        session_id       INTEGER NOT NULL,
        boot             INTEGER,
        start_seq        INTEGER,
        device_time      INTEGER,          -- device clock at start (s since 2000, or since power-on)
        rtc_set          INTEGER,
        wall_start       TEXT,             -- ISO 8601 UTC, NULL when it cannot be known
        wall_source      TEXT NOT NULL,    -- 'rtc', 'estimated' (sync time minus uptime) or 'unknown'
        config_hash      INTEGER,
        rate_hz          INTEGER,
        range_g          INTEGER,
        firmware         TEXT,
        end_seq          INTEGER,
        reported_jumps   INTEGER,          -- the clip's own count at session end
        duration_samples INTEGER,
        fifo_overflows   INTEGER,
        end_reason       INTEGER,
        unlogged_jumps   INTEGER,          -- counted while the flash was full (no details)
        qualifying       INTEGER,
        UNIQUE (device_id, session_id)
    );
    CREATE TABLE jumps (
        device_id   TEXT NOT NULL,
        session_id  INTEGER NOT NULL,
        seq         INTEGER NOT NULL,      -- the log record holding it
        idx         INTEGER NOT NULL,      -- its place in that record
        t_samples   INTEGER NOT NULL,
        air_samples INTEGER NOT NULL,
        peak_mg     INTEGER NOT NULL,
        PRIMARY KEY (device_id, seq, idx)
    );
    CREATE INDEX jumps_by_session ON jumps(device_id, session_id);
    CREATE TABLE notes (
        device_id TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        text      TEXT NOT NULL,
        PRIMARY KEY (device_id, seq)
    );
    CREATE TABLE syncs (
        id           INTEGER PRIMARY KEY,
        device_id    TEXT NOT NULL,
        at           TEXT NOT NULL,
        source       TEXT NOT NULL,
        records      INTEGER NOT NULL,
        bytes        INTEGER NOT NULL,
        new_sessions INTEGER NOT NULL,
        new_jumps    INTEGER NOT NULL
    );
    """,
    # 2: logs. A clip's log has its own random id (born with the log on the flash); what is
    # synced is keyed on it, so a re-created log is never merged with the one before it.
    # Logs synced before ids existed keep their device id as their log id.
    """
    CREATE TABLE logs (
        log_id      TEXT PRIMARY KEY,
        device_id   TEXT NOT NULL REFERENCES devices(device_id),
        first_seen  TEXT NOT NULL,
        last_sync   TEXT,
        acked_seq   INTEGER NOT NULL DEFAULT -1,
        origin      TEXT                  -- how this log began, when it followed another
    );
    INSERT INTO logs(log_id, device_id, first_seen, last_sync, acked_seq)
        SELECT device_id, device_id, first_seen, last_sync, acked_seq FROM devices;
    CREATE TABLE sessions2 (
        id               INTEGER PRIMARY KEY,
        log_id           TEXT NOT NULL REFERENCES logs(log_id),
        session_id       INTEGER NOT NULL,
        boot             INTEGER,
        start_seq        INTEGER,
        device_time      INTEGER,
        rtc_set          INTEGER,
        wall_start       TEXT,
        wall_source      TEXT NOT NULL,
        config_hash      INTEGER,
        rate_hz          INTEGER,
        range_g          INTEGER,
        firmware         TEXT,
        end_seq          INTEGER,
        reported_jumps   INTEGER,
        duration_samples INTEGER,
        fifo_overflows   INTEGER,
        end_reason       INTEGER,
        unlogged_jumps   INTEGER,
        qualifying       INTEGER,
        UNIQUE (log_id, session_id)
    );
    INSERT INTO sessions2 SELECT * FROM sessions;
    DROP TABLE sessions;
    ALTER TABLE sessions2 RENAME TO sessions;
    ALTER TABLE jumps RENAME COLUMN device_id TO log_id;
    ALTER TABLE notes RENAME COLUMN device_id TO log_id;
    ALTER TABLE syncs RENAME COLUMN device_id TO log_id
    """,
    # 3: what counted as a qualifying impact, and the daily target, when the session ran
    # (firmware 0.2 on; NULL before): the report uses the clip's own settings.
    """
    ALTER TABLE sessions ADD COLUMN qualify_mg INTEGER;
    ALTER TABLE sessions ADD COLUMN daily_target INTEGER
    """,
    # 4: each landing's 20 Hz filtered peak as the clip stored it (firmware 0.3 on: mg, bit 15
    # = clipped; NULL before or when not computed), and the user's settings (body mass).
    """
    ALTER TABLE jumps ADD COLUMN filtered INTEGER;
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
    # 5: a year of one wearer, a club of clips. A session's jumps in log order straight from
    # one index (SQLite had taken the primary key (log_id, seq, idx) to spare the sort, and
    # scanned the whole log for each session); airtime and peak in it too, so the sessions
    # table's per-session counts read the index alone. Each log keeps its jump count, so an
    # import need not count the log twice.
    """
    DROP INDEX jumps_by_session;
    CREATE INDEX jumps_by_session ON jumps(log_id, session_id, seq, idx, air_samples, peak_mg);
    CREATE INDEX sessions_by_start ON sessions(wall_start);
    ALTER TABLE logs ADD COLUMN jumps INTEGER NOT NULL DEFAULT 0;
    UPDATE logs SET jumps = (SELECT COUNT(*) FROM jumps j WHERE j.log_id = logs.log_id)
    """,
    # 6: wearers (wearers.py): a clip worn by a wearer from a moment on, and body mass per
    # wearer from a date on. The one body mass of before is the unnamed default wearer's,
    # from the beginning ('' sorts before every time).
    """
    CREATE TABLE wearers (
        name  TEXT PRIMARY KEY,
        added TEXT NOT NULL
    );
    CREATE TABLE clip_wearers (
        device_id TEXT NOT NULL,
        since     TEXT NOT NULL,           -- ISO 8601 UTC, as sessions.wall_start ('': the beginning)
        wearer    TEXT NOT NULL REFERENCES wearers(name),
        PRIMARY KEY (device_id, since)
    );
    CREATE TABLE body_masses (
        wearer TEXT NOT NULL,              -- '' the default wearer
        since  TEXT NOT NULL,
        kg     REAL NOT NULL,
        PRIMARY KEY (wearer, since)
    );
    INSERT INTO body_masses(wearer, since, kg) SELECT '', '', value FROM settings WHERE key = 'body_mass_kg';
    DELETE FROM settings WHERE key = 'body_mass_kg'
    """,
    # 7: bone-loading impacts from any movement (firmware 0.4 on, impacts.py): what the day's
    # target counted (1 landings, 2 impacts; NULL before 0.4: landings), each qualifying
    # impact, and each session's impacts per band (the newest BANDS record of the session).
    """
    ALTER TABLE sessions ADD COLUMN target_rule INTEGER;
    ALTER TABLE sessions ADD COLUMN bands_seq INTEGER;
    ALTER TABLE sessions ADD COLUMN band0 INTEGER;
    ALTER TABLE sessions ADD COLUMN band1 INTEGER;
    ALTER TABLE sessions ADD COLUMN band2 INTEGER;
    ALTER TABLE sessions ADD COLUMN band3 INTEGER;
    ALTER TABLE sessions ADD COLUMN band4 INTEGER;
    ALTER TABLE sessions ADD COLUMN impacts_qualifying INTEGER;
    CREATE TABLE impacts (
        log_id     TEXT NOT NULL,
        session_id INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        idx        INTEGER NOT NULL,
        t_samples  INTEGER NOT NULL,
        peak_mg    INTEGER NOT NULL,
        PRIMARY KEY (log_id, seq, idx)
    );
    CREATE INDEX impacts_by_session ON impacts(log_id, session_id, seq, idx, t_samples, peak_mg)
    """,
]


class StoreError(Exception):
    """The database cannot be used; str() is one line saying what to do."""


@dataclass
class ImportResult:
    new_sessions: int
    new_jumps: int
    total_jumps: int  # in the database, for this log
    new_notes: list[str] = field(default_factory=list)  # what the clip reported since the last sync
    orphans: int = 0  # sessions with records but no START here or before (a partial rescue, or forged)


@dataclass
class DeviceClock:
    """What the device said about its clock at sync time."""

    now: int  # time.time() on the device
    rtc_set: bool
    boot: int
    host_time: dt.datetime  # when it said it (UTC)


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), isolation_level=None)
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise StoreError(self._explain(e)) from None
        except OSError as e:
            raise StoreError(f"cannot open database {self.path}: {e.strerror}; choose another with --db") from None

    def _explain(self, e: Exception) -> str:
        msg = str(e)
        if "readonly" in msg or "read-only" in msg:
            return f"database {self.path} is read-only: make it writable or choose another with --db"
        if "not a database" in msg or "malformed" in msg:
            return f"database {self.path} is damaged or not a jumpclip database: move it aside or choose another with --db"
        if "full" in msg or "disk I/O" in msg:
            if not self.path.is_file() and self.path.exists():  # /dev/full, a device or a pipe
                return f"{self.path} is not a file a database can live in: name a file with --db"
            return (f"no room to write database {self.path} (the disk is full, or it failed): free some space and "
                    f"run the command again; nothing was lost")
        if "locked" in msg:
            return f"database {self.path} is locked by another program writing to it: close it and sync again"
        if "unable to open" in msg:
            return f"cannot open database {self.path}: check the folder exists and is writable, or use --db"
        return f"database {self.path}: {msg}"

    def _tables_missing(self, version: int) -> set[str]:
        """The tables jumpclip's schema `version` has that this file lacks: a foreign file
        can carry a user_version too (another application's database), and must never be
        written to or read as ours."""
        want: set[str] = set()
        for sql in MIGRATIONS[:version]:  # the tables each step creates, drops and renames, in order
            for m in re.finditer(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)|DROP TABLE (\w+)|ALTER TABLE (\w+) RENAME TO (\w+)", sql):
                made, dropped, old, new = m.groups()
                if made:
                    want.add(made)
                want.discard(dropped or old or "")
                if new:
                    want.add(new)
        have = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return want - have

    def _migrate(self) -> None:
        if self.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS):
            if self._tables_missing(len(MIGRATIONS)):
                raise StoreError(f"{self.path} is another application's database, not jumpclip's: name another file with --db")
            return  # the usual case: nothing to lock
        # One exclusive transaction for the whole upgrade, the version read inside it: a
        # second command opening the same new database waits (the connection's 5 s busy
        # timeout) and then finds it done, instead of racing into "table already exists".
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and self.db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                # Tables, but not ours: another application's database. Never add to it.
                raise StoreError(f"{self.path} is another application's database, not jumpclip's: name another file with --db")
            if 0 < version <= len(MIGRATIONS) and self._tables_missing(version):
                raise StoreError(f"{self.path} is another application's database, not jumpclip's: name another file with --db")
            if version > len(MIGRATIONS):
                tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if not {"logs", "sessions", "jumps"} <= tables:  # a version number, but not our tables
                    raise StoreError(f"{self.path} is another application's database, not jumpclip's: name another file with --db")
                raise StoreError(f"database {self.path} was written by a newer jumpclip (schema {version}); upgrade jumpclip")
            for i in range(version, len(MIGRATIONS)):
                for stmt in MIGRATIONS[i].split(";"):
                    if stmt.strip():
                        self.db.execute(stmt)
                self.db.execute(f"PRAGMA user_version = {i + 1}")
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already (a full disk)
                self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()

    # --- import ---
    def log_for(self, device_id: str, log_id: str) -> sqlite3.Row | None:
        self.db.row_factory = sqlite3.Row
        row = self.db.execute("SELECT * FROM logs WHERE log_id=?", (log_id or device_id,)).fetchone()
        self.db.row_factory = None
        return row

    def logs_of(self, device_id: str) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        rows = self.db.execute("SELECT * FROM logs WHERE device_id=? ORDER BY first_seen, rowid", (device_id,)).fetchall()
        self.db.row_factory = None
        return rows

    def import_log(self, device_id: str, log: LogContents, clock: DeviceClock | None, source: str,
                   log_id: str = "", origin: str | None = None, acked: int = -1) -> ImportResult:
        """Insert everything new from a parsed log in one transaction. log_id "" is a log
        from firmware older than log ids: its device id stands for it."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                result = self._import(device_id, log_id or device_id, log, clock, source, now, origin, acked)
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:  # SQLite may have rolled back already (a full disk)
                    self.db.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as e:
            raise StoreError(self._explain(e)) from None
        return result

    def _import(self, device_id: str, log_id: str, log: LogContents, clock: DeviceClock | None, source: str, now: str,
                origin: str | None, acked: int) -> ImportResult:
        db = self.db
        db.execute("INSERT OR IGNORE INTO devices(device_id, first_seen) VALUES (?, ?)", (device_id, now))
        db.execute("INSERT OR IGNORE INTO logs(log_id, device_id, first_seen, origin, acked_seq) VALUES (?, ?, ?, ?, ?)",
                   (log_id, device_id, now, origin, acked))
        # Everything here is in the size of what came, not of the database: a day's sync
        # takes the same time in the first week and the third year (make bench).
        new_sessions = 0
        orphans = 0
        for s in log.starts:
            wall, how = resolve_wall_time(s.rtc_epoch, s.rtc_set, s.boot, clock)
            new_sessions += db.execute(
                "INSERT INTO sessions(log_id, session_id, boot, start_seq, device_time, rtc_set, wall_start,"
                " wall_source, config_hash, rate_hz, range_g, firmware, qualify_mg, daily_target, target_rule)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(log_id, session_id) DO UPDATE SET"
                " boot=excluded.boot, start_seq=excluded.start_seq, device_time=excluded.device_time,"
                " rtc_set=excluded.rtc_set, wall_start=excluded.wall_start, wall_source=excluded.wall_source,"
                " config_hash=excluded.config_hash, rate_hz=excluded.rate_hz, range_g=excluded.range_g,"
                " firmware=excluded.firmware, qualify_mg=excluded.qualify_mg, daily_target=excluded.daily_target,"
                " target_rule=excluded.target_rule WHERE sessions.start_seq IS NULL",
                (log_id, s.session_id, s.boot, s.seq, s.rtc_epoch, int(s.rtc_set), wall, how, s.config_hash, s.rate_hz, s.range_g,
                 s.firmware, s.qualify_mg, s.daily_target, s.target_rule or None),
            ).rowcount  # 1: a new session, or one whose start only now arrived
        home: dict[int, str] = {}  # the log each session's records belong to
        started = {s.session_id for s in log.starts}
        for sid in sorted({j.session_id for j in log.jumps} | {e.session_id for e in log.ends}
                          | {i.session_id for i in log.impacts} | {b.session_id for b in log.bands}):
            home[sid] = log_id
            if sid in started or db.execute("SELECT 1 FROM sessions WHERE log_id=? AND session_id=?", (log_id, sid)).fetchone():
                continue
            # A session the clip held open when its log's identity was lost (log/id and the
            # checkpoint damaged: a new log id) goes on in the new log: its START is here
            # under the previous log, still open, and its later records close it there.
            prev = db.execute(
                "SELECT s.log_id FROM sessions s JOIN logs l ON l.log_id = s.log_id WHERE l.device_id=? AND s.session_id=?"
                " AND s.log_id != ? AND s.end_seq IS NULL AND s.start_seq IS NOT NULL ORDER BY l.first_seen DESC, l.rowid DESC"
                " LIMIT 1", (device_id, sid, log_id)).fetchone()
            if prev is not None:
                home[sid] = prev[0]
                continue
            # A session whose start record is gone (a partial rescue): keep the jumps anyway,
            # and say so (a forged record can name a session that never started).
            orphans += db.execute("INSERT OR IGNORE INTO sessions(log_id, session_id, wall_source) VALUES (?, ?, 'unknown')",
                                  (log_id, sid)).rowcount
        added = 0
        for home_log in sorted(set(home.values()) | {log_id}):
            n = db.executemany(
                "INSERT OR IGNORE INTO jumps(log_id, session_id, seq, idx, t_samples, air_samples, peak_mg, filtered) VALUES (?,?,?,?,?,?,?,?)",
                [(home_log, j.session_id, j.seq, j.index, j.t_samples, j.air_samples, j.peak_mg, j.filtered or None)
                 for j in log.jumps if home[j.session_id] == home_log],
            ).rowcount
            db.execute("UPDATE logs SET jumps = jumps + ? WHERE log_id=?", (n, home_log))
            added += n
        db.executemany(
            "INSERT OR IGNORE INTO impacts(log_id, session_id, seq, idx, t_samples, peak_mg) VALUES (?,?,?,?,?,?)",
            [(home[i.session_id], i.session_id, i.seq, i.index, i.t_samples, i.peak_mg) for i in log.impacts],
        )
        for b in log.bands:  # the newest of a session's BANDS records holds its counts
            db.execute(
                "UPDATE sessions SET bands_seq=?, band0=?, band1=?, band2=?, band3=?, band4=?, impacts_qualifying=?"
                " WHERE log_id=? AND session_id=? AND (bands_seq IS NULL OR bands_seq < ?)",
                (b.seq, *b.bands, b.qualifying, home[b.session_id], b.session_id, b.seq),
            )
        total = db.execute("SELECT jumps FROM logs WHERE log_id=?", (log_id,)).fetchone()[0]
        for e in log.ends:
            db.execute(
                "UPDATE sessions SET end_seq=?, reported_jumps=?, duration_samples=?, fifo_overflows=?, end_reason=?,"
                " unlogged_jumps=?, qualifying=? WHERE log_id=? AND session_id=? AND (end_seq IS NULL OR end_seq < ?)",
                (e.seq, e.jumps, e.duration_samples, e.fifo_overflows, e.reason, e.unlogged, e.qualifying, home[e.session_id],
                 e.session_id, e.seq),
            )
        new_notes = []
        for n in log.notes:
            if db.execute("INSERT OR IGNORE INTO notes(log_id, seq, text) VALUES (?,?,?)", (log_id, n.seq, n.text)).rowcount:
                new_notes.append(n.text)
        db.execute("UPDATE devices SET last_sync=? WHERE device_id=?", (now, device_id))
        db.execute("UPDATE logs SET last_sync=? WHERE log_id=?", (now, log_id))
        db.execute(
            "INSERT INTO syncs(log_id, at, source, records, bytes, new_sessions, new_jumps) VALUES (?,?,?,?,?,?,?)",
            (log_id, now, source, log.records, log.bytes, new_sessions, added),
        )
        return ImportResult(new_sessions, added, total, new_notes, orphans)

    def divergence(self, log_id: str, log: LogContents) -> int:
        """The first record of log that the database does not hold, identically, under
        log_id (the records before it repeat that log, as a restored flash image repeats
        the log it was copied from); log.last_seq + 1 if there is none."""
        db = self.db
        jumps = set(db.execute("SELECT seq, idx, t_samples, air_samples, peak_mg FROM jumps WHERE log_id=?", (log_id,)))
        starts = set(db.execute("SELECT start_seq, session_id FROM sessions WHERE log_id=? AND start_seq IS NOT NULL", (log_id,)))
        ends = set(db.execute("SELECT end_seq, session_id, reported_jumps FROM sessions WHERE log_id=? AND end_seq IS NOT NULL", (log_id,)))
        notes = set(db.execute("SELECT seq, text FROM notes WHERE log_id=?", (log_id,)))
        first = [j.seq for j in log.jumps if (j.seq, j.index, j.t_samples, j.air_samples, j.peak_mg) not in jumps]
        first += [r.seq for r in log.starts if (r.seq, r.session_id) not in starts]
        first += [r.seq for r in log.ends if (r.seq, r.session_id, r.jumps) not in ends]
        first += [r.seq for r in log.notes if (r.seq, r.text) not in notes]
        d = min(first) if first else log.last_seq + 1
        # Only landings are evidence: a session start or a note can be the same on two
        # clips (same config, clock not set), a landing's sample index, airtime and peak
        # cannot. Without a repeated landing nothing is taken for a repeat.
        if not any(j.seq < d for j in log.jumps):
            return min([r.seq for r in log.starts + log.ends + log.notes + log.jumps] or [d])
        return d

    def acked_seq(self, log_id: str) -> int:
        row = self.db.execute("SELECT acked_seq FROM logs WHERE log_id=?", (log_id,)).fetchone()
        return row[0] if row else -1

    def set_acked(self, log_id: str, seq: int) -> None:
        try:
            self.db.execute("UPDATE logs SET acked_seq=MAX(acked_seq, ?) WHERE log_id=?", (seq, log_id))
        except sqlite3.DatabaseError as e:
            raise StoreError(self._explain(e)) from None

    # --- queries ---
    def sessions(self, device_id: str | None = None, since: dt.datetime | None = None, newest: int | None = None,
                 with_jumps: bool = False, devices: list[str] | None = None) -> list[sqlite3.Row]:
        """Every session with its jump count, best airtime and peak (read from the index
        jumps_by_session alone); since: only those that started then or later, or whose start
        is unknown; with_jumps: only those with jumps; newest: only the last N synced."""
        self.db.row_factory = sqlite3.Row
        q = (
            "SELECT s.*, l.device_id AS device_id,"
            " (SELECT COUNT(*) FROM jumps j WHERE j.log_id=s.log_id AND j.session_id=s.session_id) AS jumps,"
            " (SELECT MAX(peak_mg) FROM jumps j WHERE j.log_id=s.log_id AND j.session_id=s.session_id) AS max_peak_mg,"
            " (SELECT MAX(air_samples) FROM jumps j WHERE j.log_id=s.log_id AND j.session_id=s.session_id) AS best_air"
            " FROM sessions s JOIN logs l ON l.log_id = s.log_id"
        )
        where, args = [], []
        if device_id:
            where.append("l.device_id=?")
            args.append(device_id)
        if devices is not None:  # one wearer's clips: the rest of a club's database is not read
            where.append(f"l.device_id IN ({','.join('?' * len(devices))})" if devices else "0")
            args.extend(devices)
        if since is not None:  # wall_start is ISO 8601 in UTC, as resolve_wall_time writes it: it sorts as text
            where.append("(s.wall_start IS NULL OR s.wall_start >= ?)")
            args.append(since.astimezone(dt.timezone.utc).isoformat(timespec="seconds"))
        if with_jumps:
            where.append("EXISTS (SELECT 1 FROM jumps j WHERE j.log_id=s.log_id AND j.session_id=s.session_id)")
        if where:
            q += " WHERE " + " AND ".join(where)
        order = " ORDER BY l.device_id, l.first_seen, l.rowid, s.boot, s.session_id"
        if newest is not None:  # the last synced (row ids grow with each import), then in the usual order
            q = f"SELECT * FROM ({q} ORDER BY s.id DESC LIMIT {int(newest)}) s JOIN logs l ON l.log_id = s.log_id"
            order = " ORDER BY s.device_id, l.first_seen, l.rowid, s.boot, s.session_id"
        rows = self.db.execute(q + order, args).fetchall()
        self.db.row_factory = None
        return rows

    def session(self, row_id: int) -> sqlite3.Row | None:
        self.db.row_factory = sqlite3.Row
        row = self.db.execute(
            "SELECT s.*, l.device_id AS device_id FROM sessions s JOIN logs l ON l.log_id = s.log_id WHERE s.id=?", (row_id,)
        ).fetchone()
        self.db.row_factory = None
        return row

    def jumps(self, log_id: str, session_id: int) -> list[tuple[int, int, int, int | None]]:
        """(t, air, peak mg, filtered peak as stored or None) of a session's jumps."""
        return self.db.execute(
            "SELECT t_samples, air_samples, peak_mg, filtered FROM jumps WHERE log_id=? AND session_id=? ORDER BY seq, idx",
            (log_id, session_id),
        ).fetchall()

    def impacts(self, log_id: str, session_id: int) -> list[tuple[int, int]]:
        """(t, peak mg) of a session's qualifying impacts from any movement (firmware 0.4 on)."""
        return self.db.execute(
            "SELECT t_samples, peak_mg FROM impacts WHERE log_id=? AND session_id=? ORDER BY seq, idx", (log_id, session_id)
        ).fetchall()

    # --- the user's settings ---
    def setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str | None) -> None:
        with self.db:
            if value is None:
                self.db.execute("DELETE FROM settings WHERE key=?", (key,))
            else:
                self.db.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", (key, value))

    # --- wearers (the rule is wearers.py's) ---
    def people(self) -> People:
        """Wearers, who wore which clip when, and body masses, read once."""
        p = People(names=[r[0] for r in self.db.execute("SELECT name FROM wearers ORDER BY name")])
        for device, since, who in self.db.execute("SELECT device_id, since, wearer FROM clip_wearers ORDER BY device_id, since"):
            p.clips.setdefault(device, Timeline()).add(since, who)
        for who, since, kg in self.db.execute("SELECT wearer, since, kg FROM body_masses ORDER BY wearer, since"):
            try:
                kg = float(kg)  # a value stored as text by hand, 'nan' among them, reads as unset
            except (TypeError, ValueError):
                kg = math.nan
            p.masses.setdefault(who, Timeline()).add(since, kg)
        return p

    def body_mass(self, wearer: str = DEFAULT) -> float | None:
        """The wearer's body mass in kg now (`jumpclip body-mass`), or None when not set."""
        return self.people().latest_mass(wearer)

    def add_wearer(self, name: str) -> bool:
        """False if there was one of that name already."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self.db:
            return self.db.execute("INSERT OR IGNORE INTO wearers(name, added) VALUES (?, ?)", (name, now)).rowcount == 1

    def assign(self, device_id: str, wearer: str, since: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO clip_wearers(device_id, since, wearer) VALUES (?, ?, ?)", (device_id, since, wearer))

    def set_body_mass(self, kg: float | None, wearer: str = DEFAULT, since: str = BEGINNING) -> None:
        """kg from `since` on; None forgets every mass of the wearer."""
        with self.db:
            if kg is None:
                self.db.execute("DELETE FROM body_masses WHERE wearer=?", (wearer,))
            else:
                self.db.execute("INSERT OR REPLACE INTO body_masses(wearer, since, kg) VALUES (?, ?, ?)", (wearer, since, kg))

    def devices(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT device_id FROM devices ORDER BY device_id")]

    def notes(self, limit: int = 20) -> list[tuple[str, str, int, str]]:
        """The newest notes the clips wrote: (device id, log id, record number, text)."""
        return self.db.execute(
            "SELECT l.device_id, n.log_id, n.seq, n.text FROM notes n JOIN logs l ON l.log_id = n.log_id"
            " ORDER BY l.first_seen DESC, l.rowid DESC, n.seq DESC LIMIT ?", (limit,)
        ).fetchall()[::-1]

    def count_sessions(self, with_jumps: bool = False) -> int:
        q = "SELECT COUNT(*) FROM sessions s"
        if with_jumps:
            q += " WHERE EXISTS (SELECT 1 FROM jumps j WHERE j.log_id=s.log_id AND j.session_id=s.session_id)"
        return self.db.execute(q).fetchone()[0]

    def count_jumps(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM jumps").fetchone()[0]


def resolve_wall_time(device_time: int, rtc_set: bool, boot: int, clock: DeviceClock | None) -> tuple[str | None, str]:
    """Wall-clock start of a session: from the RTC stamp when the RTC was set at a sync, else
    the sync time minus how long ago (on the device's clock) the session started, which holds
    only within the same boot."""
    if rtc_set and device_time:
        return (EPOCH_2000 + dt.timedelta(seconds=device_time)).isoformat(timespec="seconds"), "rtc"
    if clock is not None and clock.boot == boot and clock.now >= device_time:
        start = clock.host_time - dt.timedelta(seconds=clock.now - device_time)
        return start.isoformat(timespec="seconds"), "estimated"
    return None, "unknown"
