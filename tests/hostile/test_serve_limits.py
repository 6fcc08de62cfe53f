"""Preview server under hostile clients: idle sockets dropped, a real listen backlog, never framed."""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path

from studio.core.export.serve import LISTEN_BACKLOG, PreviewServer


def _bundle(tmp_path: Path) -> Path:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "index.html").write_text("<!doctype html><title>t</title>")
    return tmp_path / "b"


def test_idle_and_silent_clients_are_disconnected(tmp_path: Path) -> None:
    with PreviewServer(_bundle(tmp_path), idle_timeout=0.5) as server:
        silent = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(20)]
        half = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        half.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # a request that never ends
        started = time.monotonic()
        for s in [*silent, half]:
            assert s.recv(1024) == b""  # closed by the server, not by us
            s.close()
        assert time.monotonic() - started < 4
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200  # still serving


def test_backlog_and_frame_ancestors(tmp_path: Path) -> None:
    with PreviewServer(_bundle(tmp_path)) as server:
        assert server._server is not None and server._server.request_queue_size == LISTEN_BACKLOG >= 128
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Security-Policy") == "frame-ancestors 'none'"
        assert response.getheader("X-Frame-Options") == "DENY"
        conn.request("GET", "/missing")
        missing = conn.getresponse()
        missing.read()
        assert missing.getheader("Content-Security-Policy") == "frame-ancestors 'none'"


def test_a_burst_of_connections_is_queued_not_refused(tmp_path: Path) -> None:
    with PreviewServer(_bundle(tmp_path)) as server:
        socks = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(200)]
        for s in socks:
            s.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        for s in socks:
            assert s.recv(12).startswith(b"HTTP/1.0 200")
            s.close()
