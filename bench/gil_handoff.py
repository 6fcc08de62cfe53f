"""What one Qt call costs on the window's thread while a job thread runs Python, at Python's default GIL
switch interval and at the studio's (studio.gui.app.UI_SWITCH_INTERVAL_S). A paint of the grid or of the
curves makes hundreds of such calls, so this cost is what a job adds to each frame.

    .venv/bin/python bench/gil_handoff.py [--calls 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _per_call_us(calls: int, interval: float | None) -> float:
    from PySide6.QtCore import QRect

    stop = threading.Event()

    def job() -> None:  # a job thread running Python (as the thumbnail and analysis jobs do)
        x = 0
        while not stop.is_set():
            x += 1

    old = sys.getswitchinterval()
    thread = None
    if interval is not None:
        sys.setswitchinterval(interval)
        thread = threading.Thread(target=job)
        thread.start()
        time.sleep(0.05)
    try:
        started = time.perf_counter()
        for _ in range(calls):
            QRect(0, 0, 10, 10)
        return (time.perf_counter() - started) / calls * 1e6
    finally:
        stop.set()
        if thread is not None:
            thread.join()
        sys.setswitchinterval(old)


def main() -> int:
    from studio.gui.app import UI_SWITCH_INTERVAL_S

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = [("no job thread", None), ("job thread, Python's default 5 ms", 0.005),
            (f"job thread, studio's {UI_SWITCH_INTERVAL_S * 1000:g} ms", UI_SWITCH_INTERVAL_S)]
    results = {label: [] for label, _ in rows}
    for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits every row alike
        for label, interval in rows:
            results[label].append(_per_call_us(args.calls, interval))
    print(f"\n{'one Qt call on the window thread':40} {'median us':>10} {'runs':>24}")
    for label, _ in rows:
        values = results[label]
        print(f"{label:40} {statistics.median(values):10.1f} {' '.join(f'{v:.1f}' for v in values):>24}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
