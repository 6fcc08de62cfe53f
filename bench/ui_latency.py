"""UI latency of the desktop studio: launch-to-window-shown, and the longest stall of the UI event loop
(a 5 ms QTimer probe) while importing images and while scrolling the thumbnail grid.

    .venv/bin/python bench/ui_latency.py [--images 5000] [--scroll-images 0] [--launches 3]

Goals (issue 28): window shown within 0.6 s offscreen; no stall of the UI loop longer than one frame at 60 Hz
(16 ms) while importing 5,000 images, scrolling the grid, or training a cnn for --train-epochs on the Train page
of a 600-image demo project (the run is a child process; curves and progress update live). Issue 5 had 1.5 s
and 50 ms. The launch row names the heavy modules the start-up path loaded (they should load on first use).
Runs offscreen unless DISPLAY is set and QT_QPA_PLATFORM is not (e.g. under xvfb-run). Measure with bytecode
caching on (PYTHONDONTWRITEBYTECODE unset), as an installed app runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GOAL_SHOWN_S = 0.6
GOAL_STALL_MS = 16.0  # one frame at 60 Hz (issue 28; issue 5's goal was 50 ms)
PROBE_MS = 5


# What the start-up path should not load (issue 28: they load on first use); the launch row names those it did.
HEAVY_MODULES = ("tensorflow", "keras", "pyqtgraph", "cleanlab", "scipy", "pandas", "sklearn", "onnx",
                 "onnxruntime", "cryptography", "segno", "studio.core.health.check", "studio.core.training.pretrained",
                 "studio.gui.parts.review_view", "numpy", "cv2")


# ----- launch ------------------------------------------------------------------------------------
def _child_launch(settings_dir: str) -> None:
    """Runs in a fresh interpreter: build the window like `edge-studio gui` and print when it is exposed.
    (It exits right after, so the TensorFlow warm-up that follows is not started.)"""
    os.environ["STUDIO_NO_WARMUP"] = "1"
    from PySide6.QtCore import QSettings

    from studio.gui.app import create_application

    app = create_application()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    from studio.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    while window.windowHandle() is None or not window.windowHandle().isExposed():
        app.processEvents()
    app.processEvents()  # the first paint
    loaded = [m for m in HEAVY_MODULES if m in sys.modules]
    print(f"exposed {time.time():.6f} tensorflow_loaded={'tensorflow' in sys.modules} "
          f"loaded={','.join(loaded) or '-'} modules={len(sys.modules)}", flush=True)


LAUNCH_INFO: dict[str, str] = {}


def measure_launch(runs: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as settings:
        for _ in range(runs):
            t0 = time.time()
            out = subprocess.run([sys.executable, __file__, "--child-launch", settings], capture_output=True,
                                 text=True, cwd=ROOT, timeout=120)
            line = next((ln for ln in out.stdout.splitlines() if ln.startswith("exposed")), None)
            if line is None:
                raise RuntimeError(f"launch child failed: {out.stderr[-2000:]}")
            times.append(float(line.split()[1]) - t0)
            LAUNCH_INFO.update(kv.split("=", 1) for kv in line.split()[2:] if "=" in kv)
    return times


# ----- event-loop probe --------------------------------------------------------------------------
class StallProbe:
    """A 5 ms repeating timer; the gap between two ticks beyond its interval is a stall of the loop."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last:
            self.gaps.append((now - self._last) * 1000.0)
        self._last = now

    def start(self) -> None:
        self.gaps.clear()
        self._last = 0.0
        self._timer.start()

    def stop(self) -> dict[str, float]:
        self._timer.stop()
        gaps = sorted(self.gaps) or [0.0]
        return {"max_gap_ms": round(gaps[-1], 1), "p99_gap_ms": round(gaps[int(0.99 * (len(gaps) - 1))], 1),
                "median_gap_ms": round(statistics.median(gaps), 1), "ticks": len(self.gaps),
                "gaps_over_50ms": sum(g > 50 for g in gaps)}


