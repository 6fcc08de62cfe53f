"""The phone preview: certificate, one-time token -> cookie, QR code, time limit, and the CLI.

Every server here listens on 127.0.0.2 (standing in for the LAN address); nothing is sent to the machine's
other addresses.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.core.export.certificate import certificate_for
from studio.core.export.phone import COOKIE, PhoneServer, ServeError, check_host, default_host
from tests.core.phone_helpers import LAN, ROOT, get, make_bundle, open_with_token, start_cli


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "bundle")


def test_certificate_is_made_once_per_address_and_kept(tmp_path: Path) -> None:
    from cryptography import x509

    first = certificate_for(LAN, tmp_path / "certs")
    again = certificate_for(LAN, tmp_path / "certs")
    assert first.created and not again.created
    assert again.fingerprint == first.fingerprint and len(first.fingerprint.split(":")) == 32
    assert stat.S_IMODE(first.key_path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(first.cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == [LAN]
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 398  # browsers' limit
    other = certificate_for("127.0.0.3", tmp_path / "certs")
    # Another address: its own certificate, signed by the same key (same public-key pin).
    assert other.created and other.fingerprint != first.fingerprint
    assert other.spki_sha256_b64 == first.spki_sha256_b64
    # A damaged file is made again, not a crash.
    first.cert_path.write_text("garbage")
    assert certificate_for(LAN, tmp_path / "certs").created


def test_certificate_goes_to_the_user_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    cert = certificate_for(LAN)
    assert cert.cert_path.is_relative_to(tmp_path / "config")


def test_token_opens_once_then_the_cookie_serves_the_bundle(bundle: Path, tmp_path: Path) -> None:
    opened: list[int] = []
    with PhoneServer(bundle, host=LAN, cert_dir=tmp_path / "certs", on_device=opened.append) as server:
        assert server.url.startswith(f"https://{LAN}:{server.port}/?t=")
        first_url = server.url
        cookie, status, body = open_with_token(first_url)
        assert status == 200 and b"<p>page</p>" in body
        assert b'id="phone-notice"' in body and server.certificate is not None
        assert server.certificate.short_fingerprint.encode() in body  # the page explains the warning
        assert (bundle / "index.html").read_bytes().count(b"phone-notice") == 0  # the file is untouched
        assert opened == [1] and server.devices == 1
        assert server.url != first_url  # the next device gets a new code
        status, headers, body, fingerprint = get(server.port, "/script.js", cookie=cookie)
        assert status == 200 and body == b"console.log(1)"
        assert fingerprint == server.certificate.fingerprint
        assert "no-store" in headers["cache-control"]
        assert get(server.port, "/model/model.json", cookie=cookie)[0] == 200
        # Opening the spent address again with the cookie: back to the clean address, nothing spent.
        assert get(first_url.replace("https://", "https://"), cookie=cookie)[0] == 303
        # The cookie: this origin only (__Host-), https only, hidden from scripts.
        set_cookie = get(server.url)[1]["set-cookie"]
        assert set_cookie.startswith(f"{COOKIE}=") and "Secure" in set_cookie and "HttpOnly" in set_cookie
        assert "Path=/" in set_cookie and "Domain" not in set_cookie
        assert server.devices == 2
        # Read-only, and the bundle's own limits still apply behind the cookie.
        assert get(server.port, "/index.html", cookie=cookie, method="POST")[0] == 501
        for attack in ("/../secret.txt", "/%2e%2e/secret.txt", "/.hidden", "/model/"):
            assert get(server.port, attack, cookie=cookie)[0] == 404, attack


@pytest.mark.parametrize("path", ["/", "/index.html", "/script.js", "/model/model.json", "/sw.js",
                                  "/manifest.webmanifest", "/../secret.txt", "/.hidden", "/nothing",
                                  "/?t=", "/?t=wrong", "/script.js?t=TOKEN"])
def test_without_the_token_every_path_is_403(bundle: Path, tmp_path: Path, path: str) -> None:
    with PhoneServer(bundle, host=LAN, cert_dir=tmp_path / "certs") as server:
        # The right token on another path than "/" is refused too: only the address in the QR code opens.
        status, _, body, _ = get(server.port, path.replace("TOKEN", server.gate.token))
        assert status == 403 and body == b"403 Forbidden\n"
        assert server.devices == 0


def test_stops_after_its_time_limit(bundle: Path, tmp_path: Path) -> None:
    server = PhoneServer(bundle, host=LAN, cert_dir=tmp_path / "certs", timeout_s=0.5).start()
    port = server.port
    assert 0 < server.remaining_s <= 0.5
    server.wait(10)
    assert not server.running and server.stop_reason == "timeout" and server.remaining_s == 0
    with pytest.raises(OSError):
        socket.create_connection((LAN, port), timeout=2).close()


def test_addresses_are_checked(bundle: Path) -> None:
    for bad in ("example.com", "::1", "0.0.0.0", "224.0.0.1", ""):
        with pytest.raises(ServeError, match="--host"):
            check_host(bad)
    with pytest.raises(ServeError, match="more than 0"):
        PhoneServer(bundle, host=LAN, timeout_s=0)
    # The default is found from the routing table (a UDP connect sends nothing): an address, or a clear error.
    try:
        host = default_host()
    except ServeError as exc:
        assert "--host" in str(exc)
    else:
        assert check_host(host) == host


def _zbar(png: str) -> str:
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is missing (apt-get install zbar-tools)")
    return subprocess.run(["zbarimg", "--quiet", "--raw", png], capture_output=True, text=True, check=True,
                          timeout=30).stdout.strip()


def test_cli_prints_url_and_a_qr_png_that_decodes_to_it(bundle: Path, tmp_path: Path) -> None:
    proc, info = start_cli(bundle, tmp_path / "config")
    try:
        url = info["url"]
        assert url.startswith(f"https://{LAN}:") and "?t=" in url
        assert _zbar(info["qr"]) == url
        assert Path(info["certificate"]).is_relative_to(tmp_path / "config")
        assert info["certificate_created"] is True and info["timeout_s"] == 30 * 60
        assert "nothing is uploaded" in info["note"]
        port = info["port"]
        for path in ("/", "/index.html", "/script.js", "/model/model.json"):
            assert get(port, path)[0] == 403, path
        cookie, status, body = open_with_token(url)
        assert status == 200 and b"<p>page</p>" in body
        assert get(port, "/script.js", cookie=cookie)[3] == info["fingerprint"]
        import json

        assert proc.stdout is not None
        event = json.loads(proc.stdout.readline())
        assert event["event"] == "device_opened" and event["devices"] == 1
        assert event["url"] != url and _zbar(event["qr"]) == event["url"]
        assert get(event["url"])[0] == 303  # the next device's code works
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert '"event": "stopped"' in out and "Traceback" not in err
    assert not Path(info["qr"]).exists()  # the QR codes are removed with the preview


def test_cli_text_mode_shows_the_qr_and_fingerprint_and_times_out(bundle: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "studio", "serve", str(bundle), "--phone", "--host", LAN,
                           "--port", "0", "--timeout", "0.02"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    assert "nothing is uploaded" in done.stdout and "▀" in done.stdout  # the QR code, drawn in the terminal
    assert "not private" in done.stdout and "SHA-256" in done.stdout
    assert "time is up" in done.stdout


def test_cli_help_names_the_default_time_limit() -> None:
    from studio.cli import build_parser
    from studio.core.export.phone import DEFAULT_TIMEOUT_MIN

    serve = build_parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    assert f"(default {DEFAULT_TIMEOUT_MIN})" in serve.format_help()


@pytest.mark.parametrize("argv, code, message", [
    (["--host", LAN], 2, "--host and --timeout go with --phone"),
    (["--phone", "--open"], 2, "--open is for the plain preview"),
    (["--phone", "--host", "phone.example"], 1, "--host must be an IPv4 address"),
    (["--phone", "--host", LAN, "--timeout", "0"], 2, "--timeout must be between"),
])
def test_cli_usage_errors_are_one_line(bundle: Path, tmp_path: Path, argv: list[str], code: int,
                                       message: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-m", "studio", "serve", str(bundle), *argv], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == code and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
