"""Read the clip's flash log (segment files under log/): verify every record's CRC, skip
damage with a report of what was lost and where, and keep every valid record after it.

The record format is firmware/logformat.py (and docs/log-format.md); this module imports it
rather than restating it. Reading never raises on bad data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .fw import config as fwconfig
from .fw import detector
from .fw import impacts as impacts_fw
from .fw import logformat as lf

G_MG = 1000.0
# What no clip writes (a record beyond these is forged or damaged, whatever its CRC says):
MAX_AIR_SAMPLES = 2000  # 2 s of flight at the highest rate (a 4.9 m jump); 10 s at 200 Hz
MAX_PEAK_MG = 27800  # the resultant of three axes at +-16 g, the sensor's widest range
MAX_T_SAMPLES = 2 * detector.MAX_INDEX  # the firmware rolls a session over at MAX_INDEX (and a batch)
MAX_SESSION_JUMPS = 1 << 24  # a landing every 40 ms for a week
RATES = set(fwconfig.SCHEMA["rate_hz"][2])  # what the firmware can write in a START
RANGES = set(fwconfig.SCHEMA["range_g"][2])
MIN_LANDING_MG = 1000  # below the lowest impact_g (1.1 g), with the peak's rounding
MIN_QUALIFY_MG = int(fwconfig.SCHEMA["qualify_g"][2][0] * 1000) - 1  # the lowest qualify_g, 1.5 g
FIFO_SAMPLES = 170  # the MPU6050's FIFO: what one overflow loses at least


@dataclass(frozen=True)
class SessionStart:
    seq: int
    session_id: int
    boot: int
    device_id: str
    rtc_epoch: int  # seconds since 2000-01-01 (the ESP32 epoch); 0 when unset
    rtc_set: bool
    config_hash: int
    rate_hz: int
    range_g: int
    firmware: str
    qualify_mg: int | None = None  # the clip's qualifying-impact threshold (firmware 0.2 on)
    daily_target: int | None = None
    target_rule: int = 0  # what the target counted: logformat.TARGET_IMPACTS or TARGET_LANDINGS; 0 before 0.4 (landings)


@dataclass(frozen=True)
class Jump:
    seq: int  # of the JUMPS record holding it
    session_id: int
    index: int  # position in its record (with seq, unique)
    t_samples: int  # from session start
    air_samples: int
    peak_mg: int
    filtered: int = 0  # 20 Hz filtered peak, mg, with bit 15 = clipped (impact.py); 0: none


@dataclass(frozen=True)
class Impact:
    """A qualifying impact from any movement (firmware 0.4 on; impacts.py)."""

    seq: int
    session_id: int
    index: int
    t_samples: int
    peak_mg: int


@dataclass(frozen=True)
class Bands:
    """A session's impacts per band so far (impacts.BAND_MG); the newest record holds."""

    seq: int
    session_id: int
    bands: tuple[int, ...]
    qualifying: int  # impacts of at least the session's qualify_mg, from any movement


@dataclass(frozen=True)
class SessionEnd:
    seq: int
    session_id: int
    jumps: int
    duration_samples: int
    fifo_overflows: int
    reason: int
    unlogged: int
    qualifying: int


@dataclass(frozen=True)
class Note:
    seq: int
    text: str


@dataclass(frozen=True)
class Damage:
    file: str
    offset: int
    length: int  # bytes skipped

    def __str__(self) -> str:
        return f"{self.file}: {self.length} damaged bytes skipped at offset {self.offset}"


