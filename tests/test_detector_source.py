"""One detector source: the clip's compiled copy is generated from firmware/detector.py."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO_ROOT as ROOT

sys.path.insert(0, str(ROOT / "tools"))
import gen_viper  # noqa: E402


def test_the_viper_copy_is_generated_and_fresh():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_viper.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (ROOT / "firmware" / "detector_viper.py").read_text() == gen_viper.generate((ROOT / "firmware" / "detector.py").read_text())


def test_a_hand_edit_of_the_viper_copy_is_caught(tmp_path, monkeypatch):
    # The check itself can fail: an edited copy (one comparison flipped) is reported stale.
    edited = tmp_path / "detector_viper.py"
    edited.write_text((ROOT / "firmware" / "detector_viper.py").read_text().replace("t - cross_t >= pw", "t - cross_t > pw", 1))
    monkeypatch.setattr(gen_viper, "TARGET", edited)
    assert gen_viper.main(["--check"]) == 1


def test_the_generator_refuses_a_reference_it_does_not_understand():
    src = (ROOT / "firmware" / "detector.py").read_text().replace("x = s[j] >> 1", "x = s[j] >> SHIFT")
    try:
        gen_viper.generate(src)
    except gen_viper.GenError as e:
        assert "expected text not found" in str(e)
    else:
        raise AssertionError("a changed reference must stop the generator, not be guessed at")