class StallTracer:
    """Diagnosis (--trace-stalls): a thread samples the UI thread's Python stack every 2 ms; for each probe
    gap over one frame (GOAL_STALL_MS) it prints what the UI thread was doing. A hole in the samples means
    the UI thread held the GIL (or the sampler could not get it) for that long."""

    def __init__(self, probe: StallProbe) -> None:
        import threading

        self._probe = probe
        self._main = threading.main_thread().ident
        self._samples: list[tuple[float, tuple[str, ...]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._gap_starts: list[tuple[float, float]] = []
        original = probe._tick

        def tick() -> None:
            now = time.perf_counter()
            if probe._last and (now - probe._last) > GOAL_STALL_MS / 1000:
                self._gap_starts.append((probe._last, now))
            original()

        probe._timer.timeout.disconnect()
        probe._timer.timeout.connect(tick)

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = sys._current_frames().get(self._main)
            stack = []
            while frame is not None and len(stack) < 8:
                code = frame.f_code
                stack.append(f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}")
                frame = frame.f_back
            self._samples.append((time.perf_counter(), tuple(stack)))
            time.sleep(0.002)

    def start(self) -> None:
        self._thread.start()

    def report(self, label: str) -> None:
        from collections import Counter

        for start, end in self._gap_starts:
            inside = [s for t, s in self._samples if start <= t <= end]
            times = [t for t, _ in self._samples if start <= t <= end]
            holes = max((b - a for a, b in zip([start, *times], [*times, end])), default=0)
            print(f"[{label}] gap {1000 * (end - start):.0f} ms: {len(inside)} samples, largest hole "
                  f"{1000 * holes:.0f} ms")
            for stack, n in Counter(inside).most_common(4):
                print(f"    {n:3d}x " + " <- ".join(stack[:6]))
        self._samples.clear()
        self._gap_starts.clear()


def _write_images(folder: Path, n: int, seed: int, size: int = 32) -> None:
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    for i in range(n):
        sub = folder / f"class_{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(sub / f"img_{seed}_{i:05d}.png"), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def _wait(app, condition, timeout_s: float = 600) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        app.processEvents()
        time.sleep(0.001)  # the probe and the workers keep running; this only yields the CPU


def _run_until(app, signal, start) -> None:  # noqa: ANN001
    """Run the real event loop (not a processEvents loop) until ``signal`` fires."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    signal.connect(loop.quit)
    start()
    loop.exec()
    signal.disconnect(loop.quit)


class _LoopUntil:
    """Run the real event loop until a condition holds (checked every 10 ms)."""

    def __init__(self, app, condition) -> None:  # noqa: ANN001
        from PySide6.QtCore import QEventLoop, QTimer

        self._loop = QEventLoop()
        self._check = QTimer()
        self._check.setInterval(10)
        self._check.timeout.connect(lambda: condition() and self._loop.quit())

    def run(self) -> None:
        self._check.start()
        self._loop.exec()
        self._check.stop()


def _settle(app, seconds: float) -> None:  # noqa: ANN001
    end = time.monotonic() + seconds
    _wait(app, lambda: time.monotonic() >= end, seconds + 5)


def _measure_training(app, window, probe: StallProbe, tmp: Path, epochs: int) -> dict:  # noqa: ANN001
    """Issue 6: the event loop while a run trains (a child process) with live curves, on the Train page."""
    from studio.core.project.demo import create_demo_project

    demo, _ = create_demo_project(tmp / "demo", limit=600)
    demo.close()
    window.open_project(tmp / "demo")
    window.show_page(2)  # the page's first paint (fonts, plots) is not part of training
    _settle(app, 2.0)
    page = window.pages.train
    page.set_arch("cnn")
    page.with_aug.setChecked(False)
    page.epochs.setValue(epochs)
    ended: list[str] = []
    page.queue.run_ended.connect(lambda e: ended.append(str(e.status)))
    epochs_seen: list[int] = []
    page.queue.epoch_end.connect(lambda event: epochs_seen.append(event.epoch))
    probe.start()
    t0 = time.perf_counter()
    page.queue_button.click()
    _LoopUntil(app, lambda: bool(ended)).run()
    return {**probe.stop(), "status": ended[0], "epochs": len(epochs_seen),
            "seconds": round(time.perf_counter() - t0, 2)}


def measure_import_and_scroll(n_images: int, scroll_images: int, images_page_only: bool = False,
                              train_epochs: int = 0, trace: bool = False) -> dict[str, dict]:
    from PySide6.QtCore import QSettings, Qt, QTimer

    from studio.core.images.importer import import_paths
    from studio.core.project.store import Project
    from studio.gui.app import create_application

    app = create_application()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="ui-latency-") as tmp_s:
        tmp = Path(tmp_s)
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
        from studio.gui.main_window import MainWindow

        print(f"generating {n_images:,} images…", flush=True)
        _write_images(tmp / "drop", n_images, seed=1)
        project = Project.create(tmp / "project")
        # As in the app: TensorFlow loads in the background after the window shows. The probes start once it
        # is loaded, so they measure the studio's own UI work, not a one-off 5 s import at start-up.
        if images_page_only:
            # The Images page alone (same size): separates its own stalls from the other pages' reactions.
            from PySide6.QtWidgets import QMainWindow

            from studio.gui.pages.images_page import ImagesPage
            from studio.gui.session import Session

            window = QMainWindow()
            window.session = Session(window)
            window.images_page = ImagesPage(window.session)
            window.setCentralWidget(window.images_page)
            window.resize(1280, 800)
            window.show()
            window.session.set_project(Project.open(project.root))
        else:
            window = MainWindow(warm_up=True)
            tf_ready: list[str] = []
            window.tensorflow_ready.connect(tf_ready.append)
            window.resize(1280, 800)
            window.show()
            _wait(app, lambda: bool(tf_ready), 180)
            window.open_project(project.root)
        page = window.images_page
        page.show_reports = False
        _wait(app, lambda: window.windowHandle() is not None and window.windowHandle().isExposed())
        _settle(app, 3.0)  # let the other pages finish reacting to the opened project

        probe = StallProbe()
        tracer = StallTracer(probe) if trace else None
        if tracer:
            tracer.start()
        probe.start()
        t0 = time.perf_counter()
        _run_until(app, page.import_finished, lambda: page.import_paths([str(tmp / "drop")]))
        seconds = time.perf_counter() - t0
        _wait(app, lambda: page.model.rowCount() == n_images, 30)
        results["import"] = {**probe.stop(), "images": n_images, "seconds": round(seconds, 2),
                             "images_per_s": round(n_images / seconds)}
        print("import", results["import"], flush=True)
        if tracer:
            tracer.report("import")

        if scroll_images > n_images:
            extra = scroll_images - n_images
            print(f"adding {extra:,} more images for the scroll test…", flush=True)
            _write_images(tmp / "more", extra, seed=2)
            import_paths(window.session.project, [tmp / "more"])
            window.session.images_changed.emit()
            _wait(app, lambda: page.model.rowCount() == scroll_images, 60)
        _settle(app, 1.0)

        # A fast flick through the whole grid, one step per 16 ms frame, driven by the real event loop.
        bar = page.grid.verticalScrollBar()
        bar.setValue(0)
        scroller = QTimer()
        scroller.setTimerType(Qt.TimerType.PreciseTimer)
        scroller.setInterval(16)
        step = 240  # px per frame: about 15,000 px/s
        scroller.timeout.connect(lambda: bar.setValue(min(bar.maximum(), bar.value() + step)))
        frames = {"n": 0}
        bar.valueChanged.connect(lambda _v: frames.__setitem__("n", frames["n"] + 1))
        probe.start()
        t0 = time.perf_counter()
        done = _LoopUntil(app, lambda: bar.value() >= bar.maximum())
        scroller.start()
        done.run()
        scroller.stop()
        seconds = time.perf_counter() - t0
        results["scroll"] = {**probe.stop(), "images": page.model.rowCount(), "steps": frames["n"],
                             "seconds": round(seconds, 2), "thumbnails_made": page.cache.made}
        print("scroll", results["scroll"], flush=True)
        if tracer:
            tracer.report("scroll")
        if train_epochs:
            results["train"] = _measure_training(app, window, probe, tmp, train_epochs)
            print("train", results["train"], flush=True)
            if tracer:
                tracer.report("train")
        window.close()
        from studio.gui.jobs.workers import cancel_all_and_wait

        cancel_all_and_wait()
    return results


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child-launch":
        _child_launch(sys.argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--scroll-images", type=int, default=0, help="grow the project to this many before "
                        "the scroll test (e.g. 20000)")
    parser.add_argument("--launches", type=int, default=3)
    parser.add_argument("--images-page-only", action="store_true",
                        help="measure the Images page alone in a window (no other pages listening)")
    parser.add_argument("--train-epochs", type=int, default=3,
                        help="then train a cnn for this many epochs on the Train page (0 = skip)")
    parser.add_argument("--trace-stalls", action="store_true",
                        help="print what the UI thread was doing during each stall over 16 ms (diagnosis)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "ui_latency.json"))
    args = parser.parse_args()

    launches = measure_launch(args.launches)
    print("launch to window shown (s):", [round(t, 3) for t in launches], flush=True)
    print(f"loaded by the launch (of {', '.join(HEAVY_MODULES)}): {LAUNCH_INFO.get('loaded', '?')}; "
          f"{LAUNCH_INFO.get('modules', '?')} modules in all", flush=True)
    train_epochs = 0 if args.images_page_only else args.train_epochs
    results = measure_import_and_scroll(args.images, args.scroll_images, args.images_page_only, train_epochs,
                                        args.trace_stalls)
    results["images_page_only"] = args.images_page_only
    results["launch"] = {"runs_s": [round(t, 3) for t in launches], "median_s": round(statistics.median(launches), 3),
                         "loaded": LAUNCH_INFO.get("loaded", "?")}
    # Stalls on a shared 2-core machine depend on what else runs: record the load next to the numbers.
    results["platform"] = {"qpa": os.environ.get("QT_QPA_PLATFORM", "xcb"), "cpus": os.cpu_count(),
                           "load_avg_1m_at_end": round(os.getloadavg()[0], 2), "nice": os.nice(0)}

    rows = [("launch to window shown", f"{results['launch']['median_s']:.2f} s (median of {len(launches)})",
             f"<= {GOAL_SHOWN_S} s", results["launch"]["median_s"] <= GOAL_SHOWN_S),
            (f"longest stall, importing {args.images:,}", f"{results['import']['max_gap_ms'] - PROBE_MS:.0f} ms",
             f"<= {GOAL_STALL_MS:.0f} ms", results["import"]["max_gap_ms"] - PROBE_MS <= GOAL_STALL_MS),
            (f"longest stall, scrolling {results['scroll']['images']:,}",
             f"{results['scroll']['max_gap_ms'] - PROBE_MS:.0f} ms", f"<= {GOAL_STALL_MS:.0f} ms",
             results["scroll"]["max_gap_ms"] - PROBE_MS <= GOAL_STALL_MS)]
    if "train" in results:
        rows.append((f"longest stall, training cnn ({results['train']['epochs']} ep)",
                     f"{results['train']['max_gap_ms'] - PROBE_MS:.0f} ms", f"<= {GOAL_STALL_MS:.0f} ms",
                     results["train"]["max_gap_ms"] - PROBE_MS <= GOAL_STALL_MS))
    print()
    print(f"{'measure':<36} {'result':<24} {'goal':<18} ok")
    for name, value, goal, ok in rows:
        print(f"{name:<36} {value:<24} {goal:<18} {'yes' if ok else 'NO'}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"\nload average (1 min) at the end: {results['platform']['load_avg_1m_at_end']} on "
          f"{os.cpu_count()} CPUs; nice {results['platform']['nice']}")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set, so no .pyc files: every launch compiles the studio's sources "
              "and a module first imported on the UI thread stalls it while it compiles. An installed or packaged "
              "app has its bytecode; run `env -u PYTHONDONTWRITEBYTECODE ...` to measure what users get.")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