@dataclass
class LogContents:
    starts: list[SessionStart] = field(default_factory=list)
    jumps: list[Jump] = field(default_factory=list)
    impacts: list[Impact] = field(default_factory=list)
    bands: list[Bands] = field(default_factory=list)
    ends: list[SessionEnd] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # files in log/ that are not segments
    duplicates: int = 0  # records seen twice (same seq): kept once
    implausible: int = 0  # records whose CRC holds but whose values no clip writes: refused
    refused: dict[str, int] = field(default_factory=dict)  # ... by what was wrong with them
    records: int = 0
    bytes: int = 0
    last_seq: int = -1
    log_id: str = ""  # from log/id, when the files include it (a rescued image)

    def newer_than(self, seq: int, with_their_starts: bool = False) -> "LogContents":
        """Only the records numbered above seq (what a host that holds up to seq lacks).
        with_their_starts: also the start records of the sessions those records belong to
        (where a log diverges from a copy of it inside a session, the session's start is
        the same in both and its jumps are not)."""
        from dataclasses import replace

        later = ({r.session_id for r in [*self.jumps, *self.ends, *self.impacts, *self.bands] if r.seq > seq}
                 if with_their_starts else set())
        return replace(
            self,
            starts=[r for r in self.starts if r.seq > seq or r.session_id in later],
            jumps=[r for r in self.jumps if r.seq > seq],
            impacts=[r for r in self.impacts if r.seq > seq],
            bands=[r for r in self.bands if r.seq > seq],
            ends=[r for r in self.ends if r.seq > seq],
            notes=[r for r in self.notes if r.seq > seq],
        )

    def refuse(self, why: str) -> None:
        """A record whose CRC holds but whose values no clip writes, or that contradicts the
        session it claims: left out, and counted under what was wrong with it."""
        self.implausible += 1
        self.refused[why] = self.refused.get(why, 0) + 1

    def report(self) -> list[str]:
        lines = [str(d) for d in self.damage]
        if self.foreign:
            lines.append(f"ignored {len(self.foreign)} file(s) in log/ that are not log segments: {', '.join(self.foreign)}")
        if self.duplicates:
            lines.append(f"{self.duplicates} duplicate record(s) ignored")
        if self.implausible:
            why = "; ".join(f"{k} ({n})" for k, n in self.refused.items()) or "values no clip writes"
            lines.append(f"{self.implausible} record(s) refused, their CRC holds but they are forged or damaged: {why}")
        return lines

    def check_sessions(self) -> None:
        """Every record against the session it claims, not only against fixed bounds: a START
        naming another clip than the log's own; a second START or END of one session;
        records numbered outside their session; landings and impacts after its length;
        impacts below its qualifying threshold; more impacts in bands than its length holds
        (impactr's rule keeps them 0.4 s apart). What fails is refused, a whole record at a
        time, and counted by what was wrong."""
        # A clone goes on from its source's log under its own id: the device changes once
        # and stays. One START naming another device between two of the log's own is forged.
        order = sorted(self.starts, key=lambda s: s.seq)
        for before, s, after in zip(order, order[1:], order[2:]):
            if s.device_id != before.device_id and before.device_id == after.device_id:
                self.starts.remove(s)
                self.refuse("a session start naming another clip inside this log")
        # One START and one END a session: a second one (a later number) is forged; it would
        # rename or re-count a session the log already holds.
        def first_of(records: list, what: str) -> dict:
            kept: dict = {}
            for r in sorted(records, key=lambda r: r.seq):
                if r.session_id in kept:
                    records.remove(r)
                    self.refuse(f"a second {what} for one session")
                else:
                    kept[r.session_id] = r
            return kept

        starts: dict[int, SessionStart] = first_of(self.starts, "start")
        ends: dict[int, SessionEnd] = first_of(self.ends, "end")
        # Nothing of a session comes after its END, and nothing before its START: the clip
        # writes a session's records in that order (a recovery writes what RTC memory kept
        # before the END it adds).
        def outside(r) -> bool:
            e, st = ends.get(r.session_id), starts.get(r.session_id)
            return (e is not None and r.seq > e.seq) or (st is not None and r.seq < st.seq)

        for kind, items in (("landings", "jumps"), ("impacts", "impacts"), ("impact bands", "bands")):
            bad_seqs = {r.seq for r in getattr(self, items) if outside(r)}
            for _ in bad_seqs:
                self.refuse(f"{kind} outside their session (after its end or before its start)")
            if bad_seqs:
                setattr(self, items, [r for r in getattr(self, items) if r.seq not in bad_seqs])

        def limit(sid: int) -> int | None:
            """The last sample a record of session sid can name: its END's length (a batch
            of slack: the firmware stamps a landing at its peak, inside the session), or None
            when the session is open here or its END was written by a recovery without it."""
            e = ends.get(sid)
            return None if e is None or e.duration_samples == 0 else e.duration_samples + 96

        bad: set[int] = set()
        for j in self.jumps:
            cap = limit(j.session_id)
            if cap is not None and j.t_samples > cap:
                bad.add(j.seq)
        if bad:
            for _ in bad:
                self.refuse("landings after their session's end")
            self.jumps = [j for j in self.jumps if j.seq not in bad]
        bad = set()
        for i in self.impacts:
            cap = limit(i.session_id)
            st = starts.get(i.session_id)
            if (cap is not None and i.t_samples > cap) or (st is not None and st.qualify_mg and i.peak_mg < st.qualify_mg - 1):
                bad.add(i.seq)
        if bad:
            for _ in bad:
                self.refuse("impacts after their session's end or below its qualifying threshold")
            self.impacts = [i for i in self.impacts if i.seq not in bad]
        keep = []
        for b in self.bands:
            cap = limit(b.session_id)
            st = starts.get(b.session_id)
            if cap is not None and st is not None:
                most = cap * 1000 // (impacts_fw.MIN_DIST_MS * st.rate_hz) + 1
                if sum(b.bands) > most:
                    self.refuse("more impacts in bands than the session's length holds")
                    continue
            keep.append(b)
        self.bands = keep


