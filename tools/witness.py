"""Show that the virtual board is a witness: run the tests marked `witness` against the
firmware as it was before the board learnt each chip behaviour, and expect them to fail.

    python tools/witness.py [BASE_COMMIT]

BASE_COMMIT defaults to the last commit before the model gained these behaviours. Prints one
line per test (FAILS on the old firmware, as it should / PASSES: not a witness) and exits 1
if any witness test passes on the old firmware.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE = "24c0365"  # firmware before the witness model (issue: meet the real chip)


def main() -> int:
    base = sys.argv[1] if len(sys.argv) > 1 else BASE
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "firmware"
        old.mkdir()
        names = subprocess.run(["git", "ls-tree", "--name-only", f"{base}:firmware"], cwd=REPO, check=True,
                               capture_output=True, text=True).stdout.split()
        for name in names:
            data = subprocess.run(["git", "show", f"{base}:firmware/{name}"], cwd=REPO, check=True, capture_output=True).stdout
            (old / name).write_bytes(data)
        env = dict(os.environ, JUMPCLIP_SIM_FIRMWARE=str(old))
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "witness",
                               "-rA", "tests/test_chip_witness.py"], cwd=REPO, env=env, capture_output=True, text=True)
    results = [line.split(" ", 1) for line in proc.stdout.splitlines() if line.startswith(("PASSED ", "FAILED "))]
    bad = 0
    for verdict, test in results:
        name = test.split(" - ")[0]
        if verdict == "FAILED":
            print(f"FAILS on the firmware of {base}, as it should: {name}")
        else:
            bad += 1
            print(f"PASSES on the firmware of {base}: not a witness: {name}")
    print(f"witness: {len(results) - bad} of {len(results)} tests fail on the old firmware")
    return 1 if bad or not results else 0


if __name__ == "__main__":
    sys.exit(main())
