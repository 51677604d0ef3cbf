"""The firmware frozen into a MicroPython image (firmware/manifest.py), and its heap on a
32-bit build, as on the ESP32.

The manifest test runs everywhere. The build tests need a MicroPython source tree
($MICROPY_SRC; bench/heap_bench.py says how) and gcc's 32-bit support: CI has neither (the
source cannot be fetched there), so they skip with that reason; `make bench-heap` runs the
same builds and prints the figures."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from bench import heap_bench
from jumpclip.fw import FIRMWARE_DIR, MANIFEST, board_files


class _ManifestAPI:
    """The functions MicroPython's tools/manifestfile.py gives a manifest (include, module,
    options), recording what it asks for."""

    def __init__(self, **options):
        self.modules: list[tuple[str, int | None]] = []
        self.includes: list[str] = []
        self.opts = options

    def run(self) -> None:
        api = self

        class Options:
            def __getattr__(self, name):
                return api.opts.get(name)

        code = (FIRMWARE_DIR / MANIFEST).read_text()
        exec(compile(code, MANIFEST, "exec"), {"module": self.module, "include": self.includes.append, "options": Options()})

    def module(self, path, base_path=".", opt=None):
        self.modules.append((path, opt))


def test_the_manifest_freezes_every_board_file_but_main_at_deploys_level():
    api = _ManifestAPI()
    api.run()
    # main.py stays on the flash: the ESP32 port runs main.py from the filesystem only.
    expected = sorted(p.name for p in board_files() if p.name != "main.py")
    assert sorted(m for m, _ in api.modules) == expected
    assert {opt for _, opt in api.modules} == {2}  # `jumpclip deploy` compiles with -O2
    assert api.includes == []  # alone (the unix test build): nothing of a port's


def test_an_esp32_build_keeps_the_ports_own_frozen_modules():
    api = _ManifestAPI(port=True)
    api.run()
    assert api.includes == ["$(PORT_DIR)/boards/manifest.py"]  # its _boot.py mounts the flash


needs_source = pytest.mark.skipif(
    heap_bench.source() is None or shutil.which("make") is None,
    reason=heap_bench.why_no_source() if heap_bench.source() is None else "make is not installed",
)


@needs_source
def test_the_frozen_firmware_keeps_its_peak_heap_within_32_kb_on_32_bits():
    src = heap_bench.source()
    with tempfile.TemporaryDirectory() as tds:
        exe, opts = heap_bench.layouts(src, Path(tds))["frozen (firmware/manifest.py)"]
        peaks = [heap_bench.demo_peak(exe, opts, Path(tds)) for _ in range(3)]
    assert all(landings == 20 for _, landings in peaks)
    assert max(p for p, _ in peaks) <= 32 * 1024, peaks


@needs_source
@pytest.mark.timeout(900)  # the builds, the heap's calibration (a dozen short boots), then the hour
def test_an_hour_with_syncs_fits_the_esp32s_56_kb_heap_frozen():
    src = heap_bench.source()
    with tempfile.TemporaryDirectory() as tds:
        td = Path(tds)
        exe, opts = heap_bench.layouts(src, td)["frozen (firmware/manifest.py)"]
        heap, free = heap_bench.heap_for(exe, opts, heap_bench.ESP32_HEAP_KB, td)
        r = heap_bench.day_with_syncs(exe, opts, heap, td, hours=1.0)
    assert r["memory_errors"] == 0 and not r["sync_errors"], r
    assert r["counted"] > 1000 and r["stored"] == r["counted"], r


def _deploy_frozen_to(tmp_path, opts):
    """`jumpclip deploy --frozen` to a virtual board with opts: (the CLI's result, the board
    still running)."""
    from click.testing import CliRunner

    from jumpclip.cli import main as cli
    from jumpclip.sim.board import VirtualBoard

    board = VirtualBoard(tmp_path / "b", opts)
    board.flash_firmware()
    board.load_trace(heap_bench.DEMO)
    port = board.serve()
    board.start(interactive=True)
    try:
        return CliRunner().invoke(cli, ["deploy", "--frozen", "--port", port]), board
    except BaseException:
        board.stop()
        raise


@needs_source
def test_deploy_frozen_copies_main_only_and_removes_what_would_shadow_the_image(tmp_path, monkeypatch):
    from jumpclip.sim.board import BoardOptions

    exe, _ = heap_bench.layouts(heap_bench.source(), tmp_path)["frozen (firmware/manifest.py)"]
    monkeypatch.setenv("MICROPYTHON", str(exe))
    # A clip that ran the firmware from its flash before the frozen image was flashed: a
    # stale detector.py there would shadow the frozen one.
    stale = {"main.py": (FIRMWARE_DIR / "main.py").read_bytes(), "detector.py": b"raise ImportError('stale')\n"}
    res, board = _deploy_frozen_to(tmp_path, BoardOptions(firmware=False, files=stale, config={"idle_min": 0}))
    try:
        assert res.exit_code == 0, res.output
        assert "removed detector.py" in res.output
        assert board.wait_for("counting: session 1 of boot", 30), board.console_text()[-1500:]
    finally:
        board.stop()


def test_deploy_frozen_refuses_an_image_without_the_firmware(tmp_path):
    # The PyPI unix port has nothing of jumpclip frozen in: --frozen must not leave a clip
    # with main.py and no modules.
    from jumpclip.sim.board import BoardOptions

    res, board = _deploy_frozen_to(tmp_path, BoardOptions(firmware=False))
    board.stop()
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert "does not have jumpclip frozen in" in res.output
