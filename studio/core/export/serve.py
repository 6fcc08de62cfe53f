"""Preview server for a web bundle: loopback only, the bundle folder only, nothing cached.

Browsers grant the camera to ``http://127.0.0.1`` (a secure context) but not to ``file://`` pages, and they
refuse to fetch a model from ``file://``; so previewing needs a server. This one is deliberately narrow:
it binds 127.0.0.1, answers only GET/HEAD for regular files inside the bundle (no listing, no dot-files,
no ``..``, no symlinks leading out) and answers everything else with 404.
"""

from __future__ import annotations

import shutil
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from studio.core.project.store import ProjectError

HOST = "127.0.0.1"
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".bin": "application/octet-stream",
    ".wasm": "application/wasm",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}
# Names a browser may use for this server; anything else in Host (DNS rebinding) is refused.
_LOCAL_HOSTS = ("127.0.0.1", "localhost")
# A connection that sends nothing for this long is closed, so idle sockets cannot pin a thread each.
IDLE_TIMEOUT_S = 10.0
# Pending connections the kernel queues before refusing (socketserver's default is 5).
LISTEN_BACKLOG = 128


class ServeError(ProjectError):
    """The preview server cannot start (folder missing, port taken)."""


class _BundleHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    # Host names a request may carry (the phone preview adds its LAN address).
    allowed_hosts: tuple[str, ...] = (*_LOCAL_HOSTS, "[::1]")

    def __init__(self, root: Path, port: int, idle_timeout: float = IDLE_TIMEOUT_S, host: str = HOST,
                 handler: type[BaseHTTPRequestHandler] | None = None) -> None:
        self.root = root
        self.idle_timeout = idle_timeout
        super().__init__((host, port), handler or _BundleHandler)


class _BundleHandler(BaseHTTPRequestHandler):
    server: _BundleHTTPServer
    server_version = "EdgeStudioPreview"
    sys_version = ""

    def setup(self) -> None:
        # StreamRequestHandler puts ``timeout`` on the socket: a silent or idle keep-alive client is dropped.
        self.timeout = self.server.idle_timeout
        super().setup()

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._serve(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(send_body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: a preview must not flood the terminal with one line per shard."""

    def _serve(self, send_body: bool) -> None:
        if not self._host_allowed():
            self._error(HTTPStatus.BAD_REQUEST)
            return
        target = resolve_request(self.server.root, self.path)
        if target is None:
            self._error(HTTPStatus.NOT_FOUND)
            return
        try:
            fh = target.open("rb")
        except OSError:
            self._error(HTTPStatus.NOT_FOUND)
            return
        with fh:
            size = target.stat().st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", MIME_TYPES.get(target.suffix.lower(), "application/octet-stream"))
            self.send_header("Content-Length", str(size))
            self._common_headers()
            self.end_headers()
            if send_body:
                try:
                    shutil.copyfileobj(fh, self.wfile, 1 << 16)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the browser went away (reload, closed tab)

    def _host_allowed(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        if not host:
            return True  # HTTP/1.0 clients may omit it; the socket is loopback-only anyway
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        return name in self.server.allowed_hosts

    def _common_headers(self) -> None:
        self.send_header("Cache-Control", "no-store, no-cache, must-revalidate, max-age=0")
        self.send_header("Pragma", "no-cache")
        self.send_header("Expires", "0")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        # Cross-origin isolation (SharedArrayBuffer), which the WebAssembly backend needs for threads.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        # No other site may frame the preview (clickjacking the camera permission).
        self.send_header("Content-Security-Policy", "frame-ancestors 'none'")
        self.send_header("X-Frame-Options", "DENY")

    def _error(self, status: HTTPStatus) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self._common_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def resolve_request(root: Path, raw_path: str) -> Path | None:
    """The regular file inside ``root`` that ``raw_path`` names, or None (-> 404).

    Decoded once, then checked segment by segment: ``..``, ``.``, dot-files, backslashes and NULs are
    refused outright; the resolved path (symlinks followed) must still lie inside ``root``.
    """
    path = urlsplit(raw_path).path
    if not path.startswith("/"):
        return None
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\\" in decoded or "\x00" in decoded or "//" in decoded:
        return None
    parts = [p for p in decoded.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") for p in parts):
        return None
    if not parts or decoded.endswith("/"):
        parts.append("index.html")  # a folder's index page, never a listing
    root = root.resolve()
    try:
        target = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


class PreviewServer:
    """``with PreviewServer(bundle) as server: open(server.url)``; or ``.start()`` ... ``.stop()``.

    ``port=0`` picks a free port. Requests are handled on daemon threads, so a stuck browser connection
    never blocks :meth:`stop` or the interpreter's exit.
    """

    host = HOST

    def __init__(self, root: str | Path, port: int = 0, idle_timeout: float = IDLE_TIMEOUT_S) -> None:
        self.root = Path(root).expanduser().absolute()
        self.requested_port = port
        self.idle_timeout = idle_timeout
        self._server: _BundleHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> PreviewServer:
        if self._server is not None:
            return self
        if not self.root.is_dir():
            raise ServeError(f"no such folder: {self.root}")
        if not (self.root / "index.html").is_file():
            raise ServeError(f"{self.root} is not a web bundle (no index.html); export one first")
        if not 0 <= self.requested_port <= 65535:
            raise ServeError("port must be between 0 and 65535")
        try:
            self._server = self._make_server()
        except OSError as exc:
            raise ServeError(f"cannot listen on {self.host}:{self.requested_port}: {exc.strerror or exc}; "
                             "try another port (--port 0 picks a free one)") from None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"preview-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def _make_server(self) -> _BundleHTTPServer:
        return _BundleHTTPServer(self.root, self.requested_port, self.idle_timeout)

    @property
    def port(self) -> int:
        if self._server is None:
            raise ServeError("the preview server is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def running(self) -> bool:
        return self._server is not None

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server stops (the CLI waits here until Ctrl+C)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> PreviewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
