"""The phone preview under hostile clients: guessed, expired and replayed tokens, stolen cookies, floods,
other sites' Host names, plain http, and requests after stop. Each is refused and the server keeps serving.

Loopback only: the server listens on 127.0.0.2; other "devices" connect from 127.0.0.3, 127.0.0.4.
"""

from __future__ import annotations

import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from studio.core.export.phone import PhoneServer
from studio.core.export.serve import LISTEN_BACKLOG
from tests.core.phone_helpers import LAN, get, make_bundle, open_with_token, tls_context

PHONE, THIEF = "127.0.0.3", "127.0.0.4"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "bundle")


def still_serving(server: PhoneServer) -> None:
    """A new device with the current code still gets in."""
    cookie, status, _ = open_with_token(server.url)
    assert status == 200 and get(server.port, "/script.js", cookie=cookie)[0] == 200


def test_wrong_tokens_are_403(bundle: Path, tmp_path: Path) -> None:
    with PhoneServer(bundle, host=LAN, cert_dir=tmp_path / "c") as server:
        real = server.gate.token
        for guess in ("x", real[:-1], real + "A", real.upper() if real.upper() != real else real.lower(), "",
                      "%00", real + "&t=" + real[::-1], "%C3%A9" * 24, "%ff" * 24):
            status, headers, body, _ = get(server.port, f"/?t={guess}")
            assert status == 403 and "set-cookie" not in headers and body == b"403 Forbidden\n", guess
        assert server.devices == 0 and server.gate.token == real  # guesses spend nothing
        still_serving(server)


def test_expired_token_is_403_and_a_new_code_replaces_it(bundle: Path, tmp_path: Path) -> None:
    with PhoneServer(bundle, host=LAN, cert_dir=tmp_path / "c", token_ttl_s=0.4) as server:
        old_url = server.url
        time.sleep(0.6)
        assert get(old_url)[0] == 403
        assert server.url != old_url  # the window and terminal show a fresh code
        still_serving(server)


def test_token_reuse_and_cookie_theft_from_another_client(bundle: Path, tmp_path: Path) -> None:
    with PhoneServer(bundle, host=LAN, cert_dir=tmp_path / "c") as server:
        url = server.url
        status, headers, _, _ = get(url, source=PHONE)
        assert status == 303
        cookie = headers["set-cookie"].split(";")[0]
        assert get(server.port, "/", cookie=cookie, source=PHONE)[0] == 200
        # The address seen over the phone's shoulder (or in a browser history) opens nothing now.
        assert get(url, source=THIEF)[0] == 403
        assert get(url, source=PHONE)[0] == 403  # spent even for the phone itself, without its cookie
        # The cookie copied to another device opens nothing either: it is bound to the phone's address.
        assert get(server.port, "/script.js", cookie=cookie, source=THIEF)[0] == 403
        assert get(server.port, "/script.js", cookie=cookie + "x", source=PHONE)[0] == 403
        assert get(server.port, "/script.js", cookie="garbage=\"\\", source=PHONE)[0] == 403
        assert server.devices == 1
        assert get(server.port, "/script.js", cookie=cookie, source=PHONE)[0] == 200  # the phone still works
        still_serving(server)


def test_other_sites_host_names_are_refused(bundle: Path, tmp_path: Path) -> None:
    with PhoneServer(bundle, host=LAN, cert_dir=tmp_path / "c") as server:
        cookie, _, _ = open_with_token(server.url)
        for host in ("evil.example", f"evil.example:{server.port}", "127.0.0.1", f"localhost:{server.port}",
                     "", f"{LAN}.evil.example"):
            assert get(server.port, "/", cookie=cookie, host=host)[0] == 403, host
        # A rebinding page that also holds a token: refused before the token is looked at.
        token_url = f"/?t={server.gate.token}"
        assert get(server.port, token_url, host="evil.example")[0] == 403
        assert get(server.port, "/", cookie=cookie, host=f"{LAN}:{server.port}")[0] == 200
        still_serving(server)


def test_floods_of_connections_and_plain_http(bundle: Path, tmp_path: Path) -> None:
    with PhoneServer(bundle, host=LAN, cert_dir=tmp_path / "c", idle_timeout=0.5) as server:
        assert server._server is not None and server._server.request_queue_size == LISTEN_BACKLOG
        cookie, _, _ = open_with_token(server.url)
        # Silent sockets (no TLS handshake) and a handshake that stops half-way: dropped, none blocks accept().
        silent = [socket.create_connection((LAN, server.port), timeout=5) for _ in range(50)]
        half = socket.create_connection((LAN, server.port), timeout=5)
        half.sendall(b"\x16\x03\x01\x00\xff\x01")  # the start of a ClientHello, never finished
        assert get(server.port, "/script.js", cookie=cookie)[0] == 200  # served while they wait
        started = time.monotonic()
        for s in [*silent, half]:
            try:
                assert s.recv(1024) == b""  # closed by the server
            except ConnectionResetError:
                pass
            s.close()
        assert time.monotonic() - started < 5
        # Plain http to the https port: closed, no bundle byte.
        plain = socket.create_connection((LAN, server.port), timeout=5)
        plain.sendall(f"GET /script.js HTTP/1.1\r\nHost: {LAN}\r\n\r\n".encode())
        try:
            assert b"console.log" not in plain.recv(4096)
        except ConnectionResetError:
            pass
        plain.close()
        # A burst of real https requests, with and without the cookie.
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda i: get(server.port, "/script.js", cookie=cookie if i % 2 else None)[0],
                                     range(120)))
        assert statuses.count(200) == 60 and statuses.count(403) == 60
        still_serving(server)


def test_nothing_after_stop(bundle: Path, tmp_path: Path) -> None:
    server = PhoneServer(bundle, host=LAN, cert_dir=tmp_path / "c").start()
    url, port = server.url, server.port
    cookie, _, _ = open_with_token(url)
    next_url = server.url
    server.stop()
    assert server.stop_reason == "stopped"
    for attempt in (lambda: get(port, "/script.js", cookie=cookie), lambda: get(next_url)):
        with pytest.raises(OSError):
            attempt()
    with pytest.raises(OSError):
        with socket.create_connection((LAN, port), timeout=2) as raw:
            tls_context().wrap_socket(raw, server_hostname=LAN)
    # Started again: new tokens and new cookies; the old ones open nothing.
    again = PhoneServer(bundle, host=LAN, port=port, cert_dir=tmp_path / "c").start()
    try:
        assert get(port, "/script.js", cookie=cookie)[0] == 403
        assert get(next_url)[0] == 403
        still_serving(again)
    finally:
        again.stop()


def test_tls_is_modern_only(bundle: Path, tmp_path: Path) -> None:
    with PhoneServer(bundle, host=LAN, cert_dir=tmp_path / "c") as server:
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        with pytest.raises((ssl.SSLError, OSError)):
            with socket.create_connection((LAN, server.port), timeout=5) as raw:
                old.wrap_socket(raw, server_hostname=LAN)
        still_serving(server)
