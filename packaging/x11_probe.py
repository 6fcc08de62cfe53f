"""Launch the packaged app on an X display and time how long until its main window is shown.

    python packaging/x11_probe.py [APP] [-- APP ARGS...]

Starts its own Xvfb (a real X server), launches the app (default:
dist/EdgeAIVisionStudio/EdgeAIVisionStudio gui DEMO, DEMO a fresh demo project), polls the X server through
libX11 (ctypes, no extra tools) for a mapped top-level window whose title contains the app name, saves a
screenshot of the window (ffmpeg x11grab) when asked, closes the app and prints the seconds from launch to
window shown. Used by tests/packaging and for the README's launch time.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_APP = ROOT / "dist" / "EdgeAIVisionStudio" / "EdgeAIVisionStudio"
TITLE = "Edge AI Vision Studio"
IS_VIEWABLE = 2  # XWindowAttributes.map_state


class X11Error(Exception):
    """No X server, no libX11, or the window never appeared."""


class _XWindowAttributes(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
                ("border_width", ctypes.c_int), ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
                ("root", ctypes.c_ulong), ("c_class", ctypes.c_int), ("bit_gravity", ctypes.c_int),
                ("win_gravity", ctypes.c_int), ("backing_store", ctypes.c_int),
                ("backing_planes", ctypes.c_ulong), ("backing_pixel", ctypes.c_ulong),
                ("save_under", ctypes.c_int), ("colormap", ctypes.c_ulong), ("map_installed", ctypes.c_int),
                ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
                ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
                ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p)]


@dataclass(frozen=True)
class ShownWindow:
    title: str
    wm_class: str
    x: int
    y: int
    width: int
    height: int


class X11:
    """The few Xlib calls needed to find a mapped window by title."""

    def __init__(self, display: str) -> None:
        name = ctypes.util.find_library("X11")
        if name is None:
            raise X11Error("libX11 not found")
        x = ctypes.CDLL(name)
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XInternAtom.restype = ctypes.c_ulong
        x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                                 ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                                 ctypes.POINTER(ctypes.c_uint)]
        x.XGetWindowProperty.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long,
                                         ctypes.c_long, ctypes.c_int, ctypes.c_ulong,
                                         ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_int),
                                         ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong),
                                         ctypes.POINTER(ctypes.c_void_p)]
        x.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(_XWindowAttributes)]
        x.XFree.argtypes = [ctypes.c_void_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self._x = x
        self._dpy = x.XOpenDisplay(display.encode())
        if not self._dpy:
            raise X11Error(f"cannot open X display {display}")
        self._root = x.XDefaultRootWindow(self._dpy)
        self._atoms = {n: x.XInternAtom(self._dpy, n.encode(), 0) for n in ("_NET_WM_NAME", "WM_NAME", "WM_CLASS")}

    def close(self) -> None:
        if self._dpy:
            self._x.XCloseDisplay(self._dpy)
            self._dpy = None

    def _children(self, window: int) -> list[int]:
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children, n = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
        if not self._x.XQueryTree(self._dpy, window, ctypes.byref(root), ctypes.byref(parent),
                                  ctypes.byref(children), ctypes.byref(n)):
            return []
        out = [children[i] for i in range(n.value)]
        if children:
            self._x.XFree(children)
        return out

    def _property(self, window: int, atom: str) -> bytes:
        actual_type, fmt = ctypes.c_ulong(), ctypes.c_int()
        n_items, after, data = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
        ok = self._x.XGetWindowProperty(self._dpy, window, self._atoms[atom], 0, 1024, 0, 0,  # 0 = AnyPropertyType
                                        ctypes.byref(actual_type), ctypes.byref(fmt), ctypes.byref(n_items),
                                        ctypes.byref(after), ctypes.byref(data))
        if ok != 0 or not data:
            return b""
        value = ctypes.string_at(data, n_items.value) if fmt.value == 8 else b""
        self._x.XFree(data)
        return value

    def find_window(self, title_part: str) -> ShownWindow | None:
        """A viewable window (any depth: a window manager may reparent) whose title contains ``title_part``."""
        stack = self._children(self._root)
        while stack:
            w = stack.pop()
            name = (self._property(w, "_NET_WM_NAME") or self._property(w, "WM_NAME")).decode("utf-8", "replace")
            if title_part in name:
                attrs = _XWindowAttributes()
                if self._x.XGetWindowAttributes(self._dpy, w, ctypes.byref(attrs)) and attrs.map_state == IS_VIEWABLE:
                    wm_class = self._property(w, "WM_CLASS").replace(b"\0", b" ").decode("utf-8", "replace").strip()
                    return ShownWindow(name, wm_class, attrs.x, attrs.y, attrs.width, attrs.height)
            stack.extend(self._children(w))
        return None


@dataclass(frozen=True)
class LaunchResult:
    seconds_to_window: float
    window: ShownWindow
    screenshot: Path | None


def start_xvfb(size: str = "1600x1000x24") -> tuple[subprocess.Popen, str]:
    """A private Xvfb; -displayfd lets the server pick a free display number and tell us."""
    if shutil.which("Xvfb") is None:
        raise X11Error("Xvfb not found (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        raise X11Error("Xvfb did not start")
    return proc, f":{number}"


def launch_and_wait(cmd: list[str], display: str, timeout: float = 120.0, screenshot: Path | None = None,
                    settle: float = 8.0, env: dict[str, str] | None = None) -> LaunchResult:
    """Run ``cmd`` on ``display``; return once its main window is viewable (then the app is closed)."""
    x11 = X11(display)
    child_env = {**(env or os.environ), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    start = time.monotonic()
    app = subprocess.Popen(cmd, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           start_new_session=True)
    try:
        while True:
            window = x11.find_window(TITLE)
            if window is not None:
                seconds = time.monotonic() - start
                break
            if app.poll() is not None:
                raise X11Error(f"the app exited with {app.returncode} before showing a window:\n"
                               + app.stderr.read().decode(errors="replace")[-3000:])
            if time.monotonic() - start > timeout:
                raise X11Error(f"no window titled {TITLE!r} within {timeout:.0f} s")
            time.sleep(0.05)
        shot = None
        if screenshot is not None:
            time.sleep(settle)  # the project opens after the first paint; let the grid fill before the picture
            shot = _screenshot(display, window, screenshot)
        return LaunchResult(seconds, window, shot)
    finally:
        x11.close()
        _stop(app)


def _screenshot(display: str, window: ShownWindow, out: Path) -> Path | None:
    if shutil.which("ffmpeg") is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "x11grab",
                    "-video_size", f"{window.width}x{window.height}",
                    "-i", f"{display}+{window.x},{window.y}", "-frames:v", "1", str(out)],
                   check=True, timeout=60)
    return out


def _stop(app: subprocess.Popen) -> None:
    if app.poll() is None:
        os.killpg(app.pid, signal.SIGTERM)  # its own session: the app and any child it started
        try:
            app.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait()
    if app.stderr is not None:
        app.stderr.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="time from launch to main window shown, under Xvfb")
    parser.add_argument("app", nargs="?", default=str(DEFAULT_APP))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--screenshot", type=Path, help="save a PNG of the window (first run)")
    args = parser.parse_args(argv)
    xvfb, display = start_xvfb()
    try:
        with tempfile.TemporaryDirectory(prefix="edge-studio-launch-") as tmp:
            demo = Path(tmp) / "demo"
            subprocess.run([args.app, "demo", str(demo)], check=True, stdout=subprocess.DEVNULL)
            # A fresh QSettings location per measurement: nothing remembered from earlier runs.
            env = {**os.environ, "XDG_CONFIG_HOME": str(Path(tmp) / "config")}
            times = []
            for i in range(args.runs):
                result = launch_and_wait([args.app, "gui", str(demo)], display,
                                         screenshot=args.screenshot if i == 0 else None, env=env)
                times.append(result.seconds_to_window)
                print(f"run {i + 1}: window {result.window.title!r} ({result.window.width}x{result.window.height}, "
                      f"WM_CLASS {result.window.wm_class!r}) shown after {result.seconds_to_window:.2f} s")
            print(f"launch to window shown: median {sorted(times)[len(times) // 2]:.2f} s over {len(times)} runs")
    except X11Error as exc:
        print(f"x11_probe: error: {exc}", file=sys.stderr)
        return 1
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