_WITH_SESSION = (lf.T_SESSION_START, lf.T_JUMPS, lf.T_JUMPS_V1, lf.T_SESSION_END, lf.T_IMPACTS, lf.T_BANDS)


def parse_segment(data: bytes, name: str, out: LogContents, seen: set[int]) -> None:
    n = len(data)
    o = 0
    while o < n:
        size = lf.check(data, o, n)
        if size == 0:
            nxt = _resync(data, o + 1)
            out.damage.append(Damage(name, o, nxt - o))
            o = nxt
            continue
        seq = lf.get_u32(data, o + 4)
        if seq >= lf.ID_LIMIT or (data[o + 1] in _WITH_SESSION and lf.get_u32(data, o + lf.HEADER) >= lf.ID_LIMIT):
            # No clip numbers a record or a session from 2**30 on (logformat.ID_LIMIT): such a
            # record would wrap the numbering (taken for a restored image) or merge sessions.
            out.refuse("a record or session numbered from 2**30 on")
        elif seq in seen:
            out.duplicates += 1
        else:
            seen.add(seq)
            _decode(data, o, size, seq, out)
            out.records += 1
            out.last_seq = max(out.last_seq, seq)
        o += size
    out.bytes += n


def _resync(data: bytes, o: int) -> int:
    """The next offset at or after o where a valid record starts, or len(data)."""
    n = len(data)
    while True:
        o = data.find(bytes([lf.SYNC]), o)
        if o < 0:
            return n
        if lf.check(data, o, n):
            return o
        o += 1


