"""The preview server: a real ThreadingHTTPServer on 127.0.0.1, spoken to with raw HTTP requests."""

from __future__ import annotations

import http.client
import socket
from pathlib import Path

import pytest

from studio.core.export.serve import PreviewServer, ServeError, resolve_request


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "bundle"
    (root / "model").mkdir(parents=True)
    (root / "vendor").mkdir()
    (root / "index.html").write_text("<!doctype html><title>t</title>")
    (root / "script.js").write_text("console.log(1)")
    (root / "style.css").write_text("body{}")
    (root / "metadata.json").write_text("{}")
    (root / "model" / "model.json").write_text("{}")
    (root / "model" / "group1-shard1of1.bin").write_bytes(b"\x00" * 1000)
    (root / "vendor" / "tfjs-backend-wasm.wasm").write_bytes(b"\x00asm")
    (root / ".hidden").write_text("hidden")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "out").symlink_to(tmp_path)
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (root / "inside.js").symlink_to(root / "script.js")
    return root


def request(port: int, raw_path: str, method: str = "GET", host: str | None = None
            ) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, raw_path, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_serves_bundle_files_with_mime_types_and_no_cache(bundle: Path) -> None:
    with PreviewServer(bundle) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/"
        expected = {"/": "text/html", "/index.html": "text/html", "/script.js": "text/javascript",
                    "/style.css": "text/css", "/metadata.json": "application/json",
                    "/model/model.json": "application/json", "/model/group1-shard1of1.bin": "application/octet-stream",
                    "/vendor/tfjs-backend-wasm.wasm": "application/wasm", "/inside.js": "text/javascript",
                    "/index.html?v=2#x": "text/html"}
        for path, mime in expected.items():
            status, headers, body = request(server.port, path)
            assert status == 200, path
            assert headers["content-type"].split(";")[0] == mime, path
            assert "no-store" in headers["cache-control"]
            assert headers["x-content-type-options"] == "nosniff"
            assert int(headers["content-length"]) == len(body)
        status, headers, body = request(server.port, "/model/group1-shard1of1.bin", method="HEAD")
        assert status == 200 and headers["content-length"] == "1000" and body == b""


@pytest.mark.parametrize("attack", [
    "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/..%2fsecret.txt", "/model/../../secret.txt",
    "/model/%2e%2e/%2e%2e/secret.txt", "/%252e%252e/secret.txt", "/..\\secret.txt", "/..%5csecret.txt",
    "/out/secret.txt", "/leak.txt", "//etc/passwd", "/etc/passwd", "/.hidden", "/%2ehidden", "/model/",
    "/model", "/vendor/", "/nothing.js", "/index.html%00.js", "/%ff%fe", "http://example.com/../secret.txt",
    "*",
])
def test_traversal_symlinks_listing_and_dotfiles_are_404(bundle: Path, attack: str) -> None:
    with PreviewServer(bundle) as server:
        status, _, body = request(server.port, attack, host=f"127.0.0.1:{server.port}")
    assert status == 404
    assert b"secret" not in body and b"hidden" not in body


def test_absolute_filesystem_path_is_404(bundle: Path) -> None:
    with PreviewServer(bundle) as server:
        assert request(server.port, str(bundle.parent / "secret.txt"))[0] == 404
        assert request(server.port, str(bundle / "index.html"))[0] == 404


def test_resolve_request_stays_inside(bundle: Path) -> None:
    assert resolve_request(bundle, "/model/model.json") == (bundle / "model" / "model.json").resolve()
    assert resolve_request(bundle, "/") == (bundle / "index.html").resolve()
    assert resolve_request(bundle, "/../bundle/index.html") is None
    assert resolve_request(bundle, "/leak.txt") is None


def test_only_loopback_and_local_host_names(bundle: Path) -> None:
    with PreviewServer(bundle) as server:
        assert server._server is not None and server._server.server_address[0] == "127.0.0.1"
        assert request(server.port, "/", host=f"localhost:{server.port}")[0] == 200
        # A page on another site that rebinds its DNS name to 127.0.0.1 must not read the bundle.
        assert request(server.port, "/", host="evil.example:80")[0] == 400
        assert request(server.port, "/", method="POST")[0] == 501


def test_port_zero_picks_a_free_port_and_stop_releases_it(bundle: Path) -> None:
    server = PreviewServer(bundle, port=0).start()
    port = server.port
    assert port > 0 and request(port, "/")[0] == 200
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    # The same port can be taken again at once (no lingering listener).
    with PreviewServer(bundle, port=port) as again:
        assert again.port == port


def test_busy_port_and_bad_folder_are_clear_errors(bundle: Path, tmp_path: Path) -> None:
    with PreviewServer(bundle) as first:
        with pytest.raises(ServeError, match="--port 0"):
            PreviewServer(bundle, port=first.port).start()
    with pytest.raises(ServeError, match="no such folder"):
        PreviewServer(tmp_path / "missing").start()
    with pytest.raises(ServeError, match="not a web bundle"):
        PreviewServer(tmp_path).start()


def test_concurrent_requests(bundle: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with PreviewServer(bundle) as server, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: request(server.port, "/model/group1-shard1of1.bin")[0], range(40)))
    assert statuses == [200] * 40
