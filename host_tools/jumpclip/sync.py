"""`jumpclip sync`: pull the clip's log into the database; lose nothing, count nothing twice.

Order matters: the records are verified (each wire frame and each log record has a CRC),
committed to SQLite in one transaction, and only then acknowledged to the device, which may
then delete what the acknowledgement covers. A cut anywhere leaves either nothing committed
(sync again) or everything committed but not yet acknowledged (the device sends it again,
and the database ignores what it already has).
"""

from __future__ import annotations

import binascii
import datetime as dt
import json
import struct
from dataclasses import dataclass, field
from typing import Callable

from . import logread
from .store import EPOCH_2000, DeviceClock, ImportResult, Store, StoreError
from .transport import DeviceError, Transport, TransportError

PROTOCOL = 1
F_FILE, F_DATA, F_END = 1, 2, 3
RETRIES = 3  # whole-transfer attempts when a frame arrives damaged; the one place for retries


@dataclass
class SyncResult:
    device: str
    firmware: str
    imported: ImportResult
    records: int
    log_bytes: int
    wire_bytes: int  # device -> host during the transfer
    jumps_received: int
    acked: int
    device_total_jumps: int
    clock_set: bool
    restarted: bool
    warnings: list[str] = field(default_factory=list)
    device_output: str = ""
    unlogged: int = 0  # the held session's jumps counted while the flash was full: in no record yet


class SyncError(Exception):
    """One line: what went wrong and what to do."""


def _info(t: Transport) -> dict:
    out = t.exec("import syncserver as _s; _s.info(globals().get('app'))")
    for line in out.splitlines():
        if line.startswith("JCINFO "):
            try:
                info = json.loads(line[7:])
            except ValueError:
                break
            if isinstance(info, dict):
                return info
            break
    raise SyncError(f"the device on {t.port} did not describe itself (got {out[:60]!r}): is jumpclip firmware on it? run `jumpclip deploy`")


def _receive(t: Transport, after: int, on_bytes: Callable[[int], None] | None) -> dict[str, bytes]:
    """The segments the device streams, every frame CRC-checked."""
    t.exec_start(f"_s.send({after})")
    files: dict[str, bytes] = {}
    current: str | None = None
    sizes: dict[str, int] = {}
    total = 0
    while True:
        head = t.read_exact(5)
        if head[:2] != b"JF":
            raise _Damaged(f"bad frame start {head[:2]!r}")
        ftype = head[2]
        (length,) = struct.unpack("<H", head[3:5])
        body = t.read_exact(length + 4)
        payload, crc = body[:length], struct.unpack("<I", body[length:])[0]
        if binascii.crc32(payload, binascii.crc32(head[2:5])) & 0xFFFFFFFF != crc:
            raise _Damaged("a frame failed its CRC")
        if ftype == F_FILE:
            if len(payload) < 4:
                raise _Damaged("a file frame too short")
            (size,) = struct.unpack("<I", payload[:4])
            current = payload[4:].decode(errors="replace")
            sizes[current] = size
            files[current] = b""
        elif ftype == F_DATA:
            if current is None:
                raise _Damaged("data before a file header")
            files[current] += payload
            total += len(payload)
            if on_bytes:
                on_bytes(len(payload))
        elif ftype == F_END:
            if len(payload) < 8:
                raise _Damaged("an end frame too short")
            want_total, want_files = struct.unpack("<II", payload[:8])
            if want_total != total or want_files != len(files) or any(len(files[n]) != sizes[n] for n in files):
                raise _Damaged("the transfer ended short")
            break
        else:
            raise _Damaged(f"unknown frame type {ftype}")
    t.exec_finish()
    return files


class _Damaged(Exception):
    pass


def _which_log(t: Transport, store: Store, device: str, log_id: str, device_last: int,
               warnings: list[str], device_ack: int = -1) -> tuple[str, int, str | None, str | None]:
    """(log id to file the records under, the newest record the database holds of it, how
    the log began if it is new, an earlier log whose records it may repeat).

    A log the database does not know is a new log: nothing is merged into an earlier one.
    A log the database knows whose newest record is older than what was synced, or whose
    own acknowledgement (log/ack) is older than the one the database holds, came from a
    restored flash image: the clip takes a new id, and its records are filed under that.
    (The clip writes its acknowledgement before the database records it, so in one log the
    clip's is never the older; a restored image that has since written more records than
    were synced after it was taken is told by its acknowledgement alone.)
    In both cases the records that repeat the earlier log (a restored image holds the
    beginning of the log it was copied from) are recognised by content and not imported
    again."""
    key = log_id or device
    known = store.log_for(device, log_id)
    if known is None:
        earlier = store.logs_of(device)
        if not earlier:
            return log_id, -1, None, None
        warnings.append(
            f"this clip has a new log ({key}): its flash was erased or re-formatted since the last sync, "
            f"or it is another board reporting the same id; the two logs are kept apart, and what was synced "
            f"before stays in the database as it was"
        )
        prev = earlier[-1]["log_id"]
        return log_id, -1, f"new log after {prev}", prev
    acked = int(known["acked_seq"])
    cloned = bool(log_id) and known["device_id"] != device
    restored = device_last < acked or 0 <= device_ack < acked
    if not cloned and (not restored or not log_id):
        return log_id, acked, None, None
    reply = t.exec("_s.rekey(globals().get('app'))")
    new_id = reply.strip().split()[-1] if reply.strip().startswith("JCREKEY") else ""
    if len(new_id) != 16:
        raise SyncError(f"the clip's log is older than what was synced, and it did not take a new identity ({reply[:40]!r}); sync again")
    if cloned:
        warnings.append(
            f"this clip ({device}) holds the log {key} of another clip ({known['device_id']}): a flash image copied onto it? "
            f"It goes on as a new log ({new_id}); what repeats the other clip's log is not imported again, the rest is filed under this clip"
        )
        return new_id, -1, f"cloned from {key} of {known['device_id']}", key
    warnings.append(
        f"this clip's log is older than what was synced (its newest record is #{device_last} and it holds the acknowledgement "
        f"of #{device_ack}, the database has #{acked}): "
        f"a restored flash image? It goes on as a new log ({new_id}); nothing synced before is lost or counted twice"
    )
    return new_id, -1, f"restored image of {key}", key


