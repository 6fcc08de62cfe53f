"""Terminal output for commands: JSON lines, tables and a progress bar on a terminal (stderr)."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from studio.core.events import CancelToken
from studio.core.safe_text import terminal


class SafeTextStream:
    """stdout/stderr for text output: names from users' files cannot drive the terminal (escape sequences,
    undecodable bytes are escaped); the line breaks and carriage returns we write ourselves pass."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(terminal(text, keep="\n\r\t"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def emit_json(obj: Any, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    if isinstance(stream, SafeTextStream):
        stream = stream._stream  # JSON escapes its own control characters; a second escape would break it
    stream.write(json.dumps(obj, default=str) + "\n")
    stream.flush()


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, r in enumerate(cells):
        stream.write("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n")
        if n == 0:
            stream.write("  ".join("-" * w for w in widths) + "\n")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else terminal(value)


class ProgressBar:
    """A one-line bar on stderr, drawn only when stderr is a terminal; at most 10 redraws a second."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.width = width
        self.start = time.monotonic()
        self._last = 0.0
        self._width = 0

    def update(self, done: int, total: int, suffix: str = "", force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1 and done < total:
            return
        self._last = now
        frac = done / total if total else 1.0
        filled = int(self.width * frac)
        elapsed = now - self.start
        eta = f" ETA {elapsed / frac - elapsed:4.0f}s" if 0 < frac < 1 else ""
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"{self.label} [{bar}] {done}/{total}{eta} {suffix}"[:200]
        # Pad over the previous, possibly longer, line so no stale characters remain.
        self.stream.write("\r" + line.ljust(self._width))
        self._width = len(line)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


@contextmanager
def cancel_on_signals(cancel: CancelToken) -> Iterator[None]:
    """First SIGINT/SIGTERM: cooperative cancel (the job ends ``cancelled``). Second: abort now."""
    def handler(signum: int, _frame: Any) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        print("\ncancelling... (press Ctrl+C again to abort)", file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            # After a cancel the process is only reporting and exiting: a late second signal must not kill it
            # with a default handler mid-report (the report and exit code say what was kept).
            signal.signal(s, signal.SIG_IGN if cancel.cancelled and h is signal.SIG_DFL else h)


@contextmanager
def json_stdout(enabled: bool) -> Iterator[TextIO]:
    """Yield the stream JSON lines go to. When enabled and stdout is a real file descriptor, file descriptor 1
    is pointed at stderr for the duration, so nothing else (TensorFlow's C++ logs, stray prints) can mix
    into the JSON stream; the yielded stream writes to the original stdout."""
    stream = sys.stdout
    try:
        fd, err_fd = stream.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        yield stream  # not a real file (an in-process test capturing output): nothing to protect
        return
    if not enabled:
        yield stream
        return
    stream.flush()
    saved = os.dup(fd)
    out = os.fdopen(os.dup(saved), "w", buffering=1)
    os.dup2(err_fd, fd)
    try:
        yield out
    finally:
        out.flush()
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)
        out.close()