def _decode(b: bytes, o: int, size: int, seq: int, out: LogContents) -> None:
    t = b[o + 1]
    p = o + lf.HEADER
    length = size - lf.OVERHEAD
    if t == lf.T_SESSION_START and length >= lf.START_BYTES_V1:
        f = lf.START_FIELDS
        # Firmware 0.2-0.3 wrote 34 bytes, with the threshold and target (log-format.md).
        settings = length >= lf.START_BYTES_V2 and lf.get(b, p, f, "qualify_mg") > 0
        version = lf.get_bytes(b, p, f, "version")
        if (lf.get(b, p, f, "rate_hz") not in RATES or lf.get(b, p, f, "range_g") not in RANGES
                or max(version) >= 100):
            out.refuse("a session start with a rate, range or firmware version no clip sets")
            return
        out.starts.append(
            SessionStart(
                seq,
                lf.get(b, p, f, "session_id"),
                lf.get(b, p, f, "boot"),
                lf.get_bytes(b, p, f, "device").hex(),
                lf.get(b, p, f, "rtc_epoch"),
                bool(lf.get(b, p, f, "rtc_set")),
                lf.get(b, p, f, "config_hash"),
                lf.get(b, p, f, "rate_hz"),
                lf.get(b, p, f, "range_g"),
                f"{version[0]}.{version[1]}.{version[2]}",
                lf.get(b, p, f, "qualify_mg") if settings else None,
                lf.get(b, p, f, "daily_target") if settings else None,
                _target_rule(lf.get(b, p, f, "target_rule")) if length >= lf.START_BYTES else 0,
            )
        )
    elif lf.jump_bytes(t) and length >= lf.JUMPS_HEAD:
        sid = lf.get_u32(b, p)
        jb = lf.jump_bytes(t)
        jumps = []
        for k in range((length - lf.JUMPS_HEAD) // jb):
            q = p + lf.JUMPS_HEAD + k * jb
            jf = lf.JUMP_FIELDS
            fpeak = lf.get(b, q, jf, "fpeak") if jb == lf.JUMP_BYTES else 0
            j = Jump(seq, sid, k, lf.get(b, q, jf, "t"), lf.get(b, q, jf, "air"), lf.get(b, q, jf, "peak"), fpeak)
            if (j.air_samples > MAX_AIR_SAMPLES or not MIN_LANDING_MG <= j.peak_mg <= MAX_PEAK_MG
                    or j.t_samples > MAX_T_SAMPLES):
                out.refuse("a landing no clip counts (flight, peak or time out of range)")  # the whole record is suspect
                return
            jumps.append(j)
        out.jumps += jumps
    elif t == lf.T_IMPACTS and length >= lf.JUMPS_HEAD:
        sid = lf.get_u32(b, p)
        found = []
        for k in range((length - lf.JUMPS_HEAD) // lf.IMPACT_BYTES):
            q = p + lf.JUMPS_HEAD + k * lf.IMPACT_BYTES
            i = Impact(seq, sid, k, lf.get(b, q, lf.IMPACT_FIELDS, "t"), lf.get(b, q, lf.IMPACT_FIELDS, "peak"))
            if not MIN_QUALIFY_MG <= i.peak_mg <= MAX_PEAK_MG or i.t_samples > MAX_T_SAMPLES:
                out.refuse("a qualifying impact below every qualifying threshold or out of range")
                return
            found.append(i)
        out.impacts += found
    elif t == lf.T_BANDS and length >= lf.BANDS_BYTES:
        f = lf.BANDS_FIELDS
        bands = tuple(lf.get(b, p, f, k) for k in lf.BAND_KEYS)
        # An impact every 2.5 ms for a week, or more qualifying impacts than impacts (every
        # qualifying threshold is above the bands' 1.3 g floor): no clip writes that.
        if max(bands) > MAX_SESSION_JUMPS * 16 or lf.get(b, p, f, "qualifying") > sum(bands):
            out.refuse("impact bands no clip counts")
            return
        out.bands.append(Bands(seq, lf.get(b, p, f, "session_id"), bands, lf.get(b, p, f, "qualifying")))
    elif t == lf.T_SESSION_END and length >= lf.END_BYTES:
        f = lf.END_FIELDS
        jumps = lf.get(b, p, f, "jumps")
        duration = lf.get(b, p, f, "duration")
        overflows = lf.get(b, p, f, "overflows")
        # More jumps than a session can hold, more qualifying or unlogged than jumps, or more
        # FIFO overflows than the session's length holds FIFOs (each one lost a full FIFO).
        if (jumps > MAX_SESSION_JUMPS or lf.get(b, p, f, "qualifying") > jumps or lf.get(b, p, f, "unlogged") > jumps
                or overflows * FIFO_SAMPLES > duration + FIFO_SAMPLES and not (duration == 0 and overflows == 0)):
            out.refuse("a session end whose counts no clip writes")
            return
        out.ends.append(
            SessionEnd(
                seq,
                lf.get(b, p, f, "session_id"),
                jumps,
                lf.get(b, p, f, "duration"),
                lf.get(b, p, f, "overflows"),
                lf.get(b, p, f, "reason"),
                lf.get(b, p, f, "unlogged"),
                lf.get(b, p, f, "qualifying"),
            )
        )
    elif t == lf.T_NOTE:
        out.notes.append(Note(seq, bytes(b[p : p + length]).decode("utf-8", "replace")))
    # Unknown record types from newer firmware are valid records: counted, not decoded.


def _target_rule(v: int) -> int:
    """What a session's target counted: a rule this reader knows, else 0 (counted as landings,
    as before firmware 0.4), never a value the report cannot name."""
    return v if v in (lf.TARGET_LANDINGS, lf.TARGET_IMPACTS) else 0


def read_files(files: dict[str, bytes]) -> LogContents:
    """Parse the files of a log/ folder: {name: contents}. Never raises."""
    out = LogContents()
    seen: set[int] = set()
    for name in sorted(files):
        if lf.segment_seq(name) < 0:
            if name == "id":
                text = files[name].decode(errors="replace").strip()
                out.log_id = text if len(text) == 16 and all(c in "0123456789abcdef" for c in text) else ""
            if name not in ("state.json", "state.tmp", "ack", "ack.tmp", "tmp", "id", "id.tmp", "config.seen"):
                out.foreign.append(name)
            continue
        parse_segment(files[name], name, out, seen)
    out.check_sessions()
    return out
