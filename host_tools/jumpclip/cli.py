"""The `jumpclip` command: a table of subcommands. Each parses its arguments, calls library
functions and prints; the work lives in the modules. User errors end in one line on stderr
and a non-zero exit, never a traceback."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import shutil
import tempfile
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import __version__, evidence
from .text import shown

# Piped or redirected output gets full-width tables instead of 80 truncated columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)  # an error is one line, however long


class UserError(click.ClickException):
    """Shown as `error: <message>` with exit status 1."""

    def show(self, file=None) -> None:  # one line, no "Usage:" noise
        err.print(f"[bold red]error:[/] {self.format_message()}", highlight=False)


def _usage_error_in_one_line(self, file=None) -> None:
    cmd = self.ctx.command_path if self.ctx is not None else "jumpclip"
    err.print(f"[bold red]error:[/] {self.format_message()} (see `{cmd} --help`)", highlight=False)


click.exceptions.UsageError.show = _usage_error_in_one_line  # type: ignore[method-assign]  # one line, no "Usage:" block


def fail(msg: str) -> None:
    raise UserError(msg)


# --- shared options ----------------------------------------------------------------
def default_db() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("jumpclip", appauthor=False)) / "jumpclip.sqlite"


db_option = click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Database file (default: your data folder).")
port_option = click.option("--port", help="Serial port of the clip (default: find it).")
wearer_option = click.option("--wearer", help="Only this wearer's sessions (`jumpclip wearer list`).")
def _plausible_day(_ctx, param, value):
    """A day a clip can have counted on: from 2000 (the ESP32's epoch: no record is older)
    to 2099. Year 1 has no local midnight to convert (it ended in a traceback)."""
    if value is not None and not 2000 <= value.year <= 2099:
        raise click.BadParameter(f"{value.year:04d}-{value.month:02d}-{value.day:02d} is not a day a clip counted on: give one from 2000 to 2099", param=param)
    return value


day_option = click.option("--from", "from_day", type=click.DateTime(["%Y-%m-%d"]), callback=_plausible_day,
                          help="From this day on (YYYY-MM-DD).")


def open_store(db_path: str | None, create: bool = True):
    """The database. Commands that only read it (create=False) do not create one."""
    from .store import Store, StoreError

    path = Path(db_path) if db_path else default_db()
    if not create and not path.exists():
        fail(f"no database at {path} yet: sync the clip first (`jumpclip sync`)" + ("" if db_path else ", or name one with --db"))
    try:
        return Store(path)
    except StoreError as e:
        fail(str(e))


def output_path(path: str, *inputs: str | Path | None, what: str = "file") -> Path:
    """A path to write: its folder is created, and it may not be one of the command's
    inputs (a trace, the database): writing there would destroy what is being read."""
    p = Path(path)
    for src in inputs:
        if src is None:
            continue
        try:
            same = p.exists() and Path(src).exists() and p.samefile(src)
        except OSError:
            same = False
        if same or p.resolve() == Path(src).resolve():
            fail(f"{path} is also an input of this command ({src}): choose another {what}")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fail(f"cannot create the folder {p.parent}: {e.strerror}")
    if p.is_dir():
        fail(f"{path} is a folder: give a file name")
    return p


@contextlib.contextmanager
def progress_bar(label: str):
    """A callback progress(done, total) that draws a bar on stderr (nothing when stderr is
    not a terminal), for the steps that can take more than a second on a large database."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if not err.is_terminal:  # piped or captured: no bar, and no blank line where it was
        yield None
        return
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True) as pr:
        task = pr.add_task(label, total=None)

        def progress(done: int, total: int) -> None:
            pr.update(task, completed=done, total=total)

        yield progress


def wearer_named(store, name: str | None) -> str | None:
    """--wearer NAME checked against the database (None: everyone)."""
    from .wearers import WearerError, known_wearer

    if name is None:
        return None
    try:
        return known_wearer(store.people(), name)
    except WearerError as e:
        fail(str(e))


def write_text(path: Path, text: str) -> None:
    write_chunks(path, [text])


def write_chunks(path: Path, chunks) -> None:
    """Write text as it is made (an export of a club's database never sits in memory). A
    file is written beside its place and renamed when complete, so a failure half-way leaves
    the old one (a device such as /dev/null is written in place)."""
    regular = not path.exists() or path.is_file()
    part = path.with_name(path.name + ".part") if regular else path
    try:
        try:
            with part.open("w") as f:
                for chunk in chunks:
                    f.write(chunk)
            if regular:
                os.replace(part, path)
        finally:
            if regular and part.exists():
                part.unlink()
    except OSError as e:
        import errno

        if e.errno == errno.ENOENT and path.parent.is_dir():
            # The folder is there but takes no new file (/proc, /sys): "No such file" misleads.
            fail(f"cannot write {path}: {path.parent} is a system folder that takes no new files: choose another place")
        fail(f"cannot write {path}: {e.strerror}")


class Commands(click.Group):
    """The command table. Errors that reach it from any command (a damaged database, a
    full disk, an unwritable file) end in one line, not a traceback."""

    def invoke(self, ctx: click.Context):
        import sqlite3

        try:
            return super().invoke(ctx)
        except sqlite3.DatabaseError as e:
            text = str(e)
            if "malformed" in text or "not a database" in text:
                raise UserError("the database is damaged (" + text + "): move it aside and sync again, or name another with --db") from None
            if "full" in text:
                raise UserError("the disk is full: free some space and run the command again") from None
            raise UserError(f"database error: {text}") from None
        except OSError as e:
            if e.errno == 28:  # ENOSPC
                raise UserError("the disk is full: free some space and run the command again") from None
            if e.filename:
                raise UserError(f"{e.filename}: {e.strerror}") from None
            raise
        except MemoryError:
            # A trace too large for this computer's memory (a 1.2 GB file under a 4 GB limit,
            # in `sim` or a plot): `replay` streams large files, the others read them whole.
            raise UserError("not enough memory for this: the file is too large to hold here; split it into parts "
                            "(or use `jumpclip replay`, which streams large traces)") from None


