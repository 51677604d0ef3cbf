"""The `jumpclip` command: a table of subcommands. Each parses its arguments, calls library
functions and prints; the work lives in the modules. User errors end in one line on stderr
and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import __version__

out = Console()
err = Console(stderr=True, soft_wrap=True)  # an error is one line, however long


class UserError(click.ClickException):
    """Shown as `error: <message>` with exit status 1."""

    def show(self, file=None) -> None:  # one line, no "Usage:" noise
        err.print(f"[bold red]error:[/] {self.format_message()}", highlight=False)


def fail(msg: str) -> None:
    raise UserError(msg)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jumpclip")
def main() -> None:
    """Desktop tools for the jumpclip jump counter."""


# --- virtual board --------------------------------------------------------------------
@main.command()
@click.option("--trace", "trace_path", required=True, type=click.Path(dir_okay=False), help="Trace the sensor replays.")
@click.option("--workdir", type=click.Path(file_okay=False), help="Keep the flash image and logs here.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.json to put on the flash.")
@click.option("--no-sensor", is_flag=True, help="Boot with no MPU6050 on the bus.")
def sim(trace_path: str, workdir: str | None, config_path: str | None, no_sensor: bool) -> None:
    """Start the virtual board on a trace and serve its USB console on a pseudo-terminal."""
    from .sim.board import BoardError, BoardOptions, VirtualBoard
    from .traces import TraceError

    cfg = _read_config(config_path) if config_path else None
    wd = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="jumpclip-sim-"))
    board = VirtualBoard(wd, BoardOptions(config=cfg, sensor=not no_sensor))
    try:
        board.flash_firmware()
        board.load_trace(trace_path)
        port = board.serve()
        board.start(interactive=True)
    except (BoardError, TraceError) as e:
        fail(str(e))
    out.print(f"virtual board on [bold]{port}[/]  (flash image: {board.image})")
    out.print(f"try: mpremote connect {port} resume repl    — Ctrl-C here stops the board")
    try:
        while not board.exited.is_set():
            time.sleep(0.2)
        out.print("virtual board exited")
    except KeyboardInterrupt:
        out.print("stopping the virtual board")
    finally:
        board.stop()


@main.command()
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False), help="Trace to count (default: the bundled demo).")
def demo(trace_path: str | None) -> None:
    """Run the virtual board on a trace and show what the clip counted."""
    from .sim.board import BoardError, run_trace
    from .traces import TraceError

    path = Path(trace_path) if trace_path else DEMO_TRACE
    out.print(f"[bold]jumpclip demo[/]: the firmware on the virtual board, replaying {path.name}")
    with tempfile.TemporaryDirectory(prefix="jumpclip-demo-") as wd:
        t0 = time.monotonic()
        try:
            run = run_trace(path, wd)
        except (BoardError, TraceError) as e:
            fail(str(e))
        wall = time.monotonic() - t0
    for line in run.console.splitlines():
        out.print("  [dim]device>[/] " + line, highlight=False)
    if run.returncode != 0 or run.report.get("crashed"):
        fail(f"the firmware did not finish cleanly (exit {run.returncode}); see the device output above")
    jumps = run.jumps()
    virt = run.report.get("clock_s", 0.0)
    out.print(
        f"\n[bold green]{len(jumps)} jumps counted[/] in {virt:.1f} s of device time "
        f"({wall:.2f} s on this computer)"
    )


DEMO_TRACE = Path(__file__).resolve().parent / "data" / "demo_session.csv"


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
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Detector config (JSON).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def replay(paths: tuple[str, ...], config_path: str | None, as_json: bool) -> None:
    """Run traces through the firmware's detector and list the landings."""
    from . import replay as rp
    from .traces import TraceError, read_trace

    cfg = _read_config(config_path) if config_path else {}
    try:
        rp.make_detector(cfg)
    except ValueError as e:
        fail(f"{config_path}: {e}")
    files = []
    failed = 0
    for p in paths:
        try:
            tr = read_trace(p)
            evs, c = rp.detect_trace(tr, cfg)
        except TraceError as e:
            failed += 1
            files.append({"path": p, "error": str(e), "count": 0, "events": []})
            continue
        files.append(
            {
                "path": p,
                "rate_hz": c["rate_hz"],
                "duration_s": round(tr.duration_s, 3),
                "count": len(evs),
                "events": [rp.event_fields(e, c, float(tr.t[0])) for e in evs],
                "notes": tr.notes,
                "error": None,
            }
        )
    if as_json:
        print(json.dumps({"files": files}, indent=1))
    else:
        for f in files:
            if f["error"]:
                err.print(f"[red]{f['error']}[/]", highlight=False)
                continue
            for note in f["notes"]:
                err.print(f"[yellow]{f['path']}: {note}[/]", highlight=False)
            out.print(f"[bold]{f['path']}[/]: {f['count']} landings", highlight=False, soft_wrap=True)
            t = Table()
            for col in ("t_s", "peak_g", "airtime_s", "height_cm"):
                t.add_column(col, justify="right")
            for e in f["events"]:
                t.add_row(*(str(e[k]) for k in ("t_s", "peak_g", "airtime_s", "height_cm")))
            out.print(t)
    if failed:
        sys.exit(1)


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
