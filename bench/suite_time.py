"""The test suite's last whole run (recorded by tests/conftest.py into bench/out/suite_time.json), beside its goal.

    .venv/bin/python bench/suite_time.py

Goal (issue 28): the whole suite (`make test`: `pytest -n 2`) in <= 12 minutes on the 2-core machine; CI's limit
is 20. This reads the record; it does not run the suite (~15 minutes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "bench" / "out" / "suite_time.json"
GOAL_S = 12 * 60


def main() -> int:
    try:
        r = json.loads(RECORD.read_text())
    except (OSError, ValueError):
        print(f"suite_time: no whole-suite run recorded in {RECORD}; run `make test`")
        return 0
    minutes = r["seconds"] / 60
    print(f"{'whole suite':24}{'minutes':>9}{'tests':>7}{'failed':>8}{'workers':>9}{'cpus':>6}  finished")
    print(f"{'':24}{minutes:9.1f}{r['collected']:7d}{r['failed']:8d}{r['workers']:9}{r['cpus']:6}  {r['finished_at']}")
    print(f"goal <= {GOAL_S // 60} min: {'met' if r['seconds'] <= GOAL_S else 'NOT met'} "
          f"({(r['seconds'] - GOAL_S) / 60:+.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