def choose_port(port: str | None) -> str:
    from .transport import find_ports

    if port:
        return port
    if os.environ.get("JUMPCLIP_PORT"):  # as esptool's ESPTOOL_PORT: the port when --port is not given
        return os.environ["JUMPCLIP_PORT"]
    found = find_ports()
    if not found:
        fail("no clip found on USB: plug it in, or name the port with --port (or $JUMPCLIP_PORT)")
    if len(found) == 1:
        return found[0][0]
    if not sys.stdin.isatty():
        fail("several USB serial devices found (" + ", ".join(d for d, _ in found) + "): choose one with --port")
    for i, (dev, desc) in enumerate(found, 1):
        out.print(f"  {i}. {dev}  {desc}")
    k = click.prompt("Which one is the clip?", type=click.IntRange(1, len(found)))
    return found[k - 1][0]


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jumpclip")
def main() -> None:
    """Desktop tools for the jumpclip jump counter."""
    from .transport import TransportError, timeout_from_env

    try:
        timeout_from_env()  # checked here once: every command that reaches a clip reads it
    except TransportError as e:
        fail(str(e))


# --- virtual board --------------------------------------------------------------------
@main.command()
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False),
              help="Trace the sensor replays (default: the bundled demo session, 20 jumps).")
@click.option("--units", type=click.Choice(["g", "m/s2"]), help="Units of the trace's acceleration columns (default: its `# units:`, else g).")
@click.option("--workdir", type=click.Path(file_okay=False), help="Keep the flash image and logs here.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.json to put on the flash.")
@click.option("--no-sensor", is_flag=True, help="Boot with no MPU6050 on the bus.")
@click.option("--device-id", help="The board's unique id, 12 hex digits (default a4cf12345678).")
def sim(trace_path: str | None, units: str | None, workdir: str | None, config_path: str | None, no_sensor: bool,
        device_id: str | None) -> None:
    """Start the virtual board on a trace and serve its USB console on a pseudo-terminal.
    With --workdir, the flash (and its log) persists from one run to the next."""
    from .demo import DEMO_TRACE
    from .sim.board import BoardError, BoardOptions, VirtualBoard
    from .traces import TraceError, read_trace

    if trace_path is None:
        trace_path = str(DEMO_TRACE)
        out.print(f"no --trace: the sensor plays the bundled demo session ({DEMO_TRACE})", highlight=False)

    cfg = _read_config(config_path) if config_path else None
    extra = {}
    if device_id is not None:
        if len(device_id) != 12 or any(c not in "0123456789abcdefABCDEF" for c in device_id):
            fail(f"--device-id {device_id!r}: give 12 hex digits, like a4cf12345678")
        extra["unique_id"] = device_id.lower()
    wd = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="jumpclip-sim-"))
    # Real time: a person at the REPL, `record` and `sync` meet the clip as they would a real one.
    board = VirtualBoard(wd, BoardOptions(config=cfg, sensor=not no_sensor, time_scale=1, extra=extra))
    try:
        if not board.image.exists():
            board.flash_firmware()
        elif cfg is not None:  # an existing board keeps its log; only the config changes
            from .sim import flash

            flash.write_file(board.image, "config.json", json.dumps(cfg).encode())
        trace = read_trace(trace_path, units)
        board.load_trace(trace)
        port = board.serve()
        board.start(interactive=True)
    except (BoardError, TraceError) as e:
        fail(str(e))
    import signal

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # a terminated `jumpclip sim` stops its board too
    out.print(f"virtual board on [bold]{port}[/]  (flash image: {board.image})")
    out.print(f"try: jumpclip hold --port {port}, then mpremote connect {port} resume exec \"print(app.jumps)\"; "
              f"jumpclip resume --port {port} hands back (Ctrl-C here stops the board)", highlight=False)
    try:
        said_end = False
        while not board.exited.is_set():
            time.sleep(0.2)
            if board.trace_end.is_set() and not said_end:
                said_end = True
                out.print(f"the trace ended ({trace.duration_s:.0f} s): the clip lies still now, and sleeps after "
                          f"{(cfg or {}).get('idle_min', 10)} quiet minutes (config idle_min)", highlight=False)
        out.print("virtual board exited: " + ("the clip went to deep sleep with nothing left to wake it" if board.asleep.is_set()
                                              else "its firmware stopped (see its console above)"), highlight=False)
    except KeyboardInterrupt:
        out.print("stopping the virtual board")
    finally:
        board.stop()
        if not workdir:
            shutil.rmtree(wd, ignore_errors=True)  # a temporary board leaves nothing behind