def sync(
    t: Transport,
    store: Store,
    now: dt.datetime | None = None,
    set_clock: bool = True,
    restart: bool = True,
    on_start: Callable[[dict], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> SyncResult:
    t.open()
    try:
        device_output = t.interrupt()
        t.enter_raw()
        info = _info(t)
        if info.get("protocol") != PROTOCOL:
            raise SyncError(
                f"the device speaks sync protocol {info.get('protocol')} (firmware {info.get('firmware')}), "
                f"this jumpclip speaks {PROTOCOL}: update the firmware with `jumpclip deploy` or update jumpclip"
            )
        try:
            device = str(info["device"])
            log_id = str(info.get("log_id") or "")  # "" from firmware older than log ids
            device_last = int(info.get("last_seq", -1))
            device_ack = int(info.get("ack", -1))
            clock = DeviceClock(int(info["time"]), bool(info["rtc_set"]), int(info["boot"]), now or dt.datetime.now(dt.timezone.utc))
        except (KeyError, TypeError, ValueError):
            raise SyncError(f"the device on {t.port} described itself incompletely: update its firmware with `jumpclip deploy`") from None
        host_time = clock.host_time
        if on_start:
            on_start(info)
        warnings: list[str] = []
        log_id, after, origin, repeats = _which_log(t, store, device, log_id, device_last, warnings, device_ack)
        start_in = t.bytes_in
        for attempt in range(RETRIES):
            try:
                files = _receive(t, after, on_bytes)
                break
            except _Damaged as e:
                warnings.append(f"transfer damaged ({e}); retrying")
                # Resynchronise: stop whatever is still streaming and re-enter the raw REPL.
                t.interrupt()
                t.enter_raw()
                t.exec("import syncserver as _s")
        else:
            raise SyncError(f"the transfer from {t.port} was damaged {RETRIES} times: try another cable or USB port")
        wire = t.bytes_in - start_in
        log = logread.read_files(files)
        warnings += log.report()
        try:
            unlogged = max(0, int(info.get("unlogged", 0)))
        except (TypeError, ValueError):
            unlogged = 0
        if unlogged:
            warnings.append(f"{unlogged} jumps counted while the clip's flash was full, not yet in its log: they reach the "
                            f"database with the session's end")
        new = log.newer_than(after)
        if repeats is not None:
            new = new.newer_than(store.divergence(repeats, new) - 1, with_their_starts=True)
        result = store.import_log(device, new, clock, "sync", log_id=log_id, origin=origin, acked=after)
        acked = after
        if log.last_seq > after:
            reply = t.exec(f"_s.ack({log.last_seq})")
            if not reply.startswith("JCACK"):
                raise SyncError(f"the device did not confirm the acknowledgement ({reply[:40]!r}); sync again")
            acked = log.last_seq
            store.set_acked(log_id or device, acked)
        clock_set = False
        if set_clock:
            secs = int((host_time - EPOCH_2000).total_seconds())
            offset = dt.datetime.now().astimezone().utcoffset() or dt.timedelta(0)
            t.exec(f"_s.set_time({secs}, {int(offset.total_seconds())})")
            clock_set = True
        restarted = False
        if restart and info.get("app"):
            t.exec_detached("app.run()")
            restarted = True
        return SyncResult(
            device=device,
            firmware=str(info.get("firmware")),
            imported=result,
            records=log.records,
            log_bytes=log.bytes,
            wire_bytes=wire,
            jumps_received=len(log.jumps),
            acked=acked,
            device_total_jumps=int(info.get("jumps", 0)),
            clock_set=clock_set,
            restarted=restarted,
            warnings=warnings,
            unlogged=unlogged,
            device_output=device_output,
        )
    except DeviceError as e:
        raise SyncError(f"the device reported an error: {e}{_hand_back(t, restart)}") from None
    except (SyncError, StoreError) as e:
        # The clip was taken over: give it back to counting before saying what went wrong.
        raise type(e)(f"{e}{_hand_back(t, restart)}") from None
    finally:
        t.close()


def _hand_back(t: Transport, restart: bool) -> str:
    """After a failure with the clip at its REPL: start counting again, and say where it is."""
    if not restart:
        return "; the clip is at its REPL (--no-restart)"
    try:
        if t.exec("print('app' in globals())").strip() != "True":
            return ""  # no counting loop on this board (no firmware yet): nothing to give back
        t.exec_detached("app.run()")
        return "; the clip is counting again"
    except TransportError:
        return "; the clip is at its REPL and goes back to counting by itself within 10 minutes (or unplug it)"


__all__ = ["sync", "SyncError", "SyncResult", "TransportError"]