@main.command()
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False), help="Trace to count (default: the bundled demo).")
@db_option
def demo(trace_path: str | None, db_path: str | None) -> None:
    """The whole user path on the virtual board: count a session, sync it, list it."""
    from . import demo as demomod
    from . import report
    from . import sync as syncmod
    from .sim.board import BoardError
    from .store import StoreError
    from .traces import TraceError
    from .transport import TransportError

    path = Path(trace_path) if trace_path else demomod.DEMO_TRACE
    out.print(f"[bold]jumpclip demo[/]: the firmware on the virtual board, replaying {path.name}")
    with tempfile.TemporaryDirectory(prefix="jumpclip-demo-") as wd:
        try:
            run = demomod.run(path, Path(wd), Path(db_path) if db_path else None)
        except (BoardError, TraceError, StoreError, TransportError, syncmod.SyncError) as e:
            fail(str(e))
        for line in run.device_log:
            out.print("  [dim]device>[/] " + line, highlight=False)
        res = run.sync
        out.print(f"\n[bold]jumpclip sync --port {run.port}[/]  (the virtual board's USB port)")
        out.print(
            f"synced {res.device}: {res.imported.new_sessions} new session{'' if res.imported.new_sessions == 1 else 's'}, "
            f"{res.imported.new_jumps} new jump{'' if res.imported.new_jumps == 1 else 's'} "
            f"({res.wire_bytes} bytes over the port)"
        )
        out.print("\n[bold]jumpclip sessions[/]")
        out.print(report.sessions_table(run.store.sessions(with_jumps=True)))
        out.print(f"\n{res.imported.new_jumps} jumps counted, synced and listed in {run.seconds:.1f} s, no hardware needed.")




# --- traces ---------------------------------------------------------------------------
@main.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the traces.")
@click.option("--seed", default=0, show_default=True, help="Random seed (same seed, same traces).")
@click.option("--scenario", "names", multiple=True, help="Only these scenarios (default: all).")
def synth(out_dir: str, seed: int, names: tuple[str, ...]) -> None:
    """Write labelled synthetic traces (they test the code, not the accuracy)."""
    from . import synth as synthmod
    from .traces import write_trace

    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    for name in names or synthmod.SCENARIOS:
        try:
            t, acc, land, header = synthmod.scenario(name, seed)
        except ValueError as e:
            fail(str(e))
        path = d / f"{name}_s{seed}.csv"
        write_trace(path, t, acc, header, land)
        out.print(f"{path}  ({header['label']}, {t[-1]:.1f} s)")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Detector config (JSON), as on the clip.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (its fields: docs/detector.md, \"replay --json\").")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), help="Write one PNG per file here.")
@click.option("--tolerance-ms", default=100, show_default=True, type=click.IntRange(1, 2000), help="How close a landing must be to a true one.")
@click.option("--reference", is_flag=True, help="Use the streaming reference instead of the numpy fast path (same events).")
@click.option("--verbose", is_flag=True, help="Also say which copy of the detector ran.")
@click.option("--units", type=click.Choice(["g", "m/s2"]), help="Units of the acceleration columns (default: the header's `# units:`, else g).")
def replay(paths: tuple[str, ...], config_path: str | None, as_json: bool, plot_dir: str | None, tolerance_ms: int, reference: bool,
           verbose: bool, units: str | None) -> None:
    """Run traces through the firmware's detector; score them where ground truth exists."""
    from . import replay as rp

    cfg = _read_config(config_path) if config_path else {}
    try:
        rp.make_detector(cfg)
    except ValueError as e:
        fail(f"{config_path}: {e}")
    todo = _expand(paths)
    if len(todo) > 3:  # many files take a while: show how far it got (on stderr: --json stays clean)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        files = []
        with Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as pr:
            task = pr.add_task("replay", total=len(todo))
            for p in todo:
                files.append(rp.replay_file(p, cfg, tolerance_ms / 1000, fast=not reference, units=units))
                pr.advance(task)
    else:
        files = [rp.replay_file(p, cfg, tolerance_ms / 1000, fast=not reference, units=units) for p in todo]
    if plot_dir:
        from .plots import plot_replay

        for f in files:
            if not f["error"]:
                plot_replay(f, cfg, plot_dir)
    summary = rp.summarise(files)
    # Which copy of the detector ran: the numpy fast path, or firmware/detector.py itself.
    summary["detector"] = "reference: firmware/detector.py" if reference else "fast path: jumpclip/fastpath.py (equal to firmware/detector.py: tests, tools/mutate.py)"
    if as_json:
        print(json.dumps({"files": [rp.public(f) for f in files], "summary": summary}, indent=1))
    else:
        _print_replay(files, summary, verbose)
    if summary["errors"]:
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--grid", "grid_spec", help="Settings to sweep: 'key=v1,v2;key2=start:stop:step' (default: the flight settings).")
@click.option("--objective", type=click.Choice(["f1", "count"]), default="f1", show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Start from this config (rate, range, other keys).")
@click.option("--out", "out_path", default="config.json", show_default=True, type=click.Path(dir_okay=False), help="Where to write the chosen config.")
@click.option("--tolerance-ms", default=100, show_default=True, type=click.IntRange(1, 2000))
def tune(paths, grid_spec, objective, config_path, out_path, tolerance_ms) -> None:
    """Sweep detector settings on labelled traces; cross-validate; write config.json."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from . import tune as tunemod
    from .traces import TraceError

    base = _read_config(config_path) if config_path else {}
    dest = output_path(out_path, *_expand(paths), config_path)
    try:
        grid = tunemod.parse_grid(grid_spec or tunemod.DEFAULT_GRID)
        with Progress(TextColumn("tuning"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True) as pr:
            task = pr.add_task("tune", total=len(grid))
            res = tunemod.tune(_expand(paths), grid, objective, tolerance_ms / 1000, lambda k, n: pr.update(task, completed=k), base)
    except (tunemod.TuneError, TraceError) as e:
        fail(str(e))
    except ValueError as e:  # the starting config breaks a rule (config.check)
        fail(f"{config_path}: {e}")
    name = "F1" if objective == "f1" else "-|count error|"
    if res.validation_score is None:
        err.print(f"[yellow]warning:[/] all {len(_expand(paths))} file(s) belong to one subject or file group: nothing can be held out, "
                  "so there is no validation score; tune on several people's recordings (a `# subject:` header line)", highlight=False)
        out.print(f"{res.configs} configurations, no cross-validation (one group)")
    else:
        out.print(f"{res.configs} configurations, {res.folds} cross-validation folds (by subject when the traces name one)")
        out.print(f"  training {name}:   {res.train_score:.4f} (mean over folds)")
        out.print(f"  validation {name}: {res.validation_score:.4f} (held-out folds; TP {res.validation.tp}, FP {res.validation.fp}, FN {res.validation.fn})")
    out.print(f"  chosen on all data: {json.dumps(res.best)} ({name} {res.best_score:.4f})")
    write_text(dest, json.dumps(res.best, indent=1) + "\n")
    out.print(f"wrote {out_path}: put it on the clip with `jumpclip deploy --config {out_path}`", highlight=False)


def _expand(paths: tuple[str, ...]) -> list[str]:
    """Folders stand for the traces in them. Ground-truth files (*.events.csv) go with their
    trace and are never read as traces, also when a shell glob (dir/*.csv) names them."""
    out: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += [str(q) for q in sorted(path.glob("*.csv")) if not q.name.endswith(".events.csv")]
        elif not path.name.endswith(".events.csv"):
            out.append(p)
    if paths and not out:
        fail("only ground-truth files (*.events.csv) given: name the traces they belong to")
    return out


def _print_replay(files: list[dict], summary: dict, verbose: bool = False) -> None:
    t = Table(title=f"detector: {summary['detector']}" if verbose else None, title_justify="left")
    for col in ("file", "count", "truth", "TP", "FP", "FN", "F1", "false/min", "impacts by band", "notes"):
        t.add_column(col, justify="left" if col in ("file", "notes") else "right")
    for f in files:
        if f["error"]:
            err.print(f"[red]{f['error']}[/]", highlight=False)
            continue
        m = f["metrics"] or {}
        truth = f["truth"]["count"] if f["truth"] else ""
        jumpy = m and not m.get("jump_free")
        t.add_row(
            Path(f["path"]).name,
            str(f["count"]),
            str(truth),
            *(str(m[k]) if jumpy and m[k] is not None else "" for k in ("tp", "fp", "fn")),
            f"{m['f1']:.3f}" if jumpy and m["f1"] is not None else ("count only" if jumpy else ""),
            f"{m['false_per_min']:.2f}" if m.get("jump_free") else "",
            "/".join(str(v) for v in f["impact_bands"].values()) if f.get("impact_bands") else "",
            "; ".join(f["notes"]),
        )
    if t.row_count:  # every file failed: their errors alone, no empty table above them
        out.print(t)
    if any(f.get("impact_bands") for f in files):
        out.print("impacts by band: every impact peak from any movement, as the clip counts them (impactr's rule, 1.3 g "
                  "and 0.4 s apart), in " + ", ".join(next(f["impact_bands"] for f in files if f.get("impact_bands"))), highlight=False)
    w = summary["with_truth"]
    if (w["truth_count"] or w["count"]) and w["count_error"] is not None:
        matched = (f"precision {w['precision']:.3f}, recall {w['recall']:.3f}, F1 {w['f1']:.3f}, " if w["f1"] is not None
                   else "no landing times to match (a jumps=N label): ")
        out.print(f"files with jumps: {matched}count error {100 * w['count_error']:+.1f} % ({w['count']} counted, {w['truth_count']} true)")
    jf = summary["jump_free"]
    if jf["files"]:
        out.print(f"jump-free files (label jumps=0): {jf['false_counts']} false counts in {jf['minutes']:.1f} min = {jf['false_per_min']:.2f} per minute")
    if len(files) == 1 and not files[0]["error"]:
        f = files[0]
        if f["events"]:
            et = Table()
            for col in ("t_s", "peak_g", "airtime_s", "height_cm"):
                et.add_column(col, justify="right")
            for e in f["events"]:
                et.add_row(*(str(e[k]) for k in ("t_s", "peak_g", "airtime_s", "height_cm")))
            out.print(et)


# --- device and database -----------------------------------------------------------
@main.command()
@port_option
@db_option
@click.option("--no-restart", is_flag=True, help="Leave the clip at its REPL instead of counting again.")
def sync(port: str | None, db_path: str | None, no_restart: bool) -> None:
    """Pull new sessions and jumps from the clip into the database."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from . import sync as syncmod
    from .store import StoreError
    from .transport import SerialTransport, TransportError

    path = Path(db_path) if db_path else default_db()
    new_db = not path.exists()
    dev = choose_port(port)
    store = open_store(db_path)
    progress = Progress(
        TextColumn("[bold]syncing[/]"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TextColumn("{task.fields[what]}"),
        console=err, transient=True,
    )
    task = None

    def started(info: dict) -> None:
        nonlocal task
        task = progress.add_task("sync", total=None, what=f"device {info['device']} (firmware {info['firmware']})")

    def got(n: int) -> None:
        if task is not None:
            progress.advance(task, n)

    try:
        with progress:
            res = syncmod.sync(SerialTransport(dev), store, on_start=started, on_bytes=got, restart=not no_restart)
    except (syncmod.SyncError, TransportError, StoreError) as e:
        if new_db:  # a failed first sync leaves no empty database behind
            store.close()
            path.unlink(missing_ok=True)
        fail(str(e))
    for w in res.warnings:
        err.print(f"[yellow]warning:[/] {w}", highlight=False)
    imp = res.imported
    _say_orphans(imp.orphans)
    notes = imp.new_notes
    for n in notes[:5]:
        out.print(f"  the clip says: {shown(n)}", highlight=False)
    if len(notes) > 5:
        out.print(f"  ... and {len(notes) - 5} more (`jumpclip notes`)", highlight=False)
    plural = lambda k, word: f"{k} new {word}" + ("" if k == 1 else "s")  # noqa: E731
    idle = " (a session without jumps: the clip counted while no one jumped, for instance since the last sync)" \
        if imp.new_sessions and not imp.new_jumps and not res.unlogged else ""
    out.print(
        f"synced {res.device}: [bold]{plural(imp.new_sessions, 'session')}[/], [bold]{plural(imp.new_jumps, 'jump')}[/]{idle}; "
        f"{imp.total_jumps} jumps from this clip's log in the database ({store.path})"
        + ("" if res.restarted else "; the clip is at its REPL (not counting)"),
        highlight=False,
    )


@main.command()
@db_option
@click.option("--all", "show_all", is_flag=True, help="Include sessions without jumps.")
@click.option("--last", "last", default=50, show_default=True, type=click.IntRange(0, 10**9),
              help="Only the newest N sessions (0: every one).")
@wearer_option
def sessions(db_path: str | None, show_all: bool, last: int, wearer: str | None) -> None:
    """List the sessions in the database."""
    from . import report

    path = Path(db_path) if db_path else default_db()
    if not path.exists():
        out.print(f"no sessions yet: plug in the clip and run `jumpclip sync` (the database will be {path})", highlight=False)
        return
    store = open_store(db_path)
    pick = report.pick_sessions(store, last, show_all, wearer_named(store, wearer))
    if not pick.shown:
        out.print("no sessions yet: plug in the clip and run `jumpclip sync`" if not pick.total
                  else f"{pick.total} sessions, all without jumps (--all lists them)")
        out.print(f"[dim]database: {store.path}[/]", highlight=False)
        return
    out.print(report.sessions_table(pick.shown, pick.wearer_of))
    if pick.listed > len(pick.shown):
        out.print(f"[dim]the newest {len(pick.shown)} of {pick.listed:,} sessions (--last N for more, --last 0 for all)[/]")
    if pick.hidden:
        out.print(f"[dim]{pick.hidden} sessions without jumps not shown (--all)[/]")
    out.print(f"[dim]database: {store.path}[/]", highlight=False)


@main.command()
@db_option
@click.option("--last", default=20, show_default=True, type=click.IntRange(1, 10000), help="How many notes.")
def notes(db_path: str | None, last: int) -> None:
    """What the clips reported: sensor trouble, config fallbacks, log repairs, resets."""
    store = open_store(db_path, create=False)
    rows = store.notes(last)
    if not rows:
        out.print("no notes from any clip")
        return
    for device, log_id, seq, text in rows:
        out.print(f"[dim]{device[-6:]} #{seq}[/]  {shown(text)}", highlight=False)


@main.command()
@click.argument("session", type=click.IntRange(1, 2**62))
@db_option
def show(session: int, db_path: str | None) -> None:
    """The jumps of one session (its # in `jumpclip sessions`)."""
    from . import report

    store = open_store(db_path, create=False)
    row = store.session(session)
    if row is None:
        fail(f"no session #{session}: `jumpclip sessions` lists them")
    people = store.people()
    who = people.wearer_of(row["device_id"], row["wall_start"])
    out.print(report.session_header(row) + (f", worn by {who}" if who else ""))
    out.print(report.jumps_table(row, store.jumps(row["log_id"], row["session_id"]), people.mass_of(who, row["wall_start"])))


class BodyMass(click.ParamType):
    """A body mass in kg, as wearers.check_mass allows. (click's FloatRange lets NaN through.)"""

    name = "kg"

    def convert(self, value, param, ctx):
        try:
            kg = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of kg", param, ctx)
        from .wearers import WearerError, check_mass

        try:
            return check_mass(kg)  # the one range (NaN fails it too)
        except WearerError as e:
            self.fail(str(e), param, ctx)


@main.command("body-mass")
@click.argument("kg", required=False, type=BodyMass())
@click.option("--clear", is_flag=True, help="Forget it (the reports then show g only).")
@click.option("--wearer", help="Whose (a club's database); default: yours.")
@day_option
@db_option
def body_mass(kg: float | None, clear: bool, wearer: str | None, from_day, db_path: str | None) -> None:
    """Your body mass in kg: the landing force is reported in body weights with it.

    Without KG, print the one set. The first one holds for every session; a later one from
    today (or --from) on, since body mass changes. It stays on this computer, in the database."""
    from . import wearers

    store = open_store(db_path, create=kg is not None)
    who = wearer_named(store, wearer) or wearers.DEFAULT
    whose = f"{who}'s " if who else ""
    if clear:
        store.set_body_mass(None, who)
        out.print(f"{whose}body mass cleared: reports show landing peaks in g only", highlight=False)
    elif kg is not None:
        people = store.people()
        before = people.latest_mass(who)
        since = wearers.next_since(people.masses.get(who), from_day.date() if from_day else None)
        store.set_body_mass(kg, who, since)
        when = f" from {from_day:%Y-%m-%d}" if from_day else (" from today" if since else "")
        out.print(f"{whose}body mass {kg:g} kg{when}" + (f" ({before:g} kg before)" if since and before else "")
                  + ": `jumpclip show`, `export` and `report` give landing forces in body weights", highlight=False)
    else:
        m = store.body_mass(who)
        out.print(f"{whose}body mass {m:g} kg" if m else "no body mass set: `jumpclip body-mass 70` (kg) turns on landing forces", highlight=False)


@main.command("group")
@click.argument("name", required=False, type=click.Choice(list(evidence.GROUPS)))
@click.option("--clear", is_flag=True, help="Forget it.")
@click.option("--wearer", help="The group of this wearer (`jumpclip wearer list`); without it, of the database's one wearer.")
@db_option
def group(name: str | None, clear: bool, wearer: str | None, db_path: str | None) -> None:
    """Optionally, the group you are in, so that `report` shows what the evidence says for it.

    Without NAME, print the one set. It stays on this computer, in the database."""
    from . import wearers

    store = open_store(db_path, create=name is not None)
    who = wearer_named(store, wearer) or wearers.DEFAULT
    whose = f"{who}'s " if who else ""
    key = evidence.SETTING_KEY + who
    if clear:
        store.set_setting(key, None)
        out.print(f"{whose}group cleared", highlight=False)
        return
    if name:
        store.set_setting(key, name)
    g = evidence.GROUPS.get(store.setting(key) or "")
    for line in evidence.lines(g):
        out.print(line, highlight=False)


@main.group("wearer")
def wearer_group() -> None:
    """The people who wear the clips (a club, a study): who wore which clip when.

    Nothing to set up for one wearer. A clip assigned to a wearer is theirs from then on
    (its earlier sessions too, the first time), until it is assigned to someone else."""


@wearer_group.command("add")
@click.argument("name")
@click.option("--clip", help="The clip they wear: its 12-digit id, or the last 6 digits `jumpclip sessions` shows.")
@day_option
@db_option
def wearer_add(name: str, clip: str | None, from_day, db_path: str | None) -> None:
    """Add a wearer, optionally with their clip."""
    from .wearers import WearerError, check_name

    from .wearers import find_clip

    store = open_store(db_path)
    try:
        name = check_name(name)
        device = find_clip(store.devices(), clip) if clip else None  # before anything changes: both or neither
    except WearerError as e:
        fail(str(e))
    out.print(f"added {name}" if store.add_wearer(name) else f"{name} was there already", highlight=False)
    if device:
        _assign(store, name, device, from_day)


@wearer_group.command("assign")
@click.argument("name")
@click.argument("clip")
@day_option
@db_option
def wearer_assign(name: str, clip: str, from_day, db_path: str | None) -> None:
    """NAME wears CLIP from now (or --from) on: a replaced, lost or cloned clip."""
    store = open_store(db_path, create=False)
    _assign(store, wearer_named(store, name), clip, from_day)


def _assign(store, name: str, clip: str, from_day) -> None:
    from . import wearers

    try:
        device = wearers.find_clip(store.devices(), clip)
    except wearers.WearerError as e:
        fail(str(e))
    since = wearers.next_since(store.people().clips.get(device), from_day.date() if from_day else None)
    store.assign(device, name, since)
    when = f"from {from_day:%Y-%m-%d}" if from_day else ("from now" if since else "(its earlier sessions too)")
    out.print(f"clip {device} is {name}'s {when}", highlight=False)


@wearer_group.command("list")
@db_option
def wearer_list(db_path: str | None) -> None:
    """Each wearer: their clips, sessions, jumps, last session and body mass."""
    from . import report, wearers

    store = open_store(db_path, create=False)
    rows = wearers.summaries(store.people(), store.sessions())
    if not rows:
        out.print("no wearers and no sessions yet: `jumpclip wearer add NAME --clip ID`")
        return
    out.print(report.wearers_table(rows))


@main.command()
@db_option
@click.option("--csv", "as_csv", is_flag=True, help="CSV, one row per jump (the default).")
@click.option("--json", "as_json", is_flag=True, help="JSON: sessions with their jumps.")
@click.option("--parquet", "as_parquet", is_flag=True, help="Parquet: the CSV's rows, typed, for DuckDB or pandas (needs --out).")
@click.option("--bands", "as_bands", is_flag=True, help="CSV, one row per session: its impacts per band from any movement.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write here instead of standard output.")
@wearer_option
def export(db_path: str | None, as_csv: bool, as_json: bool, as_parquet: bool, as_bands: bool, out_path: str | None,
           wearer: str | None) -> None:
    """Export every session and jump (JSON: with each session's impacts per band and its
    qualifying impacts; --bands: the bands alone, one row per session)."""
    from . import report

    chosen = [f for f, on in (("csv", as_csv), ("json", as_json), ("parquet", as_parquet), ("bands", as_bands)) if on]
    if len(chosen) > 1:
        fail(f"one format at a time: {' and '.join('--' + f for f in chosen)} were both given")
    fmt = chosen[0] if chosen else "csv"

    store = open_store(db_path, create=False)
    who = wearer_named(store, wearer)
    dest = output_path(out_path, store.path) if out_path else None
    if fmt == "parquet":
        if dest is None:
            fail("--parquet writes a file: give it with --out FILE.parquet")
        with progress_bar("exporting sessions") as progress:
            try:
                n = report.export_parquet(store, dest, who, progress)
            except OSError as e:
                fail(f"cannot write {dest}: {e.strerror or e}")
        err.print(f"wrote {out_path}: {n:,} jumps")
        return
    with progress_bar("exporting sessions") as progress:
        chunks = {"csv": report.export_csv, "bands": report.export_bands_csv, "json": report.export_json}[fmt](store, who, progress)
        if dest:
            write_chunks(dest, chunks)
        else:
            for chunk in chunks:
                sys.stdout.write(chunk)
    if dest:
        err.print(f"wrote {out_path}")


@main.group("config")
def config_group() -> None:
    """Read or change the clip's settings (config.json on the device)."""


@main.command("hold")
@port_option
def hold_cmd(port: str | None) -> None:
    """Leave the clip at its REPL for mpremote; it counts on meanwhile (`jumpclip resume` hands back)."""
    from . import device
    from .transport import TransportError

    p = choose_port(port)
    try:
        device.hold(p)
    except TransportError as e:
        fail(str(e))
    out.print(f"the clip is at its REPL; its session stays open and counting goes on. For example:\n"
              f"  mpremote connect {p} resume exec \"print(app.jumps)\"\n"
              f"back to its loop: jumpclip resume --port {p} (or any jumpclip command that talks to it)", highlight=False)


@main.command("resume")
@port_option
def resume_cmd(port: str | None) -> None:
    """Hand the clip back to its counting loop (after `jumpclip hold` or an interrupted command)."""
    from . import device
    from .transport import TransportError

    try:
        resumed = device.hand_back(choose_port(port))
    except TransportError as e:
        fail(str(e))
    if not resumed:
        fail("the clip's firmware is not running (no app at its REPL): `jumpclip deploy`, then unplug and replug it")
    out.print("the clip is counting again")


@config_group.command("get")
@click.argument("key", required=False)
@port_option
def config_get(key: str | None, port: str | None) -> None:
    """Show the clip's settings (or one of them)."""
    from . import device
    from .transport import TransportError

    try:
        cfg, errors = device.read_config(choose_port(port))
    except TransportError as e:
        fail(str(e))
    for e in errors:
        err.print(f"[yellow]the clip's config.json: {e}[/]", highlight=False)
    if key:
        if key not in cfg:
            fail(f"unknown key {key!r}; keys: {', '.join(cfg)}")
        out.print(json.dumps(cfg[key]))
    else:
        out.print_json(json.dumps(cfg))


@config_group.command("set")
@click.argument("key")
@click.argument("value")
@port_option
def config_set(key: str, value: str, port: str | None) -> None:
    """Change one setting (VALUE `default` resets it), checked against the allowed range
    and the clip's other settings before it is written."""
    from . import device
    from .fw import config as fwconfig
    from .transport import TransportError

    if key not in fwconfig.SCHEMA:
        fail(f"unknown key {key!r}; the keys are: {', '.join(fwconfig.SCHEMA)}")
    reset = value == "default"
    checked = fwconfig.SCHEMA[key][0]
    if not reset:
        checked, problem = fwconfig.check(key, device.parse_value(value))
        if problem:
            fail(problem)
    try:
        device.set_config(choose_port(port), key, checked, reset=reset)
    except TransportError as e:
        fail(str(e))
    what = f"back to its default, {json.dumps(checked)}" if reset else json.dumps(checked)
    out.print(f"{key} = {what} (takes effect when the clip starts its next session)")


@main.command()
@port_option
@click.option("--seconds", default=10.0, show_default=True, type=click.FloatRange(1, 600), help="How long to measure the sample rate.")
def doctor(port: str | None, seconds: float) -> None:
    """Bring-up checks for a clip: firmware, sensor, sample rate, bus, flash, battery, clock."""
    from . import doctor as doc
    from .transport import SerialTransport, TransportError

    marks = {doc.OK: "[green]✓[/]", doc.WARN: "[yellow]![/]", doc.FAIL: "[bold red]✗[/]"}
    try:
        checks = doc.run(SerialTransport(choose_port(port)), seconds, on_step=lambda s: err.print(f"[dim]{s}...[/]"))
    except (doc.DoctorError, TransportError) as e:
        fail(str(e))
    width = max(len(c.name) for c in checks)
    for c in checks:
        out.print(f"{marks[c.status]} {c.name.ljust(width)}  {c.detail}", highlight=False)
    failed = [c.name for c in checks if c.status == doc.FAIL]
    if failed:
        fail(f"{len(failed)} check(s) failed: {', '.join(failed)}")
    out.print("the clip is counting again", highlight=False)


@main.command()
@db_option
@click.option("--days", "n_days", default=30, show_default=True, type=click.IntRange(1, 3660))
@click.option("--png", "png_path", type=click.Path(dir_okay=False), help="Chart: daily qualifying impacts and landing peaks.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="One self-contained page for a coach or physiotherapist.")
@click.option("--qualify-g", type=click.FloatRange(1.5, 15.0), callback=lambda c, p, v: _finite(p, v), help="Landing peak that counts as a qualifying impact (default: the clip's own setting).")
@click.option("--target", type=click.IntRange(1, 1000), help="Qualifying impacts per day (default: the clip's own setting).")
@click.option("--bout-gap-min", type=click.IntRange(1, 480), help="A break this long starts a new bout (default: the clip's default, 30).")
@click.option("--target-counts", type=click.Choice(["impacts", "landings"]),
              help="What the target counts: impacts from any movement, or landings only (default: what the clip counted).")
@click.option("--wide", is_flag=True, help="Every column of the day table (forces, peaks, heights, score), whatever the terminal's width.")
@wearer_option
def report(db_path, n_days, png_path, html_path, qualify_g, target, bout_gap_min, target_counts, wide, wearer) -> None:
    """Daily bone-loading report: qualifying impacts and bouts, landing forces, loading score, weeks."""
    from . import loading, loading_views

    store = open_store(db_path, create=False)
    png_out = output_path(png_path, store.path) if png_path else None  # checked before any work
    html_out = output_path(html_path, store.path, png_path) if html_path else None
    st = loading.Settings(wearer=wearer_named(store, wearer), target_counts=loading.rule_named(target_counts))
    st.group = evidence.GROUPS.get(store.setting(evidence.SETTING_KEY + (st.wearer or "")) or "")
    if bout_gap_min:
        st.bout_gap_s = bout_gap_min * 60
    with progress_bar("reading sessions") as progress:
        ds = loading.days(store, n_days, qualify_g=qualify_g, target=target, settings=st, progress=progress)
    if not any(d.jumps or d.bands or d.impacts_qualifying for d in ds):
        out.print(f"{st.wearer} has no jumps or impacts in the last {n_days} days (`jumpclip wearer list` shows everyone's last session)"
                  if st.wearer else f"no jumps or impacts in the last {n_days} days: sync the clip with `jumpclip sync`", highlight=False)
    else:
        from rich.console import Console

        con = out if out.is_terminal else Console(width=200)  # piped: the whole table, unwrapped
        screen = loading_views.first_screen(ds)  # where the wearer stands, before the details
        for line in screen:
            out.print(line, highlight=False)
        compact = not wide and con.width < loading_views.WIDE_COLUMNS  # an 80-column terminal: the columns that fit
        if n_days <= 62 or not (png_path or html_path):
            # --wide in a narrow terminal: every column, lines longer than it rather than cut.
            con.print(loading_views.terminal_table(ds, st, compact), crop=not wide)
        else:  # months of days: the page or chart holds them, the terminal the weeks
            out.print(f"{n_days} days: the daily table is in {html_path or png_path}; the weeks:", highlight=False)
        con.print(loading_views.weeks_table(ds, st, compact))
        if n_days <= 62 or not (png_path or html_path):
            con.print(loading_views.ladder_table(ds, st, compact))
        out.print(loading_views.target_rule_text(st), highlight=False)
        for line in evidence.lines(st.group):
            out.print(line, highlight=False)
        said = any(line.startswith("Today:") for line in screen)  # the first screen gave the rest hint
        out.print(f"current streak: {loading.current_streak(ds)} day(s)." + ("" if said else f" {loading.next_bout(ds)}"))
    if png_path:
        try:
            loading_views.png(ds, png_out, st)
        except OSError as e:
            fail(f"cannot write {png_path}: {e.strerror}")
        out.print(f"wrote {png_path}")
    if html_path:
        write_text(html_out, loading_views.html_page(ds, st))
        out.print(f"wrote {html_path}")


@main.command()
@port_option
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Trace file to write.")
@click.option("--seconds", default=30, show_default=True, type=click.IntRange(1, 3600))
@click.option("--jumps", type=click.IntRange(0), help="How many jumps you did: written as the trace's label.")
@click.option("--placement", type=click.Choice(["waist", "shoe", "wrist", "other"]), help="Where the clip was worn.")
def record(port: str | None, out_path: str, seconds: int, jumps: int | None, placement: str | None) -> None:
    """Record raw accelerometer samples from the clip into a trace file."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from . import record as recmod
    from .transport import TransportError

    dest = output_path(out_path)
    port = choose_port(port)
    try:
        with Progress(TextColumn(f"recording {seconds} s: move now"), BarColumn(), TimeRemainingColumn(), console=err, transient=True) as pr:
            task = pr.add_task("record", total=None)
            rec = recmod.from_clip(port, seconds, lambda n, total: pr.update(task, advance=n, total=total))
    except TransportError as e:
        fail(str(e))
    for w in rec.warnings:
        err.print(f"[yellow]warning:[/] {w}", highlight=False)
    recmod.write(rec, dest, placement, jumps)
    out.print(f"wrote {out_path}: {len(rec.counts)} samples at {rec.info['rate_hz']} Hz (+-{rec.info['range_g']} g), "
              f"{'no gaps' if not rec.warnings else str(len(rec.warnings)) + ' gap(s): see the warnings'}")


@main.command()
@port_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), help="Also install this config.json (e.g. from `jumpclip tune`).")
@click.option("--frozen", is_flag=True, help="The clip runs an image with the firmware frozen in (docs/frozen-build.md): copy main.py only.")
def deploy(port: str | None, config_path: str | None, frozen: bool) -> None:
    """Compile firmware/ with mpy-cross and copy what changed to the clip (with mpremote)."""
    from . import deploy as deploymod

    try:
        res = deploymod.deploy(choose_port(port), log=lambda m: out.print(m, highlight=False), config=Path(config_path) if config_path else None,
                               frozen=frozen)
    except deploymod.DeployError as e:
        fail(str(e))
    kept = "the log untouched" if config_path else "config.json and the log untouched"
    out.print(f"deployed: {res.copied} copied, {res.unchanged} unchanged ({kept})")


@main.command()
@click.argument("dump", type=click.Path(dir_okay=False))
@db_option
@click.option("--device", "device_id", help="Device id to file the records under when no session record names it.")
def rescue(dump: str, db_path: str | None, device_id: str | None) -> None:
    """Import every valid record from a raw flash dump (esptool read_flash) of a clip."""
    from . import rescue as rescuemod
    from .store import StoreError

    try:
        log, found_id, where = rescuemod.rescue(dump)
    except rescuemod.RescueError as e:
        fail(str(e))
    device = found_id or device_id
    if device is None:
        fail("no session record names the device in this dump: give its id with --device (see `jumpclip sessions`)")
    out.print(f"found the log in {where}: {log.records} records, {len(log.jumps)} jumps", highlight=False)
    for line in log.report():
        err.print(f"[yellow]warning:[/] {line}", highlight=False)
    store = open_store(db_path)
    try:
        res = store.import_log(device, log, None, "rescue", log_id=log.log_id)
    except StoreError as e:
        fail(str(e))
    _say_orphans(res.orphans)
    out.print(f"rescued {device}: {res.new_sessions} new sessions, {res.new_jumps} new jumps ({res.total_jumps} in the database)")


def _say_orphans(n: int) -> None:
    if n:
        err.print(f"[yellow]warning:[/] {n} session(s) have records but no start, here or synced before (a partial "
                  "rescue, or forged records): kept, marked with an unknown time", highlight=False)


def _finite(param, value):
    """click's FloatRange lets NaN through (every comparison with it is false)."""
    import math

    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number", param=param)
    return value


def _read_config(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except ValueError as e:
        fail(f"{path}: not valid JSON ({e})")
    if not isinstance(data, dict):
        fail(f"{path}: a config is a JSON object of settings")
    return data


if __name__ == "__main__":
    main()
